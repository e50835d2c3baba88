package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/workflows"
)

// messages reads one catalogue as its keys and, per key, the plural forms
// it gives ("" for a plain string).
func messages(t *testing.T, lang string) map[string][]string {
	t.Helper()
	files, err := localeFileNames()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, name := range files[lang] {
		data, err := fs.ReadFile(localeFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range raw {
			if _, dup := out[k]; dup {
				t.Errorf("%s: %s is also in another %s file", name, k, lang)
			}
			switch m := v.(type) {
			case string:
				out[k] = []string{""}
			case map[string]any:
				out[k] = nil
				for form := range m {
					out[k] = append(out[k], form)
				}
				sort.Strings(out[k])
			default:
				t.Errorf("%s: %s is neither a string nor plural forms", name, k)
			}
		}
	}
	return out
}

// Every message exists in every language, with the plural forms CLDR
// gives that language (Russian: one, few, many, other; Turkmen and English:
// one, other).
func TestCataloguesAreComplete(t *testing.T) {
	if _, err := loadCatalogue(); err != nil {
		t.Fatal(err)
	}
	all := map[string]map[string][]string{}
	for _, l := range Languages {
		all[l] = messages(t, l)
	}
	for _, l := range Languages {
		for _, other := range Languages {
			for k := range all[other] {
				if _, ok := all[l][k]; !ok {
					t.Errorf("%s.yaml lacks %q (in %s.yaml)", l, k, other)
				}
			}
		}
		for k, forms := range all[l] {
			if forms[0] == "" && len(forms) == 1 {
				continue
			}
			for _, want := range cldrForms(t, l) {
				if !slices.Contains(forms, want) {
					t.Errorf("%s.yaml: %s lacks the plural form %q", l, k, want)
				}
			}
		}
	}
}

// cldrForms are the plural categories CLDR gives a language for integers.
func cldrForms(t *testing.T, lang string) []string {
	t.Helper()
	tag := language.MustParse(lang)
	seen := map[string]bool{}
	names := map[plural.Form]string{plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many", plural.Other: "other"}
	for n := 0; n < 200; n++ {
		seen[names[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)]] = true
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	return out
}

var messageUse = regexp.MustCompile(`T "([a-z_.]+)"|"([a-z_]+\.[a-z_.]+)"`)

// Every message is used: by a template ({{.T "key"}}), by Go code of the
// package, or through a prefix the templates complete with a code (stage.,
// language.) whose codes all have a message.
func TestEveryMessageIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, glob := range []string{"templates/*.html", "*.go"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range messageUse.FindAllStringSubmatch(string(data), -1) {
				used[m[1]+m[2]] = true
			}
		}
	}
	stages := []string{workflows.StageScreening, workflows.StageIdentification, workflows.StageRecovery, workflows.StageAssistance,
		workflows.StageClosure, workflows.StageFollowUp, workflows.StageClosed}
	for _, s := range stages {
		used["stage."+s] = true
	}
	for _, l := range Languages {
		used["language."+l] = true
	}
	for _, o := range []string{workflows.ObligationPending, workflows.ObligationMet, workflows.ObligationBreached,
		workflows.ObligationCancelled, workflows.ObligationRunning, workflows.ObligationEnded} {
		used["obligation."+o] = true
	}
	markCaseFileCodes(used)
	markScreeningCodes(used)
	markProviderCodes(used) // provider_test.go
	en := messages(t, "en")
	for k := range en {
		// rule.<code>: a refusal's reason, looked up by the rule's code (form.go).
		if !used[k] && !strings.HasPrefix(k, "rule.") {
			t.Errorf("message %q is in the catalogues but used nowhere", k)
		}
	}
	for k := range used {
		if strings.Contains(k, ".") && !strings.HasSuffix(k, ".") && !strings.HasPrefix(k, "locales") && looksLikeMessage(k, en) {
			if _, ok := en[k]; !ok {
				t.Errorf("%q is used but has no message", k)
			}
		}
	}
}

// looksLikeMessage tells message IDs from other dotted strings in Go code
// (file names, MIME types): IDs start with a section of the catalogue.
func looksLikeMessage(s string, catalogue map[string][]string) bool {
	if strings.HasSuffix(s, ".css") || strings.HasSuffix(s, ".js") || strings.HasSuffix(s, ".html") {
		return false
	}
	section, _, _ := strings.Cut(s, ".")
	for k := range catalogue {
		if strings.HasPrefix(k, section+".") {
			return true
		}
	}
	return false
}

