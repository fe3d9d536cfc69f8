package batchlane_test

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/metering"
)

func readOutput(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/openai_output.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseResultsReadsARealisticOutputFile(t *testing.T) {
	data := readOutput(t)
	lines, err := batchlane.ParseResults(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                       string
		line                       int
		customID, model, errorCode string
		status                     int
		usage                      provider.Usage
	}{
		{"a chat answer with cached input", 1, "digest-2026-01-15-0001", "gpt-4o-mini-2024-07-18", "", 200,
			provider.Usage{Reported: true, InputTokens: 2048, OutputTokens: 300, CachedInputTokens: 1024}},
		{"a reasoning answer on a CRLF line", 2, "digest-2026-01-15-0002", "o3-mini-2025-01-31", "", 200,
			provider.Usage{Reported: true, InputTokens: 120, OutputTokens: 900, ReasoningTokens: 768}},
		{"an embeddings answer", 3, "embed-0003", "text-embedding-3-small", "", 200,
			provider.Usage{Reported: true, InputTokens: 8}},
		{"an error answer after a blank line", 5, "digest-2026-01-15-0004", "", "invalid_value", 400, provider.Usage{}},
		{"a request that never ran", 6, "digest-2026-01-15-0005", "", "batch_expired", 0, provider.Usage{}},
	}
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d", len(lines), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lines[i]
			if l.Line != tt.line || l.CustomID != tt.customID || l.Model != tt.model || l.ErrorCode != tt.errorCode ||
				l.StatusCode != tt.status || l.Usage != tt.usage {
				t.Errorf("got %+v", l)
			}
			if !strings.HasPrefix(l.ID, "batch_req_") {
				t.Errorf("id %q", l.ID)
			}
			if tt.status > 0 && (!jsonx.Valid(l.Body) || l.RequestID == "") {
				t.Errorf("body %q, request id %q", l.Body, l.RequestID)
			}
			if tt.status == 0 && (l.Body != nil || l.ErrorMessage == "") {
				t.Errorf("a request that never ran has body %q and message %q", l.Body, l.ErrorMessage)
			}
		})
	}
	if got := jsonx.Get(lines[0].Body, "choices.0.message.content").String(); got != "The release adds batch pricing and fixes two leaks." {
		t.Errorf("body of line 1 is not the response body: %q", got)
	}
}

func TestParseResultsKeepsTheGoodLinesAndNamesTheBadOnes(t *testing.T) {
	good := `{"id":"batch_req_1","custom_id":"a","response":{"status_code":200,"body":{"model":"gpt-4o-mini","usage":{"prompt_tokens":3,"completion_tokens":1}}}}`
	tests := []struct {
		name      string
		jsonl     string
		wantLines int
		wantErr   string
	}{
		{"an empty file", "", 0, ""},
		{"only blank lines", "\n\r\n  \n", 0, ""},
		{"no final newline", good, 1, ""},
		{"a truncated line in the middle", good + "\n{\"id\":\"batch_req_2\",\"custom_\n" + good + "\n", 2, "line 2: not a JSON object"},
		{"a line without custom_id", good + "\n{\"id\":\"x\"}\n", 1, "line 2: no custom_id"},
		{"a line that is an array", "[1,2]\n" + good, 1, "line 1: not a JSON object"},
		{"many bad lines are summarised", strings.Repeat("x\n", 15) + good, 1, "5 more malformed lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := batchlane.ParseResults([]byte(tt.jsonl))
			if len(lines) != tt.wantLines {
				t.Errorf("%d lines, want %d", len(lines), tt.wantLines)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			for _, l := range lines {
				if l.Usage.InputTokens != 3 || l.Usage.OutputTokens != 1 {
					t.Errorf("line %d usage %+v", l.Line, l.Usage)
				}
			}
		})
	}
}

func TestAtBatchPriceScalesAndRoundsHalfAwayFromZero(t *testing.T) {
	tests := []struct {
		list    int64
		percent int
		want    int64
	}{
		{410_400_000, 50, 205_200_000},
		{1, 50, 1}, // 0.5 rounds up
		{3, 50, 2},
		{-3, 50, -2},
		{999, 33, 330}, // 329.67
		{101, 1, 1},    // 1.01
		{149, 1, 1},    // 1.49
		{150, 1, 2},    // 1.5
		{math.MaxInt64, 100, math.MaxInt64},
		{math.MaxInt64, 50, math.MaxInt64/2 + 1},
	}
	for _, tt := range tests {
		if got := batchlane.AtBatchPrice(tt.list, tt.percent); got != tt.want {
			t.Errorf("AtBatchPrice(%d, %d) = %d, want %d", tt.list, tt.percent, got, tt.want)
		}
	}
	if got := batchlane.AtBatchPrice(metering.Dollar, 50); got != metering.Dollar/2 {
		t.Errorf("half a dollar is %v", got)
	}
}

// batchCost is how the gateway meters one result line: the catalogue's list price for the
// served model's tokens, scaled to the batch share.
func batchCost(t *testing.T, pricer *metering.Pricer, model string, u provider.Usage, percent int) metering.Money {
	t.Helper()
	at := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	list, ok := pricer.Cost(model, at, metering.TokensOf(u))
	if !ok {
		t.Fatalf("model %q has no price", model)
	}
	return batchlane.AtBatchPrice(list, percent)
}

func defaultPricer(t *testing.T) *metering.Pricer {
	t.Helper()
	cat, err := metering.LoadCatalog(metering.PriceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return metering.NewPricer(cat)
}

func TestBatchResultsArePricedAtHalfTheCatalogueListPrice(t *testing.T) {
	pricer := defaultPricer(t)
	lines, err := batchlane.ParseResults(readOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	percent := batchlane.Config{}.WithDefaults().PricePercent
	// List prices per million tokens (metering/prices/default.yaml): gpt-4o-mini 0.15 in,
	// 0.075 cached, 0.60 out; o3-mini 1.10 in, 4.40 out; text-embedding-3-small 0.02 in.
	want := map[string]string{
		"digest-2026-01-15-0001": "0.0002052",  // (1024×0.15 + 1024×0.075 + 300×0.60)/1e6 / 2
		"digest-2026-01-15-0002": "0.002046",   // (120×1.10 + 900×4.40)/1e6 / 2
		"embed-0003":             "0.00000008", // 8×0.02/1e6 / 2
	}
	var total metering.Money
	for _, l := range lines {
		if !l.Usage.Reported {
			continue // an error answer or a request that never ran: nothing billed
		}
		cost := batchCost(t, pricer, l.Model, l.Usage, percent)
		if cost.String() != want[l.CustomID] {
			t.Errorf("%s costs $%s at batch price, want $%s", l.CustomID, cost, want[l.CustomID])
		}
		total += cost
	}
	if total.String() != "0.00225128" {
		t.Errorf("the file costs $%s at batch price, want $0.00225128", total)
	}
}
