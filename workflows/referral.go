package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Names of the ReferralWorkflow and its messages.
const (
	ReferralWorkflowName = "ReferralWorkflow"
	QueryReferral        = "referral"
	UpdateAccept         = "accept"
	UpdateDecline        = "decline"
	UpdateProgress       = "progress"
	UpdateComplete       = "complete"
	UpdateWithdraw       = "withdraw"
	// SignalWithdrawReferral withdraws a referral (case owner, consent
	// withdrawn, case closing); SignalReferralStatus tells the case.
	SignalWithdrawReferral = "withdraw_referral"
	SignalReferralStatus   = "referral_status"
)

// Referral statuses.
const (
	ReferralPending   = "pending"
	ReferralAccepted  = "accepted"
	ReferralCompleted = "completed"
	ReferralWithdrawn = "withdrawn"
	// ReferralUnrouted: every provider declined or did not answer.
	ReferralUnrouted = "unrouted"
)

// ReferralStatuses lists every status of a referral.
var ReferralStatuses = []string{ReferralPending, ReferralAccepted, ReferralCompleted, ReferralWithdrawn, ReferralUnrouted}

// ReferralOpen reports whether a referral of that status is still open:
// pending (with a provider, or being routed) or accepted. An open referral
// can be withdrawn, and keeps its case from closing.
func ReferralOpen(status string) bool {
	return status == ReferralPending || status == ReferralAccepted
}

// ReferralWorkflowID is the workflow ID of a referral.
func ReferralWorkflowID(referralID string) string { return "referral-" + referralID }

// ReferralInput starts a ReferralWorkflow. IDs and codes only.
type ReferralInput struct {
	ReferralID        string
	CaseID            string
	CaseAgencyID      string
	Service           string
	Urgent            bool
	Region            string
	SenderID          string
	RequestedAgencyID string
	NoteID            string
	SOPVersion        string
	SOPHash           string
}

// ReferralState is the live state of a referral.
type ReferralState struct {
	ReferralID   string
	Status       string
	AgencyID     string
	Attempt      int
	Redirections int
	Tried        []string
	SentAt       time.Time
	DueAt        time.Time
	AcceptedAt   *time.Time
	CompletedAt  *time.Time
	WithdrawnAt  *time.Time
	BedHeld      bool
	Outcome      string
	Seq          int
}

// AnswerCommand is a provider's answer (accept, decline, progress,
// complete), or the case owner's withdrawal.
type AnswerCommand struct {
	Command
	Reason  string // decline reason: one of the SOP's decline_reasons
	Outcome string // completion outcome: one of the SOP's completion_outcomes
}

type referralRun struct {
	ctx       workflow.Context
	procedure *sop.SOP
	in        ReferralInput
	service   sop.Service
	answer    sop.Obligation
	state     ReferralState
	mu        workflow.Mutex
	// answered is set when the current attempt got an answer (or the referral ended).
	answered bool
	declined bool
	// withdrawing is set while a withdrawal is being recorded.
	withdrawing bool
}

// Referral is the ReferralWorkflow: it routes a referral to providers in
// turn until one accepts, redirecting on a decline or a missed deadline,
// then follows it to completion.
func (c *Cases) Referral(ctx workflow.Context, in ReferralInput) error {
	procedure, ok := c.SOPs.Get(in.SOPVersion)
	if !ok || (in.SOPHash != "" && procedure.Hash != in.SOPHash) {
		panic(fmt.Sprintf("SOP version %s (hash %.12s) is not loaded on this worker", in.SOPVersion, in.SOPHash))
	}
	service, ok := procedure.Service(in.Service)
	if !ok {
		return temporal.NewNonRetryableApplicationError("unknown service "+in.Service, "unknown_service", nil)
	}
	r := &referralRun{ctx: ctx, procedure: procedure, in: in, service: service, mu: workflow.NewMutex(ctx),
		state: ReferralState{ReferralID: in.ReferralID, Status: ReferralPending}}
	for _, o := range procedure.ObligationsOn("referral_sent", false) {
		if o.Kind != sop.KindProtected {
			r.answer = o
		}
	}
	if err := r.register(); err != nil {
		return err
	}
	withdrawals := workflow.GetSignalChannel(ctx, SignalWithdrawReferral)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var reason string
		withdrawals.Receive(ctx, &reason)
		r.withdraw(ctx, reason)
	})
	if err := r.route(); err != nil {
		return err
	}
	err := workflow.Await(ctx, func() bool { return !ReferralOpen(r.state.Status) })
	if err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !r.withdrawing })
}

