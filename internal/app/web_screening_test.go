package app_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
)

var (
	screeningKey      = regexp.MustCompile(`name="key" value="([0-9a-f]{32})"`)
	screeningOpenedAt = regexp.MustCompile(`^/cases/([0-9a-f-]{36})/opened$`)
	screeningNumber   = regexp.MustCompile(`<strong class="case-number">([^<]+)</strong>`)
)

// screeningFormFields reads a fresh form's CSRF token and key.
func screeningFormFields(t *testing.T, b *browser, lang string) (csrf, key string) {
	t.Helper()
	resp, page := b.do(t, "GET", "/cases/new?lang="+lang, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the screening form: %d", resp.StatusCode)
	}
	c, k := csrfField.FindStringSubmatch(page), screeningKey.FindStringSubmatch(page)
	if c == nil || k == nil {
		t.Fatalf("the screening form lacks its CSRF token or key")
	}
	return c[1], k[1]
}

// screeningAnswers is testenv.Screening() as the form sends it: an adult
// presumed victim who consents.
func screeningAnswers(csrf, key string) url.Values {
	at := time.Now().In(screeningLocation("Asia/Ashgabat")).Add(-2 * time.Hour)
	return url.Values{
		"csrf": {csrf}, "key": {key},
		"given_name": {"Aýna"}, "family_name": {"Berdiýewa"},
		"birth_day": {"14"}, "birth_month": {"5"}, "birth_year": {"2001"},
		"sex": {"female"}, "citizenship": {"tm"}, "languages": {"tk, ru"},
		"phone": {"+99365000000"}, "document_number": {"I-AŞ 123456"},
		"occurred_day": {strconv.Itoa(at.Day())}, "occurred_month": {strconv.Itoa(int(at.Month()))},
		"occurred_year": {strconv.Itoa(at.Year())}, "occurred_time": {at.Format("15:04")},
		"region": {"lebap"}, "place": {"Turkmenabat railway station"}, "context": {"border_check"},
		"exploitation": {"labour"}, "urgent_needs": {"shelter", "medical"},
		"indicators": {"false_job_offer", "deceived_about_wages", "excessive_hours", "no_or_little_pay",
			"documents_withheld", "debt_bondage", "restricted_movement"},
		"consent_referral": {"yes"}, "consent_data_sharing": {"yes"},
		"narrative": {"Met at the station; says her passport is held by the employer in Istanbul."},
	}
}

func screeningLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// screeningCases counts the cases the officer's agency has, through the API.
func screeningCases(t *testing.T, api *testenv.Client) int {
	t.Helper()
	var list struct {
		Cases []caseBody `json:"cases"`
	}
	mustStatus(t, "list cases", api.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
	return len(list.Cases)
}

// A frontline officer opens a case through the form: one case, whatever
// the number of times the same form is sent, at once or again; the page
// after it shows the number, the screening's result, the urgent referrals
// and a possible duplicate.
func TestScreeningFormOpensOneCase(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)

	csrf, key := screeningFormFields(t, b, "en")
	form := screeningAnswers(csrf, key)
	resp, _ := b.do(t, "POST", "/cases/new", form, nil)
	m := screeningOpenedAt.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("send the form: %d to %q, want 303 to the page after it", resp.StatusCode, resp.Header.Get("Location"))
	}
	first := resp.Header.Get("Location")
	resp, page := b.do(t, "GET", first, nil, nil)
	number := screeningNumber.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || number == nil || !strings.Contains(page, "Case opened") ||
		!strings.Contains(page, "Presumed victim") || !strings.Contains(page, "Adult track") {
		t.Fatalf("the page after the form: %d, want the case number and the presumed victim's result:\n%s", resp.StatusCode, page)
	}
	for _, service := range []string{"shelter", "medical"} {
		if !strings.Contains(page, `href="/cases/`+m[1]+`/referrals/new?service=`+service+`"`) {
			t.Errorf("the page after the form lacks the urgent referral to %s", service)
		}
	}
	if !strings.Contains(page, "Refer to: Safe accommodation (shelter)") || !strings.Contains(page, `data-draft-clear="nrm.screening.draft.`) {
		t.Errorf("the page after the form lacks the SOP's label of the referral or the draft's clearing")
	}
	if strings.Contains(page, "Possible duplicate") {
		t.Errorf("the first case of a person shows a possible duplicate")
	}
	var opened caseBody
	mustStatus(t, "the case", api.Do(t, "GET", "/api/v1/cases/"+m[1], nil, &opened), http.StatusOK)
	if opened.Number != number[1] || opened.Person == nil || opened.Person.GivenName != "Aýna" || opened.Stage != "identification" {
		t.Errorf("the API's case %+v, want %s of Aýna in identification", opened, number[1])
	}
	if n := screeningCases(t, api); n != 1 {
		t.Fatalf("%d cases after one form, want 1", n)
	}

	// The same form again (a retry, the browser's back and resend): the
	// same page, no second case.
	resp, _ = b.do(t, "POST", "/cases/new", form, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != first {
		t.Errorf("the same form again: %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), first)
	}
	// The same key with other answers opens nothing and says so.
	changed := screeningAnswers(csrf, key)
	changed.Set("given_name", "Another")
	resp, page = b.do(t, "POST", "/cases/new", changed, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "This form was already sent") || !strings.Contains(page, `href="`+first+`"`) {
		t.Errorf("the same key with other answers: %d, want 409 naming the case it opened", resp.StatusCode)
	}
	if n := screeningCases(t, api); n != 1 {
		t.Fatalf("%d cases after the same form three times, want 1", n)
	}

	// A double click: two requests of a new form at once make one case,
	// and both land on its page.
	csrf, key = screeningFormFields(t, b, "en")
	form = screeningAnswers(csrf, key)
	var wg sync.WaitGroup
	locations := make([]string, 2)
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("POST", base+"/cases/new", strings.NewReader(form.Encode()))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i], locations[i] = resp.StatusCode, resp.Header.Get("Location")
		}()
	}
	wg.Wait()
	if statuses[0] != http.StatusSeeOther || statuses[1] != http.StatusSeeOther || locations[0] != locations[1] || locations[0] == first {
		t.Fatalf("a double click: %v to %v, want both 303 to the same new case", statuses, locations)
	}
	if n := screeningCases(t, api); n != 2 {
		t.Fatalf("%d cases after a double click on a second form, want 2", n)
	}
	// The second case is the same person: a possible duplicate of the first.
	_, page = b.do(t, "GET", locations[0], nil, nil)
	if !strings.Contains(page, "Possible duplicate") || !strings.Contains(page, `href="/cases/`+m[1]+`">`+number[1]+`</a>`) {
		t.Errorf("the second case of the same person does not show the first as a possible duplicate")
	}
	// Each case opened is audited once, as the API audits its commands.
	var audited int
	testenv.Must(t, sys.Store.DB().Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'command POST /cases/new'`))
	if audited != 2 {
		t.Errorf("%d audited openings, want 2", audited)
	}

	// A screening that does not qualify, without a concern: opened and
	// closed at once, and the page says so, with no referral to make.
	csrf, key = screeningFormFields(t, b, "en")
	form = screeningAnswers(csrf, key)
	form.Del("indicators")
	form.Set("given_name", "Merjen")
	resp, _ = b.do(t, "POST", "/cases/new", form, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a screening that does not qualify: %d", resp.StatusCode)
	}
	_, page = b.do(t, "GET", resp.Header.Get("Location"), nil, nil)
	if !strings.Contains(page, "Not indicated") || !strings.Contains(page, "closed at once") || strings.Contains(page, "/referrals/new") {
		t.Errorf("a screening that closed at once: want it said plainly and no referral:\n%s", page)
	}
}

// Every way the form can be wrong: 422, a message next to each field and
// in the summary, what was typed kept, nothing opened; the corrected form,
// with the same key, then opens the case.
func TestScreeningFormErrors(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	csrf, key := screeningFormFields(t, b, "en")

	for _, tc := range []struct {
		name   string
		change func(url.Values)
		errors map[string]string // field ID → message
		kept   []string          // typed values the page shows again
	}{
		{"missing required fields", func(v url.Values) {
			v.Set("given_name", "")
			v.Del("sex")
			v.Set("citizenship", "T")
			v.Set("region", "")
			v.Del("context")
			v.Set("place", "Typed place")
		}, map[string]string{
			"given_name":  "Enter the person&#39;s given name",
			"sex":         "Select the person&#39;s sex",
			"citizenship": "Enter the citizenship as a two-letter country code, for example TM",
			"region":      "Select the region",
			"context":     "Select how you met the person",
		}, []string{`value="Typed place"`, `value="T"`, `value="Berdiýewa"`, `value="I-AŞ 123456"`}},
		{"a date that does not exist and a time that is none", func(v url.Values) {
			v.Set("birth_day", "31")
			v.Set("birth_month", "2")
			v.Set("occurred_time", "25:99")
		}, map[string]string{
			"birth_date":  "Date of birth must be a real date",
			"occurred_at": "The time of the encounter must be a real date and time",
		}, []string{`name="birth_day" type="text" inputmode="numeric" autocomplete="off" value="31"`, `value="25:99"`}},
		{"an indicator the SOP does not list", func(v url.Values) {
			v.Add("indicators", "not_an_indicator")
		}, map[string]string{"indicators": "Select indicators from the list of the procedure in force"}, []string{`value="false_job_offer" checked`}},
		{"an age that is no number, a birth date as well", func(v url.Values) {
			v.Set("age_estimate", "twenty")
		}, map[string]string{"age_estimate": "Estimated age must be a whole number of years from 0 to 120"}, []string{`value="twenty"`}},
		{"a birth date and an age", func(v url.Values) {
			v.Set("age_estimate", "23")
		}, map[string]string{"age_estimate": "Enter the date of birth or an estimated age, not both"}, []string{`value="23"`}},
		{"an adult's consent not answered", func(v url.Values) {
			v.Del("consent_referral")
		}, map[string]string{"consent": "Record the adult&#39;s answers to both consent questions"}, []string{`value="yes" checked`}},
		{"a language that is no code", func(v url.Values) {
			v.Set("languages", "turkmen")
		}, map[string]string{"languages": "Enter languages as codes of two or three letters"}, []string{`value="turkmen"`}},
		{"an encounter in the future", func(v url.Values) {
			v.Set("occurred_year", strconv.Itoa(time.Now().Year()+1))
		}, map[string]string{"occurred_at": "The time of the encounter cannot be in the future"}, nil},
	} {
		form := screeningAnswers(csrf, key)
		tc.change(form)
		resp, page := b.do(t, "POST", "/cases/new", form, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "There is a problem") {
			t.Errorf("%s: %d, want 422 with the error summary", tc.name, resp.StatusCode)
			continue
		}
		for field, msg := range tc.errors {
			summary := regexp.MustCompile(`<li><a href="#` + field + `">[^<]*` + regexp.QuoteMeta(msg))
			next := regexp.MustCompile(`<p class="field__error" id="` + field + `-error"><span class="visually-hidden">Error:</span> [^<]*` + regexp.QuoteMeta(msg))
			if !summary.MatchString(page) || !next.MatchString(page) {
				t.Errorf("%s: want %q in the summary, linked to #%s, and next to the field", tc.name, msg, field)
			}
		}
		if n := strings.Count(page, `<li><a href="#`); n != len(tc.errors) {
			t.Errorf("%s: %d errors in the summary, want %d", tc.name, n, len(tc.errors))
		}
		for _, v := range tc.kept {
			if !strings.Contains(page, v) {
				t.Errorf("%s: the page does not keep %s", tc.name, v)
			}
		}
		if !strings.Contains(page, `name="key" value="`+key+`"`) {
			t.Errorf("%s: the form lost its key", tc.name)
		}
	}
	if n := screeningCases(t, api); n != 0 {
		t.Fatalf("%d cases opened by wrong forms, want 0", n)
	}
	// Corrected, the same form (and key) opens the case.
	resp, _ := b.do(t, "POST", "/cases/new", screeningAnswers(csrf, key), nil)
	if resp.StatusCode != http.StatusSeeOther || !screeningOpenedAt.MatchString(resp.Header.Get("Location")) {
		t.Fatalf("the corrected form: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := screeningCases(t, api); n != 1 {
		t.Errorf("%d cases after the corrected form, want 1", n)
	}
	// The Russian form puts the same errors in Russian.
	csrf, key = screeningFormFields(t, b, "ru")
	form := screeningAnswers(csrf, key)
	form.Set("given_name", "")
	if resp, page := b.do(t, "POST", "/cases/new", form, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "Введите имя человека") || !strings.Contains(page, `<html lang="ru">`) {
		t.Errorf("the Russian form's error: %d", resp.StatusCode)
	}
}

