package gateway

import (
	"fmt"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/policies"
	"github.com/switchyard/switchyard/router"
)

// plan is what one policy snapshot compiles to for the gateway: the snapshot for
// matching, and the router's view of every route with live health. It is immutable;
// a reload builds a new plan and swaps the pointer, and a request keeps the plan it
// started with.
type plan struct {
	snap *policies.Snapshot
	// routes by CRoute.Index; nil for routes that send to the requested model.
	routes []*router.Route
	// byModel holds, per model name (the wildcard included), the route that sends to that
	// model's deployments with its fallback chain, for "$requested" routes.
	byModel map[string]*router.Route
	// names lists the public model names and aliases, sorted, for /v1/models.
	names []string
	// cacheRules are each route's cache rules (by CRoute.Index): the defaults with the
	// route's overrides.
	cacheRules []*cache.Rules
}

// healthRegistry keeps each deployment's health across plans, by deployment id, so a
// reload does not forget that a deployment is failing. Only plan building locks it.
type healthRegistry struct {
	mu       sync.Mutex
	byID     map[string]*router.Health
	provider map[string]string // deployment id -> provider name, for metrics
}

func (r *healthRegistry) get(id, provider string, cfg router.HealthConfig) *router.Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID, r.provider = map[string]*router.Health{}, map[string]string{}
	}
	r.provider[id] = provider
	h, ok := r.byID[id]
	if !ok {
		h = router.NewHealth(cfg)
		r.byID[id] = h
	} else {
		h.SetConfig(cfg)
	}
	return h
}

// buildPlan compiles a snapshot's routes for the router. targets are the configured
// providers; a deployment naming another is an error (the snapshot is rejected).
func buildPlan(snap *policies.Snapshot, targets map[string]*target, reg *healthRegistry, cacheDefaults cache.Rules) (*plan, error) {
	hc := router.HealthConfig{
		FailureThreshold: snap.Health.FailureThreshold, ErrorRate: snap.Health.ErrorRate,
		MinRequests: snap.Health.MinRequests, Window: snap.Health.Window,
		Cooldown: snap.Health.Cooldown, HalfOpenProbes: snap.Health.HalfOpenProbes,
	}
	backoff := router.BackoffConfig{Base: snap.Retry.BackoffBase, Max: snap.Retry.BackoffMax}.WithDefaults()
	maxAttempts := snap.Retry.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	p := &plan{snap: snap, routes: make([]*router.Route, len(snap.Routes)), byModel: map[string]*router.Route{}}
	for _, cr := range snap.Routes {
		p.cacheRules = append(p.cacheRules, routeRules(cacheDefaults, cr.Cache))
	}
	cands := map[string][]*router.Candidate{}
	for name, m := range snap.Models {
		if name != m.Name {
			p.names = append(p.names, name) // an alias
			continue
		}
		if name != policies.Wildcard {
			p.names = append(p.names, name)
		}
		for _, d := range m.Deployments {
			if _, ok := targets[d.Provider]; !ok {
				return nil, fmt.Errorf("%s:%d: model %q: unknown provider %q", d.File, d.Line, name, d.Provider)
			}
			upstream := d.Model
			if upstream == "" && name != policies.Wildcard {
				upstream = name
			}
			cands[name] = append(cands[name], &router.Candidate{
				Model: name, ID: d.Name, Provider: d.Provider, UpstreamModel: upstream,
				Weight: policies.DeploymentWeight(d), Tier: m.Tier, ContextWindow: m.ContextWindow,
				NoTools: !m.SupportsTools(), NoImages: !m.SupportsImages(),
				InputPrice: m.InputPrice, OutputPrice: m.OutputPrice, Health: reg.get(d.Name, d.Provider, hc),
			})
		}
	}
	sort.Strings(p.names)
	modelFallbacks := func(models []string) []router.Fallback {
		var out []router.Fallback
		for _, m := range models {
			if fb := snap.Models[m].Fallback; len(fb) > 0 {
				out = append(out, router.Fallback{On: retryable, Candidates: flatten(cands, fb)})
			}
		}
		return out
	}
	for name, m := range snap.Models {
		if name == m.Name {
			p.byModel[name] = &router.Route{Strategy: "weighted", Selector: router.Weighted{}, Candidates: cands[name],
				Requested: true, Fallbacks: modelFallbacks([]string{name}), MaxAttempts: maxAttempts, Backoff: backoff}
		}
	}
	for _, cr := range snap.Routes {
		if cr.Requested {
			continue
		}
		rr := &router.Route{Name: cr.Name, Strategy: cr.Strategy, MaxAttempts: maxAttempts, Backoff: backoff}
		if cr.MaxAttempts > 0 {
			rr.MaxAttempts = cr.MaxAttempts
		}
		var models []string
		for _, t := range cr.Targets {
			models = append(models, t.Model)
			for _, c := range cands[snap.Models[t.Model].Name] {
				cc := *c // the route's weight applies to the model, split by deployment weight
				cc.Weight = t.Weight * c.Weight / modelWeight(cands[c.Model])
				cc.Health = c.Health
				rr.Candidates = append(rr.Candidates, &cc)
			}
		}
		for _, fb := range cr.Fallbacks {
			on, err := router.ParseClasses(fb.On)
			if err != nil {
				return nil, err
			}
			rr.Fallbacks = append(rr.Fallbacks, router.Fallback{On: on, Candidates: flatten(cands, canonical(snap, fb.To))})
		}
		rr.Fallbacks = append(rr.Fallbacks, modelFallbacks(canonical(snap, models))...)
		rr.Selector = selectorFor(cr)
		p.routes[cr.Index] = rr
	}
	return p, nil
}

