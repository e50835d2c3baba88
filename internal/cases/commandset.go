package cases

import (
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/workflows"
)

// The commands on a case, built once for the API and the web UI alike: each
// names its workflow update, the note that keeps its free text and the
// update's argument. Retry is set by the caller.

// optionalNote is a command's free text when the caller wrote some.
func optionalNote(kind, body string) *Note {
	if body == "" {
		return nil
	}
	return &Note{Kind: kind, Body: body}
}

// RecordConsent records the adult's consent to referral and to data sharing.
func RecordConsent(caseID uuid.UUID, referral, dataSharing bool) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateConsent, Arg: func(wc workflows.Command) any {
		return workflows.ConsentCommand{Command: wc, Referral: referral, DataSharing: dataSharing}
	}}
}

// WithdrawConsent records that the person withdrew consent, and why.
func WithdrawConsent(caseID uuid.UUID, reason string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateWithdrawConsent, Note: &Note{Kind: "consent_withdrawn", Body: reason},
		Arg: func(wc workflows.Command) any { return wc }}
}

// AppointGuardian records a child's guardian; the name stays in the sealed note.
func AppointGuardian(caseID uuid.UUID, name, authority string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateGuardian, Note: &Note{Kind: "guardian", Body: name + "\n" + authority},
		Arg: func(wc workflows.Command) any { return wc }}
}

// Decide takes a preliminary or conclusive decision under decisionID.
func Decide(caseID uuid.UUID, decisionID, kind, outcome, reason string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateDecide, Note: &Note{Kind: "decision", Body: reason},
		Arg: func(wc workflows.Command) any {
			return workflows.DecideCommand{Command: wc, DecisionID: decisionID, Kind: kind, Outcome: outcome}
		}}
}

// Review confirms or overturns a negative decision (the second review).
func Review(caseID uuid.UUID, decisionID string, confirm bool, reason string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateReview, Note: &Note{Kind: "review", Body: reason},
		Arg: func(wc workflows.Command) any {
			return workflows.ReviewCommand{Command: wc, DecisionID: decisionID, Confirm: confirm}
		}}
}

// ExtendRecovery lengthens the running recovery period by days.
func ExtendRecovery(caseID uuid.UUID, days int, reason string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateExtendRecovery, Note: &Note{Kind: "recovery_extension", Body: reason},
		Arg: func(wc workflows.Command) any { return workflows.ExtendRecoveryCommand{Command: wc, Days: days} }}
}

// RequestClosure asks a supervisor to close the case for one of the SOP's reasons.
func RequestClosure(caseID uuid.UUID, reason, note string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateRequestClosure, Note: optionalNote("closure_request", note),
		Arg: func(wc workflows.Command) any { return workflows.ClosureCommand{Command: wc, Reason: reason} }}
}

// ApproveClosure closes the case as requested (a supervisor other than the requester).
func ApproveClosure(caseID uuid.UUID, note string) Command {
	return bare(caseID, workflows.UpdateApproveClosure, optionalNote("closure_approval", note))
}

// RejectClosure sends the case back to its stage before the request.
func RejectClosure(caseID uuid.UUID, note string) Command {
	return bare(caseID, workflows.UpdateRejectClosure, optionalNote("closure_rejection", note))
}

// FollowUpDone records the follow-up contact after closure.
func FollowUpDone(caseID uuid.UUID, note string) Command {
	return bare(caseID, workflows.UpdateFollowUp, optionalNote("follow_up", note))
}

// TransferCase hands a case to another agency (its reason in the note).
func TransferCase(caseID, agencyID uuid.UUID, region, reason string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateTransfer, Note: &Note{Kind: "transfer", Body: reason},
		Arg: func(wc workflows.Command) any {
			return workflows.TransferCommand{Command: wc, AgencyID: agencyID.String(), Region: region}
		}}
}

// ReopenCase reopens a closed case for reason; decisionID names the
// positive preliminary decision a reopening into recovery records.
func ReopenCase(caseID uuid.UUID, reason, decisionID, note string) Command {
	return Command{CaseID: caseID, Update: workflows.UpdateReopen, Note: optionalNote("reopen", note),
		Arg: func(wc workflows.Command) any {
			return workflows.ReopenCommand{Command: wc, Reason: reason, DecisionID: decisionID}
		}}
}

func bare(caseID uuid.UUID, update string, note *Note) Command {
	return Command{CaseID: caseID, Update: update, Note: note, Arg: func(wc workflows.Command) any { return wc }}
}
