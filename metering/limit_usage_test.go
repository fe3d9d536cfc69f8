package metering

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestUsageReportsEveryRuleWithItsCounterCapAndReset(t *testing.T) {
	forEachLimitStore(t, func(t *testing.T, store LimitStore, _ limitPeeker) {
		l, _ := mustLimiter(t, store,
			LimitConfig{Scope: ScopeTeam, Match: "*", RPM: 10, TPM: 1000},
			LimitConfig{Scope: ScopeFeature, Match: "f1", DailySpend: "2"},
			LimitConfig{Scope: ScopeKey, Match: "k9", RPM: 5})
		ctx := context.Background()
		for i, id := range []string{"u1", "u2"} {
			if _, err := l.Reserve(ctx, limitReq(id, 100*int64(i+1), Money(250_000_000_000))); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.Usage(ctx, limitT0, map[Scope][]string{ScopeTeam: {"t1", "t2"}})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			scope             Scope
			match, value      string
			limit             LimitKind
			max, used, remain int64
			resets            time.Time
		}
		minute, day := time.Date(2030, 1, 15, 12, 1, 0, 0, time.UTC), time.Date(2030, 1, 16, 0, 0, 0, 0, time.UTC)
		want := []row{
			{ScopeTeam, "*", "t1", LimitRPM, 10, 2, 8, minute},
			{ScopeTeam, "*", "t1", LimitTPM, 1000, 300, 700, minute},
			{ScopeTeam, "*", "t2", LimitRPM, 10, 0, 10, minute},
			{ScopeTeam, "*", "t2", LimitTPM, 1000, 0, 1000, minute},
			{ScopeFeature, "f1", "f1", LimitDailySpend, 2_000_000_000_000, 500_000_000_000, 1_500_000_000_000, day},
			{ScopeKey, "k9", "k9", LimitRPM, 5, 0, 5, minute},
		}
		if len(got) != len(want) {
			t.Fatalf("%d usages, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if (row{g.Scope, g.Match, g.Value, g.Limit, g.Max, g.Used, g.Remaining(), g.Resets}) != w {
				t.Errorf("usage %d: %+v\nwant %+v", i, g, w)
			}
		}
	})
}

func TestHeadroomIsTheTightestHardRateLimitAfterTheRequest(t *testing.T) {
	l, _ := mustLimiter(t, NewMemoryStore(),
		LimitConfig{Scope: ScopeKey, RPM: 100, TPM: 5000},
		LimitConfig{Scope: ScopeTeam, RPM: 3},
		LimitConfig{Scope: ScopeFeature, TPM: 1, Mode: ModeShadow})
	ctx := context.Background()
	var res Reservation
	for _, id := range []string{"h1", "h2"} {
		var err error
		if res, err = l.Reserve(ctx, limitReq(id, 400, 0)); err != nil {
			t.Fatal(err)
		}
	}
	h := res.Headroom()
	want := RateHeadroom{
		Requests: RateWindow{Limit: 3, Remaining: 1, Reset: 50 * time.Second},
		Tokens:   RateWindow{Limit: 5000, Remaining: 4200, Reset: 50 * time.Second},
	}
	if h != want {
		t.Fatalf("headroom %+v, want %+v (the shadow limit is not a limit)", h, want)
	}
	if h := (&Reservation{}).Headroom(); h != (RateHeadroom{}) {
		t.Fatalf("no rule: %+v", h)
	}
}

// failingStore fails every call, as a Redis store does through an outage.
type failingStore struct{ MemoryStore }

func (*failingStore) reserve(context.Context, reserveBatch) (reserveResult, error) {
	return reserveResult{}, errors.New("redis reserve: dial tcp: connection refused")
}

func (*failingStore) settle(context.Context, settleBatch) error {
	return errors.New("redis settle: dial tcp: connection refused")
}

func TestAStoreOutageLogsOneWarningPerIntervalNotOnePerRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l, err := NewLimiter([]LimitConfig{{Scope: ScopeKey, RPM: 100}}, &failingStore{}, LimiterOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 500 {
		res, err := l.Reserve(ctx, limitReq("o"+itoa(int64(i)), 1, 0))
		if err != nil || res.StoreErr == nil {
			t.Fatalf("fail_open: %v %v", res, err)
		}
		_ = l.Settle(ctx, res, 1, 0)
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings for 1000 failed calls, want 1:\n%s", n, buf.String())
	}
	l.storeLog.next.Store(0) // the interval has passed
	if _, err := l.Reserve(ctx, limitReq("o-next", 1, 0)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "suppressed=999") {
		t.Fatalf("the next warning does not count the 999 held back:\n%s", buf.String())
	}
}
