package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/telemetry/otlptest"
	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/metering"
)

// The three APIs' request bodies for the same question, to a chat-only upstream.
const (
	dialectChatBody      = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}`
	dialectResponsesBody = `{"model":"gpt-4o-mini","input":"Say hello","store":false}`
	dialectMessagesBody  = `{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Say hello"}]}`
)

func TestEachAPIsRequestsLandInTheLedgerWithTheirDialectAndExportByIt(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
admin_key_env: ADMIN
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
keys: [{name: app, key_env: KA, team: a, feature: agents}]
`, ledger, up.URL), map[string]string{"KA": "ka", "ADMIN": "adm"})
	tests := []struct {
		name, id, path, body, dialect string
		headers                       []string
	}{
		{"a Chat Completions request is chat", "d-chat", "/v1/chat/completions", dialectChatBody, metering.DialectChat, nil},
		{"a Responses API request is responses", "d-resp", "/v1/responses", dialectResponsesBody, metering.DialectResponses, nil},
		{"a Messages API request is messages", "d-msg", "/v1/messages", dialectMessagesBody, metering.DialectMessages, []string{"anthropic-version", "2023-06-01"}},
		{"a streamed Messages API request is messages too", "d-msg-stream", "/v1/messages",
			strings.Replace(dialectMessagesBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1), metering.DialectMessages, []string{"anthropic-version", "2023-06-01"}},
	}
	for _, tt := range tests {
		r := g.Post(t, tt.path, tt.body, append([]string{"Authorization", "Bearer ka", "X-Request-Id", tt.id}, tt.headers...)...)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", tt.name, r.Status, r.Body)
		}
	}
	evs := ledgerEvents(t, ledger, len(tests))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ev := evs[tt.id]; ev.Dialect != tt.dialect || ev.Tokens.Output == 0 {
				t.Errorf("ledger event dialect %q, %d output tokens; want %q with tokens", ev.Dialect, ev.Tokens.Output, tt.dialect)
			}
		})
	}

	req, _ := http.NewRequest("GET", g.URL+"/admin/spend?group_by=dialect&format=json", nil)
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
		got[row.Group["dialect"]] = row.Requests
	}
	if got["chat"] != 1 || got["responses"] != 1 || got["messages"] != 2 || len(got) != 3 {
		t.Errorf("spend by dialect: %s", r.Body)
	}
}

func TestARouteMatchingTheMessagesAPISendsItsRequestsToAnotherModel(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policy, `
models:
  gpt-4o-mini: {deployments: [{provider: openai}]}
  claude-code-tier: {deployments: [{provider: openai, model: gpt-4o}]}
routes:
  - name: agents
    match: {api: [messages]}
    targets: [{model: claude-code-tier}]
  - name: default
    targets: [{model: $requested}]
`)
	g := testutil.StartGateway(t, fmt.Sprintf(`
policy: %s
providers: [{name: openai, base_url: %s}]
`, policy, up.URL), nil)
	tests := []struct {
		name, path, body, route, upstreamModel string
	}{
		{"a Messages API request takes the route matching messages", "/v1/messages", dialectMessagesBody, "agents", "gpt-4o"},
		{"a Chat Completions request keeps the default route", "/v1/chat/completions", dialectChatBody, "default", "gpt-4o-mini"},
		{"a Responses API request keeps the default route", "/v1/responses", dialectResponsesBody, "default", "gpt-4o-mini"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.Requests())
			r := g.Post(t, tt.path, tt.body, "anthropic-version", "2023-06-01")
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if got := r.Header.Get("X-Switchyard-Route"); got != tt.route {
				t.Errorf("route %q, want %q", got, tt.route)
			}
			reqs := up.Requests()
			if len(reqs) != before+1 {
				t.Fatalf("the upstream got %d requests, want 1", len(reqs)-before)
			}
			var sent struct {
				Model string `json:"model"`
			}
			if err := json.Unmarshal(reqs[len(reqs)-1].Body, &sent); err != nil || sent.Model != tt.upstreamModel {
				t.Errorf("the upstream was asked for %q (%v), want %q", sent.Model, err, tt.upstreamModel)
			}
		})
	}
}

func TestTheCostEventOfAMessagesRequestCarriesItsDialect(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g, rcv := tracedGateway(t, up, up)
	r := g.Post(t, "/v1/messages", dialectMessagesBody, "Authorization", "Bearer k1", "X-Request-Id", "otel-msg",
		"anthropic-version", "2023-06-01")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	_, spans := traceOf(t, g, rcv, "otel-msg")
	for _, s := range spans {
		for _, e := range s.Events {
			if e.Name == telemetry.CostEventName {
				if got := otlptest.Attrs(e.Attributes)[telemetry.KeyDialect]; got != "messages" {
					t.Errorf("%s = %#v, want messages", telemetry.KeyDialect, got)
				}
				return
			}
		}
	}
	t.Fatal("no cost event in the request's trace")
}

func TestTheRequestLogNamesADialectsAPI(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
`, up.URL), nil)
	if r := g.Post(t, "/v1/messages", `{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	waitLog(t, g, `"api":"messages"`)
}
