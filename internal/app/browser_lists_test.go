package app_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// The case list, the notifications and the account page in a browser, on a
// desktop in Turkmen and on a 360 px phone in Russian (the longest words):
// each passes axe-core and never scrolls sideways; marking a notification
// read lowers the header's count; the password form's errors show.
func TestBrowserListsNotificationsAccount(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	// The same person three times: possible duplicates for the competent
	// authority (three notifications: each run marks one read, and read
	// state is the agency's), and three cases in its list.
	first := openCaseOf(t, officer, "Aýna")
	openCaseOf(t, officer, "Aýna")
	openCaseOf(t, officer, "Aýna")

	countIn := regexp.MustCompile(`\((\d+)\)`)
	headerCount := func(ctx context.Context) string {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector('.header__nav a[href="/notifications"] span[aria-hidden]') || {textContent: ""}).textContent`))
		testenv.Must(t, err)
		return text
	}
	for _, run := range []struct {
		w, h                   int
		lang, casesH1, notesH1 string
		accountH1, errorTitle  string
	}{
		{1200, 900, "tk", "Işler", "Habarnamalar", "Siziň hasabyňyz", "Bir mesele bar"},
		{360, 740, "ru", "Дела", "Уведомления", "Ваша учётная запись", "Есть проблема"},
	} {
		ctx := newBrowserTab(t, run.w, run.h)
		what := func(page string) string { return fmt.Sprintf("%s (%s, %d px)", page, run.lang, run.w) }
		// Signed out: the sign-in page, then back to the case list.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/cases?lang="+run.lang), chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), "decider@authority.example"),
			chromedp.SendKeys(chromedp.ID("password"), testenv.DemoPassword),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("number")),
		); err != nil {
			t.Fatalf("%s: sign in: %v", what("/cases"), err)
		}
		h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		testenv.Must(t, err)
		main, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		testenv.Must(t, err)
		if h1 != run.casesH1 || !strings.Contains(main, first.Number) {
			t.Errorf("%s: heading %q, want %q and case %s listed", what("/cases"), h1, run.casesH1, first.Number)
		}
		checkAccessibility(t, ctx, what("/cases"))
		fitsWidth(t, ctx, run.w, what("/cases"))
		saveScreenshot(t, ctx, fmt.Sprintf("cases-%s-%d.png", run.lang, run.w))

		// The notifications; mark the first read.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/notifications"), chromedp.WaitVisible(chromedp.CSS(".notifications"))); err != nil {
			t.Fatalf("%s: %v", what("/notifications"), err)
		}
		h1, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		testenv.Must(t, err)
		if h1 != run.notesH1 {
			t.Errorf("%s: heading %q, want %q", what("/notifications"), h1, run.notesH1)
		}
		before := headerCount(ctx)
		checkAccessibility(t, ctx, what("/notifications"))
		fitsWidth(t, ctx, run.w, what("/notifications"))
		saveScreenshot(t, ctx, fmt.Sprintf("notifications-%s-%d.png", run.lang, run.w))
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/notifications/read"] button`)),
			chromedp.WaitVisible(chromedp.CSS(".notice"))); err != nil {
			t.Fatalf("%s: mark read: %v", what("/notifications"), err)
		}
		after := headerCount(ctx)
		b, a := countIn.FindStringSubmatch(before), countIn.FindStringSubmatch(after)
		switch {
		case b == nil:
			t.Errorf("%s: no unread count in the header before marking one read", what("/notifications"))
		case a == nil && b[1] != "1", a != nil && atoi(a[1]) != atoi(b[1])-1:
			t.Errorf("%s: the header's count went from %q to %q, want one less", what("/notifications"), before, after)
		}

		// The account page, then the password form sent empty: its errors.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("current"))); err != nil {
			t.Fatalf("%s: %v", what("/account"), err)
		}
		h1, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		testenv.Must(t, err)
		if h1 != run.accountH1 {
			t.Errorf("%s: heading %q, want %q", what("/account"), h1, run.accountH1)
		}
		checkAccessibility(t, ctx, what("/account"))
		fitsWidth(t, ctx, run.w, what("/account"))
		saveScreenshot(t, ctx, fmt.Sprintf("account-%s-%d.png", run.lang, run.w))
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/account/password"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".error-summary"))); err != nil {
			t.Fatalf("%s: send the empty password form: %v", what("/account"), err)
		}
		title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".error-summary__title")))
		testenv.Must(t, err)
		if title != run.errorTitle {
			t.Errorf("%s: error summary %q, want %q", what("/account"), title, run.errorTitle)
		}
		checkAccessibility(t, ctx, what("/account with errors"))
		fitsWidth(t, ctx, run.w, what("/account with errors"))
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
