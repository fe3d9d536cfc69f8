package gateway

import (
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// backoffListener keeps accepting through errors that pass: out of file descriptors
// (EMFILE, ENFILE), out of buffers, a connection aborted before it was accepted. Like
// net/http's Serve, it waits 5 ms after the first such error, doubling up to 1 s, and
// tries again; connections already open keep being served meanwhile, and accepting
// recovers once descriptors are free. fasthttp's own loop would return the error and end
// the process. Any other error (the listener closed) is returned.
type backoffListener struct {
	net.Listener
	log   *slog.Logger
	stats *acceptStats
}

// acceptStats counts accept errors that were waited out, for /metrics.
type acceptStats struct {
	errors atomic.Uint64
	last   atomic.Int64 // unix nanoseconds of the last logged error, to log one a second
}

func (l *backoffListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return c, nil
		}
		if !temporaryAcceptError(err) {
			return nil, err
		}
		l.stats.errors.Add(1)
		delay = min(max(2*delay, 5*time.Millisecond), time.Second)
		if now := time.Now().UnixNano(); now-l.stats.last.Load() > int64(time.Second) {
			l.stats.last.Store(now)
			l.log.Warn("accept failed; retrying", "error", err.Error(), "retry_in_ms", delay.Milliseconds(),
				"accept_errors_total", l.stats.errors.Load())
		}
		time.Sleep(delay) // the accept loop's own goroutine; Close makes the next Accept fail
	}
}

// temporaryAcceptError reports whether an accept error is worth waiting out.
func temporaryAcceptError(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
