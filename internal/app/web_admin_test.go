package app_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// adminGet asks for a page and answers its text with the HTML entities
// decoded, failing unless the status is want.
func adminGet(t *testing.T, b *browser, path string, want int) string {
	t.Helper()
	resp, page := b.do(t, "GET", path, nil, nil)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, page)
	}
	return html.UnescapeString(page)
}

// adminPost sends the form of the page at formPath whose action is action,
// with its CSRF token and key, and answers the response and its decoded text.
func adminPost(t *testing.T, b *browser, formPath, action string, answers url.Values) (*http.Response, string) {
	t.Helper()
	page := adminGet(t, b, formPath, http.StatusOK)
	key := regexp.MustCompile(`action="` + regexp.QuoteMeta(action) + `"[\s\S]*?name="key" value="([0-9a-f]{32})"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatalf("GET %s: no form to %s:\n%s", formPath, action, page)
	}
	answers.Set("csrf", csrfOf(t, page))
	answers.Set("key", key[1])
	resp, body := b.do(t, "POST", action, answers, nil)
	return resp, html.UnescapeString(body)
}

func wantIn(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s: %q is missing from the page:\n%s", what, w, page)
		}
	}
}

// signInRefused sends the sign-in form and expects a refusal.
func signInRefused(t *testing.T, base, email, password string) {
	t.Helper()
	b := newBrowser(t, base)
	resp, page := b.do(t, "POST", "/login?lang=en", url.Values{"email": {email}, "password": {password}, "next": {"/"}}, nil)
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(page, "The e-mail address or password is wrong") {
		t.Errorf("sign in %s with %q: %d %s, want refused", email, password, resp.StatusCode, resp.Header.Get("Location"))
	}
}

// signedOut says whether a browser's session has ended: its worklist
// sends it to the sign-in page.
func signedOut(t *testing.T, b *browser) bool {
	t.Helper()
	resp, _ := b.do(t, "GET", "/", nil, nil)
	return resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login")
}

// An administrator adds a user through the pages (the policy's reasons
// next to the password), who signs in through the sign-in page; changes
// their role, which ends their session; sets a new password (the old one
// refused, the new one works, the old session ended); deactivates them
// (their session ends, signing in is refused). The administrator's own
// account cannot be changed, and the last administrator stays one.
func TestAdminPagesManageUsers(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	admin := signInPages(t, base, "admin@nrm.example", testenv.DemoPassword)
	page := adminGet(t, admin, "/admin?lang=en", http.StatusOK)
	wantIn(t, "administration", page, "Administration", "Agencies", "Users", "Undelivered notifications", "Audit chain")

	var police, adminID string
	testenv.Must(t, sys.Store.DB().Get(&police, `SELECT id FROM agencies WHERE name = $1`, demo.LebapPolice))
	testenv.Must(t, sys.Store.DB().Get(&adminID, `SELECT id FROM users WHERE email = 'admin@nrm.example'`))

	// A password the policy refuses: the reason next to the field, what was
	// typed kept, the password never sent back.
	form := url.Values{"name": {"Merjen Ataýewa"}, "email": {"merjen@lebap-police.example"}, "agency": {police}, "role": {"frontline"},
		"password": {"short-one"}, "confirm": {"short-one"}}
	resp, page := adminPost(t, admin, "/admin/users/new", "/admin/users/new", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("weak password: %d", resp.StatusCode)
	}
	wantIn(t, "weak password", page, "The password must be 12 to 256 characters long", `href="#password"`, `value="Merjen Ataýewa"`,
		`value="merjen@lebap-police.example"`)
	if strings.Contains(page, "short-one") {
		t.Error("the refused password is sent back into the page")
	}
	form.Set("password", "merjen-Ataýewa-2026!")
	form.Set("confirm", "merjen-Ataýewa-2026!")
	resp, page = adminPost(t, admin, "/admin/users/new", "/admin/users/new", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "must not contain the user") {
		t.Errorf("password with the name: %d", resp.StatusCode)
	}
	form.Set("role", "provider")
	form.Set("password", "granite lantern harbour 7")
	form.Set("confirm", "granite lantern harbour 7")
	resp, page = adminPost(t, admin, "/admin/users/new", "/admin/users/new", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "This role does not belong in the user") {
		t.Errorf("a provider in the police: %d", resp.StatusCode)
	}
	form.Set("role", "frontline")
	resp, _ = adminPost(t, admin, "/admin/users/new", "/admin/users/new", form)
	loc := resp.Header.Get("Location")
	m := regexp.MustCompile(`^/admin/users/([0-9a-f-]{36})\?done=created$`).FindStringSubmatch(loc)
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("add the user: %d to %q", resp.StatusCode, loc)
	}
	userPath := "/admin/users/" + m[1]
	page = adminGet(t, admin, loc, http.StatusOK)
	wantIn(t, "new user", page, "The user is added", "Merjen Ataýewa", "merjen@lebap-police.example", "Frontline officer", demo.LebapPolice, "Active")
	page = adminGet(t, admin, "/admin/users", http.StatusOK)
	wantIn(t, "users", page, "Merjen Ataýewa", userPath)

	// The new user signs in through the sign-in page.
	merjen := signInPages(t, base, "merjen@lebap-police.example", "granite lantern harbour 7")
	adminGet(t, merjen, "/", http.StatusOK)

	// A role that does not belong in the agency is refused; supervisor
	// is given, and the user's session ends.
	resp, page = adminPost(t, admin, userPath, userPath+"/role", url.Values{"role": {"twg"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "This role does not belong") {
		t.Errorf("a TWG role in the police: %d", resp.StatusCode)
	}
	resp, _ = adminPost(t, admin, userPath, userPath+"/role", url.Values{"role": {"supervisor"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != userPath+"?done=role" {
		t.Fatalf("change the role: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantIn(t, "role changed", adminGet(t, admin, userPath+"?done=role", http.StatusOK), "The role is changed", "Supervisor")
	if !signedOut(t, merjen) {
		t.Error("the user's session outlived the role change")
	}
	merjen = signInPages(t, base, "merjen@lebap-police.example", "granite lantern harbour 7")
	adminGet(t, merjen, "/approvals", http.StatusOK) // the supervisors' queue

	// A new password: the old one is refused, the new one works, the old
	// session ended.
	resp, page = adminPost(t, admin, userPath, userPath+"/password", url.Values{"password": {"aaaaaaaaaaaaaaa"}, "confirm": {"aaaaaaaaaaaaaaa"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "repeats too few different characters") {
		t.Errorf("a repetitive password: %d", resp.StatusCode)
	}
	resp, page = adminPost(t, admin, userPath, userPath+"/password", url.Values{"password": {"copper meadow signal 19"}, "confirm": {"copper meadow signal 91"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "The two passwords are not the same") {
		t.Errorf("passwords that differ: %d", resp.StatusCode)
	}
	resp, _ = adminPost(t, admin, userPath, userPath+"/password", url.Values{"password": {"copper meadow signal 19"}, "confirm": {"copper meadow signal 19"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != userPath+"?done=password" {
		t.Fatalf("reset the password: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !signedOut(t, merjen) {
		t.Error("the user's session outlived the new password")
	}
	signInRefused(t, base, "merjen@lebap-police.example", "granite lantern harbour 7")
	merjen = signInPages(t, base, "merjen@lebap-police.example", "copper meadow signal 19")

	// Deactivation, after a confirmation: the session ends, signing in is
	// refused.
	page = adminGet(t, admin, userPath+"/deactivate", http.StatusOK)
	wantIn(t, "confirmation", page, "Merjen Ataýewa will no longer be able to sign in")
	resp, _ = adminPost(t, admin, userPath+"/deactivate", userPath+"/deactivate", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != userPath+"?done=deactivated" {
		t.Fatalf("deactivate: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	page = adminGet(t, admin, userPath+"?done=deactivated", http.StatusOK)
	wantIn(t, "deactivated", page, "The user is deactivated", "Deactivated", "This account is deactivated")
	if strings.Contains(page, `action="`+userPath+`/role"`) {
		t.Error("a deactivated user's role is still offered for change")
	}
	if !signedOut(t, merjen) {
		t.Error("the user's session outlived the deactivation")
	}
	signInRefused(t, base, "merjen@lebap-police.example", "copper meadow signal 19")

	// Each change wrote its own audit row beside the page's command row.
	for _, action := range []string{"user.create", "user.role_change", "user.password_reset", "user.deactivate"} {
		var n int
		testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE action = $1 AND user_id = $2`, action, adminID))
		if n != 1 {
			t.Errorf("%d audit rows %s, want 1", n, action)
		}
	}

	// The administrator's own account: no forms on its page, and each
	// change sent anyway is refused in words.
	selfPath := "/admin/users/" + adminID
	page = adminGet(t, admin, selfPath, http.StatusOK)
	wantIn(t, "own account", page, "This is your own account")
	if strings.Contains(page, `action="`+selfPath+`/role"`) || strings.Contains(page, `action="`+selfPath+`/password"`) {
		t.Error("the administrator's own account offers changes")
	}
	resp, page = adminPost(t, admin, selfPath+"/deactivate", selfPath+"/deactivate", url.Values{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "You cannot deactivate your own account") {
		t.Errorf("deactivate oneself: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		path string
		form url.Values
		want string
	}{
		{selfPath + "/role", url.Values{"role": {"admin"}}, "You cannot change your own role"},
		{selfPath + "/password", url.Values{"password": {"copper meadow signal 19"}, "confirm": {"copper meadow signal 19"}}, "You cannot reset your own password here"},
	} {
		page := adminGet(t, admin, userPath, http.StatusOK) // any page's CSRF token will do
		c.form.Set("csrf", csrfOf(t, page))
		c.form.Set("key", strings.Repeat("ab", 16))
		resp, body := admin.do(t, "POST", c.path, c.form, nil)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(html.UnescapeString(body), c.want) {
			t.Errorf("%s: %d, want 409 with %q", c.path, resp.StatusCode, c.want)
		}
	}
	if signedOut(t, admin) {
		t.Error("the administrator was signed out")
	}

	// The last active administrator stays one, whoever asks: a second
	// administrator racing the first is refused too.
	ctx := context.Background()
	other := auth.Principal{UserID: uuid.New(), Role: auth.Admin}
	dir := &directory.Admin{Directory: &directory.Service{Store: sys.Store}}
	if err := dir.DeactivateUser(ctx, other, directory.RequestInfo{}, uuid.MustParse(adminID)); !errors.Is(err, directory.ErrLastAdmin) {
		t.Errorf("deactivate the last administrator: %v", err)
	}
	if err := sys.Store.SetUserRole(ctx, uuid.MustParse(adminID), "frontline", time.Now()); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("demote the last administrator: %v", err)
	}
	if err := dir.ChangeRole(ctx, other, directory.RequestInfo{}, uuid.MustParse(adminID), auth.Frontline); err == nil {
		t.Error("the last administrator was demoted")
	}
	adminGet(t, admin, "/admin", http.StatusOK)
}

