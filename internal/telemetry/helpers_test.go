package telemetry

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
)

// wait bounds every wait for exported data in these tests.
const wait = 10 * time.Second

// startReceiver starts an OTLP receiver closed at the end of the test.
func startReceiver(t testing.TB) *otlptest.Receiver {
	t.Helper()
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close() })
	return rcv
}

// newTelemetry builds an enabled Telemetry that sends traces to rcv over OTLP/HTTP with
// Prometheus on and metric and log export off, after edit changes the config. It is
// shut down at the end of the test.
func newTelemetry(t testing.TB, rcv *otlptest.Receiver, edit func(*Config)) *Telemetry {
	t.Helper()
	cfg := Config{Enabled: true, ResourceAttributes: map[string]string{"deployment.environment.name": "test"}}
	cfg.Traces.Exporter = ExporterOTLPHTTP
	cfg.Traces.Endpoint = rcv.URL()
	cfg.Metrics.Exporter = ExporterNone
	cfg.Prometheus.Enabled = true
	if edit != nil {
		edit(&cfg)
	}
	tel, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

func ratio(r float64) *float64 { return &r }

// flush exports everything now.
func flush(t testing.TB, tel *Telemetry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := tel.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

// chatResult is a successful non-streamed chat request's result.
func chatResult() Result {
	return Result{
		StatusCode:     200,
		RequestModel:   "fast",
		ResponseModel:  "gpt-4o-mini-2024-07-18",
		Provider:       "openai",
		Usage:          provider.Usage{Reported: true, InputTokens: 12, OutputTokens: 34, CachedInputTokens: 4},
		UsageSource:    "measured",
		Feature:        "support-bot",
		Team:           "cx",
		Key:            "cx-prod",
		Route:          "fast-route",
		PolicyVersion:  "p-42",
		PromptID:       "greeting",
		PromptVersion:  "v3",
		Deployment:     "openai-eu/gpt-4o-mini",
		CacheOutcome:   "miss",
		Retries:        0,
		Fallbacks:      1,
		CostPicoUSD:    25_000_000, // $0.000025
		SavingsPicoUSD: 5_000_000,
	}
}

// runRequest drives one request through the API the way the gateway does.
func runRequest(ctx context.Context, tel *Telemetry, res Result) {
	ctx, req := tel.StartRequest(ctx, RequestInfo{Operation: OpChat, RequestID: "req-1"})
	req.SetRequestBody([]byte(`{"model":"fast","max_tokens":100,"temperature":0.2,"top_p":0.9,"messages":[{"role":"user","content":"hi"}]}`))
	p := req.Child(SpanPolicy)
	p.End()
	c := req.Child(SpanCache)
	c.SetString(KeyCacheOutcome, "miss")
	c.End()
	a := req.StartAttempt(AttemptInfo{Attempt: 1, Provider: "openai", ProviderConfig: "openai-eu",
		Deployment: "openai-eu/gpt-4o-mini", Model: "gpt-4o-mini", ServerAddress: "api.openai.com", ServerPort: 443})
	a.Inject(func(k, v string) {})
	a.End(AttemptResult{StatusCode: 200, ResponseModel: res.ResponseModel, ResponseID: "chatcmpl-1",
		FinishReasons: []string{"stop"}, Usage: res.Usage})
	req.SetResponseBody([]byte(`{"id":"chatcmpl-1","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}`))
	req.End(res)
	_ = ctx
}
