package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/bench/internal/hist"
)

// runner is one Run: the shared client, schedule, counters and recorded samples.
type runner struct {
	cfg       Config
	addr, uri string
	hc        *fasthttp.HostClient

	start, measureFrom, end time.Time
	interval                time.Duration // open loop: time between intended sends
	warmSlots               int64         // open loop: slots scheduled during warmup

	slot     atomic.Int64 // open loop: next slot; closed loop: measured requests issued
	inFlight atomic.Int64
	open     atomic.Int64
	maxOpen  atomic.Int64
	done     atomic.Int64
	errs     atomic.Int64

	mu       sync.Mutex // guards what follows
	lat      *hist.H
	ttfb     *hist.H
	lag      *hist.H
	ok       int64
	kinds    map[string]int64
	examples map[string]string
	lastDone time.Time
}

// batch is how many samples a worker keeps before merging them under the lock.
const batch = 128

// Run drives the load described by cfg until its duration or request count is reached
// (or ctx ends), waits for requests in flight, and returns what was measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	addr, uri, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, addr: addr, uri: uri, lat: hist.New(), ttfb: hist.New(), lag: hist.New(),
		kinds: map[string]int64{}, examples: map[string]string{}}
	r.hc = &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      cfg.Concurrency,
		MaxConnWaitTimeout:            cfg.Timeout,
		MaxIdemponentCallAttempts:     1,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		ReadBufferSize:                16 << 10,
	}
	defer r.hc.CloseIdleConnections()
	r.schedule(time.Now())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.OnProgress != nil {
		go r.report(ctx)
	}
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		w := newWorker(r)
		wg.Go(func() {
			if cfg.Rate > 0 {
				r.openLoop(ctx, w)
			} else {
				r.closedLoop(ctx, w)
			}
			r.flush(w)
		})
	}
	wg.Wait()
	return r.result(), nil
}

// schedule fixes the phases: warmup from start, then the measured phase.
func (r *runner) schedule(now time.Time) {
	c := r.cfg
	r.start = now
	r.measureFrom = now.Add(c.Warmup)
	if c.Rate > 0 {
		r.interval = time.Duration(float64(time.Second) / c.Rate)
		r.warmSlots = int64((c.Warmup + r.interval - 1) / r.interval)
		r.measureFrom = r.slotTime(r.warmSlots)
	}
	r.end = r.measureFrom.Add(c.Duration)
	if c.Duration <= 0 {
		r.end = r.measureFrom.Add(100 * 365 * 24 * time.Hour)
	}
}

// slotTime is the intended send time of open-loop slot i, computed without drift.
func (r *runner) slotTime(i int64) time.Time {
	return r.start.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate))
}

// closedLoop sends one request after another until the measured phase ends.
func (r *runner) closedLoop(ctx context.Context, w *worker) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(r.end) {
			return
		}
		measured := !now.Before(r.measureFrom)
		if measured && r.cfg.Requests > 0 && r.slot.Add(1) > r.cfg.Requests {
			return
		}
		s := w.do(now)
		r.count(s)
		if measured {
			r.keep(w, s)
		}
	}
}

// openLoop takes the next slot of the fixed-rate schedule, waits for its time and sends.
//
// Latency is measured from the slot's time whenever the worker took the slot late,
// because every worker was still busy with earlier answers: that wait is the server's
// doing and must show (no coordinated omission). A worker that was free and slept until
// the slot measures from when it actually sent instead: Go's timers wake up to a
// millisecond late when the process is idle (epoll's resolution), and that lateness is
// the generator's, not the server's. SendLag reports both kinds of lateness.
func (r *runner) openLoop(ctx context.Context, w *worker) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		i := r.slot.Add(1) - 1
		if r.cfg.Requests > 0 && i-r.warmSlots >= r.cfg.Requests {
			return
		}
		intended := r.slotTime(i)
		if !intended.Before(r.end) {
			return
		}
		from := intended
		if d := time.Until(intended); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
			from = time.Now()
		} else if ctx.Err() != nil {
			return
		}
		lag := time.Since(intended)
		s := w.do(from)
		s.lag = lag
		r.count(s)
		if i >= r.warmSlots {
			r.keep(w, s)
		}
	}
}

// noteOpen keeps the highest number of streams open at once.
func (r *runner) noteOpen(n int64) {
	for {
		m := r.maxOpen.Load()
		if n <= m || r.maxOpen.CompareAndSwap(m, n) {
			return
		}
	}
}

func (r *runner) count(s sample) {
	r.done.Add(1)
	if s.err != "" {
		r.errs.Add(1)
	}
}

// keep buffers a measured sample in the worker and merges a full buffer.
func (r *runner) keep(w *worker, s sample) {
	w.out = append(w.out, s)
	if len(w.out) >= batch {
		r.flush(w)
	}
}

func (r *runner) flush(w *worker) {
	if len(w.out) == 0 {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range w.out {
		if s.err != "" {
			r.kinds[s.err]++
			if _, ok := r.examples[s.err]; !ok {
				r.examples[s.err] = s.errMsg
			}
			continue
		}
		r.ok++
		r.lat.Record(s.lat)
		if r.cfg.Stream {
			r.ttfb.Record(s.ttfb)
		}
		if r.cfg.Rate > 0 {
			r.lag.Record(s.lag)
		}
	}
	// A worker's buffer ends with its latest request, so now bounds its end closely
	// enough for a throughput figure (one batch is well under a second of work).
	if now.After(r.lastDone) {
		r.lastDone = now
	}
	w.out = w.out[:0]
}

// report calls OnProgress until ctx ends.
func (r *runner) report(ctx context.Context) {
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.cfg.OnProgress(Progress{Elapsed: time.Since(r.start), InFlight: r.inFlight.Load(),
				Open: r.open.Load(), Done: r.done.Load(), Errors: r.errs.Load()})
		}
	}
}
