package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

type obligationBody struct {
	Obligation    string     `json:"obligation"`
	Status        string     `json:"status"`
	DueAt         time.Time  `json:"due_at"`
	MetAt         *time.Time `json:"met_at"`
	BreachedAt    *time.Time `json:"breached_at"`
	OwnerAgencyID *string    `json:"owner_agency_id"`
}

type fullCase struct {
	caseBody
	Obligations []obligationBody `json:"obligations"`
}

func (c fullCase) obligation(name string) *obligationBody {
	for i := range c.Obligations {
		if c.Obligations[i].Obligation == name {
			return &c.Obligations[i]
		}
	}
	return nil
}

func TestCaseCommandsOverHTTP(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")

	var opened fullCase
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened); st != http.StatusCreated {
		t.Fatalf("open: %d", st)
	}
	if opened.Stage != workflows.StageIdentification {
		t.Errorf("201 stage %s, want identification (recorded by the workflow)", opened.Stage)
	}
	prelim := opened.obligation("preliminary_decision")
	if prelim == nil || prelim.Status != "pending" || prelim.OwnerAgencyID == nil {
		t.Fatalf("201 obligations %+v, want a pending preliminary decision owned by the competent authority", opened.Obligations)
	}
	base := "/api/v1/cases/" + opened.ID

	var p problem
	reason := "CANARY-REASON-" + uuid.NewString()
	if st := officer.Do(t, "POST", base+"/decisions", map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "x"}, &p); st != http.StatusForbidden {
		t.Errorf("officer deciding: %d, want 403", st)
	}
	var decision struct {
		ID    string `json:"id"`
		Stage string `json:"stage"`
	}
	if st := decider.Do(t, "POST", base+"/decisions", map[string]string{"kind": "preliminary", "outcome": "positive", "reason": reason}, &decision); st != http.StatusCreated {
		t.Fatalf("decide: %d", st)
	}
	if decision.Stage != workflows.StageRecovery || decision.ID == "" {
		t.Errorf("decision %+v, want recovery", decision)
	}
	// The SOP forbids a second preliminary decision: 409 naming the rule, and no note left behind.
	if st := decider.Do(t, "POST", base+"/decisions", map[string]string{"kind": "preliminary", "outcome": "negative", "reason": "second"}, &p); st != http.StatusConflict || p.Rule != "stage" {
		t.Errorf("second preliminary decision: %d rule %q, want 409 stage", st, p.Rule)
	}
	var notes int
	testenv.Must(t, sys.Store.DB().Get(&notes, `SELECT count(*) FROM case_notes WHERE case_id = $1`, opened.ID))
	if notes != 1 {
		t.Errorf("%d notes, want only the accepted decision's", notes)
	}
	if st := decider.Do(t, "POST", base+"/decisions/"+decision.ID+"/review", map[string]any{"confirm": true, "reason": "r"}, &p); st != http.StatusConflict || p.Rule != "not_negative" {
		t.Errorf("reviewing a positive decision: %d %q", st, p.Rule)
	}
	// Another agency's officer cannot even see the case.
	if st := dashoguz.Do(t, "POST", base+"/closure", map[string]string{"reason": "lost_contact"}, &p); st != http.StatusNotFound {
		t.Errorf("foreign closure request: %d, want 404", st)
	}
	var c fullCase
	// A reason the case's SOP does not list is a bad request (422 naming
	// the field), not a refusal of the procedure (409), and leaves no note.
	if st := officer.Do(t, "POST", base+"/closure", map[string]string{"reason": "no_such_reason", "note": "x"}, &p); st != http.StatusUnprocessableEntity ||
		p.Type != "urn:nrm:problem:validation" || len(p.Errors) != 1 || p.Errors[0].Field != "reason" || p.Errors[0].Rule != "oneof" {
		t.Errorf("unknown closure reason: %d %+v, want 422 naming reason", st, p)
	}
	testenv.Must(t, sys.Store.DB().Get(&notes, `SELECT count(*) FROM case_notes WHERE case_id = $1 AND kind = 'closure_request'`, opened.ID))
	if notes != 0 {
		t.Errorf("the refused closure request left %d notes", notes)
	}
	if st := officer.Do(t, "POST", base+"/closure", map[string]string{"reason": "lost_contact", "note": "moved away"}, &c); st != http.StatusOK || c.Stage != workflows.StageClosure {
		t.Fatalf("closure request: %d stage %s", st, c.Stage)
	}
	if st := officer.Do(t, "POST", base+"/closure/approve", nil, &p); st != http.StatusForbidden {
		t.Errorf("officer approving: %d, want 403", st)
	}
	if st := supervisor.Do(t, "POST", base+"/closure/approve", map[string]string{"note": "agreed"}, &c); st != http.StatusOK || c.Stage != workflows.StageFollowUp {
		t.Fatalf("approve: %d stage %s", st, c.Stage)
	}
	if o := c.obligation("follow_up"); o == nil || o.Status != "pending" {
		t.Errorf("follow-up obligation %+v", o)
	}
	if o := c.obligation("recovery_period"); o == nil || o.Status != "cancelled" {
		t.Errorf("recovery period after approval %+v, want cancelled", o)
	}
	if st := officer.Do(t, "POST", base+"/follow-up", nil, &c); st != http.StatusOK || c.Stage != workflows.StageClosed {
		t.Fatalf("follow-up: %d stage %s", st, c.Stage)
	}
	var tl struct {
		Events []struct {
			Type string            `json:"type"`
			Data map[string]string `json:"data"`
		} `json:"events"`
	}
	if st := officer.Do(t, "GET", base+"/timeline", nil, &tl); st != http.StatusOK || tl.Events[len(tl.Events)-1].Type != "case_closed" {
		t.Fatalf("timeline: %d %+v", st, tl.Events)
	}
	// Free text stays in PostgreSQL: the workflow's history holds only the note's ID.
	ctx := context.Background()
	iter := sys.Temporal.GetWorkflowHistory(ctx, workflows.CaseWorkflowID(opened.ID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		testenv.Must(t, err)
		if strings.Contains(ev.String(), "CANARY-REASON") || strings.Contains(ev.String(), "moved away") || strings.Contains(ev.String(), "Aýna") {
			t.Fatalf("free text or identity reached Temporal history in event %d (%s)", ev.EventId, ev.EventType)
		}
	}
	var sealed []byte
	testenv.Must(t, sys.Store.DB().Get(&sealed, `SELECT body FROM case_notes WHERE case_id = $1 AND kind = 'decision'`, opened.ID))
	if strings.Contains(string(sealed), "CANARY-REASON") {
		t.Errorf("the decision reason is stored in clear")
	}
	if stored, err := sys.Vault.OpenNote(ctx, uuid.MustParse(opened.ID), sealed); err != nil || stored != reason {
		t.Errorf("decision reason not kept in PostgreSQL: %q, %v", stored, err)
	}
}

