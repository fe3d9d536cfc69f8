package metering

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

func TestPricerNamesTheSourceOfEverySaving(t *testing.T) {
	p := NewPricer(defaultCatalog(t))
	tests := []struct {
		name    string
		ev      Event
		source  SavingsSource
		saving  string
		counter string
	}{
		{"the requested model serving saves nothing",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Cache: CacheMiss}, SavingsNone, "0.00", "3.50"},
		{"an exact cache hit saves its whole counterfactual",
			Event{RequestedModel: "gpt-4o", Cache: CacheHit}, SavingsExactCache, "3.50", "3.50"},
		{"a semantic hit is its own source",
			Event{RequestedModel: "gpt-4o", Cache: CacheSemantic}, SavingsSemanticCache, "3.50", "3.50"},
		{"a coalesced request saves by coalescing",
			Event{RequestedModel: "gpt-4o", Cache: CacheCoalesced}, SavingsCoalescing, "3.50", "3.50"},
		{"the policy sending a cheaper tier saves by routing",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Cache: CacheMiss}, SavingsRouting, "3.29", "3.50"},
		{"a fallback to a cheaper model after a 429 claims no saving",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Cache: CacheMiss, Fallback: true}, SavingsFallback, "0.00", "0.21"},
		{"a fallback to a dearer model in an outage is not a negative saving",
			Event{RequestedModel: "gpt-4o-mini", ServedModel: "gpt-4o", Cache: CacheMiss, Fallback: true}, SavingsFallback, "0.00", "3.50"},
		{"a coalesced follower of a flight that fell back still saves by coalescing",
			Event{RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Cache: CacheCoalesced, Fallback: true}, SavingsCoalescing, "3.50", "3.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			ev.Time, ev.Tokens = day("2026-02-01"), Tokens{Input: 1_000_000, Output: 100_000}
			p.Price(&ev)
			if ev.SavingsSource != tt.source || ev.Savings.String() != tt.saving || ev.Counterfactual.String() != tt.counter {
				t.Fatalf("source %s savings %s counterfactual %s; want %s %s %s", ev.SavingsSource, ev.Savings,
					ev.Counterfactual, tt.source, tt.saving, tt.counter)
			}
			if ev.Savings != ev.Counterfactual-ev.Cost {
				t.Fatalf("savings %s is not counterfactual %s - cost %s", ev.Savings, ev.Counterfactual, ev.Cost)
			}
		})
	}
}

// savingsEvents are one event per source, plus two fallbacks (one cheaper, one dearer).
func savingsEvents(t *testing.T) []Event {
	p := NewPricer(defaultCatalog(t))
	evs := []Event{
		{RequestID: "s-none", RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Cache: CacheMiss},
		{RequestID: "s-hit", RequestedModel: "gpt-4o", Cache: CacheHit},
		{RequestID: "s-sem", RequestedModel: "gpt-4o", Cache: CacheSemantic},
		{RequestID: "s-coal", RequestedModel: "gpt-4o", Cache: CacheCoalesced},
		{RequestID: "s-route", RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Cache: CacheMiss},
		{RequestID: "s-fb-cheap", RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Cache: CacheMiss, Fallback: true},
		{RequestID: "s-fb-dear", RequestedModel: "gpt-4o-mini", ServedModel: "gpt-4o", Cache: CacheMiss, Fallback: true},
	}
	for i := range evs {
		evs[i].Time, evs[i].Tokens, evs[i].Status = day("2026-02-01"), Tokens{Input: 1_000_000, Output: 100_000}, 200
		p.Price(&evs[i])
	}
	lane := Event{RequestID: "s-lane", Time: day("2026-02-01"), RequestedModel: "gpt-4o", Route: "batch-lane",
		Tokens: Tokens{Input: 1_000_000, Output: 100_000}, Status: 200}
	p.Price(&lane)
	lane.Cost /= 2 // what the gateway's batch lane does: half price, counterfactual at list
	lane.Savings, lane.SavingsSource = lane.Counterfactual-lane.Cost, SavingsBatchLane
	return append(evs, lane)
}

func TestSpendGroupsSavingsBySourceAndFallbacksAreNotCheaperModels(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		if err := s.WriteBatch(context.Background(), savingsEvents(t)); err != nil {
			t.Fatal(err)
		}
		g, err := ParseGroupBy("savings_source")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Spend(context.Background(), SpendQuery{From: day("2026-02-01"), To: day("2026-02-02"), GroupBy: g})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			requests int64
			savings  string
		}{
			"none": {1, "0.00"}, "exact_cache": {1, "3.50"}, "semantic_cache": {1, "3.50"}, "coalescing": {1, "3.50"},
			"routing": {1, "3.29"}, "fallback": {2, "0.00"}, "batch_lane": {1, "1.75"},
		}
		if len(rep.Rows) != len(want) {
			t.Fatalf("%d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
		}
		for _, r := range rep.Rows {
			w, ok := want[r.Group[0]]
			if !ok || r.Requests != w.requests || r.Savings.String() != w.savings {
				t.Errorf("%s: %d requests, savings %s; want %+v", r.Group[0], r.Requests, r.Savings, w)
			}
		}
		if rep.Total.Cheaper != 1 {
			t.Errorf("cheaper-model requests %d, want 1 (the routed one; fallbacks never count)", rep.Total.Cheaper)
		}
		evs, err := s.Events(context.Background(), day("2026-02-01"), day("2026-02-02"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.RequestID == "s-fb-dear" && (!ev.Fallback || ev.SavingsSource != SavingsFallback) {
				t.Errorf("the fallback read back as %+v", ev)
			}
		}
	})
}

func TestMigrationBackfillsTheSavingsSourceOfOlderEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// A ledger as version 1 left it.
	for _, stmt := range append(migrations[0].stmts, `CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY,
		name TEXT NOT NULL, applied_at_us BIGINT NOT NULL)`, `INSERT INTO schema_migrations VALUES (1, 'cost events', 0)`) {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old := map[string][3]string{ // request id: cache outcome, route, served model (requested is gpt-4o)
		"o-hit": {"hit", "r", "gpt-4o"}, "o-sem": {"semantic", "r", "gpt-4o"}, "o-coal": {"coalesced", "r", "gpt-4o"},
		"o-lane": {"none", "batch-lane", "gpt-4o"}, "o-route": {"miss", "r", "gpt-4o-mini"}, "o-none": {"miss", "r", "gpt-4o"},
	}
	for id, v := range old {
		if _, err := db.Exec(`INSERT INTO cost_events VALUES (?, 1, '1970-01-01', 'k', 't', 'f', 'u', ?, 'pv', '', '',
			'gpt-4o', ?, 'openai', ?, 0, 0, 0, 0, 0, 'measured', 'v', 0, 0, 0, 0, 0, 0, 200, '', 0)`, id, v[1], v[2], v[0]); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.Events(context.Background(), time.Unix(0, 0), time.Unix(10, 0))
	if err != nil || len(evs) != len(old) {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	want := map[string]SavingsSource{"o-hit": SavingsExactCache, "o-sem": SavingsSemanticCache, "o-coal": SavingsCoalescing,
		"o-lane": SavingsBatchLane, "o-route": SavingsRouting, "o-none": SavingsNone}
	for _, ev := range evs {
		if ev.SavingsSource != want[ev.RequestID] {
			t.Errorf("%s backfilled as %q, want %q", ev.RequestID, ev.SavingsSource, want[ev.RequestID])
		}
	}
}
