package gateway_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

const simBody = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

// routingGateway starts a gateway whose providers are the given upstreams (named after
// the keys) and whose routing policy is policy, written to a file.
func routingGateway(t *testing.T, ups map[string]*testutil.Upstream, policy string) (*testutil.Gateway, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("admin_key_env: ADMIN\npolicy: " + path + "\ntimeouts: {first_byte: 300ms, idle: 300ms}\nproviders:\n")
	for name, u := range ups {
		fmt.Fprintf(&cfg, "  - name: %s\n    base_url: %s\n", name, u.URL)
	}
	return testutil.StartGateway(t, cfg.String(), map[string]string{"ADMIN": "admin-secret"}), path
}

// served sends one chat request and returns the deployment that answered it.
func served(t *testing.T, g *testutil.Gateway, body string, headers ...string) string {
	t.Helper()
	r := g.Post(t, "/v1/chat/completions", body, headers...)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	return r.Header.Get("X-Switchyard-Deployment")
}

func TestTheCircuitBreakerMovesTrafficAwayFromAFlakyDeploymentAndBack(t *testing.T) {
	flaky := testutil.StartUpstream(t, mock.Config{Status: 500, FailEvery: 2})
	good := testutil.StartUpstream(t, mock.Config{})
	g, _ := routingGateway(t, map[string]*testutil.Upstream{"flaky": flaky, "good": good}, `
models:
  m:
    deployments: [{provider: flaky, name: flaky}, {provider: good, name: good}]
routes:
  - name: default
    strategy: priority
    targets: [{model: m}]
health: {failure_threshold: 100, error_rate: 0.4, min_requests: 6, window: 10s, cooldown: 400ms}
retry: {budget_min_per_second: 1000}
`)
	for i := range 40 {
		served(t, g, simBody) // every request succeeds: a 500 is retried on the good deployment
		_ = i
	}
	if n := flaky.Calls(); n > 12 {
		t.Fatalf("the flaky deployment got %d of 40 requests; the circuit should have opened after about 6", n)
	}
	flaky.SetConfig(mock.Config{}) // it recovers
	time.Sleep(450 * time.Millisecond)
	var last []string
	for range 10 {
		last = append(last, served(t, g, simBody))
	}
	for _, d := range last[1:] {
		if d != "flaky" {
			t.Fatalf("after recovery the priority deployment should serve again, got %v", last)
		}
	}
}

func TestLeastLatencyMovesTrafficToTheFasterDeploymentAndBack(t *testing.T) {
	slow := testutil.StartUpstream(t, mock.Config{Delay: 200 * time.Millisecond})
	fast := testutil.StartUpstream(t, mock.Config{})
	g, _ := routingGateway(t, map[string]*testutil.Upstream{"slow": slow, "fast": fast}, `
models:
  m:
    deployments: [{provider: slow, name: slow}, {provider: fast, name: fast}]
routes:
  - name: default
    strategy: least_latency
    exploration: 0.05
    targets: [{model: m}]
`)
	counts := map[string]int{}
	for range 40 {
		counts[served(t, g, simBody)]++
	}
	if counts["slow"] > 6 {
		t.Fatalf("the 200ms slower deployment got %d of 40 requests", counts["slow"])
	}
	// Now the fast one becomes slow and the slow one fast: traffic must follow.
	fast.SetConfig(mock.Config{Delay: 300 * time.Millisecond})
	slow.SetConfig(mock.Config{})
	moved := -1
	for i := range 30 {
		if served(t, g, simBody) == "slow" {
			moved = i
			break
		}
	}
	if moved < 0 {
		t.Fatal("traffic never moved back to the now faster deployment within 30 requests")
	}
}

