// Package workflows encodes the SOPs as Temporal workflows. Nothing here
// touches HTTP or SQL: side effects go through activities, and every input,
// update, query and search attribute carries IDs, codes and times only —
// never a person's identity or free text (notes live in PostgreSQL and are
// referred to by ID).
//
// The procedure is in one place: caseCommands (updates.go) lists every
// command on a case with the stages it may be given in, the roles that give
// it, its other rules by name (rules.go) and the step it takes;
// referralCommands (referral.go) does the same for a referral. What varies
// between countries and versions — deadlines, what the recovery period
// forbids, the bed service, decline reasons, completion outcomes, which
// agency answers for a role — is read from the case's SOP.
//
// Changing workflow code: histories of real runs are stored under
// testdata/histories and replayed by TestReplayHistories on every test run.
// A change that alters the commands an existing history produced must be
// guarded with workflow.GetVersion, e.g.
//
//	if workflow.GetVersion(ctx, "recovery-extension-cap", workflow.DefaultVersion, 1) == 1 { … new rule … }
//
// so that running cases replay the old behaviour and new ones take the new.
// Rules that only refuse a command add no command to a history and need no
// marker when the histories of running cases still pass them: a command
// recorded before Command.ActorRole existed skips the role check, and a
// case keeps the SOP version (and so the policy) it was opened under.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Names shared with clients and the worker registration.
const (
	CaseWorkflowName = "CaseWorkflow"
	// QueryState returns the CaseState.
	QueryState = "state"
)

// Stages of a case (docs/process.md#stages).
const (
	StageScreening      = "screening"
	StageIdentification = "identification"
	StageRecovery       = "recovery"
	StageAssistance     = "assistance"
	StageClosure        = "closure"
	StageFollowUp       = "follow_up"
	StageClosed         = "closed"
)

// Stages lists every stage of a case, in the order a case goes through them.
var Stages = []string{StageScreening, StageIdentification, StageRecovery, StageAssistance, StageClosure, StageFollowUp, StageClosed}

