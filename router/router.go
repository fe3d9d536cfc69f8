package router

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Config configures the router. Zero fields take defaults.
type Config struct {
	// Budget caps retries and fallbacks as a share of traffic.
	Budget BudgetConfig `yaml:"budget"`
}

// Router chooses deployments for requests. It is safe for concurrent use and lives
// across policy reloads (the retry budget spans them).
type Router struct {
	budget atomic.Pointer[RetryBudget]
	cfg    atomic.Pointer[BudgetConfig]
}

// New returns a router.
func New(c Config) *Router {
	r := &Router{}
	r.SetBudget(c.Budget)
	return r
}

// SetBudget changes the retry budget's settings (on policy reload); unchanged settings
// keep the current balance.
func (r *Router) SetBudget(c BudgetConfig) {
	if old := r.cfg.Load(); old != nil && *old == c {
		return
	}
	r.cfg.Store(&c)
	r.budget.Store(NewRetryBudget(c))
}

// First chooses the deployment for a request's first attempt among cands (route's
// candidates, or the requested model's for a Requested route). With every candidate
// unhealthy it routes among all of them anyway (panic routing) rather than fail.
func (r *Router) First(route *Route, req *Request, cands []*Candidate) (Decision, bool) {
	if req.Rand == nil {
		req.Rand = rand.Float64
	}
	r.budget.Load().Deposit()
	d := Decision{Route: route.Name, Strategy: route.Strategy, Attempt: 1}
	if len(cands) == 0 {
		return d, false
	}
	avail := available(cands, nil)
	panicking := len(avail) == 0
	if panicking {
		avail = cands
	}
	i, why := route.Selector.Select(req, avail)
	d.Candidate, d.Reason, d.Arm = avail[i], why, avail[i].Model
	if panicking {
		d.Reason = "all deployments unhealthy; " + why
	}
	if c, ok := route.Selector.(Complexity); ok {
		d.Tier = c.TierName(req.Score)
	}
	return d, true
}

// Next chooses where to send the request after an attempt failed with class, before
// any byte reached the client. It tries, in order: another available deployment of the
// same model; the route's fallbacks for the class; the same deployment again after a
// backoff (retryable classes only). It returns ok=false when nothing is left, the
// attempts are used up, or the retry budget refuses. retryAfter is the upstream's.
func (r *Router) Next(route *Route, req *Request, cands []*Candidate, prev Decision, tried []*Candidate,
	class Class, retryAfter time.Duration) (d Decision, wait time.Duration, ok bool) {
	max := route.MaxAttempts
	if max <= 0 {
		max = 3
	}
	if prev.Attempt >= max {
		return prev, 0, false
	}
	d = Decision{Route: route.Name, Strategy: route.Strategy, Attempt: prev.Attempt + 1, Tier: prev.Tier}
	pick := func(c *Candidate, why string) (Decision, time.Duration, bool) {
		if !r.budget.Load().Withdraw() {
			return prev, 0, false
		}
		d.Candidate, d.Reason, d.Arm = c, why, c.Model
		return d, 0, true
	}
	if class.Retryable() {
		for _, c := range cands {
			if c.Model == prev.Candidate.Model && !has(tried, c) && c.Health.Available() {
				return pick(c, "retry on another deployment after "+class.String())
			}
		}
	}
	for _, fb := range route.Fallbacks {
		if !fb.On.Has(class) {
			continue
		}
		for _, c := range fb.Candidates {
			if !has(tried, c) && c.Health.Available() {
				return pick(c, "fallback after "+class.String())
			}
		}
	}
	if class.Retryable() && prev.Candidate.Health.Available() {
		w, ok := route.Backoff.WithDefaults().Wait(prev.Attempt, retryAfter, req.Rand())
		if !ok {
			return prev, 0, false
		}
		d, _, ok := pick(prev.Candidate, "retry after "+class.String())
		return d, w, ok
	}
	return prev, 0, false
}

func available(cands []*Candidate, tried []*Candidate) []*Candidate {
	n := 0
	for _, c := range cands {
		if c.Health.Available() && !has(tried, c) {
			n++
		}
	}
	if n == len(cands) {
		return cands
	}
	out := make([]*Candidate, 0, n)
	for _, c := range cands {
		if c.Health.Available() && !has(tried, c) {
			out = append(out, c)
		}
	}
	return out
}

func has(list []*Candidate, c *Candidate) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}
