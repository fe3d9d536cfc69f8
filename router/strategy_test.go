package router

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func cand(model, id string, weight float64) *Candidate {
	return &Candidate{Model: model, ID: id, Weight: weight, Health: NewHealth(HealthConfig{})}
}

func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func TestWeightedSelect(t *testing.T) {
	a, b := cand("mini", "a", 90), cand("big", "b", 10)
	tests := []struct {
		name string
		rnd  float64
		want *Candidate
	}{
		{"a draw inside the first weight picks the first arm", 0.5, a},
		{"a draw just below the boundary stays on the first arm", 0.899, a},
		{"a draw past the boundary picks the second arm", 0.95, b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := []*Candidate{a, b}
			i, _ := Weighted{}.Select(&Request{Rand: fixedRand(tt.rnd)}, cs)
			if cs[i] != tt.want {
				t.Fatalf("picked %s", cs[i].ID)
			}
		})
	}
}

func TestWeightedStickySplitsTenThousandUsersWithinTwoPoints(t *testing.T) {
	cs := []*Candidate{cand("mini", "a", 90), cand("big", "b", 10)}
	counts := map[string]int{}
	for u := range 10000 {
		key := fmt.Sprintf("user-%d", u)
		i, _ := Weighted{}.Select(&Request{StickyKey: key, Rand: fixedRand(0)}, cs)
		for range 3 { // the same user always lands on the same arm
			if j, _ := (Weighted{}).Select(&Request{StickyKey: key, Rand: fixedRand(0.99)}, cs); j != i {
				t.Fatalf("user %s moved from arm %d to %d", key, i, j)
			}
		}
		counts[cs[i].ID]++
	}
	share := float64(counts["a"]) / 100
	if math.Abs(share-90) > 2 {
		t.Fatalf("arm a got %.1f%%, want 90±2", share)
	}
}

func TestPriorityPicksFirstAvailable(t *testing.T) {
	i, _ := Priority{}.Select(&Request{}, []*Candidate{cand("a", "a", 1), cand("b", "b", 1)})
	if i != 0 {
		t.Fatalf("picked %d", i)
	}
}

func TestLeastLatencySelect(t *testing.T) {
	slow, fast, fresh := cand("m", "slow", 1), cand("m", "fast", 1), cand("m", "fresh", 1)
	slow.Health.Start()
	slow.Health.Done(Success, 300*time.Millisecond, time.Second)
	fast.Health.Start()
	fast.Health.Done(Success, 100*time.Millisecond, time.Second)
	tests := []struct {
		name  string
		cands []*Candidate
		rnd   float64
		want  string
	}{
		{"the lowest ewma wins", []*Candidate{slow, fast}, 0.9, "fast"},
		{"a candidate without samples is tried first", []*Candidate{slow, fast, fresh}, 0.9, "fresh"},
		{"a draw under the exploration share explores", []*Candidate{fast, slow}, 0.01, "fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, _ := LeastLatency{Exploration: 0.05}.Select(&Request{Rand: fixedRand(tt.rnd)}, tt.cands)
			if tt.cands[i].ID != tt.want {
				t.Fatalf("picked %s", tt.cands[i].ID)
			}
		})
	}
}

func TestLeastInFlightPicksTheLeastBusy(t *testing.T) {
	a, b, c := cand("m", "a", 1), cand("m", "b", 1), cand("m", "c", 1)
	a.Health.Start()
	a.Health.Start()
	c.Health.Start()
	cs := []*Candidate{a, b, c}
	i, _ := LeastInFlight{}.Select(&Request{Rand: fixedRand(0.5)}, cs)
	if cs[i] != b {
		t.Fatalf("picked %s", cs[i].ID)
	}
}

func TestCostAwareSelect(t *testing.T) {
	mk := func(id string, tier, window int, in, out float64, noTools bool) *Candidate {
		c := cand(id, id, 1)
		c.Tier, c.ContextWindow, c.InputPrice, c.OutputPrice, c.NoTools = tier, window, in, out, noTools
		return c
	}
	cheap := mk("cheap", 1, 16000, 0.1, 0.4, false)
	mid := mk("mid", 2, 128000, 0.5, 1.5, false)
	strong := mk("strong", 3, 1000000, 3, 15, false)
	notools := mk("notools", 2, 128000, 0.2, 0.5, true)
	tests := []struct {
		name string
		sel  CostAware
		req  Request
		want string
	}{
		{"the cheapest candidate wins when all fit", CostAware{}, Request{PromptTokens: 1000}, "cheap"},
		{"a prompt over a window skips that model", CostAware{}, Request{PromptTokens: 20000}, "notools"},
		{"tools skip models without tool support", CostAware{}, Request{PromptTokens: 20000, HasTools: true}, "mid"},
		{"a minimum tier skips weaker models", CostAware{MinTier: 3}, Request{PromptTokens: 10}, "strong"},
		{"when nothing fits the strongest is chosen", CostAware{MinTier: 9}, Request{PromptTokens: 10}, "strong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := []*Candidate{strong, mid, notools, cheap}
			i, _ := tt.sel.Select(&tt.req, cs)
			if cs[i].ID != tt.want {
				t.Fatalf("picked %s", cs[i].ID)
			}
		})
	}
}

func TestComplexitySelect(t *testing.T) {
	sel := Complexity{Tiers: []Tier{{"easy", 0.35, "mini"}, {"hard", 2, "big"}}}
	mini, big := cand("mini", "mini", 1), cand("big", "big", 1)
	tests := []struct {
		name  string
		score float64
		cands []*Candidate
		want  string
	}{
		{"a low score goes to the cheap tier", 0.1, []*Candidate{mini, big}, "mini"},
		{"a score at the bound goes to the next tier", 0.35, []*Candidate{mini, big}, "big"},
		{"a high score goes to the strong tier", 0.9, []*Candidate{mini, big}, "big"},
		{"an unavailable easy tier moves up to the strong tier", 0.1, []*Candidate{big}, "big"},
		{"an unavailable strong tier falls back to the weaker one", 0.9, []*Candidate{mini}, "mini"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, _ := sel.Select(&Request{Score: tt.score, Rand: fixedRand(0)}, tt.cands)
			if tt.cands[i].ID != tt.want {
				t.Fatalf("picked %s", tt.cands[i].ID)
			}
		})
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		tokens   int
		hint     string
		min, max float64
	}{
		{"a short greeting is easy", `{"messages":[{"role":"user","content":"hi there"}]}`, 5, "", 0, 0.1},
		{"code and maths with a proof request is hard", `{"messages":[{"role":"user","content":"Prove this theorem step by step and write the func in Go: ` + "```go\\nfunc f() int { return 1 }\\n```" + ` where x^2 = 4 solve for x"}]}`, 500, "", 0.5, 1},
		{"a long prompt scores on length", `{"messages":[{"role":"user","content":"summarise"}]}`, 4000, "", 0.35, 0.5},
		{"the low hint overrides", `{"messages":[{"role":"user","content":"prove the theorem"}]}`, 4000, "low", 0, 0},
		{"the high hint overrides", `{"messages":[{"role":"user","content":"hi"}]}`, 1, "high", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Score([]byte(tt.body), tt.tokens, tt.hint, ScoreWeights{})
			if s < tt.min || s > tt.max {
				t.Fatalf("score %.3f, want in [%v,%v]", s, tt.min, tt.max)
			}
		})
	}
}
