package metering

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLimitHardLimitsDenyAtTheRightCount(t *testing.T) {
	cents := func(c int64) Money { return Money(c) * Dollar / 100 }
	tests := []struct {
		name     string
		rule     LimitConfig
		tokens   int64
		cost     Money
		admitted int // requests admitted before the first denial
		limit    LimitKind
		retry    time.Duration // from limitT0 (12:00:10 on 2030-01-15)
	}{
		{"requests per minute admit exactly rpm requests", LimitConfig{Scope: ScopeKey, RPM: 3}, 10, 0, 3, LimitRPM, 50 * time.Second},
		{"tokens per minute admit while the sum stays within tpm", LimitConfig{Scope: ScopeKey, TPM: 100}, 40, 0, 2, LimitTPM, 50 * time.Second},
		{"a request that lands exactly on tpm is admitted", LimitConfig{Scope: ScopeKey, TPM: 100}, 50, 0, 2, LimitTPM, 50 * time.Second},
		{"daily spend denies the request that would cross it", LimitConfig{Scope: ScopeTeam, DailySpend: "1.00"}, 0, cents(30), 3, LimitDailySpend, 12*time.Hour - 10*time.Second},
		{"monthly spend resets at the start of the next month", LimitConfig{Scope: ScopeFeature, MonthlySpend: "0.5"}, 0, cents(25), 2, LimitMonthlySpend, 17*24*time.Hour - 12*time.Hour - 10*time.Second},
		{"a request bigger than the limit is denied at once", LimitConfig{Scope: ScopeKey, TPM: 100}, 101, 0, 0, LimitTPM, 50 * time.Second},
	}
	forEachLimitStore(t, func(t *testing.T, store LimitStore, _ limitPeeker) {
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				l, _ := mustLimiter(t, store, tc.rule)
				v := fmt.Sprint("deny", i) // a scope value of its own, so no case sees another's counters
				var err error
				n := 0
				for ; n < 100; n++ {
					r := limitReq(fmt.Sprintf("%s-%d", t.Name(), n), tc.tokens, tc.cost)
					r.Key, r.Team, r.Feature = v, v, v
					if _, err = l.Reserve(context.Background(), r); err != nil {
						break
					}
				}
				if n != tc.admitted {
					t.Fatalf("admitted %d, want %d (err %v)", n, tc.admitted, err)
				}
				var le *LimitError
				if !errors.As(err, &le) {
					t.Fatalf("err = %v, want *LimitError", err)
				}
				if le.Limit != tc.limit || le.Scope != tc.rule.Scope || le.Mode != ModeHard {
					t.Errorf("denied by %s %s %s, want %s %s hard", le.Scope, le.Limit, le.Mode, tc.rule.Scope, tc.limit)
				}
				if le.RetryAfter != tc.retry {
					t.Errorf("RetryAfter = %v, want %v", le.RetryAfter, tc.retry)
				}
				if le.TooLarge() != (tc.admitted == 0) {
					t.Errorf("TooLarge = %v", le.TooLarge())
				}
			})
		}
	})
}

func TestLimitDenialChargesNoCounter(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		l, _ := mustLimiter(t, store,
			LimitConfig{Scope: ScopeKey, RPM: 100, TPM: 1000},
			LimitConfig{Scope: ScopeTeam, TPM: 150},
		)
		ctx := context.Background()
		if _, err := l.Reserve(ctx, limitReq("a", 100, 0)); err != nil {
			t.Fatal(err)
		}
		_, err := l.Reserve(ctx, limitReq("b", 100, 0))
		var le *LimitError
		if !errors.As(err, &le) || le.Scope != ScopeTeam || le.Used != 100 || le.Requested != 100 || le.Max != 150 {
			t.Fatalf("err = %#v, want team tpm denial 100+100>150", err)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitTPM, limitT0); got != 100 {
			t.Errorf("key tpm = %d after the team denied, want 100 (the denial charged the key)", got)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitRPM, limitT0); got != 1 {
			t.Errorf("key rpm = %d, want 1", got)
		}
	})
}

