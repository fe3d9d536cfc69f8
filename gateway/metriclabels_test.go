package gateway_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// labelledGateway starts a gateway with Prometheus on, a "*" model passing any name to
// the upstream, one configured model with an alias, a route matching a feature and a
// team, and a key allowed to set its attribution by header.
func labelledGateway(t *testing.T) *testutil.Gateway {
	t.Helper()
	up := testutil.StartUpstream(t, mock.Config{})
	policy := t.TempDir() + "/policy.yaml"
	writeFile(t, policy, `
models:
  gpt-4o-mini:
    aliases: [mini]
    deployments: [{provider: up, name: up-mini}]
  "*":
    deployments: [{provider: up, name: up-any}]
routes:
  - name: support
    match: {feature: [support-bot], team: [cx]}
    targets: [{model: $requested}]
  - name: default
    targets: [{model: $requested}]
`)
	return testutil.StartGateway(t, fmt.Sprintf(`
policy: %s
telemetry:
  enabled: true
  traces: {exporter: none}
  metrics: {exporter: none}
  prometheus: {enabled: true}
providers:
  - {name: up, base_url: %s}
keys:
  - {name: web, key_env: WEB, team: growth, feature: search, allow_attribution_headers: true}
`, policy, up.URL), map[string]string{"WEB": "k1"})
}

// scrapeMetrics returns the gateway's /metrics text.
func scrapeMetrics(t *testing.T, g *testutil.Gateway) string {
	t.Helper()
	resp, err := g.HTTP.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

var labelPair = regexp.MustCompile(`([a-z_]+)="((?:[^"\\]|\\.)*)"`)

// labelValues returns, per label name, the distinct values in a Prometheus text body.
func labelValues(text string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, m := range labelPair.FindAllStringSubmatch(line, -1) {
			if out[m[1]] == nil {
				out[m[1]] = map[string]bool{}
			}
			out[m[1]][m[2]] = true
		}
	}
	return out
}

func sortedSet(s map[string]bool) []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestClientChosenNamesNeverBecomeMetricSeries sends 20,000 requests with random model
// names (served through the "*" model) and random x-switchyard-feature and
// x-switchyard-team headers, mixed with configured ones. Every model, feature and team
// label on /metrics must then be a configured value or _OTHER, and the configured values
// that were used must appear as themselves.
func TestClientChosenNamesNeverBecomeMetricSeries(t *testing.T) {
	g := labelledGateway(t)
	before := len(scrapeMetrics(t, g))
	const total, workers = 20000, 8
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := w; i < total; i += workers {
				model := fmt.Sprintf("model-%016x", r.Uint64())
				feature, team := fmt.Sprintf("f%x", r.Uint64()), fmt.Sprintf("t%x", r.Uint64())
				switch i % 10 {
				case 0:
					model, feature, team = "gpt-4o-mini", "support-bot", "cx"
				case 1:
					model = "mini" // an alias, priced: its cost carries the random feature and team
				case 2:
					model = "gpt-4o-mini"
				}
				body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
				req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer k1")
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Switchyard-Feature", feature)
				req.Header.Set("X-Switchyard-Team", team)
				resp, err := g.HTTP.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Sprintf("%s: status %d", model, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	text := scrapeMetrics(t, g)
	t.Logf("/metrics: %d bytes before, %d bytes after %d requests", before, len(text), total)
	vals := labelValues(text)
	allowed := map[string][]string{
		"gen_ai_request_model":  {"gpt-4o-mini", "mini", "_OTHER"},
		"gen_ai_response_model": {"gpt-4o-mini", "_OTHER"},
		"switchyard_feature":    {"support-bot", "search", "default", "_OTHER"},
		"switchyard_team":       {"cx", "growth", "default", "_OTHER"},
	}
	want := map[string][]string{
		"gen_ai_request_model":  {"gpt-4o-mini", "mini", "_OTHER"},
		"gen_ai_response_model": {"gpt-4o-mini", "_OTHER"},
		"switchyard_feature":    {"support-bot", "_OTHER"},
		"switchyard_team":       {"cx", "_OTHER"},
	}
	for label, ok := range allowed {
		got := vals[label]
		for v := range got {
			if !contains(ok, v) {
				t.Errorf("%s has the client-chosen value %q (%d distinct values in all)", label, v, len(got))
				break
			}
		}
		for _, v := range want[label] {
			if !got[v] {
				some := sortedSet(got)
				t.Errorf("%s has no %q value; it has %d, first %v", label, v, len(some), some[:min(len(some), 10)])
			}
		}
	}
	if len(text) > 64<<10 {
		t.Errorf("/metrics is %d bytes after %d requests, want a few KiB", len(text), total)
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
