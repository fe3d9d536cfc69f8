package metering

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestLimitConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    LimitConfig
		want string // a substring of the error; "" for valid
	}{
		{"a per-key rpm rule is valid", LimitConfig{Scope: ScopeKey, RPM: 60}, ""},
		{"a named team with every limit is valid", LimitConfig{Scope: ScopeTeam, Match: "research", RPM: 1, TPM: 2, DailySpend: "25", MonthlySpend: "500.000000000001", Mode: ModeShadow, OnRedisError: FailClosed}, ""},
		{"an unknown scope is rejected", LimitConfig{Scope: "user", RPM: 1}, `scope "user": want key, team or feature`},
		{"an unknown mode is rejected", LimitConfig{Scope: ScopeKey, RPM: 1, Mode: "strict"}, `mode "strict"`},
		{"an unknown failure policy is rejected", LimitConfig{Scope: ScopeKey, RPM: 1, OnRedisError: "retry"}, `on_redis_error "retry"`},
		{"a negative rpm is rejected", LimitConfig{Scope: ScopeKey, RPM: -1}, "rpm -1"},
		{"a negative tpm is rejected", LimitConfig{Scope: ScopeKey, TPM: -5}, "tpm -5"},
		{"a rule with no limit is rejected", LimitConfig{Scope: ScopeKey}, "no limit set"},
		{"spend in exponent form is rejected", LimitConfig{Scope: ScopeKey, DailySpend: "1e3"}, "daily_spend"},
		{"spend finer than a picodollar is rejected", LimitConfig{Scope: ScopeKey, MonthlySpend: "0.0000000000001"}, "monthly_spend"},
		{"a zero spend limit is rejected rather than read as off", LimitConfig{Scope: ScopeKey, DailySpend: "0.00"}, "want more than 0"},
		{"a negative spend limit is rejected", LimitConfig{Scope: ScopeKey, DailySpend: "-5"}, "want more than 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Defaults()
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLimitConfigDefaults(t *testing.T) {
	c := LimitConfig{Scope: ScopeKey, RPM: 1}
	c.Defaults()
	if c.Match != "*" || c.Mode != ModeHard || c.OnRedisError != FailOpen {
		t.Errorf("defaults = %q %q %q, want * hard fail_open", c.Match, c.Mode, c.OnRedisError)
	}
}

func TestValidateLimitsRejectsTwoRulesForOneScopeValue(t *testing.T) {
	rules := []LimitConfig{
		{Scope: ScopeTeam, Match: "a", RPM: 1},
		{Scope: ScopeTeam, Match: "*", RPM: 1},
		{Scope: ScopeKey, Match: "a", RPM: 1},
		{Scope: ScopeTeam, Match: "a", TPM: 1},
	}
	for i := range rules {
		rules[i].Defaults()
	}
	err := ValidateLimits(rules)
	if err == nil || !strings.Contains(err.Error(), "limits[3]: team=a repeats limits[0]") {
		t.Fatalf("ValidateLimits = %v", err)
	}
	if strings.Contains(err.Error(), "limits[2]") {
		t.Errorf("the same match in another scope was rejected: %v", err)
	}
}

func TestLimitConfigDecodesFromYAML(t *testing.T) {
	doc := `
- scope: team
  match: research
  rpm: 600
  tpm: 200000
  daily_spend: "25.50"
  monthly_spend: "$400"
  mode: soft
  on_redis_error: fail_closed
`
	var got []LimitConfig
	if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := LimitConfig{Scope: ScopeTeam, Match: "research", RPM: 600, TPM: 200000, DailySpend: "25.50", MonthlySpend: "$400", Mode: ModeSoft, OnRedisError: FailClosed}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	rs, err := compileLimits(got)
	if err != nil {
		t.Fatal(err)
	}
	r := rs.match(ScopeTeam.index(), "research")
	if r.max[LimitDailySpend] != int64(25*Dollar+Dollar/2) || r.max[LimitMonthlySpend] != int64(400*Dollar) {
		t.Errorf("spend limits = %d, %d picodollars", r.max[LimitDailySpend], r.max[LimitMonthlySpend])
	}
}

func TestLimitWindowsAlignToUTC(t *testing.T) {
	tests := []struct {
		name             string
		at               time.Time
		minute, day, mon [2]string // start, end in RFC 3339
	}{
		{"mid-month", time.Date(2030, 1, 15, 12, 0, 10, 0, time.UTC),
			[2]string{"2030-01-15T12:00:00Z", "2030-01-15T12:01:00Z"}, [2]string{"2030-01-15T00:00:00Z", "2030-01-16T00:00:00Z"}, [2]string{"2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z"}},
		{"the last second of a year", time.Date(2030, 12, 31, 23, 59, 59, 999, time.UTC),
			[2]string{"2030-12-31T23:59:00Z", "2031-01-01T00:00:00Z"}, [2]string{"2030-12-31T00:00:00Z", "2031-01-01T00:00:00Z"}, [2]string{"2030-12-01T00:00:00Z", "2031-01-01T00:00:00Z"}},
		{"a leap February", time.Date(2032, 2, 29, 8, 0, 0, 0, time.UTC),
			[2]string{"2032-02-29T08:00:00Z", "2032-02-29T08:01:00Z"}, [2]string{"2032-02-29T00:00:00Z", "2032-03-01T00:00:00Z"}, [2]string{"2032-02-01T00:00:00Z", "2032-03-01T00:00:00Z"}},
		{"a time in another zone counts in UTC", time.Date(2030, 1, 1, 1, 30, 0, 0, time.FixedZone("CET", 3600)),
			[2]string{"2030-01-01T00:30:00Z", "2030-01-01T00:31:00Z"}, [2]string{"2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z"}, [2]string{"2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z"}},
	}
	f := func(w window) [2]string {
		return [2]string{time.Unix(w.start, 0).UTC().Format(time.RFC3339), time.Unix(w.end, 0).UTC().Format(time.RFC3339)}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := windowsAt(tc.at)
			if f(w[LimitRPM]) != tc.minute || f(w[LimitTPM]) != tc.minute || f(w[LimitDailySpend]) != tc.day || f(w[LimitMonthlySpend]) != tc.mon {
				t.Errorf("windows = %v %v %v, want %v %v %v", f(w[LimitRPM]), f(w[LimitDailySpend]), f(w[LimitMonthlySpend]), tc.minute, tc.day, tc.mon)
			}
		})
	}
}
