package metering

import "fmt"

// limitRule is a compiled LimitConfig.
type limitRule struct {
	mode       modeCode
	failClosed bool
	max        [numKinds]int64 // 0: that limit is off
}

// limitRules is an immutable compiled rule set: per scope, the rules naming one value
// and the "*" rule.
type limitRules struct {
	exact [numScopes]map[string]*limitRule
	any   [numScopes]*limitRule
	cfgs  []LimitConfig // the rules as configured, defaults applied, for Usage
}

// compileLimits applies defaults to a copy of each rule, validates them all and builds
// the lookup tables.
func compileLimits(cfgs []LimitConfig) (*limitRules, error) {
	cfgs = append([]LimitConfig(nil), cfgs...)
	for i := range cfgs {
		cfgs[i].Defaults()
	}
	if err := ValidateLimits(cfgs); err != nil {
		return nil, err
	}
	rs := &limitRules{cfgs: cfgs}
	for _, c := range cfgs {
		r := &limitRule{mode: c.Mode.code(), failClosed: c.OnRedisError == FailClosed}
		r.max[LimitRPM], r.max[LimitTPM] = c.RPM, c.TPM
		for k, s := range map[LimitKind]string{LimitDailySpend: c.DailySpend, LimitMonthlySpend: c.MonthlySpend} {
			if s == "" {
				continue
			}
			m, err := ParseUSD(s)
			if err != nil { // unreachable after ValidateLimits
				return nil, fmt.Errorf("limit %s=%s: %w", c.Scope, c.Match, err)
			}
			r.max[k] = int64(m)
		}
		si := c.Scope.index()
		if c.Match == "*" {
			rs.any[si] = r
			continue
		}
		if rs.exact[si] == nil {
			rs.exact[si] = make(map[string]*limitRule)
		}
		rs.exact[si][c.Match] = r
	}
	return rs, nil
}

// match returns the rule for value v of scope si: the one naming v, else "*", else nil.
func (rs *limitRules) match(si int, v string) *limitRule {
	if r, ok := rs.exact[si][v]; ok {
		return r
	}
	return rs.any[si]
}

// ops appends to dst one counterOp per limit that applies to req, in scope order (key,
// team, feature) and kind order within a scope; a scope whose value is empty is skipped.
// Amounts are the request's estimates, negative ones counted as zero.
func (rs *limitRules) ops(dst []counterOp, req *ReserveRequest, w *windows) []counterOp {
	values := [numScopes]string{req.Key, req.Team, req.Feature}
	amounts := [numKinds]int64{1, max(req.EstimatedTokens, 0), max(int64(req.EstimatedCost), 0), max(int64(req.EstimatedCost), 0)}
	for si, v := range values {
		if v == "" {
			continue
		}
		r := rs.match(si, v)
		if r == nil {
			continue
		}
		for k := range LimitKind(numKinds) {
			if r.max[k] <= 0 {
				continue
			}
			dst = append(dst, counterOp{
				scope: uint8(si), kind: k, mode: r.mode, failClosed: r.failClosed,
				value: v, win: w[k], max: r.max[k], amount: amounts[k],
			})
		}
	}
	return dst
}

// count returns how many counters req touches, to size the ops slice exactly.
func (rs *limitRules) count(req *ReserveRequest) int {
	n := 0
	for si, v := range [numScopes]string{req.Key, req.Team, req.Feature} {
		if v == "" {
			continue
		}
		if r := rs.match(si, v); r != nil {
			for _, m := range r.max {
				if m > 0 {
					n++
				}
			}
		}
	}
	return n
}