var retryable = mustClasses("connect", "timeout", "rate_limit", "server_error")

func mustClasses(names ...string) router.ClassSet {
	s, err := router.ParseClasses(names)
	if err != nil {
		panic(err)
	}
	return s
}

func canonical(snap *policies.Snapshot, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = snap.Models[n].Name
	}
	return out
}

func flatten(cands map[string][]*router.Candidate, models []string) []*router.Candidate {
	var out []*router.Candidate
	for _, m := range models {
		out = append(out, cands[m]...)
	}
	return out
}

func modelWeight(cs []*router.Candidate) float64 {
	var w float64
	for _, c := range cs {
		w += c.Weight
	}
	if w <= 0 {
		return 1
	}
	return w
}

func selectorFor(cr *policies.CRoute) router.Selector {
	switch cr.Strategy {
	case "weighted":
		return router.Weighted{}
	case "least_latency":
		return router.LeastLatency{Exploration: cr.Exploration}
	case "least_inflight":
		return router.LeastInFlight{}
	case "cost":
		return router.CostAware{MinTier: cr.MinTier}
	case "complexity":
		c := router.Complexity{}
		for _, t := range cr.Tiers {
			c.Tiers = append(c.Tiers, router.Tier{Name: t.Name, Below: t.Below, Model: t.Model})
		}
		return c
	}
	return router.Priority{}
}

// policyFromModels writes the policy that the config's plain models list means: each
// model with its one deployment, and a default route to the requested model.
func policyFromModels(models []config.Model) ([]policies.Source, error) {
	f := map[string]any{}
	ms := map[string]any{}
	for _, m := range models {
		ms[m.Name] = map[string]any{
			"aliases":     m.Aliases,
			"deployments": []any{map[string]any{"provider": m.Provider, "model": m.UpstreamModel}},
		}
	}
	f["models"] = ms
	f["routes"] = []any{map[string]any{"name": "default", "targets": []any{map[string]any{"model": policies.Requested}}}}
	data, err := yaml.Marshal(f)
	if err != nil {
		return nil, err
	}
	return []policies.Source{{Name: "(config models)", Data: data}}, nil
}
