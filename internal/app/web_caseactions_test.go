package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

var formKeyField = regexp.MustCompile(`name="key" value="([0-9a-f]{32})"`)

// formOf gets a form page and answers its CSRF token and key.
func formOf(t *testing.T, b *browser, path string) (page, csrf, key string) {
	t.Helper()
	resp, page := b.do(t, "GET", path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	c, k := csrfField.FindStringSubmatch(page), formKeyField.FindStringSubmatch(page)
	if c == nil || k == nil {
		t.Fatalf("GET %s: no form with csrf and key: %s", path, page)
	}
	return page, c[1], k[1]
}

// The case owner works the case from its page: only the actions the
// procedure allows now are offered; a referral and a note go through
// their forms and show on the case page; errors keep what was typed; a
// form sent twice is one note; a closure with an open referral is refused
// in words; another agency gets the 404 page.
func TestCaseActionsThroughThePages(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	casePath := "/cases/" + opened.ID
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)

	_, page := b.do(t, "GET", casePath+"?lang=en", nil, nil)
	for _, want := range []string{`href="` + casePath + `/referrals/new"`, `href="` + casePath + `/notes/new"`, `href="` + casePath + `/closure"`} {
		if !strings.Contains(page, want) {
			t.Errorf("case page offers no %s", want)
		}
	}
	if strings.Contains(page, casePath+"/decide") || strings.Contains(page, casePath+"/erasure") {
		t.Errorf("an officer is offered the competent authority's forms")
	}

	// A referral: only services the procedure allows now, labelled from the SOP.
	form, csrf, key := formOf(t, b, casePath+"/referrals/new?lang=en")
	if !strings.Contains(form, `value="shelter"`) || !strings.Contains(form, "Safe accommodation (shelter)") {
		t.Fatalf("referral form without the shelter: %s", form)
	}
	if resp, page := b.do(t, "POST", casePath+"/referrals/new?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "note": {"Needs a bed tonight"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, `href="#service"`) || !strings.Contains(page, "Needs a bed tonight") {
		t.Errorf("referral without a service: %d, want 422 with the error linked to the field and the note kept", resp.StatusCode)
	}
	resp, _ := b.do(t, "POST", casePath+"/referrals/new", url.Values{"csrf": {csrf}, "key": {key}, "service": {"shelter"}, "note": {"Needs a bed tonight"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath+"?done=refer" {
		t.Fatalf("referral: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.do(t, "GET", casePath+"?done=refer&lang=en", nil, nil)
	if !strings.Contains(page, "Referral sent.") || !strings.Contains(page, `id="referrals"`) || strings.Contains(page, casePath+"/closure\"") {
		t.Errorf("after the referral the case page lacks the confirmation or the referral, or still offers closure")
	}

	// Closure while the referral is open: refused in words, nothing done.
	if resp, page := b.do(t, "GET", casePath+"/closure?lang=en", nil, nil); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, "The procedure does not allow this") || strings.Contains(page, `name="reason"`) {
		t.Errorf("closure form with an open referral: %d, want the refusal instead of the form", resp.StatusCode)
	}

	// A note: the error path keeps nothing lost, a double submit is one note.
	_, csrf, key = formOf(t, b, casePath+"/notes/new")
	if resp, page := b.do(t, "POST", casePath+"/notes/new?lang=ru", url.Values{"csrf": {csrf}, "key": {key}, "note": {"  "}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "Введите ответ") || !strings.Contains(page, `href="#note"`) {
		t.Errorf("empty note: %d, want 422 with the Russian field error", resp.StatusCode)
	}
	long := strings.Repeat("д", 4001)
	if resp, page := b.do(t, "POST", casePath+"/notes/new?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "note": {long}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "at most 4000 characters") || !strings.Contains(page, long) {
		t.Errorf("long note: %d, want 422 with the text kept", resp.StatusCode)
	}
	for range 2 {
		resp, _ := b.do(t, "POST", casePath+"/notes/new", url.Values{"csrf": {csrf}, "key": {key}, "note": {"Interpreter booked for Monday."}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("note: %d", resp.StatusCode)
		}
	}
	_, page = b.do(t, "GET", casePath+"?lang=en", nil, nil)
	if n := strings.Count(page, "Interpreter booked for Monday."); n != 1 {
		t.Errorf("the note shows %d times on the case page, want once", n)
	}
	if !strings.Contains(page, "Needs a bed tonight") {
		t.Errorf("the referral's note is not in the case file")
	}

	// Without the form's CSRF token nothing happens.
	if resp, _ := b.do(t, "POST", casePath+"/notes/new", url.Values{"key": {key}, "note": {"forged"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("note without CSRF: %d, want 403", resp.StatusCode)
	}

	// Another agency's officer: the 404 page for the case and its forms.
	other := signInPages(t, base, "officer@dashoguz-police.example", testenv.DemoPassword)
	for _, path := range []string{casePath, casePath + "/referrals/new", casePath + "/notes/new"} {
		if resp, _ := other.do(t, "GET", path, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another agency GET %s: %d, want 404", path, resp.StatusCode)
		}
	}

	// The competent authority is offered the decision and the erasure order, not the owner's consent.
	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	_, page = decider.do(t, "GET", casePath+"?lang=en", nil, nil)
	if !strings.Contains(page, casePath+"/decide") || !strings.Contains(page, casePath+"/erasure") || strings.Contains(page, casePath+"/consent\"") {
		t.Errorf("the decider's case page offers the wrong actions")
	}
}

// postForm sends a case form with its CSRF token and key plus answers.
func postForm(t *testing.T, b *browser, path string, answers url.Values) (*http.Response, string) {
	t.Helper()
	_, csrf, key := formOf(t, b, path)
	answers.Set("csrf", csrf)
	answers.Set("key", key)
	return b.do(t, "POST", path, answers, nil)
}

// Every case owner's form shows its errors next to the fields, in the
// page's language, with what was typed kept, and records nothing.
func TestCaseFormsErrorPaths(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	supervisor := testenv.NewClient(sys).Login(t, "supervisor@lebap-police.example")
	var adult, child caseBody
	mustStatus(t, "open adult", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &adult), http.StatusCreated)
	body := testenv.Screening()
	p := body["person"].(map[string]any)
	delete(p, "birth_date")
	p["age_estimate"] = 15
	p["document_number"] = "I-AŞ 765432"
	delete(body, "consent")
	mustStatus(t, "open child", officer.Do(t, "POST", "/api/v1/cases", body, &child), http.StatusCreated)
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	adultPath, childPath := "/cases/"+adult.ID, "/cases/"+child.ID

	for _, tc := range []struct {
		what, path string
		answers    url.Values
		field      string // the error summary links to it
		message    string
		kept       string
	}{
		{"consent unanswered", adultPath + "/consent?lang=en", url.Values{"referral": {"yes"}}, "data_sharing", "Choose one of the options", ""},
		{"consent with a foreign answer", adultPath + "/consent?lang=en", url.Values{"referral": {"maybe"}, "data_sharing": {"no"}}, "referral", "Choose one of the options", ""},
		{"withdrawal without a reason", adultPath + "/consent/withdraw?lang=ru", url.Values{"reason": {"   "}}, "reason", "Введите ответ", ""},
		{"guardian without a name", childPath + "/guardian?lang=tk", url.Values{"authority": {"Türkmenabat etrap hossarlyk edarasy"}}, "name", "Jogap ýazyň", "Türkmenabat etrap hossarlyk edarasy"},
		{"guardian name too long", childPath + "/guardian?lang=en", url.Values{"name": {strings.Repeat("a", 201)}, "authority": {"x"}}, "name", "at most 200 characters", ""},
		{"closure without a reason", adultPath + "/closure?lang=en", url.Values{"note": {"Moved to Mary"}}, "reason", "Choose one of the options", "Moved to Mary"},
		{"closure with an unknown reason", adultPath + "/closure?lang=en", url.Values{"reason": {"bored"}}, "reason", "Choose one of the options", ""},
	} {
		resp, page := postForm(t, b, tc.path, tc.answers)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#`+tc.field+`"`) ||
			!strings.Contains(page, tc.message) || (tc.kept != "" && !strings.Contains(page, tc.kept)) {
			t.Errorf("%s: %d, want 422 with %q linked to #%s and the typed text kept", tc.what, resp.StatusCode, tc.message, tc.field)
		}
	}
	var events struct {
		Events []struct{ Type string } `json:"events"`
	}
	for _, id := range []string{adult.ID, child.ID} {
		mustStatus(t, "timeline", officer.Do(t, "GET", "/api/v1/cases/"+id+"/timeline", nil, &events), http.StatusOK)
		for _, e := range events.Events {
			if e.Type == "guardian_appointed" || e.Type == "consent_withdrawn" || e.Type == "closure_requested" {
				t.Errorf("a refused form recorded %s", e.Type)
			}
		}
	}

	// The child's case offers the guardian, not consent; the adult's the opposite.
	_, page := b.do(t, "GET", childPath, nil, nil)
	if !strings.Contains(page, childPath+"/guardian") || strings.Contains(page, childPath+"/consent\"") {
		t.Errorf("the child's case page offers consent or lacks the guardian")
	}
	if resp, page := postForm(t, b, childPath+"/guardian?lang=en", url.Values{"name": {"Maral Orazowa"}, "authority": {"Guardianship office"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("guardian: %d\n%s", resp.StatusCode, page)
	}

	// The follow-up after an approved closure: a note over the limit is refused, an empty one is fine.
	mustStatus(t, "request closure", officer.Do(t, "POST", "/api/v1/cases/"+adult.ID+"/closure", map[string]any{"reason": "reintegrated"}, nil), http.StatusOK)
	mustStatus(t, "approve closure", supervisor.Do(t, "POST", "/api/v1/cases/"+adult.ID+"/closure/approve", nil, nil), http.StatusOK)
	if resp, page := postForm(t, b, adultPath+"/follow-up?lang=en", url.Values{"note": {strings.Repeat("n", 4001)}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "at most 4000 characters") {
		t.Errorf("follow-up with a long note: %d, want 422", resp.StatusCode)
	}
	if resp, _ := postForm(t, b, adultPath+"/follow-up", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("follow-up without a note: %d, want 303", resp.StatusCode)
	}
}
