package metering

import (
	"strings"
	"sync"
	"testing"
)

// testTokenizer is loaded once: the vocabularies take ~0.5 s.
var testTokenizer = sync.OnceValues(NewTokenizer)

func tokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := testTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCountMatchesTiktokensPublishedCounts(t *testing.T) {
	tok := tokenizer(t)
	tests := []struct {
		name, model, text string
		want              int
	}{
		{"hello world is two tokens in cl100k", "gpt-4", "hello world", 2},
		{"hello world is two tokens in o200k", "gpt-4o", "hello world", 2},
		// OpenAI cookbook "How to count tokens with tiktoken": [83, 1609, 5963, 374, 2294, 0].
		{"the cookbook's example is six tokens in cl100k", "gpt-3.5-turbo", "tiktoken is great!", 6},
		{"punctuation splits in o200k", "gpt-5", "Hello, world!", 4},
		{"empty text is zero tokens", "gpt-4o", "", 0},
		{"special-token text is counted as ordinary text, not rejected", "gpt-4o", "<|endoftext|>", 7},
		{"an embedding model uses cl100k", "text-embedding-3-small", "hello world", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Count(tt.model, tt.text); got != tt.want {
				t.Errorf("Count(%s, %q) = %d, want %d", tt.model, tt.text, got, tt.want)
			}
		})
	}
}

func TestEncodingPerModelFamily(t *testing.T) {
	tests := []struct {
		model, wantEnc string
		wantPermille   int64
	}{
		{"gpt-4o-2024-08-06", EncodingO200K, 1000},
		{"chatgpt-4o-latest", EncodingO200K, 1000},
		{"gpt-4.1-nano", EncodingO200K, 1000},
		{"o1", EncodingO200K, 1000},
		{"o3-mini", EncodingO200K, 1000},
		{"o4-mini", EncodingO200K, 1000},
		{"gpt-5.1", EncodingO200K, 1000},
		{"openai/gpt-5-mini", EncodingO200K, 1000},
		{"gpt-4", EncodingCL100K, 1000},
		{"gpt-4-turbo", EncodingCL100K, 1000},
		{"gpt-3.5-turbo-0125", EncodingCL100K, 1000},
		{"text-embedding-3-large", EncodingCL100K, 1000},
		{"claude-sonnet-4-5", EncodingCL100K, 1200},
		{"gemini-2.5-pro", EncodingCL100K, 1050},
		{"mistral-large-2411", EncodingCL100K, 1100},
		{"some-local-model", EncodingCL100K, 1100},
		{"o100", EncodingCL100K, 1100},
	}
	for _, tt := range tests {
		t.Run("model "+tt.model+" uses "+tt.wantEnc, func(t *testing.T) {
			enc, pm := Encoding(tt.model)
			if enc != tt.wantEnc || pm != tt.wantPermille {
				t.Errorf("Encoding(%q) = %s ×%d‰, want %s ×%d‰", tt.model, enc, pm, tt.wantEnc, tt.wantPermille)
			}
		})
	}
}

// cookbookMessages is the example conversation of OpenAI's cookbook "How to count tokens
// with tiktoken", whose prompt the API counts as 129 tokens on gpt-3.5-turbo/gpt-4 and 124
// on gpt-4o and gpt-4o-mini.
const cookbookMessages = `{"model":"x","messages":[
 {"role":"system","content":"You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
 {"role":"system","name":"example_user","content":"New synergies will help drive top-line growth."},
 {"role":"system","name":"example_assistant","content":"Things working well together will increase revenue."},
 {"role":"system","name":"example_user","content":"Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
 {"role":"system","name":"example_assistant","content":"Let's talk later when we're less busy about how to do better."},
 {"role":"user","content":"This late pivot means we don't have time to boil the ocean for the client deliverable."}]}`

func TestEstimateChat(t *testing.T) {
	tok := tokenizer(t)
	tests := []struct {
		name     string
		model    string
		body     string
		min, max int
	}{
		{"the cookbook conversation matches the API's count on gpt-4", "gpt-4", cookbookMessages, 129, 129},
		{"the cookbook conversation matches the API's count on gpt-4o", "gpt-4o-mini", cookbookMessages, 124, 124},
		{"one short user message is its text plus seven tokens of framing", "gpt-4o",
			`{"messages":[{"role":"user","content":"hello world"}]}`, 3 + 1 + 2 + 3, 3 + 1 + 2 + 3},
		{"content parts are counted and an image costs a high-detail tile budget", "gpt-4o",
			`{"messages":[{"role":"user","content":[{"type":"text","text":"hello world"},{"type":"image_url","image_url":{"url":"data:..."}}]}]}`,
			3 + 1 + 2 + 765 + 3, 3 + 1 + 2 + 765 + 3},
		{"tool definitions and tool calls add tokens", "gpt-4o",
			`{"messages":[{"role":"user","content":"weather?"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}],
			  "tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`,
			50, 90},
		{"a vendor approximation scales the count up", "claude-haiku-4-5", cookbookMessages, 155, 155},
		{"a body without messages estimates zero", "gpt-4o", `{"model":"gpt-4o"}`, 0, 0},
		{"a malformed body does not panic", "gpt-4o", `{"messages":[{"role":"user","content":"hi"`, 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tok.EstimateChat(tt.model, []byte(tt.body))
			if got < tt.min || got > tt.max {
				t.Errorf("EstimateChat = %d, want in [%d, %d]", got, tt.min, tt.max)
			}
		})
	}
}

