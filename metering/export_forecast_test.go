package metering

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestForecastGoldenFiles(t *testing.T) {
	s := goldenLedger(t)
	rep, err := s.Forecast(context.Background(), ForecastQuery{To: day("2026-03-04"), Now: day("2026-06-01"), Days: 3})
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
	checkGolden(t, "forecast.csv", csvOut.Bytes())
	checkGolden(t, "forecast.json", jsonOut.Bytes())
	// 10 requests in 3 days → 100 a month at 1×; the 10× and 100× forecasts scale the same mix.
	if f := rep.Scenarios; len(f) != 3 || f[0].MonthlyRequests != 100 || f[2].MonthlyCost.Cmp(f[0].MonthlyCost.Mul(100)) != 0 {
		t.Fatalf("forecasts %+v", f)
	}
	if rep.Note() != "" {
		t.Fatalf("a window full of data has the note %q", rep.Note())
	}
}

// oneDayLedger holds n priced requests on day d only.
func oneDayLedger(t *testing.T, d string, n int) *SQLStore {
	s := sqliteLedger(t)
	p := NewPricer(defaultCatalog(t))
	var evs []Event
	for i := range n {
		ev := Event{RequestID: fmt.Sprintf("d%03d", i), Time: day(d).Add(time.Duration(i) * time.Minute), Feature: "chat",
			RequestedModel: "gpt-4o-mini", Cache: CacheMiss, Tokens: Tokens{Input: 1000, Output: 100}, Status: 200, UsageSource: UsageMeasured}
		p.Price(&ev)
		evs = append(evs, ev)
	}
	if err := s.WriteBatch(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestForecastDividesByTheDaysThatHaveData(t *testing.T) {
	tests := []struct {
		name         string
		q            ForecastQuery
		dataDays     int
		monthly      int64
		note         string
		windowToDate string
	}{
		{"one day of data in a 7-day window is one day, not a seventh of a week",
			ForecastQuery{To: day("2026-05-11"), Now: day("2026-06-01"), Days: 7}, 1, 300, "forecast from 1 of the 7 days asked for: the ledger's data starts 2026-05-10", "2026-05-11"},
		{"days after the first event count even when empty",
			ForecastQuery{To: day("2026-05-13"), Now: day("2026-06-01"), Days: 7}, 3, 100, "forecast from 3 of the 7 days", "2026-05-13"},
		{"a window ending in the future ends with today",
			ForecastQuery{To: day("2026-06-01"), Now: day("2026-05-10").Add(15 * time.Hour), Days: 7}, 1, 300, "1 of the 7 days", "2026-05-11"},
		{"a window without events forecasts nothing and says so",
			ForecastQuery{To: day("2026-05-01"), Now: day("2026-06-01"), Days: 7}, 0, 0, "no events from 2026-04-24 to 2026-05-01", "2026-05-01"},
	}
	s := oneDayLedger(t, "2026-05-10", 10)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := s.Forecast(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if rep.DataDays != tt.dataDays || rep.Scenarios[0].MonthlyRequests != tt.monthly {
				t.Errorf("days with data %d, monthly requests %d; want %d, %d", rep.DataDays, rep.Scenarios[0].MonthlyRequests, tt.dataDays, tt.monthly)
			}
			if !strings.Contains(rep.Note(), tt.note) {
				t.Errorf("note %q, want it to contain %q", rep.Note(), tt.note)
			}
			if got := rep.WindowTo.Format(time.DateOnly); got != tt.windowToDate {
				t.Errorf("window ends %s, want %s", got, tt.windowToDate)
			}
		})
	}
}

func TestEconomicsCSVHasOnlyFeatureAndTotalLines(t *testing.T) {
	s := goldenLedger(t)
	var out bytes.Buffer
	q, err := ExportRequest{From: "2026-03-01", To: "2026-03-04", Report: "economics"}.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Export(context.Background(), q, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "feature,") && !strings.HasPrefix(l, "total,") {
			t.Errorf("the per-feature CSV has the line %q", l)
		}
	}
}

func TestExportRequestResolvesPeriods(t *testing.T) {
	now := time.Date(2026, 3, 15, 18, 30, 0, 0, time.UTC)
	tests := []struct {
		name     string
		r        ExportRequest
		from, to string
		err      string
	}{
		{"no period and no days is the current month", ExportRequest{}, "2026-03-01", "2026-04-01", ""},
		{"today is the current UTC day", ExportRequest{Period: "today"}, "2026-03-15", "2026-03-16", ""},
		{"yesterday is the day before", ExportRequest{Period: "yesterday"}, "2026-03-14", "2026-03-15", ""},
		{"this-month is the current month", ExportRequest{Period: "this-month"}, "2026-03-01", "2026-04-01", ""},
		{"last-month is the month before", ExportRequest{Period: "last-month"}, "2026-02-01", "2026-03-01", ""},
		{"from alone runs through today", ExportRequest{From: "2026-03-10"}, "2026-03-10", "2026-03-16", ""},
		{"from and to may be today and yesterday", ExportRequest{From: "yesterday", To: "today"}, "2026-03-14", "2026-03-15", ""},
		{"to without from is an error", ExportRequest{To: "2026-03-10"}, "", "", "from: required"},
		{"a period with days is an error", ExportRequest{Period: "today", From: "2026-03-01"}, "", "", "not both"},
		{"an unknown period is an error", ExportRequest{Period: "this-week"}, "", "", `period "this-week"`},
		{"a bad day is an error", ExportRequest{From: "03/01/2026"}, "", "", "want YYYY-MM-DD, today or yesterday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Now = now
			q, err := tt.r.Parse()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f, to := q.Spend.From.Format(time.DateOnly), q.Spend.To.Format(time.DateOnly); f != tt.from || to != tt.to {
				t.Fatalf("range %s..%s, want %s..%s", f, to, tt.from, tt.to)
			}
		})
	}
}
