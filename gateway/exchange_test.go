package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/sse"
	"github.com/switchyard/switchyard/internal/testutil"
)

// fakeOpenAI is an OpenAI-compatible upstream on net/http, as real servers behave: it
// closes keep-alive connections idle for idle, and its request context ends when the
// gateway's connection closes. It counts requests and records when one was cancelled.
type fakeOpenAI struct {
	*httptest.Server
	calls     atomic.Int64
	delay     time.Duration
	cancelled chan time.Time
	hangUp    bool // read the request, then close the connection without answering
}

func startFakeOpenAI(t *testing.T, idle, delay time.Duration) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{delay: delay, cancelled: make(chan time.Time, 16)}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Config.IdleTimeout = idle
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) URL() string { return f.Server.URL + "/v1" }

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	if f.hangUp {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
		return
	}
	if f.delay > 0 {
		select {
		case <-r.Context().Done():
			f.cancelled <- time.Now()
			return
		case <-time.After(f.delay):
		}
	}
	if strings.Contains(string(body), `"stream":true`) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, d := range []string{"Hello", " there", "!"} {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", d)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\ndata: [DONE]\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`)
}

// defaultGateway is the embedded default's shape with an OpenAI key: every model proxied
// to one OpenAI-compatible base URL, coalescing on as by default.
func defaultGateway(t *testing.T, baseURL, extra string) *testutil.Gateway {
	t.Helper()
	return testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s"}
providers: [{name: openai, base_url: %s}]
models: [{name: "*", provider: openai}]
%s`, filepath.Join(t.TempDir(), "ledger.db"), baseURL, extra), nil)
}

// exBody is a chat request; deterministic ones set temperature 0, which routes them
// through coalescing.
func exBody(stream, deterministic bool, salt string) string {
	opts := ""
	if stream {
		opts += `"stream":true,`
	}
	if deterministic {
		opts += `"temperature":0,`
	}
	return fmt.Sprintf(`{"model":"gpt-4o-mini",%s"messages":[{"role":"user","content":"Say hello %s"}]}`, opts, salt)
}

// check fails t unless r is a complete answer: 200, and a stream ends with [DONE].
func check(t *testing.T, what string, r testutil.Response, stream bool) {
	t.Helper()
	if r.Status != 200 {
		t.Errorf("%s: %d %s", what, r.Status, r.Body)
		return
	}
	if stream && !strings.HasSuffix(strings.TrimSpace(string(r.Body)), "data: [DONE]") {
		t.Errorf("%s: stream did not end with [DONE]:\n%s", what, r.Body)
	}
}

// TestEveryRequestCompletesSequentialAndConcurrent is the 120-request experiment of the
// exchange issue, for each kind of request: 60 one after another, then 3 rounds of 20 at
// once, against a real OpenAI-compatible upstream on a socket. Before the exchange,
// deterministic streams failed a third of the time (502 upstream_connection_failed):
// a coalesced stream's end aborted a connection already back in the pool.
func TestEveryRequestCompletesSequentialAndConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		stream, deterministic bool
	}{
		{"deterministic streams", true, true},
		{"sampled streams", true, false},
		{"deterministic non-streamed", false, true},
		{"sampled non-streamed", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startFakeOpenAI(t, 5*time.Second, 0)
			g := defaultGateway(t, up.URL(), "")
			body := exBody(tc.stream, tc.deterministic, "")
			for i := range 60 {
				check(t, fmt.Sprint("sequential ", i), g.Post(t, "/v1/chat/completions", body), tc.stream)
			}
			for round := range 3 {
				var wg sync.WaitGroup
				for i := range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						check(t, fmt.Sprintf("round %d request %d", round, i), g.Post(t, "/v1/chat/completions", body), tc.stream)
					}()
				}
				wg.Wait()
			}
			if f := g.DeploymentFailures(); f != 0 {
				t.Errorf("%d failures charged to the deployment's health", f)
			}
		})
	}
}

// TestAnUpstreamThatClosesIdleConnectionsCostsNothing spaces requests past the upstream's
// keep-alive (1 s, as Node and uvicorn do at 5 s): each must succeed on its first attempt,
// reach the upstream exactly once, and leave the deployment's health untouched.
func TestAnUpstreamThatClosesIdleConnectionsCostsNothing(t *testing.T) {
	up := startFakeOpenAI(t, time.Second, 0)
	g := defaultGateway(t, up.URL(), "")
	kinds := []struct{ stream, deterministic bool }{{false, false}, {true, false}, {false, true}, {true, true}}
	for i, k := range kinds {
		if i > 0 {
			time.Sleep(2 * time.Second)
		}
		check(t, fmt.Sprint("request ", i), g.Post(t, "/v1/chat/completions", exBody(k.stream, k.deterministic, fmt.Sprint(i))), k.stream)
	}
	if n := up.calls.Load(); n != int64(len(kinds)) {
		t.Errorf("the upstream saw %d requests for %d calls", n, len(kinds))
	}
	if f := g.DeploymentFailures(); f != 0 {
		t.Errorf("%d failures charged to the deployment's health", f)
	}
	if logs := g.Logs.String(); strings.Contains(logs, `"attempts":2`) {
		t.Errorf("a request needed a second attempt:\n%s", logs)
	}
}

// TestAClientThatLeavesCancelsTheUpstreamCall abandons requests to an upstream that would
// take 30 s: the upstream must see the cancellation within 1 s, and the request is logged
// as client_closed_request, not as a success or an upstream failure.
func TestAClientThatLeavesCancelsTheUpstreamCall(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		stream, deterministic bool
	}{
		{"sampled non-streamed", false, false},
		{"deterministic non-streamed (coalesced)", false, true},
		{"sampled stream before its headers", true, false},
		{"deterministic stream before its headers (coalesced)", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startFakeOpenAI(t, 5*time.Second, 30*time.Second)
			g := defaultGateway(t, up.URL(), "")
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/v1/chat/completions",
				strings.NewReader(exBody(tc.stream, tc.deterministic, "")))
			req.Header.Set("Content-Type", "application/json")
			if _, err := http.DefaultClient.Do(req); err == nil {
				t.Fatal("the request was expected to be abandoned")
			}
			left := time.Now()
			select {
			case at := <-up.cancelled:
				if d := at.Sub(left); d > time.Second {
					t.Errorf("the upstream saw the cancellation %v after the client left", d)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("the upstream never saw the call cancelled")
			}
			waitLog(t, g, `"error":"client_closed_request"`)
			if f := g.DeploymentFailures(); f != 0 {
				t.Errorf("a client leaving was charged to the deployment's health (%d failures)", f)
			}
		})
	}
}

func waitLog(t *testing.T, g *testutil.Gateway, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(g.Logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the log:\n%s", want, g.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestABrokenConnectionAfterSendingIsRetriedOnlyOnIdempotentRoutes: the upstream reads
// the request and hangs up. It may have started work (and billing), so only a route
// marked idempotent sends it again.
func TestABrokenConnectionAfterSendingIsRetriedOnlyOnIdempotentRoutes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		idempotent bool
		wantCalls  int64
	}{
		{"a route that is not idempotent answers 502 after one call", false, 1},
		{"an idempotent route tries again", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startFakeOpenAI(t, 5*time.Second, 0)
			up.hangUp = true
			dir := t.TempDir()
			policy := filepath.Join(dir, "policy.yaml")
			writeFile(t, policy, fmt.Sprintf(`
models:
  gpt-4o-mini:
    deployments: [{provider: openai, model: gpt-4o-mini}]
retry: {max_attempts: 2, backoff_base: 1ms}
routes:
  - name: default
    idempotent: %v
    targets: [{model: gpt-4o-mini}]
`, tc.idempotent))
			g := testutil.StartGateway(t, fmt.Sprintf(`
metering: {ledger: "sqlite:%s"}
providers: [{name: openai, base_url: %s}]
policy: %s
`, filepath.Join(dir, "ledger.db"), up.URL(), policy), nil)
			r := g.Post(t, "/v1/chat/completions", exBody(false, false, ""))
			if r.Status != 502 {
				t.Errorf("status %d %s, want 502", r.Status, r.Body)
			}
			if n := up.calls.Load(); n != tc.wantCalls {
				t.Errorf("the upstream saw %d requests, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestAPanicAnswersItsRequestAndLeavesTheOthersAlone injects a panic in the translator
// of one request while 50 streams are open: that request gets a 500 in the OpenAI
// envelope, every stream completes, and the gateway keeps serving.
func TestAPanicAnswersItsRequestAndLeavesTheOthersAlone(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{Chunks: 10, ChunkInterval: 50 * time.Millisecond})
	g := defaultGateway(t, up.URL, "")
	g.WrapTranslator("openai", func(tr provider.Translator) provider.Translator { return panicky{tr} })
	const streams = 50
	var wg sync.WaitGroup
	results := make([]testutil.Response, streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.Post(t, "/v1/chat/completions", exBody(true, false, fmt.Sprint(i)))
		}()
	}
	time.Sleep(150 * time.Millisecond) // the streams are open
	for _, stream := range []bool{false, true} {
		r := g.Post(t, "/v1/chat/completions", exBody(stream, false, "PANIC"))
		if r.Status != 500 || !strings.Contains(string(r.Body), `"code":"internal_error"`) {
			t.Errorf("stream=%v: the panicking request got %d %s, want a 500 envelope", stream, r.Status, r.Body)
		}
	}
	// A panic inside a stream's decoder, after its headers went out, ends that stream with
	// an error event only.
	r := g.Post(t, "/v1/chat/completions", exBody(true, false, "DECODEPANIC"))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"internal_error"`) || strings.Contains(string(r.Body), "[DONE]") {
		t.Errorf("the stream whose decoder panicked: %d %s", r.Status, r.Body)
	}
	wg.Wait()
	for i, r := range results {
		check(t, fmt.Sprint("stream ", i), r, true)
	}
	check(t, "after the panics", g.Post(t, "/v1/chat/completions", exBody(false, false, "after")), false)
	if !strings.Contains(g.Logs.String(), "panic serving request") {
		t.Error("the panic was not logged")
	}
}

// panicky panics on requests that ask for it.
type panicky struct{ provider.Translator }

func (p panicky) Encode(r *provider.Request, out *provider.Outbound) error {
	if strings.Contains(string(r.Body), "Say hello PANIC") {
		panic("injected panic")
	}
	return p.Translator.Encode(r, out)
}

func (p panicky) NewStream(r *provider.Request) provider.StreamDecoder {
	d := p.Translator.NewStream(r)
	if strings.Contains(string(r.Body), "DECODEPANIC") {
		return panickyStream{d}
	}
	return d
}

type panickyStream struct{ provider.StreamDecoder }

func (p panickyStream) Event(*sse.Event, []byte) ([]byte, bool, error) {
	panic("injected decoder panic")
}
