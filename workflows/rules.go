package workflows

import (
	"slices"
	"time"
)

// The stages a command may be given in.
var (
	// activeStages: the case is being identified and assisted, and closure
	// is not requested.
	activeStages = []string{StageIdentification, StageRecovery, StageAssistance}
	// openStages: any stage before closed.
	openStages    = []string{StageIdentification, StageRecovery, StageAssistance, StageClosure, StageFollowUp}
	closureStage  = []string{StageClosure}
	followUpStage = []string{StageFollowUp}
)

// The roles that give commands on a case.
var (
	// caseOwners: the officers and supervisors of the agency that opened the case.
	caseOwners  = []string{RoleFrontline, RoleSupervisor}
	supervisors = []string{RoleSupervisor}
	// authority: the competent authority, which identifies.
	authority = []string{RoleCompetentAuthority}
	// referrers: the case owners and the competent authority.
	referrers = []string{RoleFrontline, RoleSupervisor, RoleCompetentAuthority}
	providers = []string{RoleProvider}
)

// byRole checks that the actor holds one of the command's roles; frontline
// officers and supervisors act on their own agency's cases only. A command
// without a role was recorded before commands carried one: the API checked
// the role then (histories of running cases replay unchanged).
func (r *caseRun) byRole(row commandRule, c Command) error {
	if c.ActorRole == "" {
		return nil
	}
	if err := hasRole(row.roles, c, row.name); err != nil {
		return err
	}
	if (c.ActorRole == RoleFrontline || c.ActorRole == RoleSupervisor) && c.ActorAgencyID != r.state.AgencyID {
		return ruleError("agency", "only the agency that opened the case acts on it as %s", c.ActorRole)
	}
	return nil
}

func hasRole(roles []string, c Command, what string) error {
	if c.ActorRole != "" && !slices.Contains(roles, c.ActorRole) {
		return ruleError("role", "%s is for %v, not %s", what, roles, c.ActorRole)
	}
	return nil
}

// --- consent and the child track ----------------------------------------

func adultCase(r *caseRun, _ caseCommand) error {
	if r.state.Child {
		return ruleError("child_no_consent", "a child's referral needs no consent; the guardian is appointed instead")
	}
	return nil
}

func childCase(r *caseRun, _ caseCommand) error {
	if !r.state.Child {
		return ruleError("not_child", "a guardian is appointed for children only")
	}
	return nil
}

func consentNotWithdrawn(r *caseRun, _ caseCommand) error {
	if r.state.ConsentWithdrawn {
		return ruleError("consent_withdrawn", "consent was withdrawn")
	}
	return nil
}

func consentGiven(r *caseRun, _ caseCommand) error {
	if r.state.ConsentReferral == nil || !*r.state.ConsentReferral {
		return ruleError("no_consent", "there is no consent to withdraw")
	}
	return nil
}

func guardianNotAppointed(r *caseRun, _ caseCommand) error {
	if r.state.GuardianAppointed {
		return ruleError("guardian_appointed", "a guardian is already appointed")
	}
	return nil
}

// --- identification -----------------------------------------------------

func knownDecision(_ *caseRun, c caseCommand) error {
	d := c.(DecideCommand)
	if d.Outcome != OutcomePositive && d.Outcome != OutcomeNegative {
		return ruleError("bad_outcome", "outcome must be positive or negative")
	}
	if d.Kind != KindPreliminary && d.Kind != KindConclusive {
		return ruleError("bad_kind", "kind must be preliminary or conclusive")
	}
	return nil
}

func preliminaryInIdentification(r *caseRun, c caseCommand) error {
	if c.(DecideCommand).Kind == KindPreliminary && r.state.Stage != StageIdentification {
		return ruleError("stage", "a preliminary decision is taken in the identification stage, not %s", r.state.Stage)
	}
	return nil
}

func preliminaryFirst(r *caseRun, c caseCommand) error {
	if c.(DecideCommand).Kind == KindConclusive && !r.effectivelyPositive(KindPreliminary) {
		return ruleError("preliminary_first", "a conclusive decision needs a positive preliminary decision first")
	}
	return nil
}

func notDecidedYet(r *caseRun, c caseCommand) error {
	if kind := c.(DecideCommand).Kind; len(r.decisions(kind)) > 0 {
		return ruleError("already_decided", "a %s decision was already taken", kind)
	}
	return nil
}

// notInProtectedPeriod refuses a command whose event a running protected
// period of the SOP forbids (forbids: the recovery period forbids a
// conclusive decision). The rule is the period's obligation ID.
func notInProtectedPeriod(r *caseRun, c caseCommand) error {
	e, ok := c.(interface{ event() string })
	if !ok {
		return nil
	}
	event := e.event()
	for _, o := range r.state.Obligations {
		if o.Status != ObligationRunning {
			continue
		}
		if def, ok := r.sop.Obligation(o.Obligation); ok && def.ForbidsEvent(event) {
			return ruleError(o.Obligation, "the %s forbids %s until it ends at %s", o.Obligation, event,
				o.DueAt.In(r.sop.Calendar.Location).Format(time.RFC3339))
		}
	}
	return nil
}

