package gateway_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// requestLogLine returns the request log line of request id rid.
func requestLogLine(t *testing.T, g *testutil.Gateway, rid string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(g.Logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == rid {
			return m
		}
	}
	t.Fatalf("no request log line for %s:\n%s", rid, g.Logs.String())
	return nil
}

func TestTheRequestLogNamesTheStrategyThatGaveTheReason(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policy, `
models:
  gpt-4o-mini: {deployments: [{provider: openai}]}
  gpt-4o: {deployments: [{provider: openai}]}
routes:
  - name: pinned
    match: {feature: [pinned]}
    strategy: priority
    targets: [{model: gpt-4o}, {model: gpt-4o-mini}]
  - name: default
    targets: [{model: $requested}]
`)
	g := testutil.StartGateway(t, fmt.Sprintf(`
policy: %s
providers: [{name: openai, base_url: %s}]
`, policy, up.URL), nil)
	tests := []struct {
		name, feature, strategy, reason string
	}{
		{"a route sending the requested model splits among its deployments by weight", "search", "weighted", "weighted random split"},
		{"a priority route says priority", "pinned", "priority", "priority"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rid := fmt.Sprint("strategy-", i)
			r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
				"X-Request-Id", rid, "X-Switchyard-Feature", tt.feature)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			line := requestLogLine(t, g, rid)
			reason, _ := line["reason"].(string)
			if line["strategy"] != tt.strategy || !strings.Contains(reason, tt.reason) {
				t.Fatalf("strategy %v with reason %q; want %s with %q", line["strategy"], reason, tt.strategy, tt.reason)
			}
		})
	}
}