// Closure reasons the engine itself uses; every SOP lists them.
const (
	ReasonConsentWithdrawn = "consent_withdrawn"
	ReasonNotIdentified    = "not_identified"
	// ReasonConsentDeclined closes an adult's case kept only as an anonymous notification.
	ReasonConsentDeclined = "consent_declined"
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

// CaseInput starts a CaseWorkflow. IDs, codes and times only.
type CaseInput struct {
	CaseID             string
	AgencyID           string
	Region             string
	OpenedBy           string
	SOPID              string
	SOPVersion         string
	SOPHash            string
	OpenedAt           time.Time
	Child              bool
	ScreeningOutcome   string
	OfficerConcern     bool
	ConsentReferral    *bool
	ConsentDataSharing *bool
	// State is set only when the workflow continues as new.
	State *CaseState
}

// Decision is an identification decision and its second review.
type Decision struct {
	ID        string
	Kind      string // preliminary | conclusive
	Outcome   string // positive | negative
	DecidedBy string
	At        time.Time
	// Negative decisions take effect only once reviewed by another officer.
	ReviewedBy string
	Confirmed  *bool
	ReviewedAt *time.Time
}

// Closure is a request to close the case and its answer.
type Closure struct {
	Reason      string
	RequestedBy string
	At          time.Time
	// PriorStage is where the case returns when the request is rejected.
	PriorStage string
}

// CaseState is the live state of a case, carried across continue-as-new.
type CaseState struct {
	CaseID             string
	AgencyID           string
	Region             string
	OpenedBy           string
	SOPVersion         string
	Stage              string
	Child              bool
	Opened             bool
	ConsentReferral    *bool
	ConsentDataSharing *bool
	ConsentWithdrawn   bool
	GuardianAppointed  bool
	Decisions          []Decision
	RecoveryEndsAt     *time.Time
	Closure            *Closure
	ClosureReason      string
	Obligations        []ObligationState
	Referrals          []ReferralRef
	// Seq numbers the events this case has recorded; event IDs derive from it.
	Seq int
	// Reopened counts the times the closed case was reopened (reopen.go);
	// ReTrafficked is set once it was reopened because the person was
	// trafficked again, and stays set.
	Reopened     int
	ReTrafficked bool
}

// Cases holds what every CaseWorkflow needs: the SOP versions the worker
// knows. A case runs under the version (and content hash) it was opened with.
type Cases struct {
	SOPs *sop.Set
}

// caseRun is one run of a CaseWorkflow.
type caseRun struct {
	ctx     workflow.Context
	in      CaseInput
	sop     *sop.SOP
	state   CaseState
	mu      workflow.Mutex
	cancels map[string]workflow.CancelFunc
	// timerWork counts timer goroutines holding the lock (reminders, breaches).
	timerWork int
	// reopening is set by a reopen command (reopen.go): the closed case
	// stops waiting out retention and continues as a new run.
	reopening bool
	// retentionOver is set once retention has ended: the identity is being
	// destroyed and the case can no longer be reopened.
	retentionOver bool
}

// Run is the CaseWorkflow: it carries one case through the SOP it was opened under.
func (c *Cases) Run(ctx workflow.Context, in CaseInput) error {
	procedure, ok := c.SOPs.Get(in.SOPVersion)
	if !ok || (in.SOPHash != "" && procedure.Hash != in.SOPHash) {
		// Panicking fails the workflow task, which Temporal retries: the case
		// waits for a worker that holds the exact SOP it was opened under.
		panic(fmt.Sprintf("SOP %s version %s (hash %.12s) is not loaded on this worker", in.SOPID, in.SOPVersion, in.SOPHash))
	}
	r := &caseRun{ctx: ctx, in: in, sop: procedure, mu: workflow.NewMutex(ctx), cancels: map[string]workflow.CancelFunc{}}
	if in.State != nil {
		r.state = *in.State
	} else {
		r.state = CaseState{CaseID: in.CaseID, AgencyID: in.AgencyID, OpenedBy: in.OpenedBy, SOPVersion: in.SOPVersion,
			Child: in.Child, Stage: StageScreening, ConsentReferral: in.ConsentReferral, ConsentDataSharing: in.ConsentDataSharing}
	}
	if r.state.Region == "" {
		r.state.Region = in.Region
	}
	if err := r.registerHandlers(); err != nil {
		return err
	}
	r.listenToReferrals()
	if !r.state.Opened {
		if err := r.open(); err != nil {
			return err
		}
	}
	r.resumeTimers()
	return r.waitUntilClosed()
}

// InitialStage is where a newly screened case stands.
func InitialStage(in CaseInput) string {
	if !in.Child && in.ConsentReferral != nil && !*in.ConsentReferral {
		return StageClosed // an adult declined: anonymous notification only
	}
	if in.ScreeningOutcome == sop.OutcomePresumedVictim || in.OfficerConcern {
		return StageIdentification
	}
	return StageClosed
}

// open records the screening as the case's first events and starts the
// obligations that opening a case triggers.
func (r *caseRun) open() error {
	if err := r.mu.Lock(r.ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	by := r.in.OpenedBy
	var t transition
	t.add("case_opened", by, nil)
	t.add("screening_submitted", by, map[string]string{"outcome": r.in.ScreeningOutcome})
	declined := false
	if !r.in.Child && r.in.ConsentReferral != nil {
		if declined = !*r.in.ConsentReferral; declined {
			t.add("consent_declined", by, nil)
		} else {
			t.add("consent_given", by, nil)
		}
	}
	switch stage := InitialStage(r.in); {
	case declined: // an anonymous notification only
		t.close(by, ReasonConsentDeclined)
		t.removeIdentity = true
	case stage == StageClosed: // screened out and not forwarded
		t.close(by, ReasonNotIdentified)
	default:
		t.stage = stage
	}
	r.state.Opened = true
	return r.apply(r.ctx, t)
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
	// Let in-flight updates and timer work finish before ending or handing
	// the state on. A timer still waiting for the lock is dropped here and
	// restarted by the next run from the carried state.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && r.timerWork == 0 }); err != nil {
		return err
	}
	if r.state.Stage == StageClosed {
		return r.keepUntilRetentionEnds()
	}
	return r.continueAsNew()
}

// continueAsNew hands the state on to a new run of the workflow, once every
// update handler and timer goroutine has finished.
func (r *caseRun) continueAsNew() error {
	ctx := r.ctx
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && r.timerWork == 0 }); err != nil {
		return err
	}
	r.drainReferralSignals()
	next := r.in
	state := r.state
	next.State = &state
	return workflow.NewContinueAsNewError(ctx, CaseWorkflowName, next)
}

