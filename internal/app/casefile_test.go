package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// Notes written to the case file are read back by those who may see the
// case, each read audited; a retried note is written once; the text never
// reaches a provider or another agency; the case's referrals name the
// agency that has each.
func TestCaseFileNotesAndReferrals(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	decider := testenv.NewClient(sys).Login(t, "decider@authority.example")
	dashoguz := testenv.NewClient(sys).Login(t, "officer@dashoguz-police.example")
	shelter := testenv.NewClient(sys).Login(t, "shelter@lebap-shelter.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	base := "/api/v1/cases/" + opened.ID

	key := http.Header{"Idempotency-Key": {"note-" + uuid.NewString()}, "Content-Type": {"application/json"}}
	for range 2 {
		resp := officer.Raw(t, "POST", base+"/notes", map[string]any{"note": "Speaks Uzbek; asked for a female officer."}, key)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("note: status %d", resp.StatusCode)
		}
	}
	mustStatus(t, "second note", officer.Do(t, "POST", base+"/notes", map[string]any{"note": "Called back at 14:00."}, nil), http.StatusCreated)
	mustStatus(t, "note too long", officer.Do(t, "POST", base+"/notes", map[string]any{"note": strings.Repeat("x", 4001)}, nil), http.StatusUnprocessableEntity)

	var got struct {
		Notes []struct {
			Kind string  `json:"kind"`
			Body *string `json:"body"`
		} `json:"notes"`
	}
	mustStatus(t, "read notes", decider.Do(t, "GET", base+"/notes", nil, &got), http.StatusOK)
	var free []string
	for _, n := range got.Notes {
		if n.Kind == "note" && n.Body != nil {
			free = append(free, *n.Body)
		}
	}
	if len(free) != 2 || free[0] != "Speaks Uzbek; asked for a female officer." || free[1] != "Called back at 14:00." {
		t.Errorf("notes read back %q, want the two notes once each, oldest first", free)
	}
	var audited int
	testenv.Must(t, sys.Store.DB().Get(&audited, `SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'case.notes.read'`, opened.ID))
	if audited != 1 {
		t.Errorf("%d audited note reads, want 1", audited)
	}
	mustStatus(t, "another agency", dashoguz.Do(t, "GET", base+"/notes", nil, nil), http.StatusNotFound)
	mustStatus(t, "another agency writes", dashoguz.Do(t, "POST", base+"/notes", map[string]any{"note": "x"}, nil), http.StatusNotFound)
	// A provider reads the notes of its own referral only: of this case, none yet.
	mustStatus(t, "provider", shelter.Do(t, "GET", base+"/notes", nil, nil), http.StatusNotFound)

	mustStatus(t, "refer", officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "shelter"}, nil), http.StatusCreated)
	var refs struct {
		Referrals []struct {
			Service    string  `json:"service"`
			Status     string  `json:"status"`
			AgencyName *string `json:"agency_name"`
		} `json:"referrals"`
	}
	testenv.Eventually(t, 20*time.Second, "the referral is routed to a shelter", func() bool {
		mustStatus(t, "referrals", officer.Do(t, "GET", base+"/referrals", nil, &refs), http.StatusOK)
		return len(refs.Referrals) == 1 && refs.Referrals[0].AgencyName != nil
	})
	if r := refs.Referrals[0]; r.Service != "shelter" || r.Status != "pending" || !strings.Contains(*r.AgencyName, "helter") {
		t.Errorf("case referral %+v, want a pending shelter referral with the shelter's name", r)
	}
}
