package app_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// Countries (issue 15, point 7) at screening, on the case page and in the
// web form, and the "Correct" form with the history (point 1).

// prioritySOP is a folder holding the Turkmen SOP in force with
// priority_countries added: a test copy (its hash is another, which a fresh
// database pins anew), never a version in force.
func prioritySOP(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "sop", "tm-nrm-2026.1.yaml"))
	testenv.Must(t, err)
	dir := t.TempDir()
	testenv.Must(t, os.WriteFile(filepath.Join(dir, "tm-nrm-2026.1.yaml"), append(data, []byte("priority_countries: [TR, RU, AE, TM]\n")...), 0o600))
	return dir
}

type countriesCase struct {
	ID                    string   `json:"id"`
	ExploitationCountries []string `json:"exploitation_countries"`
	TransitCountries      []string `json:"transit_countries"`
}

// The screening body and the case carry the countries; codes that are no
// assigned country are refused and nothing is opened; the countries never
// reach the workflow's search attributes.
func TestCountriesAtScreening(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")

	body := testenv.Screening()
	body["exploitation_countries"] = []string{"TR", "AE", "TR"}
	body["transit_countries"] = []string{"UZ"}
	var opened countriesCase
	mustStatus(t, "open with countries", officer.Do(t, "POST", "/api/v1/cases", body, &opened), http.StatusCreated)
	if !slices.Equal(opened.ExploitationCountries, []string{"TR", "AE"}) || !slices.Equal(opened.TransitCountries, []string{"UZ"}) {
		t.Errorf("opened with %v / %v, want [TR AE] / [UZ]", opened.ExploitationCountries, opened.TransitCountries)
	}
	var list struct {
		Cases []countriesCase `json:"cases"`
	}
	mustStatus(t, "list", officer.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
	if len(list.Cases) != 1 || !slices.Equal(list.Cases[0].ExploitationCountries, []string{"TR", "AE"}) {
		t.Errorf("the list: %+v", list.Cases)
	}
	internal := testenv.Screening()
	internal["exploitation_countries"] = []string{"TM"}
	var home countriesCase
	mustStatus(t, "trafficking within the country", officer.Do(t, "POST", "/api/v1/cases", internal, &home), http.StatusCreated)
	if !slices.Equal(home.ExploitationCountries, []string{"TM"}) || len(home.TransitCountries) != 0 {
		t.Errorf("internal trafficking: %+v", home)
	}

	for _, c := range []struct {
		field string
		codes any
		want  string
	}{
		{"exploitation_countries", []string{"TR", "XX"}, "exploitation_countries[1] country"},
		{"exploitation_countries", []string{"EU"}, "exploitation_countries[0] country"},
		{"transit_countries", []string{"uz"}, "transit_countries[0] uppercase"},
		{"transit_countries", []string{"UZB"}, "transit_countries[0] len"},
		{"transit_countries", "UZ", "transit_countries type"},
		{"exploitation_countries", slices.Repeat([]string{"TR"}, 31), "exploitation_countries max"},
	} {
		b := testenv.Screening()
		b[c.field] = c.codes
		var p problemBody
		mustStatus(t, c.want, officer.Do(t, "POST", "/api/v1/cases", b, &p), http.StatusUnprocessableEntity)
		if got := fieldRules(p); !slices.Contains(got, c.want) {
			t.Errorf("%v: errors %v, want %s", c.codes, got, c.want)
		}
	}
	mustStatus(t, "list", officer.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
	if len(list.Cases) != 2 {
		t.Errorf("%d cases after refused screenings, want 2", len(list.Cases))
	}

	desc, err := sys.Temporal.DescribeWorkflowExecution(context.Background(), workflows.CaseWorkflowID(opened.ID), "")
	testenv.Must(t, err)
	for name, v := range desc.WorkflowExecutionInfo.GetSearchAttributes().GetIndexedFields() {
		if strings.Contains(strings.ToLower(name), "countr") || strings.Contains(string(v.GetData()), `"TR"`) ||
			strings.Contains(string(v.GetData()), `"AE"`) {
			t.Errorf("search attribute %s = %s carries the countries", name, v.GetData())
		}
	}
}

var countryCheckbox = regexp.MustCompile(`<input type="checkbox" id="(exploitation_countries[^"]*)" name="exploitation_countries" value="([A-Z]{2})"`)

// The screening form offers the SOP's priority countries first, named in
// the page's language, and the codes of any other; what it sends is
// recorded on the case and shown on the case page.
func TestScreeningFormCountries(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = prioritySOP(t)
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)

	for lang, names := range map[string][]string{
		"en": {"Turkey", "Russia", "United Arab Emirates", "Turkmenistan"},
		"ru": {"Турция", "Россия", "ОАЭ", "Туркменистан"},
		"tk": {"Türkiýe", "Russiýa", "Birleşen Arap Emirlikleri", "Türkmenistan"},
	} {
		_, page := b.do(t, "GET", "/cases/new?lang="+lang, nil, nil)
		var codes []string
		for _, m := range countryCheckbox.FindAllStringSubmatch(page, -1) {
			codes = append(codes, m[2])
		}
		if !slices.Equal(codes, []string{"TR", "RU", "AE", "TM"}) {
			t.Errorf("%s: priority countries %v, want the SOP's TR RU AE TM in its order", lang, codes)
		}
		for _, n := range names {
			if !strings.Contains(html.UnescapeString(page), n) {
				t.Errorf("%s: the form does not name %q", lang, n)
			}
		}
		if !strings.Contains(page, `name="exploitation_countries_other"`) || !strings.Contains(page, `name="transit_countries_other"`) {
			t.Errorf("%s: no box for other countries", lang)
		}
	}

	// A code that is no country: the form again, with the error linked to the question.
	csrf, key := screeningFormFields(t, b, "en")
	form := screeningAnswers(csrf, key)
	form["exploitation_countries"] = []string{"TR"}
	form.Set("exploitation_countries_other", "ae, xx")
	resp, page := b.do(t, "POST", "/cases/new", form, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#exploitation_countries"`) ||
		!strings.Contains(page, "Enter countries as two-letter country codes") {
		t.Fatalf("a code that is no country: %d, want 422 with the error on the question", resp.StatusCode)
	}
	if n := screeningCases(t, api); n != 0 {
		t.Errorf("%d cases opened by a refused form", n)
	}
	form.Set("exploitation_countries_other", "ae kz")
	form.Set("transit_countries_other", "uz")
	resp, _ = b.do(t, "POST", "/cases/new", form, nil)
	m := screeningOpenedAt.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("send the form: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var k countriesCase
	mustStatus(t, "the case", api.Do(t, "GET", "/api/v1/cases/"+m[1], nil, &k), http.StatusOK)
	if !slices.Equal(k.ExploitationCountries, []string{"TR", "AE", "KZ"}) || !slices.Equal(k.TransitCountries, []string{"UZ"}) {
		t.Errorf("countries of the case %v / %v", k.ExploitationCountries, k.TransitCountries)
	}
	_, page = b.do(t, "GET", "/cases/"+m[1]+"?lang=ru", nil, nil)
	if !strings.Contains(page, "Страны эксплуатации") || !strings.Contains(page, "Турция, ОАЭ, Казахстан") || !strings.Contains(page, "Узбекистан") {
		t.Errorf("the case page does not name the countries in Russian")
	}
}

var correctKey = regexp.MustCompile(`name="key" value="([0-9a-f]{32})"`)

// The case page offers "Correct the record" to the owning agency; the form
// shows the record, records what was changed with the reason, refuses a
// form without a reason, and the case page lists the correction.
func TestCorrectFormOnCasePage(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = prioritySOP(t)
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	body := testenv.Screening()
	body["exploitation_countries"] = []string{"TR", "KZ"}
	var k countriesCase
	mustStatus(t, "open", api.Do(t, "POST", "/api/v1/cases", body, &k), http.StatusCreated)
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)

	_, page := b.do(t, "GET", "/cases/"+k.ID+"?lang=en", nil, nil)
	if !strings.Contains(page, `href="/cases/`+k.ID+`/correct"`) || !strings.Contains(page, "The record has not been corrected.") {
		t.Fatalf("the case page lacks the Correct link or the empty history")
	}
	resp, page := b.do(t, "GET", "/cases/"+k.ID+"/correct", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="Berdiýewa"`) || !strings.Contains(page, `value="I-AŞ 123456"`) ||
		!strings.Contains(page, `name="exploitation_countries" value="TR" checked`) ||
		!regexp.MustCompile(`name="exploitation_countries_other"[^>]*value="KZ"`).MatchString(page) {
		t.Fatalf("the form: %d, want the record filled in", resp.StatusCode)
	}
	form := url.Values{}
	for _, name := range []string{"given_name", "family_name", "birth_day", "birth_month", "birth_year", "age_estimate", "sex", "citizenship",
		"languages", "phone", "document_number", "occurred_day", "occurred_month", "occurred_year", "occurred_time", "place", "context"} {
		form.Set(name, fieldValue(page, name))
	}
	form["exploitation"] = []string{"labour"}
	form["urgent_needs"] = []string{"shelter", "medical"}
	form["exploitation_countries"] = []string{"TR"}
	form.Set("exploitation_countries_other", "KZ")
	form.Set("csrf", csrfOf(t, page))
	form.Set("key", correctKey.FindStringSubmatch(page)[1])

	// No reason: the form again, nothing recorded.
	form.Set("family_name", "Berdiyeva")
	resp, page = b.do(t, "POST", "/cases/"+k.ID+"/correct", form, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#reason"`) {
		t.Fatalf("no reason: %d, want 422 with the error on the reason", resp.StatusCode)
	}
	// A change of track: refused, said on the date of birth.
	form.Set("reason", "The passport says otherwise")
	form.Set("birth_year", "2016")
	resp, page = b.do(t, "POST", "/cases/"+k.ID+"/correct", form, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, `href="#birth_date"`) {
		t.Fatalf("a child's birth date for an adult: %d, want 409 on the date of birth", resp.StatusCode)
	}
	form.Set("birth_year", "2001")
	form["exploitation_countries"] = []string{"TR", "AE"}
	form.Set("exploitation_countries_other", "")
	resp, _ = b.do(t, "POST", "/cases/"+k.ID+"/correct", form, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cases/"+k.ID+"?done=correction" {
		t.Fatalf("the correction: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The same form sent again records nothing more.
	resp, _ = b.do(t, "POST", "/cases/"+k.ID+"/correct", form, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the form sent again: %d", resp.StatusCode)
	}
	_, page = b.do(t, "GET", "/cases/"+k.ID+"?done=correction", nil, nil)
	text := html.UnescapeString(page)
	for _, want := range []string{"The correction was recorded.", "The passport says otherwise", "Family name: Berdiýewa → Berdiyeva",
		"Countries of exploitation: TR, KZ → TR, AE", "Turkey, United Arab Emirates"} {
		if !strings.Contains(text, want) {
			t.Errorf("the case page after the correction lacks %q", want)
		}
	}
	var h historyBody
	mustStatus(t, "history", api.Do(t, "GET", "/api/v1/cases/"+k.ID+"/history", nil, &h), http.StatusOK)
	if len(h.Corrections) != 1 || !slices.Equal(h.Corrections[0].Fields, []string{"person.family_name", "exploitation_countries"}) {
		t.Errorf("history %+v, want one correction of the family name and the countries", h)
	}

	// Others: a provider may not, another agency's officer sees nothing.
	provider := signInPages(t, base, "shelter@lebap-shelter.example", testenv.DemoPassword)
	if resp, _ := provider.do(t, "GET", "/cases/"+k.ID+"/correct", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a provider's correction form: %d, want 403", resp.StatusCode)
	}
	foreign := signInPages(t, base, "officer@dashoguz-police.example", testenv.DemoPassword)
	if resp, _ := foreign.do(t, "GET", "/cases/"+k.ID+"/correct", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another agency's correction form: %d, want 404", resp.StatusCode)
	}
}

// fieldValue is the value of a text input, the checked radio or "" in a page.
func fieldValue(page, name string) string {
	if m := regexp.MustCompile(`name="` + name + `"[^>]*value="([^"]*)"[^>]*checked`).FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	if m := regexp.MustCompile(`name="` + name + `" type="(?:text|tel)"[^>]*value="([^"]*)"`).FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}
