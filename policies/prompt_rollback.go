package policies

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"
)

// RollbackMetrics are the metrics a rollback can watch.
var RollbackMetrics = []string{"error_rate", "cost_per_request"}

// RollbackConfig is a rollout's automatic rollback, in pins.yaml under a split pin.
type RollbackConfig struct {
	// Metric is error_rate (failed requests / requests) or cost_per_request (nano-USD
	// per request). Required.
	Metric string `yaml:"metric"`
	// Margin is how much worse a canary may be than the baseline before it is rolled
	// back. For error_rate an absolute difference of rates (0.02: two percentage points);
	// for cost_per_request a fraction of the baseline's cost (0.1: ten per cent more).
	// Required, not negative.
	Margin *float64 `yaml:"margin"`
	// MinRequests is how many outcomes both the baseline and a canary need within the
	// window before they are compared. Default 100.
	MinRequests int `yaml:"min_requests"`
	// Window is the span of recent outcomes compared. It slides in steps of a tenth of
	// itself. Default 10m; at least 1s.
	Window time.Duration `yaml:"window"`

	Line int `yaml:"-"`
}

func (c *RollbackConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain RollbackConfig
	c.Line = n.Line
	return n.Decode((*plain)(c))
}

// withDefaults returns c with zero fields set to their defaults.
func (c RollbackConfig) withDefaults() RollbackConfig {
	if c.MinRequests == 0 {
		c.MinRequests = 100
	}
	if c.Window == 0 {
		c.Window = 10 * time.Minute
	}
	return c
}

// validate reports the first problem of a defaulted config, or "".
func (c RollbackConfig) validate() string {
	switch {
	case !slices.Contains(RollbackMetrics, c.Metric):
		return fmt.Sprintf("rollback metric %q must be error_rate or cost_per_request", c.Metric)
	case c.Margin == nil:
		return "rollback needs a margin"
	case *c.Margin < 0 || (c.Metric == "error_rate" && *c.Margin >= 1) || *c.Margin != *c.Margin:
		return "rollback margin must be at least 0 (and below 1 for error_rate)"
	case c.MinRequests < 1:
		return "rollback min_requests must be at least 1"
	case c.Window < time.Second:
		return "rollback window must be at least 1s"
	}
	return ""
}

// rollbackBuckets is how many slices a window is kept in.
const rollbackBuckets = 10

// Rollback decides when a rollout's canaries are worse than its baseline. It is fed
// outcomes (version, failed, cost) and compares each canary with the baseline over a
// sliding window; once a canary exceeds the baseline by the margin it is rolled back for
// good (the decision latches), and resolution sends its share to the baseline.
//
// It is safe for concurrent use without locks: counters are atomics in per-arm ring
// buckets, a bucket is replaced by compare-and-swap when its time slice comes round
// again. Observe costs a few atomic adds, plus a comparison (2×10 bucket reads) when the
// outcome is a canary's. The counts are per process: each replica decides on its own
// traffic; with a RollbackShare the decisions are shared, so a canary rolled back on one
// replica is rolled back on all.
type Rollback struct {
	id       string // the rollout's id, the same on every replica with the same pins
	cfg      RollbackConfig
	margin   float64
	versions []string // [0] is the baseline
	arms     []rollbackArm
	now      func() time.Time
	start    time.Time
	slice    time.Duration
}

type rollbackArm struct {
	buckets [rollbackBuckets]atomic.Pointer[rollbackBucket]
	tripped atomic.Bool
	reason  atomic.Pointer[string]
	shared  atomic.Bool // the decision is in the RollbackStore
}

// rollbackBucket counts one time slice's outcomes; epoch numbers the slice.
type rollbackBucket struct {
	epoch                  int64
	requests, errors, nano atomic.Int64
}

// NewRollback returns a Rollback comparing versions[1:] (canaries) with versions[0] (the
// baseline). now is the clock (time.Now when nil). Zero config fields take defaults.
func NewRollback(cfg RollbackConfig, versions []string, now func() time.Time) (*Rollback, error) {
	cfg = cfg.withDefaults()
	if msg := cfg.validate(); msg != "" {
		return nil, errString(msg)
	}
	if len(versions) < 2 {
		return nil, errString("rollback needs a baseline and at least one canary")
	}
	if now == nil {
		now = time.Now
	}
	rb := &Rollback{cfg: cfg, margin: *cfg.Margin, versions: slices.Clone(versions),
		arms: make([]rollbackArm, len(versions)), now: now, start: now(), slice: cfg.Window / rollbackBuckets}
	return rb, nil
}

// Baseline returns the baseline version.
func (rb *Rollback) Baseline() string { return rb.versions[0] }

// Observe records one request's outcome for version (ignored when it is not one of the
// rollout's) and reports whether this outcome rolled a canary back.
func (rb *Rollback) Observe(version string, failed bool, costNanoUSD int64) bool {
	i := slices.Index(rb.versions, version)
	if i < 0 {
		return false
	}
	epoch := rb.epoch()
	b := rb.arms[i].bucket(epoch)
	b.requests.Add(1)
	if failed {
		b.errors.Add(1)
	}
	b.nano.Add(costNanoUSD)
	if i == 0 || rb.arms[i].tripped.Load() {
		return false
	}
	return rb.evaluate(i, epoch)
}