// The plural forms render with the count, in each language.
func TestPluralsFollowTheLanguage(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang  string
		n     int
		wants string
	}{
		{"en", 1, "1 open case"}, {"en", 3, "3 open cases"},
		{"ru", 1, "1 открытое дело"}, {"ru", 3, "3 открытых дела"}, {"ru", 5, "5 открытых дел"}, {"ru", 21, "21 открытое дело"},
		{"tk", 1, "1 açyk iş"}, {"tk", 7, "7 açyk iş"},
	} {
		if got := c.translator(tc.lang).T("worklist.count", map[string]any{"Count": tc.n}); got != tc.wants {
			t.Errorf("%s %d: %q, want %q", tc.lang, tc.n, got, tc.wants)
		}
	}
}

// markCaseFileCodes marks the messages the case page and its forms build
// from codes (casepage.go, caseactions.go).
func markCaseFileCodes(used map[string]bool) {
	for _, d := range doneMessages {
		used["done."+d] = true
	}
	for name := range actionPaths {
		used["action."+name] = true
	}
	used["action."+workflows.UpdateReview] = true
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given", "consent_declined", "consent_withdrawn",
		"guardian_appointed", "preliminary_positive", "preliminary_negative", "conclusive_positive", "conclusive_negative",
		"negative_review_confirmed", "negative_review_overturned", "recovery_extended", "closure_requested", "closure_approved",
		"closure_rejected", "follow_up_done", "case_closed", "referral_sent", "referral_redirected", "referral_accepted",
		"referral_declined", "referral_completed", "referral_withdrawn", "referral_progress", "obligation_met",
		"obligation_breached", "identity_erased", "case_transferred", "case_reopened", "case_linked"} {
		used["event."+e] = true
	}
	for _, kind := range []string{workflows.KindPreliminary, workflows.KindConclusive} {
		for _, outcome := range []string{workflows.OutcomePositive, workflows.OutcomeNegative} {
			used["decision."+kind+"_"+outcome] = true
		}
	}
	for _, r := range []string{"pending", "confirmed", "overturned"} {
		used["review."+r] = true
	}
	for _, st := range []string{workflows.ReferralPending, workflows.ReferralAccepted, workflows.ReferralCompleted,
		workflows.ReferralWithdrawn, workflows.ReferralUnrouted} {
		used["referral."+st] = true
	}
	for _, k := range []string{"note", "consent_withdrawn", "decision", "review", "guardian", "recovery_extension", "referral",
		"closure_request", "closure_approval", "closure_rejection", "follow_up", "referral_accept", "referral_decline",
		"referral_progress", "referral_complete", "transfer", "reopen"} {
		used["notekind."+k] = true
	}
	for _, r := range []string{"reintegrated", "returned_home", "consent_withdrawn", "not_identified", "lost_contact",
		"transferred_abroad", "deceased", "other"} {
		used["closure_reason."+r] = true
	}
}

// markScreeningCodes marks the messages the screening form builds from the
// codes of the open request's rules and the SOP's strengths (screening.go).
func markScreeningCodes(used map[string]bool) {
	for prefix, codes := range map[string][]string{"screening.sex.": cases.Sexes(), "screening.context.": cases.EncounterContexts(),
		"screening.exploitation.": cases.ExploitationTypes(), "screening.strength.": sop.Strengths, "screening.count.": sop.Strengths} {
		for _, c := range codes {
			used[prefix+c] = true
		}
	}
}

// Dates are written as each language writes them.
func TestDatesFollowTheLanguage(t *testing.T) {
	at := time.Date(2026, 11, 29, 14, 5, 0, 0, time.UTC)
	for lang, want := range map[string]string{"tk": "29.11.2026 14:05", "ru": "29.11.2026 14:05", "en": "29 Nov 2026 14:05"} {
		if got := (boundPage{page: page{Lang: lang}}).DateTime(at); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	for _, lang := range Languages {
		if _, ok := dateLayouts[lang]; !ok {
			t.Errorf("no date layout for %s", lang)
		}
	}
}
