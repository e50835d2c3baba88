package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// referRightAway opens a case through the API and refers the person to a
// shelter, answering the case and the referral's IDs.
func referRightAway(t *testing.T, sys *app.System, note string) (caseID, referralID string) {
	t.Helper()
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	var ref struct {
		ID string `json:"id"`
	}
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/referrals",
		map[string]any{"service": "shelter", "note": note}, &ref), http.StatusCreated)
	return opened.ID, ref.ID
}

// answerFormOf reads the referral page and answers the CSRF token and the
// key of the form that posts to action.
func answerFormOf(t *testing.T, b *browser, path, action string) (csrf, key string) {
	t.Helper()
	resp, page := b.do(t, "GET", path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	m := regexp.MustCompile(`action="` + regexp.QuoteMeta(action) + `"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)">\s*<input type="hidden" name="key" value="([0-9a-f]{32})">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("GET %s: no form posting to %s", path, action)
	}
	return m[1], m[2]
}

var inboxTimeLeft = regexp.MustCompile(`(\d+) (minutes?|hours?|days?) left`)

// section is the part of the inbox under one heading (id), up to the next.
func section(page, id string) string {
	i := strings.Index(page, `<h2 id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	if j := strings.Index(rest[1:], "<h2 "); j >= 0 {
		return rest[:j+1]
	}
	return rest
}

// A shelter works its referrals through the pages: the inbox lists a new
// referral with its time left; a referral addressed to another agency is
// the 404 page; a decline needs a reason, and once given the referral goes
// to the Ashgabat shelter, whose inbox shows it; the first shelter's late
// answer is refused in words; the Ashgabat shelter accepts, records
// progress (once per form) and completes it. Only providers see inboxes.
func TestProviderPagesDeclineAcceptProgressComplete(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	caseID, refID := referRightAway(t, sys, "Needs a bed tonight")
	refPath := "/referrals/" + refID

	lebap := signInPages(t, base, "shelter@lebap-shelter.example", testenv.DemoPassword)
	var page string
	testenv.Eventually(t, 20*time.Second, "the referral in the Lebap shelter's inbox", func() bool {
		_, page = lebap.do(t, "GET", "/referrals?lang=en", nil, nil)
		return strings.Contains(section(page, "pending"), `href="`+refPath+`"`)
	})
	pending := section(page, "pending")
	for _, want := range []string{"Waiting for your answer", "Safe accommodation (shelter)", "lebap", "Urgent", "Answer by"} {
		if !strings.Contains(pending, want) {
			t.Errorf("the inbox's waiting referrals lack %q:\n%s", want, pending)
		}
	}
	if m := inboxTimeLeft.FindStringSubmatch(pending); m == nil {
		t.Errorf("the waiting referral shows no time left to answer:\n%s", pending)
	}
	if !strings.Contains(page, "12 of 12 beds free") || !strings.Contains(page, `href="/referrals/beds"`) {
		t.Errorf("the shelter's inbox does not show its beds")
	}
	if strings.Contains(page, "Aýna") || strings.Contains(page, "Berdiýewa") {
		t.Errorf("the inbox shows the person's name")
	}

	// Another provider, and the officer, get no view of the referral.
	ashgabat := signInPages(t, base, "shelter@ashgabat-shelter.example", testenv.DemoPassword)
	lawyer := signInPages(t, base, "lawyer@legal-aid.example", testenv.DemoPassword)
	for name, b := range map[string]*browser{"Ashgabat shelter": ashgabat, "legal aid": lawyer} {
		if resp, page := b.do(t, "GET", refPath+"?lang=en", nil, nil); resp.StatusCode != http.StatusNotFound || strings.Contains(page, "Aýna") {
			t.Errorf("%s reading another agency's referral: %d, want the 404 page", name, resp.StatusCode)
		}
	}
	officer := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	for _, path := range []string{"/referrals", refPath, "/referrals/beds"} {
		if resp, _ := officer.do(t, "GET", path, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("an officer GET %s: %d, want the 403 page", path, resp.StatusCode)
		}
	}

	// The need-to-know view: given name, age band, sex, languages, urgent
	// needs and the sender's note; nothing else of the person.
	_, page = lebap.do(t, "GET", refPath+"?lang=en", nil, nil)
	if !regexp.MustCompile(`<dd>\d+-\d+ years</dd>`).MatchString(page) {
		t.Errorf("the referral page shows no age band")
	}
	for _, want := range []string{"Aýna", "Female", "Turkmen, Russian", "Medical assistance", "Needs a bed tonight",
		`action="` + refPath + `/accept"`, `action="` + refPath + `/decline"`, "12 of 12 beds are free now"} {
		if !strings.Contains(page, want) {
			t.Errorf("the referral page lacks %q", want)
		}
	}
	for _, secret := range []string{"Berdiýewa", "2001", "I-AŞ", "+99365", "Istanbul", "Turkmenabat railway station"} {
		if strings.Contains(page, secret) {
			t.Errorf("the referral page shows %q, which a provider does not need", secret)
		}
	}
	if strings.Contains(page, `action="`+refPath+`/complete"`) {
		t.Errorf("a waiting referral offers completion")
	}
	var reads int
	testenv.Must(t, sys.Store.DB().Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'referral.identity.read' AND case_id = $1`, caseID))
	if reads == 0 {
		t.Errorf("reading the referral page was not audited")
	}

	// Decline without a reason: 422, the error linked to the field, the note kept.
	csrf, key := answerFormOf(t, lebap, refPath, refPath+"/decline")
	resp, page := lebap.do(t, "POST", refPath+"/decline?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "decline_note": {"All beds taken tonight"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#reason"`) ||
		!strings.Contains(page, "Choose why you decline the referral") || !strings.Contains(page, "All beds taken tonight") {
		t.Fatalf("decline without a reason: %d, want 422 with the field error and the note kept", resp.StatusCode)
	}
	_, oldAcceptKey := answerFormOf(t, lebap, refPath, refPath+"/accept")
	resp, _ = lebap.do(t, "POST", refPath+"/decline", url.Values{"csrf": {csrf}, "key": {key}, "reason": {"no_capacity"},
		"decline_note": {"All beds taken tonight"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/referrals?done=decline" {
		t.Fatalf("decline: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = lebap.do(t, "GET", "/referrals?done=decline&lang=en", nil, nil)
	if !strings.Contains(page, "You declined the referral") || !strings.Contains(section(page, "declined"), "No capacity") ||
		strings.Contains(section(page, "pending"), refPath) {
		t.Errorf("after the decline the inbox lacks the confirmation or the declined referral, or still waits for it:\n%s", page)
	}

	// The referral goes to the Ashgabat shelter, whose inbox shows it.
	testenv.Eventually(t, 20*time.Second, "the referral in the Ashgabat shelter's inbox", func() bool {
		_, page = ashgabat.do(t, "GET", "/referrals?lang=en", nil, nil)
		return strings.Contains(section(page, "pending"), `href="`+refPath+`"`)
	})

	// The Lebap shelter's answer now is refused in words; its page says where the referral went.
	resp, page = lebap.do(t, "POST", refPath+"/accept?lang=en", url.Values{"csrf": {csrf}, "key": {oldAcceptKey}}, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Your answer was not recorded.") ||
		!strings.Contains(page, "This referral is no longer with your agency") || !strings.Contains(page, "No capacity") || strings.Contains(page, "Aýna") {
		t.Errorf("an answer after the decline: %d, want 409 saying the referral moved on", resp.StatusCode)
	}
	if resp, page := lebap.do(t, "GET", refPath+"?lang=en", nil, nil); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, "went to the next provider") || strings.Contains(page, "Aýna") {
		t.Errorf("the declined referral's page: %d, want the page that says it went on, without the person", resp.StatusCode)
	}

	// The Ashgabat shelter accepts it.
	csrf, key = answerFormOf(t, ashgabat, refPath, refPath+"/accept")
	resp, _ = ashgabat.do(t, "POST", refPath+"/accept", url.Values{"csrf": {csrf}, "key": {key}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != refPath+"?done=accept" {
		t.Fatalf("accept: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = ashgabat.do(t, "GET", refPath+"?done=accept&lang=en", nil, nil)
	for _, want := range []string{"You accepted the referral.", `action="` + refPath + `/progress"`, `action="` + refPath + `/complete"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the accepted referral's page lacks %q", want)
		}
	}
	if strings.Contains(page, `action="`+refPath+`/decline"`) {
		t.Errorf("an accepted referral still offers the decline")
	}
	var occupied int
	testenv.Must(t, sys.Store.DB().Get(&occupied, `SELECT occupancy FROM agencies WHERE name = 'Ashgabat shelter'`))
	if occupied != 1 {
		t.Errorf("after accepting, the Ashgabat shelter has %d beds taken, want 1", occupied)
	}

	// Progress: a note is required; the same form sent twice is one note.
	csrf, key = answerFormOf(t, ashgabat, refPath, refPath+"/progress")
	resp, page = ashgabat.do(t, "POST", refPath+"/progress?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "progress_note": {"  "}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#progress_note"`) || !strings.Contains(page, "Write the progress note") {
		t.Errorf("an empty progress note: %d, want 422 with the field error", resp.StatusCode)
	}
	for range 2 {
		resp, _ = ashgabat.do(t, "POST", refPath+"/progress", url.Values{"csrf": {csrf}, "key": {key}, "progress_note": {"Settled in; doctor on Monday."}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != refPath+"?done=progress" {
			t.Fatalf("progress: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	var progress int
	testenv.Must(t, sys.Store.DB().Get(&progress, `SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'referral_progress'`, caseID))
	if progress != 1 {
		t.Errorf("the progress form sent twice recorded %d progress events, want 1", progress)
	}

	// Complete: an outcome is required.
	csrf, key = answerFormOf(t, ashgabat, refPath, refPath+"/complete")
	resp, page = ashgabat.do(t, "POST", refPath+"/complete?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "complete_note": {"Moved to her family."}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#outcome"`) || !strings.Contains(page, "Moved to her family.") {
		t.Errorf("completion without an outcome: %d, want 422 with the field error and the note kept", resp.StatusCode)
	}
	resp, _ = ashgabat.do(t, "POST", refPath+"/complete", url.Values{"csrf": {csrf}, "key": {key}, "outcome": {"service_provided"},
		"complete_note": {"Moved to her family."}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != refPath+"?done=complete" {
		t.Fatalf("complete: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = ashgabat.do(t, "GET", refPath+"?done=complete&lang=en", nil, nil)
	if !strings.Contains(page, "The referral is completed.") || !strings.Contains(page, "Service provided") ||
		strings.Contains(page, `action="`+refPath+`/progress"`) {
		t.Errorf("the completed referral's page lacks its outcome or still offers answers")
	}
	testenv.Must(t, sys.Store.DB().Get(&occupied, `SELECT occupancy FROM agencies WHERE name = 'Ashgabat shelter'`))
	if occupied != 0 {
		t.Errorf("after completing, the Ashgabat shelter has %d beds taken, want 0", occupied)
	}

	// The filter: completed only; an unknown state is a field error.
	_, page = ashgabat.do(t, "GET", "/referrals?state=completed&lang=en", nil, nil)
	if done := section(page, "completed"); !strings.Contains(done, refPath) || !strings.Contains(done, "Service provided") ||
		strings.Contains(page, `id="pending"`) {
		t.Errorf("the inbox filtered on completed referrals:\n%s", page)
	}
	if resp, page := ashgabat.do(t, "GET", "/referrals?state=lost&lang=en", nil, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, `href="#state"`) {
		t.Errorf("an unknown state: %d, want 422 naming the field", resp.StatusCode)
	}

	// The officer's case page shows what the providers did.
	_, page = officer.do(t, "GET", "/cases/"+caseID+"?lang=en", nil, nil)
	if !strings.Contains(page, "Settled in; doctor on Monday.") || !strings.Contains(page, "All beds taken tonight") {
		t.Errorf("the case file lacks the providers' notes")
	}
}

// A shelter keeps its beds up to date: whole numbers, free no more than
// in all; the change is audited and the inbox shows it. Providers without
// beds, and other roles, get the 403 page.
func TestProviderBeds(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	b := signInPages(t, base, "shelter@lebap-shelter.example", testenv.DemoPassword)
	page, csrf, key := formOf(t, b, "/referrals/beds?lang=en")
	if !strings.Contains(page, `value="12"`) || !strings.Contains(page, "12 of 12 beds free") {
		t.Errorf("the beds form does not show the shelter's 12 beds")
	}
	for _, tc := range []struct {
		total, free, field, msg string
	}{
		{"many", "3", "total", "Enter the beds in all as a whole number from 0 to 100000"},
		{"-1", "0", "total", "Enter the beds in all as a whole number"},
		{"100001", "0", "total", "from 0 to 100000"},
		{"10", "", "free", "Enter the free beds as a whole number, 0 or more"},
		{"10", "-2", "free", "Enter the free beds as a whole number, 0 or more"},
		{"10", "11", "free", "Free beds cannot be more than the beds in all (10)"},
	} {
		resp, page := b.do(t, "POST", "/referrals/beds?lang=en", url.Values{"csrf": {csrf}, "key": {key}, "total": {tc.total}, "free": {tc.free}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#`+tc.field+`"`) || !strings.Contains(page, tc.msg) ||
			!strings.Contains(page, `value="`+tc.total+`"`) {
			t.Errorf("beds %q free %q: %d, want 422 on %s saying %q with what was typed kept", tc.total, tc.free, resp.StatusCode, tc.field, tc.msg)
		}
	}
	var beds, taken int
	testenv.Must(t, sys.Store.DB().QueryRow(`SELECT beds, occupancy FROM agencies WHERE name = 'Lebap shelter'`).Scan(&beds, &taken))
	if beds != 12 || taken != 0 {
		t.Fatalf("refused forms changed the beds to %d (%d taken)", beds, taken)
	}
	for range 2 { // the same form twice is one change
		resp, _ := b.do(t, "POST", "/referrals/beds", url.Values{"csrf": {csrf}, "key": {key}, "total": {"10"}, "free": {"4"}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/referrals?done=beds" {
			t.Fatalf("beds: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	testenv.Must(t, sys.Store.DB().QueryRow(`SELECT beds, occupancy FROM agencies WHERE name = 'Lebap shelter'`).Scan(&beds, &taken))
	if beds != 10 || taken != 6 {
		t.Errorf("after the form: %d beds, %d taken; want 10 and 6", beds, taken)
	}
	var audited int
	testenv.Must(t, sys.Store.DB().Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'agency.beds'`))
	if audited != 1 {
		t.Errorf("%d audit rows of the beds change, want 1", audited)
	}
	_, page = b.do(t, "GET", "/referrals?done=beds&lang=ru", nil, nil)
	if !strings.Contains(page, "Сведения о койках обновлены.") || !strings.Contains(page, "Свободно 4 из 10 коек") {
		t.Errorf("the inbox after the change lacks the confirmation or the beds, in Russian")
	}
	// Zero beds: the shelter is full, and routing skips it.
	_, csrf, key = formOf(t, b, "/referrals/beds")
	if resp, _ := b.do(t, "POST", "/referrals/beds", url.Values{"csrf": {csrf}, "key": {key}, "total": {"10"}, "free": {"0"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("no free bed: %d", resp.StatusCode)
	}
	_, refID := referRightAway(t, sys, "")
	ashgabat := signInPages(t, base, "shelter@ashgabat-shelter.example", testenv.DemoPassword)
	testenv.Eventually(t, 20*time.Second, "a referral skipping the full Lebap shelter", func() bool {
		_, page := ashgabat.do(t, "GET", "/referrals?lang=en", nil, nil)
		return strings.Contains(page, "/referrals/"+refID)
	})

	// Legal aid counts no beds; an officer has no inbox.
	lawyer := signInPages(t, base, "lawyer@legal-aid.example", testenv.DemoPassword)
	if resp, _ := lawyer.do(t, "GET", "/referrals/beds", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("legal aid's beds page: %d, want 403", resp.StatusCode)
	}
	if _, page := lawyer.do(t, "GET", "/referrals?lang=en", nil, nil); strings.Contains(page, "beds free") {
		t.Errorf("legal aid's inbox shows beds")
	}
	lcsrf := csrfOf(t, func() string { _, p := lawyer.do(t, "GET", "/referrals", nil, nil); return p }())
	if resp, _ := lawyer.do(t, "POST", "/referrals/beds", url.Values{"csrf": {lcsrf}, "key": {key}, "total": {"5"}, "free": {"5"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("legal aid setting beds: %d, want 403", resp.StatusCode)
	}
}
