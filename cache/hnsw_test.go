package cache

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHNSWFindsNearDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		dim   int
		floor float64
	}{
		{"a small graph is searched exhaustively", 500, 64, 1},
		{"a graph larger than the beam", 6000, 256, 0.98},
		{"vectors longer than the navigation codes", 3000, 1536, 0.98},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			g := newHNSW(tt.dim, 16, 100, 1)
			vecs := make([][]float32, tt.n)
			for i := range vecs {
				vecs[i] = randUnit(r, tt.dim)
				g.add(vecs[i])
			}
			found := 0
			const queries = 200
			for range queries {
				want := r.IntN(tt.n)
				res := g.search(nearCopy(r, vecs[want], 0.9), 1, 256)
				if len(res) == 1 && int(res[0].id) == want {
					found++
				}
			}
			if got := float64(found) / queries; got < tt.floor {
				t.Fatalf("recall@1 %.3f, want at least %.2f", got, tt.floor)
			}
		})
	}
}

func TestHNSWNeverReturnsDeletedNodes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	g := newHNSW(32, 8, 50, 1)
	vecs := make([][]float32, 300)
	for i := range vecs {
		vecs[i] = randUnit(r, 32)
		g.add(vecs[i])
	}
	for i := 0; i < len(vecs); i += 2 {
		g.remove(uint32(i))
	}
	for i, v := range vecs {
		for _, c := range g.search(v, 5, 64) {
			if c.id%2 == 0 {
				t.Fatalf("query %d returned deleted node %d", i, c.id)
			}
		}
	}
}

func TestSemIndexSweepExpiresAndCompacts(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	s := newSemIndex(Config{}.WithDefaults().Semantic, nil)
	now := time.Now().UnixNano()
	vecs := make([][]float32, 400)
	for i := range vecs {
		vecs[i] = randUnit(r, 64)
		exp := now + int64(time.Hour)
		if i%4 != 0 {
			exp = now + int64(time.Minute) // three quarters expire
		}
		s.insert("p", testScope, string(rune('a'+i%26))+string(rune(i)), "q", vecs[i], exp)
	}
	later := now + int64(2*time.Minute)
	s.sweep(later)
	if v, _ := s.size(); v != 100 {
		t.Fatalf("%d vectors live after sweep, want 100", v)
	}
	p := s.get("p")
	if p == nil || p.g.deleted != 0 || p.g.len() != 100 {
		t.Fatal("partition not compacted")
	}
	for i := 0; i < len(vecs); i += 4 {
		if m := s.search("p", vecs[i], 1, 64, 0.99, later); len(m) != 1 {
			t.Fatalf("live vector %d not found after compaction", i)
		}
	}
	s.sweep(now + int64(2*time.Hour))
	if _, parts := s.size(); parts != 0 {
		t.Fatal("empty partition kept")
	}
}

func TestSemIndexRespectsMaxVectors(t *testing.T) {
	cfg := Config{}.WithDefaults().Semantic
	cfg.MaxVectors = 10
	s := newSemIndex(cfg, nil)
	r := rand.New(rand.NewPCG(1, 1))
	exp := time.Now().Add(time.Hour).UnixNano()
	for i := range 20 {
		ok := s.insert("p", testScope, string(rune('A'+i)), "q", randUnit(r, 16), exp)
		if ok != (i < 10) {
			t.Fatalf("insert %d accepted = %v", i, ok)
		}
	}
}
