package router

import (
	"math"
	"sync/atomic"
	"time"
)

// RetryBudget caps extra upstream calls (retries and fallbacks) as a share of traffic, so
// an outage cannot multiply load: every first attempt deposits Ratio tokens, every extra
// attempt withdraws one; a small floor of MinPerSecond extra attempts is always allowed.
// Lock-free; safe for concurrent use.
type RetryBudget struct {
	ratio   float64
	min     float64
	balance atomic.Uint64 // float64 bits
	floor   atomic.Int64  // floor tokens used in the current second
	second  atomic.Int64
	max     float64
	now     func() time.Time
}

// BudgetConfig configures the retry budget. Zero fields take the defaults in brackets.
type BudgetConfig struct {
	// Ratio is extra attempts allowed per first attempt [0.2].
	Ratio float64 `yaml:"ratio"`
	// MinPerSecond is extra attempts always allowed per second, for low traffic [5].
	MinPerSecond int `yaml:"min_per_second"`
}

// NewRetryBudget returns a budget.
func NewRetryBudget(c BudgetConfig) *RetryBudget {
	if c.Ratio <= 0 {
		c.Ratio = 0.2
	}
	if c.MinPerSecond <= 0 {
		c.MinPerSecond = 5
	}
	return &RetryBudget{ratio: c.Ratio, min: float64(c.MinPerSecond), max: 1000 * c.Ratio, now: time.Now}
}

// Deposit records a first attempt.
func (b *RetryBudget) Deposit() {
	for {
		old := b.balance.Load()
		v := math.Min(math.Float64frombits(old)+b.ratio, b.max)
		if b.balance.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// Withdraw asks for one extra attempt and reports whether the budget allows it.
func (b *RetryBudget) Withdraw() bool {
	for {
		old := b.balance.Load()
		v := math.Float64frombits(old)
		if v < 1 {
			break
		}
		if b.balance.CompareAndSwap(old, math.Float64bits(v-1)) {
			return true
		}
	}
	sec := b.now().Unix()
	if b.second.Swap(sec) != sec {
		b.floor.Store(0)
	}
	return b.floor.Add(1) <= int64(b.min)
}
