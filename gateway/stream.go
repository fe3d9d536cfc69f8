package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
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

// keptBodyBytes is the largest request body a stream keeps for a late estimate.
const keptBodyBytes = 16 << 10

// attemptStream opens a streamed upstream call and, once its headers are in, hands the
// stream to out, which then owns it (req and resp included). Before that point a failure
// is returned for the router to retry elsewhere: nothing has reached the client yet.
func (g *Gateway) attemptStream(ex *exchange, ctx context.Context, t *target, pr *provider.Request,
	c *router.Candidate, req *fasthttp.Request, resp *fasthttp.Response, started time.Time, out sink) attemptResult {
	st, err := t.client.Open(ctx, req, resp, g.cfg.Timeouts.FirstByte)
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
		return g.deliver(ex, c, t, pr, resp, started, out)
	}
	s := &upstreamStream{
		g: g, ex: ex, st: st, resp: resp, dec: t.tr.NewStream(pr), health: c.Health,
		started: started, deadline: started.Add(g.cfg.Timeouts.Request),
		text: streamTextPool.Get().(*metering.StreamText),
	}
	if ex.rec.hit != nil {
		s.asm = cache.NewAssembler()
	}
	s.observeFn = s.observe
	ex.us.promptTokens = ex.rec.promptTokens
	if ex.rec.promptTokens == 0 && ex.rec.body == nil {
		// The body is gone once the handler returns; metering needs it only if the stream
		// ends without usage. A small one is kept, a large one estimated now.
		if len(pr.Body) <= keptBodyBytes {
			ex.body = append([]byte(nil), pr.Body...)
		} else {
			ex.us.promptTokens = g.meter.estimate(&ex.rec, pr.Body)
		}
	}
	ex.rec.status, ex.rec.stream = 200, true
	g.streams.Add(1)
	g.live.Store(s, struct{}{})
	out.stream(s)
	return attemptResult{}
}

// upstreamStream is one streamed upstream answer being read: the producing half of a
// stream. pump reads and translates its events into an eventSink (a client's relay, or
// a flight); finish records how it ended on the exchange. One goroutine pumps; cut may
// be called from any.
type upstreamStream struct {
	g        *Gateway
	ex       *exchange
	st       *upstream.Stream
	resp     *fasthttp.Response
	dec      provider.StreamDecoder
	health   *router.Health
	started  time.Time
	deadline time.Time

	firstAt  time.Duration
	answered atomic.Bool // the last event went out (the pump may still drain the body)
	complete bool        // the upstream finished normally
	endErr   error       // why it did not
	shutdown atomic.Bool

	failEvent func(*apierr.Error) *[]byte // the dialect's failure events; nil for chat
	ping      func([]byte) []byte         // the dialect's keep-alive event; nil for none
	asm       *cache.Assembler            // assembles the answer for the cache; nil when not stored
	observeFn func([]byte)                // s.observe, bound once
	text      *metering.StreamText        // answer text, for a stream that ends without usage
}

// eventSink takes a stream's translated events as they are produced. send owns *b from
// the call on and returns false when nobody reads any more.
type eventSink interface {
	send(b *[]byte) bool
}

var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// errStreamCut is the failure of an upstream stream that ended before its terminator.
var errStreamCut = errors.New("upstream stream ended before completion")

// errShutdown ends a stream cut at the shutdown deadline.
var errShutdown = errors.New("gateway shutting down")

// errClientGone ends an exchange whose client went away.
var errClientGone = errors.New("client closed the request")

// Header returns the upstream response's headers.
func (s *upstreamStream) Header() *fasthttp.ResponseHeader { return s.st.Header() }

