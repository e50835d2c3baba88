package workflows

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"

	"github.com/nrm-tm/nrm/internal/sop"
)

// directory stands in for the agency directory behind the routing and bed
// activities; their SQL is tested against PostgreSQL in the integration tests.
type directory struct {
	mu        sync.Mutex
	providers []string
	beds      map[string]int
	steps     []ReferralRecordInput
}

func (d *directory) next(_ context.Context, q ProviderQuery) (string, error) {
	if q.Requested != "" && !slices.Contains(q.Exclude, q.Requested) {
		return q.Requested, nil
	}
	for _, p := range d.providers {
		if !slices.Contains(q.Exclude, p) {
			return p, nil
		}
	}
	return "", nil
}

func (d *directory) hold(_ context.Context, r BedRequest) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.beds[r.AgencyID] <= 0 {
		return false, nil
	}
	d.beds[r.AgencyID]--
	return true, nil
}

func (d *directory) free(_ context.Context, r BedRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.beds[r.AgencyID]++
	return nil
}

func (d *directory) record(_ context.Context, in ReferralRecordInput) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.steps = append(d.steps, in)
	return nil
}

func (d *directory) events() []string {
	var out []string
	for _, s := range d.steps {
		for _, e := range s.Events {
			out = append(out, e.Type)
		}
	}
	return out
}

func (d *directory) last() ReferralRow { return d.steps[len(d.steps)-1].Referral }

func (d *directory) notified(kind string) []string {
	var out []string
	for _, s := range d.steps {
		for _, n := range s.Notifications {
			if n.Kind == kind {
				out = append(out, n.RecipientRole+":"+n.RecipientAgencyID)
			}
		}
	}
	return out
}

func newReferralHarness(t *testing.T, d *directory) *harness {
	return newCaseAndReferralHarness(t, d)
}

func newCaseAndReferralHarness(t *testing.T, d *directory) *harness {
	return newCaseAndReferralHarnessWith(t, d, loadSOPs(t))
}

func newCaseAndReferralHarnessWith(t *testing.T, d *directory, set *sop.Set) *harness {
	h := newHarnessWith(t, monday, set)
	h.env.RegisterActivityWithOptions(d.next, activity.RegisterOptions{Name: ActivityNextProvider})
	h.env.RegisterActivityWithOptions(d.hold, activity.RegisterOptions{Name: ActivityHoldBed})
	h.env.RegisterActivityWithOptions(d.free, activity.RegisterOptions{Name: ActivityFreeBed})
	h.env.RegisterActivityWithOptions(d.record, activity.RegisterOptions{Name: ActivityRecordReferral})
	// A referral run alone, or one that outlives its closed case, has no case to tell.
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalReferralStatus, mock.Anything).Return(nil).Maybe()
	return h
}

func referralInput(service string) ReferralInput {
	return ReferralInput{ReferralID: "r1", CaseID: "11111111-2222-3333-4444-555555555555", CaseAgencyID: "police",
		Service: service, Urgent: service == "shelter", Region: "lebap", SenderID: "officer", SOPVersion: tm}
}

func answer(agency string) AnswerCommand {
	return AnswerCommand{Command: Command{ActorID: "worker-" + agency, ActorAgencyID: agency}}
}

func (h *harness) runReferral(in ReferralInput) {
	h.env.RegisterDelayedCallback(func() {
		if !h.env.IsWorkflowCompleted() {
			h.env.CancelWorkflow()
		}
	}, h.at+time.Second)
	h.env.ExecuteWorkflow(ReferralWorkflowName, in)
}

