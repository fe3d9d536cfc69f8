package metering

import (
	"sync/atomic"
	"time"
)

// rateLog lets through at most one log line per interval and counts the lines it held
// back, which the next line reports as "suppressed". It keeps a failing dependency from
// flooding the log at request rate. Safe for concurrent use; a held-back line costs a
// clock read and an atomic add, and no allocation when the caller builds its attributes
// only once allowed.
type rateLog struct {
	every      time.Duration
	next       atomic.Int64 // unix nanoseconds before which lines are held back
	suppressed atomic.Int64
}

func newRateLog(every time.Duration) *rateLog { return &rateLog{every: every} }

// allow reports whether a line may be logged now and, if so, how many were held back
// since the last one.
func (r *rateLog) allow() (suppressed int64, ok bool) {
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(r.every)) {
		r.suppressed.Add(1)
		return 0, false
	}
	return r.suppressed.Swap(0), true
}