// transition is one step of the SOP: events that happened together, the
// stage they lead to, and what else the read model must do.
type transition struct {
	events         []pendingEvent
	stage          string
	closureReason  string
	removeIdentity bool
	// cancelOpen ends every open obligation the events did not meet.
	cancelOpen bool
	// rewatch lists obligations whose due time changed: re-recorded and re-timed.
	rewatch []string
	// notify asks a role for an action now (closure to approve, decision needed).
	notify []NotificationRecord
	// transfer moves the case to another agency (transfer.go); reopen
	// reopens a closed case (reopen.go).
	transfer *TransferRecord
	reopen   *ReopenRecord
}

type pendingEvent struct {
	kind  string
	actor string
	data  map[string]string
}

func (t *transition) add(kind, actor string, data map[string]string) {
	t.events = append(t.events, pendingEvent{kind: kind, actor: actor, data: data})
}

// close ends the case for reason: every way a case closes records
// case_closed last, and moves to the closed stage.
func (t *transition) close(actor, reason string) {
	t.add("case_closed", actor, map[string]string{"reason": reason})
	t.stage, t.closureReason = StageClosed, reason
}

// empty reports whether the transition records nothing (a referral records
// its own events).
func (t *transition) empty() bool {
	return len(t.events) == 0 && t.stage == "" && len(t.rewatch) == 0 && len(t.notify) == 0 && t.transfer == nil && t.reopen == nil
}

// apply performs a transition: it meets and starts obligations, moves the
// stage and writes everything to the read model in one activity. The caller
// holds r.mu.
func (r *caseRun) apply(ctx workflow.Context, t transition) error {
	now := workflow.Now(ctx)
	in := RecordInput{CaseID: r.state.CaseID, AgencyID: r.state.AgencyID, SOPVersion: r.state.SOPVersion, At: now,
		ClosureReason: t.closureReason, RemoveIdentity: t.removeIdentity, Transfer: t.transfer, Reopen: t.reopen}
	closing := t.stage == StageClosed
	for _, e := range t.events {
		in.Events = append(in.Events, r.event(e.kind, now, e.actor, e.data))
		for _, o := range r.meet(e.kind, now) {
			in.Obligations = append(in.Obligations, o.record())
			in.Events = append(in.Events, r.event("obligation_met", now, "", map[string]string{"obligation": o.Obligation}))
		}
	}
	if closing || t.cancelOpen {
		for _, o := range r.cancelAll(now) {
			in.Obligations = append(in.Obligations, o.record())
		}
	}
	if closing {
		r.state.ClosureReason = t.closureReason
		r.withdrawReferrals(ctx, t.closureReason)
	}
	started := append([]string(nil), t.rewatch...)
	if !closing {
		for _, e := range t.events {
			started = append(started, r.start(e.kind, now)...)
		}
	}
	for _, id := range started {
		o := r.obligation(id)
		in.Obligations = append(in.Obligations, o.record())
		if o.Obligation == r.recoveryObligation() {
			due := o.DueAt
			r.state.RecoveryEndsAt = &due
		}
	}
	if t.stage != "" {
		r.setStage(ctx, t.stage)
	}
	in.Stage = r.state.Stage
	for _, n := range t.notify {
		n.ID = fmt.Sprintf("%s/%d/%s/%s", CaseWorkflowID(r.state.CaseID), r.state.Seq, n.Kind, n.RecipientRole)
		in.Notifications = append(in.Notifications, n)
	}
	if err := r.record(ctx, in); err != nil {
		return err
	}
	for _, id := range started {
		r.watch(id)
	}
	return nil
}

