package policies

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for rollback windows.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func margin(f float64) *float64 { return &f }

// feed records n outcomes for version, failures of them failed (spread evenly), each
// costing nano.
func feed(rb *Rollback, version string, n, failures int, nano int64) (tripped bool) {
	for i := 0; i < n; i++ {
		failed := i*failures/n != (i+1)*failures/n
		if rb.Observe(version, failed, nano) {
			tripped = true
		}
	}
	return tripped
}

func TestPromptRollbackDecides(t *testing.T) {
	errRate := RollbackConfig{Metric: "error_rate", Margin: margin(0.05), MinRequests: 100, Window: time.Minute}
	cost := RollbackConfig{Metric: "cost_per_request", Margin: margin(0.2), MinRequests: 100, Window: time.Minute}
	tests := []struct {
		name                 string
		cfg                  RollbackConfig
		baseN, baseFail      int
		baseNano             int64
		canN, canFail        int
		canNano              int64
		want                 bool
		wantReasonContaining string
	}{
		{"a canary failing far more often is rolled back", errRate, 1000, 20, 0, 200, 30, 0, true, "version 2 error rate 0.1500 over 100 requests exceeds baseline 1's 0.0200 over 1000 by more than 0.05"},
		{"a canary failing about as often is kept", errRate, 1000, 20, 0, 200, 6, 0, false, ""},
		{"a canary within the margin is kept", errRate, 1000, 20, 0, 200, 13, 0, false, ""},
		{"too few canary outcomes decide nothing", errRate, 1000, 0, 0, 99, 99, 0, false, ""},
		{"too few baseline outcomes decide nothing", errRate, 99, 0, 0, 500, 500, 0, false, ""},
		{"a canary costing much more is rolled back", cost, 500, 0, 1000, 200, 0, 1300, true, "cost per request 1300 nano-USD"},
		{"a canary costing a little more is kept", cost, 500, 0, 1000, 200, 0, 1150, false, ""},
		{"a cheaper canary is kept", cost, 500, 0, 1000, 200, 0, 600, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{}
			rb, err := NewRollback(tt.cfg, []string{"1", "2"}, clock.now)
			if err != nil {
				t.Fatal(err)
			}
			feed(rb, "1", tt.baseN, tt.baseFail, tt.baseNano)
			got := feed(rb, "2", tt.canN, tt.canFail, tt.canNano)
			back, reason := rb.RolledBack("2")
			if got != tt.want || back != tt.want {
				t.Fatalf("tripped %v, rolled back %v (%s); want %v", got, back, reason, tt.want)
			}
			if !strings.Contains(reason, tt.wantReasonContaining) {
				t.Fatalf("reason %q, want it to contain %q", reason, tt.wantReasonContaining)
			}
			if b, _ := rb.RolledBack("1"); b {
				t.Fatal("the baseline can never be rolled back")
			}
		})
	}
}

func TestPromptRollbackLatchesAndForgetsOldOutcomes(t *testing.T) {
	cfg := RollbackConfig{Metric: "error_rate", Margin: margin(0.05), MinRequests: 50, Window: time.Minute}
	t.Run("a rollback stays after the canary recovers", func(t *testing.T) {
		clock := &fakeClock{}
		rb, _ := NewRollback(cfg, []string{"1", "2"}, clock.now)
		feed(rb, "1", 100, 0, 0)
		if !feed(rb, "2", 100, 50, 0) {
			t.Fatal("the canary should have been rolled back")
		}
		clock.advance(5 * time.Minute)
		feed(rb, "1", 100, 0, 0)
		if feed(rb, "2", 1000, 0, 0) {
			t.Fatal("a rollback is reported once")
		}
		if back, _ := rb.RolledBack("2"); !back {
			t.Fatal("the rollback was undone")
		}
	})
	t.Run("outcomes older than the window are not compared", func(t *testing.T) {
		clock := &fakeClock{}
		rb, _ := NewRollback(cfg, []string{"1", "2"}, clock.now)
		feed(rb, "1", 100, 0, 0)
		clock.advance(2 * time.Minute)
		if feed(rb, "2", 100, 100, 0) {
			t.Fatal("the baseline's outcomes had left the window: nothing to compare with")
		}
		st := rb.Status()
		if st.Arms[0].Requests != 0 || st.Arms[1].Requests != 100 || st.Arms[1].Errors != 100 {
			t.Fatalf("status %+v", st)
		}
	})
	t.Run("outcomes of other versions are ignored", func(t *testing.T) {
		rb, _ := NewRollback(cfg, []string{"1", "2"}, (&fakeClock{}).now)
		if rb.Observe("9", true, 1) {
			t.Fatal("version 9 is not in the rollout")
		}
	})
}

