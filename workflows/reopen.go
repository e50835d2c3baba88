package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// UpdateReopen reopens a closed case while it waits out its retention
// period: the competent authority or the owner's supervisor gives it
// (docs/process.md#reopening).
const UpdateReopen = "reopen"

// ReopenCommand is the argument of UpdateReopen.
type ReopenCommand struct {
	Command
	// Reason is one of sop.ReopenReasons; the case's SOP names the stage
	// the case starts from for it (sop.SOP.ReopenStage).
	Reason string
	// DecisionID names the positive preliminary decision a case reopened
	// into the recovery stage stands on (a decision overturned).
	DecisionID string
}

// ReopenRecord tells the read model that a closed case is open again.
type ReopenRecord struct {
	Reason string
	// Count is how many times the case was reopened, this time included;
	// ReTrafficked whether it ever was for re-trafficking.
	Count        int
	ReTrafficked bool
}

// NotificationReopened tells the case's agency and the competent authority
// that a closed case is open again.
const NotificationReopened = "case_reopened"

// closedStage: the reopening is the one command on a closed case.
var closedStage = []string{StageClosed}

func knownReopenReason(_ *caseRun, c caseCommand) error {
	if reason := c.(ReopenCommand).Reason; !slices.Contains(sop.ReopenReasons, reason) {
		return ruleError("bad_reason", "reopen reason must be one of %v", sop.ReopenReasons)
	}
	return nil
}

// identityKept: a case whose identity was removed when the adult declined
// consent holds nothing to take up again.
func identityKept(r *caseRun, _ caseCommand) error {
	if r.state.ClosureReason == ReasonConsentDeclined {
		return ruleError("identity_gone", "this case keeps no personal data; it cannot be reopened")
	}
	return nil
}

// retentionRunning: once retention has ended the identity is destroyed and
// the case stays closed.
func retentionRunning(r *caseRun, _ caseCommand) error {
	if r.retentionOver {
		return ruleError("retention_ended", "the retention period of this case has ended; it cannot be reopened")
	}
	return nil
}

// reopen takes a closed case up again as a new run of the procedure from
// the stage the case's SOP names for the reason: the case's record, notes
// and timeline stay, the earlier run's decisions, closure and withdrawn
// consent do not carry over (a withdrawn consent must be given again), and
// the obligations of that stage start anew. The workflow then stops waiting
// out retention and continues as new; the event names the run it came from.
func reopen(r *caseRun, ctx workflow.Context, c ReopenCommand) (transition, error) {
	// Set first: the retention timer may fire while this step records, and
	// the reopening wins (keepUntilRetentionEnds).
	r.reopening = true
	now := workflow.Now(ctx)
	stage := r.sop.ReopenStage(c.Reason)
	s := &r.state
	if s.ConsentWithdrawn {
		s.ConsentReferral, s.ConsentDataSharing = nil, nil
	}
	s.ConsentWithdrawn = false
	s.Closure, s.ClosureReason, s.Decisions, s.RecoveryEndsAt = nil, "", nil, nil
	s.Reopened++
	if c.Reason == sop.ReopenReTrafficked {
		s.ReTrafficked = true
	}
	t := transition{stage: stage, reopen: &ReopenRecord{Reason: c.Reason, Count: s.Reopened, ReTrafficked: s.ReTrafficked}}
	t.add("case_reopened", c.ActorID, withNote(map[string]string{"reason": c.Reason, "stage": stage,
		"run": fmt.Sprint(s.Reopened + 1), "previous_run_id": workflow.GetInfo(ctx).WorkflowExecution.RunID}, c.Command))
	switch stage {
	case StageRecovery:
		// The decision that closed the case no longer stands: the person
		// counts as identified on reasonable grounds, and what a positive
		// preliminary decision starts (the recovery period) starts.
		s.Decisions = []Decision{{ID: c.DecisionID, Kind: KindPreliminary, Outcome: OutcomePositive, DecidedBy: c.ActorID, At: now}}
		t.add("preliminary_positive", c.ActorID, map[string]string{"decision_id": c.DecisionID, "reopened": c.Reason})
	default:
		// A new identification: its deadlines start as when the case was opened.
		t.rewatch = r.startAgain("case_opened", now)
	}
	t.notify = append(t.notify,
		NotificationRecord{Kind: NotificationReopened, RecipientRole: RecipientAgency, RecipientAgencyID: s.AgencyID},
		NotificationRecord{Kind: NotificationReopened, RecipientRole: RoleCompetentAuthority})
	return t, nil
}

// startAgain starts the obligations event starts, for a case reopened into
// the stage that event leads to, but not those the case has already met
// for good: a guardian is appointed once, so the deadline to appoint one
// does not start again when one was.
func (r *caseRun) startAgain(event string, now time.Time) []string {
	var ids []string
	for _, def := range r.sop.ObligationsOn(event, r.state.Child) {
		if r.state.GuardianAppointed && def.IsMetBy("guardian_appointed") {
			continue
		}
		ids = append(ids, r.startOne(def, now))
	}
	return ids
}
