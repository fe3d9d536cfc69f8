package gateway

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/provider"
)

// exchange is one request's passage through the gateway. It is built once at the edge
// and handed through the stages in order; each stage records what it decided in rec.
// Its context is cancelled when the client's connection closes (streamed and
// non-streamed alike), and at completion.
//
// Completion runs exactly once, whatever path ended the request: metering, limits
// settle, the prompt guard, the trace, the request log. Parts that outlive the handler
// (a stream relay, a flight's producer, a flight reader) each take a hold; complete runs
// when the last hold is released. Fields written by a holder before its release are
// visible to complete (the release is an atomic operation).
type exchange struct {
	g      *Gateway
	rc     *fasthttp.RequestCtx // the edge; valid while the handler runs
	ctx    context.Context
	cancel context.CancelCauseFunc
	watch  clientWatch
	id     string            // the request id
	fwd    []provider.Header // the client headers forwarded upstream, copied at the edge
	start  time.Time
	rec    record

	holds     atomic.Int32
	inHandler atomic.Bool // complete may still set response headers

	// The inbound dialect: api, its translator (nil for chat), the client's own body,
	// and, once made, its Chat Completions translation and the stored conversation it
	// continues (Responses' previous_response_id).
	api     api
	tr      dialect.Translator
	orig    []byte
	chat    *dialect.Chat
	prior   [][]byte // Chat Completions messages of the conversation continued
	history []byte   // the same conversation as Responses input items (a JSON array)

	// Set by whoever ends the answer, before its release.
	ttft time.Duration
	us   usageState
	body []byte // the request body for a late estimate, when the handler's is gone
}

// newExchange starts an exchange for the request in rc; the handler holds it.
func (g *Gateway) newExchange(rc *fasthttp.RequestCtx, op provider.Op, rid []byte) *exchange {
	ex := &exchange{g: g, rc: rc, id: string(rid), start: time.Now()}
	ex.rec.op = op
	ex.ctx, ex.cancel = context.WithCancelCause(context.Background())
	ex.watch.begin(rc.Conn(), ex.cancel)
	ex.fwd = forwarded(rc)
	ex.holds.Store(1)
	ex.inHandler.Store(true)
	return ex
}

// hold adds a part that must end before the exchange completes.
func (ex *exchange) hold() { ex.holds.Add(1) }

// release ends one hold; the last one completes the exchange.
func (ex *exchange) release() {
	if ex.holds.Add(-1) == 0 {
		ex.complete()
	}
}

// handlerDone releases the handler's hold. After it, nothing may touch rc.
func (ex *exchange) handlerDone() {
	if ex.holds.Load() == 1 { // completing now, inside the handler: headers can still go out
		ex.release()
		ex.inHandler.Store(false)
		return
	}
	ex.inHandler.Store(false)
	ex.release()
}

// clientGone reports whether the exchange ended because the client left.
func (ex *exchange) clientGone() bool {
	return errors.Is(context.Cause(ex.ctx), errClientGone)
}

// fail answers the client with err in its dialect's envelope (OpenAI's but for the
// Messages API) and records its code.
func (ex *exchange) fail(err error) {
	if ex.tr == nil {
		ex.rec.errCode = answerError(ex.rc, err).Code
		return
	}
	e := classify(err)
	ex.dialectError(e)
	ex.rec.errCode = e.Code
}

// complete meters, settles, traces and logs the request. It runs once, from the last
// release.
func (ex *exchange) complete() {
	g, rec := ex.g, &ex.rec
	ex.watch.end()
	inHandler := ex.inHandler.Load()
	if rec.status == 0 && inHandler {
		rec.status = ex.rc.Response.StatusCode()
	}
	if ex.clientGone() && (rec.errCode == "" || rec.errCode == "client_closed_request") {
		rec.errCode = "client_closed_request"
		if !rec.stream || rec.replayed {
			rec.status = 499
		}
	}
	if !rec.stream || rec.replayed {
		ex.us.complete = rec.status < 300
	}
	body := ex.body
	if body == nil && inHandler {
		body = ex.rc.PostBody()
	}
	d := time.Since(ex.start)
	ex.rec.dialect = ex.api.String()
	g.finish(rec, ex.id, ex.start, d, ex.ttft, ex.us, body)
	if inHandler {
		setCostHeaders(ex.rc, rec)
	}
	g.logLine(ex.id, rec, rec.status, d, ex.ttft, ex.us.complete)
	if t := ex.us.text; t != nil {
		ex.us.text = nil
		t.Reset()
		streamTextPool.Put(t)
	}
	ex.cancel(errCompleted)
}

// errCompleted is the cause of an exchange context cancelled at completion.
var errCompleted = errors.New("request completed")

// forwarded copies the client headers that go upstream (forwardedRequestHeaders); nil
// when the client sent none.
func forwarded(rc *fasthttp.RequestCtx) []provider.Header {
	var hs []provider.Header
	for _, k := range forwardedRequestHeaders {
		if v := rc.Request.Header.Peek(k); len(v) > 0 {
			hs = append(hs, provider.Header{Key: k, Value: string(v)})
		}
	}
	return hs
}
