package workflows

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/nrm-tm/nrm/internal/sop"
)

const (
	tm2 = "2026.2" // the recovery period forbids a conclusive decision
	// The case's agency in the table tests.
	owningAgency = "agency-1"
)

var (
	allRoles  = []string{RoleFrontline, RoleSupervisor, RoleCompetentAuthority, RoleProvider, "twg", "admin"}
	allStages = []string{StageIdentification, StageRecovery, StageAssistance, StageClosure, StageFollowUp, StageClosed}
)

// ruleOf returns the rule an error names: "" for nil, the error itself when
// it names none.
func ruleOf(err error) string {
	if err == nil {
		return ""
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return err.Error()
}

func by(role, id string) Command {
	return Command{ActorID: id, ActorRole: role, ActorAgencyID: owningAgency}
}

// fixture is a command on a case in a state where every rule of the command
// but its stage and role holds.
type fixture struct {
	state func(s *CaseState)
	cmd   func(c Command) caseCommand
}

func runningRecovery(s *CaseState) {
	s.Obligations = append(s.Obligations, ObligationState{ID: "case-x/recovery_period/1", Obligation: "recovery_period",
		Kind: sop.KindProtected, Status: ObligationRunning, DueAt: monday.AddDate(0, 0, 30)})
}

func positivePreliminary(s *CaseState) {
	s.Decisions = append(s.Decisions, Decision{ID: "d1", Kind: KindPreliminary, Outcome: OutcomePositive, DecidedBy: "decider"})
}

var fixtures = map[string]fixture{
	UpdateConsent:         {cmd: func(c Command) caseCommand { return ConsentCommand{Command: c, Referral: true, DataSharing: true} }},
	UpdateWithdrawConsent: {cmd: func(c Command) caseCommand { return c }},
	UpdateGuardian: {state: func(s *CaseState) { s.Child, s.ConsentReferral = true, nil },
		cmd: func(c Command) caseCommand { return c }},
	UpdateDecide: {state: positivePreliminary,
		cmd: func(c Command) caseCommand {
			return DecideCommand{Command: c, DecisionID: "d2", Kind: KindConclusive, Outcome: OutcomePositive}
		}},
	UpdateReview: {state: func(s *CaseState) {
		s.Decisions = append(s.Decisions, Decision{ID: "d1", Kind: KindPreliminary, Outcome: OutcomeNegative, DecidedBy: "decider"})
	}, cmd: func(c Command) caseCommand { return ReviewCommand{Command: c, DecisionID: "d1", Confirm: true} }},
	UpdateExtendRecovery: {state: runningRecovery,
		cmd: func(c Command) caseCommand { return ExtendRecoveryCommand{Command: c, Days: 14} }},
	UpdateRefer:          {cmd: func(c Command) caseCommand { return ReferCommand{Command: c, ReferralID: "r1", Service: "shelter"} }},
	UpdateRequestClosure: {cmd: func(c Command) caseCommand { return ClosureCommand{Command: c, Reason: "reintegrated"} }},
	UpdateApproveClosure: {state: func(s *CaseState) {
		s.Closure = &Closure{Reason: "reintegrated", RequestedBy: "officer", PriorStage: StageAssistance}
	}, cmd: func(c Command) caseCommand { return c }},
	UpdateRejectClosure: {state: func(s *CaseState) {
		s.Closure = &Closure{Reason: "reintegrated", RequestedBy: "officer", PriorStage: StageAssistance}
	}, cmd: func(c Command) caseCommand { return c }},
	UpdateFollowUp: {cmd: func(c Command) caseCommand { return c }},
	UpdateTransfer: {cmd: func(c Command) caseCommand { return TransferCommand{Command: c, AgencyID: "agency-3"} }},
	UpdateReopen: {cmd: func(c Command) caseCommand {
		return ReopenCommand{Command: c, Reason: sop.ReopenReTrafficked, DecisionID: "d9"}
	}},
}

// procedureCase returns a run of an adult's case, consent given, under
// version, in stage, as the fixture of a command sets it up.
func procedureCase(t *testing.T, version, stage string, f fixture) *caseRun {
	t.Helper()
	procedure, ok := loadSOPs(t).Get(version)
	if !ok {
		t.Fatalf("no SOP %s", version)
	}
	r := &caseRun{sop: procedure, state: CaseState{CaseID: "c1", AgencyID: owningAgency, SOPVersion: version, Stage: stage,
		Opened: true, ConsentReferral: ptr(true), ConsentDataSharing: ptr(true), ClosureReason: "reintegrated"}}
	if f.state != nil {
		f.state(&r.state)
	}
	return r
}

func row(t *testing.T, name string) commandRule {
	t.Helper()
	for _, r := range caseCommands {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("no row %s in caseCommands", name)
	return commandRule{}
}

// TestCommandTable gives every command of the case, in every stage, as
// every role, and checks the answer against the procedure as
// docs/process.md#commands states it: allowed, or refused with the rule
// that refuses it.
func TestCommandTable(t *testing.T) {
	owners := []string{RoleFrontline, RoleSupervisor}
	authority := []string{RoleCompetentAuthority}
	active := []string{StageIdentification, StageRecovery, StageAssistance}
	open := []string{StageIdentification, StageRecovery, StageAssistance, StageClosure, StageFollowUp}
	spec := map[string]struct {
		roles, stages []string
		outOfStage    string
	}{
		UpdateConsent:         {owners, open, "stage"},
		UpdateWithdrawConsent: {owners, open, "stage"},
		UpdateGuardian:        {owners, open, "stage"},
		UpdateDecide:          {authority, active, "stage"},
		UpdateReview:          {authority, open, "stage"},
		UpdateExtendRecovery:  {authority, open, "stage"},
		UpdateRefer:           {[]string{RoleFrontline, RoleSupervisor, RoleCompetentAuthority}, active, "stage"},
		UpdateRequestClosure:  {owners, active, "stage"},
		UpdateApproveClosure:  {[]string{RoleSupervisor}, []string{StageClosure}, "no_closure_request"},
		UpdateRejectClosure:   {[]string{RoleSupervisor}, []string{StageClosure}, "no_closure_request"},
		UpdateFollowUp:        {owners, []string{StageFollowUp}, "stage"},
		UpdateTransfer:        {[]string{RoleSupervisor, RoleCompetentAuthority}, open, "stage"},
		UpdateReopen:          {[]string{RoleSupervisor, RoleCompetentAuthority}, []string{StageClosed}, "not_closed"},
	}
	if len(spec) != len(caseCommands) {
		t.Fatalf("the table has %d commands, the test knows %d", len(caseCommands), len(spec))
	}
	for _, cr := range caseCommands {
		want, ok := spec[cr.name]
		if !ok {
			t.Errorf("command %s is not in the test's procedure", cr.name)
			continue
		}
		f := fixtures[cr.name]
		for _, stage := range allStages {
			for _, role := range append(allRoles, "") {
				var wantRule string
				switch {
				case stage == StageClosed && !slices.Contains(want.stages, StageClosed):
					wantRule = "case_closed"
				case role != "" && !slices.Contains(want.roles, role):
					wantRule = "role"
				case !slices.Contains(want.stages, stage):
					wantRule = want.outOfStage
				}
				r := procedureCase(t, tm, stage, f)
				got := ruleOf(r.allows(cr, f.cmd(by(role, "actor-"+role))))
				if got != wantRule {
					t.Errorf("%s in %s by %q: %q, want %q", cr.name, stage, role, got, wantRule)
				}
			}
		}
		// Officers and supervisors act on their own agency's cases only; the
		// competent authority on every case.
		for _, role := range want.roles {
			r := procedureCase(t, tm, want.stages[0], f)
			c := by(role, "actor-"+role)
			c.ActorAgencyID = "agency-2"
			wantRule := "agency"
			if role == RoleCompetentAuthority {
				wantRule = ""
			}
			if got := ruleOf(r.allows(cr, f.cmd(c))); got != wantRule {
				t.Errorf("%s by %s of another agency: %q, want %q", cr.name, role, got, wantRule)
			}
		}
	}
}

// TestCommandRules: each rule of the table, broken on its own.
func TestCommandRules(t *testing.T) {
	officer, decider, reviewer, supervisor := by(RoleFrontline, "officer"), by(RoleCompetentAuthority, "decider"),
		by(RoleCompetentAuthority, "reviewer"), by(RoleSupervisor, "supervisor")
	decideCmd := func(kind, outcome string) caseCommand {
		return DecideCommand{Command: decider, DecisionID: "d9", Kind: kind, Outcome: outcome}
	}
	review := func(by Command, id string) caseCommand {
		return ReviewCommand{Command: by, DecisionID: id, Confirm: true}
	}
	negative := func(s *CaseState) {
		s.Decisions = append(s.Decisions, Decision{ID: "d1", Kind: KindPreliminary, Outcome: OutcomeNegative, DecidedBy: "decider"})
	}
	cases := []struct {
		name, update, version, stage string
		state                        func(s *CaseState)
		cmd                          caseCommand
		want                         string
	}{
		{"consent for a child", UpdateConsent, tm, StageIdentification, func(s *CaseState) { s.Child = true }, ConsentCommand{Command: officer}, "child_no_consent"},
		{"consent after withdrawal", UpdateConsent, tm, StageIdentification, func(s *CaseState) { s.ConsentWithdrawn = true }, ConsentCommand{Command: officer}, "consent_withdrawn"},
		{"withdraw without consent", UpdateWithdrawConsent, tm, StageRecovery, func(s *CaseState) { s.ConsentReferral = ptr(false) }, officer, "no_consent"},
		{"guardian for an adult", UpdateGuardian, tm, StageIdentification, nil, officer, "not_child"},
		{"second guardian", UpdateGuardian, tm, StageIdentification, func(s *CaseState) { s.Child, s.GuardianAppointed = true, true }, officer, "guardian_appointed"},
		{"unknown outcome", UpdateDecide, tm, StageIdentification, nil, decideCmd(KindPreliminary, "maybe"), "bad_outcome"},
		{"unknown kind", UpdateDecide, tm, StageIdentification, nil, decideCmd("final", OutcomePositive), "bad_kind"},
		{"decision after withdrawal", UpdateDecide, tm, StageRecovery, func(s *CaseState) { positivePreliminary(s); s.ConsentWithdrawn = true }, decideCmd(KindConclusive, OutcomePositive), "consent_withdrawn"},
		{"preliminary in recovery", UpdateDecide, tm, StageRecovery, positivePreliminary, decideCmd(KindPreliminary, OutcomeNegative), "stage"},
		{"conclusive first", UpdateDecide, tm, StageIdentification, nil, decideCmd(KindConclusive, OutcomePositive), "preliminary_first"},
		{"second preliminary", UpdateDecide, tm, StageIdentification, negative, decideCmd(KindPreliminary, OutcomePositive), "already_decided"},
		{"conclusive in the recovery period (2026.1)", UpdateDecide, tm, StageRecovery, func(s *CaseState) { positivePreliminary(s); runningRecovery(s) }, decideCmd(KindConclusive, OutcomeNegative), ""},
		{"conclusive in the recovery period (2026.2)", UpdateDecide, tm2, StageRecovery, func(s *CaseState) { positivePreliminary(s); runningRecovery(s) }, decideCmd(KindConclusive, OutcomeNegative), "recovery_period"},
		{"conclusive after the recovery period (2026.2)", UpdateDecide, tm2, StageAssistance, positivePreliminary, decideCmd(KindConclusive, OutcomePositive), ""},
		{"preliminary is not protected (2026.2)", UpdateDecide, tm2, StageIdentification, nil, decideCmd(KindPreliminary, OutcomePositive), ""},
		{"closure in the recovery period (2026.2)", UpdateRequestClosure, tm2, StageRecovery, runningRecovery, ClosureCommand{Command: officer, Reason: "lost_contact"}, ""},
		{"review of no decision", UpdateReview, tm, StageIdentification, negative, review(reviewer, "d7"), "no_decision"},
		{"review of a positive decision", UpdateReview, tm, StageRecovery, positivePreliminary, review(reviewer, "d1"), "not_negative"},
		{"second review", UpdateReview, tm, StageIdentification, func(s *CaseState) { negative(s); s.Decisions[0].Confirmed = ptr(false) }, review(reviewer, "d1"), "already_reviewed"},
		{"review by the decider", UpdateReview, tm, StageIdentification, negative, review(decider, "d1"), "reviewer_is_decider"},
		{"extension of no days", UpdateExtendRecovery, tm, StageRecovery, runningRecovery, ExtendRecoveryCommand{Command: decider, Days: 0}, "bad_days"},
		{"extension of a year", UpdateExtendRecovery, tm, StageRecovery, runningRecovery, ExtendRecoveryCommand{Command: decider, Days: 365}, ""},
		{"extension over a year", UpdateExtendRecovery, tm, StageRecovery, runningRecovery, ExtendRecoveryCommand{Command: decider, Days: 366}, "bad_days"},
		{"extension without a period", UpdateExtendRecovery, tm, StageAssistance, nil, ExtendRecoveryCommand{Command: decider, Days: 5}, "no_recovery_period"},
		{"unknown service", UpdateRefer, tm, StageIdentification, nil, ReferCommand{Command: officer, Service: "spa"}, "unknown_service"},
		{"referral without consent", UpdateRefer, tm, StageIdentification, func(s *CaseState) { s.ConsentReferral = nil }, ReferCommand{Command: officer, Service: "shelter"}, "no_consent"},
		{"a child's referral needs no consent", UpdateRefer, tm, StageIdentification, func(s *CaseState) { s.Child, s.ConsentReferral = true, nil }, ReferCommand{Command: officer, Service: "shelter"}, ""},
		{"legal aid before identification", UpdateRefer, tm, StageIdentification, nil, ReferCommand{Command: officer, Service: "legal_aid"}, "not_yet"},
		{"second shelter referral", UpdateRefer, tm, StageIdentification, func(s *CaseState) {
			s.Referrals = []ReferralRef{{ID: "r0", Service: "shelter", Status: ReferralAccepted}}
		}, ReferCommand{Command: decider, Service: "shelter"}, "duplicate_referral"},
		{"shelter again after completion", UpdateRefer, tm, StageIdentification, func(s *CaseState) {
			s.Referrals = []ReferralRef{{ID: "r0", Service: "shelter", Status: ReferralCompleted}}
		}, ReferCommand{Command: decider, Service: "shelter"}, ""},
		{"unknown closure reason", UpdateRequestClosure, tm, StageAssistance, nil, ClosureCommand{Command: officer, Reason: "bored"}, "unknown_closure_reason"},
		{"closure with an open referral", UpdateRequestClosure, tm, StageAssistance, func(s *CaseState) {
			s.Referrals = []ReferralRef{{ID: "r0", Service: "legal_aid", Status: ReferralPending}}
		}, ClosureCommand{Command: officer, Reason: "reintegrated"}, "open_referrals"},
		{"approval by the requester", UpdateApproveClosure, tm, StageClosure, func(s *CaseState) {
			s.Closure = &Closure{Reason: "reintegrated", RequestedBy: "supervisor", PriorStage: StageAssistance}
		}, supervisor, "approver_is_requester"},
		{"rejection by the requester", UpdateRejectClosure, tm, StageClosure, func(s *CaseState) {
			s.Closure = &Closure{Reason: "reintegrated", RequestedBy: "supervisor", PriorStage: StageAssistance}
		}, supervisor, "approver_is_requester"},
		{"closure stage without a request", UpdateApproveClosure, tm, StageClosure, nil, supervisor, "no_closure_request"},
	}
	for _, c := range cases {
		r := procedureCase(t, c.version, c.stage, fixture{state: c.state})
		if got := ruleOf(r.allows(row(t, c.update), c.cmd)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestProtectedPeriodForbidsWhatTheSOPSays: closure_requested, forbidden by
// a version of the SOP, is refused with the period's rule while it runs.
func TestProtectedPeriodForbidsWhatTheSOPSays(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "sop", "tm-nrm-2026.2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "forbids: [conclusive_positive, conclusive_negative]", "forbids: [closure_requested]", 1)
	text = strings.Replace(text, `version: "2026.2"`, `version: "test.closure"`, 1)
	procedure, err := sop.Parse("closure.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := &caseRun{sop: procedure, state: CaseState{AgencyID: owningAgency, Stage: StageRecovery, ConsentReferral: ptr(true)}}
	runningRecovery(&r.state)
	positivePreliminary(&r.state)
	closure := ClosureCommand{Command: by(RoleFrontline, "officer"), Reason: "lost_contact"}
	if got := ruleOf(r.allows(row(t, UpdateRequestClosure), closure)); got != "recovery_period" {
		t.Errorf("closure during the period: %q, want recovery_period", got)
	}
	// The person's own request still ends the case.
	if got := ruleOf(r.allows(row(t, UpdateWithdrawConsent), by(RoleFrontline, "officer"))); got != "" {
		t.Errorf("withdrawal during the period: %q", got)
	}
	conclusive := DecideCommand{Command: by(RoleCompetentAuthority, "decider"), DecisionID: "d2", Kind: KindConclusive, Outcome: OutcomePositive}
	if got := ruleOf(r.allows(row(t, UpdateDecide), conclusive)); got != "" {
		t.Errorf("conclusive decision, not forbidden by this version: %q", got)
	}
	r.state.Obligations[0].Status = ObligationEnded
	if got := ruleOf(r.allows(row(t, UpdateRequestClosure), closure)); got != "" {
		t.Errorf("closure after the period: %q", got)
	}
}

// TestConclusiveDecisionDuringRecoveryPeriod: under 2026.2 the recovery
// period protects the person from a conclusive decision; once it has ended
// (or under 2026.1) the decision is taken.
func TestConclusiveDecisionDuringRecoveryPeriod(t *testing.T) {
	h := newHarness(t, monday)
	var during, after CaseState
	decider := Command{ActorID: "decider", ActorRole: RoleCompetentAuthority, ActorAgencyID: "authority"}
	conclusive := DecideCommand{Command: decider, DecisionID: "d2", Kind: KindConclusive, Outcome: OutcomePositive}
	h.update(time.Hour, UpdateDecide, DecideCommand{Command: decider, DecisionID: "d1", Kind: KindPreliminary, Outcome: OutcomePositive}, "")
	h.update(24*time.Hour, UpdateDecide, conclusive, "recovery_period")
	conclusive.Outcome = OutcomeNegative
	h.update(28*24*time.Hour, UpdateDecide, conclusive, "recovery_period")
	h.state(time.Minute, &during)
	conclusive.Outcome = OutcomePositive
	h.update(2*24*time.Hour, UpdateDecide, conclusive, "")
	h.state(time.Minute, &after)
	h.run(adult(tm2, true))

	if during.Stage != StageRecovery || len(during.Decisions) != 1 {
		t.Errorf("during the period: stage %s, decisions %+v", during.Stage, during.Decisions)
	}
	if after.Stage != StageAssistance || len(after.Decisions) != 2 {
		t.Errorf("after the period: stage %s, decisions %+v", after.Stage, after.Decisions)
	}
	if o := h.rec.obligation(t, "conclusive_decision"); o.Status != ObligationMet {
		t.Errorf("conclusive decision %s, want met after the period", o.Status)
	}
	if got := h.rec.types(); slices.Index(got, "conclusive_positive") < slices.Index(got, "obligation_met") {
		t.Errorf("events %v", got)
	}

	// 2026.1 does not protect the decision: today's behaviour.
	h1 := newHarness(t, monday)
	h1.update(time.Hour, UpdateDecide, DecideCommand{Command: decider, DecisionID: "d1", Kind: KindPreliminary, Outcome: OutcomePositive}, "")
	h1.update(24*time.Hour, UpdateDecide, conclusive, "")
	h1.run(adult(tm, true))
	if !h1.rec.has("conclusive_positive") {
		t.Errorf("2026.1: events %v", h1.rec.types())
	}
}

// TestWorkflowChecksRoles: the workflow refuses a role the command table
// does not list, and another agency's officers, whatever the API let through.
func TestWorkflowChecksRoles(t *testing.T) {
	h := newHarness(t, monday)
	in := adult(tm, true)
	officer := Command{ActorID: "officer", ActorRole: RoleFrontline, ActorAgencyID: in.AgencyID}
	h.update(time.Hour, UpdateDecide, DecideCommand{Command: officer, DecisionID: "d1", Kind: KindPreliminary, Outcome: OutcomePositive}, "role")
	h.update(time.Minute, UpdateRequestClosure, ClosureCommand{Command: Command{ActorID: "stranger", ActorRole: RoleFrontline, ActorAgencyID: "other"}, Reason: "lost_contact"}, "agency")
	h.update(time.Minute, UpdateRequestClosure, ClosureCommand{Command: officer, Reason: "lost_contact"}, "")
	h.update(time.Minute, UpdateApproveClosure, Command{ActorID: "officer-2", ActorRole: RoleFrontline, ActorAgencyID: in.AgencyID}, "role")
	h.update(time.Minute, UpdateApproveClosure, Command{ActorID: "supervisor", ActorRole: RoleSupervisor, ActorAgencyID: in.AgencyID}, "")
	h.update(time.Minute, UpdateFollowUp, Command{ActorID: "provider", ActorRole: RoleProvider, ActorAgencyID: in.AgencyID}, "role")
	// A command without a role was checked by the API when it was given.
	h.update(time.Minute, UpdateFollowUp, Command{ActorID: "officer"}, "")
	h.run(in)
	if h.rec.has("preliminary_positive") || !h.rec.has("closure_approved") || h.rec.closure != "lost_contact" {
		t.Errorf("events %v, closure %q", h.rec.types(), h.rec.closure)
	}
}

// TestReferralCommandsCheckRoles: a provider answers, a referrer withdraws.
func TestReferralCommandsCheckRoles(t *testing.T) {
	d := &directory{providers: []string{"a"}}
	h := newReferralHarness(t, d)
	provider := Command{ActorID: "w", ActorRole: RoleProvider, ActorAgencyID: "a"}
	h.update(time.Minute, UpdateAccept, AnswerCommand{Command: Command{ActorID: "officer", ActorRole: RoleFrontline, ActorAgencyID: "a"}}, "role")
	h.update(time.Minute, UpdateAccept, AnswerCommand{Command: provider}, "")
	h.update(time.Minute, UpdateWithdraw, AnswerCommand{Command: provider}, "role")
	h.update(time.Minute, UpdateWithdraw, AnswerCommand{Command: Command{ActorID: "decider", ActorRole: RoleCompetentAuthority, ActorAgencyID: "authority"}}, "")
	h.update(time.Minute, UpdateWithdraw, AnswerCommand{Command: Command{ActorID: "officer", ActorRole: RoleFrontline, ActorAgencyID: "police"}}, "referral_closed")
	h.runReferral(referralInput("legal_aid"))
	if r := d.last(); r.Status != ReferralWithdrawn {
		t.Errorf("final row %+v", r)
	}
}

// policySOP is 2026.2 published as another version with its referral
// policy and role agencies changed.
func policySOP(t *testing.T) *sop.Set {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "sop", "tm-nrm-2026.2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	edits := []string{
		`version: "2026.2"`, `version: "test.policy"`,
		"effective_from: 2027-01-01", "effective_from: 2028-01-01",
		"    urgent: true\n    beds: true\n", "    urgent: true\n",
		"  - id: medical\n    urgent: true\n", "  - id: medical\n    urgent: true\n    beds: true\n",
		"decline_reasons:\n  - no_capacity\n", "decline_reasons:\n  - no_capacity\n  - closed_for_renovation\n",
		"completion_outcomes:\n  - service_provided\n", "completion_outcomes:\n  - service_provided\n  - referred_onwards\n",
		"  twg: twg\n", "  twg: twg_secretariat\n",
		"  competent_authority: competent_authority\n", "  competent_authority: ministry\n",
	}
	for i := 0; i < len(edits); i += 2 {
		if strings.Count(text, edits[i]) != 1 {
			t.Fatalf("edit %q does not match once", edits[i])
		}
		text = strings.Replace(text, edits[i], edits[i+1], 1)
	}
	s, err := sop.Parse("policy.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	set, err := sop.NewSet(append(loadSOPs(t).All(), s)...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestReferralPolicyFromTheSOP: the bed service, decline reasons and
// completion outcomes are the SOP's.
func TestReferralPolicyFromTheSOP(t *testing.T) {
	set := policySOP(t)
	run := func(service string, beds map[string]int, steps func(h *harness)) (*directory, *harness) {
		d := &directory{providers: []string{"a"}, beds: beds}
		h := newCaseAndReferralHarnessWith(t, d, set)
		steps(h)
		in := referralInput(service)
		in.SOPVersion = "test.policy"
		h.runReferral(in)
		return d, h
	}
	provider := Command{ActorID: "w", ActorRole: RoleProvider, ActorAgencyID: "a"}
	// Medical counts beds under this version; the shelter does not.
	d, _ := run("medical", map[string]int{"a": 1}, func(h *harness) {
		h.update(time.Minute, UpdateAccept, AnswerCommand{Command: provider}, "")
	})
	if d.beds["a"] != 0 {
		t.Errorf("beds of a after a medical referral: %d, want 0 (held)", d.beds["a"])
	}
	d, _ = run("shelter", map[string]int{"a": 0}, func(h *harness) {
		h.update(time.Minute, UpdateAccept, AnswerCommand{Command: provider}, "")
		h.update(time.Minute, UpdateComplete, AnswerCommand{Command: provider, Outcome: "service_provided_elsewhere"}, "bad_outcome")
		h.update(time.Minute, UpdateComplete, AnswerCommand{Command: provider, Outcome: "referred_onwards"}, "")
	})
	if r := d.last(); r.Status != ReferralCompleted || r.Outcome != "referred_onwards" || d.beds["a"] != 0 {
		t.Errorf("shelter without beds: %+v, beds %v", r, d.beds)
	}
	d, _ = run("legal_aid", nil, func(h *harness) {
		h.update(time.Minute, UpdateDecline, AnswerCommand{Command: provider, Reason: "language_barrier"}, "bad_reason")
		h.update(time.Minute, UpdateDecline, AnswerCommand{Command: provider, Reason: "closed_for_renovation"}, "")
	})
	if got := d.events(); !slices.Contains(got, "referral_declined") {
		t.Errorf("events %v", got)
	}
}

// TestRecordsNameTheAgencyOfEachRole: every obligation and notification the
// case records names the agency that answers for its role under the SOP.
func TestRecordsNameTheAgencyOfEachRole(t *testing.T) {
	h := newHarnessWith(t, monday, policySOP(t))
	h.update(time.Hour, UpdateDecide, decide(KindPreliminary, OutcomeNegative, "decider", "d1"), "")
	in := adult("test.policy", true)
	in.OpenedAt = monday
	h.at += 10 * 24 * time.Hour // the review deadline is breached and escalated
	h.run(in)
	if o := h.rec.obligation(t, "preliminary_decision"); o.OwnerAgencyType != "ministry" {
		t.Errorf("preliminary_decision answered by %q, want ministry", o.OwnerAgencyType)
	}
	seen := map[string]string{}
	for _, n := range h.rec.notifications {
		seen[n.RecipientRole] = n.RecipientAgencyType
	}
	if seen["competent_authority"] != "ministry" || seen["twg"] != "twg_secretariat" || seen["supervisor"] != sop.CaseAgency {
		t.Errorf("notifications by role -> agency: %v", seen)
	}
}
