package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// screeningTabTo presses Tab until the element with that ID has the focus,
// as an officer without a mouse would.
func screeningTabTo(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	for range 400 {
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		testenv.Must(t, err)
		if focused == id {
			return
		}
		testenv.Must(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)))
	}
	t.Fatalf("Tab never reaches #%s", id)
}

// screeningBrowserSignIn signs in through the sign-in page the form
// redirects to, with the keyboard, and waits for the form.
func screeningBrowserSignIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/cases/new?lang=tk"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Focus(chromedp.ID("email")),
		chromedp.KeyEvent(email),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(testenv.DemoPassword),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("given_name")),
	); err != nil {
		t.Fatalf("sign in to the screening form: %v", err)
	}
}

// screeningDrafts counts the screening drafts the browser keeps.
func screeningDrafts(t *testing.T, ctx context.Context) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Object.keys(localStorage).filter(k => k.startsWith("nrm.screening.draft.")).length`))
	testenv.Must(t, err)
	return n
}

func screeningValue(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
	testenv.Must(t, err)
	return v
}

// In Turkmen, with the keyboard alone, a frontline officer fills the
// screening form, sees the rule's result live, and opens a case; the draft
// survives a reload and goes when the case opens or the officer signs
// out; a double click opens one case; every page passes axe-core and fits
// a 360 px phone.
func TestBrowserScreeningForm(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	ctx := newBrowserTab(t, 1200, 900)
	screeningBrowserSignIn(t, ctx, base, "officer@lebap-police.example")

	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	testenv.Must(t, err)
	if heading != "Çak edilýän pidanyň deslapky barlagy" {
		t.Errorf("the form's heading %q, want the Turkmen one", heading)
	}
	checkAccessibility(t, ctx, "the empty screening form")
	fitsWidth(t, ctx, 1200, "the empty screening form")
	saveScreenshot(t, ctx, "screening-form-tk-1200.png")

	// The draft survives a reload.
	testenv.Must(t, chromedp.Do(ctx, chromedp.Focus(chromedp.ID("given_name")), chromedp.KeyEvent("Aýna"),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("Berdiýewa")))
	time.Sleep(700 * time.Millisecond) // the draft is saved 300 ms after typing stops
	testenv.Must(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("given_name"))))
	if given, family := screeningValue(t, ctx, "given_name"), screeningValue(t, ctx, "family_name"); given != "Aýna" || family != "Berdiýewa" {
		t.Errorf("after a reload the form shows %q %q, want the draft Aýna Berdiýewa", given, family)
	}
	if restored, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("draft-status"))); !strings.Contains(restored, "dikeldildi") {
		t.Errorf("the restored draft is not announced: %q", restored)
	}
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(localStorage)`))
	testenv.Must(t, err)
	if !strings.Contains(stored, "Aýna") || strings.Contains(stored, `"csrf"`) || strings.Contains(stored, `"key"`) {
		t.Errorf("the draft keeps the CSRF token or the form's key, or not the name: %s", stored)
	}

	// Sent without the required answers: the errors, in Turkmen, with
	// what was typed.
	testenv.Must(t, chromedp.Do(ctx, chromedp.Focus(chromedp.ID("family_name")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".error-summary"))))
	summary, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".error-summary")))
	testenv.Must(t, err)
	if !strings.Contains(summary, "Adamyň jynsyny saýlaň") || !strings.Contains(summary, "Welaýaty saýlaň") {
		t.Errorf("the error summary in Turkmen lacks the missing answers: %q", summary)
	}
	if given := screeningValue(t, ctx, "given_name"); given != "Aýna" {
		t.Errorf("the form with errors lost the given name: %q", given)
	}
	checkAccessibility(t, ctx, "the screening form with errors")
	fitsWidth(t, ctx, 1200, "the screening form with errors")

	// The rest with the keyboard alone: Tab to each question, type, Space.
	type step struct{ id, keys string }
	for _, s := range []step{
		{"birth_date", "14"}, {"birth_month", "5"}, {"birth_year", "2001"}, {"sex", " "}, {"citizenship", "TM"}, {"languages", "tk, ru"},
		{"region", "lebap"}, {"context", " "}, {"exploitation", " "}, {"urgent_needs", " "},
		{"indicators", " "}, {"indicator-deceived_about_wages", " "}, {"indicator-excessive_hours", " "},
		{"indicator-no_or_little_pay", " "}, {"indicator-documents_withheld", " "}, {"indicator-debt_bondage", " "},
		{"indicator-restricted_movement", " "},
	} {
		screeningTabTo(t, ctx, s.id)
		testenv.Must(t, chromedp.Do(ctx, chromedp.KeyEvent(s.keys)))
	}
	if region := screeningValue(t, ctx, "region"); region != "lebap" {
		t.Fatalf("the region chosen by typing is %q, want lebap", region)
	}
	// The rule's result, live: a presumed victim, on the adult track, so
	// the adult's consent is asked.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#screening-result .result--presumed[data-track="adult"]`)),
		chromedp.WaitVisible(chromedp.ID("consent"))); err != nil {
		t.Fatalf("the live result: %v", err)
	}
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("screening-result")))
	testenv.Must(t, err)
	if !strings.Contains(result, "Çak edilýän pida") || !strings.Contains(result, "Ulular üçin tertip") {
		t.Errorf("the live result in Turkmen: %q", result)
	}
	if child, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("consent-child").hidden`)); !child {
		t.Errorf("the child's path is shown for an adult")
	}
	for _, id := range []string{"consent", "consent_data_sharing"} {
		screeningTabTo(t, ctx, id)
		testenv.Must(t, chromedp.Do(ctx, chromedp.KeyEvent(" ")))
	}
	screeningTabTo(t, ctx, "screening-submit")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(".case-number"))); err != nil {
		t.Fatalf("send the form with the keyboard: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	testenv.Must(t, err)
	number, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".case-number")))
	testenv.Must(t, err)
	page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	testenv.Must(t, err)
	if title != "Iş açyldy" || !strings.HasPrefix(number, "TM-") || !strings.Contains(page, "Ugrukdyrmak: Howpsuz ýaşaýyş ýeri (başpena)") {
		t.Errorf("the page after the form: %q %q, want the Turkmen page with the case number and the urgent referral:\n%s", title, number, page)
	}
	var list struct {
		Cases []caseBody `json:"cases"`
	}
	mustStatus(t, "list", api.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
	if len(list.Cases) != 1 || list.Cases[0].Number != number {
		t.Fatalf("the API lists %d cases, want the one opened, %s", len(list.Cases), number)
	}
	if n := screeningDrafts(t, ctx); n != 0 {
		t.Errorf("%d drafts kept after the case opened, want none", n)
	}
	checkAccessibility(t, ctx, "the page after the screening form")
	fitsWidth(t, ctx, 1200, "the page after the screening form")

	// A double click on the submit button opens one case.
	testenv.Must(t, chromedp.Do(ctx, chromedp.Navigate(base+"/cases/new?lang=tk"), chromedp.WaitVisible(chromedp.ID("given_name")),
		chromedp.SendKeys(chromedp.ID("given_name"), "Merjen"), chromedp.Click(chromedp.ID("sex")),
		chromedp.SendKeys(chromedp.ID("citizenship"), "TM"), chromedp.SetValue(chromedp.ID("region"), "lebap"),
		chromedp.Click(chromedp.ID("context")), chromedp.SendKeys(chromedp.ID("age_estimate"), "30"+kb.Tab), // the change asks for the result: the adult track
		chromedp.WaitVisible(chromedp.ID("consent")), chromedp.Click(chromedp.ID("consent")), chromedp.Click(chromedp.ID("consent_data_sharing")),
		chromedp.Click(chromedp.ID("indicators")), chromedp.Click(chromedp.ID("indicator-deceived_about_wages")),
		chromedp.ScrollIntoView(chromedp.ID("screening-submit")),
	))
	if err := chromedp.Do(ctx, chromedp.DoubleClick(chromedp.ID("screening-submit")), chromedp.WaitVisible(chromedp.CSS(".case-number"))); err != nil {
		t.Fatalf("double click on submit: %v", err)
	}
	mustStatus(t, "list", api.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
	if len(list.Cases) != 2 {
		t.Errorf("a double click made %d cases in all, want 2", len(list.Cases))
	}

	// Signing out clears the draft on a shared device.
	testenv.Must(t, chromedp.Do(ctx, chromedp.Navigate(base+"/cases/new?lang=tk"), chromedp.WaitVisible(chromedp.ID("given_name")),
		chromedp.Focus(chromedp.ID("given_name")), chromedp.KeyEvent("Jeren")))
	time.Sleep(700 * time.Millisecond)
	if n := screeningDrafts(t, ctx); n != 1 {
		t.Fatalf("%d drafts while typing, want 1", n)
	}
	testenv.Must(t, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS("form[data-signout] button")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.ID("email"))))
	if n := screeningDrafts(t, ctx); n != 0 {
		t.Errorf("%d drafts kept after signing out, want none", n)
	}

	// A phone.
	phone := newBrowserTab(t, 360, 740)
	screeningBrowserSignIn(t, phone, base, "officer@lebap-police.example")
	checkAccessibility(t, phone, "the screening form on a phone")
	fitsWidth(t, phone, 360, "the screening form")
	saveScreenshot(t, phone, "screening-form-tk-360.png")
	testenv.Must(t, chromedp.Do(phone, chromedp.Focus(chromedp.ID("given_name")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".error-summary"))))
	fitsWidth(t, phone, 360, "the screening form with errors")
	testenv.Must(t, chromedp.Do(phone, chromedp.Navigate(base+"/cases/"+list.Cases[0].ID+"/opened?lang=tk"), chromedp.WaitVisible(chromedp.CSS(".case-number"))))
	fitsWidth(t, phone, 360, "the page after the screening form")
}
