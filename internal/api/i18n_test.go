package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"gopkg.in/yaml.v3"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
)

// Every message of the problem catalogue exists in every language, with the
// same placeholders, and no two English texts are the same.
func TestProblemCataloguesAreComplete(t *testing.T) {
	if _, err := loadProblemCatalogue(); err != nil {
		t.Fatal(err)
	}
	all := map[string]map[string]string{}
	for _, l := range ProblemLanguages {
		data, err := fs.ReadFile(problemLocaleFiles, "locales/"+l+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s.yaml: %v (every message is a plain string)", l, err)
		}
		all[l] = m
	}
	placeholders := func(s string) []string {
		var out []string
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return out
	}
	for _, l := range ProblemLanguages {
		for _, other := range ProblemLanguages {
			for k := range all[other] {
				if _, ok := all[l][k]; !ok {
					t.Errorf("locales/%s.yaml lacks %q (in %s.yaml)", l, k, other)
				}
			}
		}
		for k, text := range all[l] {
			if strings.TrimSpace(text) == "" {
				t.Errorf("locales/%s.yaml: %s is empty", l, k)
			}
			if en, ok := all["en"][k]; ok && !slices.Equal(placeholders(text), placeholders(en)) {
				t.Errorf("locales/%s.yaml: %s has placeholders %v, English %v", l, k, placeholders(text), placeholders(en))
			}
			if l != "en" && text == all["en"][k] {
				t.Errorf("locales/%s.yaml: %s is the English text", l, k)
			}
		}
	}
}