// route sends the referral to providers in turn until one accepts or none is left.
func (r *referralRun) route() error {
	ctx := r.ctx
	for r.state.Status == ReferralPending {
		agency, err := r.nextProvider()
		if err != nil {
			return err
		}
		if err := r.mu.Lock(ctx); err != nil {
			return err
		}
		if r.state.Status != ReferralPending { // withdrawn meanwhile
			r.mu.Unlock()
			return nil
		}
		if agency == "" {
			err := r.unrouted()
			r.mu.Unlock()
			return err
		}
		err = r.send(agency)
		r.mu.Unlock()
		if err != nil {
			return err
		}
		if err := r.waitForAnswer(); err != nil {
			return err
		}
	}
	return nil
}

func (r *referralRun) nextProvider() (string, error) {
	requested := ""
	if r.state.Attempt == 0 {
		requested = r.in.RequestedAgencyID
	}
	ctx := workflow.WithActivityOptions(r.ctx, readModelActivity)
	var agency string
	err := workflow.ExecuteActivity(ctx, ActivityNextProvider, ProviderQuery{
		Service: r.in.Service, Region: r.in.Region, Exclude: r.state.Tried, Requested: requested, At: workflow.Now(r.ctx),
		Beds: r.holdsBeds(),
	}).Get(ctx, &agency)
	if err != nil {
		return "", fmt.Errorf("route referral %s: %w", r.in.ReferralID, err)
	}
	return agency, nil
}

// send addresses the referral to one provider and starts its answer deadline.
func (r *referralRun) send(agency string) error {
	now := workflow.Now(r.ctx)
	first := r.state.Attempt == 0
	r.state.Attempt++
	r.state.AgencyID, r.state.SentAt = agency, now
	r.state.DueAt = r.dueFor(now)
	r.state.Tried = append(r.state.Tried, agency)
	r.answered, r.declined = false, false
	kind := "referral_sent"
	if !first {
		kind = "referral_redirected"
		r.state.Redirections++
	}
	rec := r.base(now)
	rec.Attempt = &AttemptRecord{Attempt: r.state.Attempt, AgencyID: agency, SentAt: now, DueAt: r.state.DueAt}
	rec.Events = append(rec.Events, r.event(kind, r.in.SenderID, map[string]string{"service": r.in.Service, "agency_id": agency}))
	rec.Obligations = append(rec.Obligations, r.obligation(ObligationPending, nil, nil))
	rec.Notifications = append(rec.Notifications, NotificationRecord{
		ID: fmt.Sprintf("%s/new/%d", ReferralWorkflowID(r.in.ReferralID), r.state.Attempt), Kind: "new_referral",
		RecipientRole: "provider", RecipientAgencyID: agency, DueAt: r.state.DueAt,
	})
	if err := r.record(r.ctx, rec); err != nil {
		return err
	}
	if first { // the case answers its sender once the referral is with a provider
		return r.tellCase(r.ctx)
	}
	return nil
}

func (r *referralRun) dueFor(now time.Time) time.Time {
	d := r.service.ResponseDue
	if d.IsZero() {
		d = r.answer.Due
	}
	return r.calendar().Deadline(now, d)
}

func (r *referralRun) calendar() *sop.Calendar { return &r.procedure.Calendar }

// waitForAnswer waits for the provider's answer, reminding it on the way;
// at the deadline the attempt expires and the referral is redirected.
func (r *referralRun) waitForAnswer() error {
	ctx := r.ctx
	reminders := r.service.Remind
	if len(reminders) == 0 {
		reminders = r.answer.Remind
	}
	done := func() bool { return r.answered || r.state.Status != ReferralPending }
	for i, d := range reminders {
		at := r.calendar().Deadline(r.state.SentAt, d)
		if !at.Before(r.state.DueAt) {
			break
		}
		if ok, err := workflow.AwaitWithTimeout(ctx, at.Sub(workflow.Now(ctx)), done); err != nil || ok {
			return err
		}
		if err := r.remind(i); err != nil {
			return err
		}
	}
	ok, err := workflow.AwaitWithTimeout(ctx, r.state.DueAt.Sub(workflow.Now(ctx)), done)
	if err != nil || ok {
		return err
	}
	return r.expire()
}

