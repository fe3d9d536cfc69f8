package microbatch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchFlush answers at once: the benchmarks measure what the window adds, not an
// upstream.
func benchFlush(ctx context.Context, key string, items []int) ([]int, error) {
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it * 2
	}
	return out, nil
}

func reportCalls(b *testing.B, s Stats) {
	calls := float64(s.Flushes + s.SplitFlushes)
	b.ReportMetric(float64(s.Submitted)/calls, "items/call")
	b.ReportMetric(100*(1-calls/float64(s.Submitted)), "%calls-saved")
}

// BenchmarkAddedLatencyLowLoad is one caller at a time: every request waits out the
// whole window (MaxWait, default 5ms) alone. ns/op is the latency batching adds.
func BenchmarkAddedLatencyLowLoad(b *testing.B) {
	bt, err := New(Config{}, benchFlush, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bt.Submit(ctx, "m", 1, 10); err != nil {
			b.Fatal(err)
		}
	}
	reportCalls(b, bt.Stats())
}

// BenchmarkAddedLatencyConcurrent is N callers submitting back to back, each as soon as
// its last answer came. It reports the mean and 99th percentile latency one Submit adds,
// and the upstream calls saved; ns/op is wall time per item, all callers together. With
// 64 callers (MaxItems) batches fill and go at once; with 8 each batch waits out the
// window, like the lone caller.
func BenchmarkAddedLatencyConcurrent(b *testing.B) {
	for _, callers := range []int{8, 64} {
		b.Run(fmt.Sprintf("callers-%d", callers), func(b *testing.B) { benchConcurrent(b, callers) })
	}
}

func benchConcurrent(b *testing.B, callers int) {
	bt, err := New(Config{}, benchFlush, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	var left atomic.Int64
	left.Store(int64(b.N))
	lat := make([][]time.Duration, callers)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			ctx := context.Background()
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				if _, err := bt.Submit(ctx, "m", c, 10); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(all)), "µs-mean")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "µs-p99")
	reportCalls(b, bt.Stats())
}
