package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
)

type notesPage struct {
	Notes []struct {
		ID         string  `json:"id"`
		Kind       string  `json:"kind"`
		AuthorID   string  `json:"author_id"`
		AuthorName string  `json:"author_name"`
		AgencyID   string  `json:"agency_id"`
		AgencyName string  `json:"agency_name"`
		ReferralID *string `json:"referral_id"`
		Body       *string `json:"body"`
	} `json:"notes"`
	Next *string `json:"next"`
}

// The notes of a case are read a page at a time: following next visits
// every note exactly once, oldest first, while notes are being written; a
// forged or foreign cursor, a bad limit or an unknown parameter is a 422.
// A provider reads the notes of its own referral only — the note sent with
// it and its own agency's notes on it, with author, agency and referral —
// and no other case's; each read is audited.
func TestNotesPagesAndWhoReadsThem(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	lebapShelter := anon.Login(t, "shelter@lebap-shelter.example")
	ashgabatShelter := anon.Login(t, "shelter@ashgabat-shelter.example")
	twg := anon.Login(t, "twg@twg.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	base := "/api/v1/cases/" + opened.ID + "/notes"
	write := func(text string) {
		t.Helper()
		mustStatus(t, "note", officer.Do(t, "POST", base, map[string]any{"note": text}, nil), http.StatusCreated)
	}
	for _, n := range []string{"one", "two", "three", "four", "five"} {
		write("note " + n)
	}

	// Paging: limit 2, with a note written after each page.
	var seen []string
	next, pages := "", 0
	for {
		path := base + "?limit=2"
		if next != "" {
			path += "&after=" + url.QueryEscape(next)
		}
		var page notesPage
		mustStatus(t, "page", decider.Do(t, "GET", path, nil, &page), http.StatusOK)
		pages++
		for _, n := range page.Notes {
			seen = append(seen, *n.Body)
			if n.AgencyName == "" || n.AuthorName == "" || n.AgencyID == "" || n.ReferralID != nil {
				t.Errorf("note %+v lacks its author or agency", n)
			}
		}
		if pages <= 2 {
			write("written meanwhile " + itoa(pages))
		}
		if page.Next == nil {
			break
		}
		next = *page.Next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	want := "note one|note two|note three|note four|note five|written meanwhile 1|written meanwhile 2"
	if got := strings.Join(seen, "|"); got != want {
		t.Errorf("paging visited\n%s\nwant\n%s", got, want)
	}
	var p problem
	for _, bad := range []string{"?after=" + url.QueryEscape(next+"x"), "?limit=0", "?limit=501", "?order=desc"} {
		if st := decider.Do(t, "GET", base+bad, nil, &p); st != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
			t.Errorf("%s: %d %+v, want a 422 naming the parameter", bad, st, p.Errors)
		}
	}
	// A cursor of the case list is no cursor of notes.
	var cases struct {
		Next *string `json:"next"`
	}
	mustStatus(t, "open another", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), nil), http.StatusCreated)
	mustStatus(t, "cases", officer.Do(t, "GET", "/api/v1/cases?limit=1", nil, &cases), http.StatusOK)
	if cases.Next == nil {
		t.Fatal("no cursor of the case list")
	}
	if st := decider.Do(t, "GET", base+"?after="+url.QueryEscape(*cases.Next), nil, &p); st != http.StatusUnprocessableEntity {
		t.Errorf("a case-list cursor on the notes: %d", st)
	}

	// The providers: none has a referral of the case yet.
	mustStatus(t, "provider before any referral", lebapShelter.Do(t, "GET", base, nil, nil), http.StatusNotFound)
	mustStatus(t, "twg", twg.Do(t, "GET", base, nil, nil), http.StatusForbidden)

	var ref struct {
		ID string `json:"id"`
	}
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/referrals",
		map[string]any{"service": "shelter", "note": "For the shelter: arrives tonight"}, &ref), http.StatusCreated)
	testenv.Eventually(t, 20*time.Second, "the referral reaches the Lebap shelter", func() bool {
		return lebapShelter.Do(t, "GET", "/api/v1/referrals/"+ref.ID, nil, nil) == http.StatusOK
	})
	mustStatus(t, "accept", lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/accept", nil, nil), http.StatusOK)
	mustStatus(t, "progress", lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/progress",
		map[string]string{"note": "Settled in; needs a doctor"}, nil), http.StatusOK)

	var shelterView notesPage
	mustStatus(t, "shelter reads", lebapShelter.Do(t, "GET", base, nil, &shelterView), http.StatusOK)
	var bodies []string
	for _, n := range shelterView.Notes {
		bodies = append(bodies, *n.Body)
		if n.ReferralID == nil || *n.ReferralID != ref.ID {
			t.Errorf("shelter's note %q without its referral", *n.Body)
		}
		if n.Kind == "referral_progress" && !strings.Contains(n.AgencyName, "helter") {
			t.Errorf("the progress note's agency is %q, want the shelter", n.AgencyName)
		}
	}
	if strings.Join(bodies, "|") != "For the shelter: arrives tonight|Settled in; needs a doctor" {
		t.Errorf("the shelter reads %q, want the referral's note and its own progress note only", bodies)
	}
	mustStatus(t, "another shelter", ashgabatShelter.Do(t, "GET", base, nil, nil), http.StatusNotFound)

	// The owning agency reads everything, the provider's note included.
	var all notesPage
	mustStatus(t, "officer reads", officer.Do(t, "GET", base+"?limit=500", nil, &all), http.StatusOK)
	if len(all.Notes) != 9 || *all.Notes[8].Body != "Settled in; needs a doctor" || all.Notes[8].Kind != "referral_progress" {
		t.Errorf("the officer reads %d notes, the last %+v", len(all.Notes), all.Notes[len(all.Notes)-1])
	}
	var audited int
	testenv.Must(t, sys.Store.DB().Get(&audited, `SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'case.notes.read'
		AND role = 'provider'`, opened.ID))
	if audited != 1 {
		t.Errorf("%d audited provider reads, want 1", audited)
	}
}
