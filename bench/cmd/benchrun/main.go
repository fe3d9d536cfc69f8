// Command benchrun is the benchmark in one command. It builds the gateway and the bench
// binaries, starts a fake upstream (internal/mock), the bare fasthttp proxy (the floor)
// and the gateway on loopback, drives the same load through each with loadgen, and prints
// one table side by side: latency quantiles, latency added over going direct, throughput,
// errors, CPU seconds per 1,000 requests of each process and the proxies' memory. It can
// also hold many long streams open to compare memory per stream, and take a CPU profile
// of the gateway under load.
//
// Usage (from the repository root):
//
//	go run ./bench/cmd/benchrun [-duration 5s] [-concurrency 1,64,256] [-rates 1000]
//	        [-modes chat,stream] [-streams 1000] [-profile] [-pin] [-out DIR]
//
// Every run is bounded: each load run has a fixed duration, every child process is
// stopped at the end (and killed if benchrun itself dies), and the servers also stop by
// themselves after -exit-after.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/bench/internal/proc"
)

// CPUs used when the run is pinned (-pin): the load generator on one, servers on the other.
const (
	loadgenCPU = "0"
	serverCPU  = "1"
)

// options are benchrun's flags; each documents its unit and default in flag.Usage.
type options struct {
	duration, warmup time.Duration
	concurrency      []int
	rates            []float64
	openMax          int
	modes, targets   []string
	delay            time.Duration
	chunks           int
	promptBytes      int
	streams          int
	streamChunks     int
	streamInterval   time.Duration
	streamsUpstream  string // tcp: the fake upstream process; inprocess: the gateway's own mock provider
	profile          bool
	pin              bool
	outDir           string
	gatewayExtra     string // YAML appended to the generated gateway config
	ledger           string // the gateway's metering.ledger: "sqlite" (in the output dir) or "none"
	body             string // request body file for every load run (default: generated)
}

// bench is one benchrun: its options, processes and results.
type bench struct {
	opts    options
	ctx     context.Context
	binDir  string
	outDir  string
	hz      int64
	started []*server
	servers map[string]*server // "upstream", "floor", "gateway"
	// gatewayConfig is the config file of the gateway in front of "upstream".
	gatewayConfig string

	Cells   []*cell      `json:"cells"`
	Streams []*streamRow `json:"streams,omitempty"`
	Machine machine      `json:"machine"`
}

func main() { os.Exit(run()) }

func run() int {
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{opts: opts, ctx: ctx, servers: map[string]*server{}}
	defer b.stopAll()
	if err := b.run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		return 1
	}
	return 0
}

func (b *bench) run() error {
	var err error
	if b.outDir, err = outDir(b.opts.outDir); err != nil {
		return err
	}
	if b.binDir, err = os.MkdirTemp("", "switchyard-bench-bin-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.binDir)
	if b.hz, err = proc.ClockTicks(); err != nil {
		return err
	}
	if b.opts.pin && runtime.NumCPU() < 2 {
		b.opts.pin = false
	}
	b.Machine = readMachine(b.opts.pin)
	b.logf("building binaries into %s", b.binDir)
	if err := b.build(); err != nil {
		return err
	}
	b.logf("results, logs and profiles go to %s", b.outDir)
	if len(b.loads()) > 0 || b.opts.profile {
		if err := b.startServers(); err != nil {
			return err
		}
	}
	if len(b.loads()) > 0 {
		if err := b.runMatrix(); err != nil {
			return err
		}
		b.Machine.LoadAvgEnd = loadAvg()
		printTable(os.Stdout, b)
	}
	if b.opts.profile && b.ctx.Err() == nil {
		if err := b.runProfile(); err != nil {
			b.logf("profile: %v", err)
		}
	}
	if b.opts.streams > 0 && b.ctx.Err() == nil {
		if err := b.runStreams(); err != nil {
			b.logf("streams: %v", err)
		}
		printStreams(os.Stdout, b)
	}
	return b.writeJSON()
}

func (b *bench) stopAll() {
	for i := len(b.started) - 1; i >= 0; i-- {
		b.started[i].stop()
	}
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchrun: "+format+"\n", a...)
}

func (b *bench) writeJSON() error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(b.outDir, "results.json")
	b.logf("wrote %s", path)
	return os.WriteFile(path, data, 0o644)
}

func outDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "switchyard-bench-"+time.Now().Format("20060102-150405")+"-")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

func parseFlags() (options, error) {
	var o options
	var conc, rates, modes, targets string
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per cell")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each cell (separate loadgen run)")
	flag.StringVar(&conc, "concurrency", "1,64,256", "closed-loop concurrency levels, comma-separated (empty: none)")
	flag.StringVar(&rates, "rates", "1000", "open-loop request rates per second, comma-separated (empty: none)")
	flag.IntVar(&o.openMax, "open-max", 256, "most requests in flight in open-loop cells")
	flag.StringVar(&modes, "modes", "chat,stream", "request kinds: chat (non-streamed), stream (SSE)")
	flag.StringVar(&targets, "targets", "direct,floor,gateway", "what to load: direct (upstream), floor (bare proxy), gateway")
	flag.DurationVar(&o.delay, "delay", 0, "fake upstream delay before response headers")
	flag.IntVar(&o.chunks, "chunks", 4, "fake upstream content chunks per streamed answer")
	flag.IntVar(&o.promptBytes, "prompt-bytes", 0, "pad each request's prompt to about this many bytes (0: a one-line prompt)")
	flag.IntVar(&o.streams, "streams", 1000, "concurrent long streams for the memory test (0: skip)")
	flag.IntVar(&o.streamChunks, "stream-chunks", 10, "content chunks of each long stream")
	flag.DurationVar(&o.streamInterval, "stream-interval", time.Second, "pause between chunks of a long stream")
	flag.StringVar(&o.streamsUpstream, "streams-upstream", "tcp", "the long streams' upstream: tcp (the fake upstream process, floor and gateway) or inprocess (the gateway's built-in mock provider on a memory listener: no upstream descriptors, so 10,000 streams fit a 20,000 descriptor limit; gateway only)")
	flag.BoolVar(&o.profile, "profile", false, "take CPU profiles of the gateway at concurrency 64 (one per -modes entry) and print the top entries")
	flag.BoolVar(&o.pin, "pin", false, "pin the load generator to CPU 0 and the servers to CPU 1 with taskset")
	flag.StringVar(&o.outDir, "out", "", "directory for results.json, server logs and profiles (default: a new temp dir)")
	flag.StringVar(&o.gatewayExtra, "gateway-extra", "", "YAML file appended to the generated gateway config (e.g. telemetry or cache settings)")
	flag.StringVar(&o.ledger, "ledger", "sqlite", "the gateway's cost ledger: sqlite (a file in -out) or none")
	flag.StringVar(&o.body, "body", "", "request body file sent by every load run (default: a generated chat request)")
	flag.Parse()
	var err error
	if o.concurrency, err = intList(conc); err != nil {
		return o, fmt.Errorf("-concurrency: %w", err)
	}
	if o.rates, err = floatList(rates); err != nil {
		return o, fmt.Errorf("-rates: %w", err)
	}
	o.modes, o.targets = strList(modes), strList(targets)
	for _, m := range o.modes {
		if m != "chat" && m != "stream" {
			return o, fmt.Errorf("-modes: unknown mode %q", m)
		}
	}
	for _, t := range o.targets {
		if t != "direct" && t != "floor" && t != "gateway" {
			return o, fmt.Errorf("-targets: unknown target %q", t)
		}
	}
	if o.duration <= 0 {
		return o, fmt.Errorf("-duration must be positive")
	}
	return o, nil
}

func strList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func floatList(s string) ([]float64, error) {
	var out []float64
	for _, f := range strList(s) {
		n, err := strconv.ParseFloat(f, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad rate %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
