package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestIndexAndValueRoundTripWithinRelativeError(t *testing.T) {
	for _, v := range []int64{0, 1, 255, 256, 257, 1000, 65_432, 1_000_000, 123_456_789, 1 << 40, 1<<62 + 12345} {
		got := value(index(v))
		if diff := float64(got-v) / float64(max(v, 1)); diff > 1.0/128 || diff < -1.0/128 {
			t.Errorf("value(index(%d)) = %d, off by %.4f", v, got, diff)
		}
	}
}

func TestIndexIsMonotonic(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v++ {
		i := index(v)
		if i < prev || i > prev+1 {
			t.Fatalf("index(%d) = %d after %d", v, i, prev)
		}
		prev = i
	}
}

func TestQuantilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := New()
	var all []int64
	for range 100_000 {
		v := int64(r.ExpFloat64() * 200_000) // ~200 µs mean, long tail
		all = append(all, v)
		h.Record(time.Duration(v))
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(all[int(q*float64(len(all)))-1])
		got := float64(h.Quantile(q))
		if d := (got - want) / want; d > 0.01 || d < -0.01 {
			t.Errorf("q%.3f = %.0f, want %.0f (off %.4f)", q, got, want, d)
		}
	}
	if h.Quantile(1) != time.Duration(all[len(all)-1]) || h.Quantile(0) != time.Duration(all[0]) {
		t.Errorf("extremes not exact")
	}
}

func TestMergeAddsCountsAndExtremes(t *testing.T) {
	a, b := New(), New()
	a.Record(time.Millisecond)
	b.Record(time.Second)
	b.Record(time.Microsecond)
	a.Merge(b)
	if a.Count() != 3 || a.Max() != time.Second || a.Quantile(0) != time.Microsecond {
		t.Errorf("merge: count %d max %v min %v", a.Count(), a.Max(), a.Quantile(0))
	}
}
