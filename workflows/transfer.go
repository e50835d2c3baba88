package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// UpdateTransfer moves a case to another agency: the owner's supervisor or
// the competent authority gives it (docs/process.md#transfer).
const UpdateTransfer = "transfer"

// TransferCommand is the argument of UpdateTransfer. internal/cases has
// checked that the agency may own cases and serves the case's region (or
// Region); the workflow records the move.
type TransferCommand struct {
	Command
	// AgencyID is the agency the case moves to.
	AgencyID string
	// Region, when set and not the case's region, is the region the case
	// moves to with it (the person moved): referrals are routed there from
	// now on.
	Region string
}

// TransferRecord tells the read model to move a case: the case's agency,
// its open obligations owned by the old agency and, with a region change,
// the region it is served in. IDs and codes only.
type TransferRecord struct {
	FromAgencyID string
	ToAgencyID   string
	// Region is the region the case is served in from now on; "" when it
	// did not change.
	Region string
}

// Notification kinds of a transfer: each agency as a whole is told.
const (
	NotificationTransferred     = "case_transferred"      // to the agency that takes the case
	NotificationTransferredAway = "case_transferred_away" // to the agency that gave it up
)

// transferrers: the owner's supervisor and the competent authority.
var transferrers = []string{RoleSupervisor, RoleCompetentAuthority}

// toAnotherAgency: a case is transferred to an agency that does not hold it yet.
func toAnotherAgency(r *caseRun, c caseCommand) error {
	if c.(TransferCommand).AgencyID == r.state.AgencyID {
		return ruleError("same_agency", "the case is already with this agency")
	}
	return nil
}

// transfer hands the case to another agency. From the moment it is
// recorded, the old agency's officers and supervisors no longer act on it
// (byRole) nor see it (the read model's agency); its open obligations move
// with it, and both agencies are told.
func transfer(r *caseRun, ctx workflow.Context, c TransferCommand) (transition, error) {
	from := r.state.AgencyID
	data := withNote(map[string]string{"from_agency_id": from, "to_agency_id": c.AgencyID}, c.Command)
	rec := &TransferRecord{FromAgencyID: from, ToAgencyID: c.AgencyID}
	if c.Region != "" && c.Region != r.state.Region {
		data["from_region"], data["to_region"] = r.state.Region, c.Region
		r.state.Region, rec.Region = c.Region, c.Region
	}
	r.state.AgencyID = c.AgencyID
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrAgencyID.ValueSet(c.AgencyID)); err != nil {
		workflow.GetLogger(ctx).Error("search attributes", "error", err)
	}
	t := transition{transfer: rec}
	t.add("case_transferred", c.ActorID, data)
	t.notify = append(t.notify,
		NotificationRecord{Kind: NotificationTransferred, RecipientRole: RecipientAgency, RecipientAgencyID: c.AgencyID},
		NotificationRecord{Kind: NotificationTransferredAway, RecipientRole: RecipientAgency, RecipientAgencyID: from})
	return t, nil
}

// RecipientAgency addresses a notification to a whole agency: every role of
// it reads it (notify.RecipientAgency).
const RecipientAgency = "agency"
