package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Roles of the people who give commands: the values of auth.Role, which
// internal/cases passes on as Command.ActorRole.
const (
	RoleFrontline          = "frontline"
	RoleSupervisor         = "supervisor"
	RoleCompetentAuthority = "competent_authority"
	RoleProvider           = "provider"
)

// Command is what every update carries: who acts — the signed-in user, their
// role and their agency — and the ID of the note (free text kept in
// PostgreSQL) that goes with it, if any. Commands recorded before ActorRole
// existed carry no role: the API had checked the role then, and the
// workflow does not check it again (see byRole).
type Command struct {
	ActorID       string
	ActorRole     string
	ActorAgencyID string
	NoteID        string
}

func (c Command) command() Command { return c }

// UpdateOpen takes no argument: it answers the case once its opening is
// recorded (update-with-start).
const UpdateOpen = "open"

// The commands on a case. Each update's validator refuses, without touching
// history, a command its row of caseCommands does not allow now; the handler
// checks the row again under the case's lock before it takes the step.

// UpdateConsent records an adult's informed consent again.
const UpdateConsent = "consent"

// ConsentCommand is the argument of UpdateConsent.
type ConsentCommand struct {
	Command
	Referral    bool
	DataSharing bool
}

// Updates that take a bare Command.
const (
	UpdateWithdrawConsent = "withdraw_consent"
	UpdateGuardian        = "appoint_guardian"
	UpdateApproveClosure  = "approve_closure"
	UpdateRejectClosure   = "reject_closure"
	UpdateFollowUp        = "follow_up"
)

// UpdateDecide records an identification decision.
const UpdateDecide = "decide"

// DecideCommand is the argument of UpdateDecide.
type DecideCommand struct {
	Command
	DecisionID string
	Kind       string // preliminary | conclusive
	Outcome    string // positive | negative
}

// event is the event the decision records: preliminary_positive, …
func (c DecideCommand) event() string { return c.Kind + "_" + c.Outcome }

// Decision kinds and outcomes.
const (
	KindPreliminary = "preliminary"
	KindConclusive  = "conclusive"
	OutcomePositive = "positive"
	OutcomeNegative = "negative"
)

// UpdateReview is the second review of a negative decision.
const UpdateReview = "review"

// ReviewCommand is the argument of UpdateReview.
type ReviewCommand struct {
	Command
	DecisionID string
	Confirm    bool
}

// UpdateExtendRecovery lengthens the recovery and reflection period.
const UpdateExtendRecovery = "extend_recovery"

// ExtendRecoveryCommand is the argument of UpdateExtendRecovery: calendar
// days, at most the SOP's max_extension.
type ExtendRecoveryCommand struct {
	Command
	Days int
}

// UpdateRequestClosure asks a supervisor to close the case.
const UpdateRequestClosure = "request_closure"

// ClosureCommand is the argument of UpdateRequestClosure: a closure reason
// of the SOP's list.
type ClosureCommand struct {
	Command
	Reason string
}

func (c ClosureCommand) event() string { return "closure_requested" }

// UpdateRefer refers the case to a service.
const UpdateRefer = "refer"

// ReferCommand is the argument of UpdateRefer; the provider is routed
// unless named.
type ReferCommand struct {
	Command
	ReferralID        string
	Service           string
	RequestedAgencyID string
}

