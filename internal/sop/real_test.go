package sop

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTurkmenistanSOP(t *testing.T) {
	s := realSOP(t)
	if s.ID != "tm-nrm" || s.Version != "2026.1" || s.ChildAgeUnder != 18 {
		t.Errorf("header %s %s %d", s.ID, s.Version, s.ChildAgeUnder)
	}
	if s.Calendar.Location.String() != "Asia/Ashgabat" || !s.EffectiveFrom.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, s.Calendar.Location)) {
		t.Errorf("calendar %s, effective %s", s.Calendar.Location, s.EffectiveFrom)
	}
	if len(s.Indicators) < 40 {
		t.Errorf("%d indicators, want at least 40", len(s.Indicators))
	}
	perDim := map[string]int{}
	strengths := map[string]int{}
	for _, ind := range s.Indicators {
		perDim[ind.Dimension]++
		strengths[ind.Strength]++
		for _, lang := range Languages {
			if ind.Label[lang] == "" {
				t.Errorf("indicator %s has no %s label", ind.ID, lang)
			}
		}
	}
	for _, d := range s.Dimensions {
		if perDim[d.ID] < 5 {
			t.Errorf("dimension %s has %d indicators, want at least 5", d.ID, perDim[d.ID])
		}
	}
	if len(s.Dimensions) != 6 || strengths[StrengthStrong] == 0 || strengths[StrengthMedium] == 0 || strengths[StrengthWeak] == 0 {
		t.Errorf("dimensions %d, strengths %v", len(s.Dimensions), strengths)
	}
	// The indicators of the example in docs/sop-format.md#screening-rule exist.
	for _, id := range []string{"false_job_offer", "documents_withheld", "debt_bondage", "restricted_movement"} {
		if _, ok := s.Indicator(id); !ok {
			t.Errorf("indicator %s missing", id)
		}
	}
	var services []string
	for _, sv := range s.Services {
		services = append(services, sv.ID)
		if sv.ResponseDue.IsZero() {
			t.Errorf("service %s without response_due", sv.ID)
		}
	}
	wantServices := []string{"shelter", "medical", "psychosocial", "legal_aid", "interpretation", "return_assistance", "reintegration", "education_vocational", "family_tracing"}
	if !slices.Equal(services, wantServices) {
		t.Errorf("services %v, want %v", services, wantServices)
	}
	for _, id := range []string{"shelter", "medical"} {
		if sv, _ := s.Service(id); !sv.Urgent || sv.ResponseDue != MustParseDuration("4h") {
			t.Errorf("%s: urgent %v, response %s", id, sv.Urgent, sv.ResponseDue)
		}
	}
	wantObl := map[string]struct {
		when, owner, starts, due string
		metBy                    []string
	}{
		"preliminary_decision":        {"", "competent_authority", "case_opened", "5wd", []string{"preliminary_positive", "preliminary_negative"}},
		"child_protection_notified":   {"child", "opening_agency", "case_opened", "24h", []string{"guardian_appointed"}},
		"preliminary_negative_review": {"", "competent_authority", "preliminary_negative", "3wd", []string{"negative_review_confirmed", "negative_review_overturned"}},
		"conclusive_decision":         {"", "competent_authority", "preliminary_positive", "90d", []string{"conclusive_positive", "conclusive_negative"}},
		"conclusive_negative_review":  {"", "competent_authority", "conclusive_negative", "5wd", []string{"negative_review_confirmed", "negative_review_overturned"}},
		"referral_answer":             {"", "service_provider", "referral_sent", "4h", []string{"referral_accepted", "referral_declined"}},
		"closure_review":              {"", "supervisor", "closure_requested", "5wd", []string{"closure_approved", "closure_rejected"}},
		"follow_up":                   {"", "opening_agency", "closure_approved", "90d", []string{"follow_up_done"}},
	}
	for id, w := range wantObl {
		o, ok := s.Obligation(id)
		if !ok {
			t.Errorf("obligation %s missing", id)
			continue
		}
		if o.Kind != KindDeadline || o.When != w.when || o.Owner != w.owner || o.StartsOn != w.starts || o.Due.String() != w.due || !slices.Equal(o.MetBy, w.metBy) || len(o.EscalateTo) == 0 {
			t.Errorf("obligation %s = %+v", id, o)
		}
	}
	if o, _ := s.Obligation("preliminary_decision"); !slices.Equal(o.Remind, []Duration{MustParseDuration("3wd")}) || !slices.Equal(o.EscalateTo, []string{"supervisor", "twg"}) {
		t.Errorf("preliminary_decision remind %v escalate %v", o.Remind, o.EscalateTo)
	}
	if o, _ := s.Obligation("recovery_period"); o.Kind != KindProtected || o.Duration != MustParseDuration("30d") || o.StartsOn != "preliminary_positive" {
		t.Errorf("recovery_period = %+v", o)
	}
	if f, ok := s.FollowUp(); s.RecoveryMinimum != MustParseDuration("30d") || !ok || f.Due != MustParseDuration("90d") || s.IdentityRetention != MustParseDuration("1826d") {
		t.Errorf("recovery %s follow-up %s retention %s", s.RecoveryMinimum, f.Due, s.IdentityRetention)
	}
	wantReasons := []string{"reintegrated", "returned_home", "consent_withdrawn", "not_identified", "lost_contact", "transferred_abroad", "deceased", "other"}
	if !slices.Equal(s.ClosureReasons, wantReasons) {
		t.Errorf("closure reasons %v", s.ClosureReasons)
	}
	// Holidays of both years, fixed and moveable.
	for _, d := range []string{"2026-01-01", "2026-03-08", "2026-03-20", "2026-03-21", "2026-03-22", "2026-05-18", "2026-05-27", "2026-09-27", "2026-10-06", "2026-12-12",
		"2027-01-01", "2027-03-10", "2027-05-17", "2027-12-12"} {
		if !s.Calendar.Holidays[d] {
			t.Errorf("holiday %s missing", d)
		}
	}
	if !s.Calendar.Weekend[time.Saturday] || !s.Calendar.Weekend[time.Sunday] || len(s.Calendar.Weekend) != 2 {
		t.Errorf("weekend %v", s.Calendar.Weekend)
	}
}

