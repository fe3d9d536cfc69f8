package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/metering"
)

// spendTestLedger writes a small ledger and returns its URL.
func spendTestLedger(t *testing.T) string {
	t.Helper()
	return writeSpendLedger(t, filepath.Join(t.TempDir(), "ledger.db"), func(i int) time.Time {
		return time.Date(2026, 11, 1+i%3, 12, 0, 0, 0, time.UTC)
	})
}

// writeSpendLedger writes six events at at(0..5) to a SQLite ledger at path and returns
// its URL.
func writeSpendLedger(t *testing.T, path string, at func(i int) time.Time) string {
	t.Helper()
	url := "sqlite:" + path
	w, err := metering.OpenLedger(context.Background(), url, metering.WriterConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := metering.LoadCatalog(metering.PriceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p := metering.NewPricer(cat)
	for i := range 6 {
		ev := metering.Event{
			RequestID: fmt.Sprintf("r%d", i), Time: at(i),
			Feature: []string{"chat", "search"}[i%2], Team: "core", RequestedModel: "gpt-4o-mini",
			Cache: metering.CacheMiss, Tokens: metering.Tokens{Input: 1000, Output: 100}, Status: 200,
		}
		p.Price(&ev)
		if err := w.Append(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return url
}

func TestSpendExportWritesTheReport(t *testing.T) {
	url := spendTestLedger(t)
	tests := []struct {
		name     string
		args     []string
		contains []string
	}{
		{"a CSV grouped by feature has a line per feature and a total",
			[]string{"export", "--ledger", url, "--from", "2026-11-01", "--to", "2026-12-01", "--group-by", "feature"},
			[]string{"row,feature,requests", "group,chat,3,", "group,search,3,", "total,,6,6000,"}},
		{"JSON output carries the group-by and money as strings",
			[]string{"--ledger", url, "--from", "2026-11-01", "--to", "2026-11-02", "--group-by", "feature,day", "--format", "json"},
			[]string{`"group_by":["feature","day"]`, `"cost_usd":"0.00021"`, `"requests":1`}},
		{"the economics report has a line per feature",
			[]string{"export", "--ledger", url, "--from", "2026-11-01", "--to", "2026-11-04", "--report", "economics"},
			[]string{"feature,chat,3,", "total,,6,"}},
		{"the forecast report forecasts 1x, 10x and 100x",
			[]string{"export", "--ledger", url, "--from", "2026-11-01", "--to", "2026-11-04", "--report", "forecast", "--forecast-days", "3"},
			[]string{"1x,60,0.0126,2026-11-01,2026-11-04,3,3,", "100x,6000,1.26,"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := spendExport(tt.args, func(string) string { return "" }, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			for _, s := range tt.contains {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

func TestSpendExportRejectsBadUsage(t *testing.T) {
	url := spendTestLedger(t)
	env := func(k string) string {
		if k == "SWITCHYARD_LEDGER" {
			return url
		}
		return ""
	}
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		msg  string
	}{
		{"a bad date is a usage error", []string{"--from", "11/01/2026", "--to", "2026-11-02"}, env, 2, "--from"},
		{"an unknown period is a usage error", []string{"--period", "this-week"}, env, 2, "--period"},
		{"a period with days is a usage error", []string{"--period", "today", "--from", "2026-11-01"}, env, 2, "not both"},
		{"an empty range is a usage error", []string{"--from", "2026-11-02", "--to", "2026-11-02"}, env, 2, "exclusive"},
		{"an unknown dimension is a usage error", []string{"--from", "2026-11-01", "--to", "2026-11-02", "--group-by", "colour"}, env, 2, "unknown group-by"},
		{"an unknown format is a usage error", []string{"--from", "2026-11-01", "--to", "2026-11-02", "--format", "xlsx"}, env, 2, "--format"},
		{"a ledger that does not exist is a runtime error", []string{"--ledger", "sqlite:/nonexistent/dir/l.db", "--from", "2026-11-01", "--to", "2026-11-02"}, env, 1, "no ledger at /nonexistent/dir/l.db"},
		{"a config that does not parse is a runtime error", []string{"--config", "/nonexistent/config.yaml"}, func(string) string { return "" }, 1, "config.yaml"},
		{"the ledger comes from SWITCHYARD_LEDGER", []string{"--from", "2026-11-01", "--to", "2026-11-02"}, env, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := spendExport(tt.args, tt.env, &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to contain %q)", code, tt.code, errOut.String(), tt.msg)
			}
		})
	}
}

func TestSpendExportDefaultsToWhatServeUses(t *testing.T) {
	now := time.Now().UTC()
	thisMonth := func(i int) time.Time { return earlierToday(now, i) }
	lastMonth := func(i int) time.Time {
		return time.Date(now.Year(), now.Month(), 1, 12, 0, 0, 0, time.UTC).AddDate(0, -1, i%3)
	}
	noEnv := func(string) string { return "" }
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string) []string // writes the ledger, returns the args
		contains string
	}{
		{"without flags it reads the embedded default's ledger in the working directory, this month",
			func(t *testing.T, dir string) []string {
				writeSpendLedger(t, filepath.Join(dir, "switchyard-ledger.db"), thisMonth)
				return []string{"export"}
			}, "total,6,6000,"},
		{"with --config it reads that config's ledger, relative to the working directory",
			func(t *testing.T, dir string) []string {
				writeSpendLedger(t, filepath.Join(dir, "spend.db"), thisMonth)
				cfg := writeFile(t, "config.yaml", "providers:\n  - name: m\n    kind: mock\nmodels:\n  - name: \"*\"\n    provider: m\n"+
					"keys:\n  - name: app\n    key_env: UNSET_KEY\nmetering:\n  ledger: sqlite:spend.db\n")
				return []string{"--config", cfg}
			}, "total,6,6000,"},
		{"a bare path is a SQLite ledger",
			func(t *testing.T, dir string) []string {
				writeSpendLedger(t, filepath.Join(dir, "bare.db"), thisMonth)
				return []string{"--ledger", "bare.db", "--period", "today"}
			}, "total,6,6000,"},
		{"the default period leaves last month out",
			func(t *testing.T, dir string) []string {
				writeSpendLedger(t, filepath.Join(dir, "switchyard-ledger.db"), lastMonth)
				return nil
			}, "total,0,0,"},
		{"last-month reads last month",
			func(t *testing.T, dir string) []string {
				writeSpendLedger(t, filepath.Join(dir, "switchyard-ledger.db"), lastMonth)
				return []string{"--period", "last-month"}
			}, "total,6,6000,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			args := tt.setup(t, dir)
			var out, errOut bytes.Buffer
			if code := spendExport(args, noEnv, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), tt.contains) {
				t.Fatalf("output lacks %q:\n%s", tt.contains, out.String())
			}
		})
	}
}

func TestSpendExportNeverCreatesALedger(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	code := spendExport(nil, func(string) string { return "" }, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no ledger at switchyard-ledger.db") {
		t.Fatalf("exit %d, stderr %q: want 1 and no ledger at switchyard-ledger.db", code, errOut.String())
	}
	if out.Len() != 0 {
		t.Fatalf("an export of a missing ledger wrote %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "switchyard-ledger.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the export created a ledger: %v", err)
	}
}

func TestSpendExportForecastSaysWhenDataIsShort(t *testing.T) {
	dir := t.TempDir()
	url := writeSpendLedger(t, filepath.Join(dir, "l.db"), func(i int) time.Time { return earlierToday(time.Now().UTC(), i) })
	var out, errOut bytes.Buffer
	if code := spendExport([]string{"--ledger", url, "--report", "forecast"}, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "forecast from 1 of the 7 days asked for") {
		t.Fatalf("stderr %q does not say the forecast rests on one day", errOut.String())
	}
	// Six requests in one day: 180 a month, not 180/7.
	if !strings.Contains(out.String(), "\n1x,180,") {
		t.Fatalf("forecast:\n%s", out.String())
	}
}

// earlierToday is i seconds before now, but not before today (UTC) began.
func earlierToday(now time.Time, i int) time.Time {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if t := now.Add(-time.Duration(i) * time.Second); t.After(day) {
		return t
	}
	return day
}