// The language of a problem follows Accept-Language among en, ru and tk;
// anything else is English.
func TestProblemLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"": "en", "ru": "ru", "ru-RU,ru;q=0.9,en;q=0.5": "ru", "tk": "tk", "tk-TM": "tk", "en-GB": "en",
		"de-DE": "en", "de, ru;q=0.5": "ru", "ru;q=0.2, tk;q=0.8": "tk", "*": "en", "not a header;;": "en",
	} {
		if got := problemMessages.language(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}

// Details with values keep the values; unknown details stay English; the
// problem's codes do not change and the error's own field list is not
// touched.
func TestProblemLocalize(t *testing.T) {
	errs := []cases.FieldError{
		{Field: "indicators[2]", Rule: "sop_indicator", Message: `"x" is not an indicator of SOP 2026.1`},
		{Field: "person.given_name", Rule: "required", Message: "is required"},
		{Field: "z", Rule: "z", Message: "something no catalogue knows"},
	}
	p := Problem{Type: problemBase + ProblemValidation, Title: "Unprocessable Entity", Status: 422,
		Detail: "the request has invalid fields", Errors: errs}
	ru := problemMessages.localize(p, "ru")
	if ru.Detail != "в запросе есть недопустимые поля" || ru.Type != p.Type || ru.Title != p.Title || ru.Status != 422 {
		t.Errorf("ru: %+v", ru)
	}
	want := []cases.FieldError{
		{Field: "indicators[2]", Rule: "sop_indicator", Message: `"x" не является признаком по SOP 2026.1`},
		{Field: "person.given_name", Rule: "required", Message: "обязательное поле"},
		{Field: "z", Rule: "z", Message: "something no catalogue knows"},
	}
	if !slices.Equal(ru.Errors, want) {
		t.Errorf("ru errors: %+v, want %+v", ru.Errors, want)
	}
	if errs[1].Message != "is required" {
		t.Errorf("localize changed the error's own messages")
	}
	if en := problemMessages.localize(p, "en"); en.Detail != p.Detail || !slices.Equal(en.Errors, errs) {
		t.Errorf("en: %+v", en)
	}
	// The most specific pattern wins; values carry over.
	loc := i18n.NewLocalizer(problemMessages.bundle, "tk")
	for english, want := range map[string]string{
		"the referral is declined, not accepted":                        "ugrukdyrma kabul edilmedik, ol declined ýagdaýynda",
		"the referral is already completed":                             "ugrukdyrma eýýäm completed ýagdaýynda",
		"the referral is withdrawn":                                     "ugrukdyrma withdrawn ýagdaýynda",
		"the referral is closed":                                        "ugrukdyrma ýapyldy",
		"region must be one of: Ahal, Lebap":                            "welaýat şularyň biri bolmaly: Ahal, Lebap",
		"must be one of: json csv":                                      "şu bahalaryň biri bolmaly: json csv",
		"3 referrals are open: complete or withdraw them first":         "açyk ugrukdyrmalar: 3; ilki olary tamamlaň ýa-da yzyna alyň",
		"is longer or larger than 90 (the max_extension of SOP 2026.1)": "rugsat berilenden (90, SOP 2026.1 boýunça max_extension) uzyn ýa-da uly",
	} {
		if got := problemMessages.translate(loc, english); got != want {
			t.Errorf("tk %q: %q, want %q", english, got, want)
		}
	}
}

// Every detail and field message the API's routes, the case service and the
// workflows write as a literal or a format is in the catalogue: a new one
// fails here until it has its translations in locales/*.yaml. (Texts built
// by concatenation, and those of other packages, are checked by hand.)
func TestProblemTextsAreInTheCatalogue(t *testing.T) {
	str := `"((?:[^"\\]|\\.)*)"`
	sources := []struct {
		glob string
		res  []*regexp.Regexp
	}{
		{"*.go", []*regexp.Regexp{
			regexp.MustCompile(`newProblem\([^,()]+,\s*[^,()]+,\s*` + str + `\)`),
			regexp.MustCompile(`csrfProblem\(` + str + `\)`),
			regexp.MustCompile(`Message:\s*` + str + `\s*[,}]`),
			regexp.MustCompile(`Message:\s*fmt\.Sprintf\(` + str),
			regexp.MustCompile(`textError\([^,()]+,\s*"\w+",\s*` + str + `\)`),
		}},
		{"../cases/*.go", []*regexp.Regexp{
			regexp.MustCompile(`\.add\([^,()]+,\s*"\w+",\s*` + str + `\)`),
			regexp.MustCompile(`\.add\([^,()]+,\s*"\w+",\s*fmt\.Sprintf\(` + str),
			regexp.MustCompile(`Detail:\s*` + str + `\s*}`),
			regexp.MustCompile(`return ` + str + `\n`),
		}},
		{"../../workflows/*.go", []*regexp.Regexp{
			regexp.MustCompile(`ruleError\([^,()]+,\s*` + str),
		}},
	}
	// Formats whose values the catalogue spells out, and the values they take.
	samples := map[string][]string{
		"must be a %s": {"must be a string", "must be a boolean", "must be a number", "must be a array", "must be a object"},
	}
	sample := strings.NewReplacer("%d", "7", "%s", "x", "%q", `"x"`, "%v", "[a b]")
	loc := i18n.NewLocalizer(problemMessages.bundle, "ru")
	checked := 0
	for _, src := range sources {
		files, err := filepath.Glob(src.glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range src.res {
				for _, m := range re.FindAllStringSubmatch(string(data), -1) {
					var text string
					if _, err := fmt.Sscanf(`"`+m[1]+`"`, "%q", &text); err != nil {
						t.Fatalf("%s: %s: %v", f, m[1], err)
					}
					if text == "" || !strings.Contains(text, " ") {
						continue // a code, not a sentence
					}
					instances, ok := samples[text]
					if !ok {
						instances = []string{sample.Replace(text)}
					}
					for _, english := range instances {
						checked++
						if problemMessages.translate(loc, english) == english {
							t.Errorf("%s: %q is not in locales/*.yaml (internal/api/i18n.go)", f, english)
						}
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d texts found in the sources: the scan is broken", checked)
	}
}

// The directory's, the password policy's and the channel targets' reasons,
// which routes answer as validation messages, are in the catalogue too.
func TestProblemReasonsOfOtherPackagesAreTranslated(t *testing.T) {
	var messages []string
	for _, email := range []string{"", "no-at-sign", "a b@x.example", "a\u200b@x.example", "аb@x.example", "a\u0661@x.example", "a!b@x.example"} {
		if _, err := directory.NormalizeEmail(email); err != nil {
			messages = append(messages, err.Error())
		} else {
			t.Errorf("NormalizeEmail(%q) refused nothing", email)
		}
	}
	for _, pw := range []string{"short", "password1234", "aaaaaaaaaaaaaaaa", "aygul likes the long summer"} {
		if err := auth.CheckPasswordPolicy(pw, "aygul@x.example"); err != nil {
			messages = append(messages, "password refused: "+err.(*auth.PolicyError).Reason, err.Error())
		} else {
			t.Errorf("the password policy let %q through", pw)
		}
	}
	shelter := &store.Agency{Type: "shelter", Services: store.Strings{"shelter"}}
	police := &store.Agency{Type: "police"}
	for _, c := range []struct {
		role auth.Role
		a    *store.Agency
	}{
		{auth.Frontline, &store.Agency{Type: "twg"}}, {auth.TWG, police}, {auth.Provider, police}, {auth.Frontline, shelter}, {"nobody", police},
	} {
		if err := directory.RoleAllowed(c.role, c.a); err != nil {
			messages = append(messages, err.Error())
		}
	}
	messages = append(messages, directory.ErrNoAgency.Error(), directory.ErrEmailTaken.Error(), directory.ErrSelf.Error(), directory.ErrLastAdmin.Error())
	for _, target := range []struct{ kind, target string }{
		{"webhook", "not a url"}, {"webhook", "ftp://x.example/"}, {"webhook", "https://user:pw@192.0.2.1/"}, {"webhook", "https://192.0.2.1/#x"},
		{"webhook", "https://[fe80::1%25eth0]/"}, {"webhook", "https://192.0.2.1:0/"}, {"webhook", "https://0x7f.0.0.1/"},
		{"webhook", "http://192.0.2.1/"}, {"webhook", "https://xn--/"}, {"webhook", "https://ex\u00e4mple.example/"},
		{"webhook", "https://a\nb/"}, {"email", "Name <a@b.example>"}, {"sms", "123"},
	} {
		err := notify.CheckTarget(context.Background(), nil, target.kind, target.target)
		var te *notify.TargetError
		if !errors.As(err, &te) {
			t.Errorf("CheckTarget(%s, %q): %v", target.kind, target.target, err)
			continue
		}
		messages = append(messages, te.Reason)
	}
	loc := i18n.NewLocalizer(problemMessages.bundle, "tk")
	for _, m := range messages {
		if problemMessages.translate(loc, m) == m {
			t.Errorf("%q is not in locales/*.yaml", m)
		}
	}
}
