package metering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ExportRequest is an export as a user asks for it (CLI flags, admin query string).
type ExportRequest struct {
	// From and To are UTC days, YYYY-MM-DD; To is exclusive.
	From, To string
	// GroupBy is a comma-separated list of dimensions (see Dimensions).
	GroupBy string
	// Format is csv or json. Default csv.
	Format string
	// Report is spend (grouped spend with totals) or economics (unit economics and a
	// forecast). Default spend.
	Report string
	// ForecastDays is the economics forecast window ending at To. Default 7.
	ForecastDays int
}

// ExportQuery is a validated ExportRequest.
type ExportQuery struct {
	Spend        SpendQuery
	Format       string
	Report       string
	ForecastDays int
}

// Parse validates r.
func (r ExportRequest) Parse() (ExportQuery, error) {
	q := ExportQuery{Format: r.Format, Report: r.Report, ForecastDays: r.ForecastDays}
	if q.Format == "" {
		q.Format = "csv"
	}
	if q.Report == "" {
		q.Report = "spend"
	}
	if q.ForecastDays <= 0 {
		q.ForecastDays = 7
	}
	if q.Format != "csv" && q.Format != "json" {
		return q, fmt.Errorf("format %q: want csv or json", q.Format)
	}
	if q.Report != "spend" && q.Report != "economics" {
		return q, fmt.Errorf("report %q: want spend or economics", q.Report)
	}
	var err error
	if q.Spend.From, err = time.Parse(time.DateOnly, r.From); err != nil {
		return q, fmt.Errorf("from %q: want YYYY-MM-DD", r.From)
	}
	if q.Spend.To, err = time.Parse(time.DateOnly, r.To); err != nil {
		return q, fmt.Errorf("to %q: want YYYY-MM-DD", r.To)
	}
	if !q.Spend.To.After(q.Spend.From) {
		return q, errors.New("to must be after from (to is exclusive)")
	}
	if q.Spend.GroupBy, err = ParseGroupBy(r.GroupBy); err != nil {
		return q, fmt.Errorf("group-by: %w", err)
	}
	return q, nil
}

// ContentType is the export's media type.
func (q ExportQuery) ContentType() string {
	if q.Format == "json" {
		return "application/json"
	}
	return "text/csv; charset=utf-8"
}

// Export runs q against the ledger and writes the report to w.
func (s *SQLStore) Export(ctx context.Context, q ExportQuery, w io.Writer) error {
	if q.Report == "economics" {
		rep, err := s.Economics(ctx, EconomicsQuery{From: q.Spend.From, To: q.Spend.To, ForecastDays: q.ForecastDays})
		if err != nil {
			return err
		}
		if q.Format == "json" {
			return rep.WriteJSON(w)
		}
		return rep.WriteCSV(w)
	}
	rep, err := s.Spend(ctx, q.Spend)
	if err != nil {
		return err
	}
	if q.Format == "json" {
		return rep.WriteJSON(w)
	}
	return rep.WriteCSV(w)
}
