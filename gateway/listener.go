package gateway

import (
	"errors"
	"log/slog"
	"net"
	"sync"
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
//
// It also enforces limits.max_conns_per_ip (perIP, nil without a cap): a connection past
// its address's cap is closed as soon as it is accepted.
type backoffListener struct {
	net.Listener
	log   *slog.Logger
	stats *acceptStats
	perIP *ipCounter
}

// acceptStats counts accept errors that were waited out, for /metrics.
type acceptStats struct {
	errors  atomic.Uint64
	refused atomic.Uint64 // connections closed at once: their address was at its cap
	last    atomic.Int64  // unix nanoseconds of the last logged error, to log one a second
}

func (l *backoffListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if l.perIP == nil {
				return c, nil
			}
			if ic := l.perIP.admit(c); ic != nil {
				return ic, nil
			}
			l.stats.refused.Add(1)
			_ = c.Close()
			continue
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

// ipCounter counts open connections per client address. Its lock is taken twice per
// connection (accept and close), never per request.
type ipCounter struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newIPCounter(max int) *ipCounter {
	if max <= 0 {
		return nil
	}
	return &ipCounter{max: max, n: map[string]int{}}
}

// admit counts c against its address and returns it wrapped to uncount itself on Close,
// or nil when the address is at its cap.
func (p *ipCounter) admit(c net.Conn) net.Conn {
	ip := c.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[ip] >= p.max {
		return nil
	}
	p.n[ip]++
	return &ipConn{Conn: c, p: p, ip: ip}
}

// ipConn is a connection counted against its address. It keeps the socket reachable
// (SyscallConn), so the client watch still sees it.
type ipConn struct {
	net.Conn
	p      *ipCounter
	ip     string
	closed atomic.Bool
}

func (c *ipConn) Close() error {
	if !c.closed.Swap(true) {
		c.p.mu.Lock()
		if c.p.n[c.ip]--; c.p.n[c.ip] <= 0 {
			delete(c.p.n, c.ip)
		}
		c.p.mu.Unlock()
	}
	return c.Conn.Close()
}

// NetConn returns the connection underneath (sockpeek and TLS unwrap through it).
func (c *ipConn) NetConn() net.Conn { return c.Conn }
