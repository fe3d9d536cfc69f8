package telemetry

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
)

// byName indexes spans by name; a name seen twice fails the test.
func byName(t *testing.T, spans []*tracepb.Span) map[string]*tracepb.Span {
	t.Helper()
	m := map[string]*tracepb.Span{}
	for _, s := range spans {
		if _, dup := m[s.Name]; dup {
			t.Fatalf("span %q arrived twice", s.Name)
		}
		m[s.Name] = s
	}
	return m
}

func wantAttrs(t *testing.T, span *tracepb.Span, want map[string]any) {
	t.Helper()
	got := otlptest.Attrs(span.Attributes)
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("span %q: no attribute %s (want %v)", span.Name, k, w)
			continue
		}
		if !equalValue(g, w) {
			t.Errorf("span %q: %s = %#v, want %#v", span.Name, k, g, w)
		}
	}
}

func equalValue(got, want any) bool {
	switch w := want.(type) {
	case int:
		return got == int64(w)
	case []string:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if g[i] != w[i] {
				return false
			}
		}
		return true
	}
	return got == want
}

func noAttr(t *testing.T, span *tracepb.Span, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v := otlptest.Attr(span.Attributes, k); v != nil {
			t.Errorf("span %q: attribute %s = %v, want none", span.Name, k, v)
		}
	}
}

func TestARequestArrivesAsServerSpanWithChildrenAndAClientAttemptSpan(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	runRequest(context.Background(), tel, chatResult())
	flush(t, tel)
	spans, err := rcv.WaitForSpans(4, wait)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, spans)
	req, policy, cache, attempt := m["chat fast"], m[SpanPolicy], m[SpanCache], m["chat gpt-4o-mini"]
	for name, s := range map[string]*tracepb.Span{"chat fast": req, SpanPolicy: policy, SpanCache: cache, "chat gpt-4o-mini": attempt} {
		if s == nil {
			t.Fatalf("no span %q among %d spans", name, len(spans))
		}
	}
	if len(req.ParentSpanId) != 0 {
		t.Errorf("request span has parent %x, want a root", req.ParentSpanId)
	}
	for _, child := range []*tracepb.Span{policy, cache, attempt} {
		if !bytes.Equal(child.TraceId, req.TraceId) || !bytes.Equal(child.ParentSpanId, req.SpanId) {
			t.Errorf("span %q: trace %x parent %x, want trace %x parent %x", child.Name, child.TraceId, child.ParentSpanId, req.TraceId, req.SpanId)
		}
	}
	kinds := map[*tracepb.Span]tracepb.Span_SpanKind{
		req: tracepb.Span_SPAN_KIND_SERVER, policy: tracepb.Span_SPAN_KIND_INTERNAL,
		cache: tracepb.Span_SPAN_KIND_INTERNAL, attempt: tracepb.Span_SPAN_KIND_CLIENT,
	}
	for s, k := range kinds {
		if s.Kind != k {
			t.Errorf("span %q kind %v, want %v", s.Name, s.Kind, k)
		}
	}
	wantAttrs(t, req, map[string]any{
		KeyOperation: "chat", KeyRequestModel: "fast", KeyResponseModel: "gpt-4o-mini-2024-07-18",
		KeyProvider: "openai", KeyResponseID: "chatcmpl-1", KeyFinishReasons: []string{"stop"},
		KeyInputTokens: 12, KeyOutputTokens: 34, KeyCacheRead: 4,
		KeyMaxTokens: 100, KeyTemperature: 0.2, KeyTopP: 0.9, KeyStream: false,
		KeyHTTPStatus: 200, KeyRequestID: "req-1",
		KeyFeature: "support-bot", KeyTeam: "cx", KeyKey: "cx-prod", KeyRoute: "fast-route",
		KeyPolicyVersion: "p-42", KeyPromptID: "greeting", KeyPromptVersion: "v3",
		KeyDeployment: "openai-eu/gpt-4o-mini", KeyCacheOutcome: "miss", KeyUsageSource: "measured",
		KeyRetryCount: 0, KeyFallbackCount: 1, KeyCost: 25_000_000, KeySavings: 5_000_000,
	})
	noAttr(t, req, KeyErrorType, KeyInputMessages, KeyOutputMessages)
	if req.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("request span status %v, want unset", req.Status)
	}
	wantAttrs(t, cache, map[string]any{KeyCacheOutcome: "miss"})
	wantAttrs(t, attempt, map[string]any{
		KeyOperation: "chat", KeyProvider: "openai", KeyRequestModel: "gpt-4o-mini",
		KeyServerAddress: "api.openai.com", KeyServerPort: 443, KeyDeployment: "openai-eu/gpt-4o-mini",
		KeyProviderConfig: "openai-eu", KeyAttempt: 1, KeyHTTPStatus: 200,
		KeyResponseModel: "gpt-4o-mini-2024-07-18", KeyResponseID: "chatcmpl-1",
		KeyFinishReasons: []string{"stop"}, KeyInputTokens: 12, KeyOutputTokens: 34,
	})
	rs := rcv.ResourceSpans()
	if got := otlptest.Value(otlptest.Attr(rs[0].Resource.Attributes, "service.name")); got != "switchyard" {
		t.Errorf("service.name = %v, want switchyard", got)
	}
	if got := otlptest.Value(otlptest.Attr(rs[0].Resource.Attributes, "deployment.environment.name")); got != "test" {
		t.Errorf("deployment.environment.name = %v, want test", got)
	}
}

