package workflows

import "github.com/nrm-tm/nrm/internal/sop"

// QueryActions answers which commands an actor may give on the case now,
// by the same command table and rules the updates are checked with: the UI
// offers exactly the actions the procedure would accept. Its argument is the
// actor (a Command with ActorID, ActorRole and ActorAgencyID).
const QueryActions = "actions"

// Actions is the answer of QueryActions.
type Actions struct {
	// Commands are the update names the actor may give now, in the order
	// of the command table.
	Commands []string
	// Decisions are the decisions the actor may take now (UpdateDecide).
	Decisions []DecisionChoice
	// Reviews are the negative decisions the actor may review now (UpdateReview).
	Reviews []string
	// Services are the services the actor may refer the case to now (UpdateRefer).
	Services []string
	// ClosureReasons are the reasons a closure may be requested for now (UpdateRequestClosure).
	ClosureReasons []string
}

// DecisionChoice is a kind of decision and the outcomes it may have now.
type DecisionChoice struct {
	Kind     string
	Outcomes []string
}

// Allows tells whether name is one of the commands the actor may give.
func (a Actions) Allows(name string) bool {
	for _, c := range a.Commands {
		if c == name {
			return true
		}
	}
	return false
}

// actions tries every row of the command table with the arguments the
// procedure could be given now (each service of the SOP, each decision to
// review, each kind and outcome) and keeps what the rules allow. Queries run
// on the workflow's state and change nothing.
func (r *caseRun) actions(actor Command) Actions {
	var out Actions
	for _, row := range caseCommands {
		allowed := false
		for _, c := range r.candidates(row.name, actor) {
			if r.allows(row, c) != nil {
				continue
			}
			allowed = true
			switch c := c.(type) {
			case DecideCommand:
				out.Decisions = addOutcome(out.Decisions, c.Kind, c.Outcome)
			case ReviewCommand:
				out.Reviews = append(out.Reviews, c.DecisionID)
			case ReferCommand:
				out.Services = append(out.Services, c.Service)
			case ClosureCommand:
				out.ClosureReasons = append(out.ClosureReasons, c.Reason)
			}
		}
		if allowed {
			out.Commands = append(out.Commands, row.name)
		}
	}
	return out
}

// candidates are the commands of one row worth trying now.
func (r *caseRun) candidates(name string, actor Command) []caseCommand {
	switch name {
	case UpdateConsent:
		return []caseCommand{ConsentCommand{Command: actor, Referral: true, DataSharing: true}}
	case UpdateDecide:
		var out []caseCommand
		for _, kind := range []string{KindPreliminary, KindConclusive} {
			for _, outcome := range []string{OutcomePositive, OutcomeNegative} {
				out = append(out, DecideCommand{Command: actor, Kind: kind, Outcome: outcome})
			}
		}
		return out
	case UpdateReview:
		var out []caseCommand
		for _, d := range r.state.Decisions {
			out = append(out, ReviewCommand{Command: actor, DecisionID: d.ID})
		}
		return out
	case UpdateExtendRecovery:
		return []caseCommand{ExtendRecoveryCommand{Command: actor, Days: 1}}
	case UpdateRefer:
		var out []caseCommand
		for _, s := range r.sop.Services {
			out = append(out, ReferCommand{Command: actor, Service: s.ID})
		}
		return out
	case UpdateTransfer:
		// Any agency but the case's own: internal/cases checks which may take it.
		return []caseCommand{TransferCommand{Command: actor, AgencyID: "another-agency"}}
	case UpdateReopen:
		return []caseCommand{ReopenCommand{Command: actor, Reason: sop.ReopenReTrafficked}}
	case UpdateRequestClosure:
		var out []caseCommand
		for _, reason := range r.sop.ClosureReasons {
			if reason == ReasonConsentDeclined {
				continue // the engine's own: a declined screening closes at once
			}
			out = append(out, ClosureCommand{Command: actor, Reason: reason})
		}
		return out
	}
	return []caseCommand{actor}
}

func addOutcome(choices []DecisionChoice, kind, outcome string) []DecisionChoice {
	for i := range choices {
		if choices[i].Kind == kind {
			choices[i].Outcomes = append(choices[i].Outcomes, outcome)
			return choices
		}
	}
	return append(choices, DecisionChoice{Kind: kind, Outcomes: []string{outcome}})
}
