package app_test

import (
	"fmt"
	"hash/crc32"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/internal/web"
)

// signInPages signs a new browser in through the sign-in form.
func signInPages(t *testing.T, base, email, password string) *browser {
	t.Helper()
	b := newBrowser(t, base)
	resp, _ := b.do(t, "POST", "/login", url.Values{"email": {email}, "password": {password}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in %s: %d to %q", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	return b
}

// csrfOf is the CSRF token of a signed-in page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page")
	}
	return m[1]
}

// openCaseOf opens a case through the API for a person of the given name,
// so that cases of different people are no possible duplicates.
func openCaseOf(t *testing.T, c *testenv.Client, givenName string) caseBody {
	t.Helper()
	body := testenv.Screening()
	body["person"].(map[string]any)["given_name"] = givenName
	body["person"].(map[string]any)["document_number"] = fmt.Sprintf("I-AŞ %06d", crc32.ChecksumIEEE([]byte(givenName))%1000000)
	var opened caseBody
	mustStatus(t, "open a case", c.Do(t, "POST", "/api/v1/cases", body, &opened), http.StatusCreated)
	return opened
}

var (
	navLink     = regexp.MustCompile(`<nav class="header__nav"[\s\S]*?</nav>`)
	inboxCount  = regexp.MustCompile(`href="/notifications"[^>]*>[^<]*<span aria-hidden="true">\((\d+)\)</span><span class="visually-hidden">([^<]*)</span>`)
	notifyIDs   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	caseLinkRow = regexp.MustCompile(`<a href="/cases/([0-9a-f-]{36})">`)
)

