package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/bench/internal/hist"
)

// Result is what one run measured. Latencies cover successful requests only; failed
// ones are counted in Errors by kind.
type Result struct {
	URL         string  `json:"url"`
	Stream      bool    `json:"stream"`
	Loop        string  `json:"loop"` // "closed" or "open"
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"`
	// ElapsedS is the measured phase in seconds, from its start to the last answer.
	ElapsedS float64 `json:"elapsed_s"`
	// Requests counts measured requests that finished, failed ones included.
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	Errors   int64 `json:"errors"`
	// ErrorKinds counts failures by kind (status_502, timeout, stream_incomplete, ...).
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// ErrorExamples holds the first message seen for each kind.
	ErrorExamples map[string]string `json:"error_examples,omitempty"`
	// Throughput is successful requests per second over ElapsedS.
	Throughput float64 `json:"throughput_rps"`
	// Latency runs from the send time to the end of the answer. In open loop a request
	// that left late because every worker was busy counts from its intended send time.
	Latency Summary `json:"latency"`
	// TTFB runs from the same start to the first byte of a streamed answer's body.
	TTFB *Summary `json:"ttfb,omitempty"`
	// SendLag (open loop) is how late requests left compared with their schedule: the
	// generator's own lateness plus waiting for a free worker.
	SendLag *Summary `json:"send_lag,omitempty"`
	// MaxOpenStreams is the most streams open at once (first byte received, not ended).
	MaxOpenStreams int64 `json:"max_open_streams,omitempty"`
}

// Summary gives quantiles of a latency distribution in milliseconds.
type Summary struct {
	N    uint64  `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

func summarize(h *hist.H) Summary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Summary{N: h.Count(), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}

func (r *runner) result() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{URL: r.cfg.URL, Stream: r.cfg.Stream, Loop: "closed", Concurrency: r.cfg.Concurrency,
		Rate: r.cfg.Rate, OK: r.ok, ErrorKinds: r.kinds, ErrorExamples: r.examples,
		Latency: summarize(r.lat), MaxOpenStreams: r.maxOpen.Load()}
	for _, n := range r.kinds {
		res.Errors += n
	}
	res.Requests = res.OK + res.Errors
	if r.cfg.Rate > 0 {
		res.Loop = "open"
		s := summarize(r.lag)
		res.SendLag = &s
	}
	if r.cfg.Stream {
		s := summarize(r.ttfb)
		res.TTFB = &s
	}
	if r.lastDone.After(r.measureFrom) {
		res.ElapsedS = r.lastDone.Sub(r.measureFrom).Seconds()
		res.Throughput = float64(res.OK) / res.ElapsedS
	}
	return res
}

// WriteText prints res as a short human-readable report.
func WriteText(w io.Writer, res *Result) {
	load := fmt.Sprintf("closed loop, %d workers", res.Concurrency)
	if res.Loop == "open" {
		load = fmt.Sprintf("open loop, %.0f req/s, at most %d in flight", res.Rate, res.Concurrency)
	}
	kind := "chat completion"
	if res.Stream {
		kind = "chat completion, streamed"
	}
	fmt.Fprintf(w, "target      %s (%s)\n", res.URL, kind)
	fmt.Fprintf(w, "load        %s, measured %.2fs\n", load, res.ElapsedS)
	fmt.Fprintf(w, "requests    %d ok, %d errors\n", res.OK, res.Errors)
	fmt.Fprintf(w, "throughput  %.1f req/s\n", res.Throughput)
	fmt.Fprintf(w, "%-11s %9s %9s %9s %9s %9s %9s\n", "(ms)", "p50", "p90", "p99", "p99.9", "max", "mean")
	row := func(name string, s Summary) {
		fmt.Fprintf(w, "%-11s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, s.P50, s.P90, s.P99, s.P999, s.Max, s.Mean)
	}
	row("latency", res.Latency)
	if res.TTFB != nil {
		row("ttfb", *res.TTFB)
	}
	if res.SendLag != nil {
		row("send lag", *res.SendLag)
	}
	if res.MaxOpenStreams > 0 {
		fmt.Fprintf(w, "max open    %d streams\n", res.MaxOpenStreams)
	}
	for _, k := range slices.Sorted(maps.Keys(res.ErrorKinds)) {
		fmt.Fprintf(w, "error       %-18s %8d  e.g. %s\n", k, res.ErrorKinds[k], oneLine(res.ErrorExamples[k]))
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
