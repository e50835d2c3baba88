package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Update names: the API's commands on a case. Each has a validator that
// refuses, without touching history, a command the SOP does not allow now.
const (
	UpdateOpen            = "open"
	UpdateConsent         = "consent"
	UpdateWithdrawConsent = "withdraw_consent"
	UpdateGuardian        = "appoint_guardian"
	UpdateDecide          = "decide"
	UpdateReview          = "review"
	UpdateExtendRecovery  = "extend_recovery"
	UpdateRequestClosure  = "request_closure"
	UpdateApproveClosure  = "approve_closure"
	UpdateRejectClosure   = "reject_closure"
	UpdateFollowUp        = "follow_up"
)

// Command is what every update carries: who acts, and the ID of the note
// (free text kept in PostgreSQL) that goes with it, if any.
type Command struct {
	ActorID string
	NoteID  string
}

// ConsentCommand records an adult's informed consent.
type ConsentCommand struct {
	Command
	Referral    bool
	DataSharing bool
}

// DecideCommand records an identification decision.
type DecideCommand struct {
	Command
	DecisionID string
	Kind       string // preliminary | conclusive
	Outcome    string // positive | negative
}

// ReviewCommand is the second review of a negative decision.
type ReviewCommand struct {
	Command
	DecisionID string
	Confirm    bool
}

// ExtendRecoveryCommand lengthens the recovery and reflection period.
type ExtendRecoveryCommand struct {
	Command
	Days int
}

// ClosureCommand requests closure with a reason of the SOP's list.
type ClosureCommand struct {
	Command
	Reason string
}

// Decision kinds and outcomes.
const (
	KindPreliminary = "preliminary"
	KindConclusive  = "conclusive"
	OutcomePositive = "positive"
	OutcomeNegative = "negative"
)

// MaxRecoveryExtensionDays bounds one extension.
const MaxRecoveryExtensionDays = 365

// ruleError names the SOP rule that forbids a command; the API answers 409
// with the rule as the problem's rule code.
func ruleError(rule, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), rule)
}

func (r *caseRun) registerHandlers() error {
	ctx := r.ctx
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CaseState, error) { return r.state, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandler(ctx, UpdateOpen, func(ctx workflow.Context) (CaseState, error) {
		if err := workflow.Await(ctx, func() bool { return r.state.Opened }); err != nil {
			return CaseState{}, err
		}
		// Wait for the opening transition to be recorded.
		if err := r.mu.Lock(ctx); err != nil {
			return CaseState{}, err
		}
		defer r.mu.Unlock()
		return r.state, nil
	})
	if err != nil {
		return err
	}
	handlers := []struct {
		name     string
		handler  any
		validate any
	}{
		{UpdateConsent, r.consent, func(c ConsentCommand) error { return r.checkConsent() }},
		{UpdateWithdrawConsent, r.withdraw, func(c Command) error { return r.checkWithdraw() }},
		{UpdateGuardian, r.guardian, func(c Command) error { return r.checkGuardian() }},
		{UpdateDecide, r.decide, func(c DecideCommand) error { return r.checkDecide(c) }},
		{UpdateReview, r.review, func(c ReviewCommand) error { _, err := r.checkReview(c); return err }},
		{UpdateExtendRecovery, r.extendRecovery, func(c ExtendRecoveryCommand) error { _, err := r.checkExtend(c); return err }},
		{UpdateRequestClosure, r.requestClosure, func(c ClosureCommand) error { return r.checkRequestClosure(c) }},
		{UpdateApproveClosure, r.approveClosure, func(c Command) error { return r.checkAnswerClosure(c, "approve") }},
		{UpdateRejectClosure, r.rejectClosure, func(c Command) error { return r.checkAnswerClosure(c, "reject") }},
		{UpdateFollowUp, r.followUp, func(c Command) error { return r.checkFollowUp() }},
		{UpdateRefer, r.refer, func(c ReferCommand) error { return r.checkRefer(c) }},
	}
	for _, h := range handlers {
		opts := workflow.UpdateHandlerOptions{Validator: h.validate}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, h.handler, opts); err != nil {
			return fmt.Errorf("register update %s: %w", h.name, err)
		}
	}
	return nil
}

