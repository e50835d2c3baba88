package sop

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	text := readFile(t, "testdata/minimal.yaml")
	a, err := Parse("a.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	edits := []string{
		`version: "1"`, `version: "2"`,
		"  en: Minimal SOP", "  en: Minimal SOP v2",
		"    - 2026-01-01\n", "    - 2027-01-01\n",
		"    dimension: exploitation\n    strength: strong", "    dimension: exploitation\n    strength: medium",
		"    - {strong: 1}\n", "    - {strong: 1}\n    - {medium: 2}\n",
		"obligations:\n", "  - {id: medical, urgent: true, response_due: 4h, label: {en: Medical, ru: Медицинская помощь, tk: Lukmançylyk kömegi}}\nobligations:\n",
		"    due: 5wd\n", "    due: 7wd\n",
		"  - id: conclusive_decision\n    owner: competent_authority\n    starts_on: preliminary_positive\n    met_by: [conclusive_positive, conclusive_negative]\n    due: 90d\n", "",
		"closure_reasons: [consent_withdrawn, not_identified, other]", "closure_reasons: [consent_withdrawn, not_identified, lost_contact, other]",
	}
	for i := 0; i < len(edits); i += 2 {
		if strings.Count(text, edits[i]) != 1 {
			t.Fatalf("edit %q does not match once", edits[i])
		}
		text = strings.Replace(text, edits[i], edits[i+1], 1)
	}
	b, err := Parse("b.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{"general", "", "title.en", "Minimal SOP", "Minimal SOP v2"},
		{"general", "", "version", "1", "2"},
		{"calendar", "2026-01-01", "", "holiday", ""},
		{"calendar", "2027-01-01", "", "", "holiday"},
		{"indicator", "forced_begging", "strength", "strong", "medium"},
		{"screening", "", "dimension_positive", "strong:1", "strong:1 | medium:2"},
		{"service", "medical", "", "", "urgent response_due=4h"},
		{"obligation", "conclusive_decision", "", "kind=deadline owner=competent_authority starts_on=preliminary_positive met_by=conclusive_positive|conclusive_negative due=90d", ""},
		{"obligation", "preliminary_decision", "due", "5wd", "7wd"},
		{"closure_reason", "lost_contact", "", "", "closure reason"},
	}
	got := Diff(a, b)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	kinds := map[string]int{}
	for _, c := range got {
		kinds[c.Kind()]++
	}
	if kinds["added"] != 3 || kinds["removed"] != 2 || kinds["changed"] != 5 {
		t.Errorf("kinds %v", kinds)
	}
	// The reverse swaps added and removed.
	back := Diff(b, a)
	if len(back) != len(want) || back[6].Kind() != "removed" || back[7].Kind() != "added" {
		t.Errorf("reverse diff %q", back)
	}
	for i := 0; i < 5; i++ {
		if !reflect.DeepEqual(Diff(a, b), got) {
			t.Fatal("Diff is not deterministic")
		}
	}
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("Diff(a, a) = %v", d)
	}
}

func TestDiffRealAgainstFast(t *testing.T) {
	real := realSOP(t)
	fast, err := LoadFile("testdata/fast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changes := Diff(real, fast)
	find := func(section, id, field string) *Change {
		for i := range changes {
			if c := changes[i]; c.Section == section && c.ID == id && c.Field == field {
				return &changes[i]
			}
		}
		return nil
	}
	if c := find("obligation", "preliminary_decision", "due"); c == nil || c.From != "5wd" || c.To != "5s" {
		t.Errorf("preliminary_decision due: %+v", c)
	}
	if c := find("service", "shelter", "response_due"); c == nil || c.From != "4h" || c.To != "4s" {
		t.Errorf("shelter response_due: %+v", c)
	}
	if c := find("indicator", "sexual_violence", ""); c == nil || c.Kind() != "removed" {
		t.Errorf("sexual_violence: %+v", c)
	}
	if c := find("general", "", "effective_from"); c == nil || c.From != "2026-01-01" || c.To != "2020-01-01" {
		t.Errorf("effective_from: %+v", c)
	}
	if find("screening", "", "dimension_positive") != nil || find("obligation", "recovery_period", "kind") != nil {
		t.Error("unchanged fields reported")
	}
	for i := 1; i < len(changes); i++ {
		a, b := changes[i-1], changes[i]
		ia, ib := slices.Index(diffSections, a.Section), slices.Index(diffSections, b.Section)
		if ia > ib || (ia == ib && (a.ID > b.ID || (a.ID == b.ID && a.Field > b.Field))) {
			t.Errorf("not sorted: %v before %v", a, b)
		}
	}
}