// caseCommands is the procedure a case follows: for every command, the
// stages it may be given in, the roles that give it, the other rules it must
// keep (each a named function of rules.go that answers the rule it breaks)
// and the step it takes. docs/process.md#commands describes it for people.
var caseCommands = []commandRule{
	{name: UpdateConsent, stages: openStages, roles: caseOwners,
		rules: []rule{adultCase, consentNotWithdrawn},
		step:  does(recordConsent)},
	{name: UpdateWithdrawConsent, stages: openStages, roles: caseOwners,
		rules: []rule{adultCase, consentNotWithdrawn, consentGiven},
		step:  does(withdrawConsent)},
	{name: UpdateGuardian, stages: openStages, roles: caseOwners,
		rules: []rule{childCase, guardianNotAppointed},
		step:  does(appointGuardian)},
	{name: UpdateDecide, stages: activeStages, roles: authority,
		rules: []rule{knownDecision, consentNotWithdrawn, preliminaryInIdentification, preliminaryFirst, notDecidedYet, notInProtectedPeriod},
		step:  does(recordDecision)},
	{name: UpdateReview, stages: openStages, roles: authority,
		rules: []rule{decisionExists, negativeDecision, notReviewedYet, differentReviewer},
		step:  does(reviewDecision)},
	{name: UpdateExtendRecovery, stages: openStages, roles: authority,
		rules: []rule{extensionWithinLimit, recoveryRunning},
		step:  does(extendRecovery)},
	{name: UpdateRefer, stages: activeStages, roles: referrers,
		rules: []rule{knownService, consentToReferral, serviceAvailableNow, noOpenReferralOfService},
		step:  does(refer)},
	{name: UpdateRequestClosure, stages: activeStages, roles: caseOwners,
		rules: []rule{knownClosureReason, noOpenReferrals, notInProtectedPeriod},
		step:  does(requestClosure)},
	{name: UpdateApproveClosure, stages: closureStage, outOfStage: "no_closure_request", roles: supervisors,
		rules: []rule{closureRequested, notRequester},
		step:  does(approveClosure)},
	{name: UpdateRejectClosure, stages: closureStage, outOfStage: "no_closure_request", roles: supervisors,
		rules: []rule{closureRequested, notRequester},
		step:  does(rejectClosure)},
	{name: UpdateFollowUp, stages: followUpStage, roles: caseOwners,
		step: does(followUpDone)},
	{name: UpdateTransfer, stages: openStages, roles: transferrers,
		rules: []rule{toAnotherAgency},
		step:  does(transfer)},
	{name: UpdateReopen, stages: closedStage, outOfStage: "not_closed", roles: transferrers,
		rules: []rule{knownReopenReason, identityKept, retentionRunning},
		step:  does(reopen)},
}

// commandRule is one row of caseCommands.
type commandRule struct {
	name   string
	stages []string
	// outOfStage is the rule a command given in another stage breaks:
	// "stage" unless named.
	outOfStage string
	roles      []string
	rules      []rule
	step       step
}

// caseCommand is any command on a case: each embeds Command.
type caseCommand interface{ command() Command }

// rule is a precondition of a command: nil when it holds, else a ruleError
// naming the rule.
type rule func(r *caseRun, c caseCommand) error

// ruleError names the SOP rule that forbids a command; the API answers 409
// with the rule as the problem's rule code.
func ruleError(rule, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), rule)
}

// allows answers whether the case allows the command now: the case is open
// (or the command is one on a closed case: the reopening), the actor holds
// one of the row's roles, the case is in one of its stages, and every rule
// of the row holds. It answers the first rule broken.
func (r *caseRun) allows(row commandRule, c caseCommand) error {
	if r.state.Stage == StageClosed && !slices.Contains(row.stages, StageClosed) {
		return ruleError("case_closed", "the case is closed")
	}
	if err := r.byRole(row, c.command()); err != nil {
		return err
	}
	if !slices.Contains(row.stages, r.state.Stage) {
		rule := row.outOfStage
		if rule == "" {
			rule = "stage"
		}
		return ruleError(rule, "%s is not possible in the %s stage", row.name, r.state.Stage)
	}
	for _, check := range row.rules {
		if err := check(r, c); err != nil {
			return err
		}
	}
	return nil
}

// step is the transition a command makes once allowed; does makes one from
// a function of the command's own type.
type step interface {
	register(r *caseRun, row commandRule) error
}

type stepFunc[C caseCommand] func(r *caseRun, ctx workflow.Context, c C) (transition, error)

