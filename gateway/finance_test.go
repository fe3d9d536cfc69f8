package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/metering"
)

// financeGateway starts a gateway with a ledger, the cache on or off, in front of a
// mock upstream, and returns it with its ledger's path.
func financeGateway(t *testing.T, cacheOn bool) (*testutil.Gateway, string) {
	t.Helper()
	up := testutil.StartUpstream(t, mock.Config{})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
cache: {enabled: %t}
providers: [{name: openai, base_url: %s}]
models:
  - {name: gpt-4o-mini, provider: openai}
  - {name: text-embedding-3-small, provider: openai}
`, ledger, cacheOn, up.URL), nil)
	return g, ledger
}

func TestListingModelsWritesNoCostEvent(t *testing.T) {
	g, ledger := financeGateway(t, false)
	for _, path := range []string{"/v1/models", "/v1/models/gpt-4o-mini", "/models"} {
		req, _ := http.NewRequest("GET", g.URL+path, nil)
		if r := g.Do(t, req); r.Status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	// One priced request after the listings: the ledger must hold exactly that one.
	r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, "X-Request-Id", "spend-1")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if evs := ledgerEvents(t, ledger, 1); evs["spend-1"].RequestID == "" {
		t.Fatalf("the ledger holds %v, want only spend-1", evs)
	}
}

func TestEveryPricedAnswerCarriesItsCostHeader(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"What is the capital of France?"}]`
	cases := []struct {
		name      string
		cacheOn   bool
		path      string
		body      string
		wantCache string // the x-switchyard-cache header expected ("" for none)
	}{
		{"a sampled chat request without the cache", false, "/v1/chat/completions", `{"model":"gpt-4o-mini",` + msgs + `}`, ""},
		{"a chat request at temperature 0 (coalesced)", false, "/v1/chat/completions", `{"model":"gpt-4o-mini","temperature":0,` + msgs + `}`, ""},
		{"a chat request with a seed (coalesced)", false, "/v1/chat/completions", `{"model":"gpt-4o-mini","seed":7,` + msgs + `}`, ""},
		{"an embeddings request", false, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`, ""},
		{"an embeddings request with the cache on", true, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello again"}`, "miss"},
		{"a sampled chat request with the cache on", true, "/v1/chat/completions", `{"model":"gpt-4o-mini",` + msgs + `}`, "miss"},
		{"a deterministic chat request with the cache on", true, "/v1/chat/completions", `{"model":"gpt-4o-mini","temperature":0,` + msgs + `}`, "miss"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, ledger := financeGateway(t, c.cacheOn)
			r := g.Post(t, c.path, c.body, "X-Request-Id", "cost-1")
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			ev := ledgerEvents(t, ledger, 1)["cost-1"]
			if got := r.Header.Get("X-Switchyard-Cost-Usd"); got == "" || got != ev.Cost.String() || ev.Cost <= 0 {
				t.Errorf("x-switchyard-cost-usd %q, ledger cost %s", got, ev.Cost)
			}
			if got := r.Header.Get("X-Switchyard-Cache"); got != c.wantCache {
				t.Errorf("x-switchyard-cache %q, want %q", got, c.wantCache)
			}
		})
	}
}

func TestSavingsHaveASourceAndFallbacksClaimNone(t *testing.T) {
	ok := testutil.StartUpstream(t, mock.Config{})
	limited := testutil.StartUpstream(t, mock.Config{Status: 429, RetryAfter: "1"})
	down := testutil.StartUpstream(t, mock.Config{Status: 503})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policy, `
models:
  gpt-4o:
    fallback: [mini-backup]
    deployments: [{provider: limited}]
  gpt-4o-mini:
    fallback: [big-backup]
    deployments: [{provider: down}]
  mini-backup:
    deployments: [{provider: ok, model: gpt-4o-mini}]
  big-backup:
    deployments: [{provider: ok, model: gpt-4o}]
routes:
  - name: cheap
    match: {feature: [cheap]}
    targets: [{model: mini-backup}]
  - name: default
    targets: [{model: $requested}]
health: {failure_threshold: 1000, min_requests: 1000}
`)
	g := testutil.StartGateway(t, fmt.Sprintf(`
admin_key_env: ADMIN
policy: %s
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers:
  - {name: ok, base_url: %s}
  - {name: limited, base_url: %s}
  - {name: down, base_url: %s}
keys:
  - {name: web, key_env: WEB, team: growth, feature: search, allow_attribution_headers: true}
`, policy, ledger, ok.URL, limited.URL, down.URL), map[string]string{"WEB": "k1", "ADMIN": "adm"})
	msgs := `"messages":[{"role":"user","content":"What is the capital of France?"}]`
	cases := []struct {
		name, id, model, feature string
		source                   metering.SavingsSource
		saves                    bool // a positive saving, sent as x-switchyard-savings-usd
	}{
		{"a 429 fallback to a cheaper model claims no saving", "fb-cheap", "gpt-4o", "search", metering.SavingsFallback, false},
		{"an outage fallback to a dearer model is not a negative saving", "fb-dear", "gpt-4o-mini", "search", metering.SavingsFallback, false},
		{"the policy sending a cheaper model saves by routing", "routed", "gpt-4o", "cheap", metering.SavingsRouting, true},
	}
	for _, c := range cases {
		r := g.Post(t, "/v1/chat/completions", `{"model":"`+c.model+`",`+msgs+`}`, "Authorization", "Bearer k1",
			"X-Request-Id", c.id, "X-Switchyard-Feature", c.feature)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		if got := r.Header.Get("X-Switchyard-Savings-Usd") != ""; got != c.saves {
			t.Errorf("%s: x-switchyard-savings-usd %q", c.name, r.Header.Get("X-Switchyard-Savings-Usd"))
		}
	}
	evs := ledgerEvents(t, ledger, len(cases))
	for _, c := range cases {
		ev := evs[c.id]
		if ev.SavingsSource != c.source || (ev.Savings > 0) != c.saves || ev.Savings < 0 {
			t.Errorf("%s: source %q savings %s (served %s for %s)", c.name, ev.SavingsSource, ev.Savings, ev.ServedModel, ev.RequestedModel)
		}
	}
	req, _ := http.NewRequest("GET", g.URL+"/admin/spend?group_by=savings_source&format=json", nil)
	req.Header.Set("Authorization", "Bearer adm")
	r := g.Do(t, req)
	var rep struct {
		Rows []struct {
			Group    map[string]string `json:"group"`
			Requests int64             `json:"requests"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(r.Body, &rep); err != nil || r.Status != 200 {
		t.Fatalf("%d %s %v", r.Status, r.Body, err)
	}
	got := map[string]int64{}
	for _, row := range rep.Rows {
		got[row.Group["savings_source"]] = row.Requests
	}
	if got["fallback"] != 2 || got["routing"] != 1 || len(got) != 2 {
		t.Errorf("spend by savings source: %s", r.Body)
	}
	req, _ = http.NewRequest("GET", g.URL+"/admin/spend?report=economics", nil)
	req.Header.Set("Authorization", "Bearer adm")
	if r := g.Do(t, req); !strings.Contains(string(r.Body), "\ntotal,,3,") || !strings.Contains(string(r.Body), ",0.3333,") {
		t.Errorf("economics (one cheaper model in three requests):\n%s", r.Body)
	}
}
