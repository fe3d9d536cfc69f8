package upstream

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// conn is one pooled connection. It belongs to one call at a time: the pool while idle,
// then the call that acquired it until done or close.
type conn struct {
	net.Conn
	c         *Client
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	uses      int          // requests written on it, this one included
	read      atomic.Int64 // bytes read since the current request was written
	aborted   atomic.Bool
	stop      func() bool // stops the context watch; nil when none
	closed    bool
}

// countReader counts the bytes read from the connection for the current request.
type countReader struct{ pc *conn }

func (r countReader) Read(p []byte) (int, error) {
	n, err := r.pc.Conn.Read(p)
	r.pc.read.Add(int64(n))
	return n, err
}

// watch aborts the connection when ctx is done, until unwatch.
func (pc *conn) watch(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	pc.stop = context.AfterFunc(ctx, pc.abort)
}

// unwatch stops the context watch and reports whether it had already aborted the call.
func (pc *conn) unwatch() bool {
	if pc.stop != nil && !pc.stop() {
		pc.stop = nil
		return true
	}
	pc.stop = nil
	return pc.aborted.Load()
}

// abort makes a blocked read or write fail at once; the upstream sees the connection
// close. Safe from any goroutine.
func (pc *conn) abort() {
	if !pc.aborted.Swap(true) {
		_ = pc.Conn.Close()
	}
}

// exchange writes req and reads resp's headers (and body unless streamed) by deadline.
func (pc *conn) exchange(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, maxBody int) error {
	pc.uses++
	pc.read.Store(0)
	if err := pc.Conn.SetDeadline(deadline); err != nil {
		return err
	}
	if err := req.Write(pc.bw); err != nil {
		return err
	}
	if err := pc.bw.Flush(); err != nil {
		return err
	}
	return resp.ReadLimitBody(pc.br, maxBody)
}

// done ends a call whose answer was read in full: the connection goes back to the pool
// when keep is true and nothing aborted it, and is closed otherwise.
func (pc *conn) done(keep bool) {
	if pc.unwatch() || !keep {
		pc.close()
		return
	}
	_ = pc.Conn.SetDeadline(time.Time{})
	pc.c.put(pc)
}

// close closes the connection and frees its slot. Call once per connection.
func (pc *conn) close() {
	if pc.closed {
		return
	}
	pc.closed = true
	_ = pc.Conn.Close()
	<-pc.c.slots
}
