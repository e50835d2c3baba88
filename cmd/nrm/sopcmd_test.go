package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	realSOPFile = "../../sop/tm-nrm-2026.1.yaml"
	minimalFile = "../../internal/sop/testdata/minimal.yaml"
	fastFile    = "../../internal/sop/testdata/fast.yaml"
	brokenFile  = "../../internal/sop/testdata/broken/many.yaml"
)

func runSOP(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = sopCommand(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSOPUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"validate"}, 2},
		{[]string{"validate", "--bogus", realSOPFile}, 2},
		{[]string{"show", "--sop"}, 2},
		{[]string{"show", "--sop", "../../sop", "2026.1", "2026.2"}, 2},
		{[]string{"show", "--lang", "fr"}, 2},
		{[]string{"diff", realSOPFile}, 2},
		{[]string{"diff", realSOPFile, fastFile, minimalFile}, 2},
		{[]string{"--help"}, 0},
		{[]string{"show", "-h"}, 0},
	}
	for _, c := range cases {
		code, stdout, stderr := runSOP(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, c.code, stderr)
		}
		if !strings.Contains(stdout+stderr, "usage:") {
			t.Errorf("%v: no usage printed", c.args)
		}
	}
}

func TestSOPValidate(t *testing.T) {
	code, stdout, stderr := runSOP(t, "validate", realSOPFile, fastFile)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "ok "+realSOPFile+": tm-nrm 2026.1, effective 2026-01-01, sha256 ") || !strings.Contains(stdout, "tm-nrm test.fast") {
		t.Errorf("stdout %q", stdout)
	}
	// A folder.
	if code, stdout, _ := runSOP(t, "validate", "../../sop"); code != 0 || !strings.Contains(stdout, "tm-nrm 2026.1") {
		t.Errorf("folder: exit %d, %q", code, stdout)
	}
	// Problems: every one as file:line: rule: message; valid files still reported.
	code, stdout, stderr = runSOP(t, "validate", minimalFile, brokenFile)
	if code != 1 {
		t.Errorf("broken: exit %d", code)
	}
	for _, want := range []string{
		brokenFile + ":8: bad_value: ",
		brokenFile + ":10: bad_value: calendar.timezone",
		brokenFile + ":31: cycle: ",
		brokenFile + ":34: unknown_role: ",
		"17 problem(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "ok "+minimalFile) {
		t.Errorf("stdout %q", stdout)
	}
	// The same version given twice across arguments.
	dir := t.TempDir()
	data, err := os.ReadFile(realSOPFile)
	if err != nil {
		t.Fatal(err)
	}
	copyFile := filepath.Join(dir, "copy.yaml")
	if err := os.WriteFile(copyFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runSOP(t, "validate", realSOPFile, copyFile)
	if code != 1 || !strings.Contains(stderr, copyFile+":14: duplicate_version: ") {
		t.Errorf("duplicate: exit %d, %q", code, stderr)
	}
	code, _, stderr = runSOP(t, "validate", "nowhere.yaml")
	if code != 1 || !strings.Contains(stderr, "nowhere.yaml") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

func TestSOPShow(t *testing.T) {
	old := sopNow
	defer func() { sopNow = old }()
	sopNow = func() time.Time { return time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC) }

	code, stdout, stderr := runSOP(t, "show", "--sop", "../../sop")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"SOP tm-nrm version 2026.1: National referral mechanism of Turkmenistan for victims of trafficking in persons\n",
		"2026.1 (in effect now)",
		"weekend sat, sun; 22 holidays",
		"2026-01-01 2026-03-08",
		"under 18 years",
		"at least 30d",
		"90d after closure",
		"identity destroyed 1826d after closure",
		"DIMENSIONS (6)",
		"deceptive_recruitment",
		"strong:2 | strong:1+medium:1 | strong:1+weak:1 | medium:3 | medium:2+weak:1",
		"(deceptive_recruitment OR coercive_recruitment OR recruitment_vulnerability) AND (exploitative_conditions) AND (coercion_at_destination OR vulnerability_at_destination)",
		"SERVICES (9)",
		"education_vocational",
		"OBLIGATIONS (9)",
		"preliminary_positive | preliminary_negative",
		"protected for 30d",
		"competent_authority",
		"supervisor, twg",
		"CLOSURE REASONS",
		"transferred_abroad",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("show lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\neffective from +2026-01-01 00:00 Asia/Ashgabat\n`).MatchString(stdout) {
		t.Errorf("show lacks the effective date:\n%s", stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "shelter" && !(f[1] == "yes" && f[2] == "4h" && f[3] == "2h") {
			t.Errorf("shelter line %q", line)
		}
		if len(f) > 0 && f[0] == "preliminary_decision" && !(f[1] == "all" && f[2] == "case_opened" && strings.Contains(line, " 5wd ") && strings.Contains(line, " 3wd ")) {
			t.Errorf("preliminary_decision line %q", line)
		}
		if len(f) > 0 && f[0] == "total" && f[1] != "57" {
			t.Errorf("total line %q", line)
		}
	}
	// Labels in Turkmen; a version by name; a single file.
	code, stdout, _ = runSOP(t, "show", "--lang", "tk", "2026.1", "--sop", realSOPFile)
	if code != 0 || !strings.Contains(stdout, "Türkmenistanda adam söwdasynyň") || !strings.Contains(stdout, "Howpsuz ýaşaýyş ýeri") {
		t.Errorf("tk: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runSOP(t, "show", "--sop", "../../sop", "2031.1"); code != 1 || !strings.Contains(stderr, `no version "2031.1"`) || !strings.Contains(stderr, "have: 2026.1") {
		t.Errorf("unknown version: exit %d, %q", code, stderr)
	}
	sopNow = func() time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) }
	if code, _, stderr := runSOP(t, "show", "--sop", "../../sop"); code != 1 || !strings.Contains(stderr, "no SOP version is in effect") {
		t.Errorf("before any version: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runSOP(t, "show", "--sop", brokenFile); code != 1 || !strings.Contains(stderr, brokenFile+":8: bad_value") {
		t.Errorf("broken: exit %d, %q", code, stderr)
	}
}

func TestSOPDiff(t *testing.T) {
	code, stdout, stderr := runSOP(t, "diff", realSOPFile, fastFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"--- " + realSOPFile + " (tm-nrm 2026.1, effective 2026-01-01)",
		"+++ " + fastFile + " (tm-nrm test.fast, effective 2020-01-01)",
		"general\n",
		`  ~ version: "2026.1" -> "test.fast"`,
		`  ~ preliminary_decision due: "5wd" -> "5s"`,
		`  ~ shelter response_due: "4h" -> "4s"`,
		`  ~ recovery_period duration: "30d" -> "10s"`,
		"  - sexual_violence: dimension=coercion_at_destination strength=strong",
		"  - 2026-03-08: holiday",
		"change(s): ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff lacks %q", want)
		}
	}
	code, stdout, _ = runSOP(t, "diff", realSOPFile, realSOPFile)
	if code != 0 || !strings.Contains(stdout, "no differences") {
		t.Errorf("same file: exit %d, %q", code, stdout)
	}
	// Added items show as "+".
	code, stdout, _ = runSOP(t, "diff", fastFile, realSOPFile)
	if code != 0 || !strings.Contains(stdout, "  + sexual_violence: dimension=coercion_at_destination strength=strong") {
		t.Errorf("reverse: exit %d", code)
	}
	if code, _, stderr := runSOP(t, "diff", realSOPFile, brokenFile); code != 1 || !strings.Contains(stderr, brokenFile+":") {
		t.Errorf("broken: exit %d, %q", code, stderr)
	}
}

