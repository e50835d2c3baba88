package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"
)

// ReferralRef is the case's view of one of its referrals.
type ReferralRef struct {
	ID      string
	Service string
	Status  string
	// Routed is set once the referral is with a provider (or none was found).
	Routed   bool
	AgencyID string
}

func (r *caseRun) openReferrals() int {
	n := 0
	for _, ref := range r.state.Referrals {
		if ReferralOpen(ref.Status) {
			n++
		}
	}
	return n
}

// refer starts the referral's workflow and answers once the referral is in a
// provider's inbox. The referral records its own events.
func refer(r *caseRun, ctx workflow.Context, c ReferCommand) (transition, error) {
	svc, _ := r.sop.Service(c.Service)
	r.state.Referrals = append(r.state.Referrals, ReferralRef{ID: c.ReferralID, Service: c.Service, Status: ReferralPending})
	opts := workflow.ChildWorkflowOptions{
		WorkflowID: ReferralWorkflowID(c.ReferralID),
		// A referral outlives a continue-as-new of its case; the case
		// withdraws open referrals itself when it closes.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), ReferralWorkflowName, ReferralInput{
		ReferralID: c.ReferralID, CaseID: r.state.CaseID, CaseAgencyID: c.ActorAgencyID, Service: c.Service, Urgent: svc.Urgent,
		Region: r.state.Region, SenderID: c.ActorID, RequestedAgencyID: c.RequestedAgencyID, NoteID: c.NoteID,
		SOPVersion: r.sop.Version, SOPHash: r.sop.Hash,
	})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return transition{}, fmt.Errorf("start referral %s: %w", c.ReferralID, err)
	}
	// Answer once the referral is in a provider's inbox; routing is one
	// activity, so this is quick — the bound only keeps a stuck routing
	// from holding the sender.
	id := c.ReferralID
	if _, err := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return r.referral(id).Routed }); err != nil {
		return transition{}, err
	}
	return transition{}, nil
}

// listenToReferrals keeps the case's view of its referrals current.
func (r *caseRun) listenToReferrals() {
	ch := workflow.GetSignalChannel(r.ctx, SignalReferralStatus)
	workflow.Go(r.ctx, func(ctx workflow.Context) {
		for {
			var st ReferralStatus
			if !ch.Receive(ctx, &st) {
				return
			}
			r.referralStatus(st)
		}
	})
}

// drainReferralSignals applies signals that arrived but were not yet read,
// so that continue-as-new carries them.
func (r *caseRun) drainReferralSignals() {
	ch := workflow.GetSignalChannel(r.ctx, SignalReferralStatus)
	for {
		var st ReferralStatus
		if !ch.ReceiveAsync(&st) {
			return
		}
		r.referralStatus(st)
	}
}

func (r *caseRun) referralStatus(st ReferralStatus) {
	if ref := r.referral(st.ReferralID); ref != nil {
		ref.Status, ref.Routed, ref.AgencyID = st.Status, true, st.AgencyID
	}
}

func (r *caseRun) referral(id string) *ReferralRef {
	for i := range r.state.Referrals {
		if r.state.Referrals[i].ID == id {
			return &r.state.Referrals[i]
		}
	}
	return &ReferralRef{} // unknown: treated as not routed
}

// withdrawReferrals withdraws every open referral when the case closes or
// consent is withdrawn: nothing more is shared with providers.
func (r *caseRun) withdrawReferrals(ctx workflow.Context, reason string) {
	for i := range r.state.Referrals {
		ref := &r.state.Referrals[i]
		if !ReferralOpen(ref.Status) {
			continue
		}
		f := workflow.SignalExternalWorkflow(ctx, ReferralWorkflowID(ref.ID), "", SignalWithdrawReferral, reason)
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("withdraw referral", "referral_id", ref.ID, "error", err)
		}
		ref.Status = ReferralWithdrawn
	}
}