func TestLimitSoftAndShadowModesAdmitButReport(t *testing.T) {
	tests := []struct {
		name  string
		mode  Mode
		used  []int64 // Used reported by the breaches of requests 3 and 4
		count int64   // the counter after four requests
	}{
		{"soft limits count every admitted request", ModeSoft, []int64{2, 3}, 4},
		{"shadow limits count only what hard would admit", ModeShadow, []int64{2, 2}, 2},
	}
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				l, _ := mustLimiter(t, store, LimitConfig{Scope: ScopeFeature, Match: "f-" + string(tc.mode), RPM: 2, Mode: tc.mode})
				var used []int64
				for i := range 4 {
					r := limitReq(fmt.Sprintf("%s-%d", t.Name(), i), 1, 0)
					r.Feature = "f-" + string(tc.mode)
					res, err := l.Reserve(context.Background(), r)
					if err != nil {
						t.Fatalf("request %d denied: %v", i, err)
					}
					if i < 2 && len(res.Breaches) != 0 {
						t.Fatalf("request %d breached: %+v", i, res.Breaches)
					}
					for _, b := range res.Breaches {
						if b.Mode != tc.mode || b.Limit != LimitRPM || b.Max != 2 || b.RetryAfter != 50*time.Second {
							t.Errorf("breach %+v", b)
						}
						used = append(used, b.Used)
					}
				}
				if fmt.Sprint(used) != fmt.Sprint(tc.used) {
					t.Errorf("breach Used = %v, want %v", used, tc.used)
				}
				if got := p.peek(t, ScopeFeature, "f-"+string(tc.mode), LimitRPM, limitT0); got != tc.count {
					t.Errorf("counter = %d, want %d", got, tc.count)
				}
			})
		}
	})
}

func TestLimitRulesMatchByScopeValue(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		l, _ := mustLimiter(t, store,
			LimitConfig{Scope: ScopeTeam, RPM: 1},
			LimitConfig{Scope: ScopeTeam, Match: "big", RPM: 3},
		)
		ctx := context.Background()
		admitted := map[string]int{}
		for i := range 5 {
			for _, team := range []string{"a", "b", "big", ""} {
				r := limitReq(fmt.Sprintf("%s-%d", team, i), 1, 0)
				r.Team = team
				if _, err := l.Reserve(ctx, r); err == nil {
					admitted[team]++
				}
			}
		}
		want := map[string]int{"a": 1, "b": 1, "big": 3, "": 5}
		if fmt.Sprint(admitted) != fmt.Sprint(want) {
			t.Errorf("admitted %v, want %v (each team counted apart, the named rule winning over *, no team unlimited)", admitted, want)
		}
	})
}

func TestLimitReserveIsIdempotentPerRequestID(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		l, clk := mustLimiter(t, store, LimitConfig{Scope: ScopeKey, RPM: 2, TPM: 1000})
		ctx := context.Background()
		first, err := l.Reserve(ctx, limitReq("same", 100, 0))
		if err != nil || first.Duplicate {
			t.Fatalf("first reserve: %+v, %v", first, err)
		}
		again := limitReq("same", 700, 0) // a retry with another estimate changes nothing
		again.Now = limitT0.Add(5 * time.Second)
		second, err := l.Reserve(ctx, again)
		if err != nil || !second.Duplicate {
			t.Fatalf("repeated reserve: %+v, %v; want a duplicate", second, err)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitTPM, limitT0); got != 100 {
			t.Errorf("tpm = %d after a repeated reserve, want 100", got)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitRPM, limitT0); got != 1 {
			t.Errorf("rpm = %d after a repeated reserve, want 1", got)
		}
		clk.Set(limitT0.Add(10 * time.Second))
		if err := l.Settle(ctx, second, 40, 0); err != nil { // the duplicate settles the original
			t.Fatal(err)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitTPM, limitT0); got != 40 {
			t.Errorf("tpm = %d after settling the duplicate, want 40", got)
		}
		third, err := l.Reserve(ctx, limitReq("same", 100, 0))
		if err != nil || !third.Duplicate {
			t.Fatalf("reserve after settle: %+v, %v; want a duplicate", third, err)
		}
		if err := l.Settle(ctx, third, 999, 0); err != nil {
			t.Fatal(err)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitTPM, limitT0); got != 40 {
			t.Errorf("tpm = %d after reserve and settle of a settled id, want 40", got)
		}
	})
}

