package workflows

import (
	"slices"
	"testing"
)

// Whatever a command's fixture is allowed to do in a stage and role, the
// actions query offers; a command the table refuses for the role or the
// stage is never offered.
func TestActionsFollowTheCommandTable(t *testing.T) {
	for _, row := range caseCommands {
		f := fixtures[row.name]
		for _, stage := range allStages {
			for _, role := range allRoles {
				r := procedureCase(t, tm2, stage, f)
				actor := by(role, "someone")
				allowed := r.allows(row, f.cmd(actor)) == nil
				offered := r.actions(actor).Allows(row.name)
				if allowed && !offered {
					t.Errorf("%s by %s in %s: allowed but not offered", row.name, role, stage)
				}
				if offered && (!slices.Contains(row.roles, role) || !slices.Contains(row.stages, stage)) {
					t.Errorf("%s by %s in %s: offered outside its roles or stages", row.name, role, stage)
				}
			}
		}
	}
}

// The choices the query offers are the ones the rules allow: in
// identification only a preliminary decision; the decider cannot review
// their own negative decision, another officer can; only urgent services
// before a positive preliminary decision; no closure while referrals are open.
func TestActionsOfferTheAllowedChoices(t *testing.T) {
	r := procedureCase(t, tm2, StageIdentification, fixture{})
	a := r.actions(by(RoleCompetentAuthority, "decider"))
	if len(a.Decisions) != 1 || a.Decisions[0].Kind != KindPreliminary || len(a.Decisions[0].Outcomes) != 2 {
		t.Errorf("identification: decisions %+v, want preliminary positive or negative", a.Decisions)
	}

	r.state.Decisions = []Decision{{ID: "d1", Kind: KindPreliminary, Outcome: OutcomeNegative, DecidedBy: "decider"}}
	if a := r.actions(by(RoleCompetentAuthority, "decider")); len(a.Reviews) != 0 || a.Allows(UpdateReview) {
		t.Errorf("the decider is offered the review of their own decision: %+v", a)
	}
	if a := r.actions(by(RoleCompetentAuthority, "reviewer")); !slices.Equal(a.Reviews, []string{"d1"}) {
		t.Errorf("another officer is offered reviews %v, want [d1]", a.Reviews)
	}

	r = procedureCase(t, tm2, StageIdentification, fixture{})
	officer := r.actions(by(RoleFrontline, "officer"))
	for _, s := range officer.Services {
		def, _ := r.sop.Service(s)
		if !def.Urgent {
			t.Errorf("non-urgent service %s offered before a positive preliminary decision", s)
		}
	}
	if !slices.Contains(officer.Services, "shelter") {
		t.Errorf("services offered %v, want the shelter among them", officer.Services)
	}
	if officer.Allows(UpdateDecide) || len(officer.Decisions) != 0 {
		t.Errorf("an officer is offered decisions: %+v", officer)
	}
	if !officer.Allows(UpdateRequestClosure) || len(officer.ClosureReasons) == 0 {
		t.Errorf("an officer is not offered closure: %+v", officer)
	}
	r.state.Referrals = []ReferralRef{{ID: "r1", Service: "shelter", Status: ReferralPending}}
	if a := r.actions(by(RoleFrontline, "officer")); a.Allows(UpdateRequestClosure) || slices.Contains(a.Services, "shelter") {
		t.Errorf("with an open shelter referral: closure or a second shelter referral offered: %+v", a)
	}
	if a := r.actions(by(RoleFrontline, "officer")); slices.Contains(a.Commands, UpdateApproveClosure) {
		t.Errorf("an officer is offered the supervisor's approval")
	}
}
