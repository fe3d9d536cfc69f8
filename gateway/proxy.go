package gateway

import (
	"bytes"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/metering"
	"github.com/switchyard/switchyard/router"
)

// record is what one request did: the request log's fields and the cost event's.
type record struct {
	op         provider.Op
	principal  Principal
	model      string // as the client asked
	served     string // the logical model that served
	upstream   string // the provider's model name
	provider   string
	deployment string
	route      string
	strategy   string
	reason     string
	policy     string // policy version
	tier       string
	attempts   int
	status     int
	stream     bool
	usage      provider.Usage
	errCode    string
	user       string
	// priceRequested and priceServed are the model ids the price catalogue is asked for.
	priceRequested, priceServed string
	cost, savings               metering.Money
	unpriced                    bool
	tokens                      int64                 // metered total, for settling limits
	promptTokens                int64                 // tokenizer estimate, when computed
	reservation                 *metering.Reservation // held against rate limits
	promptID, promptVersion     string
	prompt                      *usedPrompt
	body                        []byte // the rendered body, when a prompt replaced the client's
	kind                        string // the serving provider's kind
	cache                       metering.CacheOutcome
	tr                          traced
	hit                         *cache.Hit // the cache lookup, to store the answer with
	coalescedLeader             bool       // a headless run meters this request
}

var outboundPool = sync.Pool{New: func() any { return &provider.Outbound{Header: make([]provider.Header, 0, 4)} }}

// proxy runs the request path for one OpenAI operation: check, authenticate, parse the
// few fields needed (without re-encoding the body), route, then call the upstream and
// relay the answer, retrying or falling back while nothing has reached the client.
func (g *Gateway) proxy(ctx *fasthttp.RequestCtx, op provider.Op) (rec record) {
	rec.op = op
	defer func() {
		if rec.status == 0 {
			rec.status = ctx.Response.StatusCode()
		}
	}()
	if !requireMethod(ctx, "POST") {
		return rec
	}
	rec.cache = metering.CacheNone
	g.startTrace(ctx, op, ctx.Response.Header.Peek(headerRequestID), &rec)
	pr, f, err := g.admit(ctx, op, &rec)
	inheritPrompt(ctx, &rec)
	if err == nil && wantsPrompt(ctx, op, &f) {
		if err = g.renderPrompt(ctx, &f, &rec, &pr.Body); err == nil {
			pr.ClientModel, pr.Stream, pr.IncludeUsage = f.model, f.stream, f.stream && f.includeUsage
		}
	}
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	span := rec.tr.span.Child(telemetry.SpanPolicy)
	pl := g.plan.Load()
	sel, err := g.route(ctx, pl, &pr, &f, &rec)
	span.End()
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	if wantsDeferral(ctx) {
		if err := g.deferRequest(ctx, pl, sel, &pr, &rec); err != nil {
			rec.errCode = writeError(ctx, err).Code
		}
		rec.provider = "" // metered when the job finishes, not now
		return rec
	}
	if g.limits != nil {
		if err := g.reserve(ctx, &rec, pr.Body, f.maxTokens); err != nil {
			rec.errCode = writeError(ctx, err).Code
			return rec
		}
	}
	hit, served, err := g.lookupCache(ctx, pl, sel, &pr, &rec)
	if err != nil {
		rec.errCode = writeError(ctx, err).Code
		return rec
	}
	if served {
		return rec
	}
	rec.hit = hit
	if key := g.coalesceKey(ctx, pl, sel, &pr, &f, &rec); key != "" {
		g.coalesce(ctx, op, key, &rec)
		return rec
	}
	for {
		c := sel.dec.Candidate
		rec.attempts = sel.dec.Attempt
		rec.served, rec.provider, rec.deployment, rec.reason = c.Model, c.Provider, c.ID, sel.dec.Reason
		pr.Model = c.UpstreamModel
		if pr.Model == "" {
			pr.Model, rec.served = pr.ClientModel, pr.ClientModel
		}
		rec.upstream, rec.kind = pr.Model, g.targets[c.Provider].kind
		rec.priceServed = g.meter.priceModel(rec.served, pr.Model, time.Now())
		res := g.attempt(ctx, &rec, g.targets[c.Provider], &pr, c)
		if res.err == nil {
			return rec
		}
		sel.tried = append(sel.tried, c)
		next, wait, ok := router.Decision{}, time.Duration(0), false
		if res.class != 0 {
			next, wait, ok = g.router.Next(sel.route, &sel.req, sel.cands, sel.dec, sel.tried, res.class, res.retryAfter)
		}
		if !ok {
			rec.errCode = writeError(ctx, res.err).Code
			return rec
		}
		if next.Candidate == c {
			rec.tr.retries++
		} else {
			rec.tr.falls++
		}
		sel.dec = next
		if wait > 0 {
			time.Sleep(wait)
		}
	}
}

// admit validates the request and reads the fields the gateway needs.
func (g *Gateway) admit(ctx *fasthttp.RequestCtx, op provider.Op, rec *record) (provider.Request, fields, error) {
	if ct := ctx.Request.Header.ContentType(); !isJSON(ct) {
		return provider.Request{}, fields{}, apierr.UnsupportedMediaType(string(ct))
	}
	p, err := g.keys.authenticate(ctx)
	if err != nil {
		return provider.Request{}, fields{}, err
	}
	rec.principal = p
	pr, f, err := parseRequest(ctx, op, rec)
	if err == nil {
		applyMetadataAttribution(ctx, &f, &rec.principal)
	}
	return pr, f, err
}

