package metering

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// spendColumns are the measure columns of a spend export, after the group columns.
var spendColumns = []string{
	"requests", "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
	"reasoning_tokens", "cost_usd", "counterfactual_usd", "savings_usd", "cache_hit_rate",
	"cost_per_request_usd", "unpriced_requests", "estimated_requests",
}

// WriteCSV writes the report as CSV: a header, one line per group and a totals line.
// The first column, "row", says which ("group" or "total"), so a group that happens to be
// named "TOTAL" cannot be mistaken for the totals. Money is dollars with up to twelve
// decimals, exact; rates have four decimals.
//
// Text cells (group values, which come from client-controlled attribution such as
// feature and team headers) are guarded against spreadsheet formula injection: a cell
// starting with = + - @ tab or carriage return is prefixed with a single quote. Numeric
// cells are produced by us and are left as numbers, so a negative saving stays a number.
func (rep *SpendReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := append(append([]string{"row"}, rep.Columns...), spendColumns...)
	if err := cw.Write(header); err != nil {
		return err
	}
	line := make([]string, 0, len(header))
	for i := range rep.Rows {
		line = spendCSVLine(line[:0], "group", rep.Rows[i].Group, &rep.Rows[i])
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	blank := make([]string, len(rep.Columns))
	if err := cw.Write(spendCSVLine(line[:0], "total", blank, &rep.Total)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func spendCSVLine(dst []string, kind string, group []string, r *SpendRow) []string {
	dst = append(dst, kind)
	for _, g := range group {
		dst = append(dst, CSVSafe(g))
	}
	return append(dst,
		itoa(r.Requests), itoa(r.Tokens.Input), itoa(r.Tokens.CachedInput), itoa(r.Tokens.CacheWrite),
		itoa(r.Tokens.Output), itoa(r.Tokens.Reasoning), r.Cost.String(), r.Counterfactual.String(),
		r.Savings.String(), r.CacheHitRate(), r.CostPerRequest().String(), itoa(r.Unpriced), itoa(r.Estimated),
	)
}

// CSVSafe guards a text cell against spreadsheet formula injection: a value starting
// with = + - @ tab or carriage return gets a leading single quote, which spreadsheets
// show as text and never evaluate (the OWASP recommendation).
func CSVSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// spendJSON is the JSON shape of a spend export.
type spendJSON struct {
	From    string          `json:"from"`
	To      string          `json:"to"`
	GroupBy []string        `json:"group_by"`
	Rows    []spendRowJSON  `json:"rows"`
	Total   spendTotalsJSON `json:"total"`
}

type spendRowJSON struct {
	Group map[string]string `json:"group"`
	spendTotalsJSON
}

type spendTotalsJSON struct {
	Requests          int64  `json:"requests"`
	InputTokens       int64  `json:"input_tokens"`
	CachedInputTokens int64  `json:"cached_input_tokens"`
	CacheWriteTokens  int64  `json:"cache_write_tokens"`
	OutputTokens      int64  `json:"output_tokens"`
	ReasoningTokens   int64  `json:"reasoning_tokens"`
	CostUSD           Amount `json:"cost_usd"`
	CounterfactualUSD Amount `json:"counterfactual_usd"`
	SavingsUSD        Amount `json:"savings_usd"`
	CacheHitRate      string `json:"cache_hit_rate"`
	CostPerRequestUSD Amount `json:"cost_per_request_usd"`
	UnpricedRequests  int64  `json:"unpriced_requests"`
	EstimatedRequests int64  `json:"estimated_requests"`
}

func totalsJSON(r *SpendRow) spendTotalsJSON {
	return spendTotalsJSON{
		Requests: r.Requests, InputTokens: r.Tokens.Input, CachedInputTokens: r.Tokens.CachedInput,
		CacheWriteTokens: r.Tokens.CacheWrite, OutputTokens: r.Tokens.Output, ReasoningTokens: r.Tokens.Reasoning,
		CostUSD: r.Cost, CounterfactualUSD: r.Counterfactual, SavingsUSD: r.Savings,
		CacheHitRate: r.CacheHitRate(), CostPerRequestUSD: r.CostPerRequest(),
		UnpricedRequests: r.Unpriced, EstimatedRequests: r.Estimated,
	}
}

// WriteJSON writes the report as one JSON object: from, to (RFC 3339, UTC), group_by, rows
// (each with its group as an object keyed by column) and total. Money fields are decimal
// strings of dollars, exact; JSON numbers would be read as floats.
func (rep *SpendReport) WriteJSON(w io.Writer) error {
	out := spendJSON{
		From: rep.From.UTC().Format(time.RFC3339), To: rep.To.UTC().Format(time.RFC3339),
		GroupBy: rep.GroupBy, Rows: make([]spendRowJSON, 0, len(rep.Rows)), Total: totalsJSON(&rep.Total),
	}
	if out.GroupBy == nil {
		out.GroupBy = []string{}
	}
	for i := range rep.Rows {
		g := make(map[string]string, len(rep.Columns))
		for j, c := range rep.Columns {
			g[c] = rep.Rows[i].Group[j]
		}
		out.Rows = append(out.Rows, spendRowJSON{Group: g, spendTotalsJSON: totalsJSON(&rep.Rows[i])})
	}
	return writeJSON(w, out)
}

// writeJSON encodes v with the project's JSON facade, followed by a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := jsonx.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
