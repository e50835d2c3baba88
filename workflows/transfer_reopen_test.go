package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// The rules of the transfer and the reopening, each broken on its own.
func TestTransferAndReopenRules(t *testing.T) {
	supervisor, decider := by(RoleSupervisor, "supervisor"), by(RoleCompetentAuthority, "decider")
	closed := func(reason string) func(s *CaseState) { return func(s *CaseState) { s.ClosureReason = reason } }
	cases := []struct {
		name, update, stage string
		state               func(s *CaseState)
		cmd                 caseCommand
		want                string
	}{
		{"transfer to the case's own agency", UpdateTransfer, StageRecovery, nil, TransferCommand{Command: supervisor, AgencyID: owningAgency}, "same_agency"},
		{"transfer by the authority", UpdateTransfer, StageClosure, nil, TransferCommand{Command: decider, AgencyID: "agency-2"}, ""},
		{"transfer of a closed case", UpdateTransfer, StageClosed, nil, TransferCommand{Command: decider, AgencyID: "agency-2"}, "case_closed"},
		{"reopen an open case", UpdateReopen, StageAssistance, nil, ReopenCommand{Command: decider, Reason: sop.ReopenNewInformation}, "not_closed"},
		{"reopen for no reason the engine knows", UpdateReopen, StageClosed, nil, ReopenCommand{Command: decider, Reason: "bored"}, "bad_reason"},
		{"reopen a declined screening", UpdateReopen, StageClosed, closed(ReasonConsentDeclined), ReopenCommand{Command: supervisor, Reason: sop.ReopenReTrafficked}, "identity_gone"},
		{"reopen a withdrawn case", UpdateReopen, StageClosed, closed(ReasonConsentWithdrawn), ReopenCommand{Command: supervisor, Reason: sop.ReopenReTrafficked}, ""},
		{"reopen by an officer", UpdateReopen, StageClosed, nil, ReopenCommand{Command: by(RoleFrontline, "officer"), Reason: sop.ReopenReTrafficked}, "role"},
	}
	for _, c := range cases {
		r := procedureCase(t, tm, c.stage, fixture{state: c.state})
		if got := ruleOf(r.allows(row(t, c.update), c.cmd)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	r := procedureCase(t, tm, StageClosed, fixture{})
	r.retentionOver = true
	if got := ruleOf(r.allows(row(t, UpdateReopen), ReopenCommand{Command: decider, Reason: sop.ReopenReTrafficked})); got != "retention_ended" {
		t.Errorf("reopen once retention has ended: %q, want retention_ended", got)
	}
	// The actions of a closed case: the reopening, for those who may give it.
	r = procedureCase(t, tm, StageClosed, fixture{})
	if a := r.actions(supervisor); !slices.Equal(a.Commands, []string{UpdateReopen}) {
		t.Errorf("a supervisor on a closed case is offered %v, want [reopen]", a.Commands)
	}
	if a := r.actions(by(RoleFrontline, "officer")); len(a.Commands) != 0 {
		t.Errorf("an officer on a closed case is offered %v", a.Commands)
	}
	if a := procedureCase(t, tm, StageRecovery, fixture{}).actions(supervisor); !a.Allows(UpdateTransfer) || a.Allows(UpdateReopen) {
		t.Errorf("a supervisor on an open case is offered %v", a.Commands)
	}
}

// A transferred case belongs to the new agency from the transfer on: the
// old agency's supervisor is refused, the new one's acts; the read model is
// told to move the case and its region, and both agencies are notified.
func TestTransferMovesTheCase(t *testing.T) {
	h := newHarness(t, monday)
	in := adult(tm, true)
	in.Region = "lebap"
	oldSupervisor := Command{ActorID: "supervisor-1", ActorRole: RoleSupervisor, ActorAgencyID: in.AgencyID}
	newSupervisor := Command{ActorID: "supervisor-2", ActorRole: RoleSupervisor, ActorAgencyID: "agency-2"}
	decider := Command{ActorID: "decider", ActorRole: RoleCompetentAuthority, ActorAgencyID: "authority"}
	var after CaseState
	h.update(time.Hour, UpdateTransfer, TransferCommand{Command: newSupervisor, AgencyID: "agency-2"}, "agency")
	h.update(time.Minute, UpdateTransfer, TransferCommand{Command: Command{ActorID: "officer", ActorRole: RoleFrontline, ActorAgencyID: in.AgencyID}, AgencyID: "agency-2"}, "role")
	h.update(time.Minute, UpdateTransfer, TransferCommand{Command: oldSupervisor, AgencyID: "agency-2", Region: "dashoguz"}, "")
	h.state(time.Minute, &after)
	h.update(time.Minute, UpdateRequestClosure, ClosureCommand{Command: oldSupervisor, Reason: "lost_contact"}, "agency")
	h.update(time.Minute, UpdateTransfer, TransferCommand{Command: decider, AgencyID: "agency-2"}, "same_agency")
	h.update(time.Minute, UpdateRequestClosure, ClosureCommand{Command: Command{ActorID: "officer-2", ActorRole: RoleFrontline, ActorAgencyID: "agency-2"}, Reason: "lost_contact"}, "")
	h.update(time.Minute, UpdateApproveClosure, newSupervisor, "")
	h.run(in)

	if after.AgencyID != "agency-2" || after.Region != "dashoguz" || after.Stage != StageIdentification {
		t.Errorf("after the transfer: agency %s, region %s, stage %s", after.AgencyID, after.Region, after.Stage)
	}
	if len(h.rec.transfers) != 1 || h.rec.transfers[0] != (TransferRecord{FromAgencyID: in.AgencyID, ToAgencyID: "agency-2", Region: "dashoguz"}) {
		t.Errorf("transfers recorded %+v", h.rec.transfers)
	}
	var ev *EventRecord
	for i := range h.rec.events {
		if h.rec.events[i].Type == "case_transferred" {
			ev = &h.rec.events[i]
		}
	}
	if ev == nil || ev.ActorID != "supervisor-1" || ev.Data["from_agency_id"] != in.AgencyID || ev.Data["to_agency_id"] != "agency-2" ||
		ev.Data["from_region"] != "lebap" || ev.Data["to_region"] != "dashoguz" {
		t.Errorf("case_transferred event %+v", ev)
	}
	told := map[string]string{}
	for _, n := range h.rec.notifications {
		if n.Kind == NotificationTransferred || n.Kind == NotificationTransferredAway {
			told[n.Kind] = n.RecipientAgencyID
			if n.RecipientRole != RecipientAgency {
				t.Errorf("%s addressed to role %s, want the agency as a whole", n.Kind, n.RecipientRole)
			}
		}
	}
	if told[NotificationTransferred] != "agency-2" || told[NotificationTransferredAway] != in.AgencyID {
		t.Errorf("transfer notifications %v", told)
	}
	if !h.rec.has("closure_approved") {
		t.Errorf("the new agency's closure: events %v", h.rec.types())
	}
}

// nextRun returns the input the workflow continued as new with.
func nextRun(t *testing.T, h *harness) CaseInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the workflow ended with %v, want to continue as new", err)
	}
	var next CaseInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil {
		t.Fatal("continued as new without its state")
	}
	return next
}

