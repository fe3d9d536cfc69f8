package gateway_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
	"github.com/switchyard/switchyard/metering"
)

// ledgerEvents waits until the SQLite ledger at path holds n events and returns them by
// request id.
func ledgerEvents(t *testing.T, path string, n int) map[string]metering.Event {
	t.Helper()
	store, err := metering.OpenStore(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := store.Events(context.Background(), time.Unix(0, 0), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) >= n || time.Now().After(deadline) {
			if len(evs) != n {
				t.Fatalf("ledger holds %d events, want %d", len(evs), n)
			}
			out := map[string]metering.Event{}
			for _, ev := range evs {
				out[ev.RequestID] = ev
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fakeAnthropic serves recorded Anthropic Messages API answers: the JSON fixture for a
// plain request and the SSE transcript of the same answer for a streamed one.
func fakeAnthropic(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join("..", "internal", "provider", "testdata", "anthropic")
	jsonBody, err := os.ReadFile(filepath.Join(dir, "decode", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	sseBody, err := os.ReadFile(filepath.Join(dir, "stream", name+".sse"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		buf := make([]byte, 1<<16)
		n, _ := r.Body.Read(buf)
		if strings.Contains(string(buf[:n]), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(sseBody)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jsonBody)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestStreamedAndNonStreamedRequestsMeterTheSame(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{Chunks: 7})
	anthropicURL := fakeAnthropic(t, "text_reply")
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering:
  ledger: sqlite:%s
  writer: {flush_interval: 20ms}
providers:
  - name: openai
    base_url: %s
  - name: anthropic
    kind: anthropic
    base_url: %s
models:
  - name: gpt-4o-mini
    provider: openai
  - name: claude-sonnet-4-5
    provider: anthropic
`, ledger, up.URL, anthropicURL), nil)
	msgs := `"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}]`
	cases := []struct{ id, body string }{
		{"openai-plain", `{"model":"gpt-4o-mini",` + msgs + `}`},
		{"openai-stream", `{"model":"gpt-4o-mini","stream":true,` + msgs + `}`},
		{"openai-stream-usage", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},` + msgs + `}`},
		{"anthropic-plain", `{"model":"claude-sonnet-4-5",` + msgs + `}`},
		{"anthropic-stream", `{"model":"claude-sonnet-4-5","stream":true,` + msgs + `}`},
	}
	costs := map[string]string{}
	for _, c := range cases {
		r := g.Post(t, "/v1/chat/completions", c.body, "X-Request-Id", c.id)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", c.id, r.Status, r.Body)
		}
		costs[c.id] = r.Header.Get("X-Switchyard-Cost-Usd")
	}
	evs := ledgerEvents(t, ledger, len(cases))
	for _, pair := range [][2]string{{"openai-plain", "openai-stream"}, {"openai-plain", "openai-stream-usage"}, {"anthropic-plain", "anthropic-stream"}} {
		a, b := evs[pair[0]], evs[pair[1]]
		if a.Tokens != b.Tokens || a.Cost != b.Cost || a.UsageSource != metering.UsageMeasured || b.UsageSource != metering.UsageMeasured {
			t.Errorf("%s and %s differ: %+v %v %s / %+v %v %s", pair[0], pair[1], a.Tokens, a.Cost, a.UsageSource, b.Tokens, b.Cost, b.UsageSource)
		}
		if a.Tokens.Input == 0 || a.Tokens.Output == 0 || a.Cost <= 0 || a.Unpriced {
			t.Errorf("%s: tokens %+v cost %v unpriced %v", pair[0], a.Tokens, a.Cost, a.Unpriced)
		}
		if !b.Stream || a.Stream {
			t.Errorf("stream flags %v %v", a.Stream, b.Stream)
		}
	}
	for _, id := range []string{"openai-plain", "anthropic-plain"} { // plain answers carry their cost
		if costs[id] == "" || costs[id] != evs[id].Cost.String() {
			t.Errorf("%s: x-switchyard-cost-usd %q, ledger %s", id, costs[id], evs[id].Cost)
		}
	}
	if ev := evs["anthropic-plain"]; ev.Tokens.CachedInput == 0 && ev.Tokens.CacheWrite == 0 {
		t.Logf("anthropic fixture has no cache tokens: %+v", ev.Tokens)
	}
}

func TestAStreamCutShortIsMeteredAsEstimated(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{Chunks: 10, CutAfterChunks: 4, Reply: "one two three four five six seven eight nine ten eleven twelve"})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
`, ledger, up.URL), nil)
	resp := g.Stream(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"count to twelve"}]}`, "X-Request-Id", "cut-1")
	evsRead, _ := testutil.NewEventReader(resp.Body).ReadAll()
	resp.Body.Close()
	if len(evsRead) == 0 || !strings.Contains(evsRead[len(evsRead)-1].Data, "upstream_stream_cut") {
		t.Fatalf("events %v", evsRead)
	}
	ev := ledgerEvents(t, ledger, 1)["cut-1"]
	if ev.UsageSource != metering.UsageEstimated || ev.Tokens.Input == 0 || ev.Tokens.Output == 0 || ev.ErrorCode != "upstream_stream_cut" {
		t.Fatalf("event %+v", ev)
	}
}

func TestAdminSpendExportsTheLedger(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
admin_key_env: ADMIN
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
keys:
  - {name: web, key_env: WEB, team: growth, feature: search, allow_attribution_headers: true}
`, ledger, up.URL), map[string]string{"ADMIN": "adm", "WEB": "k1"})
	for i, feature := range []string{"search", "search", "chat"} {
		r := g.Post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			"Authorization", "Bearer k1", "X-Switchyard-Feature", feature, "X-Request-Id", fmt.Sprint("spend-", i))
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	ledgerEvents(t, ledger, 3)
	day := time.Now().UTC().Format(time.DateOnly)
	next := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	get := func(query, auth string) testutil.Response {
		req, _ := http.NewRequest("GET", g.URL+"/admin/spend?"+query, nil)
		req.Header.Set("Authorization", auth)
		return g.Do(t, req)
	}
	if r := get("from="+day+"&to="+next, "Bearer k1"); r.Status != 401 {
		t.Fatalf("a gateway key reached the admin route: %d", r.Status)
	}
	r := get("from="+day+"&to="+next+"&group_by=feature&format=csv", "Bearer adm")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	var chat, search string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "group,chat,"):
			chat = l
		case strings.HasPrefix(l, "group,search,"):
			search = l
		}
	}
	if !strings.HasPrefix(chat, "group,chat,1,") || !strings.HasPrefix(search, "group,search,2,") {
		t.Fatalf("csv:\n%s", r.Body)
	}
	if r := get("from="+day+"&to="+day, "Bearer adm"); r.Status != 400 {
		t.Fatalf("an empty range got %d", r.Status)
	}
}

