package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// The transfer and reopening forms of the case page: offered to the roles
// the procedure allows, GOV.UK-style errors that keep what was typed, the
// old agency sent on to a confirmation that names no case, and a reopened
// case confirmed on its page.
func TestTransferAndReopenThroughThePages(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	ctx := context.Background()
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	agency := func(name string) string {
		a, err := sys.Store.AgencyByName(ctx, name)
		testenv.Must(t, err)
		return a.ID.String()
	}
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	casePath := "/cases/" + opened.ID

	officerPages := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	if _, page := officerPages.do(t, "GET", casePath+"?lang=en", nil, nil); strings.Contains(page, casePath+"/transfer") {
		t.Errorf("an officer is offered the transfer")
	}
	if resp, page := officerPages.do(t, "GET", casePath+"/transfer?lang=en", nil, nil); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, "The procedure does not allow this") || strings.Contains(page, `name="agency_id"`) {
		t.Errorf("the transfer form for an officer: %d, want the refusal instead of the form", resp.StatusCode)
	}

	sup := signInPages(t, base, "supervisor@lebap-police.example", testenv.DemoPassword)
	if _, page := sup.do(t, "GET", casePath+"?lang=en", nil, nil); !strings.Contains(page, `href="`+casePath+`/transfer"`) {
		t.Errorf("the supervisor's case page offers no transfer")
	}
	form, csrf, key := formOf(t, sup, casePath+"/transfer?lang=en")
	hotline, dashoguz := agency(demo.Hotline), agency(demo.DashoguzPolice)
	if !strings.Contains(form, `value="`+hotline+`"`) || !strings.Contains(form, demo.Hotline) || strings.Contains(form, agency(demo.LebapShelter)) ||
		strings.Contains(form, `value="`+agency(demo.LebapPolice)+`"`) || !strings.Contains(form, "No, it stays in lebap") {
		t.Fatalf("transfer form: the agencies that may own cases, not the case's own nor a shelter: %s", form)
	}
	post := func(b *browser, path string, v url.Values) (*http.Response, string) {
		return b.do(t, "POST", path, v, nil)
	}
	resp, page := post(sup, casePath+"/transfer?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "region": {"same"}, "reason": {"The person moved to Ashgabat."}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#agency_id"`) || !strings.Contains(page, "The person moved to Ashgabat.") {
		t.Errorf("transfer without an agency: %d, want 422 linked to the field, the reason kept", resp.StatusCode)
	}
	// An agency that does not serve the case's region: the service's 422 on the field, nothing done.
	resp, page = post(sup, casePath+"/transfer?lang=ru", url.Values{"csrf": {csrf}, "key": {key}, "agency_id": {dashoguz}, "region": {"same"}, "reason": {"Переезд."}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#agency_id"`) {
		t.Errorf("transfer outside the region: %d, want 422 on agency_id", resp.StatusCode)
	}
	if !listedPage(t, sup, opened.Number) {
		t.Errorf("a refused transfer took the case away")
	}
	_, csrf, key = formOf(t, sup, casePath+"/transfer")
	resp, _ = post(sup, casePath+"/transfer", url.Values{"csrf": {csrf}, "key": {key}, "agency_id": {hotline}, "region": {"same"}, "reason": {"The person moved to Ashgabat."}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/transferred" {
		t.Fatalf("transfer: %d to %q, want the confirmation", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, page := sup.do(t, "GET", "/transferred?lang=en", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Case transferred") ||
		strings.Contains(page, opened.Number) {
		t.Errorf("confirmation: %d", resp.StatusCode)
	}
	if resp, _ := sup.do(t, "GET", casePath, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the old supervisor reads the case page: %d, want 404", resp.StatusCode)
	}
	if listedPage(t, sup, opened.Number) {
		t.Errorf("the case is still on the old agency's list page")
	}
	outreach := signInPages(t, base, "outreach@hotline.example", testenv.DemoPassword)
	if !listedPage(t, outreach, opened.Number) {
		t.Errorf("the case is not on the hotline's list page")
	}
	if _, page := outreach.do(t, "GET", casePath+"?lang=en", nil, nil); !strings.Contains(page, "Case transferred to another agency") {
		t.Errorf("the timeline does not show the transfer")
	}

	// Reopening: a closed case, for the competent authority.
	outreachAPI := testenv.NewClient(sys).Login(t, "outreach@hotline.example")
	mustStatus(t, "withdraw", outreachAPI.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/consent/withdraw", map[string]string{"reason": "r"}, nil), http.StatusOK)
	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	if _, page := decider.do(t, "GET", casePath+"?lang=en", nil, nil); !strings.Contains(page, `href="`+casePath+`/reopen"`) || strings.Contains(page, casePath+"/transfer\"") {
		t.Errorf("the closed case's page does not offer the reopening (or still offers the transfer)")
	}
	form, csrf, key = formOf(t, decider, casePath+"/reopen?lang=tk")
	if !strings.Contains(form, `value="re_trafficked"`) || !strings.Contains(form, "Adam ýene-de adam söwdasynyň pidasy boldy") {
		t.Fatalf("reopen form without the reasons in Turkmen: %s", form)
	}
	resp, page = post(decider, casePath+"/reopen?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "note": {"Seen again in Mary."}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#reason"`) || !strings.Contains(page, "Seen again in Mary.") {
		t.Errorf("reopen without a reason: %d, want 422 linked to the field, the note kept", resp.StatusCode)
	}
	resp, page = post(decider, casePath+"/reopen", url.Values{"csrf": {csrf}, "key": {key}, "reason": {"re_trafficked"}, "note": {"Seen again in Mary."}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath+"?done=reopen" {
		t.Fatalf("reopen: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	// Sent again (a double click): the case is open now, so the form is
	// refused, and nothing runs a second time.
	if resp, _ := post(decider, casePath+"/reopen", url.Values{"csrf": {csrf}, "key": {key}, "reason": {"re_trafficked"}, "note": {"Seen again in Mary."}}); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusConflict {
		t.Errorf("reopen sent again: %d", resp.StatusCode)
	}
	_, page = decider.do(t, "GET", casePath+"?done=reopen&lang=en", nil, nil)
	if !strings.Contains(page, "The case was reopened.") || strings.Count(page, "Case reopened") != 1 || !strings.Contains(page, "The person was trafficked again") {
		t.Errorf("the reopened case's page lacks the confirmation or the timeline's one reopening")
	}
}

// listedPage reports whether the case list page shows the case number.
func listedPage(t *testing.T, b *browser, number string) bool {
	t.Helper()
	resp, page := b.do(t, "GET", "/cases?lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("case list: %d", resp.StatusCode)
	}
	return strings.Contains(page, number)
}