func TestAStreamRecordsStreamAttributesOnBothSpans(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	ctx, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	req.SetRequestBody([]byte(`{"model":"fast","stream":true,"max_completion_tokens":50}`))
	a := req.StartAttempt(AttemptInfo{Attempt: 1, Provider: "anthropic", Model: "claude-x", Stream: true})
	// The relay ends the attempt and the request on another goroutine.
	done := make(chan struct{})
	go func() {
		defer close(done)
		u := provider.Usage{Reported: true, InputTokens: 5, OutputTokens: 9}
		a.End(AttemptResult{StatusCode: 200, Usage: u})
		res := chatResult()
		res.Stream, res.Usage, res.FirstTokenAt = true, u, time.Now()
		res.ResponseID, res.FinishReasons = "msg_1", []string{"length"}
		req.End(res)
	}()
	<-done
	_ = ctx
	flush(t, tel)
	spans, err := rcv.WaitForSpans(2, wait)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, spans)
	wantAttrs(t, m["chat fast"], map[string]any{KeyStream: true, KeyMaxTokens: 50, KeyOutputTokens: 9,
		KeyResponseID: "msg_1", KeyFinishReasons: []string{"length"}})
	wantAttrs(t, m["chat claude-x"], map[string]any{KeyStream: true, KeyProvider: "anthropic", KeyOutputTokens: 9})
}

func TestAFallbackShowsTheFailedAndTheServingAttempt(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	a1 := req.StartAttempt(AttemptInfo{Attempt: 1, Provider: "openai", Deployment: "primary", Model: "m-primary"})
	a1.End(AttemptResult{StatusCode: 503, ErrorType: "server_error"})
	a2 := req.StartAttempt(AttemptInfo{Attempt: 2, Provider: "openai", Deployment: "backup", Model: "m-backup"})
	a2.End(AttemptResult{StatusCode: 200})
	res := chatResult()
	res.Deployment, res.Fallbacks = "backup", 1
	req.End(res)
	flush(t, tel)
	spans, err := rcv.WaitForSpans(3, wait)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, spans)
	root, first, second := m["chat fast"], m["chat m-primary"], m["chat m-backup"]
	if root == nil || first == nil || second == nil {
		t.Fatalf("spans %v", m)
	}
	for _, s := range []*tracepb.Span{first, second} {
		if !bytes.Equal(s.ParentSpanId, root.SpanId) {
			t.Errorf("attempt %q is not a child of the request span", s.Name)
		}
	}
	if first.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("failed attempt status %v, want error", first.Status)
	}
	wantAttrs(t, first, map[string]any{KeyErrorType: "server_error", KeyHTTPStatus: 503, KeyAttempt: 1})
	wantAttrs(t, second, map[string]any{KeyHTTPStatus: 200, KeyAttempt: 2})
	noAttr(t, second, KeyErrorType)
	wantAttrs(t, root, map[string]any{KeyFallbackCount: 1, KeyDeployment: "backup"})
}

