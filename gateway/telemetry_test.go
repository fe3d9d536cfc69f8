package gateway_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
	"github.com/switchyard/switchyard/internal/testutil"
)

// tracedGateway starts a gateway exporting traces to an in-process OTLP receiver, with
// Prometheus on, in front of the given upstreams (primary, and backup as its fallback).
func tracedGateway(t *testing.T, primary, backup *testutil.Upstream) (*testutil.Gateway, *otlptest.Receiver) {
	t.Helper()
	rcv, err := otlptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Close() })
	policy := t.TempDir() + "/policy.yaml"
	writeFile(t, policy, `
models:
  gpt-4o-mini:
    fallback: [backup-model]
    deployments: [{provider: primary, name: primary}]
  backup-model:
    deployments: [{provider: backup, name: backup, model: gpt-4o-mini}]
routes:
  - name: default
    targets: [{model: $requested}]
retry: {max_attempts: 2}
health: {failure_threshold: 1000, min_requests: 1000}
`)
	g := testutil.StartGateway(t, fmt.Sprintf(`
policy: %s
telemetry:
  enabled: true
  traces: {exporter: otlp-http, endpoint: %s}
  metrics: {exporter: none}
  prometheus: {enabled: true}
providers:
  - {name: primary, base_url: %s}
  - {name: backup, base_url: %s}
keys:
  - {name: web, key_env: WEB, team: growth, feature: search}
`, policy, rcv.URL(), primary.URL, backup.URL), map[string]string{"WEB": "k1"})
	return g, rcv
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := osWriteFile(path, data); err != nil {
		t.Fatal(err)
	}
}

// traceOf returns the spans of the trace the server span with the given request id is in.
func traceOf(t *testing.T, g *testutil.Gateway, rcv *otlptest.Receiver, rid string) (server *tracepb.Span, spans []*tracepb.Span) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := g.FlushTelemetry(ctx); err != nil {
			t.Fatal(err)
		}
		for _, s := range rcv.Spans() {
			if s.Kind == tracepb.Span_SPAN_KIND_SERVER && otlptest.Attrs(s.Attributes)["switchyard.request.id"] == rid {
				server = s
			}
		}
		if server != nil {
			for _, s := range rcv.Spans() {
				if bytes.Equal(s.TraceId, server.TraceId) {
					spans = append(spans, s)
				}
			}
			return server, spans
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no server span for %s", rid)
	return nil, nil
}

func children(parent *tracepb.Span, spans []*tracepb.Span, kind tracepb.Span_SpanKind) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if bytes.Equal(s.ParentSpanId, parent.SpanId) && s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

func TestTracesFollowTheGenAIConventions(t *testing.T) {
	primary := testutil.StartUpstream(t, mock.Config{})
	backup := testutil.StartUpstream(t, mock.Config{})
	g, rcv := tracedGateway(t, primary, backup)
	tests := []struct {
		name       string
		body       string
		setup      func()
		status     int
		attempts   int
		errType    string
		deployment string
	}{
		{"a non-streamed request", `{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, nil, 200, 1, "", "primary"},
		{"a streamed request", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil, 200, 1, "", "primary"},
		{"a fallback after an upstream 500", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			func() { primary.SetConfig(mock.Config{Status: 500}) }, 200, 2, "", "backup"},
		{"an upstream error", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			func() { primary.SetConfig(mock.Config{Status: 400}); backup.SetConfig(mock.Config{Status: 400}) }, 400, 1, "mock_error", "primary"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			rid := fmt.Sprint("trace-", i)
			r := g.Post(t, "/v1/chat/completions", tt.body, "Authorization", "Bearer k1", "X-Request-Id", rid)
			if r.Status != tt.status {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			server, spans := traceOf(t, g, rcv, rid)
			a := otlptest.Attrs(server.Attributes)
			want := map[string]any{
				"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai",
				"switchyard.feature": "search", "switchyard.team": "growth", "switchyard.key": "web",
				"switchyard.route": "default", "switchyard.deployment": tt.deployment,
			}
			if tt.status == 200 {
				want["gen_ai.response.model"] = "gpt-4o-mini"
			}
			for k, v := range want {
				if fmt.Sprint(a[k]) != fmt.Sprint(v) {
					t.Errorf("server span %s = %v, want %v", k, a[k], v)
				}
			}
			if !strings.HasPrefix(server.Name, "chat") {
				t.Errorf("server span name %q", server.Name)
			}
			if a["switchyard.policy.version"] == nil {
				t.Error("no policy version on the server span")
			}
			if tt.status == 200 && (a["gen_ai.usage.input_tokens"] == nil || a["gen_ai.usage.output_tokens"] == nil) {
				t.Errorf("no usage on the server span: %v", a)
			}
			if tt.errType != "" && a["error.type"] != tt.errType {
				t.Errorf("error.type %v, want %s", a["error.type"], tt.errType)
			}
			if tt.attempts == 2 && fmt.Sprint(a["switchyard.fallback.count"]) != "1" {
				t.Errorf("fallback count %v", a["switchyard.fallback.count"])
			}
			if n := len(children(server, spans, tracepb.Span_SPAN_KIND_INTERNAL)); n < 1 {
				t.Errorf("%d internal child spans (policy resolution)", n)
			}
			att := children(server, spans, tracepb.Span_SPAN_KIND_CLIENT)
			if len(att) != tt.attempts {
				t.Fatalf("%d attempt spans, want %d", len(att), tt.attempts)
			}
			for _, s := range att {
				aa := otlptest.Attrs(s.Attributes)
				if aa["server.address"] != "127.0.0.1" || aa["gen_ai.request.model"] != "gpt-4o-mini" {
					t.Errorf("attempt span attributes %v", aa)
				}
			}
		})
	}
}

func TestTheUpstreamReceivesATraceparentInTheClientsTrace(t *testing.T) {
	primary := testutil.StartUpstream(t, mock.Config{})
	backup := testutil.StartUpstream(t, mock.Config{})
	g, _ := tracedGateway(t, primary, backup)
	traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
	r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		"Authorization", "Bearer k1", "Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	reqs := primary.Requests()
	tp := reqs[len(reqs)-1].Header["Traceparent"]
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[1] != traceID || parts[2] == "00f067aa0ba902b7" {
		t.Fatalf("upstream traceparent %q: want trace %s with the gateway's own span id", tp, traceID)
	}
	if _, err := hex.DecodeString(parts[2]); err != nil {
		t.Fatal(err)
	}
}

func TestPrometheusScrape(t *testing.T) {
	primary := testutil.StartUpstream(t, mock.Config{})
	backup := testutil.StartUpstream(t, mock.Config{})
	g, _ := tracedGateway(t, primary, backup)
	for range 3 {
		g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, "Authorization", "Bearer k1")
	}
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, m := range []string{"gen_ai_client_token_usage", "gen_ai_client_operation_duration", "switchyard_requests",
		"switchyard_cost", "switchyard_upstream_circuit_state"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("scrape has no %s", m)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", b)
	}
}

func osWriteFile(path, data string) error { return os.WriteFile(path, []byte(data), 0o644) }
