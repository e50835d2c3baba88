package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Obligation statuses.
const (
	ObligationPending   = "pending"
	ObligationMet       = "met"
	ObligationBreached  = "breached"
	ObligationCancelled = "cancelled"
	// A protected period runs, then ends; it cannot be breached.
	ObligationRunning = "running"
	ObligationEnded   = "ended"
)

// ObligationState is one instance of an SOP obligation in a case: a durable
// timer with reminders, met by an event or breached at its due time.
type ObligationState struct {
	ID            string
	Obligation    string
	Kind          string
	OwnerRole     string
	EscalateTo    []string
	StartsAt      time.Time
	DueAt         time.Time
	RemindAt      []time.Time
	RemindersSent int
	MetAt         *time.Time
	BreachedAt    *time.Time
	CancelledAt   *time.Time
	Status        string
}

func (o *ObligationState) open() bool {
	return o.Status == ObligationPending || o.Status == ObligationRunning
}

func (o *ObligationState) record() ObligationRecord {
	return ObligationRecord{ID: o.ID, Obligation: o.Obligation, Kind: o.Kind, OwnerRole: o.OwnerRole,
		StartsAt: o.StartsAt, DueAt: o.DueAt, MetAt: o.MetAt, BreachedAt: o.BreachedAt, CancelledAt: o.CancelledAt, Status: o.Status}
}

func (r *caseRun) obligation(id string) *ObligationState {
	for i := range r.state.Obligations {
		if r.state.Obligations[i].ID == id {
			return &r.state.Obligations[i]
		}
	}
	return nil
}

// meet marks every open deadline that the event meets, and stops its timer.
func (r *caseRun) meet(event string, now time.Time) []*ObligationState {
	var out []*ObligationState
	for i := range r.state.Obligations {
		o := &r.state.Obligations[i]
		def, ok := r.sop.Obligation(o.Obligation)
		if !ok || o.Status != ObligationPending || !def.IsMetBy(event) {
			continue
		}
		at := now
		o.MetAt, o.Status = &at, ObligationMet
		r.stopTimer(o.ID)
		out = append(out, o)
	}
	return out
}

// start opens the obligations the SOP starts on this event, with due times
// in the SOP's calendar, and returns their IDs.
func (r *caseRun) start(event string, now time.Time) []string {
	var ids []string
	for _, def := range r.sop.ObligationsOn(event, r.state.Child) {
		ids = append(ids, r.startOne(def, now))
	}
	return ids
}

// startOne opens an instance of one obligation of the SOP and returns its ID.
func (r *caseRun) startOne(def sop.Obligation, now time.Time) string {
	o := ObligationState{
		ID:         fmt.Sprintf("%s/%s/%d", CaseWorkflowID(r.state.CaseID), def.ID, r.countOf(def.ID)+1),
		Obligation: def.ID, Kind: def.Kind, OwnerRole: def.Owner, EscalateTo: def.EscalateTo,
		StartsAt: now, Status: ObligationPending,
	}
	if def.Kind == sop.KindProtected {
		o.DueAt, o.Status = r.sop.Calendar.Deadline(now, def.Duration), ObligationRunning
	} else {
		o.DueAt = r.sop.Calendar.Deadline(now, def.Due)
		for _, d := range def.Remind {
			o.RemindAt = append(o.RemindAt, r.sop.Calendar.Deadline(now, d))
		}
	}
	r.state.Obligations = append(r.state.Obligations, o)
	return o.ID
}

func (r *caseRun) countOf(obligation string) int {
	n := 0
	for _, o := range r.state.Obligations {
		if o.Obligation == obligation {
			n++
		}
	}
	return n
}

// cancelAll ends every open obligation when the case closes.
func (r *caseRun) cancelAll(now time.Time) []*ObligationState {
	var out []*ObligationState
	for i := range r.state.Obligations {
		o := &r.state.Obligations[i]
		if !o.open() {
			continue
		}
		at := now
		o.CancelledAt, o.Status = &at, ObligationCancelled
		r.stopTimer(o.ID)
		out = append(out, o)
	}
	return out
}

func (r *caseRun) stopTimer(id string) {
	if cancel, ok := r.cancels[id]; ok {
		cancel()
		delete(r.cancels, id)
	}
}

// resumeTimers restarts the timers of open obligations after continue-as-new.
func (r *caseRun) resumeTimers() {
	for _, o := range r.state.Obligations {
		if o.open() {
			r.watch(o.ID)
		}
	}
}

