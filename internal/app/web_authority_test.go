package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// The competent authority's and the supervisor's pages (internal/web
// decisions.go, approvals.go): their queues and the forms of their
// commands, driven over HTTP as a browser without JavaScript sends them.

var (
	authorityKeyField   = regexp.MustCompile(`name="key" value="([0-9a-f]{32})"`)
	authorityReviewLink = regexp.MustCompile(`href="/cases/([0-9a-f-]{36})/decisions/([0-9a-f-]{36})/review"`)
	authorityMaxDays    = regexp.MustCompile(`from 1 to (\d+)`)
)

// authorityForm gets a form page and answers it with its CSRF token and
// key; it fails unless the page answers 200.
func authorityForm(t *testing.T, b *browser, path string) (page string, fields url.Values) {
	t.Helper()
	resp, page := b.do(t, "GET", path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, want the form", path, resp.StatusCode)
	}
	fields = url.Values{}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("GET %s: no CSRF field", path)
	}
	fields.Set("csrf", m[1])
	if k := authorityKeyField.FindStringSubmatch(page); k != nil {
		fields.Set("key", k[1])
	}
	return page, fields
}

func authorityWith(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// authorityEvents counts a case's events of a type, through the API.
func authorityEvents(t *testing.T, c *testenv.Client, caseID, typ string) int {
	t.Helper()
	var tl struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	mustStatus(t, "timeline", c.Do(t, "GET", "/api/v1/cases/"+caseID+"/timeline", nil, &tl), http.StatusOK)
	n := 0
	for _, e := range tl.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func authorityWant(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// The decisions queue lists a new case's preliminary decision; the decider
// takes a negative decision through the form (a double submission is one
// decision), is not offered its review, and the reviewer overturns it
// through the review form; the recovery period's extension form keeps what
// was typed on each error; the erasure runs only after its confirmation
// step. Other roles get the 403 page.
func TestAuthorityDecisionForms(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	casePath := "/cases/" + opened.ID

	// The frontline officer has no queue and no decision form.
	frontline := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	for _, path := range []string{"/decisions", "/approvals", casePath + "/decide", casePath + "/recovery/extend", casePath + "/erasure"} {
		if resp, page := frontline.do(t, "GET", path+"?lang=en", nil, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Your role may not do this.") {
			t.Errorf("frontline officer on %s: %d, want the 403 page", path, resp.StatusCode)
		}
	}

	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	resp, page := decider.do(t, "GET", "/decisions?lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/decisions: %d", resp.StatusCode)
	}
	authorityWant(t, "the decisions queue", page, opened.Number, `href="`+casePath+`"`, `href="`+casePath+`/decide"`,
		"Preliminary identification decision", "days left", "No negative decision is waiting")
	if strings.Contains(page, "Aýna") || strings.Contains(page, "Berdiýewa") {
		t.Errorf("the queue shows the person's name")
	}
	if _, ru := decider.do(t, "GET", "/decisions?lang=ru", nil, nil); !strings.Contains(ru, "Предварительное решение об идентификации") {
		t.Errorf("the Russian queue does not label the deadline from the SOP in Russian")
	}

	// The decision form: only the preliminary decision is offered now; a
	// missing reason is a field error that keeps the choices made.
	form, fields := authorityForm(t, decider, casePath+"/decide?lang=en")
	authorityWant(t, "the decision form", form, `value="preliminary"`, `name="outcome" value="negative"`, `name="csrf"`)
	if strings.Contains(form, `value="conclusive"`) {
		t.Errorf("the form offers a conclusive decision before the preliminary one")
	}
	resp, page = decider.do(t, "POST", casePath+"/decide?lang=en", authorityWith(fields, "kind", "preliminary", "outcome", "negative", "reason", "  "), nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("no reason: %d, want 422", resp.StatusCode)
	}
	authorityWant(t, "the form without a reason", page, "Enter the reason", `href="#reason"`, `value="negative" checked`, fields.Get("key"))

	// Sent twice with the same key (a double click): one decision.
	reason := "The indicators were not confirmed at interview"
	send := authorityWith(fields, "kind", "preliminary", "outcome", "negative", "reason", reason)
	var wg sync.WaitGroup
	locations := make([]string, 2)
	for i := range locations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := decider.do(t, "POST", casePath+"/decide?lang=en", send, nil)
			locations[i] = strconv.Itoa(resp.StatusCode) + " " + resp.Header.Get("Location")
		}()
	}
	wg.Wait()
	resp, _ = decider.do(t, "POST", casePath+"/decide?lang=en", send, nil) // and once more, later
	locations = append(locations, strconv.Itoa(resp.StatusCode)+" "+resp.Header.Get("Location"))
	for _, l := range locations {
		if l != "303 "+casePath+"?done=decide" {
			t.Errorf("the decision sent again with its key: %q, want 303 to the case page", l)
		}
	}
	if n := authorityEvents(t, officer, opened.ID, "preliminary_negative"); n != 1 {
		t.Fatalf("%d negative preliminary decisions recorded, want 1", n)
	}

	// The same form changed and sent again: nothing recorded, and a new key
	// to send it with.
	resp, page = decider.do(t, "POST", casePath+"/decide?lang=en", authorityWith(send, "outcome", "positive"), nil)
	if k := authorityKeyField.FindStringSubmatch(page); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(page, "This form was already sent with other answers") || k == nil || k[1] == send.Get("key") {
		t.Errorf("the form sent again with other answers: %d, want 409 saying so, with a new key", resp.StatusCode)
	}
	if n := authorityEvents(t, officer, opened.ID, "preliminary_positive"); n != 0 {
		t.Errorf("the changed form recorded %d positive decisions", n)
	}

	// Another decision with a new key: the procedure's refusal in words in
	// the error summary, what was typed kept.
	resp, page = decider.do(t, "POST", casePath+"/decide?lang=en", authorityWith(send, "key", "0123456789abcdef0123456789abcdef",
		"outcome", "positive", "reason", "A second opinion"), nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "This decision has already been taken.") ||
		!strings.Contains(page, `href="#send"`) || !strings.Contains(page, ">A second opinion</textarea>") || !strings.Contains(page, `value="positive" checked`) {
		t.Errorf("a second preliminary decision: %d, want 409 with the refusal and the form as typed", resp.StatusCode)
	}

	// The decider is not offered the review of their own decision.
	_, page = decider.do(t, "GET", "/decisions?lang=en", nil, nil)
	authorityWant(t, "the queue after the decision", page, "Negative decisions to review", "Your decision: another officer reviews it")
	if authorityReviewLink.MatchString(page) {
		t.Errorf("the queue offers the decider the review of their own decision")
	}
	reviewer := signInPages(t, base, "reviewer@authority.example", testenv.DemoPassword)
	_, page = reviewer.do(t, "GET", "/decisions?lang=en", nil, nil)
	m := authorityReviewLink.FindStringSubmatch(page)
	if m == nil || m[1] != opened.ID {
		t.Fatalf("the reviewer's queue has no review link for case %s", opened.Number)
	}
	reviewPath := casePath + "/decisions/" + m[2] + "/review"
	if resp, page := decider.do(t, "GET", reviewPath+"?lang=en", nil, nil); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(page, "The second review must be made by another officer than the one who decided.") || strings.Contains(page, `name="choice"`) {
		t.Errorf("the decider's review form: %d, want the refusal in words and no form", resp.StatusCode)
	}
	resp, page = decider.do(t, "POST", reviewPath+"?lang=en", authorityWith(fields, "key", "fedcba9876543210fedcba9876543210",
		"choice", "confirm", "reason", "I stand by it"), nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "The second review must be made by another officer") ||
		!strings.Contains(page, ">I stand by it</textarea>") {
		t.Errorf("the decider reviewing their own decision: %d, want 409 with the refusal in the form", resp.StatusCode)
	}

	// The reviewer overturns it: the person counts as identified.
	form, fields = authorityForm(t, reviewer, reviewPath+"?lang=en")
	authorityWant(t, "the review form", form, "Preliminary decision", "Negative", "Overturn it")
	resp, page = reviewer.do(t, "POST", reviewPath+"?lang=en", authorityWith(fields, "reason", "The interview notes show deception"), nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Choose whether you confirm or overturn the decision") ||
		!strings.Contains(page, "The interview notes show deception") {
		t.Errorf("review without a choice: %d, want 422 keeping the reason", resp.StatusCode)
	}
	resp, _ = reviewer.do(t, "POST", reviewPath+"?lang=en", authorityWith(fields, "choice", "overturn", "reason", "The interview notes show deception"), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath+"?done=review" {
		t.Fatalf("overturn: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitStage(t, officer, "/api/v1/cases/"+opened.ID, workflows.StageRecovery)
	if n := authorityEvents(t, officer, opened.ID, "negative_review_overturned"); n != 1 {
		t.Errorf("%d overturned reviews, want 1", n)
	}

	// Extending the recovery period: each error keeps what was typed.
	form, fields = authorityForm(t, decider, casePath+"/recovery/extend?lang=en")
	mx := authorityMaxDays.FindStringSubmatch(form)
	if mx == nil {
		t.Fatalf("the extension form does not say the longest extension")
	}
	most, _ := strconv.Atoi(mx[1])
	for _, tc := range []struct{ days, reason, want string }{
		{"0", "The person is still in hospital", "The extension must be at least 1 day"},
		{strconv.Itoa(most + 1), "The person is still in hospital", "The extension can be at most " + mx[1] + " days"},
		{"ten", "The person is still in hospital", "Enter the days as a whole number"},
		{"10", "", "Enter the reason"},
	} {
		resp, page := decider.do(t, "POST", casePath+"/recovery/extend?lang=en", authorityWith(fields, "days", tc.days, "reason", tc.reason), nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tc.want) || !strings.Contains(page, `value="`+tc.days+`"`) ||
			!strings.Contains(page, ">"+tc.reason+"</textarea>") || !strings.Contains(page, "field--error") {
			t.Errorf("extension of %q days, reason %q: %d, want 422 with %q and what was typed", tc.days, tc.reason, resp.StatusCode, tc.want)
		}
	}
	var before fullCase
	mustStatus(t, "case", officer.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &before), http.StatusOK)
	resp, _ = decider.do(t, "POST", casePath+"/recovery/extend?lang=en", authorityWith(fields, "days", "30", "reason", "The person is still in hospital"), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath+"?done="+workflows.UpdateExtendRecovery {
		t.Fatalf("extend: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	testenv.Eventually(t, 20*time.Second, "the recovery period to end later", func() bool {
		var after fullCase
		officer.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &after)
		a, b := after.obligation("recovery_period"), before.obligation("recovery_period")
		return a != nil && b != nil && a.DueAt.After(b.DueAt)
	})

	// The erasure: the order, then a confirmation naming the case; nothing
	// is erased before the confirmation with the right number.
	personThere := func() bool {
		var c caseBody
		mustStatus(t, "case", officer.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &c), http.StatusOK)
		return c.Person != nil
	}
	_, fields = authorityForm(t, decider, casePath+"/erasure?lang=en")
	resp, page = decider.do(t, "POST", casePath+"/erasure?lang=en", authorityWith(fields, "reason", "court_order", "order", "Court order of Aýna"), nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Enter the reference as on the order") ||
		!strings.Contains(page, `value="court_order" checked`) {
		t.Errorf("an order reference with a name: %d, want 422 keeping the ground", resp.StatusCode)
	}
	order := authorityWith(fields, "reason", "court_order", "order", "No. 12/2026-A")
	resp, page = decider.do(t, "POST", casePath+"/erasure?lang=en", order, nil)
	if page = html.UnescapeString(page); resp.StatusCode != http.StatusOK || !strings.Contains(page, "This destroys the person's identity for good") ||
		!strings.Contains(page, "type the case number "+opened.Number) || !strings.Contains(page, "A court ordered the erasure") {
		t.Errorf("the order: %d, want the confirmation step", resp.StatusCode)
	}
	resp, page = decider.do(t, "POST", casePath+"/erasure?lang=en", authorityWith(order, "step", "confirm", "confirm", "TM-0000-000000"), nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "exactly to confirm") {
		t.Errorf("a wrong case number: %d, want 422", resp.StatusCode)
	}
	if !personThere() {
		t.Fatal("the identity was erased before the confirmation")
	}
	resp, _ = decider.do(t, "POST", casePath+"/erasure?lang=en", authorityWith(order, "step", "confirm", "confirm", opened.Number), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath+"?done=erasure" {
		t.Fatalf("confirmed erasure: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if personThere() {
		t.Errorf("the identity is still there after the confirmed erasure")
	}
	if resp, page := decider.do(t, "GET", casePath+"/erasure?lang=en", nil, nil); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(html.UnescapeString(page), "The person's identity has already been destroyed.") {
		t.Errorf("the erasure form of an erased case: %d, want the refusal", resp.StatusCode)
	}
}

// A supervisor sees the closure an officer requested on the approvals
// queue, is refused a rejection without a note, approves it through the
// form, and the case moves on to follow-up as the SOP says.
func TestSupervisorApprovesClosureThroughPages(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	mustStatus(t, "request closure", officer.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/closure",
		map[string]any{"reason": "reintegrated", "note": "Back with her family in Türkmenabat"}, nil), http.StatusOK)
	casePath := "/cases/" + opened.ID

	supervisor := signInPages(t, base, "supervisor@lebap-police.example", testenv.DemoPassword)
	resp, page := supervisor.do(t, "GET", "/approvals?lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/approvals: %d", resp.StatusCode)
	}
	authorityWant(t, "the approvals queue", page, opened.Number, `href="`+casePath+`/closure/approval"`, "days left")
	if strings.Contains(page, "Türkmenabat") || strings.Contains(page, "Aýna") {
		t.Errorf("the queue shows free text or the person's name")
	}
	// The competent authority has no such queue; an officer has no approval form.
	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	if resp, _ := decider.do(t, "GET", "/approvals?lang=en", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the competent authority on /approvals: %d, want 403", resp.StatusCode)
	}
	frontline := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	if resp, _ := frontline.do(t, "GET", casePath+"/closure/approval?lang=en", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the officer on the approval form: %d, want 403", resp.StatusCode)
	}

	form, fields := authorityForm(t, supervisor, casePath+"/closure/approval?lang=en")
	authorityWant(t, "the approval form", form, "Lebap police officer", "Back with her family in Türkmenabat", `value="approve"`, `value="reject"`)
	resp, page = supervisor.do(t, "POST", casePath+"/closure/approval?lang=en", authorityWith(fields, "answer", "reject", "note", ""), nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Say why you reject the closure") || !strings.Contains(page, `value="reject" checked`) {
		t.Errorf("a rejection without a note: %d, want 422 keeping the answer", resp.StatusCode)
	}
	resp, _ = supervisor.do(t, "POST", casePath+"/closure/approval?lang=en", authorityWith(fields, "answer", "approve", "note", "Agreed"), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath+"?done="+workflows.UpdateApproveClosure {
		t.Fatalf("approve: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitStage(t, officer, "/api/v1/cases/"+opened.ID, workflows.StageFollowUp)
	if _, page := supervisor.do(t, "GET", "/approvals?lang=en", nil, nil); strings.Contains(page, casePath+"/closure/approval") ||
		!strings.Contains(page, "No closure request is waiting") {
		t.Errorf("the approved closure is still on the queue")
	}
	if resp, page := supervisor.do(t, "GET", casePath+"/closure/approval?lang=en", nil, nil); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(page, "No closure has been requested.") {
		t.Errorf("the approval form after the answer: %d, want the refusal", resp.StatusCode)
	}
}

// A deadline that passed stays on the queues as overdue until it is met:
// the decision on the competent authority's queue, and on the supervisor's
// list of the agency's overdue deadlines.
func TestOverdueDeadlinesStayOnTheQueues(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP() // the preliminary decision is due in seconds
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	waitObligation(t, officer, "/api/v1/cases/"+opened.ID, "preliminary_decision", "breached")

	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	_, page := decider.do(t, "GET", "/decisions?lang=en", nil, nil)
	authorityWant(t, "the decisions queue after the deadline", page, opened.Number, "hours overdue", "tag--red")
	supervisor := signInPages(t, base, "supervisor@lebap-police.example", testenv.DemoPassword)
	_, page = supervisor.do(t, "GET", "/approvals?lang=en", nil, nil)
	authorityWant(t, "the overdue deadlines", page, "Overdue deadlines", opened.Number, "hours overdue")
	other := signInPages(t, base, "officer@dashoguz-police.example", testenv.DemoPassword)
	if resp, _ := other.do(t, "GET", "/approvals?lang=en", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another agency's officer on /approvals: %d, want 403", resp.StatusCode)
	}

	// Met late, it leaves the queue (the conclusive decision is due next).
	decided(t, testenv.NewClient(sys).Login(t, "decider@authority.example"), "/api/v1/cases/"+opened.ID, "preliminary", "positive")
	_, page = decider.do(t, "GET", "/decisions?lang=en", nil, nil)
	if strings.Contains(page, "Preliminary identification decision") || !strings.Contains(page, "Conclusive identification decision") {
		t.Errorf("the preliminary decision taken late is still due on the queue, or the conclusive one is not")
	}
}
