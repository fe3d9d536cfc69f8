package gateway

import (
	"bytes"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// record is what one request did: the request log's fields and, later, the cost event's.
type record struct {
	op        provider.Op
	principal Principal
	model     string // as the client asked
	served    string // the upstream model name
	provider  string
	status    int
	stream    bool
	usage     provider.Usage
	errCode   string
}

var outboundPool = sync.Pool{New: func() any { return &provider.Outbound{Header: make([]provider.Header, 0, 4)} }}

// proxy runs the request path for one OpenAI operation: check, authenticate, parse the
// few fields needed (without re-encoding the body), resolve the model, translate, call
// the upstream and relay the answer.
func (g *Gateway) proxy(ctx *fasthttp.RequestCtx, op provider.Op) (rec record) {
	rec.op = op
	defer func() { rec.status = ctx.Response.StatusCode() }()
	if !requireMethod(ctx, "POST") {
		return rec
	}
	pr, route, err := g.admit(ctx, op, &rec)
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	t := route.target
	rec.provider, rec.served = t.name, pr.Model
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := t.tr.Encode(&pr, out); err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	req := fasthttp.AcquireRequest()
	buildUpstreamRequest(ctx, req, out)
	resp := fasthttp.AcquireResponse()
	if pr.Stream {
		rec.stream = g.openStream(ctx, &rec, t, &pr, req, resp)
		return rec
	}
	defer fasthttp.ReleaseResponse(resp)
	err = t.client.Do(req, resp, g.cfg.Timeouts.Request)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	g.writeAnswer(ctx, &rec, t, &pr, resp)
	return rec
}

// admit validates the request and resolves its model. It returns the translator's view
// of the request and the model route.
func (g *Gateway) admit(ctx *fasthttp.RequestCtx, op provider.Op, rec *record) (provider.Request, *modelRoute, error) {
	var pr provider.Request
	if ct := ctx.Request.Header.ContentType(); !isJSON(ct) {
		return pr, nil, apierr.UnsupportedMediaType(string(ct))
	}
	p, err := g.keys.authenticate(ctx)
	if err != nil {
		return pr, nil, err
	}
	rec.principal = p
	body := ctx.PostBody()
	if !isObject(body) {
		return pr, nil, apierr.InvalidJSON()
	}
	m := jsonx.Get(body, "model")
	if m.Type != jsonx.String || m.Str == "" {
		return pr, nil, apierr.MissingParam("model")
	}
	rec.model = m.Str
	route, upstreamModel, ok := g.models.resolve(m.Str)
	if !ok {
		return pr, nil, apierr.UnknownModel(m.Str)
	}
	pr = provider.Request{Op: op, Body: body, Model: upstreamModel, ClientModel: m.Str}
	if op != provider.OpEmbedding {
		pr.Stream = jsonx.Get(body, "stream").Bool()
		if pr.Stream {
			pr.IncludeUsage = jsonx.Get(body, "stream_options.include_usage").Bool()
		}
	}
	return pr, route, nil
}

// isJSON accepts application/json with optional parameters (charset).
func isJSON(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), []byte("application/json"))
}

// isObject reports whether body is one valid JSON object.
func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && jsonx.Valid(body)
}

// buildUpstreamRequest fills req from the translator's output and the few client
// headers that are forwarded.
func buildUpstreamRequest(ctx *fasthttp.RequestCtx, req *fasthttp.Request, out *provider.Outbound) {
	req.Header.SetMethod(out.Method)
	req.SetRequestURI(out.URL)
	if out.Method != "GET" {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(out.Body)
	}
	req.Header.Set("User-Agent", "switchyard/"+Version)
	for _, h := range out.Header {
		req.Header.Set(h.Key, h.Value)
	}
	for _, k := range forwardedRequestHeaders {
		if v := ctx.Request.Header.Peek(k); len(v) > 0 {
			req.Header.SetBytesV(k, v)
		}
	}
	req.Header.SetBytesV(headerRequestID, ctx.Response.Header.Peek(headerRequestID))
}

// writeAnswer sends a complete (non-streamed) upstream answer to the client, translated.
func (g *Gateway) writeAnswer(ctx *fasthttp.RequestCtx, rec *record, t *target, pr *provider.Request, resp *fasthttp.Response) {
	status := resp.StatusCode()
	if status >= 300 {
		e := t.tr.DecodeError(status, resp.Body(), string(resp.Header.Peek("Retry-After")))
		rec.errCode = writeError(ctx, e).Code
		return
	}
	body, usage, err := t.tr.Decode(pr, resp.Body(), nil)
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return
	}
	rec.usage = usage
	copyResponseHeaders(&ctx.Response.Header, &resp.Header)
	g.setRouteHeaders(ctx, rec)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// setRouteHeaders stamps what served the request.
func (g *Gateway) setRouteHeaders(ctx *fasthttp.RequestCtx, rec *record) {
	ctx.Response.Header.Set("X-Switchyard-Route", rec.provider)
	ctx.Response.Header.Set("X-Switchyard-Model", rec.served)
}
