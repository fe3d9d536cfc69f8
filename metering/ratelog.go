package metering

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// rateLog logs at most one line per interval and counts the lines it held back, which the
// next line reports as "suppressed". It keeps a failing dependency from flooding the log
// at request rate. Safe for concurrent use; a suppressed call costs a clock read and an
// atomic add.
type rateLog struct {
	log        *slog.Logger
	every      time.Duration
	next       atomic.Int64 // unix nanoseconds before which lines are held back
	suppressed atomic.Int64
}

func newRateLog(log *slog.Logger, every time.Duration) *rateLog {
	return &rateLog{log: log, every: every}
}

// Error logs msg at ERROR unless a line was logged less than the interval ago.
func (r *rateLog) Error(msg string, args ...any) {
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(r.every)) {
		r.suppressed.Add(1)
		return
	}
	r.log.Error(msg, append(args, "suppressed", r.suppressed.Swap(0))...)
}
