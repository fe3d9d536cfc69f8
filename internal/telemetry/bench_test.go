package telemetry

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
)

var (
	benchRequest  = []byte(`{"model":"fast","max_tokens":100,"temperature":0.2,"messages":[{"role":"user","content":"hello there"}]}`)
	benchResponse = []byte(`{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":34}}`)
)

// gatewayRequest makes every telemetry call the gateway makes for one request that is
// served by its second attempt: extract, request span, policy and cache children, two
// attempts with injection, response, cost event, end (which records the metrics).
func gatewayRequest(tel *Telemetry, headers map[string]string, res *Result, ev *CostEvent) {
	ctx := tel.Extract(context.Background(), func(k string) string { return headers[k] })
	ctx, req := tel.StartRequest(ctx, RequestInfo{Operation: OpChat, RequestID: "req-1"})
	req.SetRequestBody(benchRequest)
	p := req.Child(SpanPolicy)
	p.End()
	c := req.Child(SpanCache)
	c.End()
	var upstream [2]string
	set := func(k, v string) {
		if k == HeaderTraceparent {
			upstream[0] = v
		} else {
			upstream[1] = v
		}
	}
	a := req.StartAttempt(AttemptInfo{Attempt: 1, Provider: "openai", Deployment: "primary", Model: "gpt-4o-mini",
		ServerAddress: "api.openai.com", ServerPort: 443})
	a.Inject(set)
	a.End(AttemptResult{StatusCode: 503, ErrorType: "server_error"})
	a = req.StartAttempt(AttemptInfo{Attempt: 2, Provider: "openai", Deployment: "backup", Model: "gpt-4o-mini",
		ServerAddress: "api.openai.com", ServerPort: 443})
	a.Inject(set)
	a.End(AttemptResult{StatusCode: 200, ResponseModel: "gpt-4o-mini", Usage: res.Usage})
	req.SetResponseBody(benchResponse)
	tel.EmitCostEvent(ctx, ev)
	req.End(*res)
}

func benchInputs() (map[string]string, *Result, *CostEvent) {
	res := chatResult()
	res.Usage = provider.Usage{Reported: true, InputTokens: 12, OutputTokens: 34}
	return map[string]string{}, &res, costEvent()
}

func TestTheDisabledPathAllocatesNothing(t *testing.T) {
	headers, res, ev := benchInputs()
	headers["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for name, tel := range map[string]*Telemetry{"nil": nil, "disabled": mustDisabled(t)} {
		if n := testing.AllocsPerRun(200, func() { gatewayRequest(tel, headers, res, ev) }); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", name, n)
		}
		if tel.Enabled() {
			t.Errorf("%s: Enabled() = true", name)
		}
	}
}

func mustDisabled(t testing.TB) *Telemetry {
	tel, err := New(context.Background(), Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

func TestADisabledTelemetryDoesNothing(t *testing.T) {
	tel := mustDisabled(t)
	ctx := context.Background()
	if got := tel.Extract(ctx, func(string) string { t.Error("get called"); return "" }); got != ctx {
		t.Error("Extract changed the context")
	}
	if c, req := tel.StartRequest(ctx, RequestInfo{}); c != ctx || req != nil || req.Recording() || req.RecordsContent() {
		t.Error("StartRequest did something")
	}
	if _, err := tel.WriteMetrics(nil); err != ErrPrometheusOff {
		t.Errorf("WriteMetrics: %v", err)
	}
	if err := tel.ObserveLedgerQueue(func() int64 { return 1 }); err != nil {
		t.Error(err)
	}
	if err := tel.ForceFlush(ctx); err != nil {
		t.Error(err)
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if tel.TracerProvider() == nil || tel.MeterProvider() == nil {
		t.Error("nil providers")
	}
}

// BenchmarkRequest is the telemetry cost of one gateway request (see gatewayRequest):
// off, on with no trace sampled (metrics only), with 10% and with every trace sampled. Spans go through
// the batch processor over OTLP/HTTP to an in-process sink that discards them unread
// (so B/op and allocs/op count the exporting side, not a collector's decoding), and
// Prometheus is on. The export runs on the SDK's goroutine; its CPU counts in ns/op only
// as far as it competes with the benchmark loop.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range []struct {
		name  string
		ratio float64
		on    bool
	}{
		{"disabled", 0, false},
		{"sampling=0", 0, true}, // metrics only: the floor of an enabled gateway
		{"sampling=0.1", 0.1, true},
		{"sampling=1.0", 1, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			headers, res, ev := benchInputs()
			var tel *Telemetry
			if bc.on {
				sink, err := otlptest.StartSink()
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = sink.Close() })
				tel = newTelemetry(b, sink, func(c *Config) { c.Traces.SamplingRatio = ratio(bc.ratio) })
			} else {
				tel = mustDisabled(b)
			}
			b.ReportAllocs()
			for b.Loop() {
				gatewayRequest(tel, headers, res, ev)
			}
		})
	}
}
