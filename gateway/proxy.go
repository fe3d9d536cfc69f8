package gateway

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/upstream"
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
	outputTokens                int64                 // metered output tokens, for the per-route output average
	measured                    bool                  // a successful answer with usage the provider reported
	cacheOn                     bool                  // the cache was consulted: the answer says x-switchyard-cache
	promptTokens                int64                 // tokenizer estimate, when computed
	reservation                 *metering.Reservation // held against rate limits
	promptID, promptVersion     string
	prompt                      *usedPrompt
	body                        []byte // the rendered body, when a prompt replaced the client's
	kind                        string // the serving provider's kind
	cache                       metering.CacheOutcome
	tr                          traced
	hit                         *cache.Hit // the cache lookup, to store the answer with
	replayed                    bool       // answered whole from the cache (streamed or not)
	dialect                     string     // the inbound API: chat, responses or messages
}

var outboundPool = sync.Pool{New: func() any { return &provider.Outbound{Header: make([]provider.Header, 0, 4)} }}

// proxy runs the request path for one OpenAI operation, stage by stage: check,
// authenticate, parse the few fields needed (without re-encoding the body), render a
// pinned prompt, route, admit against limits, look up the cache, then either join an
// identical request in flight or call the upstream itself.
func (g *Gateway) proxy(ex *exchange) {
	rc, rec := ex.rc, &ex.rec
	if !requireMethod(rc, "POST") {
		return
	}
	rec.cache = metering.CacheNone
	rec.dialect = ex.api.String()
	g.startTrace(ex)
	pr, f, err := g.admit(rc, rec.op, rec)
	if err == nil && ex.api != apiChat {
		err = g.admitDialect(ex, &pr, &f)
	}
	if err == nil && ex.api == apiChat && wantsPrompt(rc, rec.op, &f) {
		if err = g.renderPrompt(rc, &f, rec, &pr.Body); err == nil {
			pr.ClientModel, pr.Stream, pr.IncludeUsage = f.model, f.stream, f.stream && f.includeUsage
		}
	}
	if err == nil && pr.Stream && !rc.Request.Header.IsHTTP11() {
		err = apierr.BadRequest("stream_needs_http11", "stream",
			"streaming needs HTTP/1.1 (an HTTP/1.0 client cannot read a chunked stream); send the request over HTTP/1.1 or without stream")
	}
	if err != nil {
		ex.fail(err)
		return
	}
	span := rec.tr.span.Child(telemetry.SpanPolicy)
	pl := g.plan.Load()
	sel, err := g.route(rc, pl, &pr, &f, rec)
	span.End()
	if err != nil {
		ex.fail(err)
		return
	}
	if wantsDeferral(rc) && ex.api == apiChat {
		if err := g.deferRequest(rc, pl, sel, &pr, rec); err != nil {
			ex.fail(err)
		}
		rec.provider = "" // metered when the job finishes, not now
		return
	}
	if g.limits != nil {
		if err := g.reserve(rc, rec, pr.Body, f.maxTokens); err != nil {
			ex.fail(err)
			return
		}
	}
	if cpr, ok, err := g.cacheable(ex, sel, &pr); err != nil {
		ex.fail(err)
		return
	} else if ok {
		hit, served, err := g.lookupCache(ex, pl, sel, cpr)
		if err != nil {
			ex.fail(err)
			return
		}
		if served {
			return
		}
		rec.hit = hit
	}
	if key := g.coalesceKey(pl, sel, &pr, &f, rec, ex.api); key != "" {
		g.coalesce(ex, key, sel, &pr)
		return
	}
	g.run(ex, ex.ctx, sel, &pr, clientSink{ex})
}

// run is the attempt loop: it calls the chosen deployment and, while nothing has reached
// the answer's sink, retries or falls back as the policy allows. ctx cancels the upstream
// call: the client's own, or a flight's when coalesced. The answer (or the last error)
// goes to out.
func (g *Gateway) run(ex *exchange, ctx context.Context, sel *selection, pr *provider.Request, out sink) {
	rec := &ex.rec
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
		t := g.targets[c.Provider]
		apr, aout, err := g.forTarget(ex, t, pr, out)
		if err != nil {
			out.fail(err)
			return
		}
		res := g.attempt(ex, ctx, t, apr, c, aout)
		if res.err == nil {
			return
		}
		sel.tried = append(sel.tried, c)
		next, wait, ok := router.Decision{}, time.Duration(0), false
		retriable := res.class != 0 && ctx.Err() == nil && (!res.broken || sel.idempotent)
		if retriable {
			next, wait, ok = g.router.Next(sel.route, &sel.req, sel.cands, sel.dec, sel.tried, res.class, res.retryAfter)
		}
		if !ok {
			out.fail(res.err)
			return
		}
		if next.Candidate == c {
			rec.tr.retries++
		} else {
			rec.tr.falls++
		}
		sel.dec = next
		if err := g.sleep(ctx, wait); err != nil {
			out.fail(err)
			return
		}
	}
}

