// Package upstream owns the pooled HTTP/1.1 clients that carry requests to providers.
//
// One Client serves one provider base URL (one host) with a pool of keep-alive
// connections of its own, built on fasthttp's request writer and response reader, so
// that each call knows its connection: the call is cancelled the moment its context is
// (the client went away), a connection the server closed while idle is never charged as
// a failure, and a full pool queues briefly instead of failing at once.
//
// Do reads a whole answer; Open returns after the response headers and hands back a
// Stream whose reads the caller bounds with per-chunk deadlines and can abort at any time
// from another goroutine.
package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/sockpeek"
)

// DialFunc opens a connection to addr ("host:port").
type DialFunc func(addr string) (net.Conn, error)

// Client sends requests to one upstream host. It is safe for concurrent use.
//
// Connection reuse: a pooled connection is checked before reuse (one non-blocking poll:
// did the server hang up?) and dropped when it is older than MaxIdleConnDuration. If a
// reused connection still fails before a single response byte arrived, the server closed
// it while idle and never read the request: the request is sent once more on a freshly
// dialled connection, inside this call, and counted in Stats.StaleRetries; the caller
// sees one call. Any other failure after the request was written is KindBroken: the
// request may have reached the upstream.
type Client struct {
	addr   string
	isTLS  bool
	tlsCfg *tls.Config
	dial   DialFunc
	cfg    Config

	slots   chan struct{} // one per open connection, MaxConnsPerHost of them
	waiting atomic.Int32  // acquires waiting for a slot
	mu      sync.Mutex    // guards idle (per provider host, held for a slice operation)
	idle    []*conn       // keep-alive connections, most recently used last

	staleRetries atomic.Uint64
	dials        atomic.Uint64
	poolFull     atomic.Uint64
}

// Stats are a Client's counters since New.
type Stats struct {
	// Open is the number of connections open now, idle and busy.
	Open int
	// Idle is the number of keep-alive connections waiting in the pool.
	Idle int
	// Dials counts connections opened.
	Dials uint64
	// StaleRetries counts requests sent again because their pooled connection turned out
	// to be closed by the server before any response byte.
	StaleRetries uint64
	// PoolExhausted counts requests that found MaxConnsPerHost busy for MaxConnWait.
	PoolExhausted uint64
}

// New returns a client for the host of baseURL. dial replaces TCP dialling when non-nil
// (the in-process mock provider).
func New(baseURL string, cfg Config, dial DialFunc) (*Client, error) {
	cfg = cfg.WithDefaults()
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("upstream: bad base URL %q", baseURL)
	}
	c := &Client{addr: u.Host, isTLS: u.Scheme == "https", cfg: cfg, dial: dial,
		tlsCfg: &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
		slots:  make(chan struct{}, cfg.MaxConnsPerHost)}
	if u.Port() == "" {
		if c.isTLS {
			c.addr += ":443"
		} else {
			c.addr += ":80"
		}
	}
	if c.dial == nil {
		d := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
		c.dial = func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) }
	}
	return c, nil
}

// Stats returns the client's counters. Safe at any time.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	idle := len(c.idle)
	c.mu.Unlock()
	return Stats{Open: len(c.slots), Idle: idle, Dials: c.dials.Load(),
		StaleRetries: c.staleRetries.Load(), PoolExhausted: c.poolFull.Load()}
}

// Close closes the idle connections. Busy ones close as their calls end.
func (c *Client) Close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
}

// Do sends req and reads the whole answer into resp, all within timeout. The call ends
// early with KindAborted when ctx is done.
func (c *Client) Do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	resp.StreamBody = false
	pc, err := c.roundTrip(ctx, req, resp, time.Now().Add(timeout))
	if err != nil {
		return err
	}
	pc.done(!resp.ConnectionClose())
	return nil
}

// Open sends req and returns once the response headers arrived, within firstByte. The
// body is left on the connection: read it through the returned Stream and Close it. A
// non-2xx answer is read whole and returned with a nil Stream and a nil error, so the
// caller can translate the upstream's error body. ctx cancels the call, stream included,
// until the Stream is closed.
func (c *Client) Open(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, firstByte time.Duration) (*Stream, error) {
	resp.StreamBody = true
	deadline := time.Now().Add(firstByte)
	pc, err := c.roundTrip(ctx, req, resp, deadline)
	if err != nil {
		return nil, err
	}
	st := &Stream{resp: resp, body: resp.BodyStream(), pc: pc, keep: !resp.ConnectionClose()}
	if resp.StatusCode() >= 300 {
		// Error answers are small; read them whole for translation.
		body, err := io.ReadAll(io.LimitReader(st, 1<<20))
		st.Close()
		if err != nil {
			return nil, err
		}
		resp.SetBodyRaw(body)
		return nil, nil
	}
	return st, nil
}

