package workflows

import (
	"slices"
	"testing"
	"time"
)

const tm = "2026.1"

func TestAdultFullPath(t *testing.T) {
	h := newHarness(t, monday)
	var afterPrelim, afterRecovery, afterApproval CaseState
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.state(time.Minute, &afterPrelim)
	h.update(time.Hour, UpdateDecide, decide(KindConclusive, OutcomePositive, "decider", "d2"), "")
	h.state(31*24*time.Hour, &afterRecovery)
	h.update(time.Hour, UpdateRequestClosure, ClosureCommand{Command: Command{ActorID: "officer"}, Reason: "reintegrated"}, "")
	h.update(time.Minute, UpdateApproveClosure, Command{ActorID: "officer"}, "approver_is_requester")
	h.update(time.Minute, UpdateApproveClosure, Command{ActorID: "supervisor"}, "")
	h.state(time.Minute, &afterApproval)
	h.update(24*time.Hour, UpdateFollowUp, Command{ActorID: "officer"}, "")
	// The identity is kept through the SOP's retention (1826 days), then shredded.
	var shreddedEarly bool
	h.at += 1825 * 24 * time.Hour
	h.env.RegisterDelayedCallback(func() { shreddedEarly = !h.rec.shreddedAt.IsZero() }, h.at)
	h.at += 2 * 24 * time.Hour
	h.run(adult(tm, true))
	if shreddedEarly || h.rec.shreddedAt.IsZero() {
		t.Errorf("shredded before retention ended: %v; shredded at all: %v", shreddedEarly, !h.rec.shreddedAt.IsZero())
	}

	if afterPrelim.Stage != StageRecovery || afterPrelim.RecoveryEndsAt == nil {
		t.Errorf("after a positive preliminary decision: stage %s, recovery ends %v", afterPrelim.Stage, afterPrelim.RecoveryEndsAt)
	} else if want := monday.Add(time.Hour).AddDate(0, 0, 30); !afterPrelim.RecoveryEndsAt.Equal(want) {
		t.Errorf("recovery ends %s, want %s (30 days)", afterPrelim.RecoveryEndsAt, want)
	}
	if afterRecovery.Stage != StageAssistance {
		t.Errorf("after the recovery period: stage %s, want assistance", afterRecovery.Stage)
	}
	if afterApproval.Stage != StageFollowUp {
		t.Errorf("after approval: stage %s, want follow_up", afterApproval.Stage)
	}
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	want := []string{"case_opened", "screening_submitted", "consent_given", "preliminary_positive", "obligation_met",
		"conclusive_positive", "obligation_met", "obligation_met", "closure_requested", "closure_approved", "obligation_met",
		"follow_up_done", "obligation_met", "case_closed"}
	if got := h.rec.types(); !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	if h.rec.closure != "reintegrated" || h.rec.stages[len(h.rec.stages)-1] != StageClosed {
		t.Errorf("closure reason %q, stages %v", h.rec.closure, h.rec.stages)
	}
	for name, status := range map[string]string{"preliminary_decision": ObligationMet, "recovery_period": ObligationEnded,
		"conclusive_decision": ObligationMet, "closure_review": ObligationMet, "follow_up": ObligationMet} {
		if o := h.rec.obligation(t, name); o.Status != status {
			t.Errorf("%s: %s, want %s", name, o.Status, status)
		}
	}
	for _, n := range h.rec.notifications {
		if n.Kind == "breach" || n.Kind == "escalation" {
			t.Errorf("no deadline was missed, yet %s for %s", n.Kind, n.Obligation)
		}
	}
}

func TestNegativePreliminaryNeedsSecondReview(t *testing.T) {
	h := newHarness(t, monday)
	var pending CaseState
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomeNegative, "decider", "d1"), "")
	h.state(time.Minute, &pending)
	h.update(time.Minute, UpdateReview, ReviewCommand{Command: Command{ActorID: "decider"}, DecisionID: "d1", Confirm: true}, "reviewer_is_decider")
	h.update(time.Minute, UpdateReview, ReviewCommand{Command: Command{ActorID: "reviewer"}, DecisionID: "nope", Confirm: true}, "no_decision")
	h.update(time.Minute, UpdateReview, ReviewCommand{Command: Command{ActorID: "reviewer"}, DecisionID: "d1", Confirm: true}, "")
	h.run(adult(tm, true))

	if pending.Stage != StageIdentification {
		t.Errorf("a negative decision takes effect only after review; stage %s", pending.Stage)
	}
	var needed bool
	for _, n := range h.rec.notifications {
		needed = needed || (n.Kind == "decision_needed" && n.RecipientRole == "competent_authority")
	}
	if !needed {
		t.Errorf("a negative decision must ask the competent authority for the second review")
	}
	if !h.rec.has("negative_review_confirmed") || h.rec.closure != ReasonNotIdentified {
		t.Errorf("events %v closure %q", h.rec.types(), h.rec.closure)
	}
	if o := h.rec.obligation(t, "preliminary_negative_review"); o.Status != ObligationMet {
		t.Errorf("review obligation %s, want met", o.Status)
	}
}

