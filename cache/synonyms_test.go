package cache

import (
	"context"
	"strings"
	"testing"
)

func TestLexiconCanonicalWords(t *testing.T) {
	tests := []struct {
		name, word, want string
	}{
		{"a synonym is its canonical word", "purchase", "buy"},
		{"a plural of a synonym too", "automobiles", "car"},
		{"an irregular plural is its singular", "children", "child"},
		{"an -ing form of a listed verb is the verb", "learning", "learn"},
		{"a doubled consonant is undone", "running", "run"},
		{"a dropped e is restored", "improving", "improve"},
		{"a lemma of a synonym ends at the canonical word", "deleting", "remove"},
		{"a British spelling is the American one", "colour", "color"},
		{"an -ing noun that is not a listed verb stays", "building", "building"},
		{"a past form stays (the passive swaps roles)", "chased", "chased"},
		{"an unknown word stays", "photosynthesis", "photosynthesis"},
	}
	lx := newLexicon(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lx.canonical(tt.word); got != tt.want {
				t.Fatalf("canonical(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

func TestBuiltinCanonicalWordsAreStable(t *testing.T) {
	// A canonical word must be its own singular, or plurals of it would miss.
	for w, c := range builtinCanon {
		if stemWord(c) != c {
			t.Errorf("%q maps to %q, whose singular is %q", w, c, stemWord(c))
		}
		if _, chained := builtinCanon[c]; chained {
			t.Errorf("%q maps to %q, which maps on", w, c)
		}
	}
}

func TestSynonymsConfigIsValidated(t *testing.T) {
	tests := []struct {
		name     string
		synonyms map[string][]string
		err      string
	}{
		{"none is valid", nil, ""},
		{"lower-case words are valid", map[string][]string{"invoice": {"bill", "receipt"}}, ""},
		{"a word with a digit is refused", map[string][]string{"invoice": {"bill2"}}, "not one lower-case word"},
		{"a capitalised word is refused", map[string][]string{"Invoice": {"bill"}}, "not one lower-case word"},
		{"a phrase is refused", map[string][]string{"invoice": {"the bill"}}, "not one lower-case word"},
		{"a negation is refused", map[string][]string{"yes": {"not"}}, "negation"},
		{"a number word is refused", map[string][]string{"many": {"two"}}, "number"},
		{"a word under two keys is refused", map[string][]string{"invoice": {"bill"}, "check": {"bill"}}, "listed under both"},
		{"a key that is another key's word is refused", map[string][]string{"invoice": {"bill"}, "bill": {"tab"}}, "canonical word and also"},
		{"a key without words is refused", map[string][]string{"invoice": {}}, "lists no words"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Semantic: SemanticConfig{Synonyms: tt.synonyms}}.WithDefaults()
			err := cfg.Validate()
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "cache.semantic.synonyms")):
				t.Fatalf("error %v, want one about cache.semantic.synonyms containing %q", err, tt.err)
			}
		})
	}
}

func TestConfiguredSynonymsHitAndGetTheirOwnPartitions(t *testing.T) {
	cfg := semanticConfig(SemanticOn)
	cfg.Semantic.Synonyms = map[string][]string{"invoice": {"bill"}}
	c := newCache(t, cfg, Deps{})
	storeAnswer(t, c, testScope, "How do I pay an invoice online?", "like this")
	if h := ask(c, testScope, "How do I pay bills online?"); h.Outcome != Semantic {
		t.Fatalf("configured synonym: %v %+v", h.Outcome, h.Shadow)
	}
	plain := newCache(t, semanticConfig(SemanticOn), Deps{})
	storeAnswer(t, plain, testScope, "How do I pay an invoice online?", "like this")
	if h := ask(plain, testScope, "How do I pay bills online?"); h.Served() {
		t.Fatal("without the configured synonym, bill is not invoice")
	}
	if c.embedName == plain.embedName || !strings.HasPrefix(c.embedName, plain.embedName+"-") {
		t.Fatalf("embedder names %q and %q: the configured lexicon must be in the name", c.embedName, plain.embedName)
	}
	v, _ := c.embedder.Embed(context.Background(), []string{"pay a bill", "pay an invoice"})
	if dot(v[0], v[1]) < 0.999 {
		t.Fatalf("the local embedder does not use the configured synonyms: %v", dot(v[0], v[1]))
	}
}
