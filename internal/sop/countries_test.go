package sop

import (
	"errors"
	"slices"
	"testing"
)

// priority_countries is optional: a file without it has none, and its
// hash is that of its bytes, as before the key existed.
func TestPriorityCountries(t *testing.T) {
	base := readFile(t, "testdata/minimal.yaml")
	s, err := Parse("min.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if s.PriorityCountries != nil {
		t.Errorf("a file without priority_countries has %v", s.PriorityCountries)
	}
	with := base + "priority_countries: [TR, RU, AE, TM]\n"
	s, err = Parse("min.yaml", []byte(with))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.PriorityCountries, []string{"TR", "RU", "AE", "TM"}) {
		t.Errorf("priority countries %v, want the file's order", s.PriorityCountries)
	}
	// The change shows in a diff, in the general section.
	a, _ := Parse("a.yaml", []byte(base))
	found := false
	for _, c := range Diff(a, s) {
		if c.Section == "general" && c.Field == "priority_countries" && c.From == "" && c.To == "TR, RU, AE, TM" {
			found = true
		}
	}
	if !found {
		t.Errorf("Diff does not list priority_countries: %v", Diff(a, s))
	}

	for _, c := range []struct {
		yaml string
		rule string
	}{
		{"priority_countries: [TR, XX]\n", RuleUnknownCountry},
		{"priority_countries: [tr]\n", RuleUnknownCountry},
		{"priority_countries: [TR, EU]\n", RuleUnknownCountry},
		{"priority_countries: [TR, TR]\n", RuleDuplicateID},
		{"priority_countries: []\n", RuleMissingKey},
		{"priority_countries: TR\n", RuleBadValue},
		{"priority_countries: [[TR]]\n", RuleBadValue},
	} {
		_, err := Parse("bad.yaml", []byte(base+c.yaml))
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("%q: %v, want a problem %s", c.yaml, err, c.rule)
			continue
		}
		if len(perr.Problems) != 1 || perr.Problems[0].Rule != c.rule {
			t.Errorf("%q: %v, want one problem %s", c.yaml, perr.Problems, c.rule)
		}
	}
}
