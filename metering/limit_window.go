package metering

import "time"

// LimitKind names one of the four limits a rule can set.
type LimitKind uint8

const (
	// LimitRPM counts requests per UTC minute.
	LimitRPM LimitKind = iota
	// LimitTPM counts tokens per UTC minute.
	LimitTPM
	// LimitDailySpend counts Money (picodollars) per UTC calendar day.
	LimitDailySpend
	// LimitMonthlySpend counts Money (picodollars) per UTC calendar month.
	LimitMonthlySpend

	numKinds = 4
)

// maxCounters is the most counters one request touches: a rule per scope, four limits each.
const maxCounters = numScopes * numKinds

// String returns the kind's config name: rpm, tpm, daily_spend or monthly_spend.
func (k LimitKind) String() string {
	switch k {
	case LimitRPM:
		return "rpm"
	case LimitTPM:
		return "tpm"
	case LimitDailySpend:
		return "daily_spend"
	case LimitMonthlySpend:
		return "monthly_spend"
	}
	return "unknown"
}

// describe is the kind in words, for error messages.
func (k LimitKind) describe() string {
	switch k {
	case LimitRPM:
		return "requests per minute"
	case LimitTPM:
		return "tokens per minute"
	case LimitDailySpend:
		return "daily spend"
	case LimitMonthlySpend:
		return "monthly spend"
	}
	return "unknown limit"
}

// isMoney reports whether the kind counts Money.
func (k LimitKind) isMoney() bool { return k == LimitDailySpend || k == LimitMonthlySpend }

// window is a fixed counting window [start, end) in Unix seconds, aligned to UTC.
type window struct{ start, end int64 }

// windows are the current windows of every kind at one instant.
type windows [numKinds]window

// windowsAt returns the windows that contain t: its UTC minute (RPM and TPM), day and
// calendar month.
func windowsAt(t time.Time) windows {
	t = t.UTC()
	sec := t.Unix()
	minute := window{start: sec - mod(sec, 60)}
	minute.end = minute.start + 60
	y, m, d := t.Date()
	day0 := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	month0 := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return windows{
		LimitRPM:          minute,
		LimitTPM:          minute,
		LimitDailySpend:   {start: day0.Unix(), end: day0.AddDate(0, 0, 1).Unix()},
		LimitMonthlySpend: {start: month0.Unix(), end: month0.AddDate(0, 1, 0).Unix()},
	}
}

// mod is the non-negative remainder of a / b (b > 0), so times before 1970 align too.
func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// until is the time from t to the end of w, never negative.
func (w window) until(t time.Time) time.Duration {
	d := time.Unix(w.end, 0).Sub(t)
	if d < 0 {
		return 0
	}
	return d
}
