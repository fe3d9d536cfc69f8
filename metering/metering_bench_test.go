package metering

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/provider"
)

// benchText is ~4 KiB of English prose.
var benchText = strings.Repeat("The gateway must add almost nothing to an LLM call; finance must trust its numbers. ", 50)

// BenchmarkTokenizerCount measures tiktoken itself: the count cache is off.
func BenchmarkTokenizerCount(b *testing.B) {
	tok, err := NewTokenizerConfig(TokenizerConfig{CacheEntries: -1, ExactBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	for _, model := range []string{"gpt-4o", "gpt-4"} {
		b.Run(model, func(b *testing.B) {
			n := tok.Count(model, benchText)
			b.SetBytes(int64(len(benchText)))
			b.ReportAllocs()
			for b.Loop() {
				tok.Count(model, benchText)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

func BenchmarkEstimateChat(b *testing.B) {
	tok := tokenizer(b)
	body := []byte(cookbookMessages)
	b.ReportAllocs()
	for b.Loop() {
		tok.EstimateChat("gpt-4o", body)
	}
}

// BenchmarkMeteringHotPath is what metering adds to one request: the pre-flight prompt
// estimate, resolving the provider's usage, building the event and pricing it. "estimate
// cached" is a prompt whose texts were counted before (system prompts, history), the
// common case; "uncached" a prompt never seen; "no estimate" a request whose admission
// needs none (its usage is reported by the provider).
func BenchmarkMeteringHotPath(b *testing.B) {
	cached := tokenizer(b)
	uncached, err := NewTokenizerConfig(TokenizerConfig{CacheEntries: -1})
	if err != nil {
		b.Fatal(err)
	}
	pricer := NewPricer(defaultCatalog(b))
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a concise assistant for an online shop."},` +
		`{"role":"user","content":"Where is my order 12345? It was due on Monday."}],"stream":true}`)
	usage := provider.Usage{Reported: true, InputTokens: 41, CachedInputTokens: 0, OutputTokens: 120}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	run := func(b *testing.B, tok *Tokenizer) {
		b.ReportAllocs()
		var sink Money
		for b.Loop() {
			var prompt int64
			if tok != nil {
				prompt = int64(tok.EstimateChat("gpt-4o", body))
			}
			tokens, src := ResolveUsage(usage, true, prompt, 0)
			ev := Event{
				RequestID: "req-1", Time: now, Key: "k", Team: "t", Feature: "f",
				RequestedModel: "gpt-4o", ServedModel: "gpt-4o-2024-08-06", Provider: "openai",
				Cache: CacheMiss, Tokens: tokens, UsageSource: src, Status: 200, Stream: true,
			}
			pricer.Price(&ev)
			sink += ev.Cost
		}
		_ = sink
	}
	b.Run("estimate cached", func(b *testing.B) { run(b, cached) })
	b.Run("estimate uncached", func(b *testing.B) { run(b, uncached) })
	b.Run("no estimate", func(b *testing.B) { run(b, nil) })
}

func benchmarkLedger(b *testing.B, s *SQLStore) {
	w := NewWriter(s, WriterConfig{Journal: tempJournal(b)}, nil)
	base := sampleEvent(0)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = "bench-" + strconv.Itoa(i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ev := base
		ev.RequestID = ids[i]
		if err := w.Append(&ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func BenchmarkLedgerWriteSQLite(b *testing.B) { benchmarkLedger(b, sqliteLedger(b)) }

func BenchmarkLedgerWritePostgres(b *testing.B) { benchmarkLedger(b, postgresLedger(b)) }
