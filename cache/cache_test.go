package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

func lookup(t *testing.T, c *Cache, req LookupRequest) *Hit {
	t.Helper()
	if req.Op == 0 {
		req.Op = provider.OpChat
	}
	h, err := c.Lookup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestExactHitAfterStore(t *testing.T) {
	c := newCache(t, Config{Enabled: true}, Deps{})
	body := chatBody("Be brief.", "What is 2+2?")
	h := lookup(t, c, LookupRequest{Scope: testScope, Body: body})
	if h.Outcome != Miss || h.Header() != "miss" {
		t.Fatalf("first lookup: %v", h.Outcome)
	}
	if err := c.Store(context.Background(), h, Response{Status: 200, Body: answerBody("4")}); err != nil {
		t.Fatal(err)
	}
	h = lookup(t, c, LookupRequest{Scope: testScope, Body: body})
	if h.Outcome != Exact || h.Header() != "hit" || h.SavedUsage().InputTokens != 10 {
		t.Fatalf("second lookup: %v %+v", h.Outcome, h.SavedUsage())
	}
	out, err := h.Reply(ReplayOptions{ID: "chatcmpl-replay"})
	if err != nil || jsonx.Get(out, "choices.0.message.content").Str != "4" || jsonx.Get(out, "id").Str != "chatcmpl-replay" {
		t.Fatalf("reply %s, %v", out, err)
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 1 || st.Stores != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTwoTenantsNeverShareAnEntry(t *testing.T) {
	c := newCache(t, semanticConfig(SemanticOn), Deps{})
	a := Scope{Tenant: "key-a", Feature: "f", Model: "m"}
	b := Scope{Tenant: "key-b", Feature: "f", Model: "m"}
	storeAnswer(t, c, a, "What is the capital of France?", "Paris (for A)")
	for _, q := range []string{"What is the capital of France?", "what's the capital of france"} {
		if h := ask(c, b, q); h.Served() || h.Shadow != nil {
			t.Fatalf("tenant B saw tenant A's entry for %q: %v", q, h.Outcome)
		}
		if h := ask(c, a, q); !h.Served() {
			t.Fatalf("tenant A missed its own entry for %q", q)
		}
	}
}

func TestStreamedAnswerServedAsJSONAndBack(t *testing.T) {
	c := newCache(t, Config{Enabled: true}, Deps{})
	ctx := context.Background()
	streamed := []byte(`{"model":"gpt-4o-mini","temperature":0,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"capital?"}]}`)
	plain := []byte(`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"capital?"}]}`)

	h := lookup(t, c, LookupRequest{Scope: testScope, Body: streamed, Stream: true, IncludeUsage: true})
	body, _, err := assemble(t, liveText)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Store(ctx, h, Response{Status: 200, Body: body}); err != nil {
		t.Fatal(err)
	}
	live := readStream(t, []byte(liveText))

	asJSON := lookup(t, c, LookupRequest{Scope: testScope, Body: plain})
	out, err := asJSON.Reply(ReplayOptions{})
	if asJSON.Outcome != Exact || err != nil {
		t.Fatalf("JSON lookup %v, %v", asJSON.Outcome, err)
	}
	sameAnswer(t, readJSON(t, out), live)

	asStream := lookup(t, c, LookupRequest{Scope: testScope, Body: streamed, Stream: true, IncludeUsage: true})
	out, err = asStream.Reply(ReplayOptions{})
	if asStream.Outcome != Exact || err != nil {
		t.Fatalf("stream lookup %v, %v", asStream.Outcome, err)
	}
	sameAnswer(t, readStream(t, out), live)
}

func TestWhatIsNeverStored(t *testing.T) {
	ctx := context.Background()
	det := chatBody("", "Hello there")
	tools := `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`
	filtered := strings.Replace(string(answerBody("x")), `"stop"`, `"content_filter"`, 1)
	tests := []struct {
		name  string
		rules Rules
		body  []byte
		resp  Response
	}{
		{"an error status", Rules{}, det, Response{Status: 429, Body: []byte(`{"error":{"message":"slow down"}}`)}},
		{"a server error", Rules{}, det, Response{Status: 500, Body: answerBody("x")}},
		{"an error body with status 200", Rules{}, det, Response{Status: 200, Body: []byte(`{"error":{"message":"x"}}`)}},
		{"a tool-call answer when tools are not allowed", Rules{}, det, Response{Status: 200, Body: []byte(tools)}},
		{"a content-filtered answer", Rules{}, det, Response{Status: 200, Body: []byte(filtered)}},
		{"a sampled request (no temperature)", Rules{}, []byte(`{"model":"m","messages":[{"role":"user","content":"Hello there"}]}`), Response{Status: 200, Body: answerBody("x")}},
		{"a sampled request (temperature 0.8)", Rules{}, []byte(`{"model":"m","temperature":0.8,"messages":[{"role":"user","content":"Hello there"}]}`), Response{Status: 200, Body: answerBody("x")}},
		{"several choices", Rules{}, []byte(`{"model":"m","temperature":0,"n":3,"messages":[{"role":"user","content":"Hello there"}]}`), Response{Status: 200, Body: answerBody("x")}},
		{"a disabled route", Rules{Disabled: true}, det, Response{Status: 200, Body: answerBody("x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, Config{Enabled: true}, Deps{})
			rules := tt.rules
			h := lookup(t, c, LookupRequest{Scope: testScope, Body: tt.body, Rules: &rules})
			if err := c.Store(ctx, h, tt.resp); !errors.Is(err, ErrNotStored) {
				t.Fatalf("store err = %v, want ErrNotStored", err)
			}
			if h := lookup(t, c, LookupRequest{Scope: testScope, Body: tt.body, Rules: &rules}); h.Served() {
				t.Fatal("served")
			}
		})
	}
}

func TestPolicyCanAllowWhatIsOtherwiseNotStored(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, Config{Enabled: true}, Deps{})
	rules := Rules{AllowSampled: true, AllowToolCalls: true, AllowMultipleChoices: true}
	body := []byte(`{"model":"m","n":2,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"go"}]}`)
	tools := `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`
	h := lookup(t, c, LookupRequest{Scope: testScope, Body: body, Rules: &rules})
	if err := c.Store(ctx, h, Response{Status: 200, Body: []byte(tools)}); err != nil {
		t.Fatal(err)
	}
	if h := lookup(t, c, LookupRequest{Scope: testScope, Body: body, Rules: &rules}); h.Outcome != Exact {
		t.Fatalf("outcome %v", h.Outcome)
	}
}

func TestClientDirectives(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := newCache(t, Config{Enabled: true}, Deps{Now: clock.Now})
	body := chatBody("", "Hello there")
	h := lookup(t, c, LookupRequest{Scope: testScope, Body: body})
	c.Store(ctx, h, Response{Status: 200, Body: answerBody("first")})
	clock.Advance(2 * time.Minute)

	tests := []struct {
		name    string
		control Control
		served  bool
	}{
		{"no directive is served", Control{}, true},
		{"no-store may still be served", Control{NoWrite: true}, true},
		{"no-cache bypasses", Control{NoRead: true, NoWrite: true}, false},
		{"refresh is not served", Control{NoRead: true}, false},
		{"max-age above the entry's age is served", Control{MaxAge: time.Hour}, true},
		{"max-age below the entry's age is not", Control{MaxAge: time.Minute}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h := lookup(t, c, LookupRequest{Scope: testScope, Body: body, Control: tt.control}); h.Served() != tt.served {
				t.Fatalf("served = %v (%v: %s)", h.Served(), h.Outcome, h.Reason)
			}
		})
	}
	// no-store: the fresh answer is not written; refresh: it replaces the entry.
	h = lookup(t, c, LookupRequest{Scope: testScope, Body: body, Control: Control{NoRead: true, NoWrite: true}})
	if err := c.Store(ctx, h, Response{Status: 200, Body: answerBody("bypassed")}); !errors.Is(err, ErrNotStored) {
		t.Fatalf("no-cache stored: %v", err)
	}
	h = lookup(t, c, LookupRequest{Scope: testScope, Body: body, Control: Control{NoRead: true}})
	if err := c.Store(ctx, h, Response{Status: 200, Body: answerBody("second")}); err != nil {
		t.Fatal(err)
	}
	out, _ := lookup(t, c, LookupRequest{Scope: testScope, Body: body}).Reply(ReplayOptions{})
	if got := jsonx.Get(out, "choices.0.message.content").Str; got != "second" {
		t.Fatalf("after refresh the entry says %q", got)
	}
}

func TestEntriesExpireAfterTheirTTL(t *testing.T) {
	clock := newFakeClock()
	c := newCache(t, Config{Enabled: true, Defaults: Rules{TTL: time.Minute, Semantic: SemanticOn}}, Deps{Now: clock.Now})
	storeAnswer(t, c, testScope, "What is the capital of France?", "Paris")
	clock.Advance(59 * time.Second)
	if !ask(c, testScope, "What is the capital of France?").Served() || !ask(c, testScope, "what's the capital of France").Served() {
		t.Fatal("missed before the TTL")
	}
	clock.Advance(time.Second)
	if ask(c, testScope, "What is the capital of France?").Served() || ask(c, testScope, "what's the capital of France").Served() {
		t.Fatal("served at the TTL")
	}
}

func TestShadowModeReportsWithoutServing(t *testing.T) {
	c := newCache(t, semanticConfig(SemanticShadow), Deps{})
	storeAnswer(t, c, testScope, "What is the capital of France?", "Paris")
	h := ask(c, testScope, "what's the capital of france?")
	if h.Served() || h.Shadow == nil || h.Shadow.Rejected != "" || h.Shadow.Similarity < 0.5 || h.Header() != "miss" {
		t.Fatalf("shadow lookup: %v %+v", h.Outcome, h.Shadow)
	}
	storeAnswer(t, c, testScope, "Convert 10 miles to km", "16.09 km")
	h = ask(c, testScope, "Convert 10 km to miles")
	if h.Served() || h.Shadow == nil || h.Shadow.Rejected == "" {
		t.Fatalf("near miss in shadow mode: %v %+v", h.Outcome, h.Shadow)
	}
	if st := c.Stats(); st.ShadowHits != 1 || st.SemanticHits != 0 {
		t.Fatalf("stats %+v", st)
	}
	if h := ask(c, testScope, "What is the capital of France?"); h.Outcome != Exact {
		t.Fatal("exact hits are served in shadow mode")
	}
}

func TestSemanticMatchNeedsTheSameContext(t *testing.T) {
	c := newCache(t, semanticConfig(SemanticOn), Deps{})
	ctx := context.Background()
	store := func(body []byte) {
		h := lookup(t, c, LookupRequest{Scope: testScope, Body: body})
		if err := c.Store(ctx, h, Response{Status: 200, Body: answerBody("x")}); err != nil {
			t.Fatal(err)
		}
	}
	store(chatBody("You are a pirate.", "What is the capital of France?"))
	tests := []struct {
		name   string
		body   []byte
		served bool
	}{
		{"same system prompt, reworded question", chatBody("You are a pirate.", "what's the capital of france"), true},
		{"another system prompt", chatBody("You are a poet.", "what's the capital of france"), false},
		{"no system prompt", chatBody("", "what's the capital of france"), false},
		{"another model", []byte(`{"model":"gpt-4o","temperature":0,"messages":[{"role":"system","content":"You are a pirate."},{"role":"user","content":"what's the capital of france"}]}`), false},
		{"a longer conversation", []byte(`{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"You are a pirate."},{"role":"user","content":"hi"},{"role":"assistant","content":"arr"},{"role":"user","content":"what's the capital of france"}]}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h := lookup(t, c, LookupRequest{Scope: testScope, Body: tt.body}); h.Served() != tt.served {
				t.Fatalf("served = %v (%s)", h.Served(), h.Reason)
			}
		})
	}
}

func TestPurgeByScope(t *testing.T) {
	c := newCache(t, semanticConfig(SemanticOn), Deps{})
	a := Scope{Tenant: "a", Feature: "f1"}
	b := Scope{Tenant: "b", Feature: "f1"}
	storeAnswer(t, c, a, "What is the capital of France?", "x")
	storeAnswer(t, c, b, "What is the capital of France?", "x")
	n, err := c.Purge(context.Background(), Scope{Tenant: "a"})
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if ask(c, a, "What is the capital of France?").Served() || ask(c, a, "what's the capital of france").Served() {
		t.Fatal("purged entry served")
	}
	if !ask(c, b, "What is the capital of France?").Served() || !ask(c, b, "what's the capital of france").Served() {
		t.Fatal("other tenant's entry purged")
	}
}

func TestEmbeddingsAreCachedExactly(t *testing.T) {
	c := newCache(t, Config{Enabled: true}, Deps{})
	body := []byte(`{"model":"text-embedding-3-small","input":"hello"}`)
	h := lookup(t, c, LookupRequest{Op: provider.OpEmbedding, Scope: testScope, Body: body})
	resp := []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":1,"total_tokens":1}}`)
	if err := c.Store(context.Background(), h, Response{Status: 200, Body: resp}); err != nil {
		t.Fatal(err)
	}
	h = lookup(t, c, LookupRequest{Op: provider.OpEmbedding, Scope: testScope, Body: []byte(`{"input":["hello"],"model":"text-embedding-3-small"}`)})
	if h.Outcome != Exact {
		t.Fatalf("outcome %v", h.Outcome)
	}
	vecs, err := ParseEmbeddings(h.Entry.Body)
	if err != nil || len(vecs) != 1 || vecs[0][1] != 0.2 {
		t.Fatalf("vectors %v, %v", vecs, err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"the zero config is valid", Config{}, true},
		{"an unknown store", Config{Store: "disk"}, false},
		{"redis without an address", Config{Store: "redis"}, false},
		{"an unknown semantic mode", Config{Defaults: Rules{Semantic: "maybe"}}, false},
		{"a threshold above 1", Config{Defaults: Rules{Threshold: 1.5}}, false},
		{"an unknown verification mode", Config{Semantic: SemanticConfig{Verify: "lax"}}, false},
		{"shards not a power of two", Config{Memory: MemoryConfig{Shards: 3}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.WithDefaults().Validate(); (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestConcurrentLookupsAndStores(t *testing.T) {
	c := newCache(t, Config{Enabled: true, Defaults: Rules{Semantic: SemanticOn}, Memory: MemoryConfig{MaxBytes: 1 << 20}}, Deps{})
	questions := []string{"What is the capital of France?", "what's the capital of france", "How do vaccines work?", "Convert 10 miles to km", "Convert 10 km to miles"}
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 300 {
				scope := Scope{Tenant: fmt.Sprint(i % 3)}
				q := questions[(i+w)%len(questions)]
				h := ask(c, scope, q)
				if h.Served() {
					out, err := h.Reply(ReplayOptions{})
					if err != nil || !strings.Contains(string(out), "answer to") {
						t.Errorf("bad reply %s, %v", out, err)
					}
					if strings.Contains(q, "miles to km") != strings.Contains(string(out), "miles to km") && strings.Contains(q, "Convert") {
						t.Errorf("%q answered with %s", q, out)
					}
					continue
				}
				c.Store(context.Background(), h, Response{Status: 200, Body: answerBody("answer to " + q)})
				if i%50 == 0 {
					c.Purge(context.Background(), scope)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if st := c.Stats(); st.Hits+st.SemanticHits == 0 {
		t.Fatalf("no hits: %+v", st)
	}
}
