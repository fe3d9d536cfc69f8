package gateway

import (
	"math/rand/v2"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/policies"
	"github.com/switchyard/switchyard/router"
)

// selection is one request's routing state across its attempts.
type selection struct {
	routeIndex int  // the policy route's index
	idempotent bool // the route allows retrying a request that may have reached the upstream
	route      *router.Route
	cands      []*router.Candidate
	req        router.Request
	dec        router.Decision
	tried      []*router.Candidate
}

// route matches the request to a policy route and picks the first deployment.
func (g *Gateway) route(ctx *fasthttp.RequestCtx, pl *plan, pr *provider.Request, f *fields, rec *record) (*selection, error) {
	body := pr.Body
	attrs := policies.Attributes{
		Feature: rec.principal.Feature, Team: rec.principal.Team, Key: rec.principal.Key, Model: pr.ClientModel,
		Header:       func(name string) string { return string(ctx.Request.Header.Peek(name)) },
		Metadata:     func(k string) string { return f.metadata.Get(k).String() },
		PromptTokens: estimateTokens(body),
		HasTools:     f.hasTools,
		HasImages:    f.hasImages,
		API:          rec.dialect,
	}
	cr := pl.snap.Match(&attrs)
	sel := &selection{routeIndex: cr.Index, idempotent: cr.Idempotent}
	rec.user = f.user
	rec.priceRequested = pr.ClientModel
	if m, ok := pl.snap.Model(pr.ClientModel); ok && m.Name != policies.Wildcard {
		up := ""
		if len(m.Deployments) > 0 {
			up = m.Deployments[0].Model
		}
		rec.priceRequested = g.meter.priceModel(m.Name, up, time.Now())
	}
	if cr.Requested {
		m, ok := pl.snap.Model(pr.ClientModel)
		if !ok {
			return nil, apierr.UnknownModel(pr.ClientModel)
		}
		sel.route = pl.byModel[m.Name]
	} else {
		sel.route = pl.routes[cr.Index]
	}
	sel.cands = sel.route.Candidates
	sel.req = router.Request{
		PromptTokens: attrs.PromptTokens, HasTools: attrs.HasTools, HasImages: attrs.HasImages,
		MaxTokens: f.maxTokens, Rand: rand.Float64,
	}
	switch cr.Sticky {
	case "user":
		sel.req.StickyKey = f.user
		if sel.req.StickyKey == "" {
			sel.req.StickyKey = rec.principal.Key
		}
	case "session":
		sel.req.StickyKey = string(ctx.Request.Header.Peek("X-Switchyard-Session"))
		if sel.req.StickyKey == "" {
			sel.req.StickyKey = f.metadata.Get("session_id").String()
		}
	}
	if sel.route.Strategy == "complexity" {
		sel.req.Score = router.Score(body, attrs.PromptTokens, string(ctx.Request.Header.Peek("X-Switchyard-Complexity")), router.ScoreWeights{})
	}
	dec, ok := g.router.First(sel.route, &sel.req, sel.cands)
	if !ok {
		return nil, apierr.Unavailable("no_deployment", "no deployment serves model "+pr.ClientModel)
	}
	// The strategy is the one that chose (dec.Strategy, the router route's): a route that
	// sends the requested model splits among that model's deployments by weight, whatever
	// strategy the policy route names, and the log line's strategy and reason must agree.
	dec.Route = cr.Name
	sel.dec = dec
	rec.route, rec.strategy, rec.policy, rec.tier = cr.Name, dec.Strategy, pl.snap.Version, dec.Tier
	return sel, nil
}

// estimateTokens is the quick prompt-size estimate used for matching and routing until
// the metering tokenizer is wired: about four bytes of JSON per token.
func estimateTokens(body []byte) int { return len(body) / 4 }
