package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

func cachingGateway(t *testing.T, up *testutil.Upstream, extra string) *testutil.Gateway {
	t.Helper()
	return testutil.StartGateway(t, fmt.Sprintf(`
cache:
  enabled: true
  defaults: {semantic: "on"}
%s
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}]
keys:
  - {name: tenant-a, key_env: KA, team: a, feature: faq}
  - {name: tenant-b, key_env: KB, team: b, feature: faq}
`, extra, up.URL), map[string]string{"KA": "ka", "KB": "kb"})
}

const faq = `{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"What is the capital of France?"}]}`

func TestCacheHitsAreScopedAndLabelled(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := cachingGateway(t, up, "")
	steps := []struct {
		name, key, body, want string
		calls                 int64
	}{
		{"the first request is a miss", "ka", faq, "miss", 1},
		{"the same request from the same tenant is a hit", "ka", faq, "hit", 1},
		{"the same request from another tenant is a miss", "kb", faq, "miss", 2},
		{"a near duplicate is a semantic hit", "ka", strings.Replace(faq, "What is the capital of France?", "what is the capital of france", 1), "semantic", 2},
		{"a question that differs in meaning is a miss", "ka", strings.Replace(faq, "France", "Germany", 1), "miss", 3},
		{"a sampled request is not cached, and says miss", "ka", strings.Replace(faq, `"temperature":0,`, "", 1), "miss", 4},
	}
	for _, s := range steps {
		r := g.Post(t, "/v1/chat/completions", s.body, "Authorization", "Bearer "+s.key)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", s.name, r.Status, r.Body)
		}
		if got := r.Header.Get("X-Switchyard-Cache"); got != s.want || up.Calls() != s.calls {
			t.Fatalf("%s: x-switchyard-cache %q, upstream calls %d; want %q, %d", s.name, got, up.Calls(), s.want, s.calls)
		}
		if s.want == "semantic" && r.Header.Get("X-Switchyard-Cache-Similarity") == "" {
			t.Fatalf("%s: no similarity header", s.name)
		}
	}
	// The no-cache directive bypasses the cache: the upstream answers, and it is a miss.
	before := up.Calls()
	if r := g.Post(t, "/v1/chat/completions", faq, "Authorization", "Bearer ka", "X-Switchyard-Cache", "no-cache"); r.Header.Get("X-Switchyard-Cache") != "miss" || up.Calls() != before+1 {
		t.Fatalf("no-cache: x-switchyard-cache %q, upstream calls %d->%d", r.Header.Get("X-Switchyard-Cache"), before, up.Calls())
	}
}

// collect reads a go-openai stream to its end: the text, the chunk count and the usage.
func collect(t *testing.T, s *openai.ChatCompletionStream) (string, int, *openai.Usage) {
	t.Helper()
	defer s.Close()
	var text strings.Builder
	n := 0
	var usage *openai.Usage
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return text.String(), n, usage
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if c.Usage != nil {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
}

func TestReplayedStreamsLookLikeLiveOnes(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{Chunks: 5})
	g := cachingGateway(t, up, "")
	client := g.OpenAI("ka")
	ctx := context.Background()
	seed := 7 // go-openai omits a zero temperature; a seed marks the request deterministic
	ask := func(q string) openai.ChatCompletionRequest {
		return openai.ChatCompletionRequest{Model: "gpt-4o-mini", Seed: &seed,
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: q}}}
	}
	t.Run("stored from a stream, served as a stream and as JSON", func(t *testing.T) {
		req := ask("Tell me about the Eiffel tower")
		req.Stream, req.StreamOptions = true, &openai.StreamOptions{IncludeUsage: true}
		s, err := client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		live, _, liveUsage := collect(t, s)
		s, err = client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		replayed, chunks, usage := collect(t, s)
		if up.Calls() != 1 || replayed != live || chunks < 3 || usage == nil || liveUsage == nil || *usage != *liveUsage {
			t.Fatalf("calls %d, replayed %q (%d chunks, usage %+v) vs live %q (usage %+v)", up.Calls(), replayed, chunks, usage, live, liveUsage)
		}
		req.Stream, req.StreamOptions = false, nil
		resp, err := client.CreateChatCompletion(ctx, req)
		if err != nil || up.Calls() != 1 || resp.Choices[0].Message.Content != live || resp.Usage.TotalTokens != liveUsage.TotalTokens {
			t.Fatalf("as JSON: %v calls %d %+v", err, up.Calls(), resp)
		}
	})
	t.Run("stored from JSON, served as a stream", func(t *testing.T) {
		req := ask("Tell me about the Louvre")
		resp, err := client.CreateChatCompletion(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		calls := up.Calls()
		req.Stream = true
		s, err := client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		text, chunks, usage := collect(t, s)
		if up.Calls() != calls || text != resp.Choices[0].Message.Content || chunks < 2 || usage != nil {
			t.Fatalf("calls %d->%d, %q (%d chunks, usage %v) vs %q", calls, up.Calls(), text, chunks, usage, resp.Choices[0].Message.Content)
		}
	})
}