// TestSOPPolicyKeys: the keys of 2026.2 are validated with file and line,
// shown and compared.
func TestSOPPolicyKeys(t *testing.T) {
	const next = "../../sop/tm-nrm-2026.2.yaml"
	code, stdout, stderr := runSOP(t, "diff", realSOPFile, next)
	if code != 0 {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`  ~ version: "2026.1" -> "2026.2"`,
		`  ~ effective_from: "2026-01-01" -> "2027-01-01"`,
		"obligation\n" + `  ~ recovery_period forbids: "" -> "conclusive_positive, conclusive_negative"`,
		"3 change(s): 0 added, 0 removed, 3 changed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, stderr = runSOP(t, "show", "--sop", "../../sop", "2026.2")
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"one extension at most 365d",
		"due 90d after closure is approved (follow_up)",
		"counted by the shelter service",
		"FORBIDS",
		"conclusive_positive, conclusive_negative",
		"DECLINE REASONS      no_capacity, service_not_available, outside_area, language, eligibility, conflict_of_interest, other",
		"COMPLETION OUTCOMES  service_provided, partially_provided, person_left, not_needed, other",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`\n  supervisor +case_agency \(the agency that opened the case\)\n`).MatchString(stdout) ||
		!regexp.MustCompile(`\n  twg +agency type twg\n`).MatchString(stdout) {
		t.Errorf("show lacks the role agencies:\n%s", stdout)
	}

	// Problems with the new keys, each on its line.
	data, err := os.ReadFile(next)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, e := range [][2]string{
		{"    max_extension: 365d\n", "    max_extension: 400d\n"},
		{"forbids: [conclusive_positive, conclusive_negative]", "forbids: [conclusive_positive, referral_sent]"},
		{"  - conflict_of_interest\n", "  - Conflict of interest\n"},
		{"  twg: twg\n", "  minister: ministry\n"},
		{"    urgent: true\n    beds: true\n", "    urgent: true\n    beds: sometimes\n"},
	} {
		if strings.Count(text, e[0]) != 1 {
			t.Fatalf("edit %q does not match once", e[0])
		}
		text = strings.Replace(text, e[0], e[1], 1)
	}
	lineOf := func(s string) int { return strings.Count(text[:strings.Index(text, s)], "\n") + 1 }
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(broken, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runSOP(t, "validate", broken)
	if code != 1 {
		t.Fatalf("validate: exit %d", code)
	}
	for _, want := range []string{
		fmt.Sprintf("%s:%d: bad_value: ", broken, lineOf("max_extension: 400d")),
		fmt.Sprintf("%s:%d: bad_value: ", broken, lineOf("referral_sent]")),
		fmt.Sprintf("%s:%d: bad_id: ", broken, lineOf("Conflict of interest")),
		fmt.Sprintf("%s:%d: unknown_role: ", broken, lineOf("minister: ministry")),
		fmt.Sprintf("%s:%d: bad_value: ", broken, lineOf("beds: sometimes")),
		"5 problem(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate lacks %q:\n%s", want, stderr)
		}
	}
}
