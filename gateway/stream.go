package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
	"github.com/switchyard/switchyard/internal/upstream"
	"github.com/switchyard/switchyard/metering"
	"github.com/switchyard/switchyard/router"
)

// keptBodyBytes is the largest request body a stream relay keeps for a late estimate.
const keptBodyBytes = 16 << 10

// livenessInterval is how often a silent stream checks that its client is still there.
const livenessInterval = 200 * time.Millisecond

// attemptStream opens a streamed upstream call and, once its headers are in, hands the
// response body to a relay, which then owns req, resp, the request log and the
// deployment's health outcome. Before that point a failure is returned for the router
// to retry elsewhere: nothing has reached the client yet.
func (g *Gateway) attemptStream(ctx *fasthttp.RequestCtx, rec *record, t *target, pr *provider.Request,
	c *router.Candidate, req *fasthttp.Request, resp *fasthttp.Response, started time.Time) attemptResult {
	st, err := t.client.Open(req, resp, g.cfg.Timeouts.FirstByte)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return failed(c, started, err)
	}
	if st == nil { // an error answer, read whole
		defer fasthttp.ReleaseResponse(resp)
		return upstreamError(c, started, t, resp)
	}
	if !bytes.HasPrefix(resp.Header.ContentType(), []byte("text/event-stream")) {
		// The upstream ignored stream:true and answered in one piece; pass that on.
		defer fasthttp.ReleaseResponse(resp)
		_ = st.SetDeadline(time.Now().Add(g.cfg.Timeouts.Request))
		body, err := io.ReadAll(io.LimitReader(st, int64(g.cfg.Upstream.MaxResponseBodySize)))
		st.Close()
		if err != nil {
			return failed(c, started, err)
		}
		resp.SetBodyRaw(body)
		if err := g.writeAnswer(ctx, rec, t, pr, resp); err != nil {
			c.Health.Done(router.Failure, 0, 0)
			return attemptResult{err: classify(err)}
		}
		d := time.Since(started)
		c.Health.Done(router.Success, d, d)
		return attemptResult{}
	}
	copyResponseHeaders(&ctx.Response.Header, &resp.Header)
	g.setRouteHeaders(ctx, rec)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	ctx.Response.ImmediateHeaderFlush = true
	r := &relay{
		g: g, client: clientConn(ctx), st: st, resp: resp, dec: t.tr.NewStream(pr), health: c.Health,
		events: make(chan relayMsg, 8), quit: make(chan struct{}),
		started: started, deadline: started.Add(g.cfg.Timeouts.Request),
		rec: *rec, rid: string(ctx.Response.Header.Peek(headerRequestID)), done: make(chan struct{}),
		promptTokens: rec.promptTokens, text: streamTextPool.Get().(*metering.StreamText),
	}
	if rec.hit != nil {
		r.asm = cache.NewAssembler()
	}
	r.observeFn = r.observe
	if r.promptTokens == 0 && rec.body == nil {
		// The body is gone once the handler returns; metering needs it only if the stream
		// ends without usage. A small one is kept, a large one estimated now.
		if len(pr.Body) <= keptBodyBytes {
			r.rec.body = append([]byte(nil), pr.Body...)
		} else {
			r.promptTokens = g.meter.estimate(rec, pr.Body)
		}
	}
	r.rec.status, r.rec.stream, rec.stream = 200, true, true
	g.streams.Add(1)
	g.relays.Store(r, struct{}{})
	go r.pump()
	ctx.SetBodyStream(r, -1)
	return attemptResult{}
}

// relay carries one streamed answer from the upstream to the client. pump (its own
// goroutine) reads and translates upstream events; Read runs on the server's connection
// goroutine, which writes and flushes each event as soon as it arrives. Close ends both.
type relay struct {
	g        *Gateway
	client   net.Conn
	st       *upstream.Stream
	resp     *fasthttp.Response
	dec      provider.StreamDecoder
	health   *router.Health
	events   chan relayMsg
	quit     chan struct{}
	done     chan struct{} // closed when pump has returned
	started  time.Time
	deadline time.Time
	ticker   *time.Ticker

	cur      *[]byte // buffer being drained
	pending  []byte
	finished bool
	complete bool // the upstream finished normally
	firstAt  time.Duration
	closing  sync.Once
	rec      record
	rid      string
	endErr   error

	shutdown     atomic.Bool          // cut by the gateway's shutdown deadline
	asm          *cache.Assembler     // assembles the answer for the cache; nil when not stored
	observeFn    func([]byte)         // r.observe, bound once
	promptTokens int64                // prompt estimate, for a stream that ends without usage
	text         *metering.StreamText // answer text, idem
}

