package metering

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dimensions maps the group-by names exports accept to their ledger columns.
var dimensions = map[string][]string{
	"feature":        {"feature"},
	"team":           {"team"},
	"model":          {"requested_model"},
	"served_model":   {"served_model"},
	"provider":       {"provider"},
	"key":            {"api_key"},
	"day":            {"day"},
	"prompt_version": {"prompt_id", "prompt_version"},
	"route":          {"route"},
	"user":           {"user_id"},
	"savings_source": {"savings_source"},
	"cache":          {"cache_outcome"},
	"dialect":        {"dialect"},
}

// columnLabels names ledger columns in export headers.
var columnLabels = map[string]string{"requested_model": "model", "api_key": "key", "user_id": "user", "cache_outcome": "cache"}

// Dimensions returns the group-by names exports accept, sorted.
func Dimensions() []string {
	out := make([]string, 0, len(dimensions))
	for k := range dimensions {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ParseGroupBy parses a comma-separated group-by list ("feature,team,day"), rejecting
// unknown and repeated names. An empty string groups nothing (totals only).
func ParseGroupBy(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if _, ok := dimensions[name]; !ok {
			return nil, fmt.Errorf("unknown group-by %q (want %s)", name, strings.Join(Dimensions(), ", "))
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("group-by %q given twice", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// SpendQuery selects and groups ledger events for an export.
type SpendQuery struct {
	// From and To bound the events' times: From <= Time < To.
	From, To time.Time
	// GroupBy lists dimension names (see Dimensions), in output order.
	GroupBy []string
}

// SpendRow is one group's sums. Money is exact (Amount); token counts are sums.
type SpendRow struct {
	// Group holds the group's column values, in Columns order.
	Group    []string
	Requests int64
	Tokens   Tokens
	// Cost, Counterfactual and Savings are the sums of the events' fields.
	Cost, Counterfactual, Savings Amount
	// CacheHits counts requests served from the gateway cache (hit, semantic, coalesced).
	CacheHits int64
	// Cheaper counts requests the policy routed to a cheaper model than requested
	// (savings source routing with positive savings). Fallbacks (after a 429 or an
	// outage) never count, whatever model served them.
	Cheaper int64
	// Unpriced and Estimated count events flagged unpriced and with estimated usage.
	Unpriced, Estimated int64
}

// CacheHitRate returns CacheHits/Requests as a decimal string with four places,
// rounded half up ("0.1250"); "0.0000" for no requests.
func (r *SpendRow) CacheHitRate() string { return ratio(r.CacheHits, r.Requests) }

// CheaperShare returns Cheaper/Requests like CacheHitRate.
func (r *SpendRow) CheaperShare() string { return ratio(r.Cheaper, r.Requests) }

// CostPerRequest returns Cost/Requests rounded to the picodollar.
func (r *SpendRow) CostPerRequest() Amount { return r.Cost.Div(r.Requests) }

// add accumulates o into r.
func (r *SpendRow) add(o *SpendRow) {
	r.Requests += o.Requests
	r.Tokens.Input += o.Tokens.Input
	r.Tokens.CachedInput += o.Tokens.CachedInput
	r.Tokens.CacheWrite += o.Tokens.CacheWrite
	r.Tokens.Output += o.Tokens.Output
	r.Tokens.Reasoning += o.Tokens.Reasoning
	r.Cost, r.Counterfactual, r.Savings = r.Cost.Add(o.Cost), r.Counterfactual.Add(o.Counterfactual), r.Savings.Add(o.Savings)
	r.CacheHits += o.CacheHits
	r.Cheaper += o.Cheaper
	r.Unpriced += o.Unpriced
	r.Estimated += o.Estimated
}

// ratio formats n/d with four decimals, rounded half up.
func ratio(n, d int64) string {
	if d <= 0 {
		return "0.0000"
	}
	v := (n*20000/d + 1) / 2 // ×10^4, rounded half up
	return strconv.FormatInt(v/10000, 10) + "." + fmt.Sprintf("%04d", v%10000)
}

// SpendReport is a grouped spend export with its totals.
type SpendReport struct {
	From, To time.Time
	GroupBy  []string
	// Columns are the group columns' labels (prompt_version is two: prompt_id, prompt_version).
	Columns []string
	// Rows are sorted by their group values (bytewise, so both databases agree).
	Rows []SpendRow
	// Total sums every row; it equals the sums over the ledger for [From, To) exactly.
	Total SpendRow
}

// Spend runs q against the ledger. Money is summed exactly: each amount is split into
// whole microdollars and the picodollar remainder, both summed as BIGINT (neither can
// overflow at any realistic volume) and recombined without loss.
func (s *SQLStore) Spend(ctx context.Context, q SpendQuery) (*SpendReport, error) {
	if !q.To.After(q.From) {
		return nil, fmt.Errorf("metering: export range: to (%s) must be after from (%s)", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	var cols, labels []string
	for _, g := range q.GroupBy {
		dc, ok := dimensions[g]
		if !ok {
			return nil, fmt.Errorf("metering: unknown group-by %q", g)
		}
		cols = append(cols, dc...)
		for _, c := range dc {
			labels = append(labels, labelOf(c))
		}
	}
	rows, err := s.rdb.QueryContext(ctx, s.d.rebind(spendSQL(cols)), q.From.UnixMicro(), q.To.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("metering: export: %w", err)
	}
	defer rows.Close()
	rep := &SpendReport{From: q.From, To: q.To, GroupBy: q.GroupBy, Columns: labels}
	for rows.Next() {
		r := SpendRow{Group: make([]string, len(cols))}
		var money [6]int64
		dest := make([]any, 0, len(cols)+15)
		for i := range r.Group {
			dest = append(dest, &r.Group[i])
		}
		dest = append(dest, &r.Requests, &r.Tokens.Input, &r.Tokens.CachedInput, &r.Tokens.CacheWrite,
			&r.Tokens.Output, &r.Tokens.Reasoning, &money[0], &money[1], &money[2], &money[3], &money[4], &money[5],
			&r.CacheHits, &r.Cheaper, &r.Unpriced, &r.Estimated)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("metering: export: %w", err)
		}
		if r.Requests == 0 {
			continue // the one row an ungrouped aggregate returns over no events
		}
		r.Cost = amountFromParts(money[0], money[1])
		r.Counterfactual = amountFromParts(money[2], money[3])
		r.Savings = amountFromParts(money[4], money[5])
		rep.Rows = append(rep.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metering: export: %w", err)
	}
	slices.SortFunc(rep.Rows, func(a, b SpendRow) int { return slices.Compare(a.Group, b.Group) })
	for i := range rep.Rows {
		rep.Total.add(&rep.Rows[i])
	}
	return rep, nil
}

func labelOf(col string) string {
	if l, ok := columnLabels[col]; ok {
		return l
	}
	return col
}

// spendSQL builds the grouped aggregate over [?, ?) for the given group columns.
func spendSQL(cols []string) string {
	sum := func(expr string) string { return "CAST(COALESCE(SUM(" + expr + "), 0) AS BIGINT)" }
	var sel []string
	sel = append(sel, cols...)
	sel = append(sel, "COUNT(*)",
		sum("input_tokens"), sum("cached_input_tokens"), sum("cache_write_tokens"),
		sum("output_tokens"), sum("reasoning_tokens"),
		sum("cost_pusd / 1000000"), sum("cost_pusd % 1000000"),
		sum("counterfactual_pusd / 1000000"), sum("counterfactual_pusd % 1000000"),
		sum("savings_pusd / 1000000"), sum("savings_pusd % 1000000"),
		sum("CASE WHEN cache_outcome IN ('hit', 'semantic', 'coalesced') THEN 1 ELSE 0 END"),
		sum("CASE WHEN savings_source = 'routing' AND savings_pusd > 0 THEN 1 ELSE 0 END"),
		sum("unpriced"),
		sum("CASE WHEN usage_source = 'estimated' THEN 1 ELSE 0 END"),
	)
	q := "SELECT " + strings.Join(sel, ", ") + " FROM cost_events WHERE ts_us >= ? AND ts_us < ?"
	if len(cols) > 0 {
		q += " GROUP BY " + strings.Join(cols, ", ")
	}
	return q
}