func TestAServedEmbeddingsModelEmbedsForTheSemanticCacheAndIsMetered(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	ledger := t.TempDir() + "/ledger.db"
	g := testutil.StartGateway(t, fmt.Sprintf(`
cache:
  enabled: true
  defaults: {semantic: "on"}
  semantic: {embedder: text-embedding-3-small}
metering: {ledger: "sqlite:%s", writer: {flush_interval: 20ms}}
providers: [{name: openai, base_url: %s}]
models: [{name: gpt-4o-mini, provider: openai}, {name: text-embedding-3-small, provider: openai}]
`, ledger, up.URL), nil)
	if r := g.Post(t, "/v1/chat/completions", faq, "X-Request-Id", "q1"); r.Status != 200 || r.Header.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("%d %q", r.Status, r.Header.Get("X-Switchyard-Cache"))
	}
	embedCalls := 0
	for _, req := range up.Requests() {
		if strings.HasSuffix(req.Path, "/embeddings") {
			embedCalls++
		}
	}
	if embedCalls == 0 {
		t.Fatal("the configured embeddings model was never called")
	}
	evs := ledgerEvents(t, ledger, 1+embedCalls)
	found := false
	for _, ev := range evs {
		if ev.Feature == "semantic-cache" && ev.RequestedModel == "text-embedding-3-small" && ev.Tokens.Input > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no metered embeddings call in %v", evs)
	}
}

// TestARefusedSemanticCandidateSaysWhichGuard: the order guard refuses "Is every square a
// rectangle?" against a stored "Is every rectangle a square?"; the answer is a miss that
// names the guard, and a true paraphrase is still a semantic hit.
func TestARefusedSemanticCandidateSaysWhichGuard(t *testing.T) {
	up := testutil.StartUpstream(t, mock.Config{})
	g := cachingGateway(t, up, "")
	ask := func(q string) testutil.Response {
		return g.Post(t, "/v1/chat/completions", strings.Replace(faq, "What is the capital of France?", q, 1), "Authorization", "Bearer ka")
	}
	if r := ask("Is every rectangle a square?"); r.Status != 200 || r.Header.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("first question: %d cache=%q", r.Status, r.Header.Get("X-Switchyard-Cache"))
	}
	var swapped testutil.Response
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if swapped = ask("Is every square a rectangle?"); swapped.Header.Get("X-Switchyard-Cache-Refused") != "" {
			break
		}
	}
	if got := swapped.Header.Get("X-Switchyard-Cache-Refused"); got != "order" || swapped.Header.Get("X-Switchyard-Cache") != "miss" {
		t.Fatalf("swapped question: cache=%q refused=%q, want a miss refused by order", swapped.Header.Get("X-Switchyard-Cache"), got)
	}
	if r := ask("is every rectangle a square"); r.Header.Get("X-Switchyard-Cache") != "semantic" || r.Header.Get("X-Switchyard-Cache-Refused") != "" {
		t.Fatalf("a paraphrase: cache=%q refused=%q, want a semantic hit", r.Header.Get("X-Switchyard-Cache"), r.Header.Get("X-Switchyard-Cache-Refused"))
	}
}