// RolledBack reports whether version was rolled back, and why.
func (rb *Rollback) RolledBack(version string) (bool, string) {
	i := slices.Index(rb.versions, version)
	if i <= 0 || !rb.arms[i].tripped.Load() {
		return false, ""
	}
	return true, *rb.arms[i].reason.Load()
}

// rolledBack is RolledBack by arm index, for the resolution hot path.
func (rb *Rollback) rolledBack(i int) bool { return rb.arms[i].tripped.Load() }

func (rb *Rollback) epoch() int64 {
	d := rb.now().Sub(rb.start)
	if d < 0 {
		return 0
	}
	return int64(d / rb.slice)
}

// bucket returns the arm's bucket for epoch, replacing the slot's stale one.
func (a *rollbackArm) bucket(epoch int64) *rollbackBucket {
	slot := &a.buckets[epoch%rollbackBuckets]
	for {
		p := slot.Load()
		if p != nil && p.epoch >= epoch {
			return p // current (or, with a clock step back, newer: count it there)
		}
		nb := &rollbackBucket{epoch: epoch}
		if slot.CompareAndSwap(p, nb) {
			return nb
		}
	}
}

// window sums the arm's outcomes in the window ending at epoch.
func (a *rollbackArm) window(epoch int64) (requests, errors, nano int64) {
	for i := range a.buckets {
		p := a.buckets[i].Load()
		if p == nil || p.epoch > epoch || epoch-p.epoch >= rollbackBuckets {
			continue
		}
		requests += p.requests.Load()
		errors += p.errors.Load()
		nano += p.nano.Load()
	}
	return
}

// evaluate compares canary i with the baseline and latches a rollback when it is worse.
func (rb *Rollback) evaluate(i int, epoch int64) bool {
	bn, be, bc := rb.arms[0].window(epoch)
	cn, ce, cc := rb.arms[i].window(epoch)
	minN := int64(rb.cfg.MinRequests)
	if bn < minN || cn < minN {
		return false
	}
	var reason string
	switch rb.cfg.Metric {
	case "error_rate":
		br, cr := float64(be)/float64(bn), float64(ce)/float64(cn)
		if cr <= br+rb.margin {
			return false
		}
		reason = fmt.Sprintf("version %s error rate %.4f over %d requests exceeds baseline %s's %.4f over %d by more than %g",
			rb.versions[i], cr, cn, rb.versions[0], br, bn, rb.margin)
	case "cost_per_request":
		bcpr, ccpr := float64(bc)/float64(bn), float64(cc)/float64(cn)
		if ccpr <= bcpr*(1+rb.margin) {
			return false
		}
		reason = fmt.Sprintf("version %s cost per request %.0f nano-USD over %d requests exceeds baseline %s's %.0f over %d by more than %g%%",
			rb.versions[i], ccpr, cn, rb.versions[0], bcpr, bn, rb.margin*100)
	}
	return rb.trip(i, reason)
}

// trip latches canary i's rollback with reason, and reports false when it was latched
// already (the first reason stays).
func (rb *Rollback) trip(i int, reason string) bool {
	if rb.arms[i].tripped.Load() {
		return false
	}
	rb.arms[i].reason.CompareAndSwap(nil, &reason)
	return rb.arms[i].tripped.CompareAndSwap(false, true)
}

// RollbackStatus is a Rollback's state, for admin views.
type RollbackStatus struct {
	Metric      string              `json:"metric"`
	Margin      float64             `json:"margin"`
	MinRequests int                 `json:"min_requests"`
	Window      time.Duration       `json:"window"`
	Arms        []RollbackArmStatus `json:"arms"`
}

// RollbackArmStatus is one version's outcomes within the current window.
type RollbackArmStatus struct {
	Version     string `json:"version"`
	Baseline    bool   `json:"baseline,omitempty"`
	Requests    int64  `json:"requests"`
	Errors      int64  `json:"errors"`
	CostNanoUSD int64  `json:"cost_nano_usd"`
	RolledBack  bool   `json:"rolled_back,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// Status returns the current window's counts and the decisions.
func (rb *Rollback) Status() RollbackStatus {
	st := RollbackStatus{Metric: rb.cfg.Metric, Margin: rb.margin, MinRequests: rb.cfg.MinRequests, Window: rb.cfg.Window}
	epoch := rb.epoch()
	for i, v := range rb.versions {
		n, e, c := rb.arms[i].window(epoch)
		as := RollbackArmStatus{Version: v, Baseline: i == 0, Requests: n, Errors: e, CostNanoUSD: c}
		as.RolledBack, as.Reason = rb.RolledBack(v)
		st.Arms = append(st.Arms, as)
	}
	return st
}
