// Package workflows encodes the SOPs as Temporal workflows. Nothing here
// touches HTTP or SQL: side effects go through activities, and every input,
// update, query and search attribute carries IDs, codes and times only —
// never a person's identity.
//
// Changing workflow code: histories of real runs are replayed by the tests
// in this package (testdata/histories). A change that would alter the
// commands of an existing history must be guarded with workflow.GetVersion,
// e.g. `if workflow.GetVersion(ctx, "recovery-extension", workflow.DefaultVersion, 1) == 1 { … }`,
// so that running cases keep the old behaviour and new ones take the new.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names shared with clients and the worker registration.
const (
	CaseWorkflowName = "CaseWorkflow"
	// QueryState returns the CaseState.
	QueryState = "state"
)

// Stages of a case (DESIGN.md §2).
const (
	StageScreening      = "screening"
	StageIdentification = "identification"
	StageRecovery       = "recovery"
	StageAssistance     = "assistance"
	StageClosure        = "closure"
	StageFollowUp       = "follow_up"
	StageClosed         = "closed"
)

// Search attributes: codes only. The dev server and the deployment register them.
var (
	AttrStage      = temporal.NewSearchAttributeKeyKeyword("NrmStage")
	AttrSOPVersion = temporal.NewSearchAttributeKeyKeyword("NrmSopVersion")
	AttrAgencyID   = temporal.NewSearchAttributeKeyKeyword("NrmAgencyID")
	AttrChild      = temporal.NewSearchAttributeKeyBool("NrmChild")
)

// CaseWorkflowID is the workflow ID of a case: derived from the case UUID so
// that a retried open request finds the same workflow.
func CaseWorkflowID(caseID string) string { return "case-" + caseID }

// CaseInput starts a CaseWorkflow. IDs and codes only.
type CaseInput struct {
	CaseID             string
	AgencyID           string
	OpenedBy           string
	SOPID              string
	SOPVersion         string
	OpenedAt           time.Time
	Child              bool
	ScreeningOutcome   string
	OfficerConcern     bool
	ConsentReferral    *bool
	ConsentDataSharing *bool
	// State is set only when the workflow continues as new.
	State *CaseState
}

// CaseState is the live state of a case, carried across continue-as-new.
type CaseState struct {
	CaseID     string
	AgencyID   string
	SOPVersion string
	Stage      string
	Child      bool
	// Seq numbers the events this case has recorded; event IDs derive from it.
	Seq int
}

// InitialStage is where a newly screened case stands. The API uses the same
// function so its answer matches what the workflow records.
func InitialStage(in CaseInput) string {
	if !in.Child && in.ConsentReferral != nil && !*in.ConsentReferral {
		return StageClosed // an adult declined: anonymous notification only
	}
	if in.ScreeningOutcome == "presumed_victim" || in.OfficerConcern {
		return StageIdentification
	}
	return StageClosed
}

// caseRun holds one run of a CaseWorkflow.
type caseRun struct {
	ctx   workflow.Context
	in    CaseInput
	state CaseState
}

// CaseWorkflow carries one case through the SOP it was opened under.
func CaseWorkflow(ctx workflow.Context, in CaseInput) error {
	r := &caseRun{ctx: ctx, in: in}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CaseState, error) { return r.state, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	if in.State != nil {
		r.state = *in.State
	} else if err := r.open(); err != nil {
		return err
	}
	return r.waitUntilClosed()
}

// open records the screening as the case's first events.
func (r *caseRun) open() error {
	r.state = CaseState{CaseID: r.in.CaseID, AgencyID: r.in.AgencyID, SOPVersion: r.in.SOPVersion, Child: r.in.Child}
	events := []EventRecord{
		r.event("case_opened", r.in.OpenedAt, r.in.OpenedBy, nil),
		r.event("screening_submitted", r.in.OpenedAt, r.in.OpenedBy, map[string]string{"outcome": r.in.ScreeningOutcome}),
	}
	if !r.in.Child && r.in.ConsentReferral != nil {
		kind := "consent_given"
		if !*r.in.ConsentReferral {
			kind = "consent_declined"
		}
		events = append(events, r.event(kind, r.in.OpenedAt, r.in.OpenedBy, nil))
	}
	return r.record(events, InitialStage(r.in), r.in.OpenedAt)
}

// waitUntilClosed keeps the case alive until it closes, continuing as new
// when the history grows long.
func (r *caseRun) waitUntilClosed() error {
	ctx := r.ctx
	err := workflow.Await(ctx, func() bool {
		return r.state.Stage == StageClosed || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	})
	if err != nil {
		return err
	}
	if r.state.Stage == StageClosed {
		return nil
	}
	// Let in-flight updates finish before handing the state to the next run.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	next := r.in
	state := r.state
	next.State = &state
	return workflow.NewContinueAsNewError(ctx, CaseWorkflowName, next)
}

func (r *caseRun) event(kind string, at time.Time, actor string, data map[string]string) EventRecord {
	r.state.Seq++
	return EventRecord{
		ID:      fmt.Sprintf("%s/%d", CaseWorkflowID(r.state.CaseID), r.state.Seq),
		CaseID:  r.state.CaseID,
		Type:    kind,
		At:      at,
		ActorID: actor,
		Data:    data,
	}
}

// record writes events and the stage to the read model, then updates the
// workflow's stage and search attributes.
func (r *caseRun) record(events []EventRecord, stage string, at time.Time) error {
	ctx := workflow.WithActivityOptions(r.ctx, readModelActivity)
	in := RecordInput{CaseID: r.state.CaseID, Events: events, Stage: stage, At: at}
	if err := workflow.ExecuteActivity(ctx, ActivityRecord, in).Get(ctx, nil); err != nil {
		return fmt.Errorf("record %d events of case %s: %w", len(events), r.state.CaseID, err)
	}
	if stage != r.state.Stage {
		r.state.Stage = stage
		if err := workflow.UpsertTypedSearchAttributes(r.ctx, AttrStage.ValueSet(stage)); err != nil {
			return fmt.Errorf("search attributes: %w", err)
		}
	}
	return nil
}