func TestDeclinedConsentKeepsNoIdentity(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	body := testenv.Screening()
	body["consent"] = map[string]bool{"referral": false, "data_sharing": false}
	var c fullCase
	if st := officer.Do(t, "POST", "/api/v1/cases", body, &c); st != http.StatusCreated || c.Stage != workflows.StageClosed {
		t.Fatalf("open: %d stage %s, want closed", st, c.Stage)
	}
	var persons int
	testenv.Must(t, sys.Store.DB().Get(&persons, `SELECT count(*) FROM persons WHERE case_id = $1`, c.ID))
	if persons != 0 {
		t.Errorf("an adult who declined consent left an identity row")
	}
	var got fullCase
	if st := officer.Do(t, "GET", "/api/v1/cases/"+c.ID, nil, &got); st != http.StatusOK || got.Person != nil || got.Screening == nil {
		t.Errorf("anonymous notification: %d person %+v screening %+v", st, got.Person, got.Screening)
	}
}

// TestMissedDeadlineEscalates runs the SOP whose deadlines are seconds: the
// preliminary decision is not taken, so the obligation is breached and the
// escalation waits in the outbox.
func TestMissedDeadlineEscalates(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP()
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var c fullCase
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c); st != http.StatusCreated {
		t.Fatalf("open: %d", st)
	}
	testenv.Eventually(t, 30*time.Second, "the preliminary decision to be breached", func() bool {
		officer.Do(t, "GET", "/api/v1/cases/"+c.ID, nil, &c)
		o := c.obligation("preliminary_decision")
		return o != nil && o.Status == "breached"
	})
	o := c.obligation("preliminary_decision")
	if o.BreachedAt == nil || o.BreachedAt.Before(o.DueAt) {
		t.Errorf("breached at %v, due %v", o.BreachedAt, o.DueAt)
	}
	var rows []struct {
		Kind   string `db:"kind"`
		Role   string `db:"recipient_role"`
		Agency string `db:"agency"`
	}
	testenv.Must(t, sys.Store.DB().Select(&rows, `SELECT n.kind, n.recipient_role, coalesce(a.name, '') AS agency
		FROM notifications n LEFT JOIN agencies a ON a.id = n.recipient_agency_id
		WHERE n.case_id = $1 AND n.obligation = 'preliminary_decision' ORDER BY n.kind, n.recipient_role`, c.ID))
	got := map[string]string{}
	for _, r := range rows {
		got[r.Kind+"/"+r.Role] = r.Agency
	}
	want := map[string]string{
		"reminder/competent_authority": "National identification unit",
		"breach/competent_authority":   "National identification unit",
		"escalation/supervisor":        "Lebap regional police",
		"escalation/twg":               "TWG secretariat",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("outbox %s → %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// TestContinueAsNewKeepsState makes Temporal suggest continue-as-new after a
// few events: the case moves to a new run and keeps its state and timers.
func TestContinueAsNewKeepsState(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP()
	sys := testenv.StartWith(t, cfg, map[string]any{"limit.historyCount.suggestContinueAsNew": 10})
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	var c fullCase
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c); st != http.StatusCreated {
		t.Fatalf("open: %d", st)
	}
	if st := decider.Do(t, "POST", "/api/v1/cases/"+c.ID+"/decisions", map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "r"}, nil); st != http.StatusCreated {
		t.Fatalf("decide: %d", st)
	}
	ctx := context.Background()
	wid := workflows.CaseWorkflowID(c.ID)
	first, err := sys.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	testenv.Must(t, err)
	firstRun := first.WorkflowExecutionInfo.Execution.RunId
	// The recovery period (10s in this SOP) ends in a later run: its timer was carried over.
	testenv.Eventually(t, 40*time.Second, "the recovery period to end after continue-as-new", func() bool {
		officer.Do(t, "GET", "/api/v1/cases/"+c.ID, nil, &c)
		return c.Stage == workflows.StageAssistance
	})
	testenv.Eventually(t, 20*time.Second, "a new run", func() bool {
		desc, err := sys.Temporal.DescribeWorkflowExecution(ctx, wid, "")
		return err == nil && desc.WorkflowExecutionInfo.Execution.RunId != firstRun
	})
	old, err := sys.Temporal.DescribeWorkflowExecution(ctx, wid, firstRun)
	testenv.Must(t, err)
	if s := old.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		t.Errorf("first run status %v, want continued-as-new", s)
	}
	saveHistory(t, sys, wid, firstRun, "continued_as_new")
	resp, err := sys.Temporal.QueryWorkflow(ctx, wid, "", workflows.QueryState)
	testenv.Must(t, err)
	var state workflows.CaseState
	testenv.Must(t, resp.Get(&state))
	if len(state.Decisions) != 1 || state.Decisions[0].Outcome != "positive" || state.Seq < 6 {
		t.Errorf("state after continue-as-new: %+v", state)
	}
	// Event IDs continued without a gap or a duplicate.
	var ids []string
	testenv.Must(t, sys.Store.DB().Select(&ids, `SELECT id FROM case_events WHERE case_id = $1`, c.ID))
	if len(ids) != state.Seq {
		t.Errorf("%d events in the read model, workflow sequence at %d", len(ids), state.Seq)
	}
}
