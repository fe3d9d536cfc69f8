package gateway_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/testutil"
)

// TestKeysLimitsAndPricesReloadWithoutARestart edits a running gateway's configuration
// file: a new key works, a removed key stops working, a tighter rate limit and a new price
// apply, all within a second; a file that does not load is rejected with its file:line
// and the last good settings keep serving.
func TestKeysLimitsAndPricesReloadWithoutARestart(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	write := func(keys, rpm, price string) {
		writeFile(t, path, fmt.Sprintf(`
metering:
  ledger: none
  prices:
    overrides:
      - {model: gpt-4o-mini, prices: [{from: 2020-01-01, input: %s, output: %s}]}
rate_limits:
  rules:
    - {scope: key, match: "*", rpm: %s}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
keys:
%s`, price, price, rpm, up.URL(), keys))
	}
	env := map[string]string{"KA": "ka", "KB": "kb"}
	write("  - {name: alice, key_env: KA}\n", "1000", "1")
	g := testutil.StartGatewayFile(t, path, env)
	ask := func(key string) testutil.Response {
		return g.Post(t, "/v1/chat/completions", exBody(false, false, ""), "Authorization", "Bearer "+key)
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 3 s of the edit\n%s", what, g.Logs.String())
			}
		}
	}
	if r := ask("ka"); r.Status != 200 {
		t.Fatalf("alice at start: %d %s", r.Status, r.Body)
	}
	first := ask("ka").Header.Get("X-Switchyard-Cost-Usd")
	if r := ask("kb"); r.Status != 401 {
		t.Fatalf("bob before he is added: %d", r.Status)
	}

	write("  - {name: bob, key_env: KB}\n", "2", "2")
	eventually("bob's key works", func() bool { return ask("kb").Status == 200 })
	if r := ask("ka"); r.Status != 401 {
		t.Errorf("alice's removed key still works: %d", r.Status)
	}
	eventually("the new price applies", func() bool {
		c := ask("kb").Header.Get("X-Switchyard-Cost-Usd")
		return c != "" && c != first
	})
	limited := false
	for range 5 {
		if ask("kb").Status == 429 {
			limited = true
		}
	}
	if !limited {
		t.Error("the tighter rate limit (2 a minute) did not apply")
	}

	writeFile(t, path, "keys:\n  - {name: broken\n")
	eventually("the broken file is rejected", func() bool {
		return strings.Contains(g.Logs.String(), "configuration reload rejected")
	})
	if !strings.Contains(g.Logs.String(), "switchyard.yaml:") {
		t.Errorf("the rejection names no file:line:\n%s", g.Logs.String())
	}
	if r := ask("kb"); r.Status != 200 && r.Status != 429 {
		t.Errorf("after a rejected reload bob's key stopped working: %d %s", r.Status, r.Body)
	}
}
