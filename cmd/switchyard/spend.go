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
	if *ledger == "" {
		fmt.Fprintln(stderr, "switchyard spend export: --ledger is required (or set SWITCHYARD_LEDGER)")
		fs.Usage()
		return 2
	}
	q, err := metering.ExportRequest{From: *fromS, To: *toS, GroupBy: *groupBy, Format: *format,
		Report: *report, ForecastDays: *forecastDays}.Parse()
	if err != nil {
		fmt.Fprintln(stderr, "switchyard spend export: --"+err.Error())
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
	if err := store.Export(ctx, q, stdout); err != nil {
		fmt.Fprintln(stderr, "switchyard spend export:", err)
		return 1
	}
	return 0
}
