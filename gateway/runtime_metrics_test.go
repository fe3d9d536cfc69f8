package gateway_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// scrapeGatewayMetrics returns GET /metrics.
func scrapeGatewayMetrics(t *testing.T, g *testutil.Gateway) string {
	t.Helper()
	req, _ := http.NewRequest("GET", g.URL+"/metrics", nil)
	r := g.Do(t, req)
	if r.Status != 200 {
		t.Fatalf("/metrics: %d %s", r.Status, r.Body)
	}
	return string(r.Body)
}

// savingsMetricLine returns the first sample line of name whose labels contain every label.
func savingsMetricLine(text, name string, labels ...string) string {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, lb := range labels {
			ok = ok && strings.Contains(l, lb)
		}
		if ok {
			return l
		}
	}
	return ""
}

func TestMetricsServeTheGoRuntimeAndTheProcess(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
telemetry: {enabled: true, traces: {exporter: none}, metrics: {exporter: none}, prometheus: {enabled: true}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
`, up.URL), nil)
	text := scrapeGatewayMetrics(t, g)
	names := []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds_count", "go_info"}
	if runtime.GOOS == "linux" {
		names = append(names, "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds")
	}
	for _, n := range names {
		if savingsMetricLine(text, n) == "" {
			t.Errorf("/metrics has no %s", n)
		}
	}
}

func TestSavingsAreLabelledWithTheProviderThatServed(t *testing.T) {
	openaiUp := testutil.StartUpstream(t, mock.Config{})
	anthropicURL := fakeAnthropic(t, "text_reply")
	g := testutil.StartGateway(t, fmt.Sprintf(`
telemetry: {enabled: true, traces: {exporter: none}, metrics: {exporter: none}, prometheus: {enabled: true}}
cache: {enabled: true}
providers:
  - {name: openai, base_url: %s}
  - {name: anthropic, kind: anthropic, base_url: %s}
models:
  - {name: gpt-4o-mini, provider: openai}
  - {name: claude-sonnet-4-5, provider: anthropic}
`, openaiUp.URL, anthropicURL), nil)
	body := `{"model":"claude-sonnet-4-5","temperature":0,"messages":[{"role":"user","content":"What is the capital of France?"}]}`
	for i, want := range []string{"miss", "hit"} {
		r := g.Post(t, "/v1/chat/completions", body, "X-Request-Id", fmt.Sprint("label-", i))
		if r.Status != 200 || r.Header.Get("X-Switchyard-Cache") != want {
			t.Fatalf("request %d: %d cache %q %s", i, r.Status, r.Header.Get("X-Switchyard-Cache"), r.Body)
		}
	}
	text := scrapeGatewayMetrics(t, g)
	if l := savingsMetricLine(text, "switchyard_savings_USD", `gen_ai_provider_name="openai"`); l != "" {
		t.Errorf("savings of an Anthropic answer labelled openai: %s", l)
	}
	if l := savingsMetricLine(text, "switchyard_savings_USD", `gen_ai_provider_name="anthropic"`); l == "" {
		t.Errorf("no savings labelled anthropic:\n%s", savingsMetricLine(text, "switchyard_savings_USD"))
	}
}
