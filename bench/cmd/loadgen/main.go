// Command loadgen sends chat completion requests to one OpenAI-compatible endpoint and
// reports latency quantiles, throughput, errors and (for streams) time to first byte.
//
// Usage:
//
//	loadgen -url http://127.0.0.1:8080/v1/chat/completions [-concurrency 64 | -rate 1000]
//	        [-duration 10s | -requests N] [-warmup 1s] [-stream] [-json]
//
// Closed loop (default): -concurrency workers each send their next request as soon as
// the last one ends. Open loop (-rate R): requests are scheduled R per second whatever
// the answers, with at most -concurrency in flight, and latency runs from each request's
// intended send time, so stalls are not hidden (no coordinated omission). It stops by
// itself: after the measured phase, requests in flight get up to -timeout to finish, and
// a watchdog exits the process if anything hangs beyond that.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/bench/internal/load"
)

type headerFlag [][2]string

func (h *headerFlag) String() string { return fmt.Sprint(*h) }
func (h *headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("want 'Name: value', got %q", v)
	}
	*h = append(*h, [2]string{strings.TrimSpace(k), strings.TrimSpace(val)})
	return nil
}

func main() {
	var cfg load.Config
	var headers headerFlag
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080/v1/chat/completions", "endpoint (http only)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 64, "workers: in flight (closed loop) or most in flight (open loop)")
	flag.Float64Var(&cfg.Rate, "rate", 0, "open loop at this many requests/s (0: closed loop)")
	flag.DurationVar(&cfg.Duration, "duration", 0, "measured phase (default 10s unless -requests is set)")
	flag.Int64Var(&cfg.Requests, "requests", 0, "stop after this many measured requests (0: no limit)")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unrecorded load before measuring")
	flag.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "bound on one request, stream included")
	flag.BoolVar(&cfg.Stream, "stream", false, "ask for and read streamed (SSE) answers; records TTFB")
	flag.Var(&headers, "header", "extra request header 'Name: value' (repeatable)")
	model := flag.String("model", "gpt-4o-mini", "model name in the request body")
	prompt := flag.String("prompt", "Say hello to the benchmark.", "user message in the request body")
	promptBytes := flag.Int("prompt-bytes", 0, "pad the user message with words to about this many bytes (0: as is)")
	bodyFile := flag.String("body-file", "", "send this file as the body instead (it must set stream itself)")
	progress := flag.Duration("progress", 0, "print live counters to stderr this often (0: off)")
	asJSON := flag.Bool("json", false, "print the result as JSON instead of a table")
	flag.Parse()
	cfg.Header = headers

	body, err := requestBody(*bodyFile, *model, pad(*prompt, *promptBytes), cfg.Stream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	cfg.Body = body
	if *progress > 0 {
		cfg.ProgressEvery = *progress
		cfg.OnProgress = func(p load.Progress) {
			fmt.Fprintf(os.Stderr, "progress elapsed=%.1fs inflight=%d open=%d done=%d errors=%d\n",
				p.Elapsed.Seconds(), p.InFlight, p.Open, p.Done, p.Errors)
		}
	}
	go watchdog(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	load.WriteText(os.Stdout, res)
}

// requestBody is the chat completion request sent every time.
func requestBody(file, model, prompt string, stream bool) ([]byte, error) {
	if file != "" {
		return os.ReadFile(file)
	}
	m := map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": prompt}}}
	if stream {
		m["stream"] = true
		m["stream_options"] = map[string]any{"include_usage": true}
	}
	return json.Marshal(m)
}

// pad repeats filler words after prompt until it is about n bytes long.
func pad(prompt string, n int) string {
	const filler = " lorem ipsum dolor sit amet"
	var b strings.Builder
	b.WriteString(prompt)
	for b.Len() < n {
		b.WriteString(filler)
	}
	return b.String()
}

// watchdog ends the process if the run outlives its planned length by more than a
// request timeout and a margin: the generator always stops by itself.
func watchdog(cfg load.Config) {
	planned := cfg.Warmup + cfg.Duration
	if cfg.Duration == 0 {
		planned = cfg.Warmup + 10*time.Second
		if cfg.Requests > 0 {
			planned = cfg.Warmup + time.Hour // a request count has no natural time bound
		}
	}
	time.Sleep(planned + cfg.Timeout + 10*time.Second)
	fmt.Fprintln(os.Stderr, "loadgen: watchdog: run did not finish in time; exiting")
	os.Exit(3)
}
