package metering

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// ForecastQuery selects the window a monthly forecast extrapolates.
type ForecastQuery struct {
	// To ends the window (exclusive); a To after today is clipped to the end of today.
	To time.Time
	// Now is when the forecast is made. Default time.Now().
	Now time.Time
	// Days is the window's length in days, ending at To. Default 7.
	Days int
	// Multipliers are the volume multiples forecast. Default 1, 10, 100.
	Multipliers []int64
}

// forecastMonthDays is the month the forecast projects: 30 days.
const forecastMonthDays = 30

// Forecast is the projected spend of a 30-day month at Multiplier × the window's volume.
type Forecast struct {
	Multiplier      int64
	MonthlyRequests int64
	MonthlyCost     Amount
}

// ForecastReport is a monthly forecast from a recent window of the ledger.
//
// The forecast divides by the days that have data, not by the window: when the ledger's
// first event is inside the window (a gateway that started recently), the days before it
// are left out, so one day of data is extrapolated as one day, not diluted over seven.
// Days after the first event count even when they are empty (a quiet day is data). Today
// counts as a whole day, so a forecast made early in the day leans low.
//
// It assumes the window's mix holds at any volume: the same features, models, routing and
// cache hit rate, so cost scales linearly. Monthly = window cost × 30 / DataDays ×
// multiplier. Growth usually raises cache hit rates, so the 10× and 100× figures lean high.
type ForecastReport struct {
	// WindowFrom and WindowTo bound the window asked for; WindowDays is its length.
	WindowFrom, WindowTo time.Time
	WindowDays           int
	// DataFrom is the first day of the window with data (the ledger's first event's day
	// when that is later than WindowFrom); DataDays the days from it to WindowTo, 0 when
	// the window holds no events.
	DataFrom time.Time
	DataDays int
	// Requests and Cost are the window's totals.
	Requests  int64
	Cost      Amount
	Scenarios []Forecast
}

// Forecast computes the monthly forecast from the ledger.
func (s *SQLStore) Forecast(ctx context.Context, q ForecastQuery) (*ForecastReport, error) {
	if q.Days <= 0 {
		q.Days = 7
	}
	if len(q.Multipliers) == 0 {
		q.Multipliers = []int64{1, 10, 100}
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	rep := &ForecastReport{WindowTo: q.To, WindowDays: q.Days}
	if tomorrow := utcDay(q.Now).AddDate(0, 0, 1); rep.WindowTo.After(tomorrow) {
		rep.WindowTo = tomorrow
	}
	rep.WindowFrom = rep.WindowTo.AddDate(0, 0, -q.Days)
	window, err := s.Spend(ctx, SpendQuery{From: rep.WindowFrom, To: rep.WindowTo})
	if err != nil {
		return nil, err
	}
	rep.Requests, rep.Cost = window.Total.Requests, window.Total.Cost
	if rep.Requests > 0 {
		var first sql.NullInt64
		if err := s.rdb.QueryRowContext(ctx, s.d.rebind(`SELECT MIN(ts_us) FROM cost_events WHERE ts_us < ?`),
			rep.WindowTo.UnixMicro()).Scan(&first); err != nil {
			return nil, fmt.Errorf("metering: forecast: %w", err)
		}
		rep.DataFrom = rep.WindowFrom
		if d := utcDay(time.UnixMicro(first.Int64)); first.Valid && d.After(rep.DataFrom) {
			rep.DataFrom = d
		}
		rep.DataDays = int(rep.WindowTo.Sub(rep.DataFrom).Hours()+12) / 24
	}
	days := int64(max(rep.DataDays, 1))
	for _, m := range q.Multipliers {
		f := Forecast{Multiplier: m}
		if rep.DataDays > 0 {
			f.MonthlyRequests = (rep.Requests*forecastMonthDays*m + days/2) / days
			f.MonthlyCost = rep.Cost.Mul(forecastMonthDays * m).Div(days)
		}
		rep.Scenarios = append(rep.Scenarios, f)
	}
	return rep, nil
}

// Note says, in a sentence, when the forecast rests on fewer days than asked for; it is
// empty when every day of the window had data.
func (rep *ForecastReport) Note() string {
	switch {
	case rep.DataDays == 0:
		return fmt.Sprintf("no events from %s to %s: nothing to forecast", rep.WindowFrom.Format(time.DateOnly), rep.WindowTo.Format(time.DateOnly))
	case rep.DataDays < rep.WindowDays:
		return fmt.Sprintf("forecast from %d of the %d days asked for: the ledger's data starts %s", rep.DataDays,
			rep.WindowDays, rep.DataFrom.Format(time.DateOnly))
	}
	return ""
}

// WriteCSV writes one line per scenario: the multiplier ("10x"), the projected monthly
// requests and cost, and the window it rests on (window_days asked for, days_with_data
// used), repeated on every line so each stands alone in a spreadsheet.
func (rep *ForecastReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"scenario", "monthly_requests", "monthly_cost_usd", "window_from", "window_to",
		"window_days", "days_with_data", "window_requests", "window_cost_usd"}}
	for _, f := range rep.Scenarios {
		rows = append(rows, []string{strconv.FormatInt(f.Multiplier, 10) + "x", itoa(f.MonthlyRequests),
			f.MonthlyCost.String(), rep.WindowFrom.Format(time.DateOnly), rep.WindowTo.Format(time.DateOnly),
			strconv.Itoa(rep.WindowDays), strconv.Itoa(rep.DataDays), itoa(rep.Requests), rep.Cost.String()})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("metering: forecast csv: %w", err)
	}
	return nil
}

type forecastReportJSON struct {
	WindowFrom     string         `json:"window_from"`
	WindowTo       string         `json:"window_to"`
	WindowDays     int            `json:"window_days"`
	DaysWithData   int            `json:"days_with_data"`
	MonthDays      int            `json:"month_days"`
	WindowRequests int64          `json:"window_requests"`
	WindowCostUSD  Amount         `json:"window_cost_usd"`
	Note           string         `json:"note,omitempty"`
	Scenarios      []forecastJSON `json:"scenarios"`
}

type forecastJSON struct {
	Multiplier      int64  `json:"multiplier"`
	MonthlyRequests int64  `json:"monthly_requests"`
	MonthlyCostUSD  Amount `json:"monthly_cost_usd"`
}

// WriteJSON writes the report as one JSON object; money is decimal strings of dollars.
func (rep *ForecastReport) WriteJSON(w io.Writer) error {
	out := forecastReportJSON{
		WindowFrom: rep.WindowFrom.UTC().Format(time.RFC3339), WindowTo: rep.WindowTo.UTC().Format(time.RFC3339),
		WindowDays: rep.WindowDays, DaysWithData: rep.DataDays, MonthDays: forecastMonthDays,
		WindowRequests: rep.Requests, WindowCostUSD: rep.Cost, Note: rep.Note(),
		Scenarios: make([]forecastJSON, 0, len(rep.Scenarios)),
	}
	for _, f := range rep.Scenarios {
		out.Scenarios = append(out.Scenarios, forecastJSON{f.Multiplier, f.MonthlyRequests, f.MonthlyCost})
	}
	return writeJSON(w, out)
}
