package sop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var wantMarker = regexp.MustCompile(`# want: ([a-z_, ]+)`)

// wantedProblems returns the "line rule" pairs that "# want: rule, rule"
// comments of the text expect.
func wantedProblems(text string) []string {
	var out []string
	for i, line := range strings.Split(text, "\n") {
		if m := wantMarker.FindStringSubmatch(line); m != nil {
			for _, r := range strings.Split(m[1], ",") {
				out = append(out, fmt.Sprintf("%d %s", i+1, strings.TrimSpace(r)))
			}
		}
	}
	slices.Sort(out)
	return out
}

// problemsOf parses text and returns its problems as sorted "line rule"
// pairs, checking that each names the file and has a message.
func problemsOf(t *testing.T, file, text string) []string {
	t.Helper()
	s, err := Parse(file, []byte(text))
	if err == nil {
		if s == nil {
			t.Fatal("Parse returned neither an SOP nor an error")
		}
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error is %T, want *Error: %v", err, err)
	}
	if s != nil {
		t.Error("Parse returned an SOP with an error")
	}
	var out []string
	for _, p := range e.Problems {
		if p.File != file || p.Line < 1 || p.Message == "" {
			t.Errorf("problem without file, line or message: %+v", p)
		}
		out = append(out, fmt.Sprintf("%d %s", p.Line, p.Rule))
	}
	slices.Sort(out)
	return out
}

func TestMinimalIsValid(t *testing.T) {
	s, err := LoadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "test-min" || s.Version != "1" || s.ChildAgeUnder != 18 || s.File != "testdata/minimal.yaml" {
		t.Errorf("header: %+v", s)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, s.Calendar.Location); !s.EffectiveFrom.Equal(want) || s.Calendar.Location.String() != "Asia/Ashgabat" {
		t.Errorf("effective_from %s, want %s", s.EffectiveFrom, want)
	}
	if !s.Calendar.Weekend[time.Saturday] || !s.Calendar.Weekend[time.Sunday] || len(s.Calendar.Weekend) != 2 || !s.Calendar.Holidays["2026-01-01"] {
		t.Errorf("calendar %+v", s.Calendar)
	}
	o, ok := s.Obligation("preliminary_decision")
	if !ok || o.Kind != KindDeadline || o.Due != MustParseDuration("5wd") || !slices.Equal(o.Remind, []Duration{MustParseDuration("3wd")}) ||
		!slices.Equal(o.EscalateTo, []string{"supervisor", "twg"}) || o.Owner != "competent_authority" || o.StartsOn != "case_opened" {
		t.Errorf("preliminary_decision = %+v", o)
	}
	if s.RecoveryMinimum != MustParseDuration("30d") || s.IdentityRetention != MustParseDuration("1826d") {
		t.Errorf("durations: recovery %s retention %s", s.RecoveryMinimum, s.IdentityRetention)
	}
	if sv, ok := s.Service("shelter"); !ok || !sv.Urgent || sv.ResponseDue != MustParseDuration("4h") || sv.Label["tk"] != "Başpena" {
		t.Errorf("shelter = %+v", sv)
	}
	if len(s.Hash) != 64 {
		t.Errorf("hash %q", s.Hash)
	}
	if !reflect.DeepEqual(s.Screening.DimensionPositive, []Rule{{"strong": 1}}) {
		t.Errorf("rules %v", s.Screening.DimensionPositive)
	}
	if got := s.Screening.PresumedVictim.Adult; len(got) != 2 || got[0][0] != "recruitment" || got[1][0] != "exploitation" {
		t.Errorf("adult groups %v", got)
	}
	if wantedProblems(readFile(t, "testdata/minimal.yaml")) != nil {
		t.Error("minimal.yaml must not have want markers")
	}
}

