package metering

import (
	"errors"
	"fmt"
	"time"
)

// Periods are the named export periods, in UTC: today, yesterday, this-month (the
// default) and last-month.
var Periods = []string{"today", "yesterday", "this-month", "last-month"}

// DefaultPeriod is the period an export covers when it names none: the current month.
const DefaultPeriod = "this-month"

// period returns the half-open range [from, to) of a named period, for the UTC day of now.
func period(name string, now time.Time) (from, to time.Time, err error) {
	today := utcDay(now)
	month := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	switch name {
	case "today":
		return today, today.AddDate(0, 0, 1), nil
	case "yesterday":
		return today.AddDate(0, 0, -1), today, nil
	case "this-month":
		return month, month.AddDate(0, 1, 0), nil
	case "last-month":
		return month.AddDate(0, -1, 0), month, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("period %q: want today, yesterday, this-month or last-month", name)
}

// parseDay reads an export bound: YYYY-MM-DD, today or yesterday (UTC days of now).
func parseDay(s string, now time.Time) (time.Time, error) {
	switch s {
	case "today":
		return utcDay(now), nil
	case "yesterday":
		return utcDay(now).AddDate(0, 0, -1), nil
	}
	return time.Parse(time.DateOnly, s)
}

func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// exportRange resolves an export's range from r: a named period, or from and to (to
// defaults to tomorrow, so --from alone runs through today), or the default period when
// neither is given.
func (r ExportRequest) exportRange(now time.Time) (from, to time.Time, err error) {
	switch {
	case r.Period != "" && (r.From != "" || r.To != ""):
		return from, to, errors.New("period: give a period or from and to, not both")
	case r.Period != "":
		return period(r.Period, now)
	case r.From == "" && r.To == "":
		return period(DefaultPeriod, now)
	case r.From == "":
		return from, to, fmt.Errorf("from: required with to %q", r.To)
	}
	if from, err = parseDay(r.From, now); err != nil {
		return from, to, fmt.Errorf("from %q: want YYYY-MM-DD, today or yesterday", r.From)
	}
	if r.To == "" {
		return from, utcDay(now).AddDate(0, 0, 1), nil
	}
	if to, err = parseDay(r.To, now); err != nil {
		return from, to, fmt.Errorf("to %q: want YYYY-MM-DD, today or yesterday", r.To)
	}
	return from, to, nil
}