// relayMsg is one step of the stream: translated bytes, a normal end, or a failure.
type relayMsg struct {
	data *[]byte
	last bool
	err  error
}

var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// errStreamCut is the failure of an upstream stream that ended before its terminator.
var errStreamCut = errors.New("upstream stream ended before completion")

// errShutdown ends a relay cut at the shutdown deadline.
var errShutdown = errors.New("gateway shutting down")

// errClientGone ends a relay whose client went away.
var errClientGone = errors.New("client closed the stream")

// pump reads upstream events until the stream ends, fails, or the relay quits.
func (r *relay) pump() {
	defer close(r.done)
	defer close(r.events)
	sr := sse.NewReader(r.st, 0)
	idle := r.g.cfg.Timeouts.Idle
	for {
		dl := time.Now().Add(idle)
		if dl.After(r.deadline) {
			dl = r.deadline
		}
		_ = r.st.SetDeadline(dl)
		ev, err := sr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) { // the upstream client wraps them
				err = errStreamCut
			}
			r.send(relayMsg{err: err})
			return
		}
		bp := eventBufs.Get().(*[]byte)
		b, done, derr := r.dec.Event(ev, (*bp)[:0])
		*bp = b
		sse.EachData(b, r.observeFn) // one pass: metering text and the cache's assembler
		if len(b) > 0 {
			if !r.send(relayMsg{data: bp}) {
				return
			}
		} else {
			eventBufs.Put(bp)
		}
		if done {
			r.drain()
		}
		if derr != nil || done {
			r.send(relayMsg{last: done, err: derr})
			return
		}
	}
}

// observe takes one translated event's data for metering (the answer text, in case the
// stream ends without usage) and for the cache's assembler.
func (r *relay) observe(data []byte) {
	appendDeltaText(r.text, data)
	if r.asm != nil {
		r.asm.Add(data)
	}
}

// drain reads what follows the stream's terminator (the chunked body's last chunk) so the
// upstream connection is fully read and goes back to the pool instead of being closed.
func (r *relay) drain() {
	_ = r.st.SetDeadline(time.Now().Add(min(r.g.cfg.Timeouts.Idle, time.Second)))
	_, _ = io.Copy(io.Discard, io.LimitReader(r.st, 64<<10))
}

func (r *relay) send(m relayMsg) bool {
	select {
	case r.events <- m:
		return true
	case <-r.quit:
		if m.data != nil {
			eventBufs.Put(m.data)
		}
		return false
	}
}

