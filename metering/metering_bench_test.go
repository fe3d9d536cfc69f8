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

// discardStore takes every batch at once.
type discardStore struct{}

func (discardStore) WriteBatch(context.Context, []Event) error { return nil }

// BenchmarkWriterAppend is the request path's cost of recording an event: a healthy
// writer (a channel send), the journal write an event pays when the queue is full, and a
// drop when the journal is full too. Run with -cpu 1,2 to see contention.
func BenchmarkWriterAppend(b *testing.B) {
	b.Run("queue", func(b *testing.B) {
		// The queue is let drain (off the clock) every 4096 events, half its size, so
		// this measures the send and not the writer goroutine's pace.
		w := NewWriter(discardStore{}, WriterConfig{Journal: "none"}, nil)
		b.ReportAllocs()
		ev := sampleEvent(1)
		n := 0
		for b.Loop() {
			if err := w.Append(&ev); err != nil {
				b.Fatal(err)
			}
			if n++; n%4096 == 0 {
				b.StopTimer()
				for w.Stats().Queued > 0 {
					time.Sleep(10 * time.Microsecond)
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		w.Close(context.Background()) //nolint:errcheck // benchmark teardown
	})
	b.Run("journal", func(b *testing.B) {
		j, err := newJournal(tempJournal(b), DefaultJournalMaxBytes)
		if err != nil {
			b.Fatal(err)
		}
		defer j.close()
		evs := []Event{sampleEvent(1)}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if err := j.append(evs); err != nil {
				b.Fatal(err)
			}
			if n++; n%50_000 == 0 { // keep the file small: consume what was written
				b.StopTimer()
				j.commit(j.size, n)
				n = 0
				b.StartTimer()
			}
		}
		b.ReportMetric(float64(j.bytes.Load())/float64(max(n, 1)), "bytes/event")
	})
	b.Run("drop", func(b *testing.B) {
		st := &stallStore{release: make(chan struct{})}
		w := NewWriter(st, WriterConfig{QueueSize: 1, BatchSize: 1, WriteTimeout: time.Hour, Journal: "none"}, nil)
		for w.Stats().Queued == 0 { // the writer holds one event and one waits in the queue
			ev := sampleEvent(0)
			w.Append(&ev) //nolint:errcheck // filling the queue
			time.Sleep(time.Millisecond)
		}
		b.ReportAllocs()
		ev := sampleEvent(1)
		for b.Loop() {
			if err := w.Append(&ev); err != ErrEventDropped {
				b.Fatalf("Append = %v, want a drop", err)
			}
		}
		close(st.release)
		w.Close(context.Background()) //nolint:errcheck // benchmark teardown
	})
}