// locked runs a command under the case's mutex, re-checking its rule there:
// another command may have changed the case since the validator ran.
func (r *caseRun) locked(ctx workflow.Context, check func() error, build func() (transition, error)) (CaseState, error) {
	if err := r.mu.Lock(ctx); err != nil {
		return CaseState{}, err
	}
	defer r.mu.Unlock()
	if err := check(); err != nil {
		return CaseState{}, err
	}
	t, err := build()
	if err != nil {
		return CaseState{}, err
	}
	if err := r.apply(ctx, t); err != nil {
		return CaseState{}, err
	}
	return r.state, nil
}

func (r *caseRun) checkOpen() error {
	if r.state.Stage == StageClosed {
		return ruleError("case_closed", "the case is closed")
	}
	return nil
}

func note(c Command) map[string]string {
	if c.NoteID == "" {
		return nil
	}
	return map[string]string{"note_id": c.NoteID}
}

// --- consent -------------------------------------------------------------

func (r *caseRun) checkConsent() error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	if r.state.Child {
		return ruleError("child_no_consent", "a child's referral needs no consent; the guardian is appointed instead")
	}
	if r.state.ConsentWithdrawn {
		return ruleError("consent_withdrawn", "consent was withdrawn")
	}
	return nil
}

func (r *caseRun) consent(ctx workflow.Context, c ConsentCommand) (CaseState, error) {
	return r.locked(ctx, r.checkConsent, func() (transition, error) {
		r.state.ConsentReferral, r.state.ConsentDataSharing = &c.Referral, &c.DataSharing
		data := map[string]string{"data_sharing": fmt.Sprint(c.DataSharing)}
		var t transition
		if c.Referral {
			t.add("consent_given", c.ActorID, data)
			return t, nil
		}
		t.add("consent_declined", c.ActorID, data)
		t.add("case_closed", c.ActorID, map[string]string{"reason": ReasonConsentDeclined})
		t.stage, t.closureReason, t.removeIdentity = StageClosed, ReasonConsentDeclined, true
		return t, nil
	})
}

func (r *caseRun) checkWithdraw() error {
	if err := r.checkConsent(); err != nil {
		return err
	}
	if r.state.ConsentReferral == nil || !*r.state.ConsentReferral {
		return ruleError("no_consent", "there is no consent to withdraw")
	}
	return nil
}

// withdraw ends the case at the person's request: no further sharing happens.
func (r *caseRun) withdraw(ctx workflow.Context, c Command) (CaseState, error) {
	return r.locked(ctx, r.checkWithdraw, func() (transition, error) {
		r.state.ConsentWithdrawn = true
		var t transition
		t.add("consent_withdrawn", c.ActorID, note(c))
		t.add("case_closed", c.ActorID, map[string]string{"reason": ReasonConsentWithdrawn})
		t.stage, t.closureReason = StageClosed, ReasonConsentWithdrawn
		return t, nil
	})
}

// --- child track ---------------------------------------------------------

func (r *caseRun) checkGuardian() error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	if !r.state.Child {
		return ruleError("not_child", "a guardian is appointed for children only")
	}
	if r.state.GuardianAppointed {
		return ruleError("guardian_appointed", "a guardian is already appointed")
	}
	return nil
}

func (r *caseRun) guardian(ctx workflow.Context, c Command) (CaseState, error) {
	return r.locked(ctx, r.checkGuardian, func() (transition, error) {
		r.state.GuardianAppointed = true
		var t transition
		t.add("guardian_appointed", c.ActorID, note(c))
		return t, nil
	})
}

// --- identification ------------------------------------------------------

func (r *caseRun) decisions(kind string) []*Decision {
	var out []*Decision
	for i := range r.state.Decisions {
		if r.state.Decisions[i].Kind == kind {
			out = append(out, &r.state.Decisions[i])
		}
	}
	return out
}

// effectivelyPositive reports whether a decision of that kind stands as
// positive: taken positive, or negative and overturned on review.
func (r *caseRun) effectivelyPositive(kind string) bool {
	for _, d := range r.decisions(kind) {
		if d.Outcome == OutcomePositive || (d.Confirmed != nil && !*d.Confirmed) {
			return true
		}
	}
	return false
}

