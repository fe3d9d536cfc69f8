package gateway

import (
	"fmt"
	"runtime/debug"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
)

// recoverExchange turns a panic in an exchange's handler into a 500 for that request
// alone, logged with its stack. A stream already handed to the server is closed (its
// relay ends and releases the exchange). Deferred by the handler.
func (g *Gateway) recoverExchange(ex *exchange) {
	v := recover()
	if v == nil {
		return
	}
	g.log.Error("panic serving request", "request_id", ex.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	answerPanic(ex.rc)
	ex.rec.errCode, ex.rec.status = "internal_error", 500
}

// recoverRequest is recoverExchange for the routes that are not exchanges.
func (g *Gateway) recoverRequest(rc *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	g.log.Error("panic serving request", "request_id", string(rc.Response.Header.Peek(headerRequestID)),
		"path", string(rc.Path()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	answerPanic(rc)
}

// answerPanic replaces whatever the handler had started to answer with a 500 envelope,
// keeping the request id.
func answerPanic(rc *fasthttp.RequestCtx) {
	rid := append([]byte(nil), rc.Response.Header.Peek(headerRequestID)...)
	rc.Response.ResetBody() // closes a body stream already set
	rc.Response.Header.Reset()
	rc.Response.Header.SetBytesV(headerRequestID, rid)
	rc.Response.ImmediateHeaderFlush = false
	writeError(rc, apierr.Internal("internal error"))
}
