package telemetry

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/internal/provider"
)

// AttemptInfo describes one upstream call.
type AttemptInfo struct {
	// Attempt is the 1-based attempt number within the request.
	Attempt int
	// Provider is gen_ai.provider.name (see ProviderName); ProviderConfig the configured
	// provider's name; Deployment the routing target's id.
	Provider, ProviderConfig, Deployment string
	// Model is the provider's model name sent upstream (gen_ai.request.model).
	Model string
	// ServerAddress and ServerPort locate the upstream (see ServerAddress).
	ServerAddress string
	ServerPort    int
	// Stream is true when the upstream call streams.
	Stream bool
}

// AttemptResult is how one upstream call ended.
type AttemptResult struct {
	// StatusCode is the upstream's HTTP status; 0 when no answer came (transport error).
	StatusCode int
	// ErrorType classifies a failure (e.g. timeout, connect, rate_limit_exceeded, or the
	// provider's error code); "" for success. With a status of 400 or more and no type,
	// error.type is the status code.
	ErrorType string
	// ResponseModel, ResponseID and FinishReasons are read off the answer, when known.
	ResponseModel, ResponseID string
	FinishReasons             []string
	// Usage is the token usage the provider reported for this call.
	Usage provider.Usage
}

// AttemptSpan is the client span of one upstream call. The zero AttemptSpan (telemetry
// off) is valid and does nothing. It may be ended on another goroutine (a stream's
// relay) than the one that started it, once.
type AttemptSpan struct {
	s      trace.Span
	parent trace.SpanContext // what Inject propagates when s is not recorded
}

// StartAttempt starts the client span of an upstream call under the request span, named
// "{operation} {model}". When the request is not sampled, no span is made but Inject still
// propagates the (unsampled) trace.
func (r *RequestSpan) StartAttempt(info AttemptInfo) AttemptSpan {
	if r == nil || r.span == nil {
		return AttemptSpan{}
	}
	if !r.span.IsRecording() {
		return AttemptSpan{parent: r.span.SpanContext()}
	}
	name := r.op
	if info.Model != "" {
		name += " " + info.Model
	}
	_, s := r.t.tracer.Start(r.ctx, name, clientKind...)
	a := make([]attribute.KeyValue, 0, 10)
	a = append(a, attribute.String(KeyOperation, r.op), attribute.Int(KeyAttempt, info.Attempt),
		attribute.Bool(KeyStream, info.Stream))
	a = appendString(a, KeyProvider, info.Provider)
	a = appendString(a, KeyProviderConfig, info.ProviderConfig)
	a = appendString(a, KeyDeployment, info.Deployment)
	a = appendString(a, KeyRequestModel, info.Model)
	if info.ServerAddress != "" {
		a = append(a, attribute.String(KeyServerAddress, info.ServerAddress))
		if info.ServerPort > 0 {
			a = append(a, attribute.Int(KeyServerPort, info.ServerPort))
		}
	}
	s.SetAttributes(a...)
	return AttemptSpan{s: s}
}

// Inject writes the attempt's trace context (traceparent, tracestate) through set, for
// the upstream request's headers: the upstream's spans become children of this attempt.
func (a AttemptSpan) Inject(set func(key, value string)) {
	if a.s != nil {
		injectSpanContext(a.s.SpanContext(), set)
		return
	}
	injectSpanContext(a.parent, set)
}

// End ends the attempt's span with its outcome. Any failure, a 4xx included, is an error
// status on a client span.
func (a AttemptSpan) End(res AttemptResult) {
	if a.s == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 12)
	if res.StatusCode != 0 {
		attrs = append(attrs, attribute.Int(KeyHTTPStatus, res.StatusCode))
	}
	attrs = appendString(attrs, KeyResponseModel, res.ResponseModel)
	attrs = appendString(attrs, KeyResponseID, res.ResponseID)
	if len(res.FinishReasons) > 0 {
		attrs = append(attrs, attribute.StringSlice(KeyFinishReasons, res.FinishReasons))
	}
	attrs = appendUsage(attrs, res.Usage)
	errType := res.ErrorType
	if errType == "" && res.StatusCode >= 400 {
		errType = strconv.Itoa(res.StatusCode)
	}
	if errType != "" {
		attrs = append(attrs, attribute.String(KeyErrorType, errType))
		a.s.SetStatus(codes.Error, errType)
	}
	a.s.SetAttributes(attrs...)
	a.s.End()
}
