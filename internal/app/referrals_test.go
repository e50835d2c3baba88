package app_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

type referralBody struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Service    string          `json:"service"`
	CaseNumber string          `json:"case_number"`
	AgencyID   *string         `json:"agency_id"`
	Person     json.RawMessage `json:"person"`
	Note       *string         `json:"note"`
}

func agencyID(t *testing.T, c *testenv.Client) string {
	var me struct {
		AgencyID string `json:"agency_id"`
	}
	mustStatus(t, "me", c.Do(t, "GET", "/api/v1/me", nil, &me), http.StatusOK)
	return me.AgencyID
}

func inbox(t *testing.T, c *testenv.Client) []referralBody {
	var out struct {
		Referrals []referralBody `json:"referrals"`
	}
	mustStatus(t, "inbox", c.Do(t, "GET", "/api/v1/referrals", nil, &out), http.StatusOK)
	return out.Referrals
}

func TestReferralsOverHTTP(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	lebapShelter := anon.Login(t, "shelter@lebap-shelter.example")
	ashgabatShelter := anon.Login(t, "shelter@ashgabat-shelter.example")
	lawyer := anon.Login(t, "lawyer@legal-aid.example")
	doctor := anon.Login(t, "doctor@lebap-clinic.example")

	var c caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
	var ref struct {
		ID string `json:"id"`
	}
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals",
		map[string]any{"service": "shelter", "note": "needs a bed tonight"}, &ref), http.StatusCreated)
	var p problem
	if st := officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals", map[string]any{"service": "legal_aid"}, &p); st != http.StatusConflict || p.Rule != "not_yet" {
		t.Errorf("legal aid before identification: %d %q, want 409 not_yet", st, p.Rule)
	}
	// A service the case's SOP does not list is a bad request: 422 naming
	// the field, whether or not an agency is named, and nothing is stored.
	for _, body := range []map[string]any{{"service": "spa", "note": "x"}, {"service": "spa", "agency_id": agencyID(t, lebapShelter)}} {
		if st := officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals", body, &p); !validationNames(st, p, "service") {
			t.Errorf("unknown service %v: %d %+v, want 422 naming service", body, st, p)
		}
	}
	var notes int
	testenv.Must(t, sys.Store.DB().Get(&notes, `SELECT count(*) FROM case_notes WHERE case_id = $1 AND kind = 'referral'`, c.ID))
	if notes != 1 {
		t.Errorf("%d referral notes, want the shelter referral's alone", notes)
	}

	// List queries: values out of range or unknown are 422 naming the parameter.
	for path, param := range map[string]string{"/api/v1/referrals?status=lost": "status", "/api/v1/referrals?limit=0": "limit",
		"/api/v1/referrals?limit=501": "limit", "/api/v1/referrals?limit=many": "limit"} {
		if st := lebapShelter.Do(t, "GET", path, nil, &p); !validationNames(st, p, param) {
			t.Errorf("GET %s: %d %+v, want 422 naming %s", path, st, p, param)
		}
	}
	for path, param := range map[string]string{"/api/v1/cases?stage=nowhere": "stage", "/api/v1/cases?stage=IDENTIFICATION": "stage",
		"/api/v1/cases?limit=0": "limit", "/api/v1/cases?limit=501": "limit", "/api/v1/cases?limit=1e2": "limit"} {
		if st := officer.Do(t, "GET", path, nil, &p); !validationNames(st, p, param) {
			t.Errorf("GET %s: %d %+v, want 422 naming %s", path, st, p, param)
		}
	}
	var pending struct {
		Referrals []referralBody `json:"referrals"`
	}
	mustStatus(t, "pending inbox", lebapShelter.Do(t, "GET", "/api/v1/referrals?status=pending&limit=500", nil, &pending), http.StatusOK)
	if len(pending.Referrals) != 1 || pending.Referrals[0].ID != ref.ID {
		t.Errorf("pending inbox %+v, want the shelter referral", pending.Referrals)
	}
	mustStatus(t, "accepted inbox", lebapShelter.Do(t, "GET", "/api/v1/referrals?status=accepted&limit=1", nil, &pending), http.StatusOK)
	if len(pending.Referrals) != 0 {
		t.Errorf("accepted inbox %+v, want none yet", pending.Referrals)
	}
	var listed struct {
		Cases []caseBody `json:"cases"`
	}
	mustStatus(t, "cases by stage", officer.Do(t, "GET", "/api/v1/cases?stage="+c.Stage+"&limit=1", nil, &listed), http.StatusOK)
	if len(listed.Cases) != 1 || listed.Cases[0].ID != c.ID {
		t.Errorf("cases in stage %s: %+v", c.Stage, listed.Cases)
	}
	// An unknown completion outcome is a 422 even before the referral is
	// accepted (which the procedure would refuse with 409 not_accepted).
	if st := lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/complete", map[string]string{"outcome": "done"}, &p); !validationNames(st, p, "outcome") {
		t.Errorf("unknown completion outcome: %d %+v, want 422 naming outcome", st, p)
	}
	if st := lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/complete", map[string]string{"outcome": "service_provided"}, &p); st != http.StatusConflict || p.Rule != "not_accepted" {
		t.Errorf("completing a pending referral: %d %q, want 409 not_accepted", st, p.Rule)
	}

	// The Lebap shelter (same region) gets it; no other agency does.
	if got := inbox(t, lebapShelter); len(got) != 1 || got[0].ID != ref.ID || got[0].Status != "pending" {
		t.Fatalf("Lebap shelter inbox %+v", got)
	}
	for name, other := range map[string]*testenv.Client{"ashgabat shelter": ashgabatShelter, "legal aid": lawyer, "clinic": doctor} {
		if got := inbox(t, other); len(got) != 0 {
			t.Errorf("%s inbox has %d referrals, want none", name, len(got))
		}
		if st := other.Do(t, "GET", "/api/v1/referrals/"+ref.ID, nil, &p); st != http.StatusNotFound {
			t.Errorf("%s reading the referral: %d, want 404", name, st)
		}
	}
	if st := officer.Do(t, "GET", "/api/v1/referrals", nil, &p); st != http.StatusForbidden {
		t.Errorf("officer reading an inbox: %d, want 403", st)
	}

	// The minimum-necessary view: exactly these person fields.
	var view referralBody
	mustStatus(t, "read referral", lebapShelter.Do(t, "GET", "/api/v1/referrals/"+ref.ID, nil, &view), http.StatusOK)
	var person map[string]any
	testenv.Must(t, json.Unmarshal(view.Person, &person))
	var fields []string
	for k := range person {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	want := []string{"age_band", "given_name", "languages", "sex", "urgent_needs"}
	if len(fields) != len(want) {
		t.Fatalf("provider sees person fields %v, want exactly %v", fields, want)
	}
	for i := range want {
		if fields[i] != want[i] {
			t.Fatalf("provider sees person fields %v, want exactly %v", fields, want)
		}
	}
	if person["given_name"] != "Aýna" || view.Note == nil || *view.Note != "needs a bed tonight" || view.CaseNumber != c.Number {
		t.Errorf("view %+v person %v", view, person)
	}

	// Two accepts at once: exactly one wins.
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/accept", nil, nil)
		}(i)
	}
	wg.Wait()
	sort.Ints(codes)
	if codes[0] != http.StatusOK || codes[1] != http.StatusConflict {
		t.Errorf("concurrent accepts answered %v, want one 200 and one 409", codes)
	}
	var occupancy int
	lebapID := agencyID(t, lebapShelter)
	testenv.Must(t, sys.Store.DB().Get(&occupancy, `SELECT occupancy FROM agencies WHERE id = $1`, lebapID))
	if occupancy != 1 {
		t.Errorf("occupancy after acceptance = %d, want 1 bed held", occupancy)
	}
	mustStatus(t, "progress", lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/progress", map[string]string{"note": "settled in"}, nil), http.StatusOK)
	mustStatus(t, "complete", lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/complete", map[string]string{"outcome": "service_provided"}, nil), http.StatusOK)
	testenv.Must(t, sys.Store.DB().Get(&occupancy, `SELECT occupancy FROM agencies WHERE id = $1`, lebapID))
	if occupancy != 0 {
		t.Errorf("occupancy after completion = %d, want the bed freed", occupancy)
	}
	if st := lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/accept", nil, &p); st != http.StatusConflict {
		t.Errorf("accepting a completed referral: %d, want 409", st)
	}
}

