package metering

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustRate(s string) *Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return &r
}

func defaultCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := LoadCatalog(PriceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefaultPriceFileIsValidAndCoversTheCommonModels(t *testing.T) {
	c := defaultCatalog(t)
	now := day("2026-11-26")
	for _, m := range []string{
		"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini",
		"gpt-5", "gpt-5-mini", "gpt-5-nano", "text-embedding-3-small", "text-embedding-3-large",
		"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "claude-3-5-sonnet", "claude-3-5-haiku",
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "mistral-large-2411", "mistral-small-2503",
	} {
		if _, ok := c.Lookup(m, now); !ok {
			t.Errorf("default catalogue has no price for %s", m)
		}
	}
	if len(c.Version()) != 12 {
		t.Errorf("version %q is not 12 hex digits", c.Version())
	}
}

func TestLookupResolvesModelIDs(t *testing.T) {
	c := defaultCatalog(t)
	at := day("2026-06-01")
	tests := []struct {
		name, model, want string
	}{
		{"an exact id resolves to itself", "gpt-4o", "gpt-4o"},
		{"a dated OpenAI id resolves to its family", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"},
		{"a dated id listed itself wins over its family", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},
		{"an Anthropic dated id resolves", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"an alias resolves", "claude-sonnet-4-0", "claude-sonnet-4"},
		{"a -latest id resolves", "claude-3-5-sonnet-latest", "claude-3-5-sonnet"},
		{"a vendor path is dropped", "openai/gpt-4o-mini", "gpt-4o-mini"},
		{"a Gemini version suffix is dropped", "models/gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"a Vertex @version is dropped", "claude-opus-4-1@20250805", "claude-opus-4-1"},
		{"a Bedrock id resolves", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"},
		{"an old four-digit snapshot resolves", "gpt-4-0613", "gpt-4"},
		{"case does not matter after the exact match", "GPT-4o", "gpt-4o"},
		{"a different model with a shared prefix is not priced", "gpt-4o-audio-preview", ""},
		{"an unknown Mistral -latest alias is not guessed", "mistral-large-latest", ""},
		{"an unknown model is not priced", "llama-3.1-70b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second lookup goes through the resolution cache
				p, ok := c.Lookup(tt.model, at)
				if got := map[bool]string{true: p.Model}[ok]; got != tt.want {
					t.Fatalf("Lookup(%q) = %q, want %q", tt.model, got, tt.want)
				}
			}
		})
	}
}

func TestPriceEffectiveDateSwitchesMidMonth(t *testing.T) {
	c := defaultCatalog(t)
	// o3 was cut from $10/$40 to $2/$8 on 2025-06-10.
	tokens := Tokens{Input: 1_000_000, Output: 1_000_000}
	p := NewPricer(c)
	tests := []struct {
		name string
		at   time.Time
		want Money
	}{
		{"the first of the month uses the old price", day("2025-06-01"), 50 * Dollar},
		{"the last second before the change uses the old price", day("2025-06-10").Add(-time.Second), 50 * Dollar},
		{"midnight UTC of the change uses the new price", day("2025-06-10"), 10 * Dollar},
		{"the end of the month uses the new price", day("2025-06-30"), 10 * Dollar},
		{"before the model's first price there is no price", day("2025-01-01"), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Cost("o3-2025-04-16", tt.at, tokens)
			if tt.want < 0 {
				if ok {
					t.Fatalf("Cost = %s, want unpriced", got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("Cost = %s (priced %v), want %s", got, ok, tt.want)
			}
		})
	}
}

func TestCostPricesEveryTokenClassAtItsOwnRate(t *testing.T) {
	c := defaultCatalog(t)
	at := day("2026-01-15")
	tests := []struct {
		name   string
		model  string
		tokens Tokens
		want   string // dollars
	}{
		// gpt-4o: $2.50 input, $1.25 cached, $10 output.
		{"cached input is priced at the cached rate", "gpt-4o", Tokens{Input: 1_000_000, CachedInput: 400_000}, "2.00"},
		{"reasoning tokens are output and not billed twice", "o4-mini", Tokens{Input: 1000, Output: 2000, Reasoning: 1500}, "0.0099"},
		// claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output.
		{"cache writes are priced at the cache-write rate", "claude-sonnet-4-5", Tokens{Input: 100_000, CachedInput: 50_000, CacheWrite: 20_000, Output: 1000}, "0.195"},
		{"a long-context request is priced at the long-context rates", "claude-sonnet-4-5", Tokens{Input: 300_000, Output: 1000}, "1.8225"},
		{"a model without a cache discount prices cached input as input", "mistral-large-2411", Tokens{Input: 1_000_000, CachedInput: 1_000_000}, "2.00"},
		{"embeddings cost input only", "text-embedding-3-small", Tokens{Input: 123_456}, "0.00246912"},
	}
	p := NewPricer(c)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Cost(tt.model, at, tt.tokens)
			if !ok || got.String() != tt.want {
				t.Fatalf("Cost(%s, %+v) = %s (priced %v), want %s", tt.model, tt.tokens, got, ok, tt.want)
			}
		})
	}
}

