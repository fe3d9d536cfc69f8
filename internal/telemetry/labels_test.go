package telemetry

import (
	"context"
	"strings"
	"testing"
)

func TestLabelsFoldUnknownValues(t *testing.T) {
	l := NewLabels([]string{"fast", "gpt-4o-mini-2024-07-18", ""}, []string{"support-bot"}, []string{"cx", "cx"})
	for _, tc := range []struct {
		name, got, want string
	}{
		{"A configured model is itself.", l.Model("fast"), "fast"},
		{"An unknown model is _OTHER.", l.Model("made-up"), OtherValue},
		{"An empty value stays empty.", l.Model(""), ""},
		{"A configured feature is itself.", l.Feature("support-bot"), "support-bot"},
		{"A model name is not a feature.", l.Feature("fast"), OtherValue},
		{"A configured team is itself.", l.Team("cx"), "cx"},
		{"An unknown team is _OTHER.", l.Team("growth"), OtherValue},
	} {
		if tc.got != tc.want {
			t.Errorf("%s got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if m, f, tm := l.Len(); m != 2 || f != 1 || tm != 1 {
		t.Errorf("Len = %d, %d, %d; want 2, 1, 1", m, f, tm)
	}
}

func TestMetricsRecordOnlyKnownLabelValues(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, func(c *Config) { c.Traces.SamplingRatio = ratio(0) })
	tel.SetLabels(NewLabels([]string{"fast", "gpt-4o-mini-2024-07-18"}, []string{"support-bot"}, []string{"cx"}))
	runRequest(context.Background(), tel, chatResult())
	odd := chatResult()
	odd.RequestModel, odd.ResponseModel, odd.Feature, odd.Team = "client-model-1", "client-model-1", "f-123", "t-456"
	runRequest(context.Background(), tel, odd)
	text := scrape(t, tel)
	for _, tc := range []struct {
		name   string
		labels []string
	}{
		{"switchyard_requests_total", []string{`gen_ai_request_model="fast"`}},
		{"switchyard_requests_total", []string{`gen_ai_request_model="_OTHER"`}},
		{"gen_ai_client_operation_duration_seconds_count", []string{`gen_ai_request_model="_OTHER"`, `gen_ai_response_model="_OTHER"`}},
		{"switchyard_cost_USD_total", []string{`switchyard_feature="support-bot"`, `switchyard_team="cx"`}},
		{"switchyard_cost_USD_total", []string{`switchyard_feature="_OTHER"`, `switchyard_team="_OTHER"`, `gen_ai_response_model="_OTHER"`}},
	} {
		if line(text, tc.name, tc.labels...) == "" {
			t.Errorf("no %s line with %v", tc.name, tc.labels)
		}
	}
	for _, v := range []string{"client-model-1", "f-123", "t-456"} {
		if strings.Contains(text, v) {
			t.Errorf("the unknown value %q became a label", v)
		}
	}
}
