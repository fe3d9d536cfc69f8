package cache

import (
	"sync/atomic"
	"time"
)

// breaker keeps a failing shared store from costing every request a timeout: after a
// failure the store is skipped for cooldown, then one caller probes it while the others
// keep skipping; a success closes it again. The zero downUntil means closed.
type breaker struct {
	cooldown  time.Duration
	now       func() time.Time
	downUntil atomic.Int64 // Unix nanoseconds; 0 when closed
}

// allow reports whether a call may go to the store now.
func (b *breaker) allow() bool {
	until := b.downUntil.Load()
	if until == 0 {
		return true
	}
	now := b.now().UnixNano()
	if now < until {
		return false
	}
	// Cooldown over: the caller that wins the swap probes; the others wait another round.
	return b.downUntil.CompareAndSwap(until, now+int64(b.cooldown))
}

// fail opens the breaker; it reports whether it was closed before (for logging once).
func (b *breaker) fail() bool {
	return b.downUntil.Swap(b.now().UnixNano()+int64(b.cooldown)) == 0
}

// ok closes the breaker; it reports whether it was open before.
func (b *breaker) ok() bool {
	if b.downUntil.Load() == 0 {
		return false
	}
	return b.downUntil.Swap(0) != 0
}

// open reports whether the breaker is open.
func (b *breaker) open() bool { return b.downUntil.Load() != 0 }