func TestOverturnedNegativeStartsRecovery(t *testing.T) {
	h := newHarness(t, monday)
	var after CaseState
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomeNegative, "decider", "d1"), "")
	h.update(time.Hour, UpdateReview, ReviewCommand{Command: Command{ActorID: "reviewer"}, DecisionID: "d1", Confirm: false}, "")
	h.state(time.Minute, &after)
	h.update(time.Minute, UpdateReview, ReviewCommand{Command: Command{ActorID: "reviewer"}, DecisionID: "d1", Confirm: true}, "already_reviewed")
	h.update(time.Minute, UpdateDecide, decide(KindConclusive, OutcomeNegative, "decider", "d2"), "")
	h.update(time.Minute, UpdateReview, ReviewCommand{Command: Command{ActorID: "reviewer"}, DecisionID: "d2", Confirm: true}, "")
	h.run(adult(tm, true))

	if after.Stage != StageRecovery {
		t.Errorf("overturned negative: stage %s, want recovery", after.Stage)
	}
	if !h.rec.has("negative_review_overturned") || !h.rec.has("preliminary_positive") {
		t.Errorf("events %v", h.rec.types())
	}
	if o := h.rec.obligation(t, "conclusive_negative_review"); o.Status != ObligationMet || h.rec.closure != ReasonNotIdentified {
		t.Errorf("confirmed conclusive negative: review %s, closure %q", o.Status, h.rec.closure)
	}
}

