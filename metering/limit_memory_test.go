package metering

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

func TestLimitMemoryConcurrentReservesNeverExceedAHardRPM(t *testing.T) {
	const goroutines, perG = 64, 100
	tests := []struct {
		name string
		keys int   // distinct keys the goroutines spread over
		rpm  int64 // per key
	}{
		{"one hot key admits exactly its rpm", 1, 1000},
		{"many keys each admit exactly their rpm", 8, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryStore()
			l, _ := mustLimiter(t, store,
				LimitConfig{Scope: ScopeKey, RPM: tc.rpm},
				LimitConfig{Scope: ScopeTeam, TPM: 1 << 40},
				LimitConfig{Scope: ScopeFeature, Mode: ModeSoft, RPM: 10},
			)
			admitted := make([]atomic.Int64, tc.keys)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range perG {
						k := (g + i) % tc.keys
						r := limitReq(fmt.Sprintf("g%d-%d", g, i), int64(i), 0)
						r.Key, r.Team, r.Feature = fmt.Sprint("k", k), fmt.Sprint("t", g%3), fmt.Sprint("f", i%5)
						res, err := l.Reserve(context.Background(), r)
						if err != nil {
							continue
						}
						admitted[k].Add(1)
						if err := l.Settle(context.Background(), res, int64(i/2), 0); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			for k := range admitted {
				if got := admitted[k].Load(); got != tc.rpm {
					t.Errorf("key k%d admitted %d, want exactly %d", k, got, tc.rpm)
				}
				if got := store.peek(t, ScopeKey, fmt.Sprint("k", k), LimitRPM, limitT0); got != tc.rpm {
					t.Errorf("key k%d counter = %d, want %d", k, got, tc.rpm)
				}
			}
		})
	}
}

func TestLimitMemoryBudgetStaysExactWhileIdleEntitiesAreSwept(t *testing.T) {
	// Time runs over ten minutes, so minute counters expire and every shard sweeps idle
	// entities while other goroutines look them up; the team's daily budget must still
	// admit exactly its worth.
	store := NewMemoryStore()
	l, _ := mustLimiter(t, store,
		LimitConfig{Scope: ScopeTeam, DailySpend: "1"},
		LimitConfig{Scope: ScopeFeature, TPM: 1 << 40},
		LimitConfig{Scope: ScopeKey, RPM: 1 << 40},
	)
	const goroutines, perG = 16, 400
	cent := Dollar / 100
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				r := limitReq(fmt.Sprintf("g%d-%d", g, i), 1, cent)
				r.Team = "t"
				r.Key = fmt.Sprint("k", g, "-", i) // a new entity per request: sweeps keep running
				r.Feature = fmt.Sprint("f", i%50)
				r.Now = limitT0.Add(time.Duration(i) * 1500 * time.Millisecond)
				if _, err := l.Reserve(context.Background(), r); err == nil {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 100 {
		t.Errorf("admitted %d requests of 1 cent under a $1 budget, want 100", got)
	}
}

func TestLimitMemoryStoreSweepsIdleEntitiesOnly(t *testing.T) {
	store := NewMemoryStore()
	l, _ := mustLimiter(t, store,
		LimitConfig{Scope: ScopeFeature, RPM: 100},
		LimitConfig{Scope: ScopeTeam, MonthlySpend: "10"},
	)
	ctx := context.Background()
	r := limitReq("old", 0, Dollar)
	r.Feature, r.Team = "idle-feature", "spending-team"
	if _, err := l.Reserve(ctx, r); err != nil {
		t.Fatal(err)
	}
	later := limitT0.Add(3 * time.Minute) // the minute window is over; the month is not
	for i := range 64 * 16 {              // new entities in every shard trigger the sweeps
		r := limitReq(fmt.Sprint("new", i), 0, 0)
		r.Feature, r.Team, r.Now = fmt.Sprint("nf", i), "", later
		if _, err := l.Reserve(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	has := func(scope Scope, v string) bool {
		k := entityKey{uint8(scope.index()), v}
		for i := range store.entities {
			sh := &store.entities[i]
			sh.mu.RLock()
			_, ok := sh.m[k]
			sh.mu.RUnlock()
			if ok {
				return true
			}
		}
		return false
	}
	if has(ScopeFeature, "idle-feature") {
		t.Error("an entity whose windows have all ended was not swept")
	}
	if !has(ScopeTeam, "spending-team") {
		t.Fatal("an entity with spend in the current month was swept")
	}
	if got := store.peek(t, ScopeTeam, "spending-team", LimitMonthlySpend, later); got != int64(Dollar) {
		t.Errorf("monthly spend = %d, want %d", got, Dollar)
	}
}

func TestLimitMemoryConcurrentDuplicateReservesCountOnce(t *testing.T) {
	// Goroutines released together reserve the same id, so some lose the race after
	// charging and must take their charge back.
	store := NewMemoryStore()
	l, _ := mustLimiter(t, store, LimitConfig{Scope: ScopeKey, TPM: 1 << 40})
	const ids, racers = 300, 8
	for i := range ids {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() {
				<-start
				if _, err := l.Reserve(context.Background(), limitReq(fmt.Sprint("dup", i), 10, 0)); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	if got := store.peek(t, ScopeKey, "k1", LimitTPM, limitT0); got != 10*ids {
		t.Errorf("tpm = %d after %d goroutines reserved the same %d ids, want %d", got, racers, ids, 10*ids)
	}
}

func TestMemoryStoreShardsFillACacheLine(t *testing.T) {
	if a, b := unsafe.Sizeof(entityShard{}), unsafe.Sizeof(recordShard{}); a != 64 || b != 64 {
		t.Errorf("shard sizes %d and %d bytes, want 64 (one cache line each)", a, b)
	}
}
