package metering

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the metering testdata/*.golden files")

// goldenEvents is a small, fixed ledger covering every column an export shows: cache
// hits, a reroute to a cheaper model, an unpriced model, an estimated stream, events on
// the range's edges, and attribution values that try spreadsheet formula injection.
func goldenEvents(t testing.TB) []Event {
	p := NewPricer(defaultCatalog(t))
	at := func(d string, h int) time.Time { return day(d).Add(time.Duration(h) * time.Hour) }
	evs := []Event{
		{RequestID: "g01", Time: at("2026-03-01", 0), Key: "k-app", Team: "search", Feature: "answers", RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Provider: "openai", Cache: CacheMiss, Tokens: Tokens{Input: 1200, CachedInput: 1024, Output: 300}},
		{RequestID: "g02", Time: at("2026-03-01", 1), Key: "k-app", Team: "search", Feature: "answers", RequestedModel: "gpt-4o", ServedModel: "gpt-4o", Provider: "openai", Cache: CacheHit, Tokens: Tokens{Input: 1200, Output: 300}},
		{RequestID: "g03", Time: at("2026-03-01", 2), Key: "k-app", Team: "search", Feature: "answers", RequestedModel: "gpt-4o", ServedModel: "gpt-4o-mini", Provider: "openai", Cache: CacheMiss, Tokens: Tokens{Input: 900, Output: 250}},
		{RequestID: "g04", Time: at("2026-03-02", 5), Key: "k-bot", Team: "support", Feature: "triage", RequestedModel: "claude-sonnet-4-5", ServedModel: "claude-sonnet-4-5-20250929", Provider: "anthropic", Cache: CacheMiss, Tokens: Tokens{Input: 5000, CachedInput: 3000, CacheWrite: 1000, Output: 700, Reasoning: 200}},
		{RequestID: "g05", Time: at("2026-03-02", 6), Key: "k-bot", Team: "support", Feature: "triage", RequestedModel: "claude-sonnet-4-5", ServedModel: "claude-sonnet-4-5", Provider: "anthropic", Cache: CacheSemantic, Tokens: Tokens{Input: 4000, Output: 600}},
		{RequestID: "g06", Time: at("2026-03-02", 7), Key: "k-bot", Team: "support", Feature: "triage", RequestedModel: "claude-sonnet-4-5", ServedModel: "claude-sonnet-4-5", Provider: "anthropic", Cache: CacheMiss, Stream: true, UsageSource: UsageEstimated, Tokens: Tokens{Input: 3900, Output: 120}},
		{RequestID: "g07", Time: at("2026-03-03", 8), Key: "k-etl", Team: "data", Feature: "embed", RequestedModel: "text-embedding-3-small", Provider: "openai", Cache: CacheNone, Tokens: Tokens{Input: 81920}},
		{RequestID: "g08", Time: at("2026-03-03", 9), Key: "k-etl", Team: "data", Feature: "summaries", RequestedModel: "llama-local", ServedModel: "llama-local", Provider: "vllm", Cache: CacheMiss, Tokens: Tokens{Input: 2000, Output: 400}},
		{RequestID: "g09", Time: at("2026-03-03", 10), Key: "k-evil", Team: "=HYPERLINK(\"http://x\")", Feature: "-2+3", RequestedModel: "gpt-4o-mini", Provider: "openai", Cache: CacheCoalesced, Tokens: Tokens{Input: 100, Output: 20}},
		{RequestID: "g10", Time: at("2026-03-03", 11), Key: "k-evil", Team: "@SUM(A1:A9)", Feature: "+cmd", RequestedModel: "gpt-4o-mini", Provider: "openai", Cache: CacheMiss, Tokens: Tokens{Input: 100, Output: 20}},
		// Outside [2026-03-01, 2026-03-04): never exported.
		{RequestID: "g11", Time: day("2026-03-01").Add(-time.Microsecond), Key: "k-app", Team: "search", Feature: "answers", RequestedModel: "gpt-4o", Provider: "openai", Cache: CacheMiss, Tokens: Tokens{Input: 1, Output: 1}},
		{RequestID: "g12", Time: day("2026-03-04"), Key: "k-app", Team: "search", Feature: "answers", RequestedModel: "gpt-4o", Provider: "openai", Cache: CacheMiss, Tokens: Tokens{Input: 1, Output: 1}},
	}
	for i := range evs {
		if evs[i].UsageSource == "" {
			evs[i].UsageSource = UsageMeasured
		}
		evs[i].Status = 200
		p.Price(&evs[i])
	}
	return evs
}

func goldenLedger(t testing.TB) *SQLStore {
	s := sqliteLedger(t)
	if err := s.WriteBatch(context.Background(), goldenEvents(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./metering -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestSpendExportGoldenFiles(t *testing.T) {
	s := goldenLedger(t)
	tests := []struct {
		name    string
		groupBy string
	}{
		{"spend_by_feature_day", "feature,day"},
		{"spend_by_team_model", "team,model"},
		{"spend_by_served_model_provider", "served_model,provider"},
		{"spend_by_key_prompt_version_route", "key,prompt_version,route"},
		{"spend_totals_only", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGroupBy(tt.groupBy)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := s.Spend(context.Background(), SpendQuery{From: day("2026-03-01"), To: day("2026-03-04"), GroupBy: g})
			if err != nil {
				t.Fatal(err)
			}
			var csvOut, jsonOut bytes.Buffer
			if err := rep.WriteCSV(&csvOut); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteJSON(&jsonOut); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name+".csv", csvOut.Bytes())
			checkGolden(t, tt.name+".json", jsonOut.Bytes())
		})
	}
}

func TestEconomicsGoldenFiles(t *testing.T) {
	s := goldenLedger(t)
	rep, err := s.Economics(context.Background(), EconomicsQuery{From: day("2026-03-01"), To: day("2026-03-04")})
	if err != nil {
		t.Fatal(err)
	}
	var csvOut, jsonOut bytes.Buffer
	if err := rep.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&jsonOut); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "economics.csv", csvOut.Bytes())
	checkGolden(t, "economics.json", jsonOut.Bytes())
	// One request of ten was served by a cheaper model than requested (g03).
	if rep.Total.CheaperShare != "0.1000" {
		t.Fatalf("cheaper-model share %s, want 0.1000", rep.Total.CheaperShare)
	}
}

func TestExportTotalsEqualTheLedgerSums(t *testing.T) {
	eachLedger(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		p := NewPricer(defaultCatalog(t))
		models := []string{"gpt-4o", "gpt-4o-mini", "o3", "claude-opus-4-1", "gemini-2.5-pro", "unpriced-model"}
		outcomes := []CacheOutcome{CacheMiss, CacheMiss, CacheHit, CacheNone, CacheSemantic, CacheCoalesced}
		var evs []Event
		for i := range 3000 {
			ev := Event{
				RequestID: fmt.Sprintf("sum-%05d", i), Time: day("2026-04-01").Add(time.Duration(i) * 17 * time.Minute),
				Key: fmt.Sprintf("k%d", i%4), Team: fmt.Sprintf("t%d", i%3), Feature: fmt.Sprintf("f%d", i%5),
				RequestedModel: models[i%len(models)], ServedModel: models[(i/7)%len(models)], Cache: outcomes[i%len(outcomes)],
				Tokens: Tokens{Input: int64(1000 + i*37%250_000), CachedInput: int64(i % 900), CacheWrite: int64(i % 3 * 50), Output: int64(i * 13 % 9000), Reasoning: int64(i % 11)},
			}
			p.Price(&ev)
			evs = append(evs, ev)
		}
		if err := s.WriteBatch(ctx, evs); err != nil {
			t.Fatal(err)
		}
		from, to := day("2026-04-05"), day("2026-04-25")
		var want struct {
			n                                      int64
			in, cached, write, out, reasoning      string
			cost, counter, savings, unpriced, hits string
		}
		err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*),
			CAST(SUM(input_tokens) AS TEXT), CAST(SUM(cached_input_tokens) AS TEXT), CAST(SUM(cache_write_tokens) AS TEXT),
			CAST(SUM(output_tokens) AS TEXT), CAST(SUM(reasoning_tokens) AS TEXT),
			CAST(SUM(cost_pusd) AS TEXT), CAST(SUM(counterfactual_pusd) AS TEXT), CAST(SUM(savings_pusd) AS TEXT),
			CAST(SUM(unpriced) AS TEXT), CAST(SUM(CASE WHEN cache_outcome IN ('hit','semantic','coalesced') THEN 1 ELSE 0 END) AS TEXT)
			FROM cost_events WHERE ts_us >= ? AND ts_us < ?`), from.UnixMicro(), to.UnixMicro()).Scan(
			&want.n, &want.in, &want.cached, &want.write, &want.out, &want.reasoning,
			&want.cost, &want.counter, &want.savings, &want.unpriced, &want.hits)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{"", "feature", "team,model", "day,key", "served_model,provider,feature", "prompt_version,route,user", "dialect"} {
			groupBy, err := ParseGroupBy(g)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := s.Spend(ctx, SpendQuery{From: from, To: to, GroupBy: groupBy})
			if err != nil {
				t.Fatal(err)
			}
			tot := rep.Total
			got := []string{itoa(tot.Requests), itoa(tot.Tokens.Input), itoa(tot.Tokens.CachedInput), itoa(tot.Tokens.CacheWrite),
				itoa(tot.Tokens.Output), itoa(tot.Tokens.Reasoning), tot.Cost.Picodollars(), tot.Counterfactual.Picodollars(),
				tot.Savings.Picodollars(), itoa(tot.Unpriced), itoa(tot.CacheHits)}
			exp := []string{itoa(want.n), want.in, want.cached, want.write, want.out, want.reasoning,
				want.cost, want.counter, want.savings, want.unpriced, want.hits}
			if strings.Join(got, " ") != strings.Join(exp, " ") {
				t.Errorf("group by %q: totals\n got %v\nwant %v (SUM over the ledger)", g, got, exp)
			}
		}
	})
}

func TestCSVSafeDefeatsFormulaInjection(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"an equals sign is neutralised", "=1+1", "'=1+1"},
		{"a plus sign is neutralised", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"a minus sign is neutralised", "-2+3", "'-2+3"},
		{"an at sign is neutralised", "@SUM(A1)", "'@SUM(A1)"},
		{"a leading tab is neutralised", "\t=1", "'\t=1"},
		{"a leading carriage return is neutralised", "\r=1", "'\r=1"},
		{"plain text is untouched", "answers", "answers"},
		{"a formula character inside text is untouched", "a=b", "a=b"},
		{"an empty cell stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CSVSafe(tt.in); got != tt.want {
				t.Errorf("CSVSafe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseGroupBy(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		wantErr  bool
	}{
		{"the issue's example parses in order", "feature,team,model,day", "feature team model day", false},
		{"spaces are trimmed", " feature , key ", "feature key", false},
		{"empty groups nothing", "", "", false},
		{"the dialect is a dimension", "dialect,feature", "dialect feature", false},
		{"an unknown dimension is rejected", "feature,colour", "", true},
		{"a repeated dimension is rejected", "day,day", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGroupBy(tt.in)
			if (err != nil) != tt.wantErr || strings.Join(got, " ") != tt.want {
				t.Fatalf("ParseGroupBy(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestSpendRejectsAnEmptyRange(t *testing.T) {
	s := sqliteLedger(t)
	if _, err := s.Spend(context.Background(), SpendQuery{From: day("2026-03-02"), To: day("2026-03-02")}); err == nil {
		t.Fatal("an empty range must be an error")
	}
}