func TestLimitSettleCorrectsToActualOnce(t *testing.T) {
	tests := []struct {
		name           string
		estTokens      int64
		actTokens      int64
		estCost        Money
		actCost        Money
		settles        int
		wantTPM, wantD int64
	}{
		{"an estimate higher than actual is given back", 500, 120, 50 * Dollar / 100, 12 * Dollar / 100, 1, 120, int64(12 * Dollar / 100)},
		{"an estimate lower than actual is topped up", 100, 900, 10 * Dollar / 100, 90 * Dollar / 100, 1, 900, int64(90 * Dollar / 100)},
		{"an exact estimate changes nothing", 300, 300, Dollar, Dollar, 1, 300, int64(Dollar)},
		{"settling twice corrects once", 500, 120, Dollar, Dollar / 2, 2, 120, int64(Dollar / 2)},
		{"a request that used nothing releases its hold", 500, 0, Dollar, 0, 1, 0, 0},
	}
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := fmt.Sprintf("k%d", i)
				l, clk := mustLimiter(t, store, LimitConfig{Scope: ScopeKey, Match: key, RPM: 10, TPM: 10000, DailySpend: "100", MonthlySpend: "1000"})
				r := limitReq("settle-"+key, tc.estTokens, tc.estCost)
				r.Key = key
				res, err := l.Reserve(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				clk.Set(limitT0.Add(20 * time.Second))
				for range tc.settles {
					if err := l.Settle(context.Background(), res, tc.actTokens, tc.actCost); err != nil {
						t.Fatal(err)
					}
				}
				got := []int64{
					p.peek(t, ScopeKey, key, LimitRPM, limitT0), p.peek(t, ScopeKey, key, LimitTPM, limitT0),
					p.peek(t, ScopeKey, key, LimitDailySpend, limitT0), p.peek(t, ScopeKey, key, LimitMonthlySpend, limitT0),
				}
				want := []int64{1, tc.wantTPM, tc.wantD, tc.wantD}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("rpm, tpm, day, month = %v, want %v", got, want)
				}
			})
		}
	})
}

func TestLimitWindowsRollOver(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		l, _ := mustLimiter(t, store,
			LimitConfig{Scope: ScopeKey, RPM: 2},
			LimitConfig{Scope: ScopeTeam, DailySpend: "1"},
		)
		ctx := context.Background()
		try := func(id string, at time.Time, cost Money) error {
			r := limitReq(id, 1, cost)
			r.Now = at
			_, err := l.Reserve(ctx, r)
			return err
		}
		steps := []struct {
			id     string
			at     time.Time
			cost   Money
			denied LimitKind // 255: admitted
			retry  time.Duration
		}{
			{"m1", limitT0, 0, 255, 0},
			{"m2", limitT0.Add(49 * time.Second), 0, 255, 0},
			{"m3", limitT0.Add(49*time.Second + 500*time.Millisecond), 0, LimitRPM, 500 * time.Millisecond},
			{"m4", limitT0.Add(50 * time.Second), 0, 255, 0}, // 12:01:00, a new minute
			{"d1", limitT0.Add(60 * time.Second), Dollar, 255, 0},
			{"d2", limitT0.Add(2 * time.Minute), Dollar / 100, LimitDailySpend, 12*time.Hour - 2*time.Minute - 10*time.Second},
			{"d3", time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC), Dollar, 255, 0}, // the next day
		}
		for _, s := range steps {
			err := try(s.id, s.at, s.cost)
			var le *LimitError
			switch {
			case s.denied == 255 && err != nil:
				t.Fatalf("%s at %s: %v, want admitted", s.id, s.at.Format(time.TimeOnly), err)
			case s.denied != 255 && (!errors.As(err, &le) || le.Limit != s.denied):
				t.Fatalf("%s at %s: %v, want a %s denial", s.id, s.at.Format(time.TimeOnly), err, s.denied)
			case le != nil && le.RetryAfter != s.retry:
				t.Errorf("%s: RetryAfter = %v, want %v (the window's reset)", s.id, le.RetryAfter, s.retry)
			}
		}
	})
}