func does[C caseCommand](f func(r *caseRun, ctx workflow.Context, c C) (transition, error)) step {
	return stepFunc[C](f)
}

// register sets the row's update handler and validator.
func (f stepFunc[C]) register(r *caseRun, row commandRule) error {
	validate := func(c C) error { return r.allows(row, c) }
	handle := func(ctx workflow.Context, c C) (CaseState, error) {
		return locked(ctx, r.mu, func() error { return r.allows(row, c) }, func() (CaseState, error) {
			t, err := f(r, ctx, c)
			if err != nil {
				return CaseState{}, err
			}
			if !t.empty() {
				if err := r.apply(ctx, t); err != nil {
					return CaseState{}, err
				}
			}
			return r.state, nil
		})
	}
	return workflow.SetUpdateHandlerWithOptions(r.ctx, row.name, handle, workflow.UpdateHandlerOptions{Validator: validate})
}

// locked runs a command's step holding mu, once check passes there: the
// validator checked before the lock was taken, and another command may have
// changed the state since. Every command of both workflows runs through it.
func locked[T any](ctx workflow.Context, mu workflow.Mutex, check func() error, step func() (T, error)) (T, error) {
	var zero T
	if err := mu.Lock(ctx); err != nil {
		return zero, err
	}
	defer mu.Unlock()
	if err := check(); err != nil {
		return zero, err
	}
	return step()
}

