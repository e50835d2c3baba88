package app_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// Search and paging of GET /api/v1/cases and GET /api/v1/referrals
// (docs/api.md#pagination, issue 15 point 4).

type casePage struct {
	Cases []caseBody `json:"cases"`
	Next  *string    `json:"next"`
}

// listCases answers one page of GET /api/v1/cases?query, failing the test
// on any status but 200.
func listCases(t *testing.T, c *testenv.Client, query url.Values) casePage {
	t.Helper()
	var page casePage
	mustStatus(t, "GET /api/v1/cases?"+query.Encode(), c.Do(t, "GET", "/api/v1/cases?"+query.Encode(), nil, &page), http.StatusOK)
	return page
}

// searchFor answers the IDs a search finds.
func searchFor(t *testing.T, c *testenv.Client, q string) []string {
	t.Helper()
	var ids []string
	for _, k := range listCases(t, c, url.Values{"q": {q}, "limit": {"500"}}).Cases {
		ids = append(ids, k.ID)
	}
	return ids
}

// openWith opens a case with the screening body changed by the person's
// fields given.
func openWith(t *testing.T, c *testenv.Client, person map[string]any) caseBody {
	t.Helper()
	body := testenv.Screening()
	for k, v := range person {
		body["person"].(map[string]any)[k] = v
	}
	var out caseBody
	mustStatus(t, "open case", c.Do(t, "POST", "/api/v1/cases", body, &out), http.StatusCreated)
	return out
}

func caseSearchAudits(t *testing.T, sys *app.System) [][]string {
	var out [][]string
	for _, row := range testenv.AuditRows(t, sys.Store) {
		if row.Action == "case.search" {
			if row.CaseID != nil {
				t.Errorf("case.search row names case %s", row.CaseID)
			}
			out = append(out, row.Fields)
		}
	}
	return out
}

