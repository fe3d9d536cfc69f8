package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

// CostEventName is the event name of cost log records and of the span event that
// stands in for them.
const CostEventName = "switchyard.cost"

// KeyDialect is the cost event's attribute for the API the request came in through:
// chat, responses or messages (metering.Event.Dialect).
const KeyDialect = "switchyard.dialect"

// CostEvent is one request's cost event, field for field the ledger's (metering.Event),
// so a collector can route cost to any backend. Money is in pico-dollars.
type CostEvent struct {
	RequestID string
	// Time is when the request arrived; zero means now.
	Time time.Time

	Key, Team, Feature, User string
	Route, PolicyVersion     string
	PromptID, PromptVersion  string

	// RequestedModel is the model asked for; ServedModel the model that answered;
	// Provider the configured provider's name; Deployment the routing target.
	RequestedModel, ServedModel, Provider, Deployment string
	// CacheOutcome is none, miss, hit, semantic or coalesced.
	CacheOutcome string

	InputTokens, CachedInputTokens, CacheWriteTokens int64
	OutputTokens, ReasoningTokens                    int64
	// UsageSource is measured or estimated.
	UsageSource string

	PriceVersion string
	// CostPicoUSD is what the provider charges; CounterfactualPicoUSD what the request
	// would have cost at the requested model with no cache and no rerouting;
	// SavingsPicoUSD the difference (negative when routing chose a dearer model).
	CostPicoUSD, CounterfactualPicoUSD, SavingsPicoUSD int64
	// Unpriced is true when a model involved has no price: the money fields are then
	// not to be read as free.
	Unpriced bool

	// Status is the HTTP status sent to the client; ErrorCode the OpenAI error code.
	Status    int
	ErrorCode string
	Stream    bool
	// Dialect is the API the request came in through: chat, responses or messages.
	Dialect string
}

// EmitCostEvent publishes ev. With log export configured it is an OTel log record with
// event name switchyard.cost, correlated with the span in ctx (trace and span ids);
// otherwise it is a span event of that name on the span in ctx (the request span's
// context from StartRequest), and is dropped when that span is not sampled. Money
// counters are not touched here: End records them, so a request is counted once.
// ev is not retained.
func (t *Telemetry) EmitCostEvent(ctx context.Context, ev *CostEvent) {
	if !t.Enabled() {
		return
	}
	if t.logger == nil {
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return
		}
		span.AddEvent(CostEventName, trace.WithAttributes(ev.attributes()...))
		return
	}
	var rec otellog.Record
	rec.SetEventName(CostEventName)
	now := time.Now()
	ts := ev.Time
	if ts.IsZero() {
		ts = now
	}
	rec.SetTimestamp(ts)
	rec.SetObservedTimestamp(now)
	rec.SetSeverity(otellog.SeverityInfo)
	rec.SetSeverityText("INFO")
	rec.SetBody(attribute.StringValue("cost"))
	rec.AddAttributes(ev.attributes()...)
	t.logger.Emit(ctx, rec)
}

// attributes lists ev as attributes; empty strings are left off, numbers always kept.
func (ev *CostEvent) attributes() []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 32)
	a = appendString(a, KeyRequestID, ev.RequestID)
	a = appendString(a, KeyKey, ev.Key)
	a = appendString(a, KeyTeam, ev.Team)
	a = appendString(a, KeyFeature, ev.Feature)
	a = appendString(a, KeyUser, ev.User)
	a = appendString(a, KeyRoute, ev.Route)
	a = appendString(a, KeyPolicyVersion, ev.PolicyVersion)
	a = appendString(a, KeyPromptID, ev.PromptID)
	a = appendString(a, KeyPromptVersion, ev.PromptVersion)
	a = appendString(a, KeyRequestModel, ev.RequestedModel)
	a = appendString(a, KeyResponseModel, ev.ServedModel)
	a = appendString(a, KeyProviderConfig, ev.Provider)
	a = appendString(a, KeyDeployment, ev.Deployment)
	a = appendString(a, KeyCacheOutcome, ev.CacheOutcome)
	a = append(a,
		attribute.Int64(KeyInputTokens, ev.InputTokens),
		attribute.Int64(KeyOutputTokens, ev.OutputTokens),
		attribute.Int64(KeyCacheRead, ev.CachedInputTokens),
		attribute.Int64(KeyCacheWrite, ev.CacheWriteTokens),
		attribute.Int64(KeyReasoning, ev.ReasoningTokens),
	)
	a = appendString(a, KeyUsageSource, ev.UsageSource)
	a = appendString(a, KeyPriceVersion, ev.PriceVersion)
	a = append(a,
		attribute.Int64(KeyCost, ev.CostPicoUSD),
		attribute.Int64(KeyCounterfactual, ev.CounterfactualPicoUSD),
		attribute.Int64(KeySavings, ev.SavingsPicoUSD),
		attribute.Bool(KeyUnpriced, ev.Unpriced),
		attribute.Int(KeyHTTPStatus, ev.Status),
		attribute.Bool(KeyStream, ev.Stream),
	)
	a = appendString(a, KeyErrorType, ev.ErrorCode)
	a = appendString(a, KeyDialect, ev.Dialect)
	return a
}
