package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// The competent authority's and the supervisor's pages in a browser, on a
// desktop in Turkmen and on a 360 px phone in Russian: the queues, every
// command form (the decision also with its errors, the erasure's
// confirmation step) and a refusal pass axe-core and never scroll sideways.
func TestBrowserDecisionsAndApprovals(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	open := func() caseBody {
		var c caseBody
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
		return c
	}
	fresh := open() // a preliminary decision due
	recovering := open()
	decided(t, decider, "/api/v1/cases/"+recovering.ID, "preliminary", "positive")
	negative := open()
	negativeID := decided(t, decider, "/api/v1/cases/"+negative.ID, "preliminary", "negative")
	closing := open()
	mustStatus(t, "request closure", officer.Do(t, "POST", "/api/v1/cases/"+closing.ID+"/closure",
		map[string]any{"reason": "reintegrated", "note": "Back with her family"}, nil), http.StatusOK)

	for _, run := range []struct {
		w, h int
		lang string
	}{{1200, 900, "tk"}, {360, 740, "ru"}} {
		ctx := newBrowserTab(t, run.w, run.h)
		what := func(page string) string { return fmt.Sprintf("%s (%s, %d px)", page, run.lang, run.w) }
		signIn := func(email, path, waitFor string) {
			t.Helper()
			if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatalf("clear the cookies: %v", err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(base+path+"?lang="+run.lang),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), email),
				chromedp.SendKeys(chromedp.ID("password"), testenv.DemoPassword),
				chromedp.Submit(chromedp.ID("password")),
				chromedp.WaitVisible(chromedp.CSS(waitFor)),
			); err != nil {
				t.Fatalf("%s: sign in as %s: %v", what(path), email, err)
			}
		}
		check := func(name, path, waitFor string) {
			t.Helper()
			if path != "" {
				if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(waitFor))); err != nil {
					t.Fatalf("%s: %v", what(path), err)
				}
			}
			main, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			testenv.Must(t, err)
			if strings.Contains(main, "Aýna") || strings.Contains(main, "Berdiýewa") {
				t.Errorf("%s shows the person's name", what(name))
			}
			checkAccessibility(t, ctx, what(name))
			fitsWidth(t, ctx, run.w, what(name))
			saveScreenshot(t, ctx, fmt.Sprintf("%s-%s-%d.png", name, run.lang, run.w))
		}

		// The competent authority: the queue, then each form.
		signIn("decider@authority.example", "/decisions", "table")
		queue, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		testenv.Must(t, err)
		for _, c := range []caseBody{fresh, negative} {
			if !strings.Contains(queue, c.Number) {
				t.Errorf("%s: case %s is not on the queue", what("/decisions"), c.Number)
			}
		}
		check("decisions", "", "")
		check("decide", "/cases/"+fresh.ID+"/decide", "#reason")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.CSS(".error-summary"))); err != nil {
			t.Fatalf("%s: send the empty decision form: %v", what("decide"), err)
		}
		check("decide-errors", "", "")
		check("extend", "/cases/"+recovering.ID+"/recovery/extend", "#days")
		check("erasure", "/cases/"+recovering.ID+"/erasure", "#order")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("reason")), chromedp.SendKeys(chromedp.ID("order"), "No. 12/2026-A"),
			chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.ID("confirm"))); err != nil {
			t.Fatalf("%s: the order: %v", what("erasure"), err)
		}
		check("erasure-confirm", "", "")
		check("review-refused", "/cases/"+negative.ID+"/decisions/"+negativeID+"/review", ".authority-warning")

		// Another officer reviews the negative decision.
		signIn("reviewer@authority.example", "/cases/"+negative.ID+"/decisions/"+negativeID+"/review", "#reason")
		check("review", "", "")

		// The supervisor: the approvals, then the closure request.
		signIn("supervisor@lebap-police.example", "/approvals", "table")
		approvals, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		testenv.Must(t, err)
		if !strings.Contains(approvals, closing.Number) {
			t.Errorf("%s: the closure of case %s is not on the queue", what("/approvals"), closing.Number)
		}
		check("approvals", "", "")
		check("closure-approval", "/cases/"+closing.ID+"/closure/approval", "#note")
	}
}
