package telemetry

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
)

func costEvent() *CostEvent {
	return &CostEvent{
		RequestID: "req-9", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Key: "cx-prod", Team: "cx", Feature: "support-bot", Route: "fast-route", PolicyVersion: "p-42",
		RequestedModel: "fast", ServedModel: "gpt-4o-mini", Provider: "openai-eu", Deployment: "openai-eu/gpt-4o-mini",
		CacheOutcome: "miss", InputTokens: 12, OutputTokens: 34, UsageSource: "measured", PriceVersion: "2026-03",
		CostPicoUSD: 25_000_000, CounterfactualPicoUSD: 30_000_000, SavingsPicoUSD: 5_000_000, Status: 200,
	}
}

func TestCostEventsArriveAsLogRecordsInTheRequestsTrace(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, func(c *Config) { c.Logs.Exporter, c.Logs.Endpoint = ExporterOTLPHTTP, rcv.URL() })
	ctx, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	tel.EmitCostEvent(ctx, costEvent())
	req.End(chatResult())
	flush(t, tel)
	recs, err := rcv.WaitForLogs(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	spans, err := rcv.WaitForSpans(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.EventName != CostEventName {
		t.Errorf("event name %q, want %q", r.EventName, CostEventName)
	}
	if !bytes.Equal(r.TraceId, spans[0].TraceId) || !bytes.Equal(r.SpanId, spans[0].SpanId) {
		t.Errorf("log record in trace %x span %x, want the request span %x %x", r.TraceId, r.SpanId, spans[0].TraceId, spans[0].SpanId)
	}
	if got := time.Unix(0, int64(r.TimeUnixNano)).UTC(); !got.Equal(costEvent().Time) {
		t.Errorf("timestamp %v, want the request's arrival", got)
	}
	got := otlptest.Attrs(r.Attributes)
	for k, want := range map[string]any{
		KeyRequestID: "req-9", KeyFeature: "support-bot", KeyTeam: "cx", KeyRoute: "fast-route",
		KeyRequestModel: "fast", KeyResponseModel: "gpt-4o-mini", KeyDeployment: "openai-eu/gpt-4o-mini",
		KeyCost: int64(25_000_000), KeySavings: int64(5_000_000), KeyCounterfactual: int64(30_000_000),
		KeyInputTokens: int64(12), KeyOutputTokens: int64(34), KeyCacheOutcome: "miss", KeyUnpriced: false,
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	for _, s := range spans {
		for _, e := range s.Events {
			if e.Name == CostEventName {
				t.Error("with log export on, the cost event was also a span event")
			}
		}
	}
}

func TestWithoutLogExportACostEventIsASpanEventOnTheRequestSpan(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	ctx, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	tel.EmitCostEvent(ctx, costEvent())
	req.End(chatResult())
	flush(t, tel)
	spans, err := rcv.WaitForSpans(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(spans[0].Events); n != 1 || spans[0].Events[0].Name != CostEventName {
		t.Fatalf("span events %v, want one %s", spans[0].Events, CostEventName)
	}
	got := otlptest.Attrs(spans[0].Events[0].Attributes)
	if got[KeyCost] != int64(25_000_000) || got[KeyFeature] != "support-bot" {
		t.Errorf("event attributes %v", got)
	}
	if len(rcv.LogRecords()) != 0 {
		t.Error("log records arrived with log export off")
	}
}