func TestMetadataAttributesTheRequestWhenTheKeyAllowsIt(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	ledger := filepath.Join(t.TempDir(), "ledger.db")
	g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
keys:
  - {name: open, key_env: K1, team: t1, feature: f1, allow_attribution_headers: true}
  - {name: fixed, key_env: K2, team: t2, feature: f2}
`, ledger, up.URL), map[string]string{"K1": "k1", "K2": "k2"})
	body := `{"model":"gpt-4o-mini","metadata":{"feature":"checkout","team":"payments"},"messages":[{"role":"user","content":"hi"}]}`
	g.Post(t, "/v1/chat/completions", body, "Authorization", "Bearer k1", "X-Request-Id", "m1")
	g.Post(t, "/v1/chat/completions", body, "Authorization", "Bearer k1", "X-Request-Id", "m2", "X-Switchyard-Feature", "search")
	g.Post(t, "/v1/chat/completions", body, "Authorization", "Bearer k2", "X-Request-Id", "m3")
	evs := ledgerEvents(t, ledger, 3)
	for id, want := range map[string][2]string{"m1": {"payments", "checkout"}, "m2": {"payments", "search"}, "m3": {"t2", "f2"}} {
		if ev := evs[id]; ev.Team != want[0] || ev.Feature != want[1] {
			t.Errorf("%s attributed to %s/%s, want %s/%s", id, ev.Team, ev.Feature, want[0], want[1])
		}
	}
}