// parseRequest reads the few fields the gateway needs from the body, without decoding it.
func parseRequest(ctx *fasthttp.RequestCtx, op provider.Op, rec *record) (provider.Request, fields, error) {
	body := ctx.PostBody()
	if !isObject(body) {
		return provider.Request{}, fields{}, apierr.InvalidJSON()
	}
	f, err := readFields(body)
	if err != nil {
		return provider.Request{}, f, err
	}
	if f.model == "" && !wantsPrompt(ctx, op, &f) {
		return provider.Request{}, f, apierr.MissingParam("model")
	}
	rec.model = f.model
	pr := provider.Request{Op: op, Body: body, ClientModel: f.model}
	if op != provider.OpEmbedding {
		pr.Stream = f.stream
		pr.IncludeUsage = f.stream && f.includeUsage
	}
	return pr, f, nil
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
	fillRequest(req, out)
	for _, k := range forwardedRequestHeaders {
		if v := ctx.Request.Header.Peek(k); len(v) > 0 {
			req.Header.SetBytesV(k, v)
		}
	}
	req.Header.SetBytesV(headerRequestID, ctx.Response.Header.Peek(headerRequestID))
}

// userAgent is what the gateway calls itself upstream.
var userAgent = "switchyard/" + Version

// fillRequest writes a translator's output into req: method, URL, body and headers.
func fillRequest(req *fasthttp.Request, out *provider.Outbound) {
	req.Header.SetMethod(out.Method)
	req.SetRequestURI(out.URL)
	if out.Method != "GET" {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(out.Body)
	}
	req.Header.Set("User-Agent", userAgent)
	for _, h := range out.Header {
		req.Header.Set(h.Key, h.Value)
	}
}

// upstreamAnswer is a complete upstream answer read outside a client's request.
type upstreamAnswer struct {
	status     int
	body       []byte // a copy
	retryAfter string
}

// callTarget encodes pr for t and makes one non-streamed call outside the proxy path
// (batched embeddings, deferred requests). err is a transport failure; an HTTP error
// status is an answer.
func (g *Gateway) callTarget(t *target, pr *provider.Request) (upstreamAnswer, error) {
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := t.tr.Encode(pr, out); err != nil {
		return upstreamAnswer{}, err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	fillRequest(req, out)
	err := t.client.Do(req, resp, g.nonStreamTimeout())
	fasthttp.ReleaseRequest(req)
	if err != nil {
		return upstreamAnswer{}, err
	}
	return upstreamAnswer{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...),
		retryAfter: string(resp.Header.Peek("Retry-After"))}, nil
}

// writeAnswer sends a successful (2xx) complete upstream answer to the client, translated.
func (g *Gateway) writeAnswer(ctx *fasthttp.RequestCtx, rec *record, t *target, pr *provider.Request, resp *fasthttp.Response) error {
	body, usage, err := t.tr.Decode(pr, resp.Body(), nil)
	if err != nil {
		return err
	}
	rec.usage = usage
	rec.tr.span.SetResponseBody(body)
	g.storeAnswer(rec.hit, resp.StatusCode(), body, ctx.Response.Header.Peek(headerRequestID))
	copyResponseHeaders(&ctx.Response.Header, &resp.Header)
	g.setRouteHeaders(ctx, rec)
	ctx.SetStatusCode(resp.StatusCode())
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	return nil
}

// setRouteHeaders stamps what served the request.
func (g *Gateway) setRouteHeaders(ctx *fasthttp.RequestCtx, rec *record) {
	ctx.Response.Header.Set("X-Switchyard-Route", rec.route)
	ctx.Response.Header.Set("X-Switchyard-Model", rec.served)
	ctx.Response.Header.Set("X-Switchyard-Deployment", rec.deployment)
	ctx.Response.Header.Set("X-Switchyard-Policy", rec.policy)
	if rec.promptID != "" {
		ctx.Response.Header.Set("X-Switchyard-Prompt", rec.promptID+"@"+rec.promptVersion)
	}
	if rec.cache == metering.CacheMiss {
		ctx.Response.Header.Set("X-Switchyard-Cache", "miss")
	}
}

// setCostHeaders reports what a non-streamed answer cost, in USD, once it is priced (the
// response is written after the handler returns). A streamed answer's headers are gone
// before its cost is known; its cost is in the ledger and the trace.
func setCostHeaders(ctx *fasthttp.RequestCtx, rec *record) {
	if rec.provider == "" || rec.unpriced || rec.stream {
		return
	}
	ctx.Response.Header.Set("X-Switchyard-Cost-Usd", rec.cost.String())
	if rec.savings != 0 {
		ctx.Response.Header.Set("X-Switchyard-Savings-Usd", rec.savings.String())
	}
}

// finish meters a request that has ended, settles its rate-limit reservation and reports
// its outcome to the prompt rollback guard. body is the request body when still valid.
func (g *Gateway) finish(rec *record, rid string, start time.Time, latency, ttft time.Duration, us usageState, body []byte) {
	if rec.coalescedLeader { // its headless run records the cost event, the span and the metrics
		return
	}
	if rec.body != nil {
		body = rec.body
	}
	span := rec.tr.span.Child(telemetry.SpanLedger)
	ev := g.meter.event(rec, rid, start, latency, ttft, us, body)
	span.End()
	g.settle(rec)
	observePrompt(rec)
	g.endTrace(rec, ev, start, ttft)
}
