package telemetry

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/internal/provider"
)

// RequestInfo is what is known when a request arrives.
type RequestInfo struct {
	// Operation is gen_ai.operation.name: OpChat, OpTextCompletion or OpEmbeddings.
	Operation string
	// RequestID is the gateway's request id (x-request-id).
	RequestID string
}

// Result is everything a request did, given to End once it is over. Zero fields are
// left off the span.
type Result struct {
	// StatusCode is the HTTP status sent to the client.
	StatusCode int
	// ErrorType is the OpenAI error code sent to the client (e.g. rate_limit_exceeded,
	// upstream_stream_cut); "" when the request succeeded. With a status of 400 or more
	// and no code, error.type is the status code.
	ErrorType string
	// RequestModel is the model the client asked for; it names the span. Metrics record
	// it as "_OTHER" for a request that never reached a route (Route is empty), and, like
	// ResponseModel, Feature and Team, whenever it is not a value known to SetLabels, so
	// a client cannot create unbounded metric series by inventing names.
	RequestModel string
	// ResponseModel is the model that served (the provider's model name).
	ResponseModel string
	// ResponseID and FinishReasons describe the answer, when known (SetResponseBody
	// reads them off a complete answer; a stream's relay may know them).
	ResponseID    string
	FinishReasons []string
	// Provider is gen_ai.provider.name of the provider that served (see ProviderName).
	Provider string
	// Stream is true for a streamed response.
	Stream bool
	// Usage is the token usage of the answer; UsageSource says how it was obtained
	// (measured or estimated). Unreported usage records no token metrics.
	Usage       provider.Usage
	UsageSource string
	// FirstTokenAt is when the first streamed token reached the client; zero when nothing
	// was streamed. It gives time to first token and time per output token.
	FirstTokenAt time.Time

	// Attribution and routing.
	Feature, Team, Key   string
	Route, PolicyVersion string
	PromptID             string
	PromptVersion        string
	Deployment           string
	// CacheOutcome is none, miss, hit, semantic or coalesced; "" when not known.
	CacheOutcome string
	// Retries counts extra attempts on the same deployment; Fallbacks counts moves to
	// another deployment.
	Retries, Fallbacks int
	// CostPicoUSD and SavingsPicoUSD are the request's cost and savings in pico-dollars
	// (metering.Money).
	CostPicoUSD, SavingsPicoUSD int64
}

// Span start options, built once (an option built per call is an allocation).
var (
	serverKind   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	internalKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	clientKind   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
)

// RequestSpan is the telemetry of one gateway request: a server span (when the trace is
// sampled) and the metrics recorded by End. A nil *RequestSpan (telemetry disabled) is
// valid and every method on it does nothing.
//
// A RequestSpan is used by one goroutine at a time; it may be handed to another (the
// stream relay), which then ends it. End must be called exactly once.
type RequestSpan struct {
	t     *Telemetry
	ctx   context.Context // carries span; parent of children and attempts
	span  trace.Span      // nil when traces are off
	start time.Time
	op    string
}

// StartRequest starts the telemetry of one request: a server span named after the
// operation (End renames it "{operation} {model}") as a child of any span context in ctx
// (see Extract). The returned context carries the span. On a disabled Telemetry it
// returns ctx and nil, allocating nothing.
func (t *Telemetry) StartRequest(ctx context.Context, info RequestInfo) (context.Context, *RequestSpan) {
	if !t.Enabled() {
		return ctx, nil
	}
	r := &RequestSpan{t: t, start: time.Now(), op: info.Operation}
	if t.tracer != nil {
		ctx, r.span = t.tracer.Start(ctx, info.Operation, serverKind...)
		if r.span.IsRecording() {
			r.span.SetAttributes(
				attribute.String(KeyOperation, info.Operation),
				attribute.String(KeyRequestID, info.RequestID),
			)
		}
	}
	r.ctx = ctx
	return ctx, r
}

// Recording reports whether the request's span is sampled: only then is it worth
// reading request parameters or content for it.
func (r *RequestSpan) Recording() bool {
	return r != nil && r.span != nil && r.span.IsRecording()
}

// Child starts an internal span under the request span, such as SpanPolicy, SpanCache,
// SpanCoalesce or SpanLedger. It returns a no-op Span when the request is not sampled.
func (r *RequestSpan) Child(name string) Span {
	if !r.Recording() {
		return Span{}
	}
	_, s := r.t.tracer.Start(r.ctx, name, internalKind...)
	return Span{s: s}
}

