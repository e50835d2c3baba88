package reports

import (
	"fmt"
	"time"
)

// InputError is a bad report parameter; the API answers it with 422.
type InputError struct {
	Field, Rule, Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// Period is a span of whole calendar months in the SOP's time zone:
// [From, To). Reports never cut a month: two requests that differ by a day
// would otherwise publish the difference, which is the cases of that day.
type Period struct {
	From, To time.Time
}

// MaxMonths bounds a report's period.
const MaxMonths = 120

// ParsePeriod reads from and to as YYYY-MM-DD or YYYY-MM (both inclusive)
// and widens them to whole months in loc. Empty from and to give the twelve
// months up to and including the current one.
func ParsePeriod(from, to string, loc *time.Location, now time.Time) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	var p Period
	end := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, 1, 0)
	if to != "" {
		t, err := parseMonth(to, loc)
		if err != nil {
			return p, &InputError{Field: "to", Rule: "date", Message: err.Error()}
		}
		end = t.AddDate(0, 1, 0)
	}
	start := end.AddDate(0, -12, 0)
	if from != "" {
		f, err := parseMonth(from, loc)
		if err != nil {
			return p, &InputError{Field: "from", Rule: "date", Message: err.Error()}
		}
		start = f
	}
	if !start.Before(end) {
		return p, &InputError{Field: "from", Rule: "before_to", Message: "from must not be after to"}
	}
	if start.AddDate(0, MaxMonths, 0).Before(end) {
		return p, &InputError{Field: "to", Rule: "max_span", Message: fmt.Sprintf("a report covers at most %d months", MaxMonths)}
	}
	return Period{From: start, To: end}, nil
}

// parseMonth returns midnight of the first day of the month of s.
func parseMonth(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "2006-01"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			if t.Year() < 2000 || t.Year() > 2200 {
				return time.Time{}, fmt.Errorf("%q is out of range", s)
			}
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD or YYYY-MM)", s)
}

// PeriodJSON is how a report states its period: both days inclusive.
type PeriodJSON struct {
	From     string `json:"from"`
	To       string `json:"to"`
	TimeZone string `json:"time_zone"`
}

func (p Period) json() PeriodJSON {
	return PeriodJSON{From: p.From.Format(time.DateOnly), To: p.To.AddDate(0, 0, -1).Format(time.DateOnly), TimeZone: p.From.Location().String()}
}
