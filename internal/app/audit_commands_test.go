package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestEveryCommandIsAudited: opening a case, a decision, a referral and a
// provider's answer each leave one audit entry naming who (user, role,
// agency), the route, the case and the request ID; refused and invalid
// commands, which changed nothing, leave none.
func TestEveryCommandIsAudited(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	shelter := anon.Login(t, "shelter@lebap-shelter.example")

	type entry struct {
		UserID    string  `db:"user_id"`
		Role      string  `db:"role"`
		AgencyID  string  `db:"agency_id"`
		Action    string  `db:"action"`
		CaseID    *string `db:"case_id"`
		RequestID string  `db:"request_id"`
		Client    *string `db:"client_request_id"`
	}
	commands := func() []entry {
		var out []entry
		testenv.Must(t, sys.Store.DB().Select(&out, `SELECT user_id, role, agency_id, action, case_id, request_id, client_request_id
			FROM audit_log WHERE action LIKE 'command %' ORDER BY id`))
		return out
	}
	var me struct {
		ID       string `json:"id"`
		AgencyID string `json:"agency_id"`
	}
	mustStatus(t, "me", officer.Do(t, "GET", "/api/v1/me", nil, &me), http.StatusOK)

	resp := officer.Raw(t, "POST", "/api/v1/cases", testenv.Screening(), http.Header{"X-Request-Id": {"audit-open-0001"}})
	var c caseBody
	decodeJSON(t, resp, &c)
	mustStatus(t, "open", resp.StatusCode, http.StatusCreated)
	got := commands()
	if len(got) != 1 {
		t.Fatalf("after opening: %d command entries, want 1: %+v", len(got), got)
	}
	if e := got[0]; e.Action != "command POST /api/v1/cases" || e.CaseID == nil || *e.CaseID != c.ID ||
		e.RequestID != resp.Header.Get("X-Request-Id") || e.Client == nil || *e.Client != "audit-open-0001" || e.Role != "frontline" || e.UserID == "" || e.AgencyID != c.AgencyID {
		t.Errorf("open entry %+v, want case %s, request audit-open-0001, the officer and agency %s", e, c.ID, c.AgencyID)
	}

	// Refused (409, 403) and invalid (422) commands: no entries.
	base := "/api/v1/cases/" + c.ID
	var p problem
	if st := officer.Do(t, "POST", base+"/decisions", map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "x"}, &p); st != http.StatusForbidden {
		t.Errorf("officer deciding: %d", st)
	}
	if st := decider.Do(t, "POST", base+"/decisions", map[string]string{"kind": "sometime", "outcome": "positive", "reason": "x"}, &p); st != http.StatusUnprocessableEntity {
		t.Errorf("invalid decision: %d", st)
	}
	if st := officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "legal_aid"}, &p); st != http.StatusConflict {
		t.Errorf("legal aid before identification: %d", st)
	}
	if n := len(commands()); n != 1 {
		t.Errorf("%d command entries after refused commands, want still 1", n)
	}

	var ref struct {
		ID string `json:"id"`
	}
	mustStatus(t, "refer", officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "shelter"}, &ref), http.StatusCreated)
	mustStatus(t, "decide", decider.Do(t, "POST", base+"/decisions", map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "indicators"}, nil), http.StatusCreated)
	mustStatus(t, "accept", shelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/accept", nil, nil), http.StatusOK)

	got = commands()
	want := []struct{ action, role string }{
		{"command POST /api/v1/cases", "frontline"},
		{"command POST /api/v1/cases/:id/referrals", "frontline"},
		{"command POST /api/v1/cases/:id/decisions", "competent_authority"},
		{"command POST /api/v1/referrals/:id/accept", "provider"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d command entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Action != w.action || e.Role != w.role || e.CaseID == nil || *e.CaseID != c.ID || e.RequestID == "" {
			t.Errorf("entry %d = %+v, want %s by %s on case %s", i, e, w.action, w.role, c.ID)
		}
	}
	if _, err := sys.Store.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain after the commands: %v", err)
	}
}
