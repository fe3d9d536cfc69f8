package metering

import (
	"testing"

	"github.com/switchyard/switchyard/internal/provider"
)

func TestPricerFillsCostCounterfactualAndSavings(t *testing.T) {
	p := NewPricer(defaultCatalog(t))
	at := day("2026-02-01")
	tokens := Tokens{Input: 1_000_000, Output: 100_000}
	tests := []struct {
		name                  string
		ev                    Event
		cost, counter, saving string
		unpriced              bool
	}{
		{"a miss on the requested model saves nothing",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Cache: CacheMiss},
			"3.50", "3.50", "0.00", false},
		{"a cache hit costs nothing and saves the counterfactual",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Cache: CacheHit},
			"0.00", "3.50", "3.50", false},
		{"a semantic hit is also free",
			Event{RequestedModel: "gpt-4o", Cache: CacheSemantic},
			"0.00", "3.50", "3.50", false},
		{"a coalesced request rides on another's upstream call",
			Event{RequestedModel: "gpt-4o", Cache: CacheCoalesced},
			"0.00", "3.50", "3.50", false},
		{"rerouting to a cheaper model saves the difference",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Cache: CacheMiss},
			"0.21", "3.50", "3.29", false},
		{"rerouting to a dearer model shows a negative saving",
			Event{RequestedModel: "gpt-4o-mini", ServedModel: "gpt-4o", Cache: CacheNone},
			"3.50", "0.21", "-3.29", false},
		{"an unpriced served model is flagged and claims no savings",
			Event{RequestedModel: "gpt-4o", ServedModel: "my-local-llama", Cache: CacheMiss},
			"0.00", "3.50", "0.00", true},
		{"an unpriced requested model falls back to the cost as counterfactual",
			Event{RequestedModel: "smart", ServedModel: "gpt-4o-mini", Cache: CacheMiss},
			"0.21", "0.21", "0.00", true},
		{"an empty served model means the requested model served",
			Event{RequestedModel: "gpt-4o"},
			"3.50", "3.50", "0.00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			ev.Time, ev.Tokens = at, tokens
			p.Price(&ev)
			if ev.Cost.String() != tt.cost || ev.Counterfactual.String() != tt.counter ||
				ev.Savings.String() != tt.saving || ev.Unpriced != tt.unpriced {
				t.Fatalf("cost %s counterfactual %s savings %s unpriced %v; want %s %s %s %v",
					ev.Cost, ev.Counterfactual, ev.Savings, ev.Unpriced, tt.cost, tt.counter, tt.saving, tt.unpriced)
			}
			if ev.PriceVersion != p.Catalog().Version() {
				t.Errorf("price version %q, want %q", ev.PriceVersion, p.Catalog().Version())
			}
		})
	}
}

func TestSetCatalogSwapsPricesForLaterEvents(t *testing.T) {
	p := NewPricer(defaultCatalog(t))
	empty, err := LoadCatalog(PriceConfig{SkipDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	p.SetCatalog(empty)
	ev := Event{RequestedModel: "gpt-4o", Time: day("2026-01-01"), Tokens: Tokens{Input: 10}}
	p.Price(&ev)
	if !ev.Unpriced || ev.PriceVersion != empty.Version() {
		t.Fatalf("after SetCatalog: unpriced %v version %q, want unpriced under %q", ev.Unpriced, ev.PriceVersion, empty.Version())
	}
}

func TestResolveUsage(t *testing.T) {
	full := provider.Usage{Reported: true, InputTokens: 100, CachedInputTokens: 40, OutputTokens: 50, ReasoningTokens: 10}
	tests := []struct {
		name       string
		reported   provider.Usage
		complete   bool
		prompt     int64
		output     int64
		want       Tokens
		wantSource UsageSource
	}{
		{"a complete response with usage is measured", full, true, 90, 45,
			Tokens{Input: 100, CachedInput: 40, Output: 50, Reasoning: 10}, UsageMeasured},
		{"an aborted stream without usage is the prompt estimate plus the streamed text", provider.Usage{}, false, 90, 45,
			Tokens{Input: 90, Output: 45}, UsageEstimated},
		{"an aborted Anthropic stream keeps the input reported at message_start",
			provider.Usage{Reported: true, InputTokens: 120, CacheWriteTokens: 100, OutputTokens: 1}, false, 90, 45,
			Tokens{Input: 120, CacheWrite: 100, Output: 45}, UsageEstimated},
		{"a complete response without usage is estimated", provider.Usage{}, true, 90, 45,
			Tokens{Input: 90, Output: 45}, UsageEstimated},
		{"reported output larger than the text estimate is kept", provider.Usage{Reported: true, InputTokens: 10, OutputTokens: 80}, false, 90, 45,
			Tokens{Input: 10, Output: 80}, UsageEstimated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src := ResolveUsage(tt.reported, tt.complete, tt.prompt, tt.output)
			if got != tt.want || src != tt.wantSource {
				t.Fatalf("ResolveUsage = %+v %s, want %+v %s", got, src, tt.want, tt.wantSource)
			}
		})
	}
}

func TestStreamTextCountsWhatArrived(t *testing.T) {
	tok := tokenizer(t)
	var s StreamText
	s.AppendString("hello")
	s.Append([]byte(" world"))
	if got := s.Tokens(tok, "gpt-4o"); got != 2 {
		t.Fatalf("Tokens = %d, want 2", got)
	}
	s.Reset()
	big := make([]byte, MaxStreamText+4000)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	s.Append(big)
	if s.Len() != int64(len(big)) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(big))
	}
	if got := s.Tokens(tok, "gpt-4o"); got < 1000 {
		t.Fatalf("Tokens of %d bytes = %d, implausibly few", len(big), got)
	}
}