// sleep waits d before a retry, unless ctx ends or the gateway is cutting requests at
// its shutdown deadline first.
func (g *Gateway) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &upstream.Error{Kind: upstream.KindAborted, Err: context.Cause(ctx)}
	case <-g.cutting:
		return errShutdown
	}
}

// admit validates the request and reads the fields the gateway needs.
func (g *Gateway) admit(ctx *fasthttp.RequestCtx, op provider.Op, rec *record) (provider.Request, fields, error) {
	if ct := ctx.Request.Header.ContentType(); !isJSON(ct) {
		return provider.Request{}, fields{}, apierr.UnsupportedMediaType(string(ct))
	}
	p, err := g.keyring().authenticate(ctx)
	if err != nil {
		return provider.Request{}, fields{}, err
	}
	rec.principal = p
	pr, f, err := parseRequest(ctx, op, rec, g.cfg.Limits.MaxJSONDepth)
	if err == nil {
		applyMetadataAttribution(ctx, &f, &rec.principal)
	}
	return pr, f, err
}

// parseRequest reads the few fields the gateway needs from the body, without decoding it.
func parseRequest(ctx *fasthttp.RequestCtx, op provider.Op, rec *record, maxDepth int) (provider.Request, fields, error) {
	body := ctx.PostBody()
	if err := jsonx.ValidObject(body, maxDepth); err != nil {
		return provider.Request{}, fields{}, apierr.InvalidJSONBody(err)
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

// buildUpstreamRequest fills req from the translator's output and the few client
// headers that are forwarded (copied at the edge, so a flight's producer can build its
// request after the leader's handler returned).
func buildUpstreamRequest(ex *exchange, req *fasthttp.Request, out *provider.Outbound) {
	fillRequest(req, out)
	for _, h := range ex.fwd {
		if len(req.Header.Peek(h.Key)) == 0 { // what the translator set wins (a joined anthropic-beta)
			req.Header.Set(h.Key, h.Value)
		}
	}
	req.Header.Set(headerRequestID, ex.id)
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
	// Metering reads usage off the answer, so ask for it uncompressed (a compressed
	// answer is still decoded: see deliver).
	req.Header.Set("Accept-Encoding", "identity")
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
func (g *Gateway) callTarget(ctx context.Context, t *target, pr *provider.Request) (upstreamAnswer, error) {
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := t.tr.Encode(pr, out); err != nil {
		return upstreamAnswer{}, err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	fillRequest(req, out)
	err := t.client.Do(ctx, req, resp, g.nonStreamTimeout())
	fasthttp.ReleaseRequest(req)
	if err != nil {
		return upstreamAnswer{}, err
	}
	return upstreamAnswer{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...),
		retryAfter: string(resp.Header.Peek("Retry-After"))}, nil
}

// setRouteHeaders stamps what served the request. Values that came from the client (a
// model name passed through) are echoed only when they are short and printable.
func setRouteHeaders(h *fasthttp.ResponseHeader, rec *record) {
	setSafe(h, "X-Switchyard-Route", rec.route)
	setSafe(h, "X-Switchyard-Model", rec.served)
	setSafe(h, "X-Switchyard-Deployment", rec.deployment)
	setSafe(h, "X-Switchyard-Policy", rec.policy)
	if rec.promptID != "" {
		setSafe(h, "X-Switchyard-Prompt", rec.promptID+"@"+rec.promptVersion)
	}
	if rec.cache == metering.CacheMiss || (rec.cacheOn && rec.cache == metering.CacheNone) {
		h.Set("X-Switchyard-Cache", "miss")
	}
}

// setCostHeaders reports what a non-streamed answer cost, in USD, once it is priced (the
// response is written after the handler returns). A streamed answer's headers are gone
// before its cost is known; its cost is in the ledger and the trace.
func setCostHeaders(ctx *fasthttp.RequestCtx, rec *record) {
	if rec.provider == "" || rec.unpriced || (rec.stream && !rec.replayed) {
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

// maxEchoedHeader is the longest value the gateway echoes in a response header.
const maxEchoedHeader = 256

// setSafe sets header k to v when v is at most maxEchoedHeader bytes of printable ASCII,
// and leaves it out otherwise: a control byte or a huge value would make HTTP clients
// reject the whole answer.
func setSafe(h *fasthttp.ResponseHeader, k, v string) {
	if v == "" || len(v) > maxEchoedHeader {
		return
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return
		}
	}
	h.Set(k, v)
}