// Read hands the server the next translated bytes, waiting for them as long as the
// client is still connected. After a failure it returns one SSE error event, then EOF:
// the client never sees a clean-looking end of a broken stream.
func (r *relay) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		r.release()
		if r.finished {
			return 0, io.EOF
		}
		if r.ticker == nil {
			r.ticker = time.NewTicker(livenessInterval)
		}
		select {
		case m, ok := <-r.events:
			switch {
			case !ok:
				r.finished = true
			case m.data != nil:
				if r.firstAt == 0 {
					r.firstAt = time.Since(r.started)
				}
				r.cur, r.pending = m.data, *m.data
			case m.err != nil:
				r.fail(m.err)
			case m.last:
				r.complete, r.finished = true, true
			}
		case <-r.ticker.C:
			if !clientAlive(r.client) {
				r.endErr = errClientGone
				r.st.Abort()
				return 0, errClientGone
			}
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// cut ends the stream because the gateway is shutting down: the pump's read is aborted
// and Read sends the client an error event. Safe from any goroutine.
func (r *relay) cut() {
	r.shutdown.Store(true)
	r.st.Abort()
}

// fail turns a mid-stream failure into a final SSE error event.
func (r *relay) fail(err error) {
	r.finished, r.endErr = true, err
	if r.shutdown.Load() {
		err = errShutdown
	}
	var se *provider.StreamError
	if errors.As(err, &se) && se.Forwarded {
		r.rec.errCode = se.Err.Code
		return // the upstream's own error event already went out
	}
	var e *apierr.Error
	switch {
	case errors.As(err, &se):
		e = se.Err
	case errors.Is(err, errShutdown):
		e = apierr.Unavailable("server_shutting_down", "the gateway is shutting down; the stream was cut before it completed")
	case errors.Is(err, errStreamCut):
		e = apierr.BadGateway("upstream_stream_cut", "the upstream provider ended the stream before it was complete")
	default:
		e = classify(err)
		var ue *upstream.Error
		if errors.As(err, &ue) && ue.Kind == upstream.KindTimeout {
			e = apierr.Timeout("the upstream provider stopped sending mid-stream")
			e.Code = "upstream_idle_timeout"
		}
	}
	r.rec.errCode = e.Code
	bp := eventBufs.Get().(*[]byte)
	*bp = sse.AppendData((*bp)[:0], e.AppendJSON(nil))
	r.cur, r.pending = bp, *bp
}

func (r *relay) release() {
	if r.cur != nil {
		eventBufs.Put(r.cur)
		r.cur = nil
	}
}

// Close is called by the server once the response is written or the client is gone. It
// stops the pump, aborting the upstream call unless it completed, and logs the request.
func (r *relay) Close() error {
	r.closing.Do(func() {
		close(r.quit)
		if !r.complete {
			r.st.Abort()
		}
		<-r.done
		for m := range r.events {
			if m.data != nil {
				eventBufs.Put(m.data)
			}
		}
		r.release()
		if r.ticker != nil {
			r.ticker.Stop()
		}
		r.st.Close()
		fasthttp.ReleaseResponse(r.resp)
		r.rec.usage = r.dec.Usage()
		if r.asm != nil && r.complete {
			r.asm.SetUsage(r.rec.usage)
			if body, _, err := r.asm.Result(); err == nil {
				r.g.storeAnswer(r.rec.hit, 200, body, []byte(r.rid))
			}
		}
		if r.complete {
			endAttempt(r.rec.tr.attempt, 200, nil, r.rec.usage)
		} else {
			endAttempt(r.rec.tr.attempt, 200, apierr.New(200, "", r.rec.errCode, "", ""), r.rec.usage)
		}
		d := time.Since(r.started)
		r.health.Done(r.outcome(), r.firstAt, d)
		r.g.finish(&r.rec, r.rid, r.started, d, r.firstAt,
			usageState{complete: r.complete, promptTokens: r.promptTokens, text: r.text}, nil)
		r.text.Reset()
		streamTextPool.Put(r.text)
		if r.endErr != nil && r.rec.errCode == "" {
			r.rec.errCode = "client_closed_request"
		}
		r.g.logStream(r.rid, &r.rec, time.Since(r.started), r.firstAt, r.complete)
		r.g.relays.Delete(r)
		r.g.streams.Done()
	})
	return nil
}

// clientConn is the request's client connection, nil for a headless (coalesced) run,
// whose detached context has none.
func clientConn(ctx *fasthttp.RequestCtx) net.Conn {
	if ctx.UserValue(headlessKey) != nil {
		return nil
	}
	return ctx.Conn()
}

// outcome is the stream's result for the deployment's health: a client that left is
// not the upstream's failure.
func (r *relay) outcome() router.Outcome {
	switch {
	case r.complete:
		return router.Success
	case r.endErr == nil || errors.Is(r.endErr, errClientGone):
		return router.Cancelled
	}
	var ue *upstream.Error
	if errors.As(r.endErr, &ue) && ue.Kind == upstream.KindAborted {
		return router.Cancelled
	}
	return router.Failure
}

// clientAlive peeks at the client connection: a client waiting for a stream sends
// nothing, so a read that ends in EOF or a reset means it went away; a read that times
// out means it is still there. (A byte read here would be lost, so a client pipelining
// a request behind a stream loses its connection; HTTP clients do not do that.)
func clientAlive(c net.Conn) bool {
	if c == nil {
		return true
	}
	var one [1]byte
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := c.Read(one[:])
	_ = c.SetReadDeadline(time.Time{})
	if err == nil {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
