package gateway

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/metering"
	"github.com/switchyard/switchyard/policies"
)

// cacheTimeout bounds one cache lookup or store on the request path (Redis included;
// the cache's own per-command timeouts are shorter).
const cacheTimeout = 250 * time.Millisecond

// routeRules merges a route's cache overrides into the gateway's defaults.
func routeRules(defaults cache.Rules, rc *policies.RouteCache) *cache.Rules {
	r := defaults
	if rc == nil {
		return &r
	}
	if rc.Disabled {
		r.Disabled = true
	}
	if rc.TTL > 0 {
		r.TTL = rc.TTL
	}
	if rc.AllowSampled != nil {
		r.AllowSampled = *rc.AllowSampled
	}
	if rc.AllowToolCalls != nil {
		r.AllowToolCalls = *rc.AllowToolCalls
	}
	if rc.Semantic != "" {
		r.Semantic = rc.Semantic
	}
	if rc.Threshold > 0 {
		r.Threshold = rc.Threshold
	}
	return &r
}

// lookupCache consults the cache for a routed request. It answers the client and returns
// served=true for a hit; otherwise it returns the lookup to store the answer with.
func (g *Gateway) lookupCache(ex *exchange, pl *plan, sel *selection, pr *provider.Request) (*cache.Hit, bool, error) {
	ctx, rec := ex.rc, &ex.rec
	if g.cache == nil || pr.Op == provider.OpModels {
		return nil, false, nil
	}
	ctl, err := cache.ParseControl(string(ctx.Request.Header.Peek(cache.HeaderName)),
		string(ctx.Request.Header.Peek("Cache-Control")), pr.Stream)
	if err != nil {
		return nil, false, apierr.BadRequest("invalid_cache_directive", "", err.Error())
	}
	rec.cacheOn = true
	span := rec.tr.span.Child(telemetry.SpanCache)
	defer span.End()
	scope := cacheScope(rec, sel.dec.Candidate.Model)
	c, cancel := context.WithTimeout(context.Background(), cacheTimeout)
	defer cancel()
	hit, err := g.cache.Lookup(c, cache.LookupRequest{Op: pr.Op, Scope: scope, Body: pr.Body, Stream: pr.Stream,
		IncludeUsage: pr.IncludeUsage, Control: ctl, Rules: pl.cacheRules[sel.routeIndex]})
	if err != nil || hit == nil {
		return nil, false, nil // the cache fails open
	}
	g.log.Debug("cache lookup", "request_id", string(ctx.Response.Header.Peek(headerRequestID)),
		"outcome", hit.Outcome.String(), "reason", hit.Reason)
	if hit.Refused != "" && hit.Shadow != nil {
		ctx.Response.Header.Set("X-Switchyard-Cache-Refused", hit.Refused)
		g.log.Debug("semantic cache candidate refused", "request_id", string(ctx.Response.Header.Peek(headerRequestID)),
			"guard", hit.Refused, "reason", hit.Shadow.Rejected, "similarity", hit.Shadow.Similarity, "matched", hit.Shadow.Key)
	}
	if hit.Shadow != nil && hit.Shadow.Rejected == "" {
		g.log.Info("semantic cache shadow hit", "request_id", string(ctx.Response.Header.Peek(headerRequestID)),
			"similarity", hit.Shadow.Similarity, "matched", hit.Shadow.Key)
	}
	switch hit.Outcome {
	case cache.Miss:
		rec.cache = metering.CacheMiss
	case cache.Exact, cache.Semantic:
		served := g.serveHit(ex, hit, pr)
		if served { // savings are labelled with the provider whose answer it was
			rec.kind = g.targets[sel.dec.Candidate.Provider].kind
		}
		return hit, served, nil
	}
	return hit, false, nil
}

// cacheScope is the scope a request's entries belong to: the gateway key, the feature,
// the model the route chose and the prompt version.
func cacheScope(rec *record, model string) cache.Scope {
	s := cache.Scope{Tenant: rec.principal.Key, Feature: rec.principal.Feature, Model: model}
	if rec.promptID != "" {
		s.PromptVersion = rec.promptID + "@" + rec.promptVersion
	}
	return s
}

// serveHit replays a cached answer, as SSE when the request streams and as JSON
// otherwise, and records it for metering at zero provider cost.
func (g *Gateway) serveHit(ex *exchange, hit *cache.Hit, pr *provider.Request) bool {
	ctx, rec := ex.rc, &ex.rec
	id := "chatcmpl-sy" + strings.TrimPrefix(string(ctx.Response.Header.Peek(headerRequestID)), "req_")
	if pr.Op == provider.OpEmbedding {
		id = ""
	}
	body, err := hit.Reply(cache.ReplayOptions{ID: id, Created: time.Now().Unix()})
	if err == nil && ex.tr != nil {
		body, err = replayInDialect(ex, body, pr.Stream)
	}
	if err != nil {
		return false // not replayable in this form: go upstream
	}
	rec.cache = metering.CacheHit
	if hit.Outcome == cache.Semantic {
		rec.cache = metering.CacheSemantic
		ctx.Response.Header.Set("X-Switchyard-Cache-Similarity", hit.SimilarityHeader())
	}
	rec.usage = hit.SavedUsage()
	rec.provider, rec.kind = "cache", ""
	rec.served, rec.upstream = hit.Entry.Model, hit.Entry.Model
	if m := jsonx.Get(hit.Entry.Body, "model").Str; m != "" {
		rec.served = m
	}
	rec.priceServed = rec.priceRequested
	rec.stream, rec.replayed = pr.Stream, true
	ctx.Response.Header.Set("X-Switchyard-Cache", hit.Header())
	setRouteHeaders(&ctx.Response.Header, rec)
	if pr.Stream {
		ctx.SetContentType("text/event-stream")
		ctx.Response.Header.Set("Cache-Control", "no-cache")
	} else {
		ctx.SetContentType("application/json")
	}
	ctx.SetBody(body)
	return true
}

// storeAnswer offers a completed answer to the cache; failures only log.
func (g *Gateway) storeAnswer(hit *cache.Hit, status int, body []byte, rid []byte) {
	if hit == nil || g.cache == nil {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), cacheTimeout)
	defer cancel()
	err := g.cache.Store(c, hit, cache.Response{Status: status, Body: body})
	switch {
	case errors.Is(err, cache.ErrNotStored):
		g.log.Debug("answer not cached", "request_id", string(rid), "reason", err.Error())
	case err != nil:
		g.log.Warn("cache store failed", "request_id", string(rid), "error", err.Error())
	}
}

// adminCache answers DELETE /admin/cache?tenant=&feature=&model=&prompt_version= by
// purging the matching entries on every replica. Any other query parameter is a 400, so
// a misspelt filter never purges everything.
func (g *Gateway) adminCache(ctx *fasthttp.RequestCtx) {
	if !g.adminRequest(ctx, "DELETE", "tenant", "feature", "model", "prompt_version") {
		return
	}
	if g.cache == nil {
		writeError(ctx, apierr.BadRequest("cache_disabled", "", "the cache is not enabled"))
		return
	}
	a := ctx.QueryArgs()
	f := cache.Scope{Tenant: string(a.Peek("tenant")), Feature: string(a.Peek("feature")),
		Model: string(a.Peek("model")), PromptVersion: string(a.Peek("prompt_version"))}
	n, err := g.cache.Purge(context.Background(), f)
	if err != nil {
		writeError(ctx, apierr.Unavailable("cache_unavailable", err.Error()))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"purged":` + strconv.Itoa(n) + `}`)
}
