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
	// From and To are UTC days: YYYY-MM-DD, today or yesterday; To is exclusive. To
	// defaults to tomorrow (From alone runs through today); To without From is an error.
	From, To string
	// Period names the range instead of From and To: today, yesterday, this-month or
	// last-month (UTC). With neither a period nor From, the export covers this-month.
	Period string
	// Now is the time relative periods and days are resolved at. Default time.Now().
	Now time.Time
	// GroupBy is a comma-separated list of dimensions (see Dimensions).
	GroupBy string
	// Format is csv or json. Default csv.
	Format string
	// Report is spend (grouped spend with totals), economics (unit economics per feature)
	// or forecast (monthly spend at 1x, 10x and 100x the recent volume). Default spend.
	Report string
	// ForecastDays is the forecast window in days, ending at To (or at the end of today
	// when To is later). Default 7.
	ForecastDays int
}

// ExportQuery is a validated ExportRequest.
type ExportQuery struct {
	Spend        SpendQuery
	Format       string
	Report       string
	ForecastDays int
	// Now is when the export was asked for; the forecast window ends no later than its day.
	Now time.Time
}

// Parse validates r.
func (r ExportRequest) Parse() (ExportQuery, error) {
	q := ExportQuery{Format: r.Format, Report: r.Report, ForecastDays: r.ForecastDays, Now: r.Now}
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
	if q.Report != "spend" && q.Report != "economics" && q.Report != "forecast" {
		return q, fmt.Errorf("report %q: want spend, economics or forecast", q.Report)
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	var err error
	if q.Spend.From, q.Spend.To, err = r.exportRange(q.Now); err != nil {
		return q, err
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
	_, err := s.ExportWithNote(ctx, q, w)
	return err
}

// ExportWithNote is Export that also returns the report's note for a human reader (the
// forecast's "from 1 of the 7 days asked for"), empty when there is none.
func (s *SQLStore) ExportWithNote(ctx context.Context, q ExportQuery, w io.Writer) (string, error) {
	var rep interface {
		WriteCSV(io.Writer) error
		WriteJSON(io.Writer) error
	}
	note := ""
	switch q.Report {
	case "economics":
		r, err := s.Economics(ctx, EconomicsQuery{From: q.Spend.From, To: q.Spend.To})
		if err != nil {
			return "", err
		}
		rep = r
	case "forecast":
		r, err := s.Forecast(ctx, ForecastQuery{To: q.Spend.To, Now: q.Now, Days: q.ForecastDays})
		if err != nil {
			return "", err
		}
		rep, note = r, r.Note()
	default:
		r, err := s.Spend(ctx, q.Spend)
		if err != nil {
			return "", err
		}
		rep = r
	}
	if q.Format == "json" {
		return note, rep.WriteJSON(w)
	}
	return note, rep.WriteCSV(w)
}
