// Package router decides, per request, which deployment serves it: it holds each
// deployment's live health, the selection strategies (one file each, behind Selector),
// fallback by error class and the retry budget. It is pure logic: no HTTP, no I/O.
package router

// Candidate is one deployment a route may send to: a provider serving a model, with the
// model's traits that strategies weigh. Candidates are built when a policy is compiled
// and are immutable; their Health is shared across policy versions.
type Candidate struct {
	// Model is the logical model name as the policy defines it.
	Model string
	// ID identifies the deployment ("provider/upstream-model" unless named).
	ID string
	// Provider names the provider that serves it.
	Provider string
	// UpstreamModel is the provider's name for the model; empty passes the client's name.
	UpstreamModel string
	// Weight is the share of a weighted split (relative to the route's other candidates).
	Weight float64
	// Tier is the operator's quality tier (higher is stronger).
	Tier int
	// ContextWindow is the model's context window in tokens; 0 means unknown (no check).
	ContextWindow int
	// NoTools and NoImages mark models that cannot take tools or images.
	NoTools, NoImages bool
	// InputPrice and OutputPrice are USD per million tokens, for cost-aware routing.
	InputPrice, OutputPrice float64
	// Health is the deployment's live state.
	Health *Health
}

// Route is a compiled route: how to choose among candidates and where to fall back.
type Route struct {
	// Name is the policy's route name.
	Name string
	// Strategy names the selector, for decisions and telemetry.
	Strategy string
	// Selector chooses among healthy candidates.
	Selector Selector
	// Candidates in policy order. Empty when Requested is set.
	Candidates []*Candidate
	// Requested routes to the model the client asked for; the caller passes that model's
	// candidates to Select.
	Requested bool
	// Fallbacks are tried in order when an attempt fails with a matching error class.
	Fallbacks []Fallback
	// MaxAttempts bounds upstream calls for one request, first included. Default 3.
	MaxAttempts int
	// Backoff shapes waits before retrying the same deployment.
	Backoff BackoffConfig
}

// Fallback is one fallback rule: on an error of a class in On, try Candidates.
type Fallback struct {
	On         ClassSet
	Candidates []*Candidate
}

// Request is what the strategies know about a request. The gateway fills it once.
type Request struct {
	// PromptTokens is the estimated prompt size in tokens.
	PromptTokens int
	// MaxTokens is the requested completion budget (0 when unset).
	MaxTokens int
	// HasTools and HasImages describe the request's content.
	HasTools, HasImages bool
	// StickyKey pins weighted splits (the user or session id); empty means random.
	StickyKey string
	// Score is the complexity score in [0,1] when the route scores requests.
	Score float64
	// Rand returns a uniform float in [0,1) (injected for reproducible tests).
	Rand func() float64
}

// Decision is what the router chose and why.
type Decision struct {
	Route     string
	Strategy  string
	Candidate *Candidate
	Reason    string
	// Arm is the weighted split's arm (model) for experiments; Tier the complexity tier.
	Arm  string
	Tier string
	// Attempt counts upstream calls for this request, from 1.
	Attempt int
}

// Selector picks one of cands, all of which are currently allowed to take traffic; it
// returns the index and a short reason. cands is never empty.
type Selector interface {
	Select(req *Request, cands []*Candidate) (int, string)
}
