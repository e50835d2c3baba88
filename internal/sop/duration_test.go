package sop

import (
	"encoding/json"
	"testing"
)

func TestParseDuration(t *testing.T) {
	good := []struct {
		in   string
		want Duration
	}{
		{"90s", Duration{90, Seconds}},
		{"1s", Duration{1, Seconds}},
		{"4h", Duration{4, Hours}},
		{"30d", Duration{30, Days}},
		{"1826d", Duration{1826, Days}},
		{"5wd", Duration{5, WorkingDays}},
		{"100000d", Duration{MaxDurationN, Days}},
	}
	for _, c := range good {
		got, err := ParseDuration(c.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseDuration(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.in {
			t.Errorf("ParseDuration(%q).String() = %q, want it to round-trip", c.in, got.String())
		}
		if got.IsZero() {
			t.Errorf("ParseDuration(%q).IsZero() = true", c.in)
		}
	}
	bad := []string{"", "s", "d", "wd", "0s", "0d", "05d", "-3d", "+3d", "3", "3m", "3w", "3 d", " 3d", "3d ", "3D", "3H",
		"3dw", "3.5d", "1e3s", "3hd", "100001d", "99999999999999999999s", "٣d", "3ｄ", "3sd", "wd3"}
	for _, in := range bad {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want an error", in, d)
		}
	}
}

func TestUnitString(t *testing.T) {
	want := map[Unit]string{Seconds: "seconds", Hours: "hours", Days: "days", WorkingDays: "working days", 0: "Unit(0)"}
	for u, s := range want {
		if u.String() != s {
			t.Errorf("Unit(%d).String() = %q, want %q", int(u), u.String(), s)
		}
	}
}

func TestDurationZeroAndText(t *testing.T) {
	var z Duration
	if !z.IsZero() || z.String() != "" {
		t.Errorf("zero Duration: IsZero=%v String=%q", z.IsZero(), z.String())
	}
	type wrap struct {
		Due  Duration `json:"due"`
		None Duration `json:"none"`
	}
	b, err := json.Marshal(wrap{Due: MustParseDuration("5wd")})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"due":"5wd","none":""}` {
		t.Errorf("JSON = %s", b)
	}
	var back wrap
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Due != (Duration{5, WorkingDays}) || !back.None.IsZero() {
		t.Errorf("JSON round trip = %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"due":"5 weeks"}`), &back); err == nil {
		t.Error("want an error unmarshalling a bad duration")
	}
}

func TestDurationComparisons(t *testing.T) {
	cases := []struct {
		a, b      string
		notBefore bool // a period of a certainly ends at or after one of b
		before    bool // a period of a certainly ends before one of b
	}{
		{"3wd", "5wd", false, true},
		{"5wd", "5wd", true, false},
		{"6wd", "5wd", true, false},
		{"2h", "4h", false, true},
		{"14400s", "4h", true, false},
		{"14399s", "4h", false, true},
		{"24h", "1d", false, false}, // a day across a DST change is 23 or 25 hours
		{"26h", "1d", true, false},
		{"22h", "1d", false, true},
		{"60d", "90d", false, true},
		{"30d", "25d", true, false},
		{"3d", "2wd", false, false}, // weekends and holidays can stretch working days without limit
		{"2wd", "3d", false, false},
		{"3wd", "2d", true, false}, // three working days always outlast two calendar days
		{"1wd", "10d", false, false},
	}
	for _, c := range cases {
		a, b := MustParseDuration(c.a), MustParseDuration(c.b)
		if got := a.certainlyNotBefore(b); got != c.notBefore {
			t.Errorf("%s.certainlyNotBefore(%s) = %v, want %v", c.a, c.b, got, c.notBefore)
		}
		if got := a.certainlyBefore(b); got != c.before {
			t.Errorf("%s.certainlyBefore(%s) = %v, want %v", c.a, c.b, got, c.before)
		}
	}
}