// Only frontline officers screen: other roles get the 403 page, and the
// preview too; the form's posts need the session's CSRF token.
func TestScreeningFormIsForFrontlineOfficers(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	for _, email := range []string{"supervisor@lebap-police.example", "decider@authority.example", "shelter@lebap-shelter.example", "admin@nrm.example"} {
		b := signInPages(t, base, email, testenv.DemoPassword)
		resp, page := b.do(t, "GET", "/cases/new?lang=en", nil, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Your role may not do this.") || strings.Contains(page, `name="given_name"`) {
			t.Errorf("%s: the form answers %d, want the 403 page", email, resp.StatusCode)
		}
		_, home := b.do(t, "GET", "/account?lang=en", nil, nil)
		m := csrfField.FindStringSubmatch(home) // the sign-out form's
		if m == nil {
			t.Fatalf("%s: no CSRF token on the account page", email)
		}
		for _, path := range []string{"/cases/new", "/cases/new/preview"} {
			form := screeningAnswers(m[1], "0123456789abcdef0123456789abcdef")
			if resp, _ := b.do(t, "POST", path, form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: POST %s answers %d, want 403", email, path, resp.StatusCode)
			}
		}
	}
	api := testenv.NewClient(sys).Login(t, "supervisor@lebap-police.example")
	if n := screeningCases(t, api); n != 0 {
		t.Errorf("%d cases opened by other roles", n)
	}
	officer := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	_, key := screeningFormFields(t, officer, "en")
	if resp, _ := officer.do(t, "POST", "/cases/new", screeningAnswers("forged", key), nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the form without the session's CSRF token: %d, want 403", resp.StatusCode)
	}
}