func TestAnUpstreamErrorMarksTheRequestSpanFailed(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	a := req.StartAttempt(AttemptInfo{Attempt: 1, Provider: "openai", Model: "m"})
	a.End(AttemptResult{ErrorType: "timeout"})
	req.End(Result{StatusCode: 504, ErrorType: "upstream_timeout", RequestModel: "fast", Route: "r", Provider: "openai"})
	flush(t, tel)
	spans, err := rcv.WaitForSpans(2, wait)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, spans)
	root, attempt := m["chat fast"], m["chat m"]
	if root.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || root.Status.Message != "upstream_timeout" {
		t.Errorf("request span status %v, want error upstream_timeout", root.Status)
	}
	wantAttrs(t, root, map[string]any{KeyErrorType: "upstream_timeout", KeyHTTPStatus: 504})
	noAttr(t, root, KeyInputTokens, KeyCost)
	wantAttrs(t, attempt, map[string]any{KeyErrorType: "timeout"})
	noAttr(t, attempt, KeyHTTPStatus)
}

func TestAClientErrorIsTypedButNotAServerSpanError(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, nil)
	_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpEmbeddings})
	req.End(Result{StatusCode: 401, RequestModel: "e"})
	flush(t, tel)
	spans, err := rcv.WaitForSpans(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	s := spans[0]
	if s.Name != "embeddings e" || s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("span %q status %v, want \"embeddings e\" not an error", s.Name, s.Status)
	}
	wantAttrs(t, s, map[string]any{KeyErrorType: "401", KeyOperation: "embeddings"})
}

func TestSamplingRatioDecidesWhichTracesAreExported(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ratio float64
		want  int
	}{
		{"ratio 0 exports nothing", 0, 0},
		{"ratio 1 exports every span", 1, 20 * 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := startReceiver(t)
			tel := newTelemetry(t, rcv, func(c *Config) { c.Traces.SamplingRatio = ratio(tc.ratio) })
			for range 20 {
				runRequest(context.Background(), tel, chatResult())
			}
			flush(t, tel) // returns once the exporter has sent what it had
			if got := len(rcv.Spans()); got != tc.want {
				t.Errorf("%d spans exported, want %d", got, tc.want)
			}
			if errs := rcv.Errors(); len(errs) > 0 {
				t.Errorf("receiver errors: %v", errs)
			}
		})
	}
}

func TestAnUnsampledRequestStillPropagatesItsTrace(t *testing.T) {
	rcv := startReceiver(t)
	tel := newTelemetry(t, rcv, func(c *Config) { c.Traces.SamplingRatio = ratio(0) })
	_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	if req.Recording() {
		t.Fatal("request recording at ratio 0")
	}
	var tp string
	req.StartAttempt(AttemptInfo{}).Inject(func(k, v string) {
		if k == HeaderTraceparent {
			tp = v
		}
	})
	if len(tp) != 55 || tp[53:] != "00" {
		t.Errorf("traceparent %q, want a valid unsampled one", tp)
	}
	req.End(chatResult())
}

