package sop

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit of an SOP duration.
type Unit int

// The units of SOP durations. The zero Unit is not a valid unit: a zero
// Duration means "not set".
const (
	Seconds     Unit = iota + 1 // "s": elapsed seconds
	Hours                       // "h": elapsed hours
	Days                        // "d": calendar days (same wall-clock time N days later)
	WorkingDays                 // "wd": working days of the SOP calendar
)

// MaxDurationN is the largest N accepted by ParseDuration (it keeps every
// deadline computation far from integer overflow).
const MaxDurationN = 100000

// suffix returns the textual suffix of the unit.
func (u Unit) suffix() string {
	switch u {
	case Seconds:
		return "s"
	case Hours:
		return "h"
	case Days:
		return "d"
	case WorkingDays:
		return "wd"
	}
	return ""
}

// String returns the unit's name ("seconds", "hours", "days", "working days").
func (u Unit) String() string {
	switch u {
	case Seconds:
		return "seconds"
	case Hours:
		return "hours"
	case Days:
		return "days"
	case WorkingDays:
		return "working days"
	}
	return fmt.Sprintf("Unit(%d)", int(u))
}

// Duration is an SOP duration: N units ("90s", "4h", "30d", "5wd").
// Compute the instant it ends with Calendar.Deadline.
type Duration struct {
	N    int
	Unit Unit
}

// ParseDuration parses "90s", "4h", "30d" or "5wd". N is a positive decimal
// integer without sign, leading zeros or spaces, at most MaxDurationN.
func ParseDuration(s string) (Duration, error) {
	var u Unit
	var num string
	switch {
	case strings.HasSuffix(s, "wd"):
		u, num = WorkingDays, s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		u, num = Seconds, s[:len(s)-1]
	case strings.HasSuffix(s, "h"):
		u, num = Hours, s[:len(s)-1]
	case strings.HasSuffix(s, "d"):
		u, num = Days, s[:len(s)-1]
	default:
		return Duration{}, fmt.Errorf("duration %q: want a number followed by s, h, d or wd (e.g. 90s, 4h, 30d, 5wd)", s)
	}
	if num == "" || num[0] < '1' || num[0] > '9' {
		return Duration{}, fmt.Errorf("duration %q: want a positive whole number without leading zeros before the unit", s)
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return Duration{}, fmt.Errorf("duration %q: want a positive whole number before the unit", s)
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n > MaxDurationN {
		return Duration{}, fmt.Errorf("duration %q: number too large (at most %d)", s, MaxDurationN)
	}
	return Duration{N: n, Unit: u}, nil
}

// MustParseDuration is ParseDuration for literals known to be valid; it panics otherwise.
func MustParseDuration(s string) Duration {
	d, err := ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String returns the duration as ParseDuration accepts it ("" for the zero Duration).
func (d Duration) String() string {
	if d.IsZero() {
		return ""
	}
	return strconv.Itoa(d.N) + d.Unit.suffix()
}

// IsZero reports whether the duration is not set.
func (d Duration) IsZero() bool { return d.N == 0 }

// MarshalText encodes the duration as its String form, so that it travels
// through JSON as "5wd".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes what MarshalText produced; "" is the zero Duration.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Duration{}
		return nil
	}
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// bounds returns the shortest and longest elapsed time the duration can span
// from any start instant, whatever the calendar (a DST change shifts a
// calendar day by up to an hour; working days can be stretched without limit
// by weekends and holidays). max < 0 means unbounded.
func (d Duration) bounds() (lo, hi time.Duration) {
	n := time.Duration(d.N)
	switch d.Unit {
	case Seconds:
		return n * time.Second, n * time.Second
	case Hours:
		return n * time.Hour, n * time.Hour
	case Days:
		return n*24*time.Hour - time.Hour, n*24*time.Hour + time.Hour
	case WorkingDays:
		// N working days end at the end of the Nth working day after the
		// start's date: at least N*24h minus a DST hour after the start.
		return n*24*time.Hour - time.Hour, -1
	}
	return 0, -1
}

// family groups units that compare exactly with each other.
func (u Unit) family() int {
	switch u {
	case Seconds, Hours:
		return 1
	case Days:
		return 2
	case WorkingDays:
		return 3
	}
	return 0
}

// certainlyNotBefore reports whether a period of d, measured from the same
// start, can never end strictly before a period of other: the conservative
// test used to reject a reminder that is not before its deadline.
func (d Duration) certainlyNotBefore(other Duration) bool {
	if d.Unit.family() == other.Unit.family() {
		if d.Unit.family() == 1 {
			a, _ := d.bounds()
			b, _ := other.bounds()
			return a >= b
		}
		return d.N >= other.N
	}
	lo, _ := d.bounds()
	_, hi := other.bounds()
	return hi >= 0 && lo >= hi
}

// certainlyBefore reports whether a period of d, measured from the same
// start, always ends strictly before a period of other.
func (d Duration) certainlyBefore(other Duration) bool {
	if d.Unit.family() == other.Unit.family() {
		if d.Unit.family() == 1 {
			a, _ := d.bounds()
			b, _ := other.bounds()
			return a < b
		}
		return d.N < other.N
	}
	_, hi := d.bounds()
	lo, _ := other.bounds()
	return hi >= 0 && hi < lo
}
