package metering

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// errRedisCoolingDown is the error of a call the gate refused without trying Redis.
var errRedisCoolingDown = errors.New("redis unavailable: cooling down after a failed call")

// redisGate fails calls at once for a cooldown after one failed for want of Redis, and
// lets one call per cooldown through to probe it. An outage then costs one timeout per
// cooldown instead of one per request. Lock-free: one atomic word, read-only while
// Redis answers.
type redisGate struct {
	cooldown  time.Duration
	downUntil atomic.Int64 // Unix nanoseconds; 0 while Redis answers
}

// enter returns nil if a call may go to Redis now (possibly as the probe), else
// errRedisCoolingDown.
func (g *redisGate) enter() error {
	until := g.downUntil.Load()
	if until == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if now < until || !g.downUntil.CompareAndSwap(until, now+int64(g.cooldown)) {
		return errRedisCoolingDown
	}
	return nil // this call probes; the others keep failing at once until it is done
}

// done records the outcome of a call made with the caller's context ctx. Only a failure
// to reach Redis closes the gate: not an error reply (Redis answered) and not a caller
// that gave up.
func (g *redisGate) done(ctx context.Context, err error) {
	var reply redis.Error
	switch {
	case err == nil || errors.As(err, &reply):
		if g.downUntil.Load() != 0 {
			g.downUntil.Store(0)
		}
	case ctx.Err() == nil:
		g.downUntil.Store(time.Now().Add(g.cooldown).UnixNano())
	}
}