func TestOverridesReplaceDefaultsAndChangeTheVersion(t *testing.T) {
	def := defaultCatalog(t)
	c, err := LoadCatalog(PriceConfig{Overrides: []ModelPrice{{
		Model:   "gpt-4o",
		Aliases: []string{"our-gpt"},
		Prices:  []DatedPrice{{From: Date{Time: day("2020-01-01")}, Input: mustRate("1.00"), Output: mustRate("2.00")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() == def.Version() {
		t.Error("an override must change the price version")
	}
	p, ok := c.Lookup("our-gpt", day("2026-01-01"))
	if !ok || p.Input != 1_000_000 || p.CachedInput != 1_000_000 {
		t.Fatalf("override lookup = %+v, %v; want input $1.00 and cached defaulting to input", p, ok)
	}
	if _, ok := c.Lookup("gpt-4o-mini", day("2026-01-01")); !ok {
		t.Error("models not overridden keep their default prices")
	}
}

func TestPriceFileLoadingAndValidation(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string
	}{
		{"a valid file loads", "models:\n  - model: m\n    prices:\n      - {from: 2025-01-01, input: \"1\", output: \"2\"}\n", ""},
		{"an unknown key is an error", "models:\n  - model: m\n    price: 1\n", "field price not found"},
		{"a missing output price is an error, never $0", "models:\n  - model: m\n    prices:\n      - {from: 2025-01-01, input: \"1\"}\n", "line 4: model m, price 1: input and output are required"},
		{"dates out of order are an error", "models:\n  - model: m\n    prices:\n      - {from: 2025-02-01, input: \"1\", output: \"1\"}\n      - {from: 2025-01-01, input: \"1\", output: \"1\"}\n", "is not after the previous"},
		{"a bad date names its line", "models:\n  - model: m\n    prices:\n      - {from: 2025-13-01, input: \"1\", output: \"1\"}\n", "line 4: date \"2025-13-01\""},
		{"too many decimals are an error", "models:\n  - model: m\n    prices:\n      - {from: 2025-01-01, input: \"0.0000001\", output: \"1\"}\n", "more than 6 decimals"},
		{"an id used twice is an error", "models:\n  - model: m\n    prices: [{from: 2025-01-01, input: 1, output: 1}]\n  - model: n\n    aliases: [m]\n    prices: [{from: 2025-01-01, input: 1, output: 1}]\n", "also used by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prices.yaml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCatalog(PriceConfig{File: path, SkipDefaults: true})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSkipDefaultsLeavesOtherModelsUnpriced(t *testing.T) {
	c, err := LoadCatalog(PriceConfig{SkipDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("gpt-4o", day("2026-01-01")); ok {
		t.Fatal("with skip_defaults, gpt-4o must be unpriced")
	}
}