// pump reads upstream events until the stream ends, fails, or out stops taking them. It
// returns nil after a complete stream. A panic in a decoder ends this stream only.
func (s *upstreamStream) pump(out eventSink) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.g.log.Error("panic in stream relay", "request_id", s.ex.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = errPanic
		}
		s.endErr = err
	}()
	sr := sse.NewReader(s.st, 0)
	idle := s.g.cfg.Timeouts.Idle
	for {
		_ = s.st.SetDeadline(minTime(time.Now().Add(idle), s.deadline))
		ev, err := sr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) { // the upstream client wraps them
				err = errStreamCut
			}
			return err
		}
		bp := eventBufs.Get().(*[]byte)
		b, done, derr := s.dec.Event(ev, (*bp)[:0])
		*bp = b
		if s.observeFn != nil { // a dialect's decoder observes the Chat Completions events itself
			sse.EachData(b, s.observeFn) // one pass: metering text and the cache's assembler
		}
		if done || derr != nil {
			s.answered.Store(true) // before the last event goes: no keep-alive may follow it
		}
		if len(b) > 0 {
			if s.firstAt == 0 {
				s.firstAt = time.Since(s.started)
			}
			if !out.send(bp) {
				return errClientGone
			}
		} else {
			eventBufs.Put(bp)
		}
		if done {
			s.complete = true
			s.drain()
		}
		if derr != nil || done {
			return derr
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// errPanic ends a stream whose relay panicked.
var errPanic = errors.New("internal error in the stream relay")

// observe takes one translated event's data for metering (the answer text, in case the
// stream ends without usage) and for the cache's assembler.
func (s *upstreamStream) observe(data []byte) {
	appendDeltaText(s.text, data)
	if s.asm != nil {
		s.asm.Add(data)
	}
}

// drain reads what follows the stream's terminator (the chunked body's last chunk) so the
// upstream connection is fully read and goes back to the pool instead of being closed.
func (s *upstreamStream) drain() {
	_ = s.st.SetDeadline(time.Now().Add(min(s.g.cfg.Timeouts.Idle, time.Second)))
	_, _ = io.Copy(io.Discard, io.LimitReader(s.st, 64<<10))
}

// cut ends the stream because the gateway is shutting down: the pump's read is aborted
// and its readers get an error event. Safe from any goroutine.
func (s *upstreamStream) cut() {
	s.shutdown.Store(true)
	s.st.Abort()
}

// errorEvent turns the failure that ended a stream early into the final SSE error event
// and its code. It returns no event when the upstream's own error event already went out.
func (s *upstreamStream) errorEvent(err error) (code string, ev *[]byte) {
	if s.shutdown.Load() {
		err = errShutdown
	}
	var se *provider.StreamError
	if errors.As(err, &se) && se.Forwarded {
		return se.Err.Code, nil
	}
	var e *apierr.Error
	switch {
	case errors.As(err, &se):
		e = se.Err
	case errors.Is(err, errShutdown):
		e = apierr.Unavailable("server_shutting_down", "the gateway is shutting down; the stream was cut before it completed")
	case errors.Is(err, errStreamCut):
		e = apierr.BadGateway("upstream_stream_cut", "the upstream provider ended the stream before it was complete")
	case errors.Is(err, errPanic):
		e = apierr.Internal("internal error while relaying the stream")
	case errors.Is(err, sse.ErrEventTooLarge):
		e = apierr.BadGateway("upstream_event_too_large", "the upstream provider sent a stream event larger than 1 MiB")
	default:
		e = classify(err)
		var ue *upstream.Error
		if errors.As(err, &ue) && ue.Kind == upstream.KindTimeout {
			e = apierr.Timeout("the upstream provider stopped sending mid-stream")
			e.Code = "upstream_idle_timeout"
		}
	}
	if s.failEvent != nil {
		return e.Code, s.failEvent(e)
	}
	bp := eventBufs.Get().(*[]byte)
	*bp = sse.AppendData((*bp)[:0], e.AppendJSON(nil))
	return e.Code, bp
}

// finish records on the exchange how the stream ended: usage, the cache entry, the
// attempt span, the deployment's health, the first-token time. It is called once, after
// the pump returned, by whoever owns the stream.
func (s *upstreamStream) finish(clientGone bool) {
	ex, rec := s.ex, &s.ex.rec
	s.st.Close()
	fasthttp.ReleaseResponse(s.resp)
	rec.usage = s.dec.Usage()
	if s.asm != nil && s.complete {
		s.asm.SetUsage(rec.usage)
		if body, _, err := s.asm.Result(); err == nil {
			s.g.storeAnswer(rec.hit, 200, body, []byte(ex.id))
		}
	}
	if s.complete {
		endAttempt(rec.tr.attempt, 200, nil, rec.usage)
	} else {
		endAttempt(rec.tr.attempt, 200, apierr.New(200, "", rec.errCode, "", ""), rec.usage)
	}
	d := time.Since(s.started)
	s.health.Done(s.outcome(clientGone), s.firstAt, d)
	ex.ttft = s.firstAt
	ex.us.complete, ex.us.text = s.complete, s.text
	if !s.complete && rec.errCode == "" && clientGone {
		rec.errCode = "client_closed_request"
	}
	s.g.live.Delete(s)
	s.g.streams.Done()
}

// outcome is the stream's result for the deployment's health: a client that left is
// not the upstream's failure.
func (s *upstreamStream) outcome(clientGone bool) router.Outcome {
	switch {
	case s.complete:
		return router.Success
	case clientGone || s.endErr == nil || errors.Is(s.endErr, errClientGone) || errors.Is(s.endErr, errPanic):
		return router.Cancelled
	}
	var ue *upstream.Error
	if errors.As(s.endErr, &ue) && ue.Kind == upstream.KindAborted {
		return router.Cancelled
	}
	return router.Failure
}
