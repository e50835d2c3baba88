package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// signInAs signs a tab in through the sign-in page in a language, with a
// password, waiting for the signed-in header.
func signInAs(t *testing.T, ctx context.Context, base, lang, email, password string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login?lang="+lang), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`))); err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
}

// An administrator adds a user through the pages, in Turkmen; the user
// signs in through the sign-in page in their own browser; the
// administrator deactivates them after the confirmation, and the user's
// next page is the sign-in page, where their password is refused. Every
// page passes axe-core.
func TestBrowserAdminAddsUserWhoSignsInAndIsDeactivated(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	var police string
	testenv.Must(t, sys.Store.DB().Get(&police, `SELECT id FROM agencies WHERE name = $1`, demo.LebapPolice))

	admin := newBrowserTab(t, 1200, 900)
	flowSignIn(t, admin, base, "admin@nrm.example")
	wantText(t, "/admin", flowPage(t, admin, base, "/admin", "the administration overview"), "Dolandyryş", "Edaralar", "Ulanyjylar")
	flowPage(t, admin, base, "/admin/users", "the users")

	// The form sent empty: the errors, each next to its field.
	flowPage(t, admin, base, "/admin/users/new", "the new user form")
	flowSteps(t, admin, "send the empty form", chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	checkAccessibility(t, admin, "the new user form with errors")
	text, err := chromedp.Run(admin, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "errors", text, "Ulanyjynyň adyny giriziň", "Ulanyjynyň e-poçta salgysyny giriziň", "Paroly giriziň")

	const email, password = "aylar@lebap-police.example", "walnut orchard morning 58"
	flowSteps(t, admin, "fill in the new user",
		chromedp.SendKeys(chromedp.ID("name"), "Aýlar Nurmuhammedowa"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SetValue(chromedp.ID("agency"), police),
		chromedp.Click(chromedp.ID("role-0")), // frontline, the first role
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("confirm"), password),
	)
	notice := flowSubmit(t, admin, "#send", "the new user")
	wantText(t, "added", notice, "Ulanyjy goşuldy")
	userURL, err := chromedp.Run(admin, chromedp.Location())
	testenv.Must(t, err)
	text, err = chromedp.Run(admin, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the user's page", text, "Aýlar Nurmuhammedowa", email, "Ilkinji basgançakdaky işgär", demo.LebapPolice, "Işjeň")

	// The user signs in, in their own browser.
	user := newBrowserTab(t, 1200, 900)
	signInAs(t, user, base, "tk", email, password)
	flowPage(t, user, base, "/", "the new user's worklist")

	// Deactivation, after the confirmation.
	flowSteps(t, admin, "open the confirmation", chromedp.Click(chromedp.CSS(`a[href$="/deactivate"]`)),
		chromedp.WaitVisible(chromedp.CSS(".admin-warning")))
	checkAccessibility(t, admin, "the deactivation's confirmation")
	notice = flowSubmit(t, admin, "#send", "the deactivation")
	wantText(t, "deactivated", notice, "Ulanyjy öçürildi")
	if loc, _ := chromedp.Run(admin, chromedp.Location()); !strings.HasPrefix(loc, strings.Split(userURL, "?")[0]) {
		t.Errorf("after the deactivation: %s", loc)
	}

	// The user's session has ended; signing in is refused.
	flowSteps(t, user, "the user's next page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("email")))
	flowSteps(t, user, "sign in again", chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	text, err = chromedp.Run(user, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "refused", text, "E-poçta salgysy ýa-da parol nädogry")
	checkAccessibility(t, user, "the refused sign-in")
}

// Every page of the administration and of the audit trail, with its data
// and with errors, on a desktop in English and a 360 px phone in Russian:
// each passes axe-core and none scrolls sideways.
func TestBrowserAdminAndAuditPages(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	var hotline, police, shelter, adminID string
	testenv.Must(t, sys.Store.DB().Get(&hotline, `SELECT id FROM agencies WHERE name = $1`, demo.Hotline))
	testenv.Must(t, sys.Store.DB().Get(&police, `SELECT id FROM agencies WHERE name = $1`, demo.LebapPolice))
	testenv.Must(t, sys.Store.DB().Get(&shelter, `SELECT id FROM agencies WHERE name = $1`, demo.LebapShelter))
	testenv.Must(t, sys.Store.DB().Get(&adminID, `SELECT id FROM users WHERE email = 'admin@nrm.example'`))
	var officerID string
	testenv.Must(t, sys.Store.DB().Get(&officerID, `SELECT id FROM users WHERE email = 'officer@lebap-police.example'`))
	// A case read through the API, an undelivered notification, a channel.
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	c := openCaseOf(t, officer, "Aýna")
	if st := officer.Do(t, "GET", "/api/v1/cases/"+c.ID, nil, nil); st != http.StatusOK {
		t.Fatalf("read the case: %d", st)
	}
	_, err := sys.Store.DB().Exec(`INSERT INTO notifications (id, case_id, kind, obligation, recipient_role, recipient_agency_id, created_at, status)
		VALUES ('browser/dead/1', $1, 'breach', 'preliminary_decision', 'frontline', $2, now(), 'dead')`, c.ID, police)
	testenv.Must(t, err)
	apiAdmin := testenv.NewClient(sys).Login(t, "admin@nrm.example")
	if st := apiAdmin.Do(t, "POST", "/api/v1/agencies/"+hotline+"/channels", map[string]string{"kind": "email", "target": "desk@hotline.example"}, nil); st != http.StatusCreated {
		t.Fatalf("add a channel: %d", st)
	}

	for _, run := range []struct {
		w, h          int
		lang, webhook string
		h1s           map[string]string
	}{
		{1200, 900, "en", "http://127.0.0.1:9/desktop", map[string]string{"/admin": "Administration", "/audit": "Audit trail"}},
		{360, 740, "ru", "http://127.0.0.1:9/phone", map[string]string{"/admin": "Администрирование", "/audit": "Журнал аудита"}},
	} {
		ctx := newBrowserTab(t, run.w, run.h)
		what := func(page string) string { return fmt.Sprintf("%s (%s, %d px)", page, run.lang, run.w) }
		signInAs(t, ctx, base, run.lang, "admin@nrm.example", testenv.DemoPassword)
		check := func(path string) string {
			t.Helper()
			text := flowPage(t, ctx, base, path, what(path))
			fitsWidth(t, ctx, run.w, what(path))
			return text
		}
		submit := func(path, button, wait string) string {
			t.Helper()
			// The answer is a new document: wait for it, not for an element
			// the form's own page may already show.
			flowSteps(t, ctx, what(path), chromedp.Evaluate[chromedp.Void](`window.nrmBeforeSubmit = true`),
				chromedp.Click(chromedp.CSS(button)))
			testenv.Eventually(t, 20*time.Second, what(path)+": the answer's page", func() bool {
				replaced, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.nrmBeforeSubmit !== true`))
				return err == nil && replaced // an error: the old page is going away
			})
			flowSteps(t, ctx, what(path), chromedp.WaitVisible(chromedp.CSS(wait)))
			checkAccessibility(t, ctx, what(path+" sent"))
			fitsWidth(t, ctx, run.w, what(path+" sent"))
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			testenv.Must(t, err)
			return text
		}
		for path, h1 := range run.h1s {
			wantText(t, what(path), check(path), h1)
		}
		check("/admin/agencies")
		check("/admin/agencies/new")
		submit("/admin/agencies/new", "#send", ".error-summary")
		check("/admin/agencies/" + shelter)
		check("/admin/agencies/" + hotline + "/channels")
		// A webhook: its secret, shown once.
		flowSteps(t, ctx, what("add a webhook"), chromedp.SendKeys(chromedp.ID("target"), run.webhook))
		text := submit("/admin/agencies/"+hotline+"/channels", "#send", "#secret")
		wantText(t, what("the secret"), text, run.webhook)
		check("/admin/users")
		check("/admin/users/new")
		submit("/admin/users/new", "#send", ".error-summary")
		check("/admin/users/" + officerID)
		submit("/admin/users/"+officerID, "#password-send", ".error-summary")
		check("/admin/users/" + adminID)
		check("/admin/users/" + officerID + "/deactivate")
		wantText(t, what("dead letters"), check("/admin/dead-letters"), c.Number)
		check("/admin/audit-chain")
		submit("/admin/audit-chain", "#send", "#result")
		wantText(t, what("the case's trail"), check("/cases/"+c.ID+"/audit"), c.Number, "Lebap police officer")
		check("/audit?user=" + officerID)
		check("/audit?from=2026-02-30")
		saveScreenshot(t, ctx, fmt.Sprintf("audit-%s-%d.png", run.lang, run.w))
	}
}
