package metering

import (
	"errors"
	"fmt"
)

// Scope names the request attribute a limit counts by. A request carries all three.
type Scope string

// The scopes, in the fixed order the limiter evaluates them.
const (
	ScopeKey     Scope = "key"
	ScopeTeam    Scope = "team"
	ScopeFeature Scope = "feature"
)

var scopes = [numScopes]Scope{ScopeKey, ScopeTeam, ScopeFeature}

const numScopes = 3

func (s Scope) index() int {
	switch s {
	case ScopeKey:
		return 0
	case ScopeTeam:
		return 1
	case ScopeFeature:
		return 2
	}
	return -1
}

// Mode says what happens when a limit is reached.
type Mode string

const (
	// ModeHard denies the request with a *LimitError (HTTP 429 with Retry-After).
	ModeHard Mode = "hard"
	// ModeSoft admits the request and reports the breach (log and count). Soft counters
	// count every admitted request, so they show real usage beyond the limit.
	ModeSoft Mode = "soft"
	// ModeShadow admits the request and reports that a hard limit would have denied it.
	// Shadow counters count only what a hard limit would have admitted, so the report
	// is what enforcing the limit would do (not counting client retries it would cause).
	ModeShadow Mode = "shadow"
)

// modeCode is a Mode as one byte, for the counters' hot path.
type modeCode uint8

const (
	codeHard modeCode = iota
	codeSoft
	codeShadow
)

var modeNames = [...]Mode{codeHard: ModeHard, codeSoft: ModeSoft, codeShadow: ModeShadow}

// code returns m's modeCode; m must be valid.
func (m Mode) code() modeCode {
	switch m {
	case ModeSoft:
		return codeSoft
	case ModeShadow:
		return codeShadow
	}
	return codeHard
}

// FailurePolicy says what a hard limit does when its store (Redis) cannot be reached.
type FailurePolicy string

const (
	// FailOpen admits the request and reports the store error on the Reservation.
	FailOpen FailurePolicy = "fail_open"
	// FailClosed denies the request with an error wrapping ErrLimitsUnavailable.
	FailClosed FailurePolicy = "fail_closed"
)

// LimitConfig is one limit rule: the limits that apply to each distinct value of one
// scope (Match "*") or to one value. For a given scope, a rule naming the value wins over
// the "*" rule; at most one rule per (scope, match). Zero or empty limits are off; a rule
// needs at least one. Windows are fixed and aligned to UTC: minutes for RPM and TPM,
// calendar days and months for spend (see docs/limits.md).
type LimitConfig struct {
	// Scope is what the rule counts by: key, team or feature. Required.
	Scope Scope `yaml:"scope"`
	// Match is the scope value the rule applies to (a key name, team or feature), or "*"
	// for every value, each counted separately. Default "*".
	Match string `yaml:"match"`
	// RPM is the most requests admitted per UTC minute. Default 0 (no limit).
	RPM int64 `yaml:"rpm"`
	// TPM is the most tokens (estimated at admission, corrected to actual at settlement)
	// per UTC minute. Default 0 (no limit).
	TPM int64 `yaml:"tpm"`
	// DailySpend is the most spend per UTC calendar day, in US dollars as a decimal
	// string with at most 12 decimals ("25", "0.50"), parsed exactly to Money
	// (picodollars). Default "" (no limit).
	DailySpend string `yaml:"daily_spend"`
	// MonthlySpend is the most spend per UTC calendar month, in US dollars like
	// DailySpend. Default "" (no limit).
	MonthlySpend string `yaml:"monthly_spend"`
	// Mode is hard (deny with 429), soft (admit, log and count) or shadow (admit, report
	// what hard would have denied). Default hard.
	Mode Mode `yaml:"mode"`
	// OnRedisError is what a hard rule does when the shared store (Redis) fails or times
	// out: fail_open admits, fail_closed denies. Soft and shadow rules always admit.
	// The in-memory store never fails. Default fail_open.
	OnRedisError FailurePolicy `yaml:"on_redis_error"`
}

// Defaults fills the zero fields with their defaults. It is the only place they live.
func (c *LimitConfig) Defaults() {
	if c.Match == "" {
		c.Match = "*"
	}
	if c.Mode == "" {
		c.Mode = ModeHard
	}
	if c.OnRedisError == "" {
		c.OnRedisError = FailOpen
	}
}

// Validate reports every problem in c, which must have had Defaults applied.
func (c LimitConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Scope.index() < 0 {
		add("scope %q: want key, team or feature", c.Scope)
	}
	if c.Match == "" {
		add("match is empty: want a %s or \"*\"", c.Scope)
	}
	switch c.Mode {
	case ModeHard, ModeSoft, ModeShadow:
	default:
		add("mode %q: want hard, soft or shadow", c.Mode)
	}
	switch c.OnRedisError {
	case FailOpen, FailClosed:
	default:
		add("on_redis_error %q: want fail_open or fail_closed", c.OnRedisError)
	}
	if c.RPM < 0 {
		add("rpm %d: want 0 (off) or more", c.RPM)
	}
	if c.TPM < 0 {
		add("tpm %d: want 0 (off) or more", c.TPM)
	}
	for _, f := range []struct{ name, v string }{{"daily_spend", c.DailySpend}, {"monthly_spend", c.MonthlySpend}} {
		if f.v == "" {
			continue
		}
		if m, err := ParseUSD(f.v); err != nil {
			add("%s: %w", f.name, err)
		} else if m <= 0 {
			add("%s %q: want more than 0 (leave it empty for no limit)", f.name, f.v)
		}
	}
	if c.RPM == 0 && c.TPM == 0 && c.DailySpend == "" && c.MonthlySpend == "" {
		add("no limit set: want at least one of rpm, tpm, daily_spend, monthly_spend")
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("limit %s=%s: %w", c.Scope, c.Match, errors.Join(errs...))
}

// ValidateLimits validates every rule (Defaults applied) and that no two rules share a
// scope and match.
func ValidateLimits(rules []LimitConfig) error {
	var errs []error
	seen := make(map[[2]string]int, len(rules))
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("limits[%d]: %w", i, err))
		}
		k := [2]string{string(r.Scope), r.Match}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("limits[%d]: %s=%s repeats limits[%d]", i, r.Scope, r.Match, j))
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}