func TestCommandsTheSOPForbidsNow(t *testing.T) {
	h := newHarness(t, monday)
	h.update(time.Minute, UpdateDecide, decide(KindConclusive, OutcomePositive, "decider", "d0"), "preliminary_first")
	h.update(time.Minute, UpdateExtendRecovery, ExtendRecoveryCommand{Command: Command{ActorID: "decider"}, Days: 5}, "no_recovery_period")
	h.update(time.Minute, UpdateGuardian, Command{ActorID: "officer"}, "not_child")
	h.update(time.Minute, UpdateFollowUp, Command{ActorID: "officer"}, "stage")
	h.update(time.Minute, UpdateApproveClosure, Command{ActorID: "supervisor"}, "no_closure_request")
	h.update(time.Minute, UpdateRequestClosure, ClosureCommand{Command: Command{ActorID: "officer"}, Reason: "bored"}, "unknown_closure_reason")
	h.update(time.Minute, UpdateDecide, decide("final", OutcomePositive, "decider", "d1"), "bad_kind")
	h.update(time.Minute, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.update(time.Minute, UpdateDecide, decide(KindPreliminary, OutcomeNegative, "decider", "d2"), "stage")
	h.update(time.Minute, UpdateExtendRecovery, ExtendRecoveryCommand{Command: Command{ActorID: "decider"}, Days: 0}, "bad_days")
	h.run(adult(tm, true))
	if h.rec.has("preliminary_negative") || h.rec.has("conclusive_positive") {
		t.Errorf("a refused command left events: %v", h.rec.types())
	}
}

func TestRecoveryExtension(t *testing.T) {
	h := newHarness(t, monday)
	var day31, day45 CaseState
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.update(24*time.Hour, UpdateExtendRecovery, ExtendRecoveryCommand{Command: Command{ActorID: "decider"}, Days: 14}, "")
	h.state(30*24*time.Hour, &day31)
	h.state(14*24*time.Hour, &day45)
	h.run(adult(tm, true))
	if day31.Stage != StageRecovery {
		t.Errorf("day 31 of an extended period: stage %s, want recovery", day31.Stage)
	}
	if day45.Stage != StageAssistance {
		t.Errorf("day 45: stage %s, want assistance", day45.Stage)
	}
	want := monday.Add(time.Hour).AddDate(0, 0, 44)
	if o := h.rec.obligation(t, "recovery_period"); !o.DueAt.Equal(want) || o.Status != ObligationEnded {
		t.Errorf("recovery period due %s (%s), want %s ended", o.DueAt, o.Status, want)
	}
	if !h.rec.has("recovery_extended") {
		t.Errorf("events %v", h.rec.types())
	}
}

func TestClosureRejectedReturnsToStage(t *testing.T) {
	h := newHarness(t, monday)
	var closure, rejected CaseState
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.update(time.Hour, UpdateRequestClosure, ClosureCommand{Command: Command{ActorID: "officer"}, Reason: "lost_contact"}, "")
	h.state(time.Minute, &closure)
	h.update(time.Minute, UpdateRejectClosure, Command{ActorID: "officer"}, "approver_is_requester")
	h.update(time.Minute, UpdateRejectClosure, Command{ActorID: "supervisor"}, "")
	h.state(time.Minute, &rejected)
	h.run(adult(tm, true))
	var toApprove int
	for _, n := range h.rec.notifications {
		if n.Kind == "closure_to_approve" && n.RecipientRole == "supervisor" {
			toApprove++
		}
	}
	if toApprove != 1 {
		t.Errorf("%d closure_to_approve notifications to the supervisor, want 1", toApprove)
	}
	if closure.Stage != StageClosure || rejected.Stage != StageRecovery || rejected.Closure != nil {
		t.Errorf("closure %s, after rejection %s (%+v), want closure then recovery", closure.Stage, rejected.Stage, rejected.Closure)
	}
	if o := h.rec.obligation(t, "closure_review"); o.Status != ObligationMet {
		t.Errorf("closure review %s, want met by the rejection", o.Status)
	}
}

// The preliminary decision is due at the end of the 5th working day: from
// Monday 10:00, at Tuesday 00:00 of the following week.
var preliminaryDue = time.Date(2026, 11, 24, 0, 0, 0, 0, mustLoc("Asia/Ashgabat"))

func TestDeadlineMetOneMinuteBeforeDue(t *testing.T) {
	h := newHarness(t, monday)
	h.update(preliminaryDue.Sub(monday)-time.Minute, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.run(adult(tm, true))
	o := h.rec.obligation(t, "preliminary_decision")
	if o.Status != ObligationMet || o.MetAt == nil || !o.MetAt.Equal(preliminaryDue.Add(-time.Minute)) || !o.DueAt.Equal(preliminaryDue) {
		t.Errorf("obligation %+v, want met one minute before %s", o, preliminaryDue)
	}
	for _, n := range h.rec.notifications {
		if n.Kind != "reminder" {
			t.Errorf("unexpected %s notification", n.Kind)
		}
	}
}

func TestDeadlineMissedByOneMinute(t *testing.T) {
	h := newHarness(t, monday)
	var late CaseState
	h.state(preliminaryDue.Sub(monday)+time.Minute, &late)
	h.update(time.Minute, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.run(adult(tm, true))
	o := h.rec.obligation(t, "preliminary_decision")
	if o.Status != ObligationBreached || o.BreachedAt == nil || !o.BreachedAt.Equal(preliminaryDue) || o.MetAt != nil {
		t.Errorf("obligation %+v, want breached at %s and never met", o, preliminaryDue)
	}
	roles := map[string]string{}
	for _, n := range h.rec.notifications {
		roles[n.RecipientRole] = n.Kind
	}
	if roles["competent_authority"] != "breach" || roles["supervisor"] != "escalation" || roles["twg"] != "escalation" {
		t.Errorf("notifications by role %v, want breach to the owner and escalation to supervisor and TWG", roles)
	}
	if !h.rec.has("obligation_breached") || late.Stage != StageIdentification {
		t.Errorf("events %v stage %s", h.rec.types(), late.Stage)
	}
	// A late decision still counts: the case moves on, the breach stays recorded.
	if !h.rec.has("preliminary_positive") {
		t.Errorf("the late decision was not recorded")
	}
}

func TestDeadlineAcrossWeekendAndHoliday(t *testing.T) {
	// Friday 25 September 2026; Sunday 27 and Monday 28 are Independence Day.
	friday := time.Date(2026, 9, 25, 10, 0, 0, 0, mustLoc("Asia/Ashgabat"))
	h := newHarness(t, friday)
	h.run(adult(tm, true))
	// Working days: Tue 29, Wed 30, Thu 1, Fri 2, Mon 5 — due at the end of Monday 5 October.
	want := time.Date(2026, 10, 6, 0, 0, 0, 0, mustLoc("Asia/Ashgabat"))
	if o := h.rec.obligation(t, "preliminary_decision"); !o.DueAt.Equal(want) {
		t.Errorf("due %s, want %s", o.DueAt, want)
	}
}

func TestRemindersBeforeTheDeadline(t *testing.T) {
	h := newHarness(t, monday)
	h.update(preliminaryDue.Sub(monday)-time.Hour, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.run(adult(tm, true))
	var reminders int
	for _, n := range h.rec.notifications {
		if n.Kind == "reminder" && n.Obligation == "preliminary_decision" && n.RecipientRole == "competent_authority" {
			reminders++
		}
	}
	if reminders != 1 {
		t.Errorf("%d reminders of the preliminary decision, want 1 (at 3 working days)", reminders)
	}
}

func TestChildTrackGuardianInTime(t *testing.T) {
	h := newHarness(t, monday)
	h.update(time.Hour, UpdateConsent, ConsentCommand{Command: Command{ActorID: "officer"}, Referral: true}, "child_no_consent")
	h.update(time.Hour, UpdateGuardian, Command{ActorID: "officer", NoteID: "n1"}, "")
	h.update(time.Hour, UpdateGuardian, Command{ActorID: "officer"}, "guardian_appointed")
	h.run(child(tm))
	if o := h.rec.obligation(t, "child_protection_notified"); o.Status != ObligationMet {
		t.Errorf("child protection %s, want met", o.Status)
	}
	if h.rec.has("consent_given") {
		t.Errorf("a child's case records no consent: %v", h.rec.types())
	}
}

func TestChildTrackGuardianMissed(t *testing.T) {
	h := newHarness(t, monday)
	var late CaseState
	h.state(25*time.Hour, &late)
	h.run(child(tm))
	roles := map[string]string{}
	for _, n := range h.rec.notifications {
		if n.Obligation == "child_protection_notified" {
			roles[n.RecipientRole] = n.Kind
		}
	}
	if roles["opening_agency"] != "breach" || roles["supervisor"] != "escalation" || roles["competent_authority"] != "escalation" {
		t.Errorf("child-protection notifications %v", roles)
	}
	o := h.rec.obligation(t, "child_protection_notified")
	if o.Status != ObligationBreached || !o.BreachedAt.Equal(monday.Add(24*time.Hour)) {
		t.Errorf("child protection %+v, want breached after 24h", o)
	}
}

func TestAdultDeclinesConsent(t *testing.T) {
	h := newHarness(t, monday)
	var after CaseState
	h.state(1827*24*time.Hour, &after)
	h.run(adult(tm, false))
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	if !h.rec.removed || h.rec.closure != ReasonConsentDeclined || !h.rec.has("consent_declined") {
		t.Errorf("removed identity %v, closure %q, events %v", h.rec.removed, h.rec.closure, h.rec.types())
	}
	if len(h.rec.obligations) != 0 {
		t.Errorf("an anonymous notification starts no obligations: %v", h.rec.obligations)
	}
}

func TestConsentWithdrawnClosesCase(t *testing.T) {
	h := newHarness(t, monday)
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomePositive, "decider", "d1"), "")
	h.update(time.Hour, UpdateWithdrawConsent, Command{ActorID: "officer", NoteID: "n1"}, "")
	h.update(time.Hour, UpdateDecide, decide(KindConclusive, OutcomePositive, "decider", "d2"), "case_closed")
	h.run(adult(tm, true))
	if h.rec.closure != ReasonConsentWithdrawn || h.rec.removed {
		t.Errorf("closure %q removed %v", h.rec.closure, h.rec.removed)
	}
	for _, name := range []string{"recovery_period", "conclusive_decision"} {
		if o := h.rec.obligation(t, name); o.Status != ObligationCancelled {
			t.Errorf("%s: %s, want cancelled on withdrawal", name, o.Status)
		}
	}
}

func TestResumesCarriedStateAndTimers(t *testing.T) {
	h := newHarness(t, monday)
	in := adult(tm, true)
	due := monday.Add(2 * time.Hour)
	in.State = &CaseState{CaseID: in.CaseID, AgencyID: in.AgencyID, SOPVersion: tm, Stage: StageIdentification, Opened: true, Seq: 7,
		Obligations: []ObligationState{{ID: "case-x/preliminary_decision/1", Obligation: "preliminary_decision", Kind: "deadline",
			OwnerRole: "competent_authority", StartsAt: monday.Add(-time.Hour), DueAt: due, Status: ObligationPending}}}
	var state CaseState
	h.state(3*time.Hour, &state)
	h.run(in)
	if len(h.rec.events) == 0 || h.rec.events[0].ID != "case-"+in.CaseID+"/8" {
		t.Errorf("a continued run carries on the event sequence; events %v", h.rec.events)
	}
	if state.Seq != 8 || state.Obligations[0].Status != ObligationBreached {
		t.Errorf("state %+v, want the carried obligation breached by its resumed timer", state)
	}
}