// Each case edits testdata/minimal.yaml (old -> new, exactly once) and
// expects exactly the problems its "# want: rule" comments name, on those
// lines.
func TestStrictLoading(t *testing.T) {
	base := readFile(t, "testdata/minimal.yaml")
	cases := []struct {
		name  string
		edits []string // old, new, old, new, ...
	}{
		// unknown_key
		{"unknown top-level key", []string{"child_age_under: 18\n", "child_age_under: 18\nstages: [screening] # want: unknown_key\n"}},
		{"unknown obligation key", []string{"    due: 90d\n", "    due: 90d\n    deadline: 90d # want: unknown_key\n"}},
		{"unknown calendar key", []string{"  weekend: [sat, sun]\n", "  weekend: [sat, sun]\n  weekends: [fri] # want: unknown_key\n"}},
		{"unknown language", []string{"      tk: Başpena\n", "      tk: Başpena\n      Turkmen: Başpena # want: unknown_key\n"}},
		{"merge key", []string{"retention:\n", "retention:\n  <<: {a: b} # want: unknown_key\n"}},
		// duplicate_key
		{"duplicate top-level key", []string{"child_age_under: 18\n", "child_age_under: 18\nchild_age_under: 17 # want: duplicate_key\n"}},
		{"duplicate language", []string{"      tk: Başpena\n", "      tk: Başpena\n      tk: Başpena # want: duplicate_key\n"}},
		// missing_key
		{"missing retention", []string{"sop: test-min\n", "sop: test-min # want: missing_key\n", "retention:\n  identity_after_closure: 1826d\n", ""}},
		{"missing service response_due", []string{"  - id: shelter\n    urgent: true\n    response_due: 4h\n", "  - id: shelter # want: missing_key\n    urgent: true\n"}},
		{"missing retention key", []string{"retention:\n  identity_after_closure: 1826d\n", "retention: # want: missing_key\n  identity: 5d # want: unknown_key\n"}},
		{"missing required closure reason", []string{"closure_reasons: [consent_withdrawn, not_identified, other]", "closure_reasons: [consent_withdrawn, other] # want: missing_key"}},
		{"empty indicator list", []string{"indicators:\n", "indicators: [] # want: missing_key\nold_indicators:  # want: unknown_key\n"}},
		// bad_value
		{"child age out of range", []string{"child_age_under: 18", "child_age_under: 30 # want: bad_value"}},
		{"child age not a number", []string{"child_age_under: 18", "child_age_under: eighteen # want: bad_value"}},
		{"unknown time zone", []string{"timezone: Asia/Ashgabat", "timezone: Asia/Ashkhabad_ # want: bad_value"}},
		{"local time zone", []string{"timezone: Asia/Ashgabat", "timezone: Local # want: bad_value"}},
		{"weekday name", []string{"weekend: [sat, sun]", "weekend: [sat, sunday] # want: bad_value"}},
		{"whole week off", []string{"weekend: [sat, sun]", "weekend: [mon, tue, wed, thu, fri, sat, sun] # want: bad_value"}},
		{"holiday not a date", []string{"    - 2026-01-01\n", "    - 2026-02-30 # want: bad_value\n"}},
		{"effective_from not a date", []string{"effective_from: 2026-01-01", "effective_from: 1 January 2026 # want: bad_value"}},
		{"urgent not a boolean", []string{"urgent: true", "urgent: yes # want: bad_value"}},
		{"when", []string{"    due: 5wd\n", "    due: 5wd\n    when: minor # want: bad_value\n"}},
		{"kind", []string{"    kind: protected\n", "    kind: period # want: bad_value\n"}},
		{"label is not a mapping", []string{"  - id: recruitment\n    label:\n      en: Recruitment\n      ru: Вербовка\n      tk: Işe çekmek\n", "  - id: recruitment\n    label: Recruitment # want: bad_value\n"}},
		{"alias", []string{"    remind: [2h]\n", "    remind: &r [2h]\n", "    remind: [3wd]\n", "    remind: *r # want: bad_value\n"}},
		{"empty rule", []string{"    - {strong: 1}\n", "    - {strong: 1}\n    - {} # want: bad_value\n"}},
		{"zero count", []string{"    - {strong: 1}\n", "    - {strong: 0} # want: bad_value\n"}},
		{"version", []string{`version: "1"`, `version: "1 beta" # want: bad_value`}},
		{"empty group", []string{"      - [exploitation]\nservices:", "      - [] # want: bad_value\nservices:"}},
		{"null ID", []string{"  - id: shelter", "  - id: # want: bad_value"}},
		{"list instead of mapping", []string{"retention:\n  identity_after_closure: 1826d\n", "retention: [1826d] # want: bad_value\n"}},
		{"complex key", []string{"retention:\n", "retention:\n  ? [a] # want: bad_value\n  : b\n"}},
		{"mapping instead of text", []string{"      ru: Приют\n", "      ru: {text: Приют} # want: bad_value\n"}},
		// bad_id
		{"service ID", []string{"  - id: shelter", "  - id: Shelter # want: bad_id"}},
		{"closure reason ID", []string{"closure_reasons: [consent_withdrawn, not_identified, other]", "closure_reasons: [consent_withdrawn, not_identified, other reason] # want: bad_id"}},
		{"sop ID", []string{"sop: test-min", "sop: Test Min # want: bad_id"}},
		// bad_duration
		{"due in weeks", []string{"    due: 5wd\n", "    due: 1w # want: bad_duration\n"}},
		{"due without unit", []string{"    due: 90d\n", "    due: 90 # want: bad_duration\n"}},
		{"zero response_due", []string{"response_due: 4h", "response_due: 0h # want: bad_duration"}},
		{"remind", []string{"    remind: [3wd]\n", "    remind: [3 wd] # want: bad_duration\n"}},
		{"retention", []string{"identity_after_closure: 1826d", "identity_after_closure: 5y # want: bad_duration"}},
		{"follow-up", []string{"follow_up_after: 90d", "follow_up_after: -90d # want: bad_duration"}},
		// missing_translation
		{"title without tk", []string{"title:\n", "title: # want: missing_translation\n", "  tk: Iň az SOP\n", ""}},
		{"empty ru", []string{"      ru: Приют\n", "      ru: \"\" # want: missing_translation\n"}},
		{"null tk", []string{"      tk: Başpena\n", "      tk: # want: missing_translation\n"}},
		{"obligation label without ru", []string{"  - id: recovery_period\n", "  - id: recovery_period\n    label: {en: Recovery, tk: Dikeldiş} # want: missing_translation\n"}},
		// unknown_event
		{"starts_on", []string{"starts_on: case_opened", "starts_on: case_created # want: unknown_event"}},
		{"met_by", []string{"met_by: [conclusive_positive, conclusive_negative]", "met_by: [conclusive_positive, conclusive_rejected] # want: unknown_event"}},
		// unknown_dimension
		{"indicator dimension", []string{"    dimension: exploitation\n", "    dimension: exploitations # want: unknown_dimension\n"}},
		{"screening group", []string{"      - [exploitation]\nservices:", "      - [exploitation, coercion] # want: unknown_dimension\nservices:"}},
		// unknown_strength
		{"indicator strength", []string{"    dimension: exploitation\n    strength: strong\n", "    dimension: exploitation\n    strength: very strong # want: unknown_strength\n"}},
		{"rule strength", []string{"    - {strong: 1}\n", "    - {strong: 1, moderate: 2} # want: unknown_strength\n"}},
		// unknown_role
		{"owner", []string{"    owner: competent_authority\n    starts_on: preliminary_positive\n", "    owner: police # want: unknown_role\n    starts_on: preliminary_positive\n"}},
		{"escalate_to", []string{"escalate_to: [supervisor, twg]", "escalate_to: [supervisor, minister] # want: unknown_role"}},
		// duplicate_id
		{"indicator", []string{"  - id: forced_begging\n", "  - id: false_job_offer # want: duplicate_id\n"}},
		{"dimension", []string{"  - id: exploitation\n", "  - id: recruitment # want: duplicate_id\n", "      - [exploitation]\n    child:", "      - [recruitment]\n    child:", "      - [exploitation]\nservices:", "      - [recruitment]\nservices:",
			"    dimension: exploitation\n", "    dimension: recruitment\n"}},
		{"obligation", []string{"  - id: conclusive_decision\n", "  - id: preliminary_decision # want: duplicate_id\n"}},
		{"closure reason", []string{"closure_reasons: [consent_withdrawn, not_identified, other]", "closure_reasons: [consent_withdrawn, not_identified, other, other] # want: duplicate_id"}},
		{"holiday", []string{"    - 2026-01-01\n", "    - 2026-01-01\n    - 2026-01-01 # want: duplicate_id\n"}},
		{"weekend day", []string{"weekend: [sat, sun]", "weekend: [sat, sun, sat] # want: duplicate_id"}},
		// inconsistent_obligation
		{"deadline without due", []string{"  - id: conclusive_decision\n", "  - id: conclusive_decision # want: inconsistent_obligation\n", "    due: 90d\n", ""}},
		{"deadline without met_by", []string{"  - id: conclusive_decision\n", "  - id: conclusive_decision # want: inconsistent_obligation\n", "    met_by: [conclusive_positive, conclusive_negative]\n", ""}},
		{"deadline without owner", []string{"  - id: conclusive_decision\n    owner: competent_authority\n", "  - id: conclusive_decision # want: inconsistent_obligation\n"}},
		{"protected without duration", []string{"  - id: recovery_period\n", "  - id: recovery_period # want: inconsistent_obligation\n", "    duration: 30d\n", ""}},
		{"protected with due and met_by", []string{"    duration: 30d\n", "    duration: 30d\n    due: 30d # want: inconsistent_obligation\n    met_by: [recovery_extended] # want: inconsistent_obligation\n"}},
		{"deadline with duration", []string{"    due: 90d\n", "    due: 90d\n    duration: 90d # want: inconsistent_obligation\n"}},
		{"reminder not before due", []string{"    remind: [3wd]\n", "    remind: [3wd, 5wd] # want: inconsistent_obligation\n"}},
		{"reminder in hours after due in days", []string{"    due: 90d\n", "    due: 90d\n    remind: [2200h] # want: inconsistent_obligation\n"}},
		{"conclusive before recovery ends", []string{"    due: 90d\n", "    due: 20d # want: inconsistent_obligation\n"}},
		{"no recovery period", []string{"    kind: protected\n    starts_on: preliminary_positive\n", "    kind: protected\n    starts_on: screening_submitted\n", "obligations:\n", "obligations: # want: inconsistent_obligation\n"}},
		{"two recovery periods", []string{"closure_reasons:", "  - id: second_recovery # want: inconsistent_obligation\n    kind: protected\n    starts_on: preliminary_positive\n    duration: 45d\nclosure_reasons:"}},
		// service reminders are checked the same way
		{"service reminder after response", []string{"remind: [2h]", "remind: [2h, 4h] # want: bad_value"}},
		// cycle
		{"met by its own start", []string{"met_by: [preliminary_positive, preliminary_negative]", "met_by: [preliminary_positive, case_opened] # want: cycle"}},
		{"starts on an obligation event", []string{"    starts_on: case_opened\n", "    starts_on: obligation_breached # want: cycle\n"}},
		{"met by an obligation event", []string{"met_by: [preliminary_positive, preliminary_negative]", "met_by: [preliminary_positive, obligation_met] # want: cycle"}},
		// beds
		{"beds not a boolean", []string{"    urgent: true\n", "    urgent: true\n    beds: some # want: bad_value\n"}},
		{"two services count beds", []string{"    urgent: true\n", "    urgent: true\n    beds: true\n", "obligations:\n",
			"  - {id: medical, urgent: true, beds: true, response_due: 4h, label: {en: Medical, ru: Медицинская помощь, tk: Lukmançylyk kömegi}} # want: bad_value\nobligations:\n"}},
		// decline_reasons and completion_outcomes
		{"decline reason ID", []string{"follow_up_after:", "decline_reasons: [no_capacity, No Room] # want: bad_id\nfollow_up_after:"}},
		{"decline reason twice", []string{"follow_up_after:", "decline_reasons: [no_capacity, other, no_capacity] # want: duplicate_id\nfollow_up_after:"}},
		{"no decline reason", []string{"follow_up_after:", "decline_reasons: [] # want: missing_key\nfollow_up_after:"}},
		{"completion outcomes not a list", []string{"follow_up_after:", "completion_outcomes: done # want: bad_value\nfollow_up_after:"}},
		{"completion outcome null", []string{"follow_up_after:", "completion_outcomes:\n  - service_provided\n  - # want: bad_value\nfollow_up_after:"}},
		// role_agencies
		{"role agencies: unknown role", []string{"follow_up_after:", "role_agencies:\n  twg: twg\n  police: law_enforcement # want: unknown_role\nfollow_up_after:"}},
		{"role agencies: not an agency type", []string{"follow_up_after:", "role_agencies:\n  twg: TWG office # want: bad_id\nfollow_up_after:"}},
		{"role agencies: opening agency elsewhere", []string{"follow_up_after:", "role_agencies:\n  opening_agency: ngo # want: bad_value\nfollow_up_after:"}},
		{"role agencies: role twice", []string{"follow_up_after:", "role_agencies:\n  twg: twg\n  twg: secretariat # want: duplicate_key\nfollow_up_after:"}},
		{"role agencies: not a mapping", []string{"follow_up_after:", "role_agencies: [twg] # want: bad_value\nfollow_up_after:"}},
		// forbids
		{"forbids on a deadline", []string{"    due: 90d\n", "    due: 90d\n    forbids: [closure_requested] # want: inconsistent_obligation\n"}},
		{"forbids an unknown event", []string{"    duration: 30d\n", "    duration: 30d\n    forbids: [conclusive_rejected] # want: unknown_event\n"}},
		{"forbids what cannot be refused", []string{"    duration: 30d\n", "    duration: 30d\n    forbids: [consent_withdrawn] # want: bad_value\n"}},
		{"forbids twice", []string{"    duration: 30d\n", "    duration: 30d\n    forbids: [conclusive_positive, conclusive_positive] # want: duplicate_id\n"}},
		{"forbids not a list", []string{"    duration: 30d\n", "    duration: 30d\n    forbids: conclusive_positive # want: bad_value\n"}},
		// max_extension
		{"extension in hours", []string{"    duration: 30d\n", "    duration: 30d\n    max_extension: 24h # want: bad_value\n"}},
		{"extension over a year", []string{"    duration: 30d\n", "    duration: 30d\n    max_extension: 366d # want: bad_value\n"}},
		{"extension not a duration", []string{"    duration: 30d\n", "    duration: 30d\n    max_extension: a year # want: bad_duration\n"}},
		{"extension of a deadline", []string{"    due: 90d\n", "    due: 90d\n    max_extension: 30d # want: inconsistent_obligation\n"}},
		// follow_up_after, kept for older files, must agree with the follow-up obligation
		{"follow_up_after disagrees", []string{"closure_reasons:", "  - {id: follow_up, owner: opening_agency, starts_on: closure_approved, met_by: [follow_up_done], due: 90d}\nclosure_reasons:",
			"follow_up_after: 90d", "follow_up_after: 60d # want: inconsistent_obligation"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := base
			for i := 0; i+1 < len(c.edits); i += 2 {
				if n := strings.Count(text, c.edits[i]); n != 1 {
					t.Fatalf("edit %q matches %d times", c.edits[i], n)
				}
				text = strings.Replace(text, c.edits[i], c.edits[i+1], 1)
			}
			want := wantedProblems(text)
			if len(want) == 0 {
				t.Fatal("case without a want marker")
			}
			got := problemsOf(t, "edited.yaml", text)
			if !slices.Equal(got, want) {
				t.Errorf("problems %v, want %v\n%s", got, want, describe(t, text))
			}
		})
	}
}