// A case closed by a withdrawal and reopened because the person was
// trafficked again: a new run from identification (the SOP's default for
// the reason), linked to the one before, with the identification deadline
// started anew, the re-trafficking flag set and consent to be given again.
func TestReopenStartsANewRun(t *testing.T) {
	h := newHarness(t, monday)
	in := adult(tm, true)
	supervisor := Command{ActorID: "supervisor", ActorRole: RoleSupervisor, ActorAgencyID: in.AgencyID}
	h.update(time.Hour, UpdateWithdrawConsent, Command{ActorID: "officer", ActorRole: RoleFrontline, ActorAgencyID: in.AgencyID}, "")
	h.update(24*time.Hour, UpdateReopen, ReopenCommand{Command: Command{ActorID: "other", ActorRole: RoleSupervisor, ActorAgencyID: "agency-2"}, Reason: sop.ReopenReTrafficked}, "agency")
	h.update(10*24*time.Hour, UpdateReopen, ReopenCommand{Command: supervisor, Reason: sop.ReopenReTrafficked}, "")
	h.at += time.Minute
	h.run(in)

	next := nextRun(t, h)
	st := next.State
	if st.Stage != StageIdentification || st.Reopened != 1 || !st.ReTrafficked || st.ClosureReason != "" || st.ConsentWithdrawn ||
		st.ConsentReferral != nil || len(st.Decisions) != 0 {
		t.Errorf("the new run's state: %+v", st)
	}
	pending := 0
	for _, o := range st.Obligations {
		if o.Status == ObligationPending {
			pending++
			if o.ID != CaseWorkflowID(in.CaseID)+"/preliminary_decision/2" {
				t.Errorf("pending obligation %s, want the second preliminary_decision", o.ID)
			}
		}
	}
	if pending != 1 {
		t.Errorf("%d pending obligations after reopening, want 1: %+v", pending, st.Obligations)
	}
	var ev *EventRecord
	for i := range h.rec.events {
		if h.rec.events[i].Type == "case_reopened" {
			ev = &h.rec.events[i]
		}
	}
	if ev == nil || ev.Data["reason"] != sop.ReopenReTrafficked || ev.Data["stage"] != StageIdentification || ev.Data["run"] != "2" ||
		ev.Data["previous_run_id"] == "" || ev.ActorID != "supervisor" {
		t.Errorf("case_reopened event %+v", ev)
	}
	if len(h.rec.reopens) != 1 || h.rec.reopens[0] != (ReopenRecord{Reason: sop.ReopenReTrafficked, Count: 1, ReTrafficked: true}) {
		t.Errorf("reopenings recorded %+v", h.rec.reopens)
	}
	if last := h.rec.stages[len(h.rec.stages)-1]; last != StageIdentification {
		t.Errorf("last stage recorded %s", last)
	}
	if !h.rec.shreddedAt.IsZero() {
		t.Errorf("the identity of a reopened case was destroyed")
	}

	// The new run goes on from the carried state: the owner records consent
	// again, the authority decides, and the identification deadline is met.
	h2 := newHarness(t, monday.Add(11*24*time.Hour+2*time.Hour))
	var after CaseState
	h2.update(time.Minute, UpdateRefer, ReferCommand{Command: supervisor, ReferralID: "r1", Service: "shelter"}, "no_consent")
	h2.update(time.Minute, UpdateConsent, ConsentCommand{Command: supervisor, Referral: true, DataSharing: false}, "")
	h2.update(time.Minute, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d2"), "")
	h2.state(time.Minute, &after)
	h2.run(next)
	if after.Stage != StageRecovery || len(after.Decisions) != 1 || after.Seq <= st.Seq {
		t.Errorf("the new run after a decision: stage %s, decisions %+v, seq %d (was %d)", after.Stage, after.Decisions, after.Seq, st.Seq)
	}
	if o := h2.rec.obligations[CaseWorkflowID(in.CaseID)+"/preliminary_decision/2"]; o.Status != ObligationMet {
		t.Errorf("the second preliminary_decision: %+v", o)
	}
}

// An overturned decision reopens a case closed as not identified into the
// recovery stage of the default: the preliminary decision stands positive
// and the recovery period runs.
func TestReopenAfterAnOverturnedDecision(t *testing.T) {
	h := newHarness(t, monday)
	in := adult(tm, true)
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomeNegative, "decider", "d1"), "")
	h.update(time.Hour, UpdateReview, ReviewCommand{Command: Command{ActorID: "reviewer"}, DecisionID: "d1", Confirm: true}, "")
	h.update(30*24*time.Hour, UpdateReopen, ReopenCommand{Command: Command{ActorID: "decider", ActorRole: RoleCompetentAuthority, ActorAgencyID: "authority"},
		Reason: sop.ReopenDecisionOverturned, DecisionID: "d3"}, "")
	h.at += time.Minute
	h.run(in)

	st := nextRun(t, h).State
	if st.Stage != StageRecovery || len(st.Decisions) != 1 || st.Decisions[0].ID != "d3" || st.Decisions[0].Outcome != OutcomePositive ||
		st.ReTrafficked || st.RecoveryEndsAt == nil {
		t.Errorf("reopened after an overturned decision: %+v", st)
	}
	running := map[string]string{}
	for _, o := range st.Obligations {
		if o.Status == ObligationPending || o.Status == ObligationRunning {
			running[o.Obligation] = o.Status
		}
	}
	if len(running) != 2 || running["recovery_period"] != ObligationRunning || running["conclusive_decision"] != ObligationPending {
		t.Errorf("open obligations after reopening into recovery: %v", running)
	}
	if got := h.rec.types(); !slices.Contains(got, "case_reopened") || got[len(got)-1] != "preliminary_positive" {
		t.Errorf("events %v", got)
	}
}
