package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// sharedRedis returns the test Redis address and a client of it, skipping when
// SWITCHYARD_TEST_REDIS is unset (scripts/test-services.sh sets it). Keys matching the
// patterns are removed when the test ends.
func sharedRedis(t *testing.T, patterns ...string) string {
	t.Helper()
	addr := os.Getenv("SWITCHYARD_TEST_REDIS")
	if addr == "" {
		t.Skip("SWITCHYARD_TEST_REDIS is not set")
	}
	t.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		ctx := context.Background()
		for _, p := range patterns {
			if keys, _ := rdb.Keys(ctx, p).Result(); len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		}
	})
	return addr
}

// TestTwoReplicasSharingRedisShareBatchLaneJobsAndOwnership is issue 17, item 17 for
// the batch lane: two gateways on two ports, one Redis, one provider account. A job
// submitted through one is fetched through the other; a file uploaded through one is
// owned, and usable, on the other, and still hidden from other keys there.
func TestTwoReplicasSharingRedisShareBatchLaneJobsAndOwnership(t *testing.T) {
	prefix := fmt.Sprintf("switchyard-test:{%s:%d}:", t.Name(), time.Now().UnixNano())
	addr := sharedRedis(t, prefix+"*")
	fp := startFakeBatchProvider(t)
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, policy, `
models:
  gpt-4o-mini:
    deployments: [{provider: openai}]
routes:
  - name: nightly
    match: {feature: [nightly]}
    deferrable: true
    targets: [{model: gpt-4o-mini}]
  - name: default
    targets: [{model: $requested}]
`)
	cfg := fmt.Sprintf(`
policy: %s
redis: {addr: %q}
batch_lane: {enabled: true, store: redis, redis_prefix: %q, max_wait: 50ms, poll_interval: 50ms}
providers: [{name: openai, base_url: %s, api_key_env: KEY}]
keys:
  - {name: etl, key_env: ETL, team: data, feature: nightly}
  - {name: web, key_env: WEB, team: growth, feature: search}
`, policy, addr, prefix, fp.URL)
	env := map[string]string{"KEY": "sk-provider", "ETL": "k-etl", "WEB": "k-web"}
	one, two := testutil.StartGateway(t, cfg, env), testutil.StartGateway(t, cfg, env)

	r := one.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"summarise"}]}`,
		"Authorization", "Bearer k-etl", "X-Switchyard-Priority", "batch")
	job := r.Header.Get("X-Switchyard-Job")
	if r.Status != 202 || job == "" {
		t.Fatalf("submit through replica one: %d %s", r.Status, r.Body)
	}
	getJob := func(g *testutil.Gateway, key string) testutil.Response {
		req, _ := http.NewRequest("GET", g.URL+"/v1/switchyard/jobs/"+job, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		return g.Do(t, req)
	}
	if r := getJob(two, "k-web"); r.Status != 404 {
		t.Fatalf("another key saw the job through replica two: %d %s", r.Status, r.Body)
	}
	t.Run("a job submitted through one replica is fetched through the other", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := getJob(two, "k-etl")
			if r.Status == 200 {
				if !strings.Contains(string(r.Body), "batched answer 0") || r.Header.Get("X-Switchyard-Job-Status") != "completed" {
					t.Fatalf("replica two answered %s", r.Body)
				}
				return
			}
			if r.Status != 202 || time.Now().After(deadline) {
				t.Fatalf("replica two: %d %s", r.Status, r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("a file uploaded through one replica is owned on the other", func(t *testing.T) {
		fileID := passthroughClient{g: one, key: "k-etl"}.upload(t)
		owner2, other2 := passthroughClient{g: two, key: "k-etl"}, passthroughClient{g: two, key: "k-web"}
		if r := owner2.call(t, "GET", "/v1/files/"+fileID, "", nil); r.Status != 200 {
			t.Fatalf("its owner could not retrieve it through replica two: %d %s", r.Status, r.Body)
		}
		if r := other2.call(t, "GET", "/v1/files/"+fileID+"/content", "", nil); r.Status != 404 {
			t.Fatalf("another key downloaded it through replica two: %d %s", r.Status, r.Body)
		}
		batchID := owner2.createBatch(t, fileID)
		if r := (passthroughClient{g: one, key: "k-etl"}).call(t, "GET", "/v1/batches/"+batchID, "", nil); r.Status != 200 {
			t.Fatalf("a batch created through replica two is not its creator's on replica one: %d %s", r.Status, r.Body)
		}
		if ids := (passthroughClient{g: one, key: "k-web"}).listIDs(t, "/v1/batches"); len(ids) != 0 {
			t.Fatalf("another key lists %v through replica one", ids)
		}
	})
}

// TestTwoReplicasSharingRedisShareACanaryRollback is issue 17, item 17 for prompts: the
// canary fails on replica one (its provider for the canary's model is down) and is
// rolled back there; replica two, whose own canary traffic is healthy, stops serving
// the canary within a few seconds too.
func TestTwoReplicasSharingRedisShareACanaryRollback(t *testing.T) {
	feature := fmt.Sprintf("help-%d", time.Now().UnixNano()) // a rollout of this run's own
	addr := sharedRedis(t, "{switchyard:prompts}:rollback:*")
	dir := copyPrompts(t)
	writeFile(t, filepath.Join(dir, "pins.yaml"), fmt.Sprintf(`
labels:
  support-reply:
    production: 2
    canary: 3
pins:
  - prompt: support-reply
    match: {feature: [%s]}
    split:
      - {label: production, weight: 50}
      - {label: canary, weight: 50}
    sticky: user
    rollback: {metric: error_rate, margin: 0.05, min_requests: 5, window: 5m}
`, feature))
	up := testutil.StartUpstream(t, mock.Config{})
	gateway := func(canaryProvider string) *testutil.Gateway {
		return testutil.StartGateway(t, fmt.Sprintf(`
prompts: %s
redis: {addr: %q}
providers: [{name: ok, base_url: %s}, {name: down, base_url: http://%s/v1}]
models: [{name: gpt-4o-mini, provider: ok}, {name: gpt-4o, provider: %s}]
`, dir, addr, up.URL, testutil.ClosedAddr(t), canaryProvider), nil)
	}
	one, two := gateway("down"), gateway("ok")
	ask := func(g *testutil.Gateway, user string) testutil.Response {
		return g.Post(t, "/v1/chat/completions",
			`{"model":"","user":"`+user+`","prompt":{"id":"support-reply","variables":{"customer":"Ada","question":"Where is my order?"}}}`,
			"X-Switchyard-Feature", feature)
	}
	canaryUser := ""
	for i := 0; i < 200 && canaryUser == ""; i++ {
		u := fmt.Sprint("user-", i)
		if r := ask(two, u); r.Header.Get("X-Switchyard-Prompt") == "support-reply@3" && r.Status == 200 {
			canaryUser = u
		}
	}
	if canaryUser == "" {
		t.Fatal("no user got the canary on replica two")
	}
	for i := range 60 { // about 30 canary failures and 30 baseline successes on replica one
		ask(one, fmt.Sprint("user-", i))
	}
	if r := ask(one, canaryUser); r.Header.Get("X-Switchyard-Prompt") != "support-reply@2" {
		t.Fatalf("replica one did not roll its failing canary back: %d %s", r.Status, r.Header.Get("X-Switchyard-Prompt"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := ask(two, canaryUser)
		if got := r.Header.Get("X-Switchyard-Prompt"); got == "support-reply@2" && r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica two still serves %q to the canary's user 10s after replica one rolled it back",
				r.Header.Get("X-Switchyard-Prompt"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
