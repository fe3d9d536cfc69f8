package metering

import (
	"time"
)

// CacheOutcome is what the gateway's response cache did for a request.
type CacheOutcome string

// Cache outcomes.
const (
	// CacheNone: the cache was not consulted (disabled, or not cacheable).
	CacheNone CacheOutcome = "none"
	// CacheMiss: looked up, not found; the provider served the request.
	CacheMiss CacheOutcome = "miss"
	// CacheHit: an exact-match cached response was replayed.
	CacheHit CacheOutcome = "hit"
	// CacheSemantic: a semantically similar cached response was replayed.
	CacheSemantic CacheOutcome = "semantic"
	// CacheCoalesced: the request shared an identical in-flight request's upstream call.
	CacheCoalesced CacheOutcome = "coalesced"
)

// ServedFromCache reports whether no upstream call was paid for this request.
func (c CacheOutcome) ServedFromCache() bool {
	return c == CacheHit || c == CacheSemantic || c == CacheCoalesced
}

// SavingsSource says what an event's savings come from, so savings can be reported by
// source (exports group by savings_source) instead of as one number.
type SavingsSource string

// Savings sources. Every priced event has exactly one.
const (
	// SavingsNone: nothing saved; the requested model served, as asked.
	SavingsNone SavingsSource = "none"
	// SavingsExactCache: an exact cache hit; the whole counterfactual is saved.
	SavingsExactCache SavingsSource = "exact_cache"
	// SavingsSemanticCache: a semantic cache hit; the whole counterfactual is saved.
	SavingsSemanticCache SavingsSource = "semantic_cache"
	// SavingsCoalescing: the answer of an identical in-flight request, shared; the whole
	// counterfactual is saved.
	SavingsCoalescing SavingsSource = "coalescing"
	// SavingsRouting: the policy sent the request to another model than the one asked for
	// (a cheaper tier, a split, complexity routing); savings are the price difference,
	// negative when the policy chose a dearer model.
	SavingsRouting SavingsSource = "routing"
	// SavingsFallback: a fallback served after the first choice failed (a 429, an
	// outage). It is not a saving, nor a negative one: the event claims none (Savings 0,
	// Counterfactual = Cost), whichever model it fell back to.
	SavingsFallback SavingsSource = "fallback"
	// SavingsBatchLane: the request ran in the batch lane at the batch API's discount;
	// savings are the discount against list price.
	SavingsBatchLane SavingsSource = "batch_lane"
)

// SavingsSources lists every savings source, in the order above.
var SavingsSources = []SavingsSource{SavingsNone, SavingsExactCache, SavingsSemanticCache, SavingsCoalescing,
	SavingsRouting, SavingsFallback, SavingsBatchLane}

// Event is one request's cost event: who asked, what served it, the tokens, the price and
// the money. It is a plain value; the gateway fills the request fields, Pricer.Price fills
// the money fields, and a Ledger stores it.
type Event struct {
	// RequestID is the gateway's request id (x-request-id); the ledger is idempotent on it.
	RequestID string `json:"request_id"`
	// Time is when the request arrived; prices in force then apply. Stored in UTC, with
	// microsecond precision.
	Time time.Time `json:"time"`

	// Key is the gateway key's name; Team, Feature and User the attribution.
	Key     string `json:"key"`
	Team    string `json:"team"`
	Feature string `json:"feature"`
	User    string `json:"user"`
	// Route is the policy route that handled the request; PolicyVersion the snapshot's id.
	Route         string `json:"route"`
	PolicyVersion string `json:"policy_version"`
	// PromptID and PromptVersion identify a pinned prompt, when one was used.
	PromptID      string `json:"prompt_id"`
	PromptVersion string `json:"prompt_version"`

	// RequestedModel is the model the client asked for; ServedModel the model that
	// answered (the provider's id; empty means RequestedModel); Provider the configured
	// provider's name.
	RequestedModel string       `json:"requested_model"`
	ServedModel    string       `json:"served_model"`
	Provider       string       `json:"provider"`
	Cache          CacheOutcome `json:"cache"`

	// Tokens are the counts by class; UsageSource says whether they were measured.
	Tokens      Tokens      `json:"tokens"`
	UsageSource UsageSource `json:"usage_source"`

	// PriceVersion is the catalogue version used (Catalog.Version).
	PriceVersion string `json:"price_version"`
	// Cost is what the provider charges for this request: zero when served from cache.
	Cost Money `json:"cost_pusd"`
	// Counterfactual is what the request would have cost at the requested model's price,
	// with no gateway cache and no rerouting.
	Counterfactual Money `json:"counterfactual_pusd"`
	// Savings is Counterfactual − Cost; negative only when the policy routed to a dearer
	// model (never for a fallback, which claims no savings).
	Savings Money `json:"savings_pusd"`
	// Fallback is set by the caller when a fallback deployment served the request after
	// the first choice failed; Price then claims no savings (SavingsFallback).
	Fallback bool `json:"fallback"`
	// SavingsSource says where Savings come from; Price fills it (see SavingsSource).
	SavingsSource SavingsSource `json:"savings_source"`
	// Unpriced is true when a model involved has no price at Time: the money fields then
	// hold what could be priced (often $0) and must not be read as free.
	Unpriced bool `json:"unpriced"`

	// LatencyMS is the whole request's duration; TTFTMS the time to the first streamed
	// token (0 when nothing was streamed). Milliseconds.
	LatencyMS int64 `json:"latency_ms"`
	TTFTMS    int64 `json:"ttft_ms"`
	// Status is the HTTP status sent to the client; ErrorCode the OpenAI error code, if any.
	Status    int    `json:"status"`
	ErrorCode string `json:"error_code"`
	// Stream is true for a streamed response.
	Stream bool `json:"stream"`
	// Dialect is the API the request came in through: DialectChat (Chat Completions and
	// the other OpenAI endpoints), DialectResponses or DialectMessages. Empty means chat:
	// the ledger stores it as chat, and rows written before the dialect was recorded read
	// back as chat.
	Dialect string `json:"dialect"`
}

// Dialects of a cost event (Event.Dialect).
const (
	// DialectChat: the OpenAI Chat Completions API, and completions and embeddings.
	DialectChat = "chat"
	// DialectResponses: the OpenAI Responses API (POST /v1/responses).
	DialectResponses = "responses"
	// DialectMessages: the Anthropic Messages API (POST /v1/messages).
	DialectMessages = "messages"
)
