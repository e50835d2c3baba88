package sop

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func realSOP(t testing.TB) *SOP {
	t.Helper()
	s, err := LoadFile("../../sop/tm-nrm-2026.1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScoreDimensionRules(t *testing.T) {
	s := realSOP(t)
	// All in exploitative_conditions: excessive_hours, forced_begging (strong);
	// hazardous_work, no_or_little_pay, wage_deductions (medium);
	// no_contract_or_protection (weak).
	cases := []struct {
		name       string
		indicators []string
		positive   bool
		rule       string
		counts     [3]int
	}{
		{"strong:2", []string{"excessive_hours", "forced_begging"}, true, "strong:2", [3]int{2, 0, 0}},
		{"strong:1+medium:1", []string{"excessive_hours", "hazardous_work"}, true, "strong:1+medium:1", [3]int{1, 1, 0}},
		{"strong:1+weak:1", []string{"excessive_hours", "no_contract_or_protection"}, true, "strong:1+weak:1", [3]int{1, 0, 1}},
		{"medium:3", []string{"hazardous_work", "no_or_little_pay", "wage_deductions"}, true, "medium:3", [3]int{0, 3, 0}},
		{"medium:2+weak:1", []string{"hazardous_work", "no_or_little_pay", "no_contract_or_protection"}, true, "medium:2+weak:1", [3]int{0, 2, 1}},
		{"first rule that holds wins", []string{"excessive_hours", "forced_begging", "hazardous_work"}, true, "strong:2", [3]int{2, 1, 0}},
		{"one strong alone", []string{"excessive_hours"}, false, "", [3]int{1, 0, 0}},
		{"two medium", []string{"hazardous_work", "wage_deductions"}, false, "", [3]int{0, 2, 0}},
		{"one medium one weak", []string{"hazardous_work", "no_contract_or_protection"}, false, "", [3]int{0, 1, 1}},
		{"duplicates count once", []string{"excessive_hours", "excessive_hours"}, false, "", [3]int{1, 0, 0}},
		{"nothing", nil, false, "", [3]int{}},
	}
	for _, c := range cases {
		res, err := s.Score(c.indicators, false)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d := res.Dimensions["exploitative_conditions"]
		if d.Positive != c.positive || d.Rule != c.rule || [3]int{d.Strong, d.Medium, d.Weak} != c.counts {
			t.Errorf("%s: got %+v, want positive=%v rule=%q counts=%v", c.name, d, c.positive, c.rule, c.counts)
		}
		if len(res.Dimensions) != 6 {
			t.Errorf("%s: %d dimensions in the result, want all 6", c.name, len(res.Dimensions))
		}
	}
}

func TestScoreIsLiteralAboutStrengths(t *testing.T) {
	s := &SOP{
		Dimensions: []Dimension{{ID: "d"}},
		Indicators: []Indicator{{ID: "s1", Dimension: "d", Strength: StrengthStrong}, {ID: "m1", Dimension: "d", Strength: StrengthMedium}},
		Screening:  Screening{DimensionPositive: []Rule{{"medium": 1, "weak": 1}, {"medium": 2}}},
	}
	s.Screening.PresumedVictim.Adult = [][]string{{"d"}}
	res, err := s.Score([]string{"s1", "m1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Dimensions["d"].Positive {
		t.Errorf("a strong indicator stood in for a medium or weak one: %+v", res.Dimensions["d"])
	}
	if res.Outcome != OutcomeNotIndicated {
		t.Errorf("outcome %q", res.Outcome)
	}
	// A track without groups never yields a presumed victim.
	s.Screening.DimensionPositive = []Rule{{"strong": 1}}
	res, _ = s.Score([]string{"s1"}, true)
	if res.Outcome != OutcomeNotIndicated || res.Track != TrackChild || !res.Dimensions["d"].Positive {
		t.Errorf("child track without groups: %+v", res)
	}
	res, _ = s.Score([]string{"s1"}, false)
	if res.Outcome != OutcomePresumedVictim || res.Track != TrackAdult {
		t.Errorf("adult track: %+v", res)
	}
}

func TestScoreOutcomeByTrack(t *testing.T) {
	s := realSOP(t)
	recruitment := []string{"false_job_offer", "deceived_about_wages"}                         // deceptive: strong+medium
	exploitation := []string{"excessive_hours", "no_or_little_pay"}                            // strong+medium
	coercion := []string{"documents_withheld", "debt_bondage"}                                 // strong:2
	vulnerability := []string{"language_barrier", "fear_of_authorities", "no_means_to_return"} // medium:2+weak:1
	cat := func(xs ...[]string) []string { return slices.Concat(xs...) }
	cases := []struct {
		name       string
		indicators []string
		child      bool
		want       string
	}{
		{"adult, all three groups", cat(recruitment, exploitation, coercion), false, OutcomePresumedVictim},
		{"adult, vulnerability instead of coercion", cat(recruitment, exploitation, vulnerability), false, OutcomePresumedVictim},
		{"adult, no means at destination", cat(recruitment, exploitation), false, OutcomeNotIndicated},
		{"adult, no recruitment", cat(exploitation, coercion), false, OutcomeNotIndicated},
		{"child, no means needed", cat(recruitment, exploitation), true, OutcomePresumedVictim},
		{"child, no exploitation", cat(recruitment, coercion), true, OutcomeNotIndicated},
		{"child forced to beg", []string{"unaccompanied_child", "controlled_by_recruiter", "economic_hardship", "forced_begging", "child_kept_from_school"}, true, OutcomePresumedVictim},
		// The example of docs/sop-format.md#screening-rule: deceptive
		// recruitment has one strong indicator only and nothing shows
		// exploitation.
		{"design example", []string{"false_job_offer", "documents_withheld", "debt_bondage", "restricted_movement"}, false, OutcomeNotIndicated},
	}
	for _, c := range cases {
		res, err := s.Score(c.indicators, c.child)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.Outcome != c.want {
			t.Errorf("%s: outcome %q, want %q (%+v)", c.name, res.Outcome, c.want, res.Dimensions)
		}
		wantTrack := TrackAdult
		if c.child {
			wantTrack = TrackChild
		}
		if res.Track != wantTrack {
			t.Errorf("%s: track %q", c.name, res.Track)
		}
	}
	res, _ := s.Score([]string{"false_job_offer", "documents_withheld", "debt_bondage", "restricted_movement"}, false)
	if d := res.Dimensions["coercion_at_destination"]; !d.Positive || d.Rule != "strong:2" || !slices.Equal(d.Indicators, []string{"documents_withheld", "debt_bondage", "restricted_movement"}) {
		t.Errorf("coercion_at_destination = %+v", d)
	}
}

func TestScoreUnknownIndicator(t *testing.T) {
	s := realSOP(t)
	_, err := s.Score([]string{"false_job_offer", "passport_stolen"}, false)
	var u *UnknownIndicatorError
	if !errors.As(err, &u) || u.ID != "passport_stolen" {
		t.Fatalf("err = %v, want an UnknownIndicatorError naming passport_stolen", err)
	}
	if err.Error() != `unknown indicator "passport_stolen"` {
		t.Errorf("message %q", err.Error())
	}
}

func TestScoreDeterministic(t *testing.T) {
	s := realSOP(t)
	in := []string{"debt_bondage", "false_job_offer", "excessive_hours", "documents_withheld", "no_or_little_pay", "deceived_about_wages"}
	want, err := s.Score(in, false)
	if err != nil {
		t.Fatal(err)
	}
	rev := slices.Clone(in)
	slices.Reverse(rev)
	for _, variant := range [][]string{rev, append(slices.Clone(in), in...)} {
		got, err := s.Score(variant, false)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Score(%v) = %+v, want %+v", variant, got, want)
		}
	}
}