func TestReferralAcceptedInTime(t *testing.T) {
	d := &directory{providers: []string{"shelter-a", "shelter-b"}, beds: map[string]int{"shelter-a": 1}}
	h := newReferralHarness(t, d)
	h.update(time.Hour, UpdateAccept, answer("shelter-b"), "not_addressee")
	h.update(time.Minute, UpdateAccept, answer("shelter-a"), "")
	h.update(time.Minute, UpdateAccept, answer("shelter-a"), "already_answered")
	h.update(time.Hour, UpdateProgress, answer("shelter-a"), "")
	h.update(time.Hour, UpdateComplete, AnswerCommand{Command: Command{ActorID: "w", ActorAgencyID: "shelter-a"}, Outcome: "service_provided"}, "")
	h.runReferral(referralInput("shelter"))
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	want := []string{"referral_sent", "referral_accepted", "obligation_met", "referral_progress", "referral_completed"}
	if got := d.events(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if d.beds["shelter-a"] != 1 {
		t.Errorf("beds of shelter-a = %d: the bed held on acceptance must be freed on completion", d.beds["shelter-a"])
	}
	if r := d.last(); r.Status != ReferralCompleted || r.Outcome != "service_provided" || r.Redirections != 0 {
		t.Errorf("final row %+v", r)
	}
}

func TestReferralDeclinedThenRedirected(t *testing.T) {
	d := &directory{providers: []string{"a", "b"}}
	h := newReferralHarness(t, d)
	h.update(time.Hour, UpdateDecline, AnswerCommand{Command: Command{ActorID: "w", ActorAgencyID: "a"}, Reason: "because"}, "bad_reason")
	h.update(time.Minute, UpdateDecline, AnswerCommand{Command: Command{ActorID: "w", ActorAgencyID: "a"}, Reason: "no_capacity"}, "")
	h.update(time.Minute, UpdateAccept, answer("b"), "")
	h.runReferral(referralInput("legal_aid"))
	if got := d.events(); !slices.Contains(got, "referral_declined") || !slices.Contains(got, "referral_redirected") || !slices.Contains(got, "referral_accepted") {
		t.Errorf("events %v", got)
	}
	if r := d.last(); r.AgencyID != "b" || r.Redirections != 1 || r.Status != ReferralAccepted {
		t.Errorf("final row %+v, want accepted by b after one redirection", r)
	}
}

func TestReferralNotAnsweredThenRedirected(t *testing.T) {
	d := &directory{providers: []string{"a", "b"}}
	h := newReferralHarness(t, d)
	// legal_aid must be answered within 2 working days: Wednesday 00:00 from Monday 10:00.
	due := time.Date(2026, 11, 19, 0, 0, 0, 0, mustLoc("Asia/Ashgabat"))
	h.update(due.Sub(monday)+time.Minute, UpdateAccept, answer("a"), "not_addressee")
	h.update(time.Minute, UpdateAccept, answer("b"), "")
	h.runReferral(referralInput("legal_aid"))
	if got := d.notified("breach"); len(got) != 1 || got[0] != "provider:a" {
		t.Errorf("breach notifications %v, want one to provider a", got)
	}
	if got := d.notified("escalation"); len(got) == 0 {
		t.Errorf("a missed answer must be escalated")
	}
	if r := d.last(); r.AgencyID != "b" || r.Status != ReferralAccepted || r.Redirections != 1 {
		t.Errorf("final row %+v", r)
	}
}

func TestReferralAnswerAfterDeadlineRefused(t *testing.T) {
	d := &directory{providers: []string{"a"}, beds: map[string]int{"a": 1}}
	h := newReferralHarness(t, d)
	h.update(2*time.Hour, UpdateAccept, answer("a"), "")
	h.runReferral(referralInput("shelter")) // 4h deadline: accepted in time
	if d.last().Status != ReferralAccepted {
		t.Fatalf("status %s", d.last().Status)
	}
	d2 := &directory{providers: []string{"a"}}
	h2 := newReferralHarness(t, d2)
	h2.update(4*time.Hour+time.Second, UpdateAccept, answer("a"), "already_answered")
	h2.runReferral(referralInput("shelter"))
	if d2.last().Status != ReferralUnrouted {
		t.Errorf("the only provider missed the deadline: status %s, want unrouted", d2.last().Status)
	}
}

func TestReferralAllProvidersExhausted(t *testing.T) {
	d := &directory{providers: []string{"a", "b"}}
	h := newReferralHarness(t, d)
	h.update(time.Minute, UpdateDecline, AnswerCommand{Command: Command{ActorID: "w", ActorAgencyID: "a"}, Reason: "no_capacity"}, "")
	h.update(time.Minute, UpdateDecline, AnswerCommand{Command: Command{ActorID: "w", ActorAgencyID: "b"}, Reason: "language"}, "")
	h.runReferral(referralInput("legal_aid"))
	if !h.env.IsWorkflowCompleted() || h.env.GetWorkflowError() != nil {
		t.Fatalf("completed %v err %v", h.env.IsWorkflowCompleted(), h.env.GetWorkflowError())
	}
	if r := d.last(); r.Status != ReferralUnrouted || r.AgencyID != "" {
		t.Errorf("final row %+v, want unrouted", r)
	}
	got := d.notified("escalation")
	if !slices.Contains(got, "opening_agency:") || !slices.Contains(got, "supervisor:") {
		t.Errorf("escalations %v, want the case owner and their supervisor", got)
	}
}

func TestReferralWithdrawnFreesBed(t *testing.T) {
	d := &directory{providers: []string{"a"}, beds: map[string]int{"a": 1}}
	h := newReferralHarness(t, d)
	h.update(time.Minute, UpdateAccept, answer("a"), "")
	h.at += time.Hour
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalWithdrawReferral, "consent_withdrawn")
	}, h.at)
	h.update(time.Minute, UpdateComplete, answer("a"), "not_accepted")
	h.runReferral(referralInput("shelter"))
	if r := d.last(); r.Status != ReferralWithdrawn || r.WithdrawnAt == nil {
		t.Errorf("final row %+v, want withdrawn; events %v; err %v", r, d.events(), h.env.GetWorkflowError())
	}
	if d.beds["a"] != 1 {
		t.Errorf("beds = %d, the withdrawn referral's bed must be freed", d.beds["a"])
	}
}