func TestPromptRollbackIsSafeForConcurrentUse(t *testing.T) {
	clock := &fakeClock{}
	rb, _ := NewRollback(RollbackConfig{Metric: "error_rate", Margin: margin(0.5), MinRequests: 10, Window: time.Minute}, []string{"1", "2", "3"}, clock.now)
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				rb.Observe([]string{"1", "2", "3"}[i%3], i%10 == 0, 7)
				if i%1000 == 0 {
					_ = rb.Status()
				}
			}
		}()
	}
	wg.Wait()
	var total, nano int64
	for _, a := range rb.Status().Arms {
		total += a.Requests
		nano += a.CostNanoUSD
		if a.RolledBack {
			t.Fatalf("%s rolled back with an equal error rate", a.Version)
		}
	}
	if total != workers*each || nano != 7*workers*each {
		t.Fatalf("counted %d outcomes costing %d, want %d and %d", total, nano, workers*each, 7*workers*each)
	}
}

func TestPromptRegistryRollsBackASplitAndKeepsItAcrossReloads(t *testing.T) {
	dir := copyPrompts(t)
	r := mustLoad(t, dir)
	canaryUser := stickyUserIn(t, r, "3")
	attrs := ResolveAttrs{Feature: "help-center", StickyKey: canaryUser}
	v2, v3 := r.Lookup("support-reply", "2"), r.Lookup("support-reply", "3")
	for i := 0; i < 100; i++ {
		r.Observe(v2, attrs, i%50 == 0, 1000)
	}
	tripped := false
	for i := 0; i < 60; i++ {
		tripped = r.Observe(v3, attrs, i%3 == 0, 1000) || tripped
	}
	if !tripped {
		t.Fatalf("no rollback: %+v", r.Rollouts())
	}
	v, reason, _ := r.Resolve(Ref{ID: "support-reply"}, attrs)
	if v != v2 || reason != "pin pins.yaml:17: split, support-reply@3 arm rolled back to support-reply@2 (error_rate)" {
		t.Fatalf("after the rollback the canary user gets %s (%q)", v.Ref, reason)
	}
	if v, _, _ := r.Resolve(Ref{ID: "support-reply", Label: "canary"}, attrs); v != v3 {
		t.Fatal("an explicit label still names the canary")
	}
	st := r.Rollouts()
	if len(st) != 1 || st[0].Pin != "pins.yaml:17" || !st[0].Rollback.Arms[1].RolledBack {
		t.Fatalf("rollouts %+v", st)
	}

	t.Run("a reload with the same rollout keeps the rollback", func(t *testing.T) {
		next := mustLoad(t, dir)
		next.KeepRollbacks(r)
		if v, _, _ := next.Resolve(Ref{ID: "support-reply"}, attrs); v.Version != "2" {
			t.Fatalf("after reload the canary user gets %s", v.Ref)
		}
	})
	t.Run("a reload with a changed rollout starts afresh", func(t *testing.T) {
		pins := filepath.Join(dir, PinsFileName)
		data, _ := os.ReadFile(pins)
		if err := os.WriteFile(pins, []byte(strings.Replace(string(data), "margin: 0.05", "margin: 0.1", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		next := mustLoad(t, dir)
		next.KeepRollbacks(r)
		if v, _, _ := next.Resolve(Ref{ID: "support-reply"}, attrs); v.Version != "3" {
			t.Fatalf("after a changed rollout the canary user gets %s", v.Ref)
		}
	})
}

func mustLoad(t *testing.T, dir string) *Registry {
	t.Helper()
	r, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPromptRollbackConfigDefaults(t *testing.T) {
	rb, err := NewRollback(RollbackConfig{Metric: "error_rate", Margin: margin(0)}, []string{"a", "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := rb.Status()
	if st.MinRequests != 100 || st.Window != 10*time.Minute {
		t.Fatalf("defaults: %+v", st)
	}
	for _, bad := range []RollbackConfig{
		{Metric: "error_rate"},
		{Metric: "error_rate", Margin: margin(1)},
		{Metric: "cost_per_request", Margin: margin(-0.1)},
		{Metric: "error_rate", Margin: margin(0.1), Window: time.Millisecond},
	} {
		if _, err := NewRollback(bad, []string{"a", "b"}, nil); err == nil {
			t.Errorf("%s accepted", fmt.Sprintf("%+v", bad))
		}
	}
}
