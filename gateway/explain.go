package gateway

import (
	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/router"
)

// Explanation is a routing decision made without calling any upstream.
type Explanation struct {
	PolicyVersion string          `json:"policy_version"`
	Route         string          `json:"route"`
	Strategy      string          `json:"strategy"`
	Principal     Principal       `json:"principal"`
	PromptTokens  int             `json:"prompt_tokens_estimate"`
	Score         float64         `json:"complexity_score,omitempty"`
	Tier          string          `json:"tier,omitempty"`
	Candidates    []ExplainTarget `json:"candidates"`
	Chosen        ExplainTarget   `json:"chosen"`
	Reason        string          `json:"reason"`
	Fallbacks     []string        `json:"fallbacks,omitempty"`
}

// ExplainTarget is one deployment as the router saw it.
type ExplainTarget struct {
	Model         string  `json:"model"`
	Deployment    string  `json:"deployment"`
	Provider      string  `json:"provider"`
	UpstreamModel string  `json:"upstream_model"`
	Weight        float64 `json:"weight"`
	Available     bool    `json:"available"`
}

// Explain routes a request body as the proxy would, with the given request headers and
// gateway key name (empty: anonymous, or no keys), and reports the decision. Nothing is
// sent upstream.
func (g *Gateway) Explain(body []byte, headers map[string]string, keyName string) (*Explanation, error) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.Header.SetContentType("application/json")
	for k, v := range headers {
		ctx.Request.Header.Set(k, v)
	}
	ctx.Request.SetBody(body)
	var rec record
	pr, f, err := g.admitExplain(&ctx, keyName, &rec)
	if err != nil {
		return nil, err
	}
	pl := g.plan.Load()
	sel, err := g.route(&ctx, pl, &pr, &f, &rec)
	if err != nil {
		return nil, err
	}
	ex := &Explanation{PolicyVersion: pl.snap.Version, Route: rec.route, Strategy: rec.strategy, Principal: rec.principal,
		PromptTokens: sel.req.PromptTokens, Score: sel.req.Score, Tier: sel.dec.Tier, Reason: sel.dec.Reason,
		Chosen: explainTarget(sel.dec.Candidate)}
	for _, c := range sel.cands {
		ex.Candidates = append(ex.Candidates, explainTarget(c))
	}
	for _, fb := range sel.route.Fallbacks {
		for _, c := range fb.Candidates {
			ex.Fallbacks = append(ex.Fallbacks, c.Model+" ("+c.ID+")")
		}
	}
	return ex, nil
}

func explainTarget(c *router.Candidate) ExplainTarget {
	return ExplainTarget{Model: c.Model, Deployment: c.ID, Provider: c.Provider, UpstreamModel: c.UpstreamModel,
		Weight: c.Weight, Available: c.Health.Available()}
}

// admitExplain is admit with the principal taken from a key name instead of a secret.
func (g *Gateway) admitExplain(ctx *fasthttp.RequestCtx, keyName string, rec *record) (provider.Request, fields, error) {
	p := Principal{Key: "anonymous", Team: "default", Feature: "default"}
	allowHeaders := true
	if keyName != "" {
		found := false
		for _, k := range g.cfg.Keys {
			if k.Name == keyName {
				p, allowHeaders, found = Principal{Key: k.Name, Team: k.Team, Feature: k.Feature}, k.AllowAttributionHeaders, true
			}
		}
		if !found {
			return provider.Request{}, fields{}, apierr.BadRequest("unknown_key", "key", "no gateway key named "+keyName)
		}
	}
	if allowHeaders {
		applyAttributionHeaders(ctx, &p)
	}
	rec.principal = p
	return parseRequest(ctx, provider.OpChat, rec, g.cfg.Limits.MaxJSONDepth)
}
