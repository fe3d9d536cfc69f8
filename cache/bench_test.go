package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/provider"
)

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	normalize(v)
	return v
}

// nearCopy returns a unit vector at cosine similarity about sim to v.
func nearCopy(r *rand.Rand, v []float32, sim float64) []float32 {
	noise := randUnit(r, len(v))
	w := make([]float32, len(v))
	k := float32(sim)
	m := float32(1 - sim*sim)
	for i := range w {
		w[i] = k*v[i] + sqrt32(m)*noise[i]
	}
	normalize(w)
	return w
}

func sqrt32(x float32) float32 {
	z := x
	for range 20 {
		if z == 0 {
			return 0
		}
		z = (z + x/z) / 2
	}
	return z
}

var big struct {
	once  sync.Once
	g     *hnsw
	vecs  [][]float32
	build time.Duration
}

// bigIndex builds the 100,000 x 1,536 index once per benchmark run (about a minute).
func bigIndex() (*hnsw, [][]float32, time.Duration) {
	big.once.Do(func() {
		const n, dim = 100_000, 1536
		r := rand.New(rand.NewPCG(1, 2))
		d := SemanticConfig{}
		if m, _ := strconv.Atoi(os.Getenv("HNSW_M")); m > 0 {
			d.M = m
		}
		if e, _ := strconv.Atoi(os.Getenv("HNSW_EFC")); e > 0 {
			d.EfConstruction = e
		}
		cfg := Config{Semantic: d}.WithDefaults().Semantic
		big.g = newHNSW(dim, cfg.M, cfg.EfConstruction, 7)
		big.vecs = make([][]float32, n)
		start := time.Now()
		for i := range big.vecs {
			big.vecs[i] = randUnit(r, dim)
			big.g.add(big.vecs[i])
		}
		big.build = time.Since(start)
	})
	return big.g, big.vecs, big.build
}

func percentile(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkSemanticSearch100k measures index search at 100,000 random unit vectors of
// 1,536 dimensions: p50/p99 latency for near-duplicate queries (a stored vector at
// cosine 0.95: the hit case) and random queries (the miss case), with recall against
// brute force.
func BenchmarkSemanticSearch100k(b *testing.B) {
	g, vecs, build := bigIndex()
	ef := Config{}.WithDefaults().Semantic.EfSearch
	b.ReportMetric(build.Seconds(), "build-s")
	for _, kind := range []string{"near-duplicate", "random"} {
		b.Run(kind, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			const nq = 256
			queries := make([][]float32, nq)
			want := make([]int, nq)
			for i := range queries {
				if kind == "random" {
					queries[i] = randUnit(r, 1536)
					want[i] = -1
				} else {
					want[i] = r.IntN(len(vecs))
					queries[i] = nearCopy(r, vecs[want[i]], 0.95)
				}
			}
			lat := make([]time.Duration, 0, b.N)
			i := 0
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				g.search(queries[i%nq], 1, ef)
				lat = append(lat, time.Since(start))
				i++
			}
			b.StopTimer()
			b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
			// Recall against brute force, on a sample.
			found, found10 := 0, 0
			sample := 64
			for q := range sample {
				res := g.search(queries[q], 10, ef)
				truth := bruteForce(vecs, queries[q], 10)
				if len(res) > 0 && int(res[0].id) == truth[0] {
					found++
				}
				for _, t := range truth {
					for _, x := range res {
						if int(x.id) == t {
							found10++
						}
					}
				}
			}
			b.ReportMetric(float64(found)/float64(sample), "recall@1")
			b.ReportMetric(float64(found10)/float64(10*sample), "recall@10")
		})
	}
}

func bruteForce(vecs [][]float32, q []float32, k int) []int {
	type s struct {
		id  int
		sim float32
	}
	all := make([]s, len(vecs))
	for i, v := range vecs {
		all[i] = s{i, dot(q, v)}
	}
	slices.SortFunc(all, func(a, b s) int {
		if a.sim > b.sim {
			return -1
		}
		if a.sim < b.sim {
			return 1
		}
		return 0
	})
	out := make([]int, k)
	for i := range out {
		out[i] = all[i].id
	}
	return out
}

// BenchmarkLocalEmbedder is the local embedder's cost for one typical question.
func BenchmarkLocalEmbedder(b *testing.B) {
	e := NewLocalEmbedder(512)
	texts := []string{"Hey, can you tell me what the capital of France is? Thanks!"}
	b.ReportAllocs()
	for b.Loop() {
		e.Embed(context.Background(), texts)
	}
}

// BenchmarkExactLookupHit is a Lookup that finds an exact entry in the memory store,
// key computation included, for a request with a system prompt and a question.
func BenchmarkExactLookupHit(b *testing.B) {
	c := newCache(b, Config{Enabled: true}, Deps{})
	body := chatBody("You are a helpful assistant. Answer in one sentence.", "What is the capital of France?")
	h, _ := c.Lookup(context.Background(), LookupRequest{Op: provider.OpChat, Scope: testScope, Body: body})
	if err := c.Store(context.Background(), h, Response{Status: 200, Body: answerBody("Paris.")}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h, _ := c.Lookup(context.Background(), LookupRequest{Op: provider.OpChat, Scope: testScope, Body: body})
		if h.Outcome != Exact {
			b.Fatal(h.Outcome)
		}
	}
}

// BenchmarkReplaySSE renders a stored answer as an SSE stream.
func BenchmarkReplaySSE(b *testing.B) {
	e := &Entry{Op: provider.OpChat, Body: []byte(liveJSON)}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = AppendSSE(dst[:0], e, ReplayOptions{IncludeUsage: true})
	}
}

// BenchmarkSemanticLookupLocal is a whole semantic Lookup (key, exact miss, local
// embedding, search, verification, entry fetch) in a partition of 10,000 questions.
func BenchmarkSemanticLookupLocal(b *testing.B) {
	c := newCache(b, semanticConfig(SemanticOn), Deps{})
	for i := range 10_000 {
		storeAnswer(b, c, testScope, fmt.Sprintf("What is the population of city number %d in region %d?", i, i%97), "x")
	}
	body := chatBody("", "what's the population of city number 4242 in region 71")
	b.ReportAllocs()
	for b.Loop() {
		h, _ := c.Lookup(context.Background(), LookupRequest{Op: provider.OpChat, Scope: testScope, Body: body})
		if h.Outcome != Semantic {
			b.Fatal(h.Outcome, h.Reason)
		}
	}
}