func TestSOPHelpers(t *testing.T) {
	s := realSOP(t)
	if !s.IsChildAge(17) || s.IsChildAge(18) || !s.IsChildAge(0) || !s.IsChildAge(-1) {
		t.Error("IsChildAge")
	}
	if !s.IsClosureReason("lost_contact") || s.IsClosureReason("bored") {
		t.Error("IsClosureReason")
	}
	ids := func(os []Obligation) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	if got := ids(s.ObligationsOn("case_opened", true)); !slices.Equal(got, []string{"preliminary_decision", "child_protection_notified"}) {
		t.Errorf("child case_opened: %v", got)
	}
	if got := ids(s.ObligationsOn("case_opened", false)); !slices.Equal(got, []string{"preliminary_decision"}) {
		t.Errorf("adult case_opened: %v", got)
	}
	if got := ids(s.ObligationsOn("preliminary_positive", false)); !slices.Equal(got, []string{"recovery_period", "conclusive_decision"}) {
		t.Errorf("preliminary_positive: %v", got)
	}
	o, _ := s.Obligation("preliminary_decision")
	if !o.IsMetBy("preliminary_negative") || o.IsMetBy("case_opened") {
		t.Error("IsMetBy")
	}
	if (Obligation{When: WhenAdult}).Applies(true) || !(Obligation{When: WhenAdult}).Applies(false) {
		t.Error("Applies")
	}
	if _, ok := s.Indicator("nope"); ok {
		t.Error("Indicator(nope)")
	}
	if _, ok := s.Service("nope"); ok {
		t.Error("Service(nope)")
	}
	if _, ok := s.Obligation("nope"); ok {
		t.Error("Obligation(nope)")
	}
	if d, ok := s.Dimension("exploitative_conditions"); !ok || d.Label.In("ru") != "Эксплуататорские условия труда и жизни" || d.Label.In("fr") != "Exploitative conditions of work or life" {
		t.Errorf("Dimension = %+v", d)
	}
	if len(Events) != 26 || Events[0] != "case_opened" || Events[25] != "obligation_breached" || !IsEvent("referral_redirected") || IsEvent("case_created") {
		t.Error("Events")
	}
}

