package upstream

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Stream is the body of a streamed answer. Read and SetDeadline belong to the goroutine
// that reads; Abort may be called from any goroutine and makes a blocked Read return.
type Stream struct {
	resp    *fasthttp.Response
	body    io.Reader
	pc      *conn
	keep    bool // the connection may be reused once the body is read in full
	eof     bool
	aborted atomic.Bool
	closed  bool
}

// Read reads the body. Errors are classified *Error values; io.EOF ends a complete body.
func (s *Stream) Read(p []byte) (int, error) {
	if s.body == nil {
		return 0, io.EOF
	}
	n, err := s.body.Read(p)
	if err == io.EOF {
		s.eof = true
		return n, err
	}
	if err != nil {
		if s.aborted.Load() || s.pc.aborted.Load() {
			return n, &Error{Kind: KindAborted, Err: ErrAborted}
		}
		return n, classify(err)
	}
	return n, nil
}

// SetDeadline bounds the next reads: a read still blocked at t fails with a timeout.
func (s *Stream) SetDeadline(t time.Time) error { return s.pc.Conn.SetReadDeadline(t) }

// Header returns the response's headers.
func (s *Stream) Header() *fasthttp.ResponseHeader { return &s.resp.Header }

// Abort makes a blocked or later Read fail and closes the connection; the upstream sees
// the client go away. Safe to call from any goroutine, more than once.
func (s *Stream) Abort() {
	if !s.aborted.Swap(true) {
		s.pc.abort()
	}
}

// Close releases the stream: a connection whose body was read to its end goes back to
// the pool, any other is closed. Call it once, from the reading goroutine, after the
// last Read.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	_ = s.resp.CloseBodyStream()
	s.pc.done(s.keep && s.eof && !s.aborted.Load())
}