func (r *caseRun) registerHandlers() error {
	ctx := r.ctx
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CaseState, error) { return r.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryActions, func(actor Command) (Actions, error) { return r.actions(actor), nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandler(ctx, UpdateOpen, func(ctx workflow.Context) (CaseState, error) {
		if err := workflow.Await(ctx, func() bool { return r.state.Opened }); err != nil {
			return CaseState{}, err
		}
		// Wait for the opening transition to be recorded.
		return locked(ctx, r.mu, func() error { return nil }, func() (CaseState, error) { return r.state, nil })
	})
	if err != nil {
		return err
	}
	for _, row := range caseCommands {
		if err := row.step.register(r, row); err != nil {
			return fmt.Errorf("register update %s: %w", row.name, err)
		}
	}
	return nil
}

func note(c Command) map[string]string {
	if c.NoteID == "" {
		return nil
	}
	return map[string]string{"note_id": c.NoteID}
}

// withNote adds the command's note, if any, to an event's data.
func withNote(data map[string]string, c Command) map[string]string {
	if c.NoteID != "" {
		data["note_id"] = c.NoteID
	}
	return data
}

// --- the steps ----------------------------------------------------------

func recordConsent(r *caseRun, _ workflow.Context, c ConsentCommand) (transition, error) {
	r.state.ConsentReferral, r.state.ConsentDataSharing = &c.Referral, &c.DataSharing
	data := map[string]string{"data_sharing": fmt.Sprint(c.DataSharing)}
	var t transition
	if c.Referral {
		t.add("consent_given", c.ActorID, data)
		return t, nil
	}
	// Declined: the case stays as an anonymous notification.
	t.add("consent_declined", c.ActorID, data)
	t.close(c.ActorID, ReasonConsentDeclined)
	t.removeIdentity = true
	return t, nil
}

// withdrawConsent ends the case at the person's request: no further sharing happens.
func withdrawConsent(r *caseRun, _ workflow.Context, c Command) (transition, error) {
	r.state.ConsentWithdrawn = true
	var t transition
	t.add("consent_withdrawn", c.ActorID, note(c))
	t.close(c.ActorID, ReasonConsentWithdrawn)
	return t, nil
}

func appointGuardian(r *caseRun, _ workflow.Context, c Command) (transition, error) {
	r.state.GuardianAppointed = true
	var t transition
	t.add("guardian_appointed", c.ActorID, note(c))
	return t, nil
}

// recordDecision records a decision. A positive preliminary decision starts
// the recovery period; a negative one waits for its second review.
func recordDecision(r *caseRun, ctx workflow.Context, c DecideCommand) (transition, error) {
	r.state.Decisions = append(r.state.Decisions, Decision{ID: c.DecisionID, Kind: c.Kind, Outcome: c.Outcome,
		DecidedBy: c.ActorID, At: workflow.Now(ctx)})
	var t transition
	t.add(c.event(), c.ActorID, withNote(map[string]string{"decision_id": c.DecisionID}, c.Command))
	if c.Kind == KindPreliminary && c.Outcome == OutcomePositive {
		t.stage = StageRecovery
	}
	if c.Outcome == OutcomeNegative { // another officer must review it
		t.notify = append(t.notify, NotificationRecord{Kind: "decision_needed", RecipientRole: "competent_authority"})
	}
	return t, nil
}

// reviewDecision confirms a negative decision (the case closes: not
// identified) or overturns it (the decision counts as positive).
func reviewDecision(r *caseRun, ctx workflow.Context, c ReviewCommand) (transition, error) {
	d := r.decision(c.DecisionID)
	now := workflow.Now(ctx)
	confirm := c.Confirm
	d.ReviewedBy, d.Confirmed, d.ReviewedAt = c.ActorID, &confirm, &now
	data := withNote(map[string]string{"decision_id": d.ID, "kind": d.Kind}, c.Command)
	var t transition
	if c.Confirm {
		t.add("negative_review_confirmed", c.ActorID, data)
		t.close(c.ActorID, ReasonNotIdentified)
		return t, nil
	}
	t.add("negative_review_overturned", c.ActorID, data)
	t.add(d.Kind+"_positive", c.ActorID, map[string]string{"decision_id": d.ID})
	if d.Kind == KindPreliminary {
		t.stage = StageRecovery
	}
	return t, nil
}

// extendRecovery moves the end of the running recovery period.
func extendRecovery(r *caseRun, _ workflow.Context, c ExtendRecoveryCommand) (transition, error) {
	o := r.runningRecovery()
	o.DueAt = r.sop.Calendar.Deadline(o.DueAt, sop.Duration{N: c.Days, Unit: sop.Days})
	due := o.DueAt
	r.state.RecoveryEndsAt = &due
	r.stopTimer(o.ID)
	t := transition{rewatch: []string{o.ID}}
	t.add("recovery_extended", c.ActorID, withNote(map[string]string{"days": fmt.Sprint(c.Days)}, c.Command))
	return t, nil
}

func requestClosure(r *caseRun, ctx workflow.Context, c ClosureCommand) (transition, error) {
	r.state.Closure = &Closure{Reason: c.Reason, RequestedBy: c.ActorID, At: workflow.Now(ctx), PriorStage: r.state.Stage}
	var t transition
	t.add("closure_requested", c.ActorID, withNote(map[string]string{"reason": c.Reason}, c.Command))
	t.stage = StageClosure
	t.notify = append(t.notify, NotificationRecord{Kind: "closure_to_approve", RecipientRole: "supervisor"})
	return t, nil
}

// approveClosure ends the active phase: the identification and recovery
// deadlines end with it, and the follow-up check is due.
func approveClosure(r *caseRun, _ workflow.Context, c Command) (transition, error) {
	t := transition{cancelOpen: true}
	t.add("closure_approved", c.ActorID, map[string]string{"reason": r.state.Closure.Reason})
	t.stage = StageFollowUp
	r.state.ClosureReason = r.state.Closure.Reason
	return t, nil
}

// rejectClosure returns the case to the stage the request came from.
func rejectClosure(r *caseRun, _ workflow.Context, c Command) (transition, error) {
	var t transition
	t.add("closure_rejected", c.ActorID, note(c))
	t.stage = r.state.Closure.PriorStage
	r.state.Closure = nil
	return t, nil
}

func followUpDone(r *caseRun, _ workflow.Context, c Command) (transition, error) {
	var t transition
	t.add("follow_up_done", c.ActorID, note(c))
	t.close(c.ActorID, r.state.ClosureReason)
	return t, nil
}
