package gateway

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/sockpeek"
)

// clientWatchInterval is how often a request in progress checks that its client is still
// connected. A client that hangs up is noticed within this, streamed or not.
const clientWatchInterval = 200 * time.Millisecond

// clientWatch cancels an exchange's context when its client hangs up. fasthttp does not
// tell a handler that its client left, and a client waiting for an answer sends nothing,
// so the watch polls the socket for a hang-up without reading it (sockpeek). It costs a
// timer per request; a request shorter than the interval never polls. On a connection
// with no socket to ask (an in-memory pipe) it does nothing.
type clientWatch struct {
	conn    net.Conn
	t       atomic.Pointer[time.Timer] // read by the timer's own goroutine
	cancel  context.CancelCauseFunc
	stopped atomic.Bool
}

// begin starts watching conn; cancel is called with errClientGone on a hang-up.
func (w *clientWatch) begin(conn net.Conn, cancel context.CancelCauseFunc) {
	if conn == nil {
		return
	}
	if !sockpeek.Supported(conn) {
		return
	}
	w.conn, w.cancel = conn, cancel
	t := time.AfterFunc(time.Hour, w.check)
	w.t.Store(t)
	t.Reset(clientWatchInterval)
}

func (w *clientWatch) check() {
	if w.stopped.Load() {
		return
	}
	closed, ok := sockpeek.PeerClosed(w.conn)
	switch {
	case closed:
		w.cancel(errClientGone)
	case ok && !w.stopped.Load():
		w.t.Load().Reset(clientWatchInterval)
	}
}

// end stops the watch. Safe to call more than once.
func (w *clientWatch) end() {
	if t := w.t.Load(); t != nil && !w.stopped.Swap(true) {
		t.Stop()
	}
}