func TestFallbackFiresBeforeTheFirstByteOnly(t *testing.T) {
	policy := `
models:
  m:
    deployments: [{provider: primary, name: primary}]
  backup:
    deployments: [{provider: backup, name: backup}]
  big:
    deployments: [{provider: bigctx, name: bigctx}]
routes:
  - name: default
    targets: [{model: m}]
    fallback:
      - on: [rate_limit, server_error, timeout, connect]
        to: [backup]
      - on: [context_length]
        to: [big]
health: {failure_threshold: 1000, min_requests: 1000}
retry: {budget_min_per_second: 1000}
`
	tests := []struct {
		name    string
		primary mock.Config
		stream  bool
		want    string
	}{
		{"a 429 falls back", mock.Config{Status: 429, RetryAfter: "30"}, false, "backup"},
		{"a 500 falls back", mock.Config{Status: 500}, false, "backup"},
		{"a silent upstream times out and falls back", mock.Config{StallHeaders: true}, false, "backup"},
		{"a context-length error goes to the larger model", mock.Config{Status: 400, ErrorCode: "context_length_exceeded", ErrorMessage: "This model's maximum context length is 8192 tokens"}, false, "bigctx"},
		{"a 500 before a stream's first byte falls back", mock.Config{Status: 500}, true, "backup"},
		{"a 429 before a stream's first byte falls back", mock.Config{Status: 429}, true, "backup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary := testutil.StartUpstream(t, tt.primary)
			backup := testutil.StartUpstream(t, mock.Config{})
			big := testutil.StartUpstream(t, mock.Config{})
			g, _ := routingGateway(t, map[string]*testutil.Upstream{"primary": primary, "backup": backup, "bigctx": big}, policy)
			body := simBody
			if tt.stream {
				body = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			}
			if got := served(t, g, body); got != tt.want {
				t.Fatalf("served by %q, want %q", got, tt.want)
			}
			if primary.Calls() != 1 {
				t.Fatalf("primary got %d calls", primary.Calls())
			}
		})
	}
	t.Run("a stream cut after its first byte is not retried", func(t *testing.T) {
		primary := testutil.StartUpstream(t, mock.Config{CutAfterChunks: 2})
		backup := testutil.StartUpstream(t, mock.Config{})
		big := testutil.StartUpstream(t, mock.Config{})
		g, _ := routingGateway(t, map[string]*testutil.Upstream{"primary": primary, "backup": backup, "bigctx": big}, policy)
		resp := g.Stream(t, "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		evs, _ := testutil.NewEventReader(resp.Body).ReadAll()
		resp.Body.Close()
		if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Data, "upstream_stream_cut") {
			t.Fatalf("events %v", evs)
		}
		if backup.Calls() != 0 {
			t.Fatalf("the backup was called %d times after the first byte", backup.Calls())
		}
	})
}

func TestTheRetryBudgetCapsExtraCallsDuringAFullOutage(t *testing.T) {
	primary := testutil.StartUpstream(t, mock.Config{Status: 500})
	backup := testutil.StartUpstream(t, mock.Config{Status: 503})
	g, _ := routingGateway(t, map[string]*testutil.Upstream{"primary": primary, "backup": backup}, `
models:
  m:
    deployments: [{provider: primary, name: primary}, {provider: backup, name: backup}]
routes:
  - name: default
    targets: [{model: m}]
health: {failure_threshold: 1000000, min_requests: 1000000}
retry: {max_attempts: 3, budget_ratio: 0.1, budget_min_per_second: 2}
`)
	const n = 300
	start := time.Now()
	for range n {
		r := g.Post(t, "/v1/chat/completions", simBody)
		if r.Status < 500 {
			t.Fatalf("status %d during a full outage", r.Status)
		}
	}
	secs := time.Since(start).Seconds() + 1
	calls := primary.Calls() + backup.Calls()
	limit := n + int64(0.1*n) + int64(2*secs) + 1
	if calls > limit {
		t.Fatalf("%d upstream calls for %d requests, the budget allows at most %d (without it: %d)", calls, n, limit, 3*n)
	}
	if calls <= n {
		t.Fatalf("no retries at all (%d calls): the budget should allow some", calls)
	}
}

func TestStickyWeightedSplitThroughTheGateway(t *testing.T) {
	a := testutil.StartUpstream(t, mock.Config{})
	b := testutil.StartUpstream(t, mock.Config{})
	g, _ := routingGateway(t, map[string]*testutil.Upstream{"pa": a, "pb": b}, `
models:
  control:
    deployments: [{provider: pa, name: control}]
  treatment:
    deployments: [{provider: pb, name: treatment}]
routes:
  - name: ab
    strategy: weighted
    sticky: user
    targets: [{model: control, weight: 90}, {model: treatment, weight: 10}]
`)
	const users, perUser = 2000, 5
	var mu sync.Mutex
	arm := map[string]string{}
	counts := map[string]int{}
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := w; u < users; u += 8 {
				user := fmt.Sprintf("user-%d", u)
				for range perUser {
					r := g.Post(t, "/v1/chat/completions", `{"model":"m","user":"`+user+`","messages":[{"role":"user","content":"hi"}]}`)
					d := r.Header.Get("X-Switchyard-Deployment")
					mu.Lock()
					if prev, ok := arm[user]; ok && prev != d {
						failed.Store(user + " moved from " + prev + " to " + d)
					}
					arm[user] = d
					counts[d]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
	share := 100 * float64(counts["control"]) / float64(users*perUser)
	if share < 88 || share > 92 {
		t.Fatalf("control got %.2f%% of %d requests, want 90±2", share, users*perUser)
	}
}