// End finishes the request: it sets the GenAI and switchyard.* attributes and the status
// on the span, ends it, and records the request's metrics. Metrics are recorded for
// every request, sampled or not.
func (r *RequestSpan) End(res Result) {
	if r == nil {
		return
	}
	end := time.Now()
	errType := res.ErrorType
	if errType == "" && res.StatusCode >= 400 {
		errType = strconv.Itoa(res.StatusCode)
	}
	if r.Recording() {
		r.annotate(&res, errType)
		r.span.End()
	}
	if r.t.inst != nil {
		r.t.inst.record(r.op, &res, errType, r.start, end, r.t.labels.Load())
	}
}

// annotate sets the span's name, attributes and status from res.
func (r *RequestSpan) annotate(res *Result, errType string) {
	s := r.span
	if res.RequestModel != "" {
		s.SetName(r.op + " " + res.RequestModel)
	}
	a := make([]attribute.KeyValue, 0, 32)
	a = appendString(a, KeyRequestModel, res.RequestModel)
	a = appendString(a, KeyResponseModel, res.ResponseModel)
	a = appendString(a, KeyProvider, res.Provider)
	a = appendString(a, KeyResponseID, res.ResponseID)
	if len(res.FinishReasons) > 0 {
		a = append(a, attribute.StringSlice(KeyFinishReasons, res.FinishReasons))
	}
	a = append(a, attribute.Bool(KeyStream, res.Stream))
	if res.StatusCode != 0 {
		a = append(a, attribute.Int(KeyHTTPStatus, res.StatusCode))
	}
	a = appendUsage(a, res.Usage)
	a = appendString(a, KeyUsageSource, res.UsageSource)
	a = appendString(a, KeyFeature, res.Feature)
	a = appendString(a, KeyTeam, res.Team)
	a = appendString(a, KeyKey, res.Key)
	a = appendString(a, KeyRoute, res.Route)
	a = appendString(a, KeyPolicyVersion, res.PolicyVersion)
	a = appendString(a, KeyPromptID, res.PromptID)
	a = appendString(a, KeyPromptVersion, res.PromptVersion)
	a = appendString(a, KeyDeployment, res.Deployment)
	a = appendString(a, KeyCacheOutcome, res.CacheOutcome)
	a = append(a, attribute.Int(KeyRetryCount, res.Retries), attribute.Int(KeyFallbackCount, res.Fallbacks))
	if res.CostPicoUSD != 0 || res.SavingsPicoUSD != 0 {
		a = append(a, attribute.Int64(KeyCost, res.CostPicoUSD), attribute.Int64(KeySavings, res.SavingsPicoUSD))
	}
	a = appendString(a, KeyErrorType, errType)
	s.SetAttributes(a...)
	// A server span's status is an error only when the gateway or the upstream failed
	// (5xx); a client's bad request is not the server's error (HTTP semconv).
	if res.StatusCode >= 500 {
		s.SetStatus(codes.Error, errType)
	}
}

func appendString(a []attribute.KeyValue, key, v string) []attribute.KeyValue {
	if v == "" {
		return a
	}
	return append(a, attribute.String(key, v))
}

func appendUsage(a []attribute.KeyValue, u provider.Usage) []attribute.KeyValue {
	if !u.Reported {
		return a
	}
	a = append(a, attribute.Int64(KeyInputTokens, u.InputTokens), attribute.Int64(KeyOutputTokens, u.OutputTokens))
	if u.CachedInputTokens > 0 {
		a = append(a, attribute.Int64(KeyCacheRead, u.CachedInputTokens))
	}
	if u.CacheWriteTokens > 0 {
		a = append(a, attribute.Int64(KeyCacheWrite, u.CacheWriteTokens))
	}
	if u.ReasoningTokens > 0 {
		a = append(a, attribute.Int64(KeyReasoning, u.ReasoningTokens))
	}
	return a
}

// Span is an internal child span of a request. The zero Span (request not sampled, or
// telemetry off) is valid and does nothing.
type Span struct {
	s trace.Span
}

// SetString adds a string attribute, e.g. s.SetString(KeyCacheOutcome, "hit").
func (s Span) SetString(key, value string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, value))
	}
}

// SetInt adds an integer attribute.
func (s Span) SetInt(key string, value int64) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int64(key, value))
	}
}

// End ends the span as a success.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// Fail ends the span as failed with error.type errType (a short, low-cardinality code).
func (s Span) Fail(errType string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(KeyErrorType, errType))
		s.s.SetStatus(codes.Error, errType)
		s.s.End()
	}
}
