package metering

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"
)

// EconomicsQuery selects the data for a unit-economics report.
type EconomicsQuery struct {
	// From and To bound the events reported per feature: From <= Time < To.
	From, To time.Time
}

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

// EconomicsReport is the unit-economics report: per-feature cost per request and the
// share of requests served by cheaper models, with a total line. The monthly forecast is
// its own report (ForecastReport), so every line here is a measured feature.
type EconomicsReport struct {
	From, To time.Time
	Features []FeatureEconomics
	Total    FeatureEconomics
}

// Economics computes the unit-economics report from the ledger.
func (s *SQLStore) Economics(ctx context.Context, q EconomicsQuery) (*EconomicsReport, error) {
	byFeature, err := s.Spend(ctx, SpendQuery{From: q.From, To: q.To, GroupBy: []string{"feature"}})
	if err != nil {
		return nil, err
	}
	rep := &EconomicsReport{From: q.From, To: q.To}
	for i := range byFeature.Rows {
		rep.Features = append(rep.Features, featureEconomics(byFeature.Rows[i].Group[0], &byFeature.Rows[i]))
	}
	rep.Total = featureEconomics("", &byFeature.Total)
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
// lines, then one "total" line. Feature names are guarded against formula injection (see CSVSafe).
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
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("metering: economics csv: %w", err)
	}
	return nil
}

type economicsJSON struct {
	From     string        `json:"from"`
	To       string        `json:"to"`
	Features []featureJSON `json:"features"`
	Total    featureJSON   `json:"total"`
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

// WriteJSON writes the report as one JSON object; money is decimal strings of dollars.
func (rep *EconomicsReport) WriteJSON(w io.Writer) error {
	fj := func(f *FeatureEconomics) featureJSON {
		return featureJSON{Feature: f.Feature, Requests: f.Requests, CostUSD: f.Cost, CostPerRequestUSD: f.CostPerRequest,
			CostPer1000USD: f.CostPer1000, CheaperModelShare: f.CheaperShare, CacheHitRate: f.CacheHitRate}
	}
	out := economicsJSON{
		From: rep.From.UTC().Format(time.RFC3339), To: rep.To.UTC().Format(time.RFC3339),
		Features: make([]featureJSON, 0, len(rep.Features)), Total: fj(&rep.Total),
	}
	for i := range rep.Features {
		out.Features = append(out.Features, fj(&rep.Features[i]))
	}
	return writeJSON(w, out)
}
