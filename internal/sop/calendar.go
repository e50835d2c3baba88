package sop

import (
	"time"
	_ "time/tzdata" // SOP time zones load on machines and containers without tzdata
)

// DateLayout is the layout of the dates of an SOP file (effective_from, holidays).
const DateLayout = "2006-01-02"

// Calendar is the SOP's calendar: its time zone, weekly days off and public
// holidays. Deadlines and working days are computed in it.
type Calendar struct {
	Location *time.Location        // the SOP's time zone; nil means UTC
	Weekend  map[time.Weekday]bool // weekly days off
	Holidays map[string]bool       // public holidays as "2006-01-02" dates in Location
}

func (c *Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// IsWorkingDay reports whether t falls, in the calendar's time zone, on a day
// that is neither a weekend day nor a public holiday.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	t = t.In(c.loc())
	return c.isWorkingDate(t.Year(), t.Month(), t.Day())
}

func (c *Calendar) isWorkingDate(y int, m time.Month, d int) bool {
	day := time.Date(y, m, d, 12, 0, 0, 0, c.loc())
	if c.Weekend[day.Weekday()] {
		return false
	}
	return !c.Holidays[day.Format(DateLayout)]
}

// Deadline returns the instant at which a period of d that starts at start
// ends. An act done before that instant is in time; at that instant and
// after it the period has expired.
//
//   - Seconds and hours are elapsed time: start + d.
//   - Days are calendar days: the same wall-clock time N days later in the
//     calendar's time zone (time.AddDate), so "1d" is 23 or 25 hours across a
//     daylight-saving change and always "same time tomorrow".
//   - Working days follow the rule of civil procedure for periods counted in
//     days: the period begins on the day after the start's calendar date in
//     the SOP time zone (the day of the start event is never counted, whether
//     or not it is a working day), it counts the next N working days (days
//     that are neither weekend days nor holidays), and it ends at the end
//     (24:00) of the Nth working day. Deadline returns that end as 00:00 of
//     the following calendar day in the SOP time zone. So "5wd" from Monday
//     10:00 in a week without holidays ends when the next Monday ends
//     (Tuesday 00:00), and from Saturday 10:00 when Friday ends (Saturday
//     00:00).
//
// The zero Duration yields start.
func (c *Calendar) Deadline(start time.Time, d Duration) time.Time {
	loc := c.loc()
	switch d.Unit {
	case Seconds:
		return start.Add(time.Duration(d.N) * time.Second)
	case Hours:
		return start.Add(time.Duration(d.N) * time.Hour)
	case Days:
		return start.In(loc).AddDate(0, 0, d.N)
	case WorkingDays:
		if d.N <= 0 {
			return start
		}
		s := start.In(loc)
		y, m, day := s.Date()
		counted := 0
		// A calendar with every day off would never end the period: give up
		// after many years of days without a working day (Parse rejects such
		// calendars, so this only guards hand-built ones).
		for i, idle := 1, 0; ; i++ {
			if c.isWorkingDate(y, m, day+i) {
				counted++
				idle = 0
				if counted == d.N {
					return time.Date(y, m, day+i+1, 0, 0, 0, 0, loc)
				}
			} else if idle++; idle > 3660 {
				return time.Date(y, m, day+i+1, 0, 0, 0, 0, loc)
			}
		}
	}
	return start
}
