package gateway

import (
	"github.com/valyala/fasthttp"
)

// sink is where the attempt loop delivers a request's answer: the client's own response
// (clientSink) or a flight that feeds every coalesced client (flightSink). Exactly one
// of its methods is called, once, per request.
type sink interface {
	// answer takes a complete successful answer: status, the upstream's headers, the
	// translated body (which the sink may keep).
	answer(status int, h *fasthttp.ResponseHeader, body []byte)
	// stream takes a stream whose headers arrived; the sink owns s from now on: it pumps
	// it to its readers and finishes it.
	stream(s *upstreamStream)
	// fail takes the error that ends the request; nothing reached the sink before it.
	fail(err error)
}

// clientSink answers the exchange's own client.
type clientSink struct{ ex *exchange }

var _ sink = clientSink{}

func (c clientSink) answer(status int, h *fasthttp.ResponseHeader, body []byte) {
	rc := c.ex.rc
	copyResponseHeaders(&rc.Response.Header, h)
	setRouteHeaders(&rc.Response.Header, &c.ex.rec)
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	rc.SetBody(body)
}

func (c clientSink) stream(s *upstreamStream) {
	ex, rc := c.ex, c.ex.rc
	copyResponseHeaders(&rc.Response.Header, s.Header())
	setRouteHeaders(&rc.Response.Header, &ex.rec)
	setStreamHeaders(&rc.Response.Header)
	rc.Response.ImmediateHeaderFlush = true
	ex.hold()
	r := newRelay(s)
	if s.ping != nil {
		r.ping, r.pingEvery = s.ping, ex.g.cfg.Timeouts.Ping
	}
	rc.SetBodyStream(r, -1)
}

func (c clientSink) fail(err error) { c.ex.fail(err) }

// setStreamHeaders marks an answer as an SSE stream that no proxy may buffer.
func setStreamHeaders(h *fasthttp.ResponseHeader) {
	h.SetContentType("text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}
