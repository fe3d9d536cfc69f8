package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchyard/switchyard/metering"
)

const spendUsage = `usage: switchyard spend export --ledger URL --from YYYY-MM-DD --to YYYY-MM-DD
         [--group-by feature,team,model,day,...] [--format csv|json] [--report spend|economics]

  --ledger URL        sqlite:PATH or postgres://... (default $SWITCHYARD_LEDGER)
  --from, --to        UTC days; events with from <= time < to (--to is exclusive:
                      --from 2026-11-01 --to 2026-12-01 is November)
  --group-by LIST     any of: %s
  --format csv|json   output format (default csv)
  --report KIND       spend (default): grouped spend with totals;
                      economics: cost per request by feature, cheaper-model share and a
                      monthly forecast at 1x, 10x and 100x the last --forecast-days' volume
  --forecast-days N   forecast window ending at --to (default 7)
`

// spendExport runs "switchyard spend export". args are the arguments after "spend"
// (a leading "export" is accepted and skipped). It writes the export to stdout and
// returns the exit code: 0 done, 1 failed, 2 bad usage.
func spendExport(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "export" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("spend export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, spendUsage, strings.Join(metering.Dimensions(), ",")) }
	ledger := fs.String("ledger", getenv("SWITCHYARD_LEDGER"), "ledger URL")
	fromS := fs.String("from", "", "first UTC day (YYYY-MM-DD)")
	toS := fs.String("to", "", "day after the last (YYYY-MM-DD), exclusive")
	groupBy := fs.String("group-by", "", "comma-separated dimensions")
	format := fs.String("format", "csv", "csv or json")
	report := fs.String("report", "spend", "spend or economics")
	forecastDays := fs.Int("forecast-days", 7, "forecast window in days")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	q, err := parseSpendFlags(*ledger, *fromS, *toS, *groupBy, *format, *report)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard spend export:", err)
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	store, err := metering.OpenStore(ctx, *ledger)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard spend export:", err)
		return 1
	}
	defer store.Close()
	if err := writeSpend(ctx, store, q, *format, *report, *forecastDays, stdout); err != nil {
		fmt.Fprintln(stderr, "switchyard spend export:", err)
		return 1
	}
	return 0
}

// parseSpendFlags validates the flags into a query.
func parseSpendFlags(ledger, fromS, toS, groupBy, format, report string) (metering.SpendQuery, error) {
	var q metering.SpendQuery
	if ledger == "" {
		return q, errors.New("--ledger is required (or set SWITCHYARD_LEDGER)")
	}
	if format != "csv" && format != "json" {
		return q, fmt.Errorf("--format %q: want csv or json", format)
	}
	if report != "spend" && report != "economics" {
		return q, fmt.Errorf("--report %q: want spend or economics", report)
	}
	var err error
	if q.From, err = time.Parse(time.DateOnly, fromS); err != nil {
		return q, fmt.Errorf("--from %q: want YYYY-MM-DD", fromS)
	}
	if q.To, err = time.Parse(time.DateOnly, toS); err != nil {
		return q, fmt.Errorf("--to %q: want YYYY-MM-DD", toS)
	}
	if !q.To.After(q.From) {
		return q, fmt.Errorf("--to %s must be after --from %s (--to is exclusive)", toS, fromS)
	}
	if q.GroupBy, err = metering.ParseGroupBy(groupBy); err != nil {
		return q, fmt.Errorf("--group-by: %w", err)
	}
	return q, nil
}

// writeSpend runs the report and writes it in the chosen format.
func writeSpend(ctx context.Context, store *metering.SQLStore, q metering.SpendQuery, format, report string, forecastDays int, w io.Writer) error {
	if report == "economics" {
		rep, err := store.Economics(ctx, metering.EconomicsQuery{From: q.From, To: q.To, ForecastDays: forecastDays})
		if err != nil {
			return err
		}
		if format == "json" {
			return rep.WriteJSON(w)
		}
		return rep.WriteCSV(w)
	}
	rep, err := store.Spend(ctx, q)
	if err != nil {
		return err
	}
	if format == "json" {
		return rep.WriteJSON(w)
	}
	return rep.WriteCSV(w)
}
