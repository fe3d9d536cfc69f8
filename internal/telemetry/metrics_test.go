package telemetry

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
)

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	var buf bytes.Buffer
	ct, err := tel.WriteMetrics(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q, want the Prometheus text format", ct)
	}
	return buf.String()
}

// line returns the first exposition line that starts with name and contains every
// label, or "".
func line(text, name string, labels ...string) string {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, lb := range labels {
			if !strings.Contains(l, lb) {
				ok = false
				break
			}
		}
		if ok {
			return l
		}
	}
	return ""
}

func TestAPrometheusScrapeShowsTheRequestMetrics(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, func(c *Config) { c.Traces.SamplingRatio = ratio(0) })
	runRequest(context.Background(), tel, chatResult())
	stream := chatResult()
	stream.Stream = true
	stream.Usage = provider.Usage{Reported: true, InputTokens: 10, OutputTokens: 11}
	_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	stream.FirstTokenAt = time.Now()
	req.End(stream)
	_, bad := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	bad.End(Result{StatusCode: 404, ErrorType: "model_not_found", RequestModel: "made-up-model-1234"})
	if err := tel.ObserveUpstreams(func(yield func(UpstreamState) bool) {
		_ = yield(UpstreamState{Deployment: "openai-eu/gpt-4o-mini", Provider: "openai-eu", Circuit: CircuitOpen, InFlight: 3}) &&
			yield(UpstreamState{Deployment: "backup", Provider: "azure", Circuit: CircuitClosed})
	}); err != nil {
		t.Fatal(err)
	}
	if err := tel.ObserveLedgerQueue(func() int64 { return 17 }); err != nil {
		t.Fatal(err)
	}

	text := scrape(t, tel)
	for _, tc := range []struct {
		name   string
		labels []string
		value  string // suffix of the sample line; "" means any
	}{
		{"gen_ai_client_token_usage_bucket", []string{`gen_ai_token_type="input"`, `gen_ai_request_model="fast"`, `le="16"`}, " 2"},
		{"gen_ai_client_token_usage_sum", []string{`gen_ai_token_type="output"`, `gen_ai_provider_name="openai"`}, " 45"},
		{"gen_ai_client_operation_duration_seconds_count", []string{`gen_ai_operation_name="chat"`, `gen_ai_response_model="gpt-4o-mini-2024-07-18"`}, " 2"},
		{"gen_ai_client_operation_duration_seconds_count", []string{`error_type="model_not_found"`}, " 1"},
		{"gen_ai_server_time_to_first_token_seconds_count", nil, " 1"},
		{"gen_ai_server_time_per_output_token_seconds_count", nil, " 1"},
		{"switchyard_requests_total", []string{`switchyard_route="fast-route"`, `http_response_status_code="200"`, `gen_ai_request_model="fast"`}, " 2"},
		{"switchyard_requests_total", []string{`http_response_status_code="404"`, `gen_ai_request_model="_OTHER"`}, " 1"},
		{"switchyard_cost_USD_total", []string{`switchyard_feature="support-bot"`, `switchyard_team="cx"`}, " 5e-05"},
		{"switchyard_savings_USD", []string{`switchyard_feature="support-bot"`}, " 1e-05"},
		{"switchyard_cache_outcomes_total", []string{`switchyard_cache_outcome="miss"`, `switchyard_route="fast-route"`}, " 2"},
		{"switchyard_routed_total", []string{`switchyard_deployment="openai-eu/gpt-4o-mini"`}, " 2"},
		{"switchyard_upstream_circuit_state", []string{`switchyard_deployment="openai-eu/gpt-4o-mini"`}, " 1"},
		{"switchyard_upstream_in_flight", []string{`switchyard_deployment="openai-eu/gpt-4o-mini"`}, " 3"},
		{"switchyard_upstream_circuit_state", []string{`switchyard_deployment="backup"`}, " 0"},
		{"switchyard_ledger_queue_depth", nil, " 17"},
	} {
		l := line(text, tc.name, tc.labels...)
		if l == "" {
			t.Errorf("no %s line with %v", tc.name, tc.labels)
			continue
		}
		if !strings.HasSuffix(l, tc.value) {
			t.Errorf("%s, want value%s", l, tc.value)
		}
	}
	if strings.Contains(text, "made-up-model-1234") {
		t.Error("a model name from a request that never reached a route became a label")
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestMetricsAreExportedOverOTLP(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, func(c *Config) {
		c.Prometheus.Enabled = false
		c.Metrics.Exporter, c.Metrics.Endpoint = ExporterOTLPHTTP, rcv.URL()
		c.Metrics.Interval = time.Hour // only ForceFlush exports
	})
	runRequest(context.Background(), tel, chatResult())
	flush(t, tel)
	for _, name := range []string{MetricTokenUsage, MetricOperationTime, MetricRequests, MetricCost} {
		if _, err := rcv.WaitForMetric(name, wait); err != nil {
			t.Error(err)
		}
	}
	m := rcv.FindMetric(MetricTokenUsage)
	if m.Unit != "{token}" || m.GetHistogram() == nil {
		t.Fatalf("%s: unit %q, histogram %v", m.Name, m.Unit, m.GetHistogram() != nil)
	}
	dp := m.GetHistogram().DataPoints
	types := map[any]bool{}
	for _, p := range dp {
		types[otlptest.Value(otlptest.Attr(p.Attributes, KeyTokenType))] = true
	}
	if !types["input"] || !types["output"] {
		t.Errorf("token types %v, want input and output", types)
	}
	if _, err := tel.WriteMetrics(&bytes.Buffer{}); !errors.Is(err, ErrPrometheusOff) {
		t.Errorf("WriteMetrics with Prometheus off: %v, want ErrPrometheusOff", err)
	}
}
