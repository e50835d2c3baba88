package sop

import (
	"testing"
	"time"
)

func ashgabat(t *testing.T) *Calendar {
	t.Helper()
	s, err := LoadFile("../../sop/tm-nrm-2026.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &s.Calendar
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDeadlineAshgabat(t *testing.T) {
	cal := ashgabat(t)
	tm := cal.Location
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, tm) }
	cases := []struct {
		name  string
		start time.Time
		d     string
		want  time.Time
	}{
		{"seconds", at(2026, 1, 5, 10, 0), "90s", at(2026, 1, 5, 10, 1).Add(30 * time.Second)},
		{"hours across midnight and weekend", at(2026, 1, 9, 22, 0), "4h", at(2026, 1, 10, 2, 0)},
		{"calendar days keep the time of day", at(2026, 1, 5, 10, 0), "30d", at(2026, 2, 4, 10, 0)},
		{"calendar days across the year end", at(2026, 12, 15, 9, 30), "30d", at(2027, 1, 14, 9, 30)},
		// Monday 5 Jan 2026: Tue, Wed, Thu, Fri, Mon -> ends with Monday 12 Jan.
		{"5wd from a Monday", at(2026, 1, 5, 10, 0), "5wd", at(2026, 1, 13, 0, 0)},
		{"5wd from a Monday just before midnight", at(2026, 1, 5, 23, 59), "5wd", at(2026, 1, 13, 0, 0)},
		{"5wd from a Monday at midnight", at(2026, 1, 5, 0, 0), "5wd", at(2026, 1, 13, 0, 0)},
		{"1wd from a Friday", at(2026, 1, 9, 16, 0), "1wd", at(2026, 1, 13, 0, 0)},
		// Saturday: the count starts on Sunday, the first working day is Monday.
		{"5wd from a Saturday", at(2026, 1, 10, 10, 0), "5wd", at(2026, 1, 17, 0, 0)},
		{"5wd from a Sunday", at(2026, 1, 11, 23, 0), "5wd", at(2026, 1, 17, 0, 0)},
		// 1 Jan 2026 (Thursday) is a holiday: the count starts on Friday 2 Jan.
		{"1wd from a holiday", at(2026, 1, 1, 15, 0), "1wd", at(2026, 1, 3, 0, 0)},
		{"3wd from a holiday", at(2026, 1, 1, 15, 0), "3wd", at(2026, 1, 7, 0, 0)},
		// Thu 19 Mar 2026: Fri 20 Oraza, Sat 21 and Sun 22 Nowruz and weekend.
		{"3wd over Oraza and Nowruz", at(2026, 3, 19, 9, 0), "3wd", at(2026, 3, 26, 0, 0)},
		// Thu 31 Dec 2026: Fri 1 Jan 2027 is New Year, then the weekend.
		{"2wd over the year end", at(2026, 12, 31, 12, 0), "2wd", at(2027, 1, 6, 0, 0)},
		{"10wd over the year end", at(2026, 12, 24, 12, 0), "10wd", at(2027, 1, 9, 0, 0)},
		// 20:30 UTC on Friday is 01:30 on Saturday in Ashgabat (UTC+5): the
		// count starts on Sunday in the SOP's time zone.
		{"start given in UTC", time.Date(2026, 1, 9, 20, 30, 0, 0, time.UTC), "1wd", at(2026, 1, 13, 0, 0)},
		{"zero duration", at(2026, 1, 5, 10, 0), "", at(2026, 1, 5, 10, 0)},
	}
	for _, c := range cases {
		var d Duration
		if c.d != "" {
			d = MustParseDuration(c.d)
		}
		got := cal.Deadline(c.start, d)
		if !got.Equal(c.want) {
			t.Errorf("%s: Deadline(%s, %s) = %s, want %s", c.name, c.start, c.d, got.In(tm), c.want)
		}
	}
}

