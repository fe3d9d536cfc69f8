package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine describes where the numbers were taken, to read them in context.
type machine struct {
	CPUs         int    `json:"cpus"`
	Model        string `json:"cpu_model"`
	Pinned       bool   `json:"pinned"`
	GoVersion    string `json:"go_version"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

func readMachine(pinned bool) machine {
	m := machine{CPUs: runtime.NumCPU(), Pinned: pinned, GoVersion: runtime.Version(), LoadAvgStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages: other work on the machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

const mib = 1 << 20

// printTable prints every cell, direct, floor and gateway side by side per load level.
func printTable(w io.Writer, b *bench) {
	o := b.opts
	fmt.Fprintf(w, "\nSwitchyard benchmark: chat completions direct to the fake upstream, through the floor (bare fasthttp proxy) and through the gateway\n")
	prompt := "one-line prompt"
	if o.promptBytes > 0 {
		prompt = fmt.Sprintf("prompt of about %d bytes", o.promptBytes)
	}
	fmt.Fprintf(w, "%s; upstream delay %v, %d chunks per stream; %v measured per cell after %v warmup; c=N closed loop with N workers, r=N open loop at N req/s (at most %d in flight)\n\n",
		prompt, o.delay, o.chunks, o.duration, o.warmup, o.openMax)
	fmt.Fprintf(w, "%-6s %-7s %-7s %8s %8s %8s %8s %8s %8s %8s %8s %6s %9s %8s %8s %7s\n",
		"mode", "load", "target", "req/s", "p50", "p99", "p99.9", "+p50", "+p99", "ttfb50", "ttfb99",
		"errors", "cpu s/1k", "up s/1k", "lg s/1k", "RSS MiB")
	fmt.Fprintf(w, "%-6s %-7s %-7s %8s %8s %8s %8s %8s %8s %8s %8s %6s %9s %8s %8s %7s\n",
		"", "", "", "", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "", "proxy", "upstream", "loadgen", "proxy")
	var prev string
	for _, c := range b.Cells {
		if key := c.Mode + c.Load; key != prev && prev != "" {
			fmt.Fprintln(w)
		}
		prev = c.Mode + c.Load
		fmt.Fprintln(w, row(c, b.direct(c)))
	}
	fmt.Fprintln(w)
	printCaveats(w, b)
}

// direct returns the direct cell at c's mode and load, nil when there is none.
func (b *bench) direct(c *cell) *cell {
	for _, d := range b.Cells {
		if d.Mode == c.Mode && d.Load == c.Load && d.Target == "direct" {
			return d
		}
	}
	return nil
}

func row(c, direct *cell) string {
	r := c.Result
	dash := "-"
	ms := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	addP50, addP99, ttfb50, ttfb99, cpu, rss := dash, dash, dash, dash, dash, dash
	if direct != nil && c.Target != "direct" {
		addP50 = fmt.Sprintf("%+.3f", r.Latency.P50-direct.Result.Latency.P50)
		addP99 = fmt.Sprintf("%+.3f", r.Latency.P99-direct.Result.Latency.P99)
	}
	if r.TTFB != nil {
		ttfb50, ttfb99 = ms(r.TTFB.P50), ms(r.TTFB.P99)
	}
	if c.Target != "direct" {
		cpu = fmt.Sprintf("%.4f", c.per1k(c.ProxyCPU))
		rss = fmt.Sprintf("%.1f", float64(c.ProxyRSS)/mib)
	}
	return fmt.Sprintf("%-6s %-7s %-7s %8.0f %8s %8s %8s %8s %8s %8s %8s %6d %9s %8.4f %8.4f %7s",
		c.Mode, c.Load, c.Target, r.Throughput, ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.P999),
		addP50, addP99, ttfb50, ttfb99, r.Errors, cpu, c.per1k(c.UpstreamCPU), c.per1k(c.LoadgenCPU), rss)
}

func printCaveats(w io.Writer, b *bench) {
	m := b.Machine
	pin := "not pinned: the load generator, the upstream and the proxy share all CPUs"
	if m.Pinned {
		pin = fmt.Sprintf("pinned with taskset: load generator on CPU %s, upstream and proxies on CPU %s", loadgenCPU, serverCPU)
	}
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s; load average at start %s, at end %s\n", m.CPUs, m.Model, m.GoVersion,
		m.LoadAvgStart, m.LoadAvgEnd)
	fmt.Fprintf(w, "caveat: %s, so every number includes contention with the others;\n", pin)
	fmt.Fprintln(w, "        +p50/+p99 are differences of quantiles against direct at the same load (not quantiles of a difference),")
	fmt.Fprintln(w, "        and at high concurrency they are mostly queueing for CPU. cpu s/1k (CPU seconds per 1,000 requests)")
	fmt.Fprintln(w, "        is the steadiest column. Latency counts successful requests only. See bench/README.md.")
}

// printStreams prints the many-open-streams memory test.
func printStreams(w io.Writer, b *bench) {
	if len(b.Streams) == 0 {
		return
	}
	o := b.opts
	fmt.Fprintf(w, "\nOpen streams: %d concurrent streams, each %d chunks at %v apart (about %v long), through each proxy (fresh process)\n\n",
		o.streams, o.streamChunks, o.streamInterval, time.Duration(o.streamChunks+3)*o.streamInterval)
	fmt.Fprintf(w, "%-8s %6s %6s %8s %9s %9s %9s %9s %8s %8s %9s %9s\n", "through", "ok", "errors", "max open",
		"RSS idle", "RSS open", "KiB per", "RSS peak", "threads", "CPU s", "ttfb p50", "ttfb p99")
	fmt.Fprintf(w, "%-8s %6s %6s %8s %9s %9s %9s %9s %8s %8s %9s %9s\n", "", "", "", "", "MiB", "MiB", "stream", "MiB", "", "", "ms", "ms")
	for _, s := range b.Streams {
		fmt.Fprintln(w, s.row())
	}
	fmt.Fprintln(w, "\nRSS open is the largest VmRSS sampled while the most streams were open; KiB per stream is (RSS open - RSS idle) / open streams.")
	fmt.Fprintln(w, "CPU s is the proxy's CPU time over the whole test (streams opening, trickling and closing).")
}
