package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/metering"
)

const spendUsage = `usage: switchyard spend export [--config FILE | --ledger URL|PATH]
         [--period today|yesterday|this-month|last-month | --from DAY [--to DAY]]
         [--group-by feature,team,model,day,...] [--format csv|json]
         [--report spend|economics|forecast] [--forecast-days N]

  --config FILE       read the ledger that serve --config FILE uses (its metering.ledger or
                      metering.ledger_env) (default $SWITCHYARD_CONFIG; without one, the
                      embedded default's sqlite:switchyard-ledger.db in the working directory)
  --ledger URL|PATH   sqlite:PATH, a bare SQLite file path, or postgres://...; wins over
                      --config (default $SWITCHYARD_LEDGER). A missing file is an error.
  --period NAME       today, yesterday, this-month or last-month, in UTC (default this-month)
  --from, --to        UTC days (YYYY-MM-DD, today or yesterday) instead of --period; events
                      with from <= time < to (--to is exclusive: --from 2026-11-01
                      --to 2026-12-01 is November); --from alone runs through today
  --group-by LIST     any of: %s
  --format csv|json   output format (default csv)
  --report KIND       spend (default): grouped spend with totals;
                      economics: cost per request and cheaper-model share by feature;
                      forecast: monthly spend at 1x, 10x and 100x the recent volume
  --forecast-days N   forecast window in days, ending at --to or today (default 7); the
                      forecast divides by the days that have data and says so
`

// spendExport runs "switchyard spend export". args are the arguments after "spend"
// (a leading "export" is accepted and skipped). It writes the export to stdout, notes
// for a human to stderr, and returns the exit code: 0 done, 1 failed, 2 bad usage.
func spendExport(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "export" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("spend export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, spendUsage, strings.Join(metering.Dimensions(), ",")) }
	cfgPath := fs.String("config", getenv("SWITCHYARD_CONFIG"), "configuration file whose ledger to read")
	ledger := fs.String("ledger", getenv("SWITCHYARD_LEDGER"), "ledger URL or SQLite path")
	periodS := fs.String("period", "", "today, yesterday, this-month or last-month")
	fromS := fs.String("from", "", "first UTC day (YYYY-MM-DD, today, yesterday)")
	toS := fs.String("to", "", "day after the last, exclusive")
	groupBy := fs.String("group-by", "", "comma-separated dimensions")
	format := fs.String("format", "csv", "csv or json")
	report := fs.String("report", "spend", "spend, economics or forecast")
	forecastDays := fs.Int("forecast-days", 7, "forecast window in days")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "switchyard spend export: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	q, err := metering.ExportRequest{From: *fromS, To: *toS, Period: *periodS, GroupBy: *groupBy, Format: *format,
		Report: *report, ForecastDays: *forecastDays, Now: time.Now()}.Parse()
	if err != nil {
		fmt.Fprintln(stderr, "switchyard spend export: --"+err.Error())
		fs.Usage()
		return 2
	}
	url, from := *ledger, "--ledger"
	if url == "" {
		if url, err = config.Ledger(*cfgPath, getenv); err != nil {
			fmt.Fprintln(stderr, "switchyard spend export:", err)
			return 1
		}
		from = "the embedded default"
		if *cfgPath != "" {
			from = *cfgPath
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	store, err := metering.OpenExport(ctx, url)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard spend export:", err)
		var nl *metering.NoLedgerError
		if errors.As(err, &nl) {
			fmt.Fprintf(stderr, "  (the ledger named by %s; a relative path is relative to the working directory, as it is for serve: "+
				"run the export where serve runs, or name the file with --ledger)\n", from)
		}
		return 1
	}
	defer store.Close()
	note, err := store.ExportWithNote(ctx, q, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "switchyard spend export:", err)
		return 1
	}
	if note != "" {
		fmt.Fprintln(stderr, "switchyard spend export:", note)
	}
	return 0
}