func TestFastSOP(t *testing.T) {
	fast, err := LoadFile("testdata/fast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	real := realSOP(t)
	if fast.Version != "test.fast" || fast.ID != real.ID {
		t.Errorf("fast: %s %s", fast.ID, fast.Version)
	}
	// Same obligations, services and rule as the real SOP, in seconds.
	if len(fast.Obligations) != len(real.Obligations) || len(fast.Services) != len(real.Services) {
		t.Fatalf("fast has %d obligations and %d services", len(fast.Obligations), len(fast.Services))
	}
	for i, o := range fast.Obligations {
		if o.ID != real.Obligations[i].ID || o.StartsOn != real.Obligations[i].StartsOn || !slices.Equal(o.MetBy, real.Obligations[i].MetBy) {
			t.Errorf("obligation %d: %s differs from %s", i, o.ID, real.Obligations[i].ID)
		}
		for _, d := range append([]Duration{o.Due, o.Duration}, o.Remind...) {
			if !d.IsZero() && d.Unit != Seconds {
				t.Errorf("obligation %s: %s is not in seconds", o.ID, d)
			}
		}
	}
	for _, sv := range fast.Services {
		if sv.ResponseDue.Unit != Seconds {
			t.Errorf("service %s: %s is not in seconds", sv.ID, sv.ResponseDue)
		}
	}
	if o, _ := fast.Obligation("preliminary_decision"); o.Due != MustParseDuration("5s") {
		t.Errorf("preliminary_decision due %s", o.Due)
	}
	if f, _ := fast.FollowUp(); f.Due.Unit != Seconds || fast.IdentityRetention.Unit != Seconds || fast.RecoveryMinimum.Unit != Seconds {
		t.Error("fast durations not in seconds")
	}
	// Every indicator of fast exists, the same, in the real catalogue.
	for _, ind := range fast.Indicators {
		if r, ok := real.Indicator(ind.ID); !ok || r.Dimension != ind.Dimension || r.Strength != ind.Strength {
			t.Errorf("indicator %s differs from the real SOP", ind.ID)
		}
	}
	res, err := fast.Score([]string{"false_job_offer", "deceived_about_wages", "excessive_hours", "no_or_little_pay", "documents_withheld", "debt_bondage"}, false)
	if err != nil || res.Outcome != OutcomePresumedVictim {
		t.Errorf("fast screening: %+v %v", res, err)
	}
}

// TestTurkmenistanSOP2026_2: version 2026.2 writes out the policy the engine
// hard-coded, with the values it had, and adds one rule: the recovery
// period forbids a conclusive decision. Nothing else differs from 2026.1.
func TestTurkmenistanSOP2026_2(t *testing.T) {
	old := realSOP(t)
	s, err := LoadFile("../../sop/tm-nrm-2026.2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "2026.2" || !s.EffectiveFrom.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, s.Calendar.Location)) {
		t.Errorf("version %s effective %s", s.Version, s.EffectiveFrom)
	}
	want := []Change{
		{"general", "", "effective_from", "2026-01-01", "2027-01-01"},
		{"general", "", "version", "2026.1", "2026.2"},
		{"obligation", "recovery_period", "forbids", "", "conclusive_positive, conclusive_negative"},
	}
	if got := Diff(old, s); !slices.Equal(got, want) {
		t.Errorf("Diff(2026.1, 2026.2) =\n %q\nwant\n %q", got, want)
	}
	// The values are written out, not left to the defaults.
	text := readFile(t, "../../sop/tm-nrm-2026.2.yaml")
	for _, key := range []string{"\n    beds: true\n", "\n    max_extension: 365d\n", "\ndecline_reasons:\n", "\ncompletion_outcomes:\n", "\nrole_agencies:\n"} {
		if !strings.Contains(text, key) {
			t.Errorf("2026.2 does not write out %q", strings.TrimSpace(key))
		}
	}
	if strings.Contains(text, "\nfollow_up_after:") {
		t.Error("2026.2 still carries follow_up_after")
	}
	if s.BedService != "shelter" || s.RecoveryMaxExtensionDays != 365 || !slices.Equal(s.DeclineReasons, DefaultDeclineReasons) ||
		!slices.Equal(s.CompletionOutcomes, DefaultCompletionOutcomes) {
		t.Errorf("policy: beds %q, extension %d, decline %v, outcomes %v", s.BedService, s.RecoveryMaxExtensionDays, s.DeclineReasons, s.CompletionOutcomes)
	}
	for _, role := range AgencyRoles {
		if s.AgencyFor(role) != DefaultAgencyFor(role) {
			t.Errorf("role %s answered by %s, want %s", role, s.AgencyFor(role), DefaultAgencyFor(role))
		}
	}
	if o, _ := s.Obligation("recovery_period"); !o.ForbidsEvent("conclusive_positive") || !o.ForbidsEvent("conclusive_negative") || o.ForbidsEvent("closure_requested") {
		t.Errorf("recovery_period forbids %v", o.Forbids)
	}
}
