package gateway_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/metering"
)

// dialectBody is a sampled request (no temperature: nothing is coalesced) in one of the
// three APIs.
func dialectBody(api string, stream bool, salt int) (path, body string) {
	s := ""
	if stream {
		s = `"stream":true,`
	}
	switch api {
	case "responses":
		return "/v1/responses", fmt.Sprintf(`{"model":"gpt-4o-mini",%s"input":"Say hello %d"}`, s, salt)
	case "messages":
		return "/v1/messages", fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":64,%s"messages":[{"role":"user","content":"Say hello %d"}]}`, s, salt)
	}
	return "/v1/chat/completions", fmt.Sprintf(`{"model":"gpt-4o-mini",%s"messages":[{"role":"user","content":"Say hello %d"}]}`, s, salt)
}

// TestEveryDialectMetersWhatTheUpstreamReported sends 1,000 requests, chat, Responses and
// Messages, streamed and not, 20 at a time, to an upstream that reports 9 prompt and 3
// completion tokens for each: the ledger holds one event per request with exactly those
// tokens, measured (never estimated), and the same cost streamed or not.
func TestEveryDialectMetersWhatTheUpstreamReported(t *testing.T) {
	up := startFakeOpenAI(t, 5*time.Second, 0)
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
`, ledger, up.URL()), nil)
	apis := []string{"chat", "responses", "messages"}
	const n = 1000
	work := make(chan int)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				stream := i%2 == 1
				path, body := dialectBody(apis[i%3], stream, i)
				r := g.Post(t, path, body, "X-Request-Id", fmt.Sprint("m-", i))
				if r.Status != 200 {
					t.Errorf("request %d (%s stream=%v): %d %s", i, apis[i%3], stream, r.Status, r.Body)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if calls := up.calls.Load(); calls != n {
		t.Fatalf("the upstream saw %d requests for %d", calls, n)
	}
	evs := ledgerEvents(t, ledger, n)
	var in, out int64
	cost := map[bool]metering.Money{}
	for i := range n {
		ev, ok := evs[fmt.Sprint("m-", i)]
		if !ok {
			t.Fatalf("request m-%d has no cost event", i)
		}
		if ev.Tokens.Input != 9 || ev.Tokens.Output != 3 || ev.UsageSource != metering.UsageMeasured {
			t.Fatalf("request m-%d (%s stream=%v) metered %+v %s, want the upstream's 9/3 measured", i, apis[i%3], i%2 == 1, ev.Tokens, ev.UsageSource)
		}
		if c, seen := cost[ev.Stream]; seen && c != ev.Cost {
			t.Fatalf("request m-%d cost %v, another with stream=%v cost %v", i, ev.Cost, ev.Stream, c)
		}
		cost[ev.Stream] = ev.Cost
		in, out = in+ev.Tokens.Input, out+ev.Tokens.Output
	}
	if in != 9*n || out != 3*n || cost[true] != cost[false] {
		t.Fatalf("ledger totals %d/%d (want %d/%d); cost streamed %v, not %v", in, out, 9*n, 3*n, cost[true], cost[false])
	}
}

// TestTwoReplicasOnPostgresShareStoredResponses: a response stored through one gateway is
// retrieved, continued and deleted through another that shares its Postgres ledger.
func TestTwoReplicasOnPostgresShareStoredResponses(t *testing.T) {
	url := testutil.PostgresSchema(t, "sy_responses")
	up := startFakeOpenAI(t, 5*time.Second, 0)
	cfg := fmt.Sprintf(`
metering: {ledger: "%s"}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
keys: [{name: alice, key_env: KA}]
`, url, up.URL())
	env := map[string]string{"KA": "ka"}
	a, b := testutil.StartGateway(t, cfg, env), testutil.StartGateway(t, cfg, env)
	r := a.Post(t, "/v1/responses", `{"model":"gpt-4o-mini","input":"Remember me"}`, "Authorization", "Bearer ka")
	if r.Status != 200 {
		t.Fatalf("store through a: %d %s", r.Status, r.Body)
	}
	id := jsonField(r.Body, "id")
	got := b.Do(t, mustRequest(t, "GET", b.URL+"/v1/responses/"+id, "Authorization", "Bearer ka"))
	if got.Status != 200 || jsonField(got.Body, "id") != id {
		t.Fatalf("retrieve through b: %d %s", got.Status, got.Body)
	}
	cont := b.Post(t, "/v1/responses", `{"model":"gpt-4o-mini","input":"Again","previous_response_id":"`+id+`"}`, "Authorization", "Bearer ka")
	if cont.Status != 200 {
		t.Fatalf("continue through b: %d %s", cont.Status, cont.Body)
	}
	if del := b.Do(t, mustRequest(t, "DELETE", b.URL+"/v1/responses/"+id, "Authorization", "Bearer ka")); del.Status != 200 {
		t.Fatalf("delete through b: %d %s", del.Status, del.Body)
	}
	if gone := a.Do(t, mustRequest(t, "GET", a.URL+"/v1/responses/"+id, "Authorization", "Bearer ka")); gone.Status != 404 {
		t.Fatalf("after delete, a still has it: %d %s", gone.Status, gone.Body)
	}
}

// jsonField reads one top-level string member of a JSON body.
func jsonField(body []byte, name string) string { return jsonx.Get(body, name).Str }

// mustRequest builds a request with header pairs.
func mustRequest(t *testing.T, method, url string, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}
