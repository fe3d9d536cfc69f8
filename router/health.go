package router

import (
	"math"
	"sync/atomic"
	"time"
)

// HealthConfig tunes passive health checking. Zero fields take the defaults in brackets.
type HealthConfig struct {
	// FailureThreshold opens the circuit after this many consecutive failures [5].
	FailureThreshold int `yaml:"failure_threshold"`
	// ErrorRate opens the circuit when the share of failures in the window reaches it,
	// once MinRequests were seen [0.5].
	ErrorRate float64 `yaml:"error_rate"`
	// MinRequests is the least number of outcomes in the window before ErrorRate applies [10].
	MinRequests int `yaml:"min_requests"`
	// Window is the span the error rate is measured over [10s].
	Window time.Duration `yaml:"window"`
	// Cooldown is how long an open circuit refuses traffic before it lets probes through [5s].
	Cooldown time.Duration `yaml:"cooldown"`
	// HalfOpenProbes is how many probe requests a half-open circuit lets through at once [1].
	HalfOpenProbes int `yaml:"half_open_probes"`
	// LatencyDecay is the EWMA weight of each new latency sample [0.2].
	LatencyDecay float64 `yaml:"latency_decay"`
}

// WithDefaults returns c with zero fields set.
func (c HealthConfig) WithDefaults() HealthConfig {
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = 5
	}
	if c.ErrorRate <= 0 {
		c.ErrorRate = 0.5
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 10
	}
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 5 * time.Second
	}
	if c.HalfOpenProbes <= 0 {
		c.HalfOpenProbes = 1
	}
	if c.LatencyDecay <= 0 || c.LatencyDecay > 1 {
		c.LatencyDecay = 0.2
	}
	return c
}

// Circuit states.
const (
	Closed   = 0
	Open     = 1
	HalfOpen = 2
)

// Outcome is how one upstream attempt ended, as health sees it.
type Outcome uint8

// Outcomes. Cancelled attempts (the client went away) are never failures.
const (
	Success Outcome = iota
	Failure
	Cancelled
)

const buckets = 10

// Health is one deployment's live state: a small struct of atomics, kept apart from the
// config that describes the deployment. Safe for concurrent use; no locks.
type Health struct {
	cfg      atomic.Pointer[HealthConfig]
	inflight atomic.Int64
	ttft     atomic.Uint64 // float64 bits, EWMA seconds; 0 = no sample
	total    atomic.Uint64 // float64 bits, EWMA seconds
	samples  atomic.Int64
	consec   atomic.Int64
	state    atomic.Int32
	openedAt atomic.Int64 // unix nanos
	probes   atomic.Int64 // probes in flight while half-open
	failures atomic.Int64 // failures recorded since NewHealth

	// window of outcome counts: bucket i covers [epoch*width, (epoch+1)*width)
	epochs [buckets]atomic.Int64
	ok     [buckets]atomic.Int64
	bad    [buckets]atomic.Int64
	now    func() time.Time
}

// NewHealth returns a healthy (closed) state.
func NewHealth(cfg HealthConfig) *Health {
	h := &Health{now: time.Now}
	h.SetConfig(cfg)
	return h
}

// SetConfig changes the thresholds (on policy reload); the state is kept.
func (h *Health) SetConfig(cfg HealthConfig) {
	c := cfg.WithDefaults()
	h.cfg.Store(&c)
}

// State returns Closed, Open or HalfOpen, moving an open circuit whose cooldown passed
// to half-open.
func (h *Health) State() int {
	s := h.state.Load()
	if s == Open && h.now().UnixNano()-h.openedAt.Load() >= int64(h.cfg.Load().Cooldown) {
		if h.state.CompareAndSwap(Open, HalfOpen) {
			h.probes.Store(0)
		}
		return HalfOpen
	}
	return int(s)
}

// Available reports whether the deployment may be chosen now (a closed circuit, or a
// half-open one with a free probe slot). It does not take the slot.
func (h *Health) Available() bool {
	switch h.State() {
	case Closed:
		return true
	case HalfOpen:
		return h.probes.Load() < int64(h.cfg.Load().HalfOpenProbes)
	}
	return false
}

// Start records an attempt beginning; it takes a probe slot when half-open. Every Start
// must be followed by one Done.
func (h *Health) Start() {
	h.inflight.Add(1)
	if h.state.Load() == HalfOpen {
		h.probes.Add(1)
	}
}

// Done records how an attempt ended, with its time to first byte and total duration.
func (h *Health) Done(o Outcome, ttft, total time.Duration) {
	h.inflight.Add(-1)
	cfg := h.cfg.Load()
	half := h.state.Load() == HalfOpen
	if half {
		h.probes.Add(-1)
	}
	switch o {
	case Cancelled:
		return
	case Success:
		h.consec.Store(0)
		h.count(cfg, true)
		if ttft > 0 {
			ewma(&h.ttft, ttft.Seconds(), cfg.LatencyDecay)
		}
		if total > 0 {
			ewma(&h.total, total.Seconds(), cfg.LatencyDecay)
		}
		h.samples.Add(1)
		if half {
			h.state.CompareAndSwap(HalfOpen, Closed)
			h.resetWindow()
		}
	case Failure:
		h.failures.Add(1)
		n := h.consec.Add(1)
		ok, bad := h.count(cfg, false)
		trip := n >= int64(cfg.FailureThreshold) ||
			(ok+bad >= int64(cfg.MinRequests) && float64(bad) >= cfg.ErrorRate*float64(ok+bad))
		if half || trip {
			h.open()
		}
	}
}

func (h *Health) open() {
	h.openedAt.Store(h.now().UnixNano())
	h.state.Store(Open)
}

// count adds one outcome to the window and returns the window's totals.
func (h *Health) count(cfg *HealthConfig, success bool) (ok, bad int64) {
	width := int64(cfg.Window) / buckets
	if width <= 0 {
		width = 1
	}
	epoch := h.now().UnixNano() / width
	i := epoch % buckets
	if old := h.epochs[i].Load(); old != epoch && h.epochs[i].CompareAndSwap(old, epoch) {
		h.ok[i].Store(0)
		h.bad[i].Store(0)
	}
	if success {
		h.ok[i].Add(1)
	} else {
		h.bad[i].Add(1)
	}
	for j := range buckets {
		if epoch-h.epochs[j].Load() < buckets {
			ok += h.ok[j].Load()
			bad += h.bad[j].Load()
		}
	}
	return ok, bad
}

func (h *Health) resetWindow() {
	for j := range buckets {
		h.ok[j].Store(0)
		h.bad[j].Store(0)
	}
}

// InFlight returns the attempts currently running.
func (h *Health) InFlight() int64 { return h.inflight.Load() }

// Latency returns the EWMA time to first byte and total latency; ok is false before
// the first successful sample.
func (h *Health) Latency() (ttft, total time.Duration, ok bool) {
	if h.samples.Load() == 0 {
		return 0, 0, false
	}
	return secs(h.ttft.Load()), secs(h.total.Load()), true
}

func secs(bits uint64) time.Duration {
	return time.Duration(math.Float64frombits(bits) * float64(time.Second))
}

func ewma(v *atomic.Uint64, sample, decay float64) {
	for {
		old := v.Load()
		cur := math.Float64frombits(old)
		next := sample
		if old != 0 {
			next = cur + decay*(sample-cur)
		}
		if v.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

// Failures is the number of failures recorded since the Health was made (cancellations
// are not failures).
func (h *Health) Failures() int64 { return h.failures.Load() }