// The preview answers the SOP's screening rule for the answers so far, as
// an HTML fragment in the page's language, from the server's own scoring.
func TestScreeningPreview(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	b := signInPages(t, "http://"+sys.APIAddr, "officer@lebap-police.example", testenv.DemoPassword)
	csrf, _ := screeningFormFields(t, b, "en")
	presumed := url.Values{"csrf": {csrf}, "birth_day": {"14"}, "birth_month": {"5"}, "birth_year": {"2001"},
		"indicators": {"false_job_offer", "deceived_about_wages", "excessive_hours", "no_or_little_pay", "documents_withheld", "debt_bondage", "restricted_movement"}}
	for _, tc := range []struct {
		lang  string
		form  url.Values
		wants []string
	}{
		{"en", presumed, []string{"Presumed victim", "Adult track", `data-track="adult"`, "Met", "positive (1 strong &#43; 1 medium)", "observed: 3 strong"}},
		{"ru", presumed, []string{"Предполагаемая жертва", "Порядок для взрослых", "Выполнено"}},
		{"tk", presumed, []string{"Çak edilýän pida", "Ulular üçin tertip", "güýçli"}},
		{"en", url.Values{"csrf": {csrf}, "indicators": {"false_job_offer"}}, []string{"Not indicated", `data-track="child"`, "because the age is not known", "Not met"}},
		{"ru", url.Values{"csrf": {csrf}, "age_estimate": {"15"}}, []string{"Не установлено", "Порядок для детей (младше 18 лет)"}},
	} {
		resp, body := b.do(t, "POST", "/cases/new/preview?lang="+tc.lang, tc.form, http.Header{"HX-Request": {"true"}})
		if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("preview %s: %d %s, want an HTML fragment", tc.lang, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range tc.wants {
			if !strings.Contains(body, want) {
				t.Errorf("preview %s lacks %q:\n%s", tc.lang, want, body)
			}
		}
	}
	if resp, _ := b.do(t, "POST", "/cases/new/preview", url.Values{"indicators": {"false_job_offer"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a preview without the CSRF token: %d, want 403", resp.StatusCode)
	}
	// The form holds the live region the preview fills, and the script.
	_, page := b.do(t, "GET", "/cases/new?lang=en", nil, nil)
	for _, want := range []string{`id="screening-result" aria-live="polite"`, `hx-post="/cases/new/preview"`, `/static/screening.`, "Deceived about the nature of the job or the employer"} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	// Strict and light: no inline script or style, and the page with its
	// stylesheet and scripts under 150 KB compressed.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, "<style") || strings.Contains(page, " style=") ||
		regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Errorf("the form has inline script, style or event handlers")
	}
	total := gzipSize(t, page)
	for _, l := range assetLinks.FindAllStringSubmatch(page, -1) {
		_, body := b.do(t, "GET", l[1], nil, nil)
		total += gzipSize(t, body)
	}
	if total > 150*1024 {
		t.Errorf("the screening form weighs %d bytes compressed, want under 150 KB", total)
	}
	t.Logf("screening form: %d bytes of HTML, CSS and JS compressed", total)
}
