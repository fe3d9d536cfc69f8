package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/bench/internal/load"
	"github.com/switchyard/switchyard/bench/internal/proc"
)

// cell is one measured run: one request kind, one load, one target.
type cell struct {
	Mode   string       `json:"mode"`   // chat or stream
	Load   string       `json:"load"`   // c=N (closed loop) or r=N (open loop)
	Target string       `json:"target"` // direct, floor or gateway
	Result *load.Result `json:"result"`
	// CPU seconds each process spent during the measured run (the proxy is the target's
	// server; zero for direct).
	ProxyCPU    float64 `json:"proxy_cpu_s"`
	UpstreamCPU float64 `json:"upstream_cpu_s"`
	LoadgenCPU  float64 `json:"loadgen_cpu_s"`
	// ProxyRSS and ProxyHWM are the target server's VmRSS and VmHWM after the run, bytes.
	ProxyRSS int64 `json:"proxy_rss_bytes,omitempty"`
	ProxyHWM int64 `json:"proxy_hwm_bytes,omitempty"`
}

// per1k turns CPU seconds into CPU seconds per 1,000 finished requests.
func (c *cell) per1k(cpu float64) float64 {
	if c.Result == nil || c.Result.Requests == 0 {
		return 0
	}
	return cpu / float64(c.Result.Requests) * 1000
}

// loadSpec is one load level: closed loop at a concurrency or open loop at a rate.
type loadSpec struct {
	name        string
	concurrency int
	rate        float64
}

func (b *bench) loads() []loadSpec {
	var out []loadSpec
	for _, c := range b.opts.concurrency {
		out = append(out, loadSpec{name: "c=" + strconv.Itoa(c), concurrency: c})
	}
	for _, r := range b.opts.rates {
		out = append(out, loadSpec{name: "r=" + strconv.FormatFloat(r, 'f', -1, 64), concurrency: b.opts.openMax, rate: r})
	}
	return out
}

// exitAfter is the servers' own stop time: well past the planned length of the run.
func (b *bench) exitAfter() string {
	o := b.opts
	cells := len(o.modes) * len(b.loads()) * len(o.targets)
	planned := time.Duration(cells)*(o.duration+o.warmup+5*time.Second) +
		time.Duration(o.streamChunks+5)*o.streamInterval*2 + 2*o.duration
	return (planned + 10*time.Minute).String()
}

// reply is the fake upstream's answer to every request, so its size does not depend on
// the prompt's.
const reply = "Hello! This is the fake upstream answering the benchmark."

// startServers starts the upstream, the floor and the gateway the cells and the profile
// share.
func (b *bench) startServers() error {
	up, err := b.startListening("upstream", "fakeupstream", "-delay", b.opts.delay.String(),
		"-chunks", strconv.Itoa(b.opts.chunks), "-reply", reply, "-exit-after", b.exitAfter())
	if err != nil {
		return err
	}
	b.servers["upstream"] = up
	if b.servers["floor"], err = b.startListening("floor", "bareproxy", "-upstream", up.addr, "-exit-after", b.exitAfter()); err != nil {
		return err
	}
	if b.gatewayConfig, err = b.writeGatewayConfig("gateway.yaml", up.addr); err != nil {
		return err
	}
	b.servers["gateway"], err = b.startGateway("gateway", "switchyard", b.gatewayConfig)
	return err
}

// runMatrix measures every cell: each request kind, at each load, against each target.
func (b *bench) runMatrix() error {
	for _, mode := range b.opts.modes {
		for _, ls := range b.loads() {
			for _, target := range b.opts.targets {
				if err := b.ctx.Err(); err != nil {
					return err
				}
				c, err := b.runCell(mode, ls, target)
				if err != nil {
					return fmt.Errorf("%s %s %s: %w", mode, ls.name, target, err)
				}
				b.Cells = append(b.Cells, c)
				r := c.Result
				b.logf("%-6s %-7s %-7s %9.0f req/s  p50 %.3f ms  p99 %.3f ms  errors %d",
					mode, ls.name, target, r.Throughput, r.Latency.P50, r.Latency.P99, r.Errors)
			}
		}
	}
	return nil
}