func TestLimitSettleAfterTheWindowClosed(t *testing.T) {
	tests := []struct {
		name     string
		est, act int64
		settleAt time.Duration // after limitT0
		want     int64         // tokens in the settlement's minute
	}{
		{"a top-up goes to the current window", 100, 300, time.Minute, 200},
		{"a give-back to a closed window is dropped", 300, 100, time.Minute, 0},
		{"a correction within the window stays in it", 300, 100, 5 * time.Second, 100},
	}
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := fmt.Sprintf("late%d", i)
				l, clk := mustLimiter(t, store, LimitConfig{Scope: ScopeKey, Match: key, TPM: 10000})
				r := limitReq("late-"+key, tc.est, 0)
				r.Key = key
				res, err := l.Reserve(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				clk.Set(limitT0.Add(tc.settleAt))
				if err := l.Settle(context.Background(), res, tc.act, 0); err != nil {
					t.Fatal(err)
				}
				if got := p.peek(t, ScopeKey, key, LimitTPM, limitT0.Add(tc.settleAt)); got != tc.want {
					t.Errorf("tokens in the settlement's minute = %d, want %d", got, tc.want)
				}
			})
		}
	})
}

func TestLimitSettleRunsAfterTheClientWentAway(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		l, _ := mustLimiter(t, store, LimitConfig{Scope: ScopeKey, TPM: 1000})
		res, err := l.Reserve(context.Background(), limitReq("gone", 500, 0))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := l.Settle(ctx, res, 50, 0); err != nil {
			t.Fatal(err)
		}
		if got := p.peek(t, ScopeKey, "k1", LimitTPM, limitT0); got != 50 {
			t.Errorf("tpm = %d, want 50", got)
		}
	})
}

