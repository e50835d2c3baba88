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

// flowSignIn signs a tab in through the Turkmen sign-in page.
func flowSignIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login?lang=tk"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), testenv.DemoPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`))); err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
}

// flowPage navigates to path and answers the main element's text, after
// checking it with axe-core.
func flowPage(t *testing.T, ctx context.Context, base, path, what string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	checkAccessibility(t, ctx, what)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	return text
}

// flowSubmit presses the form's button and waits for the case page's
// confirmation, answering it.
func flowSubmit(t *testing.T, ctx context.Context, button, what string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(".notice"))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s: %v\n%s", what, err, page)
	}
	checkAccessibility(t, ctx, what)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice")))
	testenv.Must(t, err)
	return text
}

// flowSteps runs actions one by one, each within 20 seconds, and names
// the one that fails.
func flowSteps(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for i, a := range actions {
		step, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(step, a)
		cancel()
		if err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s, step %d: %v\n%s", what, i+1, err, page)
		}
	}
}

func wantText(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s: %q is missing from the page:\n%s", what, w, text)
		}
	}
}

// The whole procedure through the pages, in Turkmen: a frontline officer
// opens a presumed victim's case with the screening form; the decider takes
// a negative preliminary decision and another officer overturns it on
// review; the officer refers the person to a shelter; once the shelter has
// completed its work, the officer requests closure and the supervisor
// approves it. Each user has their own browser; each page passes axe-core.
func TestBrowserWholeProcedureInTurkmen(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr

	// 1. The officer opens the case through the screening form.
	officer := newBrowserTab(t, 1200, 900)
	flowSignIn(t, officer, base, "officer@lebap-police.example")
	flowPage(t, officer, base, "/cases/new?lang=tk", "the screening form")
	flowSteps(t, officer, "open the case through the form",
		chromedp.SendKeys(chromedp.ID("given_name"), "Aýgül"), chromedp.Click(chromedp.ID("sex")),
		chromedp.SendKeys(chromedp.ID("citizenship"), "TM"), chromedp.SetValue(chromedp.ID("region"), "lebap"),
		chromedp.Click(chromedp.ID("context")), chromedp.SendKeys(chromedp.ID("age_estimate"), "24"+kb.Tab),
		chromedp.WaitVisible(chromedp.ID("consent")), chromedp.Click(chromedp.ID("consent")), chromedp.Click(chromedp.ID("consent_data_sharing")),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="false_job_offer"]`)),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="deceived_about_wages"]`)),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="excessive_hours"]`)),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="documents_withheld"]`)),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="debt_bondage"]`)),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="restricted_movement"]`)),
		chromedp.Click(chromedp.CSS(`input[name="indicators"][value="no_or_little_pay"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#screening-result .result--presumed`)),
		chromedp.ScrollIntoView(chromedp.ID("screening-submit")),
		chromedp.Click(chromedp.ID("screening-submit")), chromedp.WaitVisible(chromedp.CSS(".case-number")),
	)
	checkAccessibility(t, officer, "the page after opening")
	number, err := chromedp.Run(officer, chromedp.Text(chromedp.CSS(".case-number")))
	testenv.Must(t, err)
	number = strings.TrimSpace(number)
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var list struct {
		Cases []caseBody `json:"cases"`
	}
	mustStatus(t, "list", api.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
	if len(list.Cases) != 1 || list.Cases[0].Number != number {
		t.Fatalf("the form opened %d cases, want one numbered %s", len(list.Cases), number)
	}
	id := list.Cases[0].ID
	casePath := "/cases/" + id
	page := flowPage(t, officer, base, casePath+"?lang=tk", "the new case")
	wantText(t, "the new case", page, number, "Kesgitleme", "Aýgül")
	// The correction form asks the screening's questions again, answered
	// as recorded (person_parts.html serves both forms).
	flowPage(t, officer, base, casePath+"/correct?lang=tk", "the correction form")
	for id, want := range map[string]string{"given_name": "Aýgül", "citizenship": "TM", "age_estimate": "24"} {
		got, err := chromedp.Run(officer, chromedp.Value(chromedp.ID(id)))
		testenv.Must(t, err)
		if got != want {
			t.Errorf("the correction form's %s is %q, want %q as screened", id, got, want)
		}
	}

	// 2. The decider finds the case on the queue and takes a negative preliminary decision.
	decider := newBrowserTab(t, 1200, 900)
	flowSignIn(t, decider, base, "decider@authority.example")
	page = flowPage(t, decider, base, "/decisions?lang=tk", "the decisions queue")
	wantText(t, "the decisions queue", page, number)
	flowPage(t, decider, base, casePath+"/decide?lang=tk", "the decision form")
	testenv.Must(t, chromedp.Do(decider, chromedp.Click(chromedp.ID("kind")), chromedp.Click(chromedp.ID("outcome-negative")),
		chromedp.SendKeys(chromedp.ID("reason"), "Görkezijiler ýeterlik däl.")))
	wantText(t, "the decision", flowSubmit(t, decider, "#send", "the decision"), "Karar ýazyldy.")
	page, err = chromedp.Run(decider, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the case after the decision", page, "Deslapky karar: ýaramaz", "täzeden seredilmegine garaşýar")
	if strings.Contains(page, "Ýaramaz karara täzeden seretmek") {
		t.Errorf("the decider is offered the review of their own decision")
	}

	// 3. Another officer of the authority overturns it on review.
	reviewer := newBrowserTab(t, 1200, 900)
	flowSignIn(t, reviewer, base, "reviewer@authority.example")
	flowPage(t, reviewer, base, casePath+"?lang=tk", "the case for the reviewer")
	if err := chromedp.Do(reviewer, chromedp.Click(chromedp.CSS(`a[href^="`+casePath+`/decisions/"]`)), chromedp.WaitVisible(chromedp.ID("choice"))); err != nil {
		t.Fatalf("open the review form from the case page: %v", err)
	}
	checkAccessibility(t, reviewer, "the review form")
	testenv.Must(t, chromedp.Do(reviewer, chromedp.Click(chromedp.ID("choice-overturn")),
		chromedp.SendKeys(chromedp.ID("reason"), "Aldaw bilen işe çekilendigi subut edildi.")))
	wantText(t, "the review", flowSubmit(t, reviewer, "#send", "the review"), "Täzeden seredilişi ýazyldy.")
	page, err = chromedp.Run(reviewer, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the case after the review", page, "Dikeldiş döwri", "täzeden seredilende ýatyryldy")

	// 4. The officer refers the person to a shelter from the case page.
	flowPage(t, officer, base, casePath+"?lang=tk", "the case in recovery")
	if err := chromedp.Do(officer, chromedp.Click(chromedp.CSS(`a[href="`+casePath+`/referrals/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="service"][value="shelter"]`))); err != nil {
		t.Fatalf("open the referral form: %v", err)
	}
	checkAccessibility(t, officer, "the referral form")
	testenv.Must(t, chromedp.Do(officer, chromedp.Click(chromedp.CSS(`input[name="service"][value="shelter"]`)),
		chromedp.SendKeys(chromedp.ID("note"), "Şu gije ýatmaga ýer gerek.")))
	wantText(t, "the referral", flowSubmit(t, officer, `main form button[type="submit"]`, "the referral"), "Ugrukdyrma iberildi.")
	saveScreenshot(t, officer, "case-page-tk-1200.png")

	// The shelter answers through its API (its pages are another issue's).
	shelter := testenv.NewClient(sys).Login(t, "shelter@lebap-shelter.example")
	var inbox struct {
		Referrals []struct {
			ID string `json:"id"`
		} `json:"referrals"`
	}
	testenv.Eventually(t, 20*time.Second, "the referral reaches the shelter", func() bool {
		mustStatus(t, "inbox", shelter.Do(t, "GET", "/api/v1/referrals", nil, &inbox), http.StatusOK)
		return len(inbox.Referrals) == 1
	})
	ref := "/api/v1/referrals/" + inbox.Referrals[0].ID
	mustStatus(t, "accept", shelter.Do(t, "POST", ref+"/accept", map[string]any{}, nil), http.StatusOK)
	mustStatus(t, "complete", shelter.Do(t, "POST", ref+"/complete", map[string]any{"outcome": "service_provided"}, nil), http.StatusOK)

	// 5. The officer requests closure.
	testenv.Eventually(t, 20*time.Second, "the case page offers closure", func() bool {
		page := flowPage(t, officer, base, casePath+"?lang=tk", "the case with the referral completed")
		return strings.Contains(page, "Işi ýapmagy soramak")
	})
	if err := chromedp.Do(officer, chromedp.Click(chromedp.CSS(`a[href="`+casePath+`/closure"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="reason"][value="reintegrated"]`))); err != nil {
		t.Fatalf("open the closure form: %v", err)
	}
	checkAccessibility(t, officer, "the closure form")
	testenv.Must(t, chromedp.Do(officer, chromedp.Click(chromedp.CSS(`input[name="reason"][value="reintegrated"]`))))
	wantText(t, "the closure request", flowSubmit(t, officer, `main form button[type="submit"]`, "the closure request"),
		"Işi ýapmak soraldy.")

	// 6. The supervisor approves it from the approvals queue.
	supervisor := newBrowserTab(t, 1200, 900)
	flowSignIn(t, supervisor, base, "supervisor@lebap-police.example")
	page = flowPage(t, supervisor, base, "/approvals?lang=tk", "the approvals queue")
	wantText(t, "the approvals queue", page, number)
	flowPage(t, supervisor, base, casePath+"/closure/approval?lang=tk", "the approval form")
	testenv.Must(t, chromedp.Do(supervisor, chromedp.Click(chromedp.ID("answer"))))
	wantText(t, "the approval", flowSubmit(t, supervisor, "#send", "the approval"), "Ýapmak tassyklandy.")
	page, err = chromedp.Run(supervisor, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the case after approval", page, "Yzarlama", "Işi ýapmak soraldy", "Ýapmak tassyklandy")

	// Another agency's officer gets the 404 page, for the case and its forms.
	other := newBrowserTab(t, 1200, 900)
	flowSignIn(t, other, base, "officer@dashoguz-police.example")
	for _, path := range []string{casePath, casePath + "/referrals/new"} {
		page := flowPage(t, other, base, path+"?lang=tk", "another agency's view of "+path)
		wantText(t, "another agency's view of "+path, page, "Sahypa tapylmady")
		if strings.Contains(page, number) || strings.Contains(page, "Aýgül") {
			t.Errorf("another agency's officer sees the case on %s", path)
		}
	}
}
