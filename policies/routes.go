package policies

import (
	"math"
	"reflect"
	"slices"

	"github.com/switchyard/switchyard/internal/yamlx"
)

func (s *Snapshot) compileRoutes(f *File, errs *yamlx.Errors) {
	if len(f.Routes) == 0 {
		errs.Add("", 0, "at least one route is required (the last one, without match, is the default)")
		return
	}
	names := map[string]bool{}
	catchAll := -1
	for i, r := range f.Routes {
		if r == nil {
			continue
		}
		if r.Name == "" {
			errs.Add(r.File, r.Line, "route needs a name")
		} else if names[r.Name] {
			errs.Add(r.File, r.Line, "route name %q is used twice", r.Name)
		}
		names[r.Name] = true
		if catchAll >= 0 {
			prev := f.Routes[catchAll]
			errs.Add(r.File, r.Line, "route %q is unreachable: route %q (%s:%d) matches every request", r.Name, prev.Name, prev.File, prev.Line)
		}
		for j := 0; j < i && catchAll < 0; j++ {
			if p := f.Routes[j]; p != nil && r.Match != nil && p.Match != nil && reflect.DeepEqual(p.Match, r.Match) {
				errs.Add(r.File, r.Line, "route %q is unreachable: route %q (%s:%d) has the same match", r.Name, p.Name, p.File, p.Line)
			}
		}
		cr := s.compileRoute(i, r, errs)
		if cr.match.empty() && catchAll < 0 {
			catchAll = i
		}
		s.Routes = append(s.Routes, cr)
	}
	if catchAll < 0 {
		last := f.Routes[len(f.Routes)-1]
		errs.Add(last.File, last.Line, "no default route: the last route must have no match so every request is served")
	}
}

func (s *Snapshot) compileRoute(i int, r *Route, errs *yamlx.Errors) *CRoute {
	cr := &CRoute{Name: r.Name, Index: i, Strategy: r.Strategy, Sticky: r.Sticky, MinTier: r.MinTier,
		MaxAttempts: r.MaxAttempts, File: r.File, Line: r.Line, Exploration: 0.05,
		Cache: r.Cache, Coalesce: r.Coalesce, Deferrable: r.Deferrable, Idempotent: r.Idempotent}
	if c := r.Cache; c != nil {
		switch c.Semantic {
		case "", "off", "shadow", "on":
		default:
			errs.Add(r.File, r.Line, "route %q: cache.semantic must be off, shadow or on", r.Name)
		}
		if c.Threshold < 0 || c.Threshold > 1 || c.TTL < 0 {
			errs.Add(r.File, r.Line, "route %q: cache.threshold must be in (0,1] and cache.ttl not negative", r.Name)
		}
	}
	cr.match = s.compileMatch(r, errs)
	weighted := false
	for _, t := range r.Targets {
		if t.Model == Requested {
			cr.Requested = true
			if len(r.Targets) > 1 {
				errs.Add(t.File, t.Line, "route %q: %s must be the only target", r.Name, Requested)
			}
		} else if _, ok := s.Models[t.Model]; !ok {
			errs.Add(t.File, t.Line, "route %q: unknown model %q", r.Name, t.Model)
		}
		w := 1.0
		if t.Weight != nil {
			weighted, w = true, *t.Weight
			if w < 0 || math.IsNaN(w) {
				errs.Add(t.File, t.Line, "route %q: weight must not be negative", r.Name)
			}
		}
		cr.Targets = append(cr.Targets, CTarget{Model: t.Model, Weight: w})
	}
	if len(r.Targets) == 0 {
		errs.Add(r.File, r.Line, "route %q has no targets", r.Name)
	}
	if cr.Strategy == "" {
		cr.Strategy = "priority"
		if weighted {
			cr.Strategy = "weighted"
		}
	}
	if !slices.Contains(Strategies, cr.Strategy) {
		errs.Add(r.File, r.Line, "route %q: unknown strategy %q", r.Name, cr.Strategy)
	}
	s.checkStrategy(cr, r, errs)
	for _, fb := range r.Fallback {
		if len(fb.On) == 0 || len(fb.To) == 0 {
			errs.Add(fb.File, fb.Line, "route %q: a fallback needs on and to", r.Name)
		}
		for _, c := range fb.On {
			if c != "any" && !slices.Contains(ErrorClasses, c) {
				errs.Add(fb.File, fb.Line, "route %q: unknown error class %q", r.Name, c)
			}
		}
		seen := map[string]bool{}
		for _, m := range fb.To {
			if _, ok := s.Models[m]; !ok {
				errs.Add(fb.File, fb.Line, "route %q: fallback to unknown model %q", r.Name, m)
			}
			if seen[m] {
				errs.Add(fb.File, fb.Line, "route %q: fallback chain lists %q twice", r.Name, m)
			}
			seen[m] = true
		}
		cr.Fallbacks = append(cr.Fallbacks, CFallback{On: fb.On, To: fb.To})
	}
	return cr
}

func (s *Snapshot) checkStrategy(cr *CRoute, r *Route, errs *yamlx.Errors) {
	switch cr.Strategy {
	case "weighted":
		var total float64
		for _, t := range cr.Targets {
			total += t.Weight
		}
		if total <= 0 {
			errs.Add(r.File, r.Line, "route %q: weights must add up to more than 0", r.Name)
		}
	case "least_latency":
		if r.Exploration != nil {
			if *r.Exploration < 0 || *r.Exploration > 1 {
				errs.Add(r.File, r.Line, "route %q: exploration must be between 0 and 1", r.Name)
			}
			cr.Exploration = *r.Exploration
		}
	case "complexity":
		s.compileTiers(cr, r, errs)
	}
	if r.Sticky != "" && r.Sticky != "user" && r.Sticky != "session" {
		errs.Add(r.File, r.Line, "route %q: sticky must be user or session", r.Name)
	}
	if r.Sticky != "" && cr.Strategy != "weighted" {
		errs.Add(r.File, r.Line, "route %q: sticky applies to the weighted strategy only", r.Name)
	}
	if len(r.Tiers) > 0 && cr.Strategy != "complexity" {
		errs.Add(r.File, r.Line, "route %q: tiers apply to the complexity strategy only", r.Name)
	}
}

func (s *Snapshot) compileTiers(cr *CRoute, r *Route, errs *yamlx.Errors) {
	if len(r.Tiers) < 2 {
		errs.Add(r.File, r.Line, "route %q: complexity needs at least two tiers", r.Name)
	}
	prev := 0.0
	for i, t := range r.Tiers {
		below := 2.0 // the last band takes every score
		switch {
		case t.Below != nil && i == len(r.Tiers)-1:
			errs.Add(t.File, t.Line, "route %q: the last tier takes every remaining score; remove its below", r.Name)
		case t.Below == nil && i < len(r.Tiers)-1:
			errs.Add(t.File, t.Line, "route %q: tier %q needs below", r.Name, t.Name)
		case t.Below != nil:
			below = *t.Below
			if below <= prev || below > 1 {
				errs.Add(t.File, t.Line, "route %q: tier bounds must increase within (0,1]", r.Name)
			}
			prev = below
		}
		if t.Name == "" {
			errs.Add(t.File, t.Line, "route %q: tier needs a name", r.Name)
		}
		if !slices.ContainsFunc(cr.Targets, func(x CTarget) bool { return x.Model == t.Model }) {
			errs.Add(t.File, t.Line, "route %q: tier model %q is not one of the route's targets", r.Name, t.Model)
		}
		cr.Tiers = append(cr.Tiers, CTier{Name: t.Name, Below: below, Model: t.Model})
	}
}
