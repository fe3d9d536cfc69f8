package router

import (
	"testing"
	"time"
)

func TestRetryBudgetCapsExtraAttemptsDuringAnOutage(t *testing.T) {
	b := NewRetryBudget(BudgetConfig{Ratio: 0.2, MinPerSecond: 5})
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	extra := 0
	for range 1000 {
		b.Deposit()
		for b.Withdraw() { // every request fails and would retry forever
			extra++
		}
	}
	if extra > 200+5 {
		t.Fatalf("%d extra attempts for 1000 requests, want at most 205", extra)
	}
	if extra < 195 {
		t.Fatalf("%d extra attempts, the budget should allow about 200", extra)
	}
}

func TestBackoffWait(t *testing.T) {
	c := BackoffConfig{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		name       string
		n          int
		retryAfter time.Duration
		min, max   time.Duration
		ok         bool
	}{
		{"the first retry waits half to all of the base", 1, 0, 50 * time.Millisecond, 100 * time.Millisecond, true},
		{"each retry doubles", 3, 0, 200 * time.Millisecond, 400 * time.Millisecond, true},
		{"waits are capped", 10, 0, 500 * time.Millisecond, time.Second, true},
		{"a short Retry-After is honoured exactly", 1, 700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond, true},
		{"a Retry-After over the cap gives up waiting", 1, 5 * time.Second, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []float64{0, 0.5, 0.999} {
				d, ok := c.Wait(tt.n, tt.retryAfter, r)
				if ok != tt.ok || d < tt.min || d > tt.max {
					t.Fatalf("rnd %v: wait %v ok %v", r, d, ok)
				}
			}
		})
	}
}

func TestNextOrder(t *testing.T) {
	a1, a2 := cand("a", "a1", 1), cand("a", "a2", 1)
	fb := cand("b", "b1", 1)
	big := cand("big", "big1", 1)
	route := &Route{Name: "r", Selector: Priority{}, Candidates: []*Candidate{a1, a2}, MaxAttempts: 4,
		Fallbacks: []Fallback{
			{On: ClassSet(ClassRateLimit | ClassServerError), Candidates: []*Candidate{fb}},
			{On: ClassSet(ClassContextLength), Candidates: []*Candidate{big}},
		}}
	first := Decision{Candidate: a1, Attempt: 1}
	tests := []struct {
		name  string
		prev  Decision
		tried []*Candidate
		class Class
		want  *Candidate
		ok    bool
	}{
		{"a server error moves to the model's other deployment", first, []*Candidate{a1}, ClassServerError, a2, true},
		{"with every deployment tried the fallback rule applies", Decision{Candidate: a2, Attempt: 2}, []*Candidate{a1, a2}, ClassRateLimit, fb, true},
		{"a context-length error skips same-model deployments", first, []*Candidate{a1}, ClassContextLength, big, true},
		{"a class without a rule and nothing else retries the same after a backoff", Decision{Candidate: a2, Attempt: 2}, []*Candidate{a1, a2}, ClassTimeout, a2, true},
		{"a content-filter failure without a rule is final", first, []*Candidate{a1}, ClassContentFilter, nil, false},
		{"the attempt limit is final", Decision{Candidate: a1, Attempt: 4}, []*Candidate{a1}, ClassServerError, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Config{Budget: BudgetConfig{MinPerSecond: 1000}})
			d, _, ok := r.Next(route, &Request{Rand: fixedRand(0.5)}, route.Candidates, tt.prev, tt.tried, tt.class, 0)
			if ok != tt.ok || (ok && d.Candidate != tt.want) {
				got := "none"
				if ok {
					got = d.Candidate.ID
				}
				t.Fatalf("got %s ok %v", got, ok)
			}
			if ok && d.Attempt != tt.prev.Attempt+1 {
				t.Fatalf("attempt %d", d.Attempt)
			}
		})
	}
}

func TestFirstRoutesAmongAllWhenEveryDeploymentIsUnhealthy(t *testing.T) {
	a := cand("a", "a", 1)
	a.Health.SetConfig(HealthConfig{FailureThreshold: 1, Cooldown: time.Hour})
	run(a.Health, Failure)
	r := New(Config{})
	d, ok := r.First(&Route{Selector: Priority{}}, &Request{}, []*Candidate{a})
	if !ok || d.Candidate != a {
		t.Fatal("no decision")
	}
}

func TestFirstSkipsUnhealthyDeployments(t *testing.T) {
	a, b := cand("a", "a", 1), cand("a", "b", 1)
	a.Health.SetConfig(HealthConfig{FailureThreshold: 1, Cooldown: time.Hour})
	run(a.Health, Failure)
	d, _ := New(Config{}).First(&Route{Selector: Priority{}}, &Request{}, []*Candidate{a, b})
	if d.Candidate != b {
		t.Fatalf("picked %s", d.Candidate.ID)
	}
}