func (r *referralRun) remind(i int) error {
	if err := r.mu.Lock(r.ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if r.answered || r.state.Status != ReferralPending {
		return nil
	}
	rec := r.base(workflow.Now(r.ctx))
	rec.Notifications = append(rec.Notifications, NotificationRecord{
		ID:   fmt.Sprintf("%s/reminder/%d/%d", ReferralWorkflowID(r.in.ReferralID), r.state.Attempt, i),
		Kind: "reminder", Obligation: r.answer.ID, RecipientRole: "provider", RecipientAgencyID: r.state.AgencyID, DueAt: r.state.DueAt,
	})
	return r.record(r.ctx, rec)
}

// expire records a missed answer, escalates it, and lets route redirect.
func (r *referralRun) expire() error {
	if err := r.mu.Lock(r.ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if r.answered || r.state.Status != ReferralPending {
		return nil
	}
	now := workflow.Now(r.ctx)
	rec := r.base(now)
	rec.Attempt = &AttemptRecord{Attempt: r.state.Attempt, AgencyID: r.state.AgencyID, SentAt: r.state.SentAt, DueAt: r.state.DueAt,
		AnsweredAt: &now, Answer: "expired"}
	rec.Obligations = append(rec.Obligations, r.obligation(ObligationBreached, nil, &now))
	rec.Events = append(rec.Events, r.event("obligation_breached", "", map[string]string{"obligation": r.answer.ID, "referral_id": r.in.ReferralID}))
	oid := r.obligationID()
	rec.Notifications = append(rec.Notifications, NotificationRecord{ID: oid + "/breach/provider/0", Kind: "breach",
		Obligation: r.answer.ID, ObligationID: oid, RecipientRole: "provider", RecipientAgencyID: r.state.AgencyID, DueAt: r.state.DueAt})
	for i, role := range r.answer.EscalateTo {
		rec.Notifications = append(rec.Notifications, NotificationRecord{ID: fmt.Sprintf("%s/escalation/%s/%d", oid, role, i),
			Kind: "escalation", Obligation: r.answer.ID, ObligationID: oid, RecipientRole: role, DueAt: r.state.DueAt})
	}
	r.answered = true
	return r.record(r.ctx, rec)
}

// unrouted ends a referral no provider took, and tells the case owner and
// their supervisor.
func (r *referralRun) unrouted() error {
	now := workflow.Now(r.ctx)
	r.state.Status, r.state.AgencyID = ReferralUnrouted, ""
	rec := r.base(now)
	for i, role := range []string{"opening_agency", "supervisor"} {
		rec.Notifications = append(rec.Notifications, NotificationRecord{
			ID:   fmt.Sprintf("%s/unrouted/%s/%d", ReferralWorkflowID(r.in.ReferralID), role, i),
			Kind: "escalation", Obligation: r.answer.ID, RecipientRole: role,
		})
	}
	if err := r.record(r.ctx, rec); err != nil {
		return err
	}
	return r.tellCase(r.ctx)
}

func (r *referralRun) obligationID() string {
	return fmt.Sprintf("%s/%s/%d", ReferralWorkflowID(r.in.ReferralID), r.answer.ID, r.state.Attempt)
}

func (r *referralRun) obligation(status string, met, breached *time.Time) ObligationRecord {
	return ObligationRecord{ID: r.obligationID(), Obligation: r.answer.ID, Kind: sop.KindDeadline, OwnerRole: r.answer.Owner,
		OwnerAgencyID: r.state.AgencyID, StartsAt: r.state.SentAt, DueAt: r.state.DueAt, MetAt: met, BreachedAt: breached, Status: status}
}

func (r *referralRun) base(now time.Time) ReferralRecordInput {
	return ReferralRecordInput{CaseID: r.in.CaseID, SOPVersion: r.in.SOPVersion, At: now, Referral: r.row()}
}

func (r *referralRun) row() ReferralRow {
	return ReferralRow{ID: r.in.ReferralID, CaseID: r.in.CaseID, Service: r.in.Service, Urgent: r.in.Urgent, Region: r.in.Region,
		SenderID: r.in.SenderID, SenderAgencyID: r.in.CaseAgencyID, RequestedAgencyID: r.in.RequestedAgencyID,
		AgencyID: r.state.AgencyID, Status: r.state.Status, Attempt: r.state.Attempt, Redirections: r.state.Redirections,
		SentAt: r.state.SentAt, DueAt: r.state.DueAt, AcceptedAt: r.state.AcceptedAt, CompletedAt: r.state.CompletedAt,
		WithdrawnAt: r.state.WithdrawnAt, Outcome: r.state.Outcome, NoteID: r.in.NoteID}
}

// ReferralSeqBase offsets the numbers of a referral's events in the case's
// timeline: a referral's workflow numbers its events from 1, as the case's
// workflow does its own, and both are stored with the case; a seq above the
// base tells a referral's event from the case's. It orders the events of one
// step only — timelines are in time order — and recorded histories fix it.
const ReferralSeqBase = 10000

func (r *referralRun) event(kind, actor string, data map[string]string) EventRecord {
	r.state.Seq++
	if data == nil {
		data = map[string]string{}
	}
	data["referral_id"] = r.in.ReferralID
	return EventRecord{ID: fmt.Sprintf("%s/%d", ReferralWorkflowID(r.in.ReferralID), r.state.Seq), Seq: ReferralSeqBase + r.state.Seq,
		CaseID: r.in.CaseID, Type: kind, At: workflow.Now(r.ctx), ActorID: actor, Data: data}
}

func (r *referralRun) record(ctx workflow.Context, in ReferralRecordInput) error {
	in.Referral = r.row()
	addressAgencies(r.procedure, in.Obligations, in.Notifications)
	ctx = workflow.WithActivityOptions(ctx, readModelActivity)
	if err := workflow.ExecuteActivity(ctx, ActivityRecordReferral, in).Get(ctx, nil); err != nil {
		return fmt.Errorf("record referral %s: %w", r.in.ReferralID, err)
	}
	return nil
}

// tellCase lets the case workflow know the referral's status.
func (r *referralRun) tellCase(ctx workflow.Context) error {
	f := workflow.SignalExternalWorkflow(ctx, CaseWorkflowID(r.in.CaseID), "", SignalReferralStatus,
		ReferralStatus{ReferralID: r.in.ReferralID, Status: r.state.Status, AgencyID: r.state.AgencyID})
	if err := f.Get(ctx, nil); err != nil {
		// The case may have closed already; the referral's own record stands.
		workflow.GetLogger(ctx).Warn("tell case of referral status", "referral_id", r.in.ReferralID, "error", err)
	}
	return nil
}

// ReferralStatus is what a referral tells its case.
type ReferralStatus struct {
	ReferralID string
	Status     string
	AgencyID   string
}

// referralCommands are the commands on a referral: the provider's answers
// and the case owner's withdrawal, who gives them, the rules they must keep
// and the step they take.
var referralCommands = []referralRule{
	{name: UpdateAccept, roles: providers, rules: []referralCheck{awaitingAnswer, addressedToActor, beforeDeadline}, step: (*referralRun).accept},
	{name: UpdateDecline, roles: providers, rules: []referralCheck{awaitingAnswer, addressedToActor, beforeDeadline, knownDeclineReason}, step: (*referralRun).decline},
	{name: UpdateProgress, roles: providers, rules: []referralCheck{accepted, heldByActor}, step: (*referralRun).progress},
	{name: UpdateComplete, roles: providers, rules: []referralCheck{accepted, heldByActor, knownCompletionOutcome}, step: (*referralRun).complete},
	{name: UpdateWithdraw, roles: referrers, rules: []referralCheck{stillOpen}, step: (*referralRun).withdrawByOwner},
}

// referralRule is one row of referralCommands.
type referralRule struct {
	name  string
	roles []string
	rules []referralCheck
	step  func(r *referralRun, ctx workflow.Context, c AnswerCommand) (ReferralState, error)
}

// referralCheck is a precondition of a referral command, as rule is of a case command.
type referralCheck func(r *referralRun, c AnswerCommand) error

// allows answers whether the referral allows the command now, or the first rule it breaks.
func (r *referralRun) allows(row referralRule, c AnswerCommand) error {
	if err := hasRole(row.roles, c.Command, row.name); err != nil {
		return err
	}
	for _, check := range row.rules {
		if err := check(r, c); err != nil {
			return err
		}
	}
	return nil
}

func (r *referralRun) register() error {
	ctx := r.ctx
	if err := workflow.SetQueryHandler(ctx, QueryReferral, func() (ReferralState, error) { return r.state, nil }); err != nil {
		return err
	}
	for _, row := range referralCommands {
		validate := func(c AnswerCommand) error { return r.allows(row, c) }
		handle := func(ctx workflow.Context, c AnswerCommand) (ReferralState, error) {
			return locked(ctx, r.mu, func() error { return r.allows(row, c) }, func() (ReferralState, error) { return row.step(r, ctx, c) })
		}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, row.name, handle, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
			return fmt.Errorf("register update %s: %w", row.name, err)
		}
	}
	return nil
}

// awaitingAnswer: the current provider has not answered yet.
func awaitingAnswer(r *referralRun, _ AnswerCommand) error {
	if r.state.Status != ReferralPending || r.answered {
		return ruleError("already_answered", "the referral was already answered, redirected or withdrawn")
	}
	return nil
}

func addressedToActor(r *referralRun, c AnswerCommand) error {
	if c.ActorAgencyID != r.state.AgencyID {
		return ruleError("not_addressee", "the referral is not addressed to your agency")
	}
	return nil
}

func beforeDeadline(r *referralRun, _ AnswerCommand) error {
	if !workflow.Now(r.ctx).Before(r.state.DueAt) {
		return ruleError("deadline_passed", "the answer deadline has passed; the referral goes to the next provider")
	}
	return nil
}

func knownDeclineReason(r *referralRun, c AnswerCommand) error {
	if !r.procedure.IsDeclineReason(c.Reason) {
		return ruleError("bad_reason", "decline reason must be one of %v", r.procedure.DeclineReasons)
	}
	return nil
}

func accepted(r *referralRun, _ AnswerCommand) error {
	if r.state.Status != ReferralAccepted {
		return ruleError("not_accepted", "the referral is %s, not accepted", r.state.Status)
	}
	return nil
}

func heldByActor(r *referralRun, c AnswerCommand) error {
	if c.ActorAgencyID != r.state.AgencyID {
		return ruleError("not_addressee", "the referral is not with your agency")
	}
	return nil
}

func knownCompletionOutcome(r *referralRun, c AnswerCommand) error {
	if !r.procedure.IsCompletionOutcome(c.Outcome) {
		return ruleError("bad_outcome", "completion outcome must be one of %v", r.procedure.CompletionOutcomes)
	}
	return nil
}

func stillOpen(r *referralRun, _ AnswerCommand) error {
	if !ReferralOpen(r.state.Status) {
		return ruleError("referral_closed", "the referral is already %s", r.state.Status)
	}
	return nil
}

func (r *referralRun) accept(ctx workflow.Context, c AnswerCommand) (ReferralState, error) {
	if r.holdsBeds() {
		actx := workflow.WithActivityOptions(ctx, readModelActivity)
		var held bool
		if err := workflow.ExecuteActivity(actx, ActivityHoldBed, BedRequest{ReferralID: r.in.ReferralID, AgencyID: r.state.AgencyID}).Get(actx, &held); err != nil {
			return ReferralState{}, err
		}
		if !held {
			return ReferralState{}, ruleError("shelter_full", "the shelter has no free bed; decline with no_capacity")
		}
		r.state.BedHeld = true
	}
	now := workflow.Now(ctx)
	r.state.Status, r.state.AcceptedAt, r.answered = ReferralAccepted, &now, true
	rec := r.base(now)
	rec.Attempt = &AttemptRecord{Attempt: r.state.Attempt, AgencyID: r.state.AgencyID, SentAt: r.state.SentAt, DueAt: r.state.DueAt, AnsweredAt: &now, Answer: "accepted"}
	rec.Obligations = append(rec.Obligations, r.obligation(ObligationMet, &now, nil))
	rec.Events = append(rec.Events, r.event("referral_accepted", c.ActorID, map[string]string{"agency_id": r.state.AgencyID}),
		r.event("obligation_met", "", map[string]string{"obligation": r.answer.ID}))
	if err := r.record(ctx, rec); err != nil {
		return ReferralState{}, err
	}
	r.tellCase(ctx)
	return r.state, nil
}

func (r *referralRun) decline(ctx workflow.Context, c AnswerCommand) (ReferralState, error) {
	now := workflow.Now(ctx)
	r.answered, r.declined = true, true
	rec := r.base(now)
	rec.Attempt = &AttemptRecord{Attempt: r.state.Attempt, AgencyID: r.state.AgencyID, SentAt: r.state.SentAt, DueAt: r.state.DueAt,
		AnsweredAt: &now, Answer: "declined", DeclineReason: c.Reason}
	rec.Obligations = append(rec.Obligations, r.obligation(ObligationMet, &now, nil))
	data := map[string]string{"agency_id": r.state.AgencyID, "reason": c.Reason}
	if c.NoteID != "" {
		data["note_id"] = c.NoteID
	}
	rec.Events = append(rec.Events, r.event("referral_declined", c.ActorID, data),
		r.event("obligation_met", "", map[string]string{"obligation": r.answer.ID}))
	if err := r.record(ctx, rec); err != nil {
		return ReferralState{}, err
	}
	return r.state, nil
}

func (r *referralRun) progress(ctx workflow.Context, c AnswerCommand) (ReferralState, error) {
	rec := r.base(workflow.Now(ctx))
	rec.Events = append(rec.Events, r.event("referral_progress", c.ActorID, map[string]string{"note_id": c.NoteID}))
	if err := r.record(ctx, rec); err != nil {
		return ReferralState{}, err
	}
	return r.state, nil
}

func (r *referralRun) complete(ctx workflow.Context, c AnswerCommand) (ReferralState, error) {
	if err := r.freeBed(ctx); err != nil {
		return ReferralState{}, err
	}
	now := workflow.Now(ctx)
	r.state.Status, r.state.CompletedAt, r.state.Outcome = ReferralCompleted, &now, c.Outcome
	rec := r.base(now)
	rec.Events = append(rec.Events, r.event("referral_completed", c.ActorID, map[string]string{"outcome": c.Outcome}))
	if err := r.record(ctx, rec); err != nil {
		return ReferralState{}, err
	}
	r.tellCase(ctx)
	return r.state, nil
}

// withdrawByOwner is the case owner's withdrawal (UpdateWithdraw).
func (r *referralRun) withdrawByOwner(ctx workflow.Context, _ AnswerCommand) (ReferralState, error) {
	r.withdrawLocked(ctx, "withdrawn_by_owner")
	return r.state, nil
}

// withdraw ends the referral on the case's signal (consent withdrawn, case
// closing), unless it has ended already.
func (r *referralRun) withdraw(ctx workflow.Context, reason string) {
	r.withdrawing = true
	defer func() { r.withdrawing = false }()
	_, _ = locked(ctx, r.mu, func() error { return stillOpen(r, AnswerCommand{}) }, func() (struct{}, error) {
		r.withdrawLocked(ctx, reason)
		return struct{}{}, nil
	})
}

// withdrawLocked ends the open referral wherever it stands: the pending
// answer is cancelled, a held bed is freed. The caller holds r.mu.
func (r *referralRun) withdrawLocked(ctx workflow.Context, reason string) {
	if err := r.freeBed(ctx); err != nil {
		workflow.GetLogger(ctx).Error("free bed", "referral_id", r.in.ReferralID, "error", err)
	}
	now := workflow.Now(ctx)
	wasPending := r.state.Status == ReferralPending && r.state.Attempt > 0 && !r.answered
	r.state.Status, r.state.WithdrawnAt, r.answered = ReferralWithdrawn, &now, true
	rec := r.base(now)
	if wasPending {
		rec.Attempt = &AttemptRecord{Attempt: r.state.Attempt, AgencyID: r.state.AgencyID, SentAt: r.state.SentAt, DueAt: r.state.DueAt, AnsweredAt: &now, Answer: "withdrawn"}
		o := r.obligation(ObligationCancelled, nil, nil)
		o.CancelledAt = &now
		rec.Obligations = append(rec.Obligations, o)
	}
	rec.Events = append(rec.Events, r.event("referral_withdrawn", "", map[string]string{"reason": reason}))
	if err := r.record(ctx, rec); err != nil {
		workflow.GetLogger(ctx).Error("record withdrawal", "referral_id", r.in.ReferralID, "error", err)
	}
	r.tellCase(ctx)
}

// holdsBeds reports whether accepting the referral holds a bed of the
// provider: its service is the SOP's bed service (beds: true).
func (r *referralRun) holdsBeds() bool { return r.in.Service == r.procedure.BedService }

func (r *referralRun) freeBed(ctx workflow.Context) error {
	if !r.state.BedHeld {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, readModelActivity)
	if err := workflow.ExecuteActivity(actx, ActivityFreeBed, BedRequest{ReferralID: r.in.ReferralID, AgencyID: r.state.AgencyID}).Get(actx, nil); err != nil {
		return err
	}
	r.state.BedHeld = false
	return nil
}