func (r *caseRun) record(ctx workflow.Context, in RecordInput) error {
	addressAgencies(r.sop, in.Obligations, in.Notifications)
	var done workflow.Future
	if workflow.GetVersion(ctx, changeLocalRecord, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		done = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, readModelActivity), ActivityRecord, in)
	} else {
		done = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, readModelLocalActivity), ActivityRecord, in)
	}
	if err := done.Get(ctx, nil); err != nil {
		return fmt.Errorf("record %d events of case %s: %w", len(in.Events), r.state.CaseID, err)
	}
	return nil
}

// changeLocalRecord: a run started by this code writes the read model with a
// local activity. Opening a case, and every command, waits for that write:
// as an activity it cost a task dispatched through the server and two more
// events, and an opening two workflow tasks instead of one. Runs started
// before keep the activity (workflow.GetVersion answers DefaultVersion for
// their whole run, which their histories replay).
const changeLocalRecord = "record-local-activity"

func (r *caseRun) event(kind string, at time.Time, actor string, data map[string]string) EventRecord {
	r.state.Seq++
	return EventRecord{
		ID:      fmt.Sprintf("%s/%d", CaseWorkflowID(r.state.CaseID), r.state.Seq),
		Seq:     r.state.Seq,
		CaseID:  r.state.CaseID,
		Type:    kind,
		At:      at,
		ActorID: actor,
		Data:    data,
	}
}

// Register registers the workflows under their stable names; the worker and
// the replay tests use the same registration.
func Register(r worker.WorkflowRegistry, sops *sop.Set) {
	c := &Cases{SOPs: sops}
	r.RegisterWorkflowWithOptions(c.Run, workflow.RegisterOptions{Name: CaseWorkflowName})
	r.RegisterWorkflowWithOptions(c.Referral, workflow.RegisterOptions{Name: ReferralWorkflowName})
}

// keepUntilRetentionEnds waits out the SOP's retention period after closure
// and then destroys the identity (crypto-shredding); the anonymised record
// stays. Cases closed by earlier workflow code ended at closure: the version
// marker keeps their histories replaying as they ran.
func (r *caseRun) keepUntilRetentionEnds() error {
	if workflow.GetVersion(r.ctx, "retention-shred", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	if r.sop.IdentityRetention.IsZero() {
		return nil
	}
	until := r.sop.Calendar.Deadline(workflow.Now(r.ctx), r.sop.IdentityRetention)
	// The timer is the one workflow.Sleep started before cases could be
	// reopened (the same command, so waiting cases replay unchanged); a
	// reopening (reopen.go) ends the wait early and the case continues as
	// a new run, its identity kept.
	tctx, stop := workflow.WithCancel(r.ctx)
	timer := workflow.NewTimerWithOptions(tctx, until.Sub(workflow.Now(r.ctx)), workflow.TimerOptions{Summary: "Sleep"})
	if err := workflow.Await(r.ctx, func() bool { return timer.IsReady() || r.reopening }); err != nil {
		stop()
		return err
	}
	if r.reopening {
		stop()
		return r.continueAsNew()
	}
	if err := timer.Get(r.ctx, nil); err != nil {
		return err
	}
	r.retentionOver = true
	ctx := workflow.WithActivityOptions(r.ctx, readModelActivity)
	return workflow.ExecuteActivity(ctx, ActivityShredIdentity, r.state.CaseID).Get(ctx, nil)
}
