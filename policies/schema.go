// Package policies owns the routing policy files: their format, strict loading with
// file:line errors, validation, compilation to an immutable Snapshot with a version id,
// request matching, and hot reload that keeps the last good snapshot serving.
package policies

import (
	"time"

	"gopkg.in/yaml.v3"
)

// File is one policy file (or the merge of a directory of them).
type File struct {
	// Models is the model catalogue: logical names, their traits and deployments.
	Models map[string]*Model `yaml:"models"`
	// Routes are matched in order; the first match wins. The last route must match
	// everything (no match block): it is the default route.
	Routes []*Route `yaml:"routes"`
	// Health tunes passive health checks and circuit breaking of deployments.
	Health *Health `yaml:"health"`
	// Retry tunes retries, fallbacks and their budget.
	Retry *Retry `yaml:"retry"`
}

// Model is a logical model clients can ask for.
type Model struct {
	// Aliases are other names clients may use for the model.
	Aliases []string `yaml:"aliases"`
	// Tier is the operator's quality tier, higher is stronger. Used by cost routing. Default 1.
	Tier int `yaml:"tier"`
	// ContextWindow is the model's window in tokens. 0 means unknown (not checked).
	ContextWindow int `yaml:"context_window"`
	// InputPrice and OutputPrice are USD per million tokens, used by cost-aware routing only
	// (the cost ledger uses the price catalogue). Default 0.
	InputPrice  float64 `yaml:"input_price"`
	OutputPrice float64 `yaml:"output_price"`
	// Tools and Images say whether the model accepts tools and image inputs. Default true.
	Tools  *bool `yaml:"tools"`
	Images *bool `yaml:"images"`
	// Fallback names models to try, in order, when every deployment of this one fails with
	// a retryable error (connect, timeout, rate_limit, server_error). Cycles are errors.
	Fallback []string `yaml:"fallback"`
	// Deployments serve the model; at least one. Load is balanced across them.
	Deployments []*Deployment `yaml:"deployments"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
}

// Deployment is one provider serving a model (a region, an account, a key).
type Deployment struct {
	// Provider names a provider in the gateway config. Required.
	Provider string `yaml:"provider"`
	// Model is the provider's model name (for Azure, the deployment). Default: the logical
	// model's name; for the "*" model, the name the client sent.
	Model string `yaml:"model"`
	// Weight is the deployment's share within its model. Default 1.
	Weight *float64 `yaml:"weight"`
	// Name identifies the deployment in health and metrics. Default "provider/model".
	Name string `yaml:"name"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
}

// Route decides how matching requests are served.
type Route struct {
	// Name identifies the route in headers, traces and the ledger. Required, unique.
	Name string `yaml:"name"`
	// Match selects requests; an absent or empty match matches every request.
	Match *Match `yaml:"match"`
	// Strategy chooses among targets: weighted, priority, least_latency, least_inflight,
	// cost, complexity. Default: weighted when any target has a weight, else priority.
	Strategy string `yaml:"strategy"`
	// Targets are the models the route may send to, in order. The special model
	// "$requested" sends to the model the client asked for (alone).
	Targets []*Target `yaml:"targets"`
	// Sticky pins weighted splits per "user" (the request's user field, or the key) or per
	// "session" (the x-switchyard-session header, or metadata.session_id). Default none.
	Sticky string `yaml:"sticky"`
	// Exploration is least_latency's share of requests sent to a random target. Default 0.05.
	Exploration *float64 `yaml:"exploration"`
	// MinTier is cost's least acceptable quality tier. Default 0 (any).
	MinTier int `yaml:"min_tier"`
	// Tiers are complexity's score bands, ascending; the last has no bound.
	Tiers []*ComplexityTier `yaml:"tiers"`
	// Fallback rules, tried in order after a failure of a listed class.
	Fallback []*Fallback `yaml:"fallback"`
	// MaxAttempts bounds upstream calls per request, first included. Default: retry's.
	MaxAttempts int `yaml:"max_attempts"`
	// Cache overrides the gateway's cache defaults for this route. Default none.
	Cache *RouteCache `yaml:"cache"`
	// Coalesce merges identical in-flight requests on this route into one upstream call.
	// Default: the gateway's coalescing setting (deterministic requests only).
	Coalesce *bool `yaml:"coalesce"`
	// Deferrable lets clients mark requests x-switchyard-priority: batch on this route.
	// Default false.
	Deferrable bool `yaml:"deferrable"`
	// Idempotent says that sending a request of this route twice is harmless, so an
	// upstream connection that broke after the request was written may be retried. Without
	// it such a request is not retried: the provider may have received it, and a retry can
	// bill twice. Default false.
	Idempotent bool `yaml:"idempotent"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
	// apiLines are the lines of match.api's values, in order, for validation messages.
	// They live here, not in Match, so that two routes' matches compare equal by content.
	apiLines []int
}

// RouteCache is a route's response-cache rules; unset fields keep the gateway's
// defaults (cache.defaults in the config; see docs/cache.md).
type RouteCache struct {
	// Disabled turns caching off for the route.
	Disabled bool `yaml:"disabled"`
	// TTL is how long an entry is served.
	TTL time.Duration `yaml:"ttl"`
	// AllowSampled caches answers to sampled requests (temperature above 0).
	AllowSampled *bool `yaml:"allow_sampled"`
	// AllowToolCalls caches answers that call tools.
	AllowToolCalls *bool `yaml:"allow_tool_calls"`
	// Semantic is off, shadow or on.
	Semantic string `yaml:"semantic"`
	// Threshold is the least similarity a semantic candidate needs, in (0,1].
	Threshold float32 `yaml:"threshold"`
}

// Target is one model a route may send to.
type Target struct {
	// Model names a model in models (or "$requested").
	Model string `yaml:"model"`
	// Weight is the share for weighted routing (percentages or any relative numbers).
	Weight *float64 `yaml:"weight"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
}

