package metering

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// limitBenchRules set every limit on every scope: the most counters a request can touch (12).
var limitBenchRules = []LimitConfig{
	{Scope: ScopeKey, RPM: 1 << 40, TPM: 1 << 50, DailySpend: "1000000", MonthlySpend: "1000000"},
	{Scope: ScopeTeam, RPM: 1 << 40, TPM: 1 << 50, DailySpend: "1000000", MonthlySpend: "1000000"},
	{Scope: ScopeFeature, RPM: 1 << 40, TPM: 1 << 50, DailySpend: "1000000", MonthlySpend: "1000000", Mode: ModeShadow},
}

// limitBenchRun numbers benchmark runs, so that request ids never repeat in a shared store.
var limitBenchRun atomic.Int64

func limitBenchIDs(n int) []string {
	run := strconv.FormatInt(limitBenchRun.Add(1), 10)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "limitReq-" + run + "-" + strconv.Itoa(i)
	}
	return ids
}

// benchLimitReserveSettle runs one Reserve and one Settle per op, goroutines spreading over
// keys distinct keys (1: every request contends on the same counters).
func benchLimitReserveSettle(b *testing.B, store LimitStore, rules []LimitConfig, keys int) {
	l, err := NewLimiter(rules, store, LimiterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ids := limitBenchIDs(b.N)
	keyNames := make([]string, keys)
	for i := range keyNames {
		keyNames[i] = "key-" + strconv.Itoa(i)
	}
	var next atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			r := ReserveRequest{RequestID: ids[i], Key: keyNames[int(i)%keys], Team: "team", Feature: "chat",
				EstimatedTokens: 900, EstimatedCost: 3 * Dollar / 1000}
			res, err := l.Reserve(ctx, r)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Settle(ctx, res, 750, 2*Dollar/1000); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func BenchmarkLimitMemoryReserveSettle(b *testing.B) {
	b.Run("12 counters, 64 keys", func(b *testing.B) { benchLimitReserveSettle(b, NewMemoryStore(), limitBenchRules, 64) })
	b.Run("12 counters, one hot key", func(b *testing.B) { benchLimitReserveSettle(b, NewMemoryStore(), limitBenchRules, 1) })
	b.Run("one rpm counter", func(b *testing.B) {
		benchLimitReserveSettle(b, NewMemoryStore(), []LimitConfig{{Scope: ScopeKey, RPM: 1 << 40}}, 64)
	})
	b.Run("no rule applies", func(b *testing.B) {
		benchLimitReserveSettle(b, NewMemoryStore(), []LimitConfig{{Scope: ScopeKey, Match: "other", RPM: 1}}, 64)
	})
}

func BenchmarkLimitRedisReserveSettle(b *testing.B) {
	rdb := limitTestRedis(b)
	s, err := NewRedisStore(rdb, RedisStoreConfig{Prefix: limitTestPrefix(b, rdb), Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("12 counters, 64 keys, 8 goroutines per CPU", func(b *testing.B) {
		b.SetParallelism(8) // 8 × GOMAXPROCS requests in flight at once
		benchLimitReserveSettle(b, s, limitBenchRules, 64)
	})
	b.Run("one rpm counter, 8 goroutines per CPU", func(b *testing.B) {
		b.SetParallelism(8)
		benchLimitReserveSettle(b, s, []LimitConfig{{Scope: ScopeKey, RPM: 1 << 40}}, 64)
	})
}