// Agencies through the pages: one is added and changed; a change that
// would leave its users in a role that does not belong there is refused
// next to the field.
func TestAdminPagesManageAgencies(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	admin := signInPages(t, base, "admin@nrm.example", testenv.DemoPassword)
	adminGet(t, admin, "/admin/agencies?lang=en", http.StatusOK)

	form := url.Values{"name": {"Mary shelter"}, "type": {"ngo"}, "region": {"mary"}, "regions": {"ahal", "lebap"},
		"services": {"shelter"}, "languages": {"tk, ru, uz"}, "beds": {"lots"}}
	resp, page := adminPost(t, admin, "/admin/agencies/new", "/admin/agencies/new", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Enter the number of beds as a whole number") {
		t.Errorf("beds in words: %d", resp.StatusCode)
	}
	form.Set("beds", "8")
	resp, _ = adminPost(t, admin, "/admin/agencies/new", "/admin/agencies/new", form)
	loc := resp.Header.Get("Location")
	m := regexp.MustCompile(`^/admin/agencies/([0-9a-f-]{36})\?done=created$`).FindStringSubmatch(loc)
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("add the agency: %d to %q", resp.StatusCode, loc)
	}
	var a store.Agency
	testenv.Must(t, sys.Store.DB().Get(&a, `SELECT * FROM agencies WHERE id = $1`, m[1]))
	if a.Type != "ngo" || a.Region != "mary" || strings.Join(a.Regions, ",") != "ahal,lebap" || strings.Join(a.Services, ",") != "shelter" ||
		strings.Join(a.Languages, ",") != "tk,ru,uz" || a.Beds != 8 {
		t.Errorf("stored %+v", a)
	}
	page = adminGet(t, admin, loc, http.StatusOK)
	wantIn(t, "agency", page, "The agency is added", "Mary shelter", `value="tk, ru, uz"`, `value="8"`)
	resp, _ = adminPost(t, admin, "/admin/agencies/new", "/admin/agencies/new", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the same name again: %d", resp.StatusCode)
	}

	// The change: another kind and region, no regions besides, 10 beds.
	path := "/admin/agencies/" + m[1]
	resp, _ = adminPost(t, admin, path, path, url.Values{"type": {"social_service"}, "region": {"ahal"}, "services": {"shelter"},
		"languages": {"tk"}, "beds": {"10"}, "national": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?done=saved" {
		t.Fatalf("save the agency: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	testenv.Must(t, sys.Store.DB().Get(&a, `SELECT * FROM agencies WHERE id = $1`, m[1]))
	if a.Type != "social_service" || a.Region != "ahal" || len(a.Regions) != 0 || !a.National || a.Beds != 10 || a.Name != "Mary shelter" {
		t.Errorf("changed to %+v", a)
	}

	// The Lebap shelter has a provider user: it cannot stop offering
	// services, nor become the competent authority.
	var shelter string
	testenv.Must(t, sys.Store.DB().Get(&shelter, `SELECT id FROM agencies WHERE name = $1`, demo.LebapShelter))
	spath := "/admin/agencies/" + shelter
	resp, page = adminPost(t, admin, spath, spath, url.Values{"type": {"ngo"}, "region": {"lebap"}, "beds": {"12"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "does not fit these services") || !strings.Contains(page, `href="#services"`) {
		t.Errorf("a shelter without services: %d", resp.StatusCode)
	}
	resp, page = adminPost(t, admin, spath, spath, url.Values{"type": {"competent_authority"}, "region": {"lebap"}, "services": {"shelter"}, "beds": {"12"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "does not belong in this kind of agency") {
		t.Errorf("a shelter as the competent authority: %d", resp.StatusCode)
	}
	testenv.Must(t, sys.Store.DB().Get(&a, `SELECT * FROM agencies WHERE id = $1`, shelter))
	if a.Type != "ngo" || len(a.Services) == 0 {
		t.Errorf("the refused change was stored: %+v", a)
	}
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE action IN ('agency.create', 'agency.update')`))
	if n != 2 {
		t.Errorf("%d agency audit rows, want 2", n)
	}
}

// A webhook's secret is shown once, in the answer to the form that added
// it; a dead letter is sent again; the audit chain is checked from the
// page, intact, then broken once a row is altered.
func TestAdminPagesChannelsDeadLettersAndChain(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	admin := signInPages(t, base, "admin@nrm.example", testenv.DemoPassword)
	adminGet(t, admin, "/admin?lang=en", http.StatusOK)
	var hotline, police string
	testenv.Must(t, sys.Store.DB().Get(&hotline, `SELECT id FROM agencies WHERE name = $1`, demo.Hotline))
	testenv.Must(t, sys.Store.DB().Get(&police, `SELECT id FROM agencies WHERE name = $1`, demo.LebapPolice))

	chans := "/admin/agencies/" + hotline + "/channels"
	resp, page := adminPost(t, admin, chans, chans, url.Values{"kind": {"webhook"}, "target": {"https://10.0.0.1/hook"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "This address points inside the network") {
		t.Errorf("an internal webhook: %d", resp.StatusCode)
	}
	page = adminGet(t, admin, chans, http.StatusOK)
	key := regexp.MustCompile(`name="key" value="([0-9a-f]{32})"`).FindStringSubmatch(page)[1]
	form := url.Values{"csrf": {csrfOf(t, page)}, "key": {key}, "kind": {"webhook"}, "target": {"http://127.0.0.1:9/hook"}}
	resp, body := admin.do(t, "POST", chans, form, nil)
	secret := regexp.MustCompile(`id="secret">([0-9a-f]{64})<`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || secret == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("add a webhook: %d %q, secret %v", resp.StatusCode, resp.Header.Get("Cache-Control"), secret)
	}
	wantIn(t, "secret", html.UnescapeString(body), "it is shown this once and never again", "http://127.0.0.1:9/hook")
	// The same form again (a double click, the back button) and the page
	// later: the channel, never the secret.
	resp, body = admin.do(t, "POST", chans, form, nil)
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(body, secret[1]) {
		t.Errorf("the form again: %d", resp.StatusCode)
	}
	page = adminGet(t, admin, resp.Header.Get("Location"), http.StatusOK)
	wantIn(t, "channels", page, "http://127.0.0.1:9/hook", "was shown once, when it was added")
	if strings.Contains(page, secret[1]) {
		t.Error("the secret is shown again")
	}
	var sealed []byte
	testenv.Must(t, sys.Store.DB().Get(&sealed, `SELECT secret_sealed FROM agency_channels WHERE agency_id = $1`, hotline))
	if len(sealed) == 0 || strings.Contains(string(sealed), secret[1]) {
		t.Error("the secret is not sealed")
	}
	resp, _ = adminPost(t, admin, chans, chans, url.Values{"kind": {"email"}, "target": {"desk@hotline.example"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("add an e-mail channel: %d", resp.StatusCode)
	}

	// A dead letter, sent again.
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened struct {
		ID string `json:"id"`
	}
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened); st != http.StatusCreated {
		t.Fatalf("open a case: %d", st)
	}
	var number string
	testenv.Must(t, sys.Store.DB().Get(&number, `SELECT number FROM cases WHERE id = $1`, opened.ID))
	_, err := sys.Store.DB().Exec(`INSERT INTO notifications (id, case_id, kind, recipient_role, recipient_agency_id, created_at, status)
		VALUES ('test/dead/1', $1, 'breach', 'frontline', $2, now(), 'dead')`, opened.ID, police)
	testenv.Must(t, err)
	page = adminGet(t, admin, "/admin", http.StatusOK)
	wantIn(t, "overview", page, "1 notification could not be delivered")
	page = adminGet(t, admin, "/admin/dead-letters", http.StatusOK)
	wantIn(t, "dead letters", page, number, "breach", demo.LebapPolice)
	resp, _ = adminPost(t, admin, "/admin/dead-letters", "/admin/dead-letters/retry", url.Values{"id": {"test/dead/1"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/dead-letters?done=retried" {
		t.Fatalf("retry: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var status string
	testenv.Must(t, sys.Store.DB().Get(&status, `SELECT status FROM notifications WHERE id = 'test/dead/1'`))
	if status == "dead" {
		t.Error("the dead letter is still dead")
	}
	page = adminGet(t, admin, "/admin/dead-letters?done=retried", http.StatusOK)
	wantIn(t, "retried", page, "The notification is queued again")
	page = adminGet(t, admin, "/admin/users", http.StatusOK) // a CSRF token
	resp, body = admin.do(t, "POST", "/admin/dead-letters/retry", url.Values{"csrf": {csrfOf(t, page)}, "key": {strings.Repeat("cd", 16)},
		"id": {"test/dead/1"}}, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "no longer undelivered") {
		t.Errorf("retry a letter that is not dead: %d", resp.StatusCode)
	}

	// The audit chain, checked from the page as `nrm audit verify` does.
	page = adminGet(t, admin, "/admin/audit-chain", http.StatusOK)
	wantIn(t, "chain", page, "The chain has not been checked from these pages yet")
	resp, _ = adminPost(t, admin, "/admin/audit-chain", "/admin/audit-chain", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d", resp.StatusCode)
	}
	page = adminGet(t, admin, resp.Header.Get("Location"), http.StatusOK)
	wantIn(t, "verified", page, "The chain is checked", "Intact", "entries checked: none was altered or removed", "Administrator")
	if !regexp.MustCompile(`(\d+) entries checked`).MatchString(page) {
		t.Error("the number of entries is not shown")
	}
	wantIn(t, "overview", adminGet(t, admin, "/admin", http.StatusOK), "Intact when last checked")

	// A row altered behind the application's back breaks the chain there.
	var victim int64
	testenv.Must(t, sys.Store.DB().Get(&victim, `SELECT min(id) FROM audit_log WHERE action = 'channel_add'`))
	tx, err := sys.Store.DB().Begin()
	testenv.Must(t, err)
	for _, q := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `UPDATE audit_log SET role = 'twg' WHERE id = $1`,
		`ALTER TABLE audit_log ENABLE TRIGGER USER`} {
		var args []any
		if strings.HasPrefix(q, "UPDATE") {
			args = append(args, victim)
		}
		if _, err := tx.Exec(q, args...); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
	}
	testenv.Must(t, tx.Commit())
	resp, _ = adminPost(t, admin, "/admin/audit-chain", "/admin/audit-chain", url.Values{})
	page = adminGet(t, admin, resp.Header.Get("Location"), http.StatusOK)
	wantIn(t, "broken", page, "Broken", "The chain breaks at entry "+itoa(int(victim)))
}

// The audit trail of a case lists the reads made of it — by whom, from
// which agency, with the request ID — and the read of the trail itself;
// /audit filters by user, action and period, a page of 50 at a time; only
// the competent authority and administrators read them.
func TestAuditTrailPages(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened struct {
		ID     string `json:"id"`
		Number string `json:"number"`
	}
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened); st != http.StatusCreated {
		t.Fatalf("open a case: %d", st)
	}
	// Reads: the officer's through the API, the decider's through the case page.
	resp := officer.Raw(t, "GET", "/api/v1/cases/"+opened.ID, nil, http.Header{"X-Request-Id": {"officer-read-1"}})
	resp.Body.Close()
	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	adminGet(t, decider, "/cases/"+opened.ID+"?lang=en", http.StatusOK)
	var deciderID string
	testenv.Must(t, sys.Store.DB().Get(&deciderID, `SELECT id FROM users WHERE email = 'decider@authority.example'`))

	trail := "/cases/" + opened.ID + "/audit"
	page := adminGet(t, decider, trail, http.StatusOK)
	wantIn(t, "case trail", page, "Audit trail of the case", opened.Number, "Read the person", "Lebap police officer", demo.LebapPolice,
		"Identification officer", demo.Authority, "officer-read-1", "Read the audit trail", "given_name")
	var reads int
	testenv.Must(t, sys.Store.DB().Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'audit.read' AND case_id = $1 AND user_id = $2`,
		opened.ID, deciderID))
	if reads != 1 {
		t.Errorf("%d audited reads of the trail, want 1", reads)
	}
	// The trail's newest row is its own read.
	first := strings.Index(page, "Read the audit trail")
	if other := strings.Index(page, "Read the person"); first < 0 || other < first {
		t.Error("the trail's own read is not the newest row")
	}

	// Paged: 50 a page, the older ones behind a link.
	for range 55 {
		adminGet(t, decider, trail, http.StatusOK)
	}
	page = adminGet(t, decider, trail, http.StatusOK)
	older := regexp.MustCompile(`href="(` + regexp.QuoteMeta(trail) + `\?before=\d+)"`).FindStringSubmatch(page)
	if older == nil || strings.Count(page, "<tr>")-1 != 50 {
		t.Fatalf("the first page: %d rows, older link %v", strings.Count(page, "<tr>")-1, older)
	}
	page = adminGet(t, decider, older[1], http.StatusOK)
	wantIn(t, "older page", page, "officer-read-1", "Newest entries")

	// The administrator reads the trail too; the whole log, filtered.
	admin := signInPages(t, base, "admin@nrm.example", testenv.DemoPassword)
	adminGet(t, admin, trail+"?lang=en", http.StatusOK)
	page = adminGet(t, admin, "/audit?user="+deciderID, http.StatusOK)
	wantIn(t, "by user", page, "Identification officer", "Read the audit trail", opened.Number)
	if strings.Contains(page, "officer-read-1") {
		t.Error("the user filter lets another user's rows through")
	}
	page = adminGet(t, admin, "/audit?action=case.identity.read", http.StatusOK)
	wantIn(t, "by action", page, "officer-read-1")
	if strings.Contains(page, `admin-code">audit.read<`) {
		t.Error("the action filter lets other actions through")
	}
	page = adminGet(t, admin, "/audit?from=2001-01-01&to=31.01.2001", http.StatusOK)
	wantIn(t, "old period", page, "No entry matches the filters")
	page = adminGet(t, admin, "/audit?from=2026-13-01", http.StatusUnprocessableEntity)
	wantIn(t, "bad date", page, "Enter a real day, for example 29.11.2026", `href="#from"`)
	page = adminGet(t, admin, "/audit?from=2026-05-02&to=2026-05-01", http.StatusUnprocessableEntity)
	wantIn(t, "backwards period", page, "The end of the period must not be before its start")
	var adminID string
	testenv.Must(t, sys.Store.DB().Get(&adminID, `SELECT id FROM users WHERE email = 'admin@nrm.example'`))
	var listReads int
	testenv.Must(t, sys.Store.DB().Get(&listReads, `SELECT count(*) FROM audit_log WHERE action = 'audit.read' AND case_id IS NULL AND user_id = $1`, adminID))
	if listReads != 3 { // the filtered lists; refused filters read nothing
		t.Errorf("%d audited reads of /audit, want 3", listReads)
	}
	adminGet(t, admin, "/cases/"+uuid.NewString()+"/audit", http.StatusNotFound)

	// Nobody else: a frontline officer, a supervisor, a provider.
	for _, email := range []string{"officer@lebap-police.example", "supervisor@lebap-police.example", "shelter@lebap-shelter.example"} {
		b := signInPages(t, base, email, testenv.DemoPassword)
		for _, path := range []string{"/admin?lang=en", "/admin/users", "/audit", trail} {
			adminGet(t, b, path, http.StatusForbidden)
		}
		page := adminGet(t, b, "/admin/users/"+adminID, http.StatusForbidden)
		wantIn(t, "forbidden", page, "Only administrators")
	}
	// Not even by a forged form.
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	page = adminGet(t, b, "/?lang=en", http.StatusOK)
	resp2, _ := b.do(t, "POST", "/admin/users/new", url.Values{"csrf": {csrfOf(t, page)}, "key": {strings.Repeat("ef", 16)},
		"name": {"X"}, "email": {"x@lebap-police.example"}, "agency": {"x"}, "role": {"admin"}, "password": {"p"}, "confirm": {"p"}}, nil)
	if resp2.StatusCode != http.StatusForbidden {
		t.Errorf("an officer's forged form: %d", resp2.StatusCode)
	}
}
