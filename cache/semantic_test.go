package cache

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

func chatBody(system, user string) []byte {
	b := []byte(`{"model":"gpt-4o-mini","temperature":0,"messages":[`)
	if system != "" {
		b = append(b, `{"role":"system","content":`...)
		b = jsonx.Quote(b, system)
		b = append(b, "},"...)
	}
	b = append(b, `{"role":"user","content":`...)
	b = jsonx.Quote(b, user)
	return append(b, "}]}"...)
}

func answerBody(text string) []byte {
	b := []byte(`{"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":`)
	b = jsonx.Quote(b, text)
	return append(b, `,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`...)
}

func semanticConfig(mode string) Config {
	return Config{Enabled: true, Defaults: Rules{Semantic: mode}}
}

func newCache(t testing.TB, cfg Config, deps Deps) *Cache {
	t.Helper()
	c, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// storeAnswer looks up and stores an answer for question in scope.
func storeAnswer(t testing.TB, c *Cache, scope Scope, question, answer string) {
	t.Helper()
	ctx := context.Background()
	h, _ := c.Lookup(ctx, LookupRequest{Op: provider.OpChat, Scope: scope, Body: chatBody("", question)})
	if h.Served() {
		t.Fatalf("%q already served before it was stored", question)
	}
	if err := c.Store(ctx, h, Response{Status: 200, Body: answerBody(answer)}); err != nil {
		t.Fatalf("store %q: %v", question, err)
	}
}

func ask(c *Cache, scope Scope, question string) *Hit {
	h, _ := c.Lookup(context.Background(), LookupRequest{Op: provider.OpChat, Scope: scope, Body: chatBody("", question)})
	return h
}

// TestNearMissesNeverHit tries every near-miss pair both ways from an empty cache
// (temperature 0, local embedder, verify strict): a single semantic hit fails it. The
// guard that refused each pair is counted in the log (go test -v -run NearMisses).
func TestNearMissesNeverHit(t *testing.T) {
	pairs := nearMisses(t)
	if len(pairs) < 100 {
		t.Fatalf("only %d near-miss pairs", len(pairs))
	}
	c := newCache(t, semanticConfig(SemanticOn), Deps{})
	byThreshold := 0
	byGuard := map[string]int{}
	for i, p := range pairs {
		for dir, q := range [][2]string{{p.a, p.b}, {p.b, p.a}} {
			scope := Scope{Tenant: fmt.Sprintf("pair-%d-%d", i, dir)}
			storeAnswer(t, c, scope, q[0], "answer to "+q[0])
			h := ask(c, scope, q[1])
			if h.Served() {
				t.Errorf("false hit: %s: %q answered %q (similarity %.3f)", p.category, q[0], q[1], h.Similarity)
			}
			if h.Refused != "" {
				byGuard[h.Refused]++
			} else {
				byThreshold++
			}
		}
	}
	t.Logf("near misses: %d pairs x 2 directions, 0 hits allowed: stopped by threshold %d, by guard %s",
		len(pairs), byThreshold, countsLine(byGuard))
}

// TestParaphrasesHitRate tries every paraphrase pair both ways from an empty cache and
// reports the hit rate per category (go test -v -run Paraphrases ./cache/: the numbers
// in docs/cache.md). Formatting variants must hit; wording ones need not.
func TestParaphrasesHitRate(t *testing.T) {
	pairs := paraphrases(t)
	if len(pairs) < 100 {
		t.Fatalf("only %d paraphrase pairs", len(pairs))
	}
	c := newCache(t, semanticConfig(SemanticOn), Deps{})
	hits := map[string]int{}
	total := map[string]int{}
	var misses []string
	for i, p := range pairs {
		for dir, q := range [][2]string{{p.a, p.b}, {p.b, p.a}} {
			scope := Scope{Tenant: fmt.Sprintf("para-%d-%d", i, dir)}
			storeAnswer(t, c, scope, q[0], "answer")
			h := ask(c, scope, q[1])
			total[p.category]++
			if h.Outcome == Semantic {
				hits[p.category]++
				continue
			}
			why := "below threshold"
			if h.Shadow != nil {
				why = fmt.Sprintf("%.3f refused: %s", h.Shadow.Similarity, h.Shadow.Rejected)
			}
			misses = append(misses, fmt.Sprintf("  %s: %q then %q: %s", p.category, q[0], q[1], why))
		}
	}
	var cats []string
	all, allHits := 0, 0
	for k := range total {
		cats = append(cats, k)
		all += total[k]
		allHits += hits[k]
	}
	sort.Strings(cats)
	var report []string
	for _, k := range cats {
		report = append(report, fmt.Sprintf("%s %d/%d (%.0f%%)", k, hits[k], total[k], 100*float64(hits[k])/float64(total[k])))
	}
	t.Logf("paraphrase hit rate, both directions: %d/%d (%.0f%%): %s", allHits, all, 100*float64(allHits)/float64(all), strings.Join(report, ", "))
	t.Logf("misses:\n%s", strings.Join(misses, "\n"))
	formatting := all - total["wording"] - total["synonym"]
	if got := allHits - hits["wording"] - hits["synonym"]; got*10 < formatting*9 {
		t.Fatalf("formatting variants hit %d/%d, want at least 90%%", got, formatting)
	}
}

// countsLine formats counts by key, sorted: "negation 12, order 40".
func countsLine(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

func TestCriticalVerificationAloneStopsMeaningChanges(t *testing.T) {
	// The worst embedder: every text gets the same vector, so every candidate reaches
	// verification. In critical mode ordinary-word pairs pass (that is the mode's point:
	// a learned embedder tells bread from cake), and so do names written in lower case,
	// which only strict mode catches.
	same := EmbedFunc(func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range out {
			out[i] = []float32{1, 0, 0, 0}
		}
		return out, nil
	})
	cfg := semanticConfig(SemanticOn)
	cfg.Semantic = SemanticConfig{Embedder: "constant", Verify: VerifyCritical}
	c := newCache(t, cfg, Deps{Embedder: same})
	for i, p := range nearMisses(t) {
		if p.category == "word" || p.category == "lowercase-name" {
			continue
		}
		scope := Scope{Tenant: fmt.Sprintf("crit-%d", i)}
		storeAnswer(t, c, scope, p.a, "x")
		if h := ask(c, scope, p.b); h.Served() {
			t.Errorf("%s: %q answered %q in critical mode", p.category, p.a, p.b)
		}
	}
}