func TestFullShelterCannotAccept(t *testing.T) {
	d := &directory{providers: []string{"a"}, beds: map[string]int{"a": 0}}
	h := newReferralHarness(t, d)
	h.update(time.Minute, UpdateAccept, answer("a"), "shelter_full")
	h.runReferral(referralInput("shelter"))
}

// TestConsentWithdrawalWithdrawsReferrals runs a case with a child referral:
// withdrawing consent withdraws the open referral.
func TestConsentWithdrawalWithdrawsReferrals(t *testing.T) {
	d := &directory{providers: []string{"a"}, beds: map[string]int{"a": 3}}
	h := newCaseAndReferralHarness(t, d)
	var withOpen CaseState
	h.update(time.Hour, UpdateRefer, ReferCommand{Command: Command{ActorID: "officer", ActorAgencyID: "police"}, ReferralID: "r9", Service: "legal_aid"}, "not_yet")
	h.update(time.Minute, UpdateRefer, ReferCommand{Command: Command{ActorID: "officer", ActorAgencyID: "police"}, ReferralID: "r1", Service: "shelter"}, "")
	h.update(time.Minute, UpdateRefer, ReferCommand{Command: Command{ActorID: "officer", ActorAgencyID: "police"}, ReferralID: "r2", Service: "shelter"}, "duplicate_referral")
	h.update(time.Minute, UpdateRequestClosure, ClosureCommand{Command: Command{ActorID: "officer"}, Reason: "lost_contact"}, "open_referrals")
	h.state(time.Minute, &withOpen)
	h.update(time.Minute, UpdateWithdrawConsent, Command{ActorID: "officer"}, "")
	h.run(adult(tm, true))
	if len(withOpen.Referrals) != 1 || withOpen.Referrals[0].Status != ReferralPending {
		t.Errorf("referrals %+v", withOpen.Referrals)
	}
	if r := d.last(); r.ID != "r1" || r.Status != ReferralWithdrawn {
		t.Errorf("referral after consent withdrawal: %+v, want withdrawn", r)
	}
}
