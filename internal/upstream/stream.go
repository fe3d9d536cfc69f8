package upstream

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Stream is the body of a streamed answer. Read and SetDeadline belong to the goroutine
// that reads; Abort may be called from any goroutine and makes a blocked Read return.
type Stream struct {
	resp    *fasthttp.Response
	body    io.Reader
	conn    *trackedConn
	aborted atomic.Bool
	closed  atomic.Bool
}

// Read reads the body. Errors are classified *Error values; io.EOF ends a complete body.
func (s *Stream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if err != nil && err != io.EOF {
		if s.aborted.Load() {
			return n, &Error{Kind: KindAborted, Err: ErrAborted}
		}
		return n, classify(err)
	}
	return n, err
}

// SetDeadline bounds the next reads: a read still blocked at t fails with a timeout.
func (s *Stream) SetDeadline(t time.Time) error {
	if s.conn == nil {
		return nil
	}
	return s.conn.Conn.SetReadDeadline(t)
}

// Header returns the response's headers.
func (s *Stream) Header() *fasthttp.ResponseHeader { return &s.resp.Header }

// Abort makes a blocked or later Read fail and closes the connection; the upstream sees
// the client go away. Safe to call from any goroutine, more than once.
func (s *Stream) Abort() {
	if s.aborted.Swap(true) {
		return
	}
	if s.conn != nil {
		_ = s.conn.Conn.Close()
	}
}

// Close releases the stream: a fully read connection goes back to the pool, any other
// is closed. Call it once, from the reading goroutine, after the last Read.
func (s *Stream) Close() {
	if s.closed.Swap(true) {
		return
	}
	if s.conn != nil {
		_ = s.conn.Conn.SetReadDeadline(time.Time{})
	}
	if s.aborted.Load() {
		if rc, ok := s.body.(fasthttp.ReadCloserWithError); ok {
			_ = rc.CloseWithError(ErrAborted)
			return
		}
	}
	_ = s.resp.CloseBodyStream()
}

// trackedConn is a pooled upstream connection whose LocalAddr carries a pointer back to
// it, so that a streamed response (which records its connection's LocalAddr) can reach
// the connection to move its read deadline chunk by chunk.
type trackedConn struct {
	net.Conn
	addr connAddr
}

type connAddr struct {
	net.Addr
	conn *trackedConn
}

func track(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c}
	t.addr = connAddr{Addr: c.LocalAddr(), conn: t}
	return t, nil
}

func (t *trackedConn) LocalAddr() net.Addr { return &t.addr }

func readAll(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)))
	if err != nil && !errors.Is(err, io.EOF) {
		return b, err
	}
	return b, nil
}