func (r *caseRun) checkDecide(c DecideCommand) error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	if c.Outcome != OutcomePositive && c.Outcome != OutcomeNegative {
		return ruleError("bad_outcome", "outcome must be positive or negative")
	}
	if r.state.ConsentWithdrawn {
		return ruleError("consent_withdrawn", "consent was withdrawn")
	}
	if r.state.Stage == StageClosure || r.state.Stage == StageFollowUp {
		return ruleError("stage", "no decision while the case is in %s", r.state.Stage)
	}
	switch c.Kind {
	case KindPreliminary:
		if r.state.Stage != StageIdentification {
			return ruleError("stage", "a preliminary decision is taken in the identification stage, not %s", r.state.Stage)
		}
		if len(r.decisions(KindPreliminary)) > 0 {
			return ruleError("already_decided", "a preliminary decision was already taken")
		}
	case KindConclusive:
		if !r.effectivelyPositive(KindPreliminary) {
			return ruleError("preliminary_first", "a conclusive decision needs a positive preliminary decision first")
		}
		if len(r.decisions(KindConclusive)) > 0 {
			return ruleError("already_decided", "a conclusive decision was already taken")
		}
	default:
		return ruleError("bad_kind", "kind must be preliminary or conclusive")
	}
	return nil
}

func (r *caseRun) decide(ctx workflow.Context, c DecideCommand) (CaseState, error) {
	return r.locked(ctx, func() error { return r.checkDecide(c) }, func() (transition, error) {
		r.state.Decisions = append(r.state.Decisions, Decision{ID: c.DecisionID, Kind: c.Kind, Outcome: c.Outcome,
			DecidedBy: c.ActorID, At: workflow.Now(ctx)})
		data := map[string]string{"decision_id": c.DecisionID}
		if c.NoteID != "" {
			data["note_id"] = c.NoteID
		}
		var t transition
		t.add(c.Kind+"_"+c.Outcome, c.ActorID, data)
		if c.Kind == KindPreliminary && c.Outcome == OutcomePositive {
			t.stage = StageRecovery
		}
		if c.Outcome == OutcomeNegative { // a second officer must review it
			t.notify = append(t.notify, NotificationRecord{Kind: "decision_needed", RecipientRole: "competent_authority"})
		}
		return t, nil
	})
}

func (r *caseRun) checkReview(c ReviewCommand) (*Decision, error) {
	if err := r.checkOpen(); err != nil {
		return nil, err
	}
	var d *Decision
	for i := range r.state.Decisions {
		if r.state.Decisions[i].ID == c.DecisionID {
			d = &r.state.Decisions[i]
		}
	}
	switch {
	case d == nil:
		return nil, ruleError("no_decision", "no such decision in this case")
	case d.Outcome != OutcomeNegative:
		return nil, ruleError("not_negative", "only negative decisions are reviewed")
	case d.Confirmed != nil:
		return nil, ruleError("already_reviewed", "the decision was already reviewed")
	case d.DecidedBy == c.ActorID:
		return nil, ruleError("reviewer_is_decider", "the second review must be made by another officer than the decider")
	}
	return d, nil
}

// review confirms a negative decision (the case closes: not identified) or
// overturns it (the decision counts as positive).
func (r *caseRun) review(ctx workflow.Context, c ReviewCommand) (CaseState, error) {
	return r.locked(ctx, func() error { _, err := r.checkReview(c); return err }, func() (transition, error) {
		d, _ := r.checkReview(c)
		now := workflow.Now(ctx)
		confirm := c.Confirm
		d.ReviewedBy, d.Confirmed, d.ReviewedAt = c.ActorID, &confirm, &now
		data := map[string]string{"decision_id": d.ID, "kind": d.Kind}
		if c.NoteID != "" {
			data["note_id"] = c.NoteID
		}
		var t transition
		if c.Confirm {
			t.add("negative_review_confirmed", c.ActorID, data)
			t.add("case_closed", c.ActorID, map[string]string{"reason": ReasonNotIdentified})
			t.stage, t.closureReason = StageClosed, ReasonNotIdentified
			return t, nil
		}
		t.add("negative_review_overturned", c.ActorID, data)
		t.add(d.Kind+"_positive", c.ActorID, map[string]string{"decision_id": d.ID})
		if d.Kind == KindPreliminary {
			t.stage = StageRecovery
		}
		return t, nil
	})
}

// --- recovery period -----------------------------------------------------

func (r *caseRun) runningRecovery() *ObligationState {
	id := r.recoveryObligation()
	for i := range r.state.Obligations {
		o := &r.state.Obligations[i]
		if o.Obligation == id && o.Status == ObligationRunning {
			return o
		}
	}
	return nil
}

func (r *caseRun) checkExtend(c ExtendRecoveryCommand) (*ObligationState, error) {
	if err := r.checkOpen(); err != nil {
		return nil, err
	}
	if c.Days < 1 || c.Days > MaxRecoveryExtensionDays {
		return nil, ruleError("bad_days", "an extension is 1 to %d days", MaxRecoveryExtensionDays)
	}
	o := r.runningRecovery()
	if o == nil {
		return nil, ruleError("no_recovery_period", "no recovery period is running")
	}
	return o, nil
}