func TestReferralRoutingAroundFullAndDecliningShelters(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	lebapShelter := anon.Login(t, "shelter@lebap-shelter.example")
	ashgabatShelter := anon.Login(t, "shelter@ashgabat-shelter.example")
	lebapID := agencyID(t, lebapShelter)

	// A full shelter is skipped: the Ashgabat shelter, which serves Lebap, gets it.
	_, err := sys.Store.DB().Exec(`UPDATE agencies SET occupancy = beds WHERE id = $1`, lebapID)
	testenv.Must(t, err)
	var c1 caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c1), http.StatusCreated)
	var r1 struct{ ID string }
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+c1.ID+"/referrals", map[string]any{"service": "shelter"}, &r1), http.StatusCreated)
	if got := inbox(t, ashgabatShelter); len(got) != 1 || got[0].ID != r1.ID {
		t.Fatalf("with Lebap full, Ashgabat inbox %+v", got)
	}
	if got := inbox(t, lebapShelter); len(got) != 0 {
		t.Errorf("a full shelter got a referral")
	}
	_, err = sys.Store.DB().Exec(`UPDATE agencies SET occupancy = 0 WHERE id = $1`, lebapID)
	testenv.Must(t, err)

	// A decline redirects to the next provider.
	var c2 caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c2), http.StatusCreated)
	var r2 struct{ ID string }
	mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+c2.ID+"/referrals", map[string]any{"service": "shelter"}, &r2), http.StatusCreated)
	var p problem
	if st := lebapShelter.Do(t, "POST", "/api/v1/referrals/"+r2.ID+"/decline", map[string]string{"reason": "bored"}, &p); !validationNames(st, p, "reason") {
		t.Errorf("unknown decline reason: %d %+v, want 422 naming reason", st, p)
	}
	mustStatus(t, "decline", lebapShelter.Do(t, "POST", "/api/v1/referrals/"+r2.ID+"/decline", map[string]string{"reason": "no_capacity"}, nil), http.StatusOK)
	testenv.Eventually(t, 10e9, "the redirect", func() bool {
		for _, r := range inbox(t, ashgabatShelter) {
			if r.ID == r2.ID {
				return true
			}
		}
		return false
	})
	if st := lebapShelter.Do(t, "GET", "/api/v1/referrals/"+r2.ID, nil, &p); st != http.StatusNotFound {
		t.Errorf("the declining shelter still reads the redirected referral: %d", st)
	}
	// The case owner withdraws it; the provider can no longer accept.
	var w struct{ Status string }
	mustStatus(t, "withdraw", officer.Do(t, "POST", "/api/v1/cases/"+c2.ID+"/referrals/"+r2.ID+"/withdraw", nil, &w), http.StatusOK)
	if w.Status != "withdrawn" {
		t.Errorf("withdraw answered %q", w.Status)
	}
	if st := ashgabatShelter.Do(t, "POST", "/api/v1/referrals/"+r2.ID+"/accept", nil, &p); st != http.StatusConflict {
		t.Errorf("accepting a withdrawn referral: %d, want 409", st)
	}
	var tl struct {
		Events []struct{ Type string } `json:"events"`
	}
	mustStatus(t, "timeline", officer.Do(t, "GET", "/api/v1/cases/"+c2.ID+"/timeline", nil, &tl), http.StatusOK)
	seen := map[string]bool{}
	for _, e := range tl.Events {
		seen[e.Type] = true
	}
	for _, e := range []string{"referral_sent", "referral_declined", "referral_redirected", "referral_withdrawn"} {
		if !seen[e] {
			t.Errorf("timeline lacks %s: %+v", e, tl.Events)
		}
	}
}

// validationNames reports whether an answer is a 422 validation problem
// whose only error names field.
func validationNames(status int, p problem, field string) bool {
	return status == http.StatusUnprocessableEntity && p.Type == "urn:nrm:problem:validation" && len(p.Errors) == 1 && p.Errors[0].Field == field
}