// unreadInHeader is the unread count the header shows beside
// "Notifications", 0 when it shows none.
func unreadInHeader(t *testing.T, page string) int {
	t.Helper()
	m := inboxCount.FindStringSubmatch(page)
	if m == nil {
		if !strings.Contains(page, `href="/notifications"`) {
			t.Fatalf("the header has no link to the notifications")
		}
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// /cases lists the cases the user may see, newest first: an officer their
// agency's only, the competent authority all; it filters by stage and
// searches by case number (whole or its beginning), and says how many it
// shows of how many. The header's menu follows the role.
func TestCaseListPage(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	lebap := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	dashoguz := testenv.NewClient(sys).Login(t, "officer@dashoguz-police.example")
	first := openCaseOf(t, lebap, "Aýna")
	second := openCaseOf(t, lebap, "Bägül")
	foreign := openCaseOf(t, dashoguz, "Jeren")

	officer := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	resp, page := officer.do(t, "GET", "/cases?lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Cases</h1>") {
		t.Fatalf("/cases: %d", resp.StatusCode)
	}
	rows := caseLinkRow.FindAllStringSubmatch(page, -1)
	if len(rows) != 2 || rows[0][1] != second.ID || rows[1][1] != first.ID {
		t.Errorf("the officer's list: %v, want %s then %s (newest first)", rows, second.Number, first.Number)
	}
	if strings.Contains(page, foreign.Number) || strings.Contains(page, foreign.ID) {
		t.Errorf("the officer's list shows another agency's case %s", foreign.Number)
	}
	if !strings.Contains(page, "Showing 1–2 of 2 cases") {
		t.Errorf("the list does not say how many it shows")
	}
	if strings.Contains(page, "Aýna") || strings.Contains(page, "Berdiýewa") {
		t.Errorf("the list shows identity data")
	}
	// The header: the officer's menu, the current page marked.
	nav := navLink.FindString(page)
	for _, want := range []string{`href="/"`, `href="/cases" aria-current="page"`, `href="/cases/new"`, `href="/notifications"`, `href="/account"`} {
		if !strings.Contains(nav, want) {
			t.Errorf("the officer's menu lacks %s: %s", want, nav)
		}
	}
	if strings.Contains(nav, "/decisions") || strings.Contains(nav, "/approvals") {
		t.Errorf("the officer's menu links pages of other roles: %s", nav)
	}

	// Search by the whole number, in any case of letters, and by its beginning.
	for q, want := range map[string][]string{
		first.Number:                       {first.ID},
		strings.ToLower(second.Number):     {second.ID},
		first.Number[:len(first.Number)-1]: nil, // checked below
		foreign.Number:                     {},
		"TM-1999-":                         {},
	} {
		_, page := officer.do(t, "GET", "/cases?lang=en&number="+url.QueryEscape(q), nil, nil)
		var got []string
		for _, m := range caseLinkRow.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		switch {
		case want == nil: // a prefix: the cases whose number starts with it
			for _, id := range got {
				if id != first.ID && id != second.ID {
					t.Errorf("prefix %q lists %s", q, id)
				}
			}
			if !slices.Contains(got, first.ID) {
				t.Errorf("prefix %q does not list %s", q, first.Number)
			}
		case len(want) == 0:
			if len(got) != 0 || !strings.Contains(page, "No case matches the search.") {
				t.Errorf("search %q: %v, want none and the words", q, got)
			}
		case !slices.Equal(got, want):
			t.Errorf("search %q: %v, want %v", q, got, want)
		}
		if !strings.Contains(page, `value="`+html.EscapeString(q)+`"`) {
			t.Errorf("search %q: the field does not keep what was typed", q)
		}
	}
	// The stage filter.
	if _, page := officer.do(t, "GET", "/cases?lang=en&stage=closed", nil, nil); caseLinkRow.MatchString(page) ||
		!strings.Contains(page, `<option value="closed" selected>`) {
		t.Errorf("stage closed lists cases, or the choice is not kept")
	}
	if _, page := officer.do(t, "GET", "/cases?lang=en&stage=identification", nil, nil); len(caseLinkRow.FindAllString(page, -1)) != 2 {
		t.Errorf("stage identification does not list the two cases")
	}
	// What cannot be a case number, or no stage: the error next to the field, in the page's language.
	resp, page = officer.do(t, "GET", "/cases?lang=ru&number="+url.QueryEscape("TM 2026%"), nil, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#number"`) ||
		!strings.Contains(page, "Введите номер дела или его начало") || !strings.Contains(page, "field--error") {
		t.Errorf("a malformed number: %d, want 422 with the Russian error linked to the field", resp.StatusCode)
	}
	if resp, page := officer.do(t, "GET", "/cases?lang=en&stage=nowhere", nil, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, `href="#stage"`) {
		t.Errorf("an unknown stage: %d, want 422 linked to the field", resp.StatusCode)
	}

	// The competent authority sees every agency's cases, and its own menu.
	decider := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	_, page = decider.do(t, "GET", "/cases?lang=tk", nil, nil)
	if n := len(caseLinkRow.FindAllString(page, -1)); n != 3 || !strings.Contains(page, foreign.Number) ||
		!strings.Contains(page, "Jemi 3 işden 1–3 görkezilýär") {
		t.Errorf("the competent authority's list has %d cases, want all 3 with the Turkmen count", n)
	}
	nav = navLink.FindString(page)
	if !strings.Contains(nav, `href="/decisions"`) || strings.Contains(nav, `href="/cases/new"`) || strings.Contains(nav, `href="/approvals"`) {
		t.Errorf("the competent authority's menu: %s", nav)
	}
	// A supervisor: their agency's cases, the approvals in the menu.
	supervisor := signInPages(t, base, "supervisor@lebap-police.example", testenv.DemoPassword)
	_, page = supervisor.do(t, "GET", "/cases?lang=en", nil, nil)
	if n := len(caseLinkRow.FindAllString(page, -1)); n != 2 || strings.Contains(page, foreign.Number) ||
		!strings.Contains(navLink.FindString(page), `href="/approvals"`) {
		t.Errorf("the supervisor's list has %d cases, want the agency's 2, and the approvals in the menu", n)
	}
}

// A long list comes a page at a time, with links to the next and previous.
func TestCaseListPages(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	names := []string{"Aýna", "Bägül", "Jeren", "Dünýä", "Enejan", "Gülälek", "Hally", "Ilkan", "Jahan", "Kerim",
		"Leýli", "Maral", "Nury", "Oguljan", "Perhat", "Rahat", "Selbi", "Täze", "Ussat", "Wepa",
		"Ýazgül", "Zöhre", "Arslan", "Baýram", "Çary", "Döwlet", "Eziz", "Farhad", "Göwher", "Hajy",
		"Ilaýda", "Jemal", "Kakajan", "Läle", "Mähri", "Nurgeldi", "Ogulgerek", "Pena", "Rowşen", "Serdar",
		"Toýly", "Umyt", "Welmyrat", "Ýagmyr", "Zarina", "Aman", "Berdi", "Çemen", "Dursun", "Ejegyz", "Gurban"}
	for _, n := range names {
		openCaseOf(t, officer, n)
	}
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	_, page := b.do(t, "GET", "/cases?lang=en", nil, nil)
	if n := len(caseLinkRow.FindAllString(page, -1)); n != 50 || !strings.Contains(page, "Showing 1–50 of 51 cases") ||
		!strings.Contains(page, `href="/cases?page=2" rel="next"`) || strings.Contains(page, `rel="prev"`) {
		t.Fatalf("first page: %d cases, want 50 of 51 with a link to the next page", n)
	}
	_, page = b.do(t, "GET", "/cases?lang=en&page=2", nil, nil)
	if n := len(caseLinkRow.FindAllString(page, -1)); n != 1 || !strings.Contains(page, "Showing 51–51 of 51 cases") ||
		!strings.Contains(page, `href="/cases" rel="prev"`) || strings.Contains(page, `rel="next"`) {
		t.Errorf("second page: %d cases, want the 51st with a link back", n)
	}
}

// Roles without cases get the 403 page in words, in their language.
func TestCaseListForbiddenWithoutCases(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	for _, email := range []string{"shelter@lebap-shelter.example", "twg@twg.example", "admin@nrm.example"} {
		b := signInPages(t, base, email, testenv.DemoPassword)
		resp, page := b.do(t, "GET", "/cases?lang=en", nil, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Your role does not work with cases") {
			t.Errorf("%s: /cases %d, want 403 in words", email, resp.StatusCode)
		}
		if strings.Contains(navLink.FindString(page), `href="/cases"`) {
			t.Errorf("%s: the menu links the case list", email)
		}
		if _, page := b.do(t, "GET", "/cases?lang=ru", nil, nil); !strings.Contains(page, "Ваша роль не работает с делами") {
			t.Errorf("%s: the 403 page is not in Russian", email)
		}
	}
}

// /notifications: the user's notifications in their language, built from
// codes (never identity data), the unread ones marked; marking one read
// lowers the header's count on every page, and the API answers the same.
func TestNotificationsPage(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	// The same person screened three times: the competent authority is told
	// of the possible duplicates.
	first := openCaseOf(t, officer, "Aýna")
	second := openCaseOf(t, officer, "Aýna")
	openCaseOf(t, officer, "Aýna")
	decider := testenv.NewClient(sys).Login(t, "decider@authority.example")
	var inbox struct {
		Notifications []struct {
			ID, Kind, CaseID, CaseNumber, Link string
			ReadAt                             *string `json:"read_at"`
		} `json:"notifications"`
	}
	unreadByAPI := func() int {
		mustStatus(t, "notifications", decider.Do(t, "GET", "/api/v1/notifications?unread=true", nil, &inbox), http.StatusOK)
		return len(inbox.Notifications)
	}
	total := unreadByAPI()
	if total < 2 {
		t.Fatalf("%d unread notifications for the competent authority, want the possible duplicates", total)
	}

	b := signInPages(t, base, "decider@authority.example", testenv.DemoPassword)
	_, home := b.do(t, "GET", "/?lang=en", nil, nil)
	if got := unreadInHeader(t, home); got != total {
		t.Errorf("header count %d, want %d", got, total)
	}
	if m := inboxCount.FindStringSubmatch(home); m == nil || m[2] != strconv.Itoa(total)+" unread" {
		t.Errorf("the header's count has no hidden words for screen readers: %v", m)
	}
	resp, page := b.do(t, "GET", "/notifications?lang=ru", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Уведомления</h1>") ||
		!strings.Contains(page, "возможно, касается того же человека, что и дело "+first.Number) ||
		!strings.Contains(page, `href="/cases/`+second.ID+`"`) {
		t.Fatalf("/notifications in Russian: %d, want the possible duplicate in words with a link to the case", resp.StatusCode)
	}
	if strings.Contains(page, "Aýna") || strings.Contains(page, "Berdiýewa") {
		t.Errorf("the notifications show identity data")
	}
	if !strings.Contains(page, strconv.Itoa(total)+" непрочитанн") || strings.Count(page, `class="tag tag--blue"`) != total {
		t.Errorf("the unread notifications are not marked, or their count not said")
	}
	ids := notifyIDs.FindAllStringSubmatch(page, -1)
	if len(ids) != total {
		t.Fatalf("%d mark-as-read forms, want %d", len(ids), total)
	}
	// Without the CSRF token: refused.
	if resp, _ := b.do(t, "POST", "/notifications/read", url.Values{"id": {ids[0][1]}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("mark read without CSRF: %d, want 403", resp.StatusCode)
	}
	// Mark one read: one less in the header, and for the API.
	resp, _ = b.do(t, "POST", "/notifications/read", url.Values{"csrf": {csrfOf(t, page)}, "id": {html.UnescapeString(ids[0][1])}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/notifications?done=read" {
		t.Fatalf("mark read: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.do(t, "GET", "/notifications?done=read&lang=en", nil, nil)
	if got := unreadInHeader(t, page); got != total-1 {
		t.Errorf("after marking one read the header says %d, want %d", got, total-1)
	}
	if !strings.Contains(page, "The notification is marked as read.") || strings.Count(page, `class="tag tag--blue"`) != total-1 {
		t.Errorf("the page does not show the one read")
	}
	if n := unreadByAPI(); n != total-1 {
		t.Errorf("the API has %d unread, want %d", n, total-1)
	}
	// Another agency's user cannot mark it: 404 page, nothing changes.
	other := signInPages(t, base, "officer@dashoguz-police.example", testenv.DemoPassword)
	_, otherPage := other.do(t, "GET", "/notifications?lang=en", nil, nil)
	if strings.Contains(otherPage, second.Number) {
		t.Errorf("another agency's officer sees the competent authority's notifications")
	}
	if resp, _ := other.do(t, "POST", "/notifications/read", url.Values{"csrf": {csrfOf(t, otherPage)}, "id": {html.UnescapeString(ids[1][1])}}, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another agency marking a notification: %d, want 404", resp.StatusCode)
	}
	// Mark all read.
	resp, _ = b.do(t, "POST", "/notifications/read-all", url.Values{"csrf": {csrfOf(t, page)}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark all read: %d", resp.StatusCode)
	}
	_, page = b.do(t, "GET", "/notifications?lang=en", nil, nil)
	if got := unreadInHeader(t, page); got != 0 || !strings.Contains(page, "Everything is read.") || strings.Contains(page, `name="id"`) {
		t.Errorf("after marking all read: header %d, want 0 and nothing left to mark", got)
	}
	if n := unreadByAPI(); n != 0 {
		t.Errorf("the API has %d unread after marking all read", n)
	}
}

// A notification's link (in-app, e-mail or webhook: <NRM_PUBLIC_URL>/cases/<id>)
// followed without a session, or after it expired, goes to the sign-in page
// and, once signed in, back to the case.
func TestNotificationLinkSignsInAndComesBack(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	openCaseOf(t, officer, "Aýna")
	dup := openCaseOf(t, officer, "Aýna")
	decider := testenv.NewClient(sys).Login(t, "decider@authority.example")
	var inbox struct {
		Notifications []struct {
			CaseID string `json:"case_id"`
			Link   string `json:"link"`
		} `json:"notifications"`
	}
	mustStatus(t, "notifications", decider.Do(t, "GET", "/api/v1/notifications", nil, &inbox), http.StatusOK)
	var link string
	for _, n := range inbox.Notifications {
		if n.CaseID == dup.ID {
			link = n.Link
		}
	}
	if link != "/cases/"+dup.ID {
		t.Fatalf("the notification's link %q, want /cases/%s", link, dup.ID)
	}
	follow := func(b *browser, what string) {
		t.Helper()
		resp, _ := b.do(t, "GET", link, nil, nil)
		wantLogin := "/login?next=" + url.QueryEscape(link)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != wantLogin {
			t.Fatalf("%s: the link answers %d to %q, want %s", what, resp.StatusCode, resp.Header.Get("Location"), wantLogin)
		}
		resp, page := b.do(t, "GET", wantLogin, nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="next" value="`+link+`"`) {
			t.Fatalf("%s: the sign-in page does not carry the link on", what)
		}
		resp, _ = b.do(t, "POST", "/login", url.Values{"email": {"decider@authority.example"}, "password": {testenv.DemoPassword}, "next": {link}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != link {
			t.Fatalf("%s: signed in, sent to %q, want %s", what, resp.Header.Get("Location"), link)
		}
		resp, page = b.do(t, "GET", link, nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, dup.Number) {
			t.Errorf("%s: the case page after signing in: %d", what, resp.StatusCode)
		}
	}
	b := newBrowser(t, base)
	follow(b, "no session")
	// The session expires (its absolute end passes): the link signs in again.
	_, err := sys.Store.DB().Exec(`UPDATE sessions SET expires_at = now() - interval '1 second'
		WHERE user_id = (SELECT id FROM users WHERE email = 'decider@authority.example') AND revoked_at IS NULL`)
	testenv.Must(t, err)
	follow(b, "expired session")
}

// The language saved on /account is the language of every later sign-in
// (before the browser's), while ?lang= still changes it for the session.
func TestAccountLanguage(t *testing.T) {
	t.Parallel()
	if !slices.Equal(directory.Languages, web.Languages) {
		t.Fatalf("directory.Languages %v and web.Languages %v differ", directory.Languages, web.Languages)
	}
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	en := http.Header{"Accept-Language": {"en-GB,en;q=0.9"}}
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	resp, page := b.do(t, "GET", "/account", nil, en)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<html lang="en">`) {
		t.Fatalf("/account: %d", resp.StatusCode)
	}
	for _, want := range []string{"Lebap police officer", "officer@lebap-police.example", "Frontline officer", "Lebap police",
		`id="language-browser" name="language" value="" checked`} {
		if !strings.Contains(page, want) {
			t.Errorf("/account lacks %q", want)
		}
	}
	// Save Russian: this session is in Russian at once.
	resp, _ = b.do(t, "POST", "/account/language", url.Values{"csrf": {csrfOf(t, page)}, "language": {"ru"}}, en)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account?done=language" {
		t.Fatalf("save the language: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.do(t, "GET", "/account?done=language", nil, en)
	if !strings.Contains(page, `<html lang="ru">`) || !strings.Contains(page, "Язык сохранён.") ||
		!strings.Contains(page, `id="language-ru" name="language" value="ru" checked`) {
		t.Errorf("after saving Russian the account page is not in Russian with Russian chosen")
	}
	if resp, _ := b.do(t, "POST", "/account/language", url.Values{"language": {"en"}}, en); resp.StatusCode != http.StatusForbidden {
		t.Errorf("saving the language without CSRF: %d, want 403", resp.StatusCode)
	}

	// The next sign-in, in another browser that asks for English: Russian.
	other := newBrowser(t, base)
	resp, _ = other.do(t, "POST", "/login", url.Values{"email": {"officer@lebap-police.example"}, "password": {testenv.DemoPassword}, "next": {"/"}}, en)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	if _, page := other.do(t, "GET", "/", nil, en); !strings.Contains(page, `<html lang="ru">`) || !strings.Contains(page, "Открытые дела") {
		t.Errorf("the next sign-in's pages are not in the profile's language")
	}
	// ?lang= still changes it for the session.
	if _, page := other.do(t, "GET", "/?lang=tk", nil, en); !strings.Contains(page, `<html lang="tk">`) {
		t.Errorf("?lang=tk did not change the language")
	}
	if _, page := other.do(t, "GET", "/cases", nil, en); !strings.Contains(page, `<html lang="tk">`) {
		t.Errorf("the language chosen with ?lang= is not kept for the session")
	}
	// Without the language cookie the profile still decides, before the browser.
	u, _ := url.Parse(base)
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: "nrm_lang", Value: "", Path: "/", MaxAge: -1}})
	if _, page := other.do(t, "GET", "/cases", nil, en); !strings.Contains(page, `<html lang="ru">`) {
		t.Errorf("without the cookie the page is not in the profile's language")
	}
	// Back to the browser's language.
	_, page = b.do(t, "GET", "/account", nil, en)
	b.do(t, "POST", "/account/language", url.Values{"csrf": {csrfOf(t, page)}, "language": {""}}, en)
	third := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	if _, page := third.do(t, "GET", "/", nil, en); !strings.Contains(page, `<html lang="en">`) {
		t.Errorf("with no language on the profile the browser's is not used")
	}
	if _, page := b.do(t, "GET", "/account", nil, en); !strings.Contains(page, `<html lang="en">`) {
		t.Errorf("choosing the browser's language did not take effect in this session")
	}
}

// Changing the password: the current password, the policy and the
// confirmation are checked, each error next to its field in the user's
// language; once changed, the old password no longer signs in, other
// sessions end, and this browser stays signed in.
func TestAccountPasswordChange(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	const email = "supervisor@lebap-police.example"
	const next = "river lantern copper meadow"
	elsewhere := signInPages(t, base, email, testenv.DemoPassword)
	b := signInPages(t, base, email, testenv.DemoPassword)
	_, page := b.do(t, "GET", "/account?lang=en", nil, nil)
	csrf := csrfOf(t, page)
	for _, c := range []struct {
		lang, current, new, confirm, field, msg string
	}{
		{"en", "", "", "", "current", "Enter your current password"},
		{"en", "not my password", next, next, "current", "The current password is wrong"},
		{"en", testenv.DemoPassword, "short", "short", "new", "The new password must be 12 to 256 characters long"},
		{"en", testenv.DemoPassword, "password1234", "password1234", "new", "commonly used"},
		{"en", testenv.DemoPassword, "lebap supervisor 2026", "lebap supervisor 2026", "new", "must not contain your name"},
		{"ru", testenv.DemoPassword, "short", "short", "new", "Новый пароль должен содержать от 12 до 256 символов"},
		{"tk", testenv.DemoPassword, "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "new", "Täze parolda dürli nyşanlar gaty az"},
		{"en", testenv.DemoPassword, next, next + "!", "confirm", "The two new passwords are not the same"},
	} {
		resp, page := b.do(t, "POST", "/account/password?lang="+c.lang,
			url.Values{"csrf": {csrf}, "current": {c.current}, "new": {c.new}, "confirm": {c.confirm}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#`+c.field+`"`) ||
			!strings.Contains(page, `id="`+c.field+`-error"`) || !strings.Contains(page, c.msg) {
			t.Errorf("%s/%q/%q: %d, want 422 with %q next to %s", c.lang, c.current, c.new, resp.StatusCode, c.msg, c.field)
		}
		if c.new != "" && strings.Contains(page, `value="`+c.new+`"`) {
			t.Errorf("the page sends a typed password back")
		}
	}
	// Nothing changed so far: the demo password still signs in.
	testenv.NewClient(sys).Login(t, email)

	resp, _ := b.do(t, "POST", "/account/password", url.Values{"csrf": {csrf}, "current": {testenv.DemoPassword}, "new": {next}, "confirm": {next}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account?done=password" {
		t.Fatalf("change the password: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.do(t, "GET", "/account?done=password&lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Your password is changed.") {
		t.Errorf("this browser is not signed in after the change: %d", resp.StatusCode)
	}
	if resp, _ := elsewhere.do(t, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another session lives on after the change: %d", resp.StatusCode)
	}
	var problem struct{ Type string }
	if st := testenv.NewClient(sys).Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": testenv.DemoPassword}, &problem); st != http.StatusUnauthorized {
		t.Errorf("the old password signs in: %d", st)
	}
	testenv.NewClient(sys).LoginWith(t, email, next)
}