func TestLimitReloadKeepsUsage(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, p limitPeeker) {
		l, _ := mustLimiter(t, store, LimitConfig{Scope: ScopeKey, RPM: 2})
		ctx := context.Background()
		for i := range 2 {
			if _, err := l.Reserve(ctx, limitReq(fmt.Sprint("reload", i), 0, 0)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Reload([]LimitConfig{{Scope: ScopeKey, RPM: -1}}); err == nil {
			t.Fatal("Reload accepted an invalid rule")
		}
		if _, err := l.Reserve(ctx, limitReq("reload2", 0, 0)); err == nil {
			t.Fatal("an invalid Reload replaced the rules")
		}
		if err := l.Reload([]LimitConfig{{Scope: ScopeKey, RPM: 3}}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Reserve(ctx, limitReq("reload3", 0, 0)); err != nil {
			t.Fatalf("third request under the raised limit: %v", err)
		}
		if _, err := l.Reserve(ctx, limitReq("reload4", 0, 0)); err == nil {
			t.Fatal("fourth request admitted: usage was reset by Reload")
		}
	})
}

// failingLimitStore fails every reserve; settle goes to the memory store underneath.
type failingLimitStore struct{ *MemoryStore }

var _ LimitStore = failingLimitStore{}

func (failingLimitStore) reserve(context.Context, reserveBatch) (reserveResult, error) {
	return reserveResult{}, errors.New("connection refused")
}

func TestLimitStoreFailureFollowsThePolicy(t *testing.T) {
	tests := []struct {
		name    string
		rules   []LimitConfig
		wantErr bool
	}{
		{"fail_open admits and reports the error", []LimitConfig{{Scope: ScopeKey, RPM: 1, OnRedisError: FailOpen}}, false},
		{"fail_closed denies", []LimitConfig{{Scope: ScopeKey, RPM: 1, OnRedisError: FailClosed}}, true},
		{"one fail_closed hard rule is enough to deny", []LimitConfig{{Scope: ScopeKey, RPM: 1}, {Scope: ScopeTeam, RPM: 1, OnRedisError: FailClosed}}, true},
		{"soft rules always fail open", []LimitConfig{{Scope: ScopeKey, RPM: 1, Mode: ModeSoft, OnRedisError: FailClosed}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := NewMemoryStore()
			l, _ := mustLimiter(t, failingLimitStore{mem}, tc.rules...)
			res, err := l.Reserve(context.Background(), limitReq("f", 100, Dollar))
			if tc.wantErr {
				if !errors.Is(err, ErrLimitsUnavailable) || !strings.Contains(err.Error(), "connection refused") {
					t.Fatalf("err = %v, want ErrLimitsUnavailable with the cause", err)
				}
				var le *LimitError
				if errors.As(err, &le) {
					t.Fatal("a store failure is not a *LimitError (it is not the caller's limit)")
				}
				return
			}
			if err != nil || res.StoreErr == nil {
				t.Fatalf("Reserve = %+v, %v; want admitted with StoreErr", res, err)
			}
			if err := l.Settle(context.Background(), res, 70, 0); err != nil {
				t.Fatal(err)
			}
			if got := mem.peek(t, ScopeKey, "k1", LimitRPM, limitT0); got != 1 {
				t.Errorf("rpm = %d after settling a fail-open reservation, want 1 (charged at settle)", got)
			}
		})
	}
}

func TestLimitReserveValidatesItsInput(t *testing.T) {
	l, _ := mustLimiter(t, NewMemoryStore(), LimitConfig{Scope: ScopeKey, RPM: 1})
	if _, err := l.Reserve(context.Background(), ReserveRequest{Key: "k"}); !errors.Is(err, ErrNoRequestID) {
		t.Errorf("err = %v, want ErrNoRequestID", err)
	}
	res, err := l.Reserve(context.Background(), ReserveRequest{RequestID: "x", Key: ""})
	if err != nil || len(res.ops) != 0 {
		t.Errorf("a request no rule applies to: %+v, %v", res, err)
	}
	if err := l.Settle(context.Background(), res, 10, 10); err != nil {
		t.Errorf("settling an empty reservation: %v", err)
	}
	if _, err := NewLimiter(nil, nil, LimiterOptions{}); err == nil {
		t.Error("NewLimiter accepted a nil store")
	}
}

func TestLimitErrorSaysWhatWasReachedAndWhen(t *testing.T) {
	tests := []struct {
		name string
		e    LimitError
		want string
		secs int
	}{
		{"tokens", LimitError{Breach{Scope: ScopeTeam, Value: "research", Limit: LimitTPM, Max: 10000, Used: 9500, Requested: 800, RetryAfter: 22100 * time.Millisecond}},
			`team "research" reached its tokens per minute limit: 9500 used + 800 requested > 10000; retry after 23s`, 23},
		{"money is shown in dollars", LimitError{Breach{Scope: ScopeFeature, Value: "chat", Limit: LimitDailySpend, Max: int64(25 * Dollar), Used: int64(24 * Dollar), Requested: int64(2 * Dollar), RetryAfter: time.Hour}},
			`feature "chat" reached its daily spend limit: $24.00 used + $2.00 requested > $25.00; retry after 3600s`, 3600},
		{"a request too big for the limit says so", LimitError{Breach{Scope: ScopeKey, Value: "k", Limit: LimitTPM, Max: 100, Requested: 101}},
			`key "k" reached its tokens per minute limit: the request alone needs 101 > 100; retry after 1s`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Error(); got != tc.want {
				t.Errorf("Error() = %s\nwant      %s", got, tc.want)
			}
			if got := tc.e.RetryAfterSeconds(); got != tc.secs {
				t.Errorf("RetryAfterSeconds = %d, want %d", got, tc.secs)
			}
		})
	}
}
