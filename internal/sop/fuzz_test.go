package sop

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: any bytes give either a valid SOP or an *Error whose problems
// all have the file, a line and a rule; never a panic.
func FuzzParse(f *testing.F) {
	// Small files only: the fuzzer mutates and minimizes seeds byte by byte,
	// and the real SOP is large (it has its own tests).
	broken, _ := filepath.Glob("testdata/broken/*.yaml")
	for _, path := range append(broken, "testdata/minimal.yaml") {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("sop: [a, b\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if s != nil || len(e.Problems) == 0 {
				t.Fatalf("SOP %v with error %v", s, err)
			}
			for _, p := range e.Problems {
				if p.File != "fuzz.yaml" || p.Line < 1 || p.Rule == "" || p.Message == "" {
					t.Fatalf("incomplete problem %+v", p)
				}
			}
			return
		}
		if s == nil || len(s.Hash) != 64 || s.Calendar.Location == nil || len(s.Dimensions) == 0 || s.RecoveryMinimum.IsZero() {
			t.Fatalf("valid SOP is incomplete: %+v", s)
		}
		if d := Diff(s, s); len(d) != 0 {
			t.Fatalf("Diff(s, s) = %v", d)
		}
		var all []string
		for _, ind := range s.Indicators {
			all = append(all, ind.ID)
		}
		if _, err := s.Score(all, false); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzScore: any list of IDs (comma-separated) scores without panicking;
// unknown IDs are an *UnknownIndicatorError; the result does not depend on
// order or repetition, and observing more indicators never withdraws a
// presumed-victim outcome.
func FuzzScore(f *testing.F) {
	s := realSOP(f)
	f.Add("false_job_offer,documents_withheld,debt_bondage,restricted_movement", false)
	f.Add("false_job_offer,deceived_about_wages,excessive_hours,no_or_little_pay,documents_withheld,debt_bondage", false)
	f.Add("unaccompanied_child,controlled_by_recruiter,economic_hardship,forced_begging,child_kept_from_school", true)
	f.Add("excessive_hours,excessive_hours", true)
	f.Add("", false)
	f.Add("passport_stolen", true)
	f.Fuzz(func(t *testing.T, list string, child bool) {
		var ids []string
		if list != "" {
			ids = strings.Split(list, ",")
		}
		res, err := s.Score(ids, child)
		if err != nil {
			var u *UnknownIndicatorError
			if !errors.As(err, &u) {
				t.Fatalf("error %T: %v", err, err)
			}
			if _, known := s.Indicator(u.ID); known || !slices.Contains(ids, u.ID) {
				t.Fatalf("error names %q", u.ID)
			}
			return
		}
		if res.Outcome != OutcomePresumedVictim && res.Outcome != OutcomeNotIndicated {
			t.Fatalf("outcome %q", res.Outcome)
		}
		if len(res.Dimensions) != len(s.Dimensions) {
			t.Fatalf("%d dimensions", len(res.Dimensions))
		}
		total := 0
		for _, d := range res.Dimensions {
			total += d.Strong + d.Medium + d.Weak
			if d.Positive != (d.Rule != "") || len(d.Indicators) != d.Strong+d.Medium+d.Weak {
				t.Fatalf("inconsistent dimension %+v", d)
			}
		}
		unique := slices.Clone(ids)
		slices.Sort(unique)
		unique = slices.Compact(unique)
		if total != len(unique) {
			t.Fatalf("counted %d indicators of %d distinct", total, len(unique))
		}
		rev := slices.Clone(ids)
		slices.Reverse(rev)
		again, _ := s.Score(append(rev, ids...), child)
		if !reflect.DeepEqual(again, res) {
			t.Fatalf("order or repetition changed the result")
		}
		if res.Outcome == OutcomePresumedVictim {
			for _, ind := range s.Indicators {
				more, _ := s.Score(append(slices.Clone(ids), ind.ID), child)
				if more.Outcome != OutcomePresumedVictim {
					t.Fatalf("adding %s withdrew the presumed-victim outcome", ind.ID)
				}
			}
		}
	})
}