func decisionExists(r *caseRun, c caseCommand) error {
	if r.decision(c.(ReviewCommand).DecisionID) == nil {
		return ruleError("no_decision", "no such decision in this case")
	}
	return nil
}

func negativeDecision(r *caseRun, c caseCommand) error {
	if r.decision(c.(ReviewCommand).DecisionID).Outcome != OutcomeNegative {
		return ruleError("not_negative", "only negative decisions are reviewed")
	}
	return nil
}

func notReviewedYet(r *caseRun, c caseCommand) error {
	if r.decision(c.(ReviewCommand).DecisionID).Confirmed != nil {
		return ruleError("already_reviewed", "the decision was already reviewed")
	}
	return nil
}

func differentReviewer(r *caseRun, c caseCommand) error {
	rc := c.(ReviewCommand)
	if r.decision(rc.DecisionID).DecidedBy == rc.ActorID {
		return ruleError("reviewer_is_decider", "the second review must be made by another officer than the decider")
	}
	return nil
}

// --- the recovery period ------------------------------------------------

func extensionWithinLimit(r *caseRun, c caseCommand) error {
	if days := c.(ExtendRecoveryCommand).Days; days < 1 || days > r.sop.RecoveryMaxExtensionDays {
		return ruleError("bad_days", "an extension is 1 to %d days", r.sop.RecoveryMaxExtensionDays)
	}
	return nil
}

func recoveryRunning(r *caseRun, _ caseCommand) error {
	if r.runningRecovery() == nil {
		return ruleError("no_recovery_period", "no recovery period is running")
	}
	return nil
}

// --- referrals ----------------------------------------------------------

func knownService(r *caseRun, c caseCommand) error {
	if service := c.(ReferCommand).Service; !r.hasService(service) {
		return ruleError("unknown_service", "%q is not a service of SOP %s", service, r.sop.Version)
	}
	return nil
}

// consentToReferral: an adult's referral needs their consent to referral.
func consentToReferral(r *caseRun, _ caseCommand) error {
	if !r.state.Child && (r.state.ConsentReferral == nil || !*r.state.ConsentReferral || r.state.ConsentWithdrawn) {
		return ruleError("no_consent", "an adult's referral needs their consent to referral")
	}
	return nil
}

// serviceAvailableNow: urgent services (shelter, medical) from screening on;
// the others once the person stands identified by a positive preliminary
// decision.
func serviceAvailableNow(r *caseRun, c caseCommand) error {
	service := c.(ReferCommand).Service
	if svc, _ := r.sop.Service(service); !svc.Urgent && !r.effectivelyPositive(KindPreliminary) {
		return ruleError("not_yet", "%s can be referred once the preliminary decision is positive", service)
	}
	return nil
}

func noOpenReferralOfService(r *caseRun, c caseCommand) error {
	service := c.(ReferCommand).Service
	for _, ref := range r.state.Referrals {
		if ref.Service == service && ReferralOpen(ref.Status) {
			return ruleError("duplicate_referral", "a %s referral is already open", service)
		}
	}
	return nil
}

// --- closure ------------------------------------------------------------

func knownClosureReason(r *caseRun, c caseCommand) error {
	if reason := c.(ClosureCommand).Reason; !r.sop.IsClosureReason(reason) {
		return ruleError("unknown_closure_reason", "%q is not a closure reason of SOP %s", reason, r.sop.Version)
	}
	return nil
}

func noOpenReferrals(r *caseRun, _ caseCommand) error {
	if n := r.openReferrals(); n > 0 {
		return ruleError("open_referrals", "%d referrals are open: complete or withdraw them first", n)
	}
	return nil
}

func closureRequested(r *caseRun, _ caseCommand) error {
	if r.state.Closure == nil {
		return ruleError("no_closure_request", "no closure request is waiting")
	}
	return nil
}

// notRequester: a closure is answered by another person than its requester.
func notRequester(r *caseRun, c caseCommand) error {
	if r.state.Closure.RequestedBy == c.command().ActorID {
		return ruleError("approver_is_requester", "the requester of a closure cannot answer it")
	}
	return nil
}

// --- what the rules read ------------------------------------------------

func (r *caseRun) hasService(id string) bool {
	_, ok := r.sop.Service(id)
	return ok
}

func (r *caseRun) decisions(kind string) []*Decision {
	var out []*Decision
	for i := range r.state.Decisions {
		if r.state.Decisions[i].Kind == kind {
			out = append(out, &r.state.Decisions[i])
		}
	}
	return out
}

// decision returns the decision with that ID, or nil.
func (r *caseRun) decision(id string) *Decision {
	var d *Decision
	for i := range r.state.Decisions {
		if r.state.Decisions[i].ID == id {
			d = &r.state.Decisions[i]
		}
	}
	return d
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

// runningRecovery returns the running recovery period, or nil.
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
