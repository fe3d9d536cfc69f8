package cache

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// Redis log bounds: while Redis is down every command can fail, so what Redis failures
// log is limited to RedisLogBurst lines per RedisLogInterval (per logger); the lines held
// back are counted and the next line let through says how many ("suppressed").
const (
	RedisLogInterval = 10 * time.Second
	RedisLogBurst    = 5
)

// logLimit lets at most burst lines through per interval and counts the others. It is
// lock-free (the request path may call it on every failing command) and safe for
// concurrent use; at a window's edge it may let a line or two more through.
type logLimit struct {
	interval time.Duration
	burst    int64
	now      func() time.Time
	window   atomic.Int64 // start of the current window, Unix nanoseconds
	used     atomic.Int64 // lines let through in the window
	dropped  atomic.Int64 // lines held back since the last one let through
}

func newLogLimit(now func() time.Time) *logLimit {
	if now == nil {
		now = time.Now
	}
	return &logLimit{interval: RedisLogInterval, burst: RedisLogBurst, now: now}
}

// allow reports whether a line may be logged now and, when it may, how many were held
// back before it.
func (l *logLimit) allow() (ok bool, suppressed int64) {
	now := l.now().UnixNano()
	if w := l.window.Load(); now-w >= int64(l.interval) && l.window.CompareAndSwap(w, now) {
		l.used.Store(0)
	}
	if l.used.Add(1) > l.burst {
		l.dropped.Add(1)
		return false, 0
	}
	return true, l.dropped.Swap(0)
}

// log writes one line at level through l's bound; with lines held back before it, it
// carries their count as "suppressed".
func (l *logLimit) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	ok, n := l.allow()
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Log(context.Background(), level, msg, args...)
}

// RedisLogger carries go-redis's own log lines (dial failures, pool trouble) to a slog
// logger at warn level, so they are JSON like every other line, bounded to
// RedisLogBurst lines per RedisLogInterval. It implements go-redis's logging interface:
// install it once per process with redis.SetLogger(cache.NewRedisLogger(log)) — go-redis
// keeps one logger for every client (the cache's and the rate limiter's alike). Safe for
// concurrent use; a line held back costs no formatting.
type RedisLogger struct {
	log   *slog.Logger
	limit *logLimit
}

// NewRedisLogger returns a RedisLogger writing to log (nil discards).
func NewRedisLogger(log *slog.Logger) *RedisLogger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisLogger{log: log, limit: newLogLimit(nil)}
}

// Printf logs one go-redis line as the message of a warn line with "source":"go-redis";
// every message starts with "redis: " (go-redis adds it to most of its lines).
func (r *RedisLogger) Printf(_ context.Context, format string, v ...any) {
	ok, n := r.limit.allow()
	if !ok {
		return
	}
	msg := fmt.Sprintf(format, v...)
	if !strings.HasPrefix(msg, "redis: ") {
		msg = "redis: " + msg
	}
	args := []any{"source", "go-redis"}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Warn(msg, args...)
}