// watch runs an obligation's durable timer: reminders first, then the due
// time. Meeting the obligation cancels it.
func (r *caseRun) watch(id string) {
	o := r.obligation(id)
	if o == nil {
		return
	}
	ctx, cancel := workflow.WithCancel(r.ctx)
	r.cancels[id] = cancel
	remindAt := append([]time.Time(nil), o.RemindAt...)
	sent := o.RemindersSent
	due := o.DueAt
	workflow.Go(ctx, func(ctx workflow.Context) {
		for i := sent; i < len(remindAt); i++ {
			if !sleepUntil(ctx, remindAt[i]) {
				return
			}
			r.remind(ctx, id, i)
		}
		if !sleepUntil(ctx, due) {
			return
		}
		r.fallDue(ctx, id)
	})
}

// sleepUntil waits for an instant; false when cancelled first.
func sleepUntil(ctx workflow.Context, at time.Time) bool {
	d := at.Sub(workflow.Now(ctx))
	if d > 0 {
		if err := workflow.NewTimer(ctx, d).Get(ctx, nil); err != nil {
			return false
		}
	}
	return ctx.Err() == nil
}

func (r *caseRun) lockForTimer(ctx workflow.Context) bool {
	if err := r.mu.Lock(ctx); err != nil {
		return false
	}
	r.timerWork++
	return true
}

func (r *caseRun) unlockForTimer() {
	r.timerWork--
	r.mu.Unlock()
}

// remind notifies the owner that a deadline is near.
func (r *caseRun) remind(ctx workflow.Context, id string, index int) {
	if !r.lockForTimer(ctx) {
		return
	}
	defer r.unlockForTimer()
	o := r.obligation(id)
	if o == nil || o.Status != ObligationPending || o.RemindersSent > index {
		return
	}
	o.RemindersSent = index + 1
	in := RecordInput{CaseID: r.state.CaseID, AgencyID: r.state.AgencyID, SOPVersion: r.state.SOPVersion, At: workflow.Now(ctx), Stage: r.state.Stage}
	in.Notifications = append(in.Notifications, r.notify("reminder", o, o.OwnerRole, index))
	r.recordOrLog(ctx, in)
}

// fallDue handles an obligation reaching its due time: a deadline still open
// is breached and escalated; a protected period ends.
func (r *caseRun) fallDue(ctx workflow.Context, id string) {
	if !r.lockForTimer(ctx) {
		return
	}
	defer r.unlockForTimer()
	o := r.obligation(id)
	if o == nil || !o.open() {
		return
	}
	now := workflow.Now(ctx)
	delete(r.cancels, id)
	in := RecordInput{CaseID: r.state.CaseID, AgencyID: r.state.AgencyID, SOPVersion: r.state.SOPVersion, At: now}
	if o.Kind == sop.KindProtected {
		o.MetAt, o.Status = &now, ObligationEnded
		in.Obligations = append(in.Obligations, o.record())
		in.Events = append(in.Events, r.event("obligation_met", now, "", map[string]string{"obligation": o.Obligation}))
		if o.Obligation == r.recoveryObligation() && r.state.Stage == StageRecovery {
			r.setStage(ctx, StageAssistance)
		}
		in.Stage = r.state.Stage
		r.recordOrLog(ctx, in)
		return
	}
	o.BreachedAt, o.Status = &now, ObligationBreached
	in.Obligations = append(in.Obligations, o.record())
	in.Events = append(in.Events, r.event("obligation_breached", now, "", map[string]string{"obligation": o.Obligation}))
	in.Notifications = append(in.Notifications, r.notify("breach", o, o.OwnerRole, 0))
	for i, role := range o.EscalateTo {
		in.Notifications = append(in.Notifications, r.notify("escalation", o, role, i))
	}
	in.Stage = r.state.Stage
	r.recordOrLog(ctx, in)
}

func (r *caseRun) notify(kind string, o *ObligationState, role string, n int) NotificationRecord {
	return NotificationRecord{
		ID:   fmt.Sprintf("%s/%s/%s/%d", o.ID, kind, role, n),
		Kind: kind, Obligation: o.Obligation, ObligationID: o.ID, RecipientRole: role, DueAt: o.DueAt,
	}
}

// recordOrLog writes from a timer goroutine, where there is no caller to
// return an error to; the activity retries until PostgreSQL answers.
func (r *caseRun) recordOrLog(ctx workflow.Context, in RecordInput) {
	if err := r.record(ctx, in); err != nil {
		workflow.GetLogger(ctx).Error("record obligation change", "case_id", r.state.CaseID, "error", err)
	}
}

func (r *caseRun) setStage(ctx workflow.Context, stage string) {
	if stage == r.state.Stage {
		return
	}
	r.state.Stage = stage
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStage.ValueSet(stage)); err != nil {
		workflow.GetLogger(ctx).Error("search attributes", "error", err)
	}
}

// recoveryObligation is the protected period that preliminary_positive starts.
func (r *caseRun) recoveryObligation() string {
	for _, o := range r.sop.ObligationsOn("preliminary_positive", r.state.Child) {
		if o.Kind == sop.KindProtected {
			return o.ID
		}
	}
	return ""
}