func TestATraceparentContinuesTheClientsTraceToTheUpstream(t *testing.T) {
	rcv := startReceiver(t)
	// Ratio 0: the client's sampled flag alone must make the trace recorded.
	tel := newTelemetry(t, rcv, func(c *Config) { c.Traces.SamplingRatio = ratio(0) })
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	headers := map[string]string{
		"traceparent": "00-" + traceID + "-" + parentID + "-01",
		"tracestate":  "vendor=opaque",
	}
	ctx := tel.Extract(context.Background(), func(k string) string { return headers[k] })
	ctx, req := tel.StartRequest(ctx, RequestInfo{Operation: OpChat})
	if !req.Recording() {
		t.Fatal("a sampled parent did not make the request recorded")
	}
	a := req.StartAttempt(AttemptInfo{Attempt: 1, Model: "m"})
	upstream := map[string]string{}
	a.Inject(func(k, v string) { upstream[k] = v })
	fromCtx := map[string]string{}
	Inject(ctx, func(k, v string) { fromCtx[k] = v })
	a.End(AttemptResult{StatusCode: 200})
	req.End(chatResult())
	flush(t, tel)
	spans, err := rcv.WaitForSpans(2, wait)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, spans)
	root, attempt := m["chat fast"], m["chat m"]
	if hex.EncodeToString(root.TraceId) != traceID || hex.EncodeToString(root.ParentSpanId) != parentID {
		t.Errorf("request span trace %x parent %x, want %s %s", root.TraceId, root.ParentSpanId, traceID, parentID)
	}
	want := "00-" + traceID + "-" + hex.EncodeToString(attempt.SpanId) + "-01"
	if upstream["traceparent"] != want {
		t.Errorf("upstream traceparent %q, want %q", upstream["traceparent"], want)
	}
	if upstream["tracestate"] != "vendor=opaque" {
		t.Errorf("upstream tracestate %q, want vendor=opaque", upstream["tracestate"])
	}
	wantCtx := "00-" + traceID + "-" + hex.EncodeToString(root.SpanId) + "-01"
	if fromCtx["traceparent"] != wantCtx {
		t.Errorf("Inject(request ctx) traceparent %q, want %q", fromCtx["traceparent"], wantCtx)
	}
}

func TestContentIsRecordedOnlyWhenOptedInAndThenTruncated(t *testing.T) {
	long := bytes.Repeat([]byte("é"), 40) // 80 bytes of two-byte runes
	body := []byte(`{"model":"fast","messages":[{"role":"user","content":"` + string(long) + `"}]}`)
	resp := []byte(`{"id":"x","choices":[{"message":{"role":"assistant","content":"short"},"finish_reason":"stop"}]}`)
	for _, tc := range []struct {
		name   string
		record bool
	}{
		{"off by default", false},
		{"on when opted in, truncated to content_max_bytes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := startReceiver(t)
			tel := newTelemetry(t, rcv, func(c *Config) { c.RecordContent, c.ContentMaxBytes = tc.record, 48 })
			_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
			if req.RecordsContent() != tc.record {
				t.Errorf("RecordsContent() = %v, want %v", req.RecordsContent(), tc.record)
			}
			req.SetRequestBody(body)
			req.SetResponseBody(resp)
			req.End(chatResult())
			flush(t, tel)
			spans, err := rcv.WaitForSpans(1, wait)
			if err != nil {
				t.Fatal(err)
			}
			s := spans[0]
			if !tc.record {
				noAttr(t, s, KeyInputMessages, KeyOutputMessages, KeyContentTruncated)
				return
			}
			in, _ := otlptest.Value(otlptest.Attr(s.Attributes, KeyInputMessages)).(string)
			if len(in) > 48 || len(in) < 46 || !bytes.HasPrefix(body[bytes.Index(body, []byte(`[`)):], []byte(in)) {
				t.Errorf("input messages %q (%d bytes), want the first ≤48 bytes of the messages", in, len(in))
			}
			for _, r := range in {
				if r == '\uFFFD' {
					t.Errorf("input messages %q cut inside a rune", in)
				}
			}
			wantAttrs(t, s, map[string]any{
				KeyContentTruncated: true,
				KeyOutputMessages:   `[{"role":"assistant","content":"short"}]`,
			})
		})
	}
}

func TestExportFailuresGoToTheGatewaysLogger(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	c := Config{Enabled: true}
	c.Traces.Endpoint, c.Traces.Insecure, c.Traces.Timeout = "127.0.0.1:1", true, 300*time.Millisecond
	c.Metrics.Exporter = ExporterNone
	tel, err := New(context.Background(), c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	_, req := tel.StartRequest(context.Background(), RequestInfo{Operation: OpChat})
	req.End(chatResult())
	flush(t, tel)
	if !strings.Contains(logs.String(), "span export failed") {
		t.Errorf("log %q, want the export failure", logs.String())
	}
}

// syncWriter serialises writes from the exporter's goroutine and the test.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