func TestDeadlineWorkingDaysEndsAtLocalMidnight(t *testing.T) {
	cal := ashgabat(t)
	got := cal.Deadline(time.Date(2026, 6, 3, 11, 0, 0, 0, cal.Location), MustParseDuration("2wd"))
	if l := got.In(cal.Location); l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 || l.Nanosecond() != 0 {
		t.Errorf("working-day deadline %s is not a local midnight", l)
	}
	if got.Location() != cal.Location {
		t.Errorf("deadline location = %s, want the SOP time zone", got.Location())
	}
}

func TestDeadlineDST(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	cal := &Calendar{Location: berlin, Weekend: map[time.Weekday]bool{time.Saturday: true, time.Sunday: true},
		Holidays: map[string]bool{"2026-04-03": true, "2026-04-06": true}} // Good Friday, Easter Monday
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, berlin) }
	cases := []struct {
		name  string
		start time.Time
		d     string
		want  time.Time
		hours float64 // elapsed hours, 0 = not checked
	}{
		// Clocks go forward at 02:00 on Sunday 29 March 2026.
		{"1d across spring forward is 23h", at(2026, 3, 28, 12), "1d", at(2026, 3, 29, 12), 23},
		{"24h across spring forward", at(2026, 3, 28, 12), "24h", at(2026, 3, 29, 13), 24},
		// Clocks go back at 03:00 on Sunday 25 October 2026.
		{"1d across fall back is 25h", at(2026, 10, 24, 12), "1d", at(2026, 10, 25, 12), 25},
		{"1wd from Friday before spring forward", at(2026, 3, 27, 10), "1wd", at(2026, 3, 31, 0), 0},
		// Thu 2 April: Good Friday, weekend and Easter Monday are skipped.
		{"2wd over Easter", at(2026, 4, 2, 10), "2wd", at(2026, 4, 9, 0), 0},
	}
	for _, c := range cases {
		got := cal.Deadline(c.start, MustParseDuration(c.d))
		if !got.Equal(c.want) {
			t.Errorf("%s: Deadline = %s, want %s", c.name, got, c.want)
		}
		if c.hours != 0 && got.Sub(c.start).Hours() != c.hours {
			t.Errorf("%s: elapsed %v, want %vh", c.name, got.Sub(c.start), c.hours)
		}
	}
}

func TestIsWorkingDay(t *testing.T) {
	cal := ashgabat(t)
	tm := cal.Location
	cases := []struct {
		t    time.Time
		want bool
	}{
		{time.Date(2026, 1, 5, 9, 0, 0, 0, tm), true},           // Monday
		{time.Date(2026, 1, 10, 9, 0, 0, 0, tm), false},         // Saturday
		{time.Date(2026, 1, 11, 9, 0, 0, 0, tm), false},         // Sunday
		{time.Date(2026, 1, 1, 0, 30, 0, 0, tm), false},         // New Year
		{time.Date(2025, 12, 31, 20, 0, 0, 0, time.UTC), false}, // already 1 Jan in Ashgabat
		{time.Date(2025, 12, 31, 18, 59, 0, 0, time.UTC), true}, // still 31 Dec (Wednesday) in Ashgabat
		{time.Date(2026, 9, 28, 12, 0, 0, 0, tm), false},        // Independence Day (Monday)
		{time.Date(2026, 9, 29, 12, 0, 0, 0, tm), true},
		{time.Date(2027, 5, 17, 12, 0, 0, 0, tm), false}, // Gurban baýramy (expected)
	}
	for _, c := range cases {
		if got := cal.IsWorkingDay(c.t); got != c.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", c.t, got, c.want)
		}
	}
}

func TestDeadlineCalendarWithoutWorkingDaysTerminates(t *testing.T) {
	all := map[time.Weekday]bool{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		all[d] = true
	}
	cal := &Calendar{Weekend: all}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := cal.Deadline(start, MustParseDuration("1wd")); !got.After(start) {
		t.Errorf("Deadline = %s, want a time after the start", got)
	}
	// A nil Location is UTC.
	utc := &Calendar{}
	if got := utc.Deadline(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), MustParseDuration("1wd")); !got.Equal(time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("UTC calendar: Deadline = %s", got)
	}
}