func TestEstimateEmbeddingAndCompletion(t *testing.T) {
	tok := tokenizer(t)
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"a string input counts its tokens", tok.EstimateEmbedding("text-embedding-3-small", []byte(`{"input":"hello world"}`)), 2},
		{"an array of strings sums the inputs", tok.EstimateEmbedding("text-embedding-3-small", []byte(`{"input":["hello world","tiktoken is great!"]}`)), 8},
		{"pre-tokenised input counts the ids", tok.EstimateEmbedding("text-embedding-3-small", []byte(`{"input":[[1,2,3],[4,5]]}`)), 5},
		{"a single token-id array counts the ids", tok.EstimateEmbedding("text-embedding-3-small", []byte(`{"input":[1,2,3]}`)), 3},
		{"a completions prompt counts its tokens", tok.EstimateCompletion("gpt-3.5-turbo-instruct", []byte(`{"prompt":"hello world"}`)), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
}

func TestLongTextIsExtrapolatedWithinTenPercent(t *testing.T) {
	exact, err := NewTokenizerConfig(TokenizerConfig{ExactBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	bounded, err := NewTokenizerConfig(TokenizerConfig{ExactBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("Finance must be able to trust the numbers: every token class is priced. ", 800)
	want := exact.Count("gpt-4o", text)
	got := bounded.Count("gpt-4o", text)
	if diff := got - want; diff < -want/10 || diff > want/10 {
		t.Fatalf("extrapolated %d tokens, exact %d: off by more than 10%%", got, want)
	}
	body := `{"messages":[` + strings.TrimSuffix(strings.Repeat(`{"role":"user","content":"`+text[:3000]+`"},`, 20), ",") + `]}`
	wantChat, gotChat := exact.EstimateChat("gpt-4o", []byte(body)), bounded.EstimateChat("gpt-4o", []byte(body))
	if diff := gotChat - wantChat; diff < -wantChat/10 || diff > wantChat/10 {
		t.Fatalf("chat estimate past the budget %d, exact %d: off by more than 10%%", gotChat, wantChat)
	}
}

func TestTokenizerIsSafeForConcurrentUse(t *testing.T) {
	tok := tokenizer(t)
	want := tok.EstimateChat("gpt-4o", []byte(cookbookMessages))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := tok.EstimateChat("gpt-4o", []byte(cookbookMessages)); got != want {
					t.Errorf("concurrent estimate %d, want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCountCacheAgreesWithCountingAndStaysBounded(t *testing.T) {
	cached, err := NewTokenizerConfig(TokenizerConfig{CacheEntries: countShards * 2})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewTokenizerConfig(TokenizerConfig{CacheEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		text := strings.Repeat("token counting must be cached correctly ", 1+i%5) + strings.Repeat("x", i)
		for range 2 { // the second count is a cache hit for most texts
			if got, want := cached.Count("gpt-4o", text), plain.Count("gpt-4o", text); got != want {
				t.Fatalf("text %d: cached count %d, counted %d", i, got, want)
			}
		}
	}
	for i := range cached.cache.shards {
		if n := len(cached.cache.shards[i].m); n > cached.cache.perShard {
			t.Fatalf("shard %d holds %d entries, bound %d", i, n, cached.cache.perShard)
		}
	}
}

func TestAGrowingConversationStaysExactThroughTheCountCache(t *testing.T) {
	exact, err := NewTokenizerConfig(TokenizerConfig{ExactBytes: -1, CacheEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	bounded, err := NewTokenizerConfig(TokenizerConfig{ExactBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for turn := range 12 { // each turn adds ~1.5 KiB; the whole is far past the 2 KiB budget
		msgs = append(msgs, `{"role":"user","content":"turn `+strings.Repeat("and the history grows ", 70)+itoa(int64(turn))+`"}`)
		body := []byte(`{"messages":[` + strings.Join(msgs, ",") + `]}`)
		if got, want := bounded.EstimateChat("gpt-4o", body), exact.EstimateChat("gpt-4o", body); got != want {
			t.Fatalf("turn %d: estimate %d, exact %d: earlier turns must come from the cache", turn, got, want)
		}
	}
}
