package metering

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// EconomicsQuery selects the data for a unit-economics report.
type EconomicsQuery struct {
	// From and To bound the events reported per feature: From <= Time < To.
	From, To time.Time
	// ForecastDays is the window, ending at To, whose volume and mix the forecast
	// extrapolates. Default 7.
	ForecastDays int
	// Multipliers are the volume multiples forecast. Default 1, 10, 100.
	Multipliers []int64
}

// forecastMonthDays is the month the forecast projects: 30 days.
const forecastMonthDays = 30

// FeatureEconomics is one feature's unit economics.
type FeatureEconomics struct {
	Feature  string
	Requests int64
	Cost     Amount
	// CostPerRequest and CostPer1000 are Cost/Requests and 1000×Cost/Requests, rounded to
	// the picodollar.
	CostPerRequest, CostPer1000 Amount
	// CheaperShare is the share of requests served by a cheaper model than requested;
	// CacheHitRate the share served from the gateway cache (four decimals).
	CheaperShare, CacheHitRate string
}

// Forecast is the projected spend of a 30-day month at Multiplier × the window's volume.
type Forecast struct {
	Multiplier      int64
	MonthlyRequests int64
	MonthlyCost     Amount
}

// EconomicsReport is the unit-economics report: per-feature cost per request, the share
// of requests served by cheaper models, and a monthly forecast.
//
// The forecast assumes the recent window's mix holds at any volume: the same features,
// models, routing and cache hit rate, so cost scales linearly. Monthly = window cost ×
// 30 / ForecastDays × multiplier. Growth usually raises cache hit rates, so the 10× and
// 100× figures lean high.
type EconomicsReport struct {
	From, To     time.Time
	Features     []FeatureEconomics
	Total        FeatureEconomics
	ForecastFrom time.Time
	ForecastDays int
	Forecasts    []Forecast
}

// Economics computes the unit-economics report from the ledger.
func (s *SQLStore) Economics(ctx context.Context, q EconomicsQuery) (*EconomicsReport, error) {
	if q.ForecastDays <= 0 {
		q.ForecastDays = 7
	}
	if len(q.Multipliers) == 0 {
		q.Multipliers = []int64{1, 10, 100}
	}
	byFeature, err := s.Spend(ctx, SpendQuery{From: q.From, To: q.To, GroupBy: []string{"feature"}})
	if err != nil {
		return nil, err
	}
	rep := &EconomicsReport{From: q.From, To: q.To, ForecastDays: q.ForecastDays}
	for i := range byFeature.Rows {
		rep.Features = append(rep.Features, featureEconomics(byFeature.Rows[i].Group[0], &byFeature.Rows[i]))
	}
	rep.Total = featureEconomics("", &byFeature.Total)
	rep.ForecastFrom = q.To.AddDate(0, 0, -q.ForecastDays)
	window, err := s.Spend(ctx, SpendQuery{From: rep.ForecastFrom, To: q.To})
	if err != nil {
		return nil, err
	}
	days := int64(q.ForecastDays)
	for _, m := range q.Multipliers {
		rep.Forecasts = append(rep.Forecasts, Forecast{
			Multiplier:      m,
			MonthlyRequests: (window.Total.Requests*forecastMonthDays*m + days/2) / days,
			MonthlyCost:     window.Total.Cost.Mul(forecastMonthDays * m).Div(days),
		})
	}
	return rep, nil
}

func featureEconomics(feature string, r *SpendRow) FeatureEconomics {
	return FeatureEconomics{
		Feature: feature, Requests: r.Requests, Cost: r.Cost,
		CostPerRequest: r.CostPerRequest(), CostPer1000: r.Cost.Mul(1000).Div(r.Requests),
		CheaperShare: r.CheaperShare(), CacheHitRate: r.CacheHitRate(),
	}
}

// WriteCSV writes the report as CSV. The "row" column says what a line is: "feature"
// lines, one "total" line, then "forecast" lines whose feature column holds the
// multiplier ("10x"), requests the projected monthly requests and cost_usd the projected
// monthly cost. Feature names are guarded against formula injection (see CSVSafe).
func (rep *EconomicsReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"row", "feature", "requests", "cost_usd", "cost_per_request_usd",
		"cost_per_1000_requests_usd", "cheaper_model_share", "cache_hit_rate"}}
	line := func(kind string, f *FeatureEconomics) []string {
		return []string{kind, CSVSafe(f.Feature), itoa(f.Requests), f.Cost.String(), f.CostPerRequest.String(),
			f.CostPer1000.String(), f.CheaperShare, f.CacheHitRate}
	}
	for i := range rep.Features {
		rows = append(rows, line("feature", &rep.Features[i]))
	}
	rows = append(rows, line("total", &rep.Total))
	for _, f := range rep.Forecasts {
		rows = append(rows, []string{"forecast", strconv.FormatInt(f.Multiplier, 10) + "x",
			itoa(f.MonthlyRequests), f.MonthlyCost.String(), "", "", "", ""})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("metering: economics csv: %w", err)
	}
	return nil
}

type economicsJSON struct {
	From     string              `json:"from"`
	To       string              `json:"to"`
	Features []featureJSON       `json:"features"`
	Total    featureJSON         `json:"total"`
	Forecast economicsForecastJS `json:"forecast"`
}

type featureJSON struct {
	Feature           string `json:"feature,omitempty"`
	Requests          int64  `json:"requests"`
	CostUSD           Amount `json:"cost_usd"`
	CostPerRequestUSD Amount `json:"cost_per_request_usd"`
	CostPer1000USD    Amount `json:"cost_per_1000_requests_usd"`
	CheaperModelShare string `json:"cheaper_model_share"`
	CacheHitRate      string `json:"cache_hit_rate"`
}

type economicsForecastJS struct {
	WindowFrom string         `json:"window_from"`
	WindowDays int            `json:"window_days"`
	MonthDays  int            `json:"month_days"`
	Scenarios  []forecastJSON `json:"scenarios"`
}

type forecastJSON struct {
	Multiplier      int64  `json:"multiplier"`
	MonthlyRequests int64  `json:"monthly_requests"`
	MonthlyCostUSD  Amount `json:"monthly_cost_usd"`
}

// WriteJSON writes the report as one JSON object; money is decimal strings of dollars.
func (rep *EconomicsReport) WriteJSON(w io.Writer) error {
	fj := func(f *FeatureEconomics) featureJSON {
		return featureJSON{Feature: f.Feature, Requests: f.Requests, CostUSD: f.Cost, CostPerRequestUSD: f.CostPerRequest,
			CostPer1000USD: f.CostPer1000, CheaperModelShare: f.CheaperShare, CacheHitRate: f.CacheHitRate}
	}
	out := economicsJSON{
		From: rep.From.UTC().Format(time.RFC3339), To: rep.To.UTC().Format(time.RFC3339),
		Features: make([]featureJSON, 0, len(rep.Features)), Total: fj(&rep.Total),
		Forecast: economicsForecastJS{WindowFrom: rep.ForecastFrom.UTC().Format(time.RFC3339),
			WindowDays: rep.ForecastDays, MonthDays: forecastMonthDays},
	}
	for i := range rep.Features {
		out.Features = append(out.Features, fj(&rep.Features[i]))
	}
	for _, f := range rep.Forecasts {
		out.Forecast.Scenarios = append(out.Forecast.Scenarios, forecastJSON{f.Multiplier, f.MonthlyRequests, f.MonthlyCost})
	}
	return writeJSON(w, out)
}
