package metering

import (
	"strconv"
	"strings"
	"time"
)

// LimitError is Reserve's denial by a hard limit. The gateway maps it to HTTP 429 with
// a Retry-After header of RetryAfterSeconds and an OpenAI rate_limit_exceeded error whose
// message is Error(). Breach.Mode is always hard.
type LimitError struct {
	Breach
}

// Error describes the denial, e.g. `team "research" reached its tokens per minute limit:
// 9500 used + 800 requested > 10000; retry after 23s`.
func (e *LimitError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Scope))
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(e.Value))
	b.WriteString(" reached its ")
	b.WriteString(e.Limit.describe())
	b.WriteString(" limit: ")
	if e.TooLarge() {
		b.WriteString("the request alone needs ")
		b.WriteString(e.amount(e.Requested))
		b.WriteString(" > ")
		b.WriteString(e.amount(e.Max))
	} else {
		b.WriteString(e.amount(e.Used))
		b.WriteString(" used + ")
		b.WriteString(e.amount(e.Requested))
		b.WriteString(" requested > ")
		b.WriteString(e.amount(e.Max))
	}
	b.WriteString("; retry after ")
	b.WriteString(strconv.Itoa(e.RetryAfterSeconds()))
	b.WriteString("s")
	return b.String()
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1: the value of
// the Retry-After header.
func (e *LimitError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// TooLarge reports whether the request alone exceeds the limit, so that waiting for the
// window to reset will not help.
func (e *LimitError) TooLarge() bool { return e.Requested > e.Max }

func (e *LimitError) amount(v int64) string {
	if e.Limit.isMoney() {
		return "$" + Money(v).String()
	}
	return strconv.FormatInt(v, 10)
}