// ComplexityTier is one band of complexity scores.
type ComplexityTier struct {
	// Name labels the band ("easy", "hard"). Required.
	Name string `yaml:"name"`
	// Below is the band's exclusive upper score bound in (0,1]; omit it on the last band.
	Below *float64 `yaml:"below"`
	// Model serves the band; it must be one of the route's targets.
	Model string `yaml:"model"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
}

// Fallback is one fallback rule.
type Fallback struct {
	// On lists error classes: connect, timeout, rate_limit, server_error, context_length,
	// content_filter, or any.
	On []string `yaml:"on"`
	// To lists models to try in order.
	To []string `yaml:"to"`

	Line int    `yaml:"-"`
	File string `yaml:"-"`
}

// Match is a route's conditions; all present conditions must hold. List conditions
// hold when the request's value is one of the list.
type Match struct {
	Feature []string `yaml:"feature"`
	Team    []string `yaml:"team"`
	Key     []string `yaml:"key"`
	// Model matches the requested model name or any alias of the same model.
	Model []string `yaml:"model"`
	// Headers must be present with exactly these values (names are case-insensitive).
	Headers map[string]string `yaml:"headers"`
	// Metadata must have these string values in the request's metadata object.
	Metadata map[string]string `yaml:"metadata"`
	// MinPromptTokens and MaxPromptTokens bound the estimated prompt size (0: no bound).
	MinPromptTokens int `yaml:"min_prompt_tokens"`
	MaxPromptTokens int `yaml:"max_prompt_tokens"`
	// Tools and Images require the request to have (true) or not have (false) them.
	Tools  *bool `yaml:"tools"`
	Images *bool `yaml:"images"`
	// API matches the API the request came in through (its dialect): chat (Chat
	// Completions, and the completions and embeddings endpoints), responses (the Responses
	// API) or messages (the Anthropic Messages API, count_tokens included). Other values
	// are errors.
	API []string `yaml:"api"`
}

// Health tunes passive health checking. Zero values take the router's defaults.
type Health struct {
	// FailureThreshold: consecutive failures that open a circuit. Default 5.
	FailureThreshold int `yaml:"failure_threshold"`
	// ErrorRate: failure share in the window that opens a circuit. Default 0.5.
	ErrorRate float64 `yaml:"error_rate"`
	// MinRequests: outcomes needed in the window before ErrorRate applies. Default 10.
	MinRequests int `yaml:"min_requests"`
	// Window: span of the error-rate window. Default 10s.
	Window time.Duration `yaml:"window"`
	// Cooldown: how long an open circuit refuses traffic before probing. Default 5s.
	Cooldown time.Duration `yaml:"cooldown"`
	// HalfOpenProbes: probes let through at once while half-open. Default 1.
	HalfOpenProbes int `yaml:"half_open_probes"`
}

// Retry tunes retries and fallbacks. Zero values take defaults.
type Retry struct {
	// MaxAttempts bounds upstream calls per request, first included. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// BudgetRatio is extra attempts allowed per first attempt, across all traffic. Default 0.2.
	BudgetRatio float64 `yaml:"budget_ratio"`
	// BudgetMinPerSecond is extra attempts always allowed per second. Default 5.
	BudgetMinPerSecond int `yaml:"budget_min_per_second"`
	// BackoffBase is the first wait before retrying the same deployment. Default 50ms.
	BackoffBase time.Duration `yaml:"backoff_base"`
	// BackoffMax caps one wait, Retry-After included. Default 2s.
	BackoffMax time.Duration `yaml:"backoff_max"`
}

// The UnmarshalYAML methods remember each element's line for validation messages.

func (m *Model) UnmarshalYAML(n *yaml.Node) error {
	type plain Model
	m.Line = n.Line
	return n.Decode((*plain)(m))
}

func (d *Deployment) UnmarshalYAML(n *yaml.Node) error {
	type plain Deployment
	d.Line = n.Line
	return n.Decode((*plain)(d))
}

func (r *Route) UnmarshalYAML(n *yaml.Node) error {
	type plain Route
	r.Line = n.Line
	if api := valueOf(valueOf(n, "match"), "api"); api != nil {
		for _, v := range api.Content {
			r.apiLines = append(r.apiLines, v.Line)
		}
	}
	return n.Decode((*plain)(r))
}

// valueOf returns the value node of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (t *Target) UnmarshalYAML(n *yaml.Node) error {
	type plain Target
	t.Line = n.Line
	return n.Decode((*plain)(t))
}

func (c *ComplexityTier) UnmarshalYAML(n *yaml.Node) error {
	type plain ComplexityTier
	c.Line = n.Line
	return n.Decode((*plain)(c))
}

func (f *Fallback) UnmarshalYAML(n *yaml.Node) error {
	type plain Fallback
	f.Line = n.Line
	return n.Decode((*plain)(f))
}
