package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/metering"
)

// spendTestLedger writes a small ledger and returns its URL.
func spendTestLedger(t *testing.T) string {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
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
			RequestID: fmt.Sprintf("r%d", i), Time: time.Date(2026, 11, 1+i%3, 12, 0, 0, 0, time.UTC),
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
		{"the economics report forecasts 1x, 10x and 100x",
			[]string{"export", "--ledger", url, "--from", "2026-11-01", "--to", "2026-11-04", "--report", "economics", "--forecast-days", "3"},
			[]string{"forecast,1x,60,0.0126", "forecast,100x,6000,1.26"}},
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
		{"a missing ledger is a usage error", []string{"--from", "2026-11-01", "--to", "2026-11-02"}, func(string) string { return "" }, 2, "--ledger is required"},
		{"a bad date is a usage error", []string{"--from", "11/01/2026", "--to", "2026-11-02"}, env, 2, "--from"},
		{"an empty range is a usage error", []string{"--from", "2026-11-02", "--to", "2026-11-02"}, env, 2, "exclusive"},
		{"an unknown dimension is a usage error", []string{"--from", "2026-11-01", "--to", "2026-11-02", "--group-by", "colour"}, env, 2, "unknown group-by"},
		{"an unknown format is a usage error", []string{"--from", "2026-11-01", "--to", "2026-11-02", "--format", "xlsx"}, env, 2, "--format"},
		{"an unreachable ledger is a runtime error", []string{"--ledger", "sqlite:/nonexistent/dir/l.db", "--from", "2026-11-01", "--to", "2026-11-02"}, env, 1, "sqlite"},
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
