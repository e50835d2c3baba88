package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// recorder stands in for the read model: the workflow tests check what the
// workflow asks to record; the activities' own SQL is tested against PostgreSQL.
type recorder struct {
	mu     sync.Mutex
	events []EventRecord
	stages []string
}

func (r *recorder) record(_ context.Context, in RecordInput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, in.Events...)
	r.stages = append(r.stages, in.Stage)
	return nil
}

func (r *recorder) types() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *recorder) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	rec := &recorder{}
	env.RegisterWorkflowWithOptions(CaseWorkflow, workflow.RegisterOptions{Name: CaseWorkflowName})
	env.RegisterActivityWithOptions(rec.record, activity.RegisterOptions{Name: ActivityRecord})
	return env, rec
}

func adultInput(consent bool) CaseInput {
	return CaseInput{
		CaseID: "11111111-2222-3333-4444-555555555555", AgencyID: "a", OpenedBy: "u", SOPID: "tm-nrm",
		SOPVersion: "2026.1", OpenedAt: time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC),
		ScreeningOutcome: "presumed_victim", ConsentReferral: &consent, ConsentDataSharing: &consent,
	}
}

func queryState(t *testing.T, env *testsuite.TestWorkflowEnvironment) CaseState {
	t.Helper()
	v, err := env.QueryWorkflow(QueryState)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var s CaseState
	if err := v.Get(&s); err != nil {
		t.Fatalf("query result: %v", err)
	}
	return s
}

func TestAdultWithConsentWaitsForIdentification(t *testing.T) {
	env, rec := newEnv(t)
	var state CaseState
	env.RegisterDelayedCallback(func() {
		state = queryState(t, env)
		env.CancelWorkflow()
	}, time.Hour)
	env.ExecuteWorkflow(CaseWorkflowName, adultInput(true))
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete after cancellation")
	}
	if state.Stage != StageIdentification || state.Seq != 3 {
		t.Errorf("state = %+v, want identification after 3 events", state)
	}
	want := []string{"case_opened", "screening_submitted", "consent_given"}
	if got := rec.types(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("events = %v, want %v", got, want)
	}
	if rec.events[0].ID != "case-11111111-2222-3333-4444-555555555555/1" || rec.events[2].ID != "case-11111111-2222-3333-4444-555555555555/3" {
		t.Errorf("event IDs must derive from the workflow ID and a sequence: %s, %s", rec.events[0].ID, rec.events[2].ID)
	}
}

func TestAdultDeclinesConsentClosesCase(t *testing.T) {
	env, rec := newEnv(t)
	env.ExecuteWorkflow(CaseWorkflowName, adultInput(false))
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v, want a clean end", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if got := rec.types(); len(got) != 3 || got[2] != "consent_declined" {
		t.Errorf("events = %v, want consent_declined last", got)
	}
	if rec.stages[len(rec.stages)-1] != StageClosed {
		t.Errorf("stage = %v, want closed", rec.stages)
	}
}

func TestChildNeedsNoConsent(t *testing.T) {
	env, rec := newEnv(t)
	in := adultInput(true)
	in.Child, in.ConsentReferral, in.ConsentDataSharing = true, nil, nil
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(CaseWorkflowName, in)
	if got := rec.types(); len(got) != 2 {
		t.Errorf("child events = %v, want case_opened and screening_submitted only", got)
	}
	if rec.stages[0] != StageIdentification {
		t.Errorf("child stage = %v, want identification", rec.stages)
	}
}

func TestContinueAsNewCarriesState(t *testing.T) {
	env, rec := newEnv(t)
	in := adultInput(true)
	in.State = &CaseState{CaseID: in.CaseID, AgencyID: "a", SOPVersion: "2026.1", Stage: StageIdentification, Seq: 7}
	var state CaseState
	env.RegisterDelayedCallback(func() {
		state = queryState(t, env)
		env.CancelWorkflow()
	}, time.Minute)
	env.ExecuteWorkflow(CaseWorkflowName, in)
	if state.Seq != 7 || state.Stage != StageIdentification {
		t.Errorf("state after continue-as-new = %+v, want the carried one", state)
	}
	if len(rec.events) != 0 {
		t.Errorf("a continued run must not record the opening again: %v", rec.types())
	}
}

func TestInitialStage(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		name string
		in   CaseInput
		want string
	}{
		{"presumed adult with consent", CaseInput{ScreeningOutcome: "presumed_victim", ConsentReferral: &yes}, StageIdentification},
		{"adult declines", CaseInput{ScreeningOutcome: "presumed_victim", ConsentReferral: &no}, StageClosed},
		{"child needs no consent", CaseInput{ScreeningOutcome: "presumed_victim", Child: true}, StageIdentification},
		{"officer concern forwards", CaseInput{ScreeningOutcome: "not_indicated", OfficerConcern: true, ConsentReferral: &yes}, StageIdentification},
		{"not indicated closes", CaseInput{ScreeningOutcome: "not_indicated", ConsentReferral: &yes}, StageClosed},
	}
	for _, c := range cases {
		if got := InitialStage(c.in); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