func (r *caseRun) extendRecovery(ctx workflow.Context, c ExtendRecoveryCommand) (CaseState, error) {
	return r.locked(ctx, func() error { _, err := r.checkExtend(c); return err }, func() (transition, error) {
		o, _ := r.checkExtend(c)
		o.DueAt = r.sop.Calendar.Deadline(o.DueAt, sop.Duration{N: c.Days, Unit: sop.Days})
		due := o.DueAt
		r.state.RecoveryEndsAt = &due
		r.stopTimer(o.ID)
		data := map[string]string{"days": fmt.Sprint(c.Days)}
		if c.NoteID != "" {
			data["note_id"] = c.NoteID
		}
		t := transition{rewatch: []string{o.ID}}
		t.add("recovery_extended", c.ActorID, data)
		return t, nil
	})
}

// --- closure -------------------------------------------------------------

var closableStages = []string{StageIdentification, StageRecovery, StageAssistance}

func (r *caseRun) checkRequestClosure(c ClosureCommand) error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	if !slices.Contains(closableStages, r.state.Stage) {
		return ruleError("stage", "closure cannot be requested in the %s stage", r.state.Stage)
	}
	if !r.sop.IsClosureReason(c.Reason) {
		return ruleError("unknown_closure_reason", "%q is not a closure reason of SOP %s", c.Reason, r.sop.Version)
	}
	if n := r.openReferrals(); n > 0 {
		return ruleError("open_referrals", "%d referrals are open: complete or withdraw them first", n)
	}
	return nil
}

func (r *caseRun) requestClosure(ctx workflow.Context, c ClosureCommand) (CaseState, error) {
	return r.locked(ctx, func() error { return r.checkRequestClosure(c) }, func() (transition, error) {
		r.state.Closure = &Closure{Reason: c.Reason, RequestedBy: c.ActorID, At: workflow.Now(ctx), PriorStage: r.state.Stage}
		data := map[string]string{"reason": c.Reason}
		if c.NoteID != "" {
			data["note_id"] = c.NoteID
		}
		var t transition
		t.add("closure_requested", c.ActorID, data)
		t.stage = StageClosure
		t.notify = append(t.notify, NotificationRecord{Kind: "closure_to_approve", RecipientRole: "supervisor"})
		return t, nil
	})
}

func (r *caseRun) checkAnswerClosure(c Command, verb string) error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	if r.state.Stage != StageClosure || r.state.Closure == nil {
		return ruleError("no_closure_request", "no closure request is waiting")
	}
	if r.state.Closure.RequestedBy == c.ActorID {
		return ruleError("approver_is_requester", "the requester of a closure cannot %s it", verb)
	}
	return nil
}

func (r *caseRun) approveClosure(ctx workflow.Context, c Command) (CaseState, error) {
	return r.locked(ctx, func() error { return r.checkAnswerClosure(c, "approve") }, func() (transition, error) {
		// The identification and recovery deadlines end with the case's active phase.
		t := transition{cancelOpen: true}
		t.add("closure_approved", c.ActorID, map[string]string{"reason": r.state.Closure.Reason})
		t.stage = StageFollowUp
		r.state.ClosureReason = r.state.Closure.Reason
		return t, nil
	})
}

func (r *caseRun) rejectClosure(ctx workflow.Context, c Command) (CaseState, error) {
	return r.locked(ctx, func() error { return r.checkAnswerClosure(c, "reject") }, func() (transition, error) {
		var t transition
		t.add("closure_rejected", c.ActorID, note(c))
		t.stage = r.state.Closure.PriorStage
		r.state.Closure = nil
		return t, nil
	})
}

func (r *caseRun) checkFollowUp() error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	if r.state.Stage != StageFollowUp {
		return ruleError("stage", "the follow-up check comes after closure is approved")
	}
	return nil
}

func (r *caseRun) followUp(ctx workflow.Context, c Command) (CaseState, error) {
	return r.locked(ctx, r.checkFollowUp, func() (transition, error) {
		var t transition
		t.add("follow_up_done", c.ActorID, note(c))
		t.add("case_closed", c.ActorID, map[string]string{"reason": r.state.ClosureReason})
		t.stage, t.closureReason = StageClosed, r.state.ClosureReason
		return t, nil
	})
}