// writeGatewayConfig writes a gateway config that passes every model to the upstream at
// addr, with request logs off.
func (b *bench) writeGatewayConfig(name, addr string) (string, error) {
	cfg := fmt.Sprintf(`# written by benchrun: every model passes through to the fake upstream
providers:
  - name: fake
    kind: openai
    base_url: http://%s/v1
models:
  - name: "*"
    provider: fake
log:
  level: warn
  requests: false
metering:
  ledger: %s
`, addr, b.ledgerURL(name))
	if b.opts.gatewayExtra != "" {
		extra, err := os.ReadFile(b.opts.gatewayExtra)
		if err != nil {
			return "", err
		}
		cfg += "\n" + string(extra)
	}
	path := filepath.Join(b.outDir, name)
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

// ledgerURL is the gateway's ledger for a config named name.
func (b *bench) ledgerURL(name string) string {
	if b.opts.ledger == "none" {
		return "none"
	}
	return "sqlite:" + filepath.Join(b.outDir, name+".ledger.db")
}

// runCell runs the warmup, then the measured load, sampling CPU around it.
func (b *bench) runCell(mode string, ls loadSpec, target string) (*cell, error) {
	srv := b.servers["upstream"]
	if target != "direct" {
		srv = b.servers[target]
	}
	args := []string{"-url", "http://" + srv.addr + "/v1/chat/completions", "-concurrency", strconv.Itoa(ls.concurrency),
		"-timeout", "10s", "-warmup", "0", "-prompt-bytes", strconv.Itoa(b.opts.promptBytes), "-json"}
	if b.opts.body != "" {
		args = append(args, "-body-file", b.opts.body)
	}
	if ls.rate > 0 {
		args = append(args, "-rate", strconv.FormatFloat(ls.rate, 'f', -1, 64))
	}
	if mode == "stream" {
		args = append(args, "-stream")
	}
	if b.opts.warmup > 0 {
		if _, _, err := b.loadgen(append(args, "-duration", b.opts.warmup.String()), nil); err != nil {
			return nil, fmt.Errorf("warmup: %w", err)
		}
	}
	c := &cell{Mode: mode, Load: ls.name, Target: target}
	proxy := b.servers[target] // nil for direct
	up0, px0 := b.cpu(b.servers["upstream"]), b.cpu(proxy)
	res, lg, err := b.loadgen(append(args, "-duration", b.opts.duration.String()), nil)
	if err != nil {
		return nil, err
	}
	c.Result, c.LoadgenCPU = res, lg
	c.UpstreamCPU = b.cpu(b.servers["upstream"]) - up0
	if proxy != nil {
		c.ProxyCPU = b.cpu(proxy) - px0
		if m, err := proc.ReadMemory(proxy.PID()); err == nil {
			c.ProxyRSS, c.ProxyHWM = m.RSS, m.HWM
		}
	}
	return c, nil
}

// cpu returns the CPU seconds server s has used so far (0 for nil or on error).
func (b *bench) cpu(s *server) float64 {
	if s == nil {
		return 0
	}
	v, err := proc.CPU{PID: s.PID(), Ticks: b.hz}.Seconds()
	if err != nil {
		b.logf("cpu of %s: %v", s.name, err)
		return 0
	}
	return v
}

// loadgen runs the load generator with args (which must include -duration and -json)
// and returns its result and its own CPU seconds. Progress lines on its stderr go to
// onProgress when set.
func (b *bench) loadgen(args []string, onProgress func(string)) (*load.Result, float64, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.duration+b.opts.warmup+10*time.Minute)
	defer cancel()
	cmd := b.command(ctx, loadgenCPU, "loadgen", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	var msgs []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "progress "); ok && onProgress != nil {
			onProgress(p)
		} else if len(msgs) < 20 {
			msgs = append(msgs, line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, 0, fmt.Errorf("loadgen %v: %w: %s", args, err, strings.Join(msgs, "; "))
	}
	ps := cmd.ProcessState
	cpu := (ps.UserTime() + ps.SystemTime()).Seconds()
	var res load.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, cpu, fmt.Errorf("loadgen output: %w", err)
	}
	return &res, cpu, nil
}
