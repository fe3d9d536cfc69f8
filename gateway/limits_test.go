package gateway_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

func TestASmallBudgetIsSpentBeforeRequestsAreDenied(t *testing.T) {
	// Each answer costs about $0.0000074 (9 prompt and 10 output tokens of gpt-4o-mini).
	// Estimating 256 output tokens (about $0.000155) denied the 8th request with a quarter
	// of the $0.0002 budget spent; the route's running average lets about 25 through.
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: none}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
rate_limits: {rules: [{scope: team, daily_spend: "0.0002"}]}
`, up.URL), nil)
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}]}`
	var spent float64
	for i := range 20 {
		r := g.Post(t, "/v1/chat/completions", body)
		if r.Status != 200 {
			t.Fatalf("request %d denied with $%.7f of $0.0002 spent: %d %s", i+1, spent, r.Status, r.Body)
		}
		c, _ := strconv.ParseFloat(r.Header.Get("X-Switchyard-Cost-Usd"), 64)
		spent += c
	}
	// max_tokens is the output estimate when given: 1000 tokens ($0.0006) cannot fit.
	r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 429 || !strings.Contains(string(r.Body), "budget_exceeded") {
		t.Fatalf("max_tokens 1000 against $0.0002: %d %s", r.Status, r.Body)
	}
}

func TestAnswersFromALimitedRouteCarryOpenAIRateLimitHeaders(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}, {name: text-embedding-3-small, provider: openai}]
rate_limits:
  rules:
    - {scope: key, rpm: 3, tpm: 100000}
    - {scope: team, rpm: 1000, mode: shadow}
`, up.URL), nil)
	chat := `{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`
	cases := []struct {
		name, path, body   string
		status             int
		requestsLeft       string
		tokensLeftAtMost   int // the estimate counts: 100000 − prompt − max_tokens
		tokensLeftAtLeast  int
		wantTokenHeaderSet bool
	}{
		{"a plain answer", "/v1/chat/completions", chat, 200, "2", 100000 - 50, 100000 - 80, true},
		{"a streamed answer", "/v1/chat/completions", strings.Replace(chat, `"max_tokens"`, `"stream":true,"max_tokens"`, 1), 200, "1", 100000 - 50 - 10, 99000, true},
		{"an embeddings answer", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`, 200, "0", 99999, 99000, true},
		{"the denial once the minute's requests are used", "/v1/chat/completions", chat, 429, "0", 0, 0, false},
	}
	for _, c := range cases {
		r := g.Post(t, c.path, c.body)
		h := r.Header
		if r.Status != c.status {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		if h.Get("X-Ratelimit-Limit-Requests") != "3" || h.Get("X-Ratelimit-Remaining-Requests") != c.requestsLeft {
			t.Errorf("%s: requests limit %q remaining %q", c.name, h.Get("X-Ratelimit-Limit-Requests"), h.Get("X-Ratelimit-Remaining-Requests"))
		}
		if reset, err := time.ParseDuration(h.Get("X-Ratelimit-Reset-Requests")); err != nil || reset <= 0 || reset > time.Minute {
			t.Errorf("%s: reset %q", c.name, h.Get("X-Ratelimit-Reset-Requests"))
		}
		if !c.wantTokenHeaderSet {
			continue
		}
		left, _ := strconv.Atoi(h.Get("X-Ratelimit-Remaining-Tokens"))
		if h.Get("X-Ratelimit-Limit-Tokens") != "100000" || left > c.tokensLeftAtMost || left < c.tokensLeftAtLeast {
			t.Errorf("%s: tokens limit %q remaining %q", c.name, h.Get("X-Ratelimit-Limit-Tokens"), h.Get("X-Ratelimit-Remaining-Tokens"))
		}
	}
}

func TestAnUnlimitedRouteSendsNoRateLimitHeaders(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := testutil.StartGateway(t, fmt.Sprintf(`
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
rate_limits: {rules: [{scope: team, match: research, rpm: 3}]}
`, up.URL), nil)
	r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 200 || r.Header.Get("X-Ratelimit-Limit-Requests") != "" {
		t.Fatalf("%d %v", r.Status, r.Header)
	}
}