func TestCaseSearchByIdentity(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	foreign := anon.Login(t, "officer@dashoguz-police.example")
	authority := anon.Login(t, "decider@authority.example")

	// The person is entered in Turkmen Latin letters.
	target := openWith(t, officer, map[string]any{"given_name": "Aýna", "family_name": "Berdiýewa",
		"phone": "+99365000000", "document_number": "I-AŞ 123456"})
	other := openWith(t, officer, map[string]any{"given_name": "Merjen", "family_name": "Annaýewa",
		"phone": "+99362111111", "document_number": "I-MR 654321"})
	foreignCase := openWith(t, foreign, map[string]any{"given_name": "Aýna", "family_name": "Gurbanowa",
		"phone": "+99361222222", "document_number": "II-DZ 777777"})
	before := len(caseSearchAudits(t, sys))

	for what, q := range map[string]string{
		"document number, other spacing and case": "i aş123456",
		"document number run together":            "IAŞ 123 456",
		"document number, other punctuation":      "I-AŞ-123456",
		"document number without its diacritic":   "I-AS 123456",
		"phone in the national format":            "8 (65) 00-00-00",
		"phone with 00 and spaces":                "00 993 65 000 000",
		"full name in Cyrillic":                   "Айна Бердиева",
		"full name in Cyrillic, family first":     "БЕРДИЕВА айна",
		"full name in plain Latin":                "ayna berdiyeva",
	} {
		if got := searchFor(t, officer, q); !slices.Equal(got, []string{target.ID}) {
			t.Errorf("%s (%q): the owning agency's officer finds %v, want the case %s alone", what, q, got, target.ID)
		}
		if got := searchFor(t, supervisor, q); !slices.Equal(got, []string{target.ID}) {
			t.Errorf("%s (%q): the owning agency's supervisor finds %v", what, q, got)
		}
		if got := searchFor(t, authority, q); !slices.Equal(got, []string{target.ID}) {
			t.Errorf("%s (%q): the competent authority finds %v", what, q, got)
		}
		if got := searchFor(t, foreign, q); len(got) != 0 {
			t.Errorf("%s (%q): an officer of another agency finds %v, want nothing", what, q, got)
		}
	}
	// A part of a name, another person's name or a number that is not the
	// person's finds nothing; the foreign officer finds its own case.
	for _, q := range []string{"Aýna", "Berdiýewa", "Merjen Berdiýewa", "I-AŞ 123457", "+993 65 000001"} {
		if got := searchFor(t, officer, q); len(got) != 0 {
			t.Errorf("%q finds %v, want nothing", q, got)
		}
	}
	if got := searchFor(t, foreign, "Aýna Gurbanowa"); !slices.Equal(got, []string{foreignCase.ID}) {
		t.Errorf("the foreign officer's own case: %v", got)
	}
	if got := searchFor(t, officer, "Aýna Gurbanowa"); len(got) != 0 {
		t.Errorf("another agency's case found by name: %v", got)
	}

	// Every identity search was audited with the kinds of index it looked
	// up, never with what was typed; a search by case number is not.
	audits := caseSearchAudits(t, sys)
	if got := len(audits) - before; got != 9*4+5+2 {
		t.Errorf("%d case.search audit rows, want one per identity search (%d)", got, 9*4+5+2)
	}
	for _, fields := range audits {
		for _, f := range fields {
			if !slices.Contains([]string{"document_key", "phone", "full_name"}, f) {
				t.Errorf("case.search row records %q: only kinds of index belong there", f)
			}
		}
	}
	var leaked int
	testenv.Must(t, sys.Store.DB().Get(&leaked, `SELECT count(*) FROM audit_log WHERE action = 'case.search'
		AND (fields::text ILIKE '%123456%' OR fields::text ILIKE '%berdi%' OR fields::text ILIKE '%65000000%')`))
	if leaked != 0 {
		t.Errorf("%d audit rows hold a searched value", leaked)
	}

	// By case number: exact or its start, any letter case, for every case
	// reader; not audited as an identity search.
	before = len(caseSearchAudits(t, sys))
	for _, q := range []string{target.Number, strings.ToLower(target.Number), " " + target.Number + " "} {
		if got := searchFor(t, officer, q); !slices.Equal(got, []string{target.ID}) {
			t.Errorf("by number %q: %v", q, got)
		}
	}
	prefix := target.Number[:len(target.Number)-1]
	if got := searchFor(t, officer, strings.ToLower(prefix)); !slices.Contains(got, target.ID) || !slices.Contains(got, other.ID) || slices.Contains(got, foreignCase.ID) {
		t.Errorf("by the number's start %q: %v", prefix, got)
	}
	if got := searchFor(t, foreign, target.Number); len(got) != 0 {
		t.Errorf("another agency's case found by number: %v", got)
	}
	if after := len(caseSearchAudits(t, sys)); after != before {
		t.Errorf("a search by case number wrote %d case.search rows", after-before)
	}

	// Roles that may not list cases get 403, whatever they search.
	for _, email := range []string{"shelter@lebap-shelter.example", "twg@twg.example", "admin@nrm.example"} {
		var p problem
		if st := anon.Login(t, email).Do(t, "GET", "/api/v1/cases?q="+url.QueryEscape("I-AŞ 123456"), nil, &p); st != http.StatusForbidden {
			t.Errorf("%s searching: %d, want 403", email, st)
		}
	}

	// Backfill: a case indexed before the search kinds existed (index
	// version 1, only name_birth and document) is not found by phone or
	// name until the reconciler's Reindex recomputes it; Reindex is
	// idempotent.
	ctx := context.Background()
	db := sys.Store.DB()
	if _, err := db.Exec(`DELETE FROM person_index WHERE case_id = $1 AND kind IN ('document_key', 'phone', 'full_name')`, target.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE case_keys SET index_version = 1 WHERE case_id = $1`, target.ID); err != nil {
		t.Fatal(err)
	}
	if got := searchFor(t, officer, "8 (65) 00-00-00"); len(got) != 0 {
		t.Fatalf("an old case found by phone before the backfill: %v", got)
	}
	// The duplicate check's own document index still finds it as typed.
	if got := searchFor(t, officer, "I-AŞ 123456"); !slices.Equal(got, []string{target.ID}) {
		t.Errorf("an old case by its document number as entered: %v", got)
	}
	n, failed, err := sys.Cases.Reindex(ctx)
	if err != nil || n != 1 || failed != 0 {
		t.Fatalf("reindex: %d cases, %d failed, %v; want the one old case", n, failed, err)
	}
	for _, q := range []string{"8 (65) 00-00-00", "Айна Бердиева", "i-as 123456"} {
		if got := searchFor(t, officer, q); !slices.Equal(got, []string{target.ID}) {
			t.Errorf("after the backfill %q finds %v", q, got)
		}
	}
	if n, failed, err := sys.Cases.Reindex(ctx); err != nil || n != 0 || failed != 0 {
		t.Errorf("second reindex: %d cases, %d failed, %v; want nothing to do", n, failed, err)
	}
	var kinds []string
	testenv.Must(t, db.Select(&kinds, `SELECT kind FROM person_index WHERE case_id = $1 ORDER BY kind`, target.ID))
	if want := []string{"document", "document_key", "full_name", "name_birth", "phone"}; !slices.Equal(kinds, want) {
		t.Errorf("indexes of the reindexed case %v, want %v", kinds, want)
	}

	// Erasure removes the identity and its indexes: nothing finds the case
	// by identity any more, its number still does.
	mustStatus(t, "erase", authority.Do(t, "POST", "/api/v1/cases/"+target.ID+"/erasure",
		map[string]string{"reason": "court_order", "order": "No. 12/2026-A"}, nil), http.StatusOK)
	for _, q := range []string{"8 (65) 00-00-00", "Айна Бердиева", "I-AŞ 123456"} {
		if got := searchFor(t, authority, q); len(got) != 0 {
			t.Errorf("after erasure %q finds %v", q, got)
		}
	}
	if got := searchFor(t, authority, target.Number); !slices.Equal(got, []string{target.ID}) {
		t.Errorf("after erasure the number finds %v", got)
	}
}

func TestCaseListPagingAndFilters(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	foreign := anon.Login(t, "officer@dashoguz-police.example")
	authority := anon.Login(t, "decider@authority.example")
	shelter := anon.Login(t, "shelter@lebap-shelter.example")

	const existing = 120
	for i := range existing {
		c := officer
		if i%10 == 0 {
			c = foreign
		}
		body := testenv.Screening()
		if i%3 == 0 {
			delete(body["person"].(map[string]any), "birth_date") // the child track
			delete(body, "consent")
		}
		if c == foreign {
			body["encounter"].(map[string]any)["region"] = "dashoguz"
		}
		mustStatus(t, "open", c.Do(t, "POST", "/api/v1/cases", body, nil), http.StatusCreated)
	}
	want := map[string]bool{}
	var ids []string
	testenv.Must(t, sys.Store.DB().Select(&ids, `SELECT id::text FROM cases`))
	for _, id := range ids {
		want[id] = true
	}

	// limit=50 and next visit every case exactly once while cases are opened
	// between the pages; the new ones are newer than the first page.
	seen := map[string]int{}
	var opened []string
	query := url.Values{"limit": {"50"}}
	pages := 0
	for {
		page := listCases(t, authority, query)
		if pages++; pages > 10 {
			t.Fatalf("more than 10 pages of 50 for %d cases", existing)
		}
		if len(page.Cases) > 50 {
			t.Fatalf("page of %d cases", len(page.Cases))
		}
		for _, k := range page.Cases {
			seen[k.ID]++
		}
		if page.Next == nil {
			break
		}
		for range 2 {
			var c caseBody
			mustStatus(t, "open between pages", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
			opened = append(opened, c.ID)
		}
		query.Set("after", *page.Next)
	}
	if pages != 3 {
		t.Errorf("%d pages of 50 for %d cases, want 3", pages, existing)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("case %s visited %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if !want[id] {
			t.Errorf("case %s (opened while paging) visited %d times", id, n)
		}
	}
	// Starting again, the new cases lead.
	first := listCases(t, authority, url.Values{"limit": {"4"}})
	if len(first.Cases) != 4 || first.Next == nil || !slices.Contains(opened, first.Cases[0].ID) {
		t.Errorf("first page after opening: %+v", first)
	}

	// The scope applies to every page: the Dashoguz officer pages through
	// its own agency's cases only, with any cursor.
	foreignSeen := 0
	query = url.Values{"limit": {"5"}}
	for range 10 {
		page := listCases(t, foreign, query)
		for _, k := range page.Cases {
			if k.AgencyID != agencyID(t, foreign) {
				t.Fatalf("the Dashoguz officer lists case %s of agency %s", k.ID, k.AgencyID)
			}
			foreignSeen++
		}
		if page.Next == nil {
			break
		}
		query.Set("after", *page.Next)
	}
	if foreignSeen != existing/10 {
		t.Errorf("the Dashoguz officer paged through %d cases, want %d", foreignSeen, existing/10)
	}
	// A cursor of another caller's list is only a position: the scope still applies.
	authorityPage := listCases(t, authority, url.Values{"limit": {"1"}})
	for _, k := range listCases(t, foreign, url.Values{"after": {*authorityPage.Next}, "limit": {"500"}}).Cases {
		if k.AgencyID != agencyID(t, foreign) {
			t.Fatalf("another caller's cursor lists case %s of agency %s", k.ID, k.AgencyID)
		}
	}

	// Filters.
	count := func(c *testenv.Client, q url.Values) int {
		q.Set("limit", "500")
		return len(listCases(t, c, q).Cases)
	}
	total := existing + len(opened)
	lebap, dashoguz := agencyID(t, officer), agencyID(t, foreign)
	loc := mustLoc(t, "Asia/Ashgabat")
	today := time.Now().In(loc).Format(time.DateOnly)
	yesterday := time.Now().In(loc).AddDate(0, 0, -1).Format(time.DateOnly)
	children, lebapChildren := 0, 0
	for i := range existing {
		if i%3 == 0 {
			children++
			if i%10 != 0 {
				lebapChildren++
			}
		}
	}
	var versions []string
	testenv.Must(t, sys.Store.DB().Select(&versions, `SELECT DISTINCT sop_version FROM cases`))
	if len(versions) != 1 {
		t.Fatalf("cases opened under SOP versions %v, want one", versions)
	}
	otherVersion := "2026.1"
	if versions[0] == otherVersion {
		otherVersion = "2026.2"
	}
	for what, c := range map[string]struct {
		client *testenv.Client
		query  url.Values
		want   int
	}{
		"all":                     {authority, url.Values{}, total},
		"region":                  {authority, url.Values{"region": {"dashoguz"}}, existing / 10},
		"agency":                  {authority, url.Values{"agency_id": {dashoguz}}, existing / 10},
		"own agency":              {officer, url.Values{"agency_id": {lebap}}, total - existing/10},
		"children":                {authority, url.Values{"child": {"true"}}, children},
		"adults":                  {authority, url.Values{"child": {"false"}}, total - children},
		"stage":                   {authority, url.Values{"stage": {"identification"}}, total},
		"closed stage":            {authority, url.Values{"stage": {"closed"}}, 0},
		"SOP version":             {authority, url.Values{"sop_version": {versions[0]}}, total},
		"another SOP version":     {authority, url.Values{"sop_version": {otherVersion}}, 0},
		"opened today":            {authority, url.Values{"opened_from": {today}, "opened_to": {today}}, total},
		"opened until yesterday":  {authority, url.Values{"opened_to": {yesterday}}, 0},
		"opened from an instant":  {authority, url.Values{"opened_from": {time.Now().Add(time.Hour).Format(time.RFC3339)}}, 0},
		"opened to an instant":    {authority, url.Values{"opened_to": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)}}, total},
		"not overdue":             {authority, url.Values{"overdue": {"false"}}, total},
		"overdue":                 {authority, url.Values{"overdue": {"true"}}, 0},
		"combined":                {authority, url.Values{"region": {"lebap"}, "child": {"true"}, "agency_id": {lebap}}, lebapChildren},
		"combined with no result": {authority, url.Values{"region": {"lebap"}, "agency_id": {dashoguz}}, 0},
	} {
		if got := count(c.client, c.query); got != c.want {
			t.Errorf("%s (%s): %d cases, want %d", what, c.query.Encode(), got, c.want)
		}
	}
	// A deadline past due makes its case overdue; a breached one too.
	var overdue, breached string
	testenv.Must(t, sys.Store.DB().Get(&overdue, `SELECT case_id::text FROM obligations WHERE status = 'pending' AND kind = 'deadline' ORDER BY id LIMIT 1`))
	testenv.Must(t, sys.Store.DB().Get(&breached, `SELECT case_id::text FROM obligations WHERE status = 'pending' AND kind = 'deadline' AND case_id <> $1 ORDER BY id LIMIT 1`, overdue))
	if _, err := sys.Store.DB().Exec(`UPDATE obligations SET due_at = now() - interval '1 hour' WHERE case_id = $1 AND status = 'pending' AND kind = 'deadline'`, overdue); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Store.DB().Exec(`UPDATE obligations SET status = 'breached', breached_at = now() WHERE case_id = $1 AND status = 'pending' AND kind = 'deadline'`, breached); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range listCases(t, authority, url.Values{"overdue": {"true"}}).Cases {
		got = append(got, k.ID)
	}
	slices.Sort(got)
	wantOverdue := []string{overdue, breached}
	slices.Sort(wantOverdue)
	if !slices.Equal(got, wantOverdue) {
		t.Errorf("overdue cases %v, want %v", got, wantOverdue)
	}
	if n := count(authority, url.Values{"overdue": {"false"}}); n != total-2 {
		t.Errorf("cases not overdue: %d, want %d", n, total-2)
	}

	// Every bad filter is a 422 naming its parameter.
	tampered := func(cursor string) string {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			t.Fatalf("cursor %q is not base64url: %v", cursor, err)
		}
		b[5] ^= 1 // one bit of the position
		return base64.RawURLEncoding.EncodeToString(b)
	}
	next := *first.Next
	for query, field := range map[string]string{
		"limit=0": "limit", "limit=501": "limit", "limit=ten": "limit", "limit=1.5": "limit",
		"after=" + url.QueryEscape(tampered(next)):    "after",
		"after=" + next[:len(next)-2]:                 "after",
		"after=not-a-cursor":                          "after",
		"after=" + next + "A":                         "after",
		"q=" + strings.Repeat("a", 201):               "q",
		"stage=nowhere":                               "stage",
		"stage=IDENTIFICATION":                        "stage",
		"region=atlantis":                             "region",
		"region=Lebap":                                "region",
		"agency_id=lebap":                             "agency_id",
		"agency_id=" + dashoguz:                       "agency_id", // another agency, for a role scoped to its own
		"child=yes":                                   "child",
		"child=1":                                     "child",
		"overdue=TRUE":                                "overdue",
		"opened_from=2026-13-01":                      "opened_from",
		"opened_from=yesterday":                       "opened_from",
		"opened_from=2026-01-01T10:00:00":             "opened_from", // no zone
		"opened_to=2026-02-30":                        "opened_to",
		"opened_from=2026-03-02&opened_to=2026-03-01": "opened_to",
		"opened_from=2026-03-01T12:00:00Z&opened_to=2026-03-01T11:00:00Z": "opened_to",
		"sop_version=1999.1": "sop_version",
		"stages=closed":      "stages",
	} {
		var p problem
		if st := officer.Do(t, "GET", "/api/v1/cases?"+query, nil, &p); !validationNames(st, p, field) {
			t.Errorf("GET /api/v1/cases?%s: %d %+v, want 422 naming %s", query, st, p, field)
		}
	}
	// A referral list's cursor is not a case list's.
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+opened[0]+"/referrals", map[string]any{"service": "shelter"}, nil), http.StatusCreated)
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+opened[1]+"/referrals", map[string]any{"service": "shelter"}, nil), http.StatusCreated)
	var refs struct {
		Referrals []referralBody `json:"referrals"`
		Next      *string        `json:"next"`
	}
	mustStatus(t, "inbox", shelter.Do(t, "GET", "/api/v1/referrals?limit=1", nil, &refs), http.StatusOK)
	if refs.Next == nil {
		t.Fatalf("an inbox of two referrals in pages of one has no next page")
	}
	var p problem
	if st := officer.Do(t, "GET", "/api/v1/cases?after="+*refs.Next, nil, &p); !validationNames(st, p, "after") {
		t.Errorf("a referral cursor on the case list: %d %+v, want 422 naming after", st, p)
	}
	if st := shelter.Do(t, "GET", "/api/v1/referrals?after="+next, nil, &p); !validationNames(st, p, "after") {
		t.Errorf("a case cursor on the inbox: %d %+v, want 422 naming after", st, p)
	}
}

// A provider's inbox is paged the same way: every referral once, newest
// sent first, while new referrals arrive between the pages.
func TestReferralInboxPaging(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	shelter := anon.Login(t, "shelter@lebap-shelter.example")

	refer := func() string {
		var c caseBody
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
		var ref struct {
			ID string `json:"id"`
		}
		mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals", map[string]any{"service": "shelter"}, &ref), http.StatusCreated)
		return ref.ID
	}
	want := map[string]bool{}
	for range 7 {
		want[refer()] = true
	}
	testenv.Eventually(t, 30*time.Second, "seven referrals in the inbox", func() bool { return len(inbox(t, shelter)) == 7 })

	seen := map[string]int{}
	path := "/api/v1/referrals?status=pending&limit=3"
	pages := 0
	var last time.Time
	for {
		var page struct {
			Referrals []struct {
				ID     string    `json:"id"`
				SentAt time.Time `json:"sent_at"`
			} `json:"referrals"`
			Next *string `json:"next"`
		}
		mustStatus(t, "inbox page", shelter.Do(t, "GET", path, nil, &page), http.StatusOK)
		if pages++; pages > 10 {
			t.Fatalf("more than 10 pages of 3 for 7 referrals")
		}
		for _, r := range page.Referrals {
			if !last.IsZero() && r.SentAt.After(last) {
				t.Errorf("referral %s sent at %s after the one before it (%s)", r.ID, r.SentAt, last)
			}
			last = r.SentAt
			seen[r.ID]++
		}
		if page.Next == nil {
			break
		}
		refer() // a new referral between the pages
		path = "/api/v1/referrals?status=pending&limit=3&after=" + *page.Next
	}
	if pages != 3 {
		t.Errorf("%d pages of 3 for 7 referrals, want 3", pages)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("referral %s listed %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d referrals listed, want the %d of the first page's time", len(seen), len(want))
	}
	for query, field := range map[string]string{"after=x": "after", "limit=0": "limit", "status=lost": "status", "q=Aýna": "q"} {
		var p problem
		if st := shelter.Do(t, "GET", "/api/v1/referrals?"+query, nil, &p); !validationNames(st, p, field) {
			t.Errorf("GET /api/v1/referrals?%s: %d %+v, want 422 naming %s", query, st, p, field)
		}
	}
}