func describe(t *testing.T, text string) string {
	_, err := Parse("edited.yaml", []byte(text))
	if err == nil {
		return "(valid)"
	}
	return err.Error()
}

// The files of testdata/broken are whole SOP files with several problems,
// each marked by a "# want: rule" comment on its line.
func TestBrokenFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no broken files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			text := readFile(t, f)
			want := wantedProblems(text)
			if len(want) == 0 {
				t.Fatal("no want markers")
			}
			_, err := LoadFile(f)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("LoadFile: %v, want *Error", err)
			}
			if got := problemsOf(t, f, text); !slices.Equal(got, want) {
				t.Errorf("problems %v, want %v\n%v", got, want, err)
			}
			for _, p := range e.Problems {
				if !strings.Contains(err.Error(), fmt.Sprintf("%s:%d: %s: ", f, p.Line, p.Rule)) {
					t.Errorf("Error() lacks %q", p.String())
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(e.Problems) {
				t.Errorf("Error() has %d lines for %d problems", n, len(e.Problems))
			}
		})
	}
}

func TestParseDocumentProblems(t *testing.T) {
	minimal := readFile(t, "testdata/minimal.yaml")
	cases := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", []string{"1 syntax"}},
		{"comment only", "# nothing\n", []string{"1 syntax"}},
		{"not a mapping", "- a\n- b\n", []string{"1 bad_value"}},
		{"two documents", minimal + "---\nsop: again\n", []string{fmt.Sprintf("%d syntax", strings.Count(minimal, "\n")+1)}},
		{"tab indentation", "sop: x\ncalendar:\n\ttimezone: UTC\n", []string{"3 syntax"}},
		{"bad indentation", "sop: x\nversion: 1\n  title: y\n", []string{"3 syntax"}},
		{"bad escape (no line from the parser)", "sop: \"\\q\"\n", []string{"1 syntax"}},
		{"control character", "sop: \x00\n", []string{"1 syntax"}},
	}
	for _, c := range cases {
		got := problemsOf(t, "doc.yaml", c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: problems %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile("testdata/does-not-exist.yaml")
	var e *Error
	if err == nil || errors.As(err, &e) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

// TestPolicyKeys: the SOP's referral and recovery policy, written out and
// left to its defaults.
func TestPolicyKeys(t *testing.T) {
	base := readFile(t, "testdata/minimal.yaml")
	def, err := Parse("minimal.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	// Absent keys: what the engine hard-coded before the keys existed.
	if def.BedService != "shelter" || !slices.Equal(def.DeclineReasons, DefaultDeclineReasons) || !slices.Equal(def.CompletionOutcomes, DefaultCompletionOutcomes) ||
		def.RecoveryMaxExtensionDays != 365 || def.AgencyFor("supervisor") != CaseAgency || def.AgencyFor("opening_agency") != CaseAgency ||
		def.AgencyFor("twg") != "twg" || def.AgencyFor("child_protection") != "child_protection" {
		t.Errorf("defaults: beds %q, decline %v, outcomes %v, extension %d, agencies %v", def.BedService, def.DeclineReasons,
			def.CompletionOutcomes, def.RecoveryMaxExtensionDays, def.RoleAgencies)
	}
	if o, _ := def.Obligation("recovery_period"); len(o.Forbids) != 0 || o.MaxExtension != MustParseDuration("365d") {
		t.Errorf("recovery period by default: %+v", o)
	}
	if sv, _ := def.Service("shelter"); !sv.Beds {
		t.Error("the shelter service counts beds by default")
	}
	text := base
	edits := []string{
		"    urgent: true\n", "    urgent: true\n    beds: false\n",
		"obligations:\n", "  - {id: refuge, beds: true, response_due: 4h, label: {en: Refuge, ru: Убежище, tk: Gaçybatalga}}\nobligations:\n",
		"    duration: 30d\n", "    duration: 30d\n    max_extension: 60d\n    forbids: [conclusive_negative, closure_requested]\n",
		"follow_up_after: 90d\n", "decline_reasons: [no_capacity, other]\ncompletion_outcomes: [done]\nrole_agencies:\n  child_protection: guardianship\n  supervisor: regional_office\n",
	}
	for i := 0; i < len(edits); i += 2 {
		if strings.Count(text, edits[i]) != 1 {
			t.Fatalf("edit %q does not match once", edits[i])
		}
		text = strings.Replace(text, edits[i], edits[i+1], 1)
	}
	s, err := Parse("policy.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := s.Obligation("recovery_period")
	if s.BedService != "refuge" || !slices.Equal(s.DeclineReasons, []string{"no_capacity", "other"}) || !slices.Equal(s.CompletionOutcomes, []string{"done"}) ||
		s.RecoveryMaxExtensionDays != 60 || !slices.Equal(o.Forbids, []string{"conclusive_negative", "closure_requested"}) ||
		!o.ForbidsEvent("closure_requested") || o.ForbidsEvent("conclusive_positive") ||
		s.AgencyFor("child_protection") != "guardianship" || s.AgencyFor("supervisor") != "regional_office" || s.AgencyFor("twg") != "twg" {
		t.Errorf("policy: beds %q, decline %v, outcomes %v, extension %d, forbids %v, agencies %v", s.BedService, s.DeclineReasons,
			s.CompletionOutcomes, s.RecoveryMaxExtensionDays, o.Forbids, s.RoleAgencies)
	}
	if !s.IsDeclineReason("other") || s.IsDeclineReason("language") || !s.IsCompletionOutcome("done") || s.IsCompletionOutcome("service_provided") {
		t.Error("IsDeclineReason / IsCompletionOutcome")
	}
	if _, ok := s.FollowUp(); ok {
		t.Error("minimal.yaml has no follow-up obligation")
	}
	// Diff compares the policy at its defaults.
	want := []Change{
		{"service", "refuge", "", "", "beds response_due=4h"},
		{"service", "shelter", "beds", "true", "false"},
		{"obligation", "recovery_period", "forbids", "", "conclusive_negative, closure_requested"},
		{"obligation", "recovery_period", "max_extension", "365d", "60d"},
		{"decline_reason", "conflict_of_interest", "", "decline reason", ""},
		{"decline_reason", "eligibility", "", "decline reason", ""},
		{"decline_reason", "language", "", "decline reason", ""},
		{"decline_reason", "outside_area", "", "decline reason", ""},
		{"decline_reason", "service_not_available", "", "decline reason", ""},
		{"completion_outcome", "done", "", "", "completion outcome"},
		{"completion_outcome", "not_needed", "", "completion outcome", ""},
		{"completion_outcome", "other", "", "completion outcome", ""},
		{"completion_outcome", "partially_provided", "", "completion outcome", ""},
		{"completion_outcome", "person_left", "", "completion outcome", ""},
		{"completion_outcome", "service_provided", "", "completion outcome", ""},
		{"role_agency", "child_protection", "agency", "child_protection", "guardianship"},
		{"role_agency", "supervisor", "agency", "case_agency", "regional_office"},
	}
	if got := Diff(def, s); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	// beds: false on the only service counts no beds.
	none := strings.Replace(base, "    urgent: true\n", "    urgent: true\n    beds: false\n", 1)
	if s, err := Parse("none.yaml", []byte(none)); err != nil || s.BedService != "" {
		t.Errorf("beds: false: %v, bed service %q", err, s.BedService)
	}
}
