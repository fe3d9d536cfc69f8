package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// adminCall sends an admin request with the admin key adm.
func adminCall(t *testing.T, g *testutil.Gateway, method, pathQuery string) testutil.Response {
	t.Helper()
	req, _ := http.NewRequest(method, g.URL+pathQuery, nil)
	req.Header.Set("Authorization", "Bearer adm")
	return g.Do(t, req)
}

func TestAdminRoutesRejectUnknownQueryParameters(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
admin_key_env: ADMIN
cache: {enabled: true}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o, provider: openai}]
rate_limits: {rules: [{scope: team, rpm: 100}]}
`, up.URL), map[string]string{"ADMIN": "adm"})
	body := `{"model":"gpt-4o","temperature":0,"messages":[{"role":"user","content":"hi"}]}`
	if r := g.Post(t, "/v1/chat/completions", body); r.Status != 200 || r.Header.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("%d %s %v", r.Status, r.Body, r.Header)
	}
	tests := []struct {
		name, method, pathQuery, param string
	}{
		{"a misspelt cache filter purges nothing", "DELETE", "/admin/cache?modle=gpt-4o", "modle"},
		{"a misspelt spend grouping is not ignored", "GET", "/admin/spend?groupby=feature", "groupby"},
		{"the policy route takes no parameters", "GET", "/admin/policy?verbose=1", "verbose"},
		{"the limits route takes only key, team and feature", "GET", "/admin/limits?teams=x", "teams"},
		{"a known parameter does not excuse an unknown one", "DELETE", "/admin/cache?model=gpt-4o&tennant=web", "tennant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := adminCall(t, g, tt.method, tt.pathQuery)
			var e struct {
				Error struct{ Code, Param string }
			}
			_ = json.Unmarshal(r.Body, &e)
			if r.Status != 400 || e.Error.Code != "unknown_parameter" || e.Error.Param != tt.param {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	if r := g.Post(t, "/v1/chat/completions", body); r.Header.Get("X-Switchyard-Cache") != "hit" {
		t.Fatalf("the cache entry is gone after rejected purges: %v", r.Header)
	}
	if r := adminCall(t, g, "DELETE", "/admin/cache?model=gpt-4o"); r.Status != 200 || string(r.Body) != `{"purged":1}` {
		t.Fatalf("a correct purge: %d %s", r.Status, r.Body)
	}
}

func TestWithoutAnAdminKeyEveryAdminRouteIsNotFoundWhateverTheMethod(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
cache: {enabled: true}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o, provider: openai}]
`, up.URL), nil)
	for _, path := range []string{"/admin/policy", "/admin/spend", "/admin/cache", "/admin/limits"} {
		for _, method := range []string{"GET", "POST", "DELETE", "PUT"} {
			if r := adminCall(t, g, method, path); r.Status != 404 || !strings.Contains(string(r.Body), "unknown_url") {
				t.Errorf("%s %s: %d %s", method, path, r.Status, r.Body)
			}
		}
	}
}

func TestAdminLimitsReportsEachRuleWithUsageCapAndReset(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
admin_key_env: ADMIN
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
keys:
  - {name: web, key_env: WEB, team: growth, feature: search}
rate_limits:
  rules:
    - {scope: team, match: "*", rpm: 5, daily_spend: "1"}
    - {scope: key, match: web, tpm: 10000, mode: soft}
`, up.URL), map[string]string{"ADMIN": "adm", "WEB": "k1"})
	for range 2 {
		if r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			"Authorization", "Bearer k1"); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	r := adminCall(t, g, "GET", "/admin/limits?team=research")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var got struct {
		Limits []struct {
			Scope, Match, Value, Mode, Limit string
			Cap, Used, Remaining             *int64
			CapUSD                           string `json:"cap_usd"`
			UsedUSD                          string `json:"used_usd"`
			ResetsAt                         string `json:"resets_at"`
			ResetSeconds                     int64  `json:"reset_seconds"`
		}
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, l := range got.Limits {
		k := l.Scope + "=" + l.Value + " " + l.Limit
		switch {
		case l.Cap != nil:
			seen[k] = fmt.Sprintf("%s %d/%d left %d", l.Mode, *l.Used, *l.Cap, *l.Remaining)
		default:
			seen[k] = fmt.Sprintf("%s $%s/$%s", l.Mode, l.UsedUSD, l.CapUSD)
		}
		if l.ResetsAt == "" || l.ResetSeconds <= 0 || (l.Limit == "rpm" && l.ResetSeconds > 60) {
			t.Errorf("%s resets at %q in %ds", k, l.ResetsAt, l.ResetSeconds)
		}
	}
	if seen["team=growth rpm"] != "hard 2/5 left 3" || seen["team=research rpm"] != "hard 0/5 left 5" ||
		!strings.HasPrefix(seen["team=growth daily_spend"], "hard $0.0000") || seen["team=growth daily_spend"] == "hard $0.00/$1.00" ||
		!strings.HasPrefix(seen["key=web tpm"], "soft ") || len(seen) != 5 {
		t.Fatalf("limits:\n%v\n%s", seen, r.Body)
	}
}