// roundTrip writes req on a pooled or new connection and reads the response headers (and
// the body unless resp streams), by deadline. On success the connection belongs to the
// caller, still watching ctx.
func (c *Client) roundTrip(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) (*conn, error) {
	fresh := false
	for {
		pc, err := c.acquire(ctx, deadline, fresh)
		if err != nil {
			return nil, err
		}
		pc.watch(ctx)
		err = pc.exchange(req, resp, deadline, c.cfg.MaxResponseBodySize)
		if err == nil {
			return pc, nil
		}
		aborted := pc.unwatch()
		pc.close()
		switch {
		case aborted || ctx.Err() != nil:
			return nil, &Error{Kind: KindAborted, Err: cause(ctx)}
		case pc.uses > 1 && pc.read.Load() == 0 && !isTimeout(err) && !fresh:
			// The server closed this idle connection and never read the request.
			c.staleRetries.Add(1)
			fresh = true
			stream := resp.StreamBody
			resp.Reset()
			resp.StreamBody = stream
			continue
		}
		return nil, classify(err)
	}
}

func cause(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return ErrAborted
}

// acquire returns an idle connection that is still open, or dials one (always when
// fresh), waiting up to MaxConnWait for a free slot.
func (c *Client) acquire(ctx context.Context, deadline time.Time, fresh bool) (*conn, error) {
	if !fresh {
		if pc := c.popIdle(); pc != nil {
			return pc, nil
		}
	}
	if err := c.takeSlot(ctx, deadline); err != nil {
		return nil, err
	}
	pc, err := c.connect(deadline)
	if err != nil {
		<-c.slots
		return nil, err
	}
	return pc, nil
}

// popIdle takes the most recently used idle connection that is young enough and that the
// server has not closed; the ones it passes over are closed.
func (c *Client) popIdle() *conn {
	now := time.Now()
	for {
		c.mu.Lock()
		n := len(c.idle)
		if n == 0 {
			c.mu.Unlock()
			return nil
		}
		pc := c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		var old []*conn
		if now.Sub(pc.idleSince) >= c.cfg.MaxIdleConnDuration {
			old, c.idle = c.idle, nil // everything below is older still
		}
		c.mu.Unlock()
		for _, o := range old {
			o.close()
		}
		if old != nil {
			pc.close()
			return nil
		}
		// A connection used moments ago is not checked (a server that closes one that
		// fast is caught on the first read instead); one idle longer gets one poll.
		if now.Sub(pc.idleSince) >= recheckIdle {
			if closed, _ := sockpeek.PeerClosed(pc.Conn); closed {
				pc.close()
				continue
			}
		}
		return pc
	}
}

// takeSlot reserves room for one more open connection.
func (c *Client) takeSlot(ctx context.Context, deadline time.Time) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	default:
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	wait := min(c.cfg.MaxConnWait, time.Until(deadline))
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{Kind: KindAborted, Err: cause(ctx)}
	case <-t.C:
		c.poolFull.Add(1)
		return &Error{Kind: KindPoolExhausted, Err: fmt.Errorf("all %d connections to %s busy for %v", cap(c.slots), c.addr, wait)}
	}
}

// connect dials (and for https, handshakes) a new connection within ConnectTimeout.
func (c *Client) connect(deadline time.Time) (*conn, error) {
	c.dials.Add(1)
	nc, err := c.dial(c.addr)
	// Out of file descriptors is the gateway's own shortage, not the upstream's: wait for
	// one to be freed (5 ms, doubling) within MaxConnWait, then give up as a full pool.
	for wait, until := 5*time.Millisecond, time.Now().Add(c.cfg.MaxConnWait); err != nil && outOfFiles(err); wait *= 2 {
		if time.Now().Add(wait).After(minTime(until, deadline)) {
			c.poolFull.Add(1)
			return nil, &Error{Kind: KindPoolExhausted, Err: err}
		}
		time.Sleep(wait)
		nc, err = c.dial(c.addr)
	}
	if err != nil {
		var ue *Error
		if errors.As(err, &ue) {
			return nil, ue
		}
		if isTimeout(err) {
			return nil, &Error{Kind: KindTimeout, Err: err}
		}
		return nil, &Error{Kind: KindConnect, Err: err}
	}
	if c.isTLS {
		tc := tls.Client(nc, c.tlsCfg)
		hctx, cancel := context.WithDeadline(context.Background(), minTime(deadline, time.Now().Add(c.cfg.ConnectTimeout)))
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = nc.Close()
			return nil, &Error{Kind: KindConnect, Err: err}
		}
		nc = tc
	}
	pc := &conn{Conn: nc, c: c}
	pc.br = bufio.NewReaderSize(countReader{pc}, 4<<10)
	pc.bw = bufio.NewWriterSize(nc, 4<<10)
	return pc, nil
}

// outOfFiles reports whether err is the process or the system running out of file
// descriptors.
func outOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// recheckIdle is how long a pooled connection may sit idle before it is polled for a
// server hang-up when taken from the pool.
const recheckIdle = 200 * time.Millisecond

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// put returns a connection whose last answer was read in full to the pool, unless
// someone waits for a slot (then it is closed to free one).
func (c *Client) put(pc *conn) {
	if c.waiting.Load() > 0 {
		pc.close()
		return
	}
	pc.idleSince = time.Now()
	c.mu.Lock()
	c.idle = append(c.idle, pc)
	c.mu.Unlock()
}
