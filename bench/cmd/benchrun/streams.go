package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/bench/internal/load"
	"github.com/switchyard/switchyard/bench/internal/proc"
)

// streamRow is the many-open-streams test through one proxy.
type streamRow struct {
	Through string       `json:"through"` // floor or gateway
	Result  *load.Result `json:"result"`
	// RSSIdle is the proxy's VmRSS before the streams opened, bytes.
	RSSIdle int64 `json:"rss_idle_bytes"`
	// RSSOpen is the largest VmRSS sampled while the most streams were open, bytes.
	RSSOpen int64 `json:"rss_open_bytes"`
	// RSSPeak is VmHWM at the end, bytes.
	RSSPeak int64 `json:"rss_peak_bytes"`
	// MaxOpen is the most streams the load generator saw open at one sample.
	MaxOpen int64 `json:"max_open"`
	// Threads is the proxy's OS thread count at the RSSOpen sample.
	Threads int `json:"threads"`
	// CPU is the proxy's CPU seconds over the whole test.
	CPU float64 `json:"cpu_s"`
}

func (s *streamRow) row() string {
	r := s.Result
	ttfb := r.TTFB
	if ttfb == nil {
		ttfb = &load.Summary{}
	}
	perStream := 0.0
	if s.MaxOpen > 0 {
		perStream = float64(s.RSSOpen-s.RSSIdle) / float64(s.MaxOpen) / 1024
	}
	return fmt.Sprintf("%-8s %6d %6d %8d %9.1f %9.1f %9.1f %9.1f %8d %8.2f %9.3f %9.3f", s.Through, r.OK, r.Errors,
		s.MaxOpen, float64(s.RSSIdle)/mib, float64(s.RSSOpen)/mib, perStream, float64(s.RSSPeak)/mib, s.Threads,
		s.CPU, ttfb.P50, ttfb.P99)
}

// runStreams opens many long streams at once through a fresh floor and a fresh gateway
// and samples each proxy's memory while they are open.
func (b *bench) runStreams() error {
	o := b.opts
	// The mock cuts the reply into pieces of equal size, so it needs enough bytes for
	// streamChunks pieces.
	reply := strings.Repeat("token ", o.streamChunks*2)
	if o.streamsUpstream == "inprocess" {
		if !slices.Contains(o.targets, "gateway") {
			return nil
		}
		b.logf("streams: opening %d streams through gateway, upstream in process", o.streams)
		row, err := b.streamsThrough("gateway", "")
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		b.Streams = append(b.Streams, row)
		return nil
	}
	up, err := b.startListening("upstream-streams", "fakeupstream", "-chunks", strconv.Itoa(o.streamChunks),
		"-chunk-interval", o.streamInterval.String(), "-reply", reply, "-exit-after", b.exitAfter())
	if err != nil {
		return err
	}
	defer up.stop()
	for _, through := range []string{"floor", "gateway"} {
		if !slices.Contains(o.targets, through) || b.ctx.Err() != nil {
			continue
		}
		b.logf("streams: opening %d streams through %s", o.streams, through)
		row, err := b.streamsThrough(through, up.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", through, err)
		}
		b.Streams = append(b.Streams, row)
	}
	return nil
}

func (b *bench) streamsThrough(through, upstream string) (*streamRow, error) {
	o := b.opts
	var srv *server
	var err error
	if through == "floor" {
		srv, err = b.startListening("floor-streams", "bareproxy", "-upstream", upstream, "-exit-after", b.exitAfter())
	} else {
		var cfg string
		if upstream == "" {
			cfg, err = b.writeInProcessConfig("gateway-streams.yaml", strings.Repeat("token ", o.streamChunks*2))
		} else {
			cfg, err = b.writeGatewayConfig("gateway-streams.yaml", upstream)
		}
		if err == nil {
			srv, err = b.startGateway("gateway-streams", "switchyard", cfg)
		}
	}
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	time.Sleep(500 * time.Millisecond)
	row := &streamRow{Through: through}
	idle, err := proc.ReadMemory(srv.PID())
	if err != nil {
		return nil, err
	}
	row.RSSIdle = idle.RSS
	cpu0 := b.cpu(srv)
	onProgress := func(line string) {
		open := progressField(line, "open")
		m, err := proc.ReadMemory(srv.PID())
		if err != nil || open < row.MaxOpen {
			return
		}
		if open > row.MaxOpen || m.RSS > row.RSSOpen {
			row.MaxOpen, row.RSSOpen, row.Threads = open, m.RSS, m.Threads
		}
	}
	streamLen := time.Duration(o.streamChunks+3) * o.streamInterval
	args := []string{"-url", "http://" + srv.addr + "/v1/chat/completions", "-stream",
		"-concurrency", strconv.Itoa(o.streams), "-requests", strconv.Itoa(o.streams), "-warmup", "0",
		"-timeout", (streamLen + 30*time.Second).String(), "-progress", "250ms", "-json"}
	res, _, err := b.loadgen(args, onProgress)
	if err != nil {
		return nil, err
	}
	row.Result, row.CPU = res, b.cpu(srv)-cpu0
	if m, err := proc.ReadMemory(srv.PID()); err == nil {
		row.RSSPeak = m.HWM
	}
	return row, nil
}

// progressField reads name=N from a loadgen progress line, 0 when absent.
func progressField(line, name string) int64 {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// writeInProcessConfig writes a gateway config whose only provider is the built-in mock,
// streaming the long streams' shape.
func (b *bench) writeInProcessConfig(name, reply string) (string, error) {
	cfg := fmt.Sprintf(`# written by benchrun: every model answered by the built-in mock provider
providers:
  - name: mock
    kind: mock
    mock: {chunks: %d, chunk_interval: %s, reply: %q}
models:
  - name: "*"
    provider: mock
log:
  level: warn
  requests: false
metering:
  ledger: %s
`, b.opts.streamChunks, b.opts.streamInterval, reply, b.ledgerURL(name))
	path := filepath.Join(b.outDir, name)
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}
