package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// Transfer (docs/process.md#transfer): the owner's supervisor or the
// competent authority moves a case to another agency that may own cases
// and serves the case's region, or — when the person moved — to one that
// serves the region named with the transfer, which the case then moves to.
// The case's workflow records it; from then on only the new agency sees
// and acts on the case.

// TransferRequest is the body of POST /api/v1/cases/{id}/transfer.
type TransferRequest struct {
	AgencyID string `json:"agency_id" validate:"required,uuid"`
	// Reason is free text, sealed as the command's note.
	Reason string `json:"reason" validate:"required,max=4000"`
	// Region, optional, is the region the case moves to with the transfer.
	Region string `json:"region" validate:"max=64"`
}

// Transferred is what a transfer answers: the case as it now stands, in
// codes, for a caller who may no longer see it.
type Transferred struct {
	ID, Number, Stage, AgencyID, Region string
}

// serviceRegion is the region a case is served in: where it was registered,
// or where a transfer moved it.
func serviceRegion(c *store.Case) string {
	if c.ServiceRegion != nil && *c.ServiceRegion != "" {
		return *c.ServiceRegion
	}
	return c.Region
}

// serves says whether an agency takes cases of a region: its own region,
// one of its regions, or every region (national), as referrals are routed.
func serves(a *store.Agency, region string) bool {
	return a.National || a.Region == region || slices.Contains(a.Regions, region)
}

// ownsCases says whether an agency may hold cases: one whose officers and
// supervisors screen and own cases (directory.RoleAllowed), not a
// provider, the competent authority, the TWG or the administration.
func ownsCases(a *store.Agency) bool {
	return directory.RoleAllowed(auth.Supervisor, a) == nil
}

// Transfer moves a case the caller may see to another agency. Invalid
// fields and an agency that may not take the case (it does not own cases
// or does not serve the region) are 422, naming the field, before anything
// is stored; the workflow refuses a closed case (case_closed) and the
// case's own agency (same_agency). It answers the case as it now stands.
func (s *Service) Transfer(ctx context.Context, p auth.Principal, id uuid.UUID, req TransferRequest, retry Retry) (*Transferred, error) {
	if !p.Is(auth.Supervisor, auth.CompetentAuthority) {
		return nil, ErrForbidden
	}
	c, err := s.Store.Case(ctx, auth.CaseScope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	agencyID, err := s.checkTransfer(ctx, c, &req)
	if err != nil {
		return nil, err
	}
	cmd := TransferCase(id, agencyID, req.Region, req.Reason)
	cmd.Retry = retry
	state, err := s.Do(ctx, p, cmd)
	if err != nil {
		return nil, err
	}
	out := &Transferred{ID: id.String(), Number: c.Number, Stage: state.Stage, AgencyID: state.AgencyID, Region: state.Region}
	if moved, err := s.Store.Case(ctx, store.CaseScope{All: true}, id); err == nil {
		out.Stage, out.AgencyID, out.Region = moved.Stage, moved.AgencyID.String(), serviceRegion(moved)
	}
	return out, nil
}

// checkTransfer validates a transfer against the directory and the
// regions, answering the agency's ID.
func (s *Service) checkTransfer(ctx context.Context, c *store.Case, req *TransferRequest) (uuid.UUID, error) {
	verr := &ValidationError{}
	req.Reason = strings.TrimSpace(req.Reason)
	switch n := utf8.RuneCountInString(req.Reason); {
	case n == 0:
		verr.add("reason", "required", "is required")
	case n > MaxNoteLength:
		verr.add("reason", "max", fmt.Sprintf("is longer or larger than %d", MaxNoteLength))
	}
	region := serviceRegion(c)
	if req.Region != "" {
		if !slices.Contains(s.Regions, req.Region) {
			verr.add("region", "oneof", "region must be one of: "+strings.Join(s.Regions, ", "))
		}
		region = req.Region
	}
	agencyID, err := uuid.Parse(req.AgencyID)
	if err != nil {
		verr.add("agency_id", "uuid", "must be an ID (a UUID)")
		return uuid.Nil, verr
	}
	a, err := s.Store.Agency(ctx, agencyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		verr.add("agency_id", "exists", "no such agency")
	case err != nil:
		return uuid.Nil, err
	case !ownsCases(a):
		verr.add("agency_id", "owns_cases", "the agency does not screen and own cases")
	case !serves(a, region) && (req.Region == "" || slices.Contains(s.Regions, req.Region)):
		verr.add("agency_id", "serves_region", fmt.Sprintf("the agency does not serve region %s", region))
	}
	if len(verr.Errors) > 0 {
		return uuid.Nil, verr
	}
	return agencyID, nil
}

// TransferTarget is an agency a case may be transferred to.
type TransferTarget struct {
	ID   uuid.UUID
	Name string
	// Regions are the regions of Regions the agency serves.
	Regions []string
}

// TransferTargets lists the agencies that may take a case the caller may
// see, other than its own: those that own cases and serve at least one
// region (the form names the region when it is not the case's).
func (s *Service) TransferTargets(ctx context.Context, p auth.Principal, id uuid.UUID) ([]TransferTarget, string, error) {
	c, err := s.Store.Case(ctx, auth.CaseScope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	all, err := s.Store.Agencies(ctx)
	if err != nil {
		return nil, "", err
	}
	var out []TransferTarget
	for i := range all {
		a := &all[i]
		if a.ID == c.AgencyID || !ownsCases(a) {
			continue
		}
		t := TransferTarget{ID: a.ID, Name: a.Name}
		for _, r := range s.Regions {
			if serves(a, r) {
				t.Regions = append(t.Regions, r)
			}
		}
		if len(t.Regions) > 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b TransferTarget) int { return strings.Compare(a.Name, b.Name) })
	return out, serviceRegion(c), nil
}

// Reopening (docs/process.md#reopening): a closed case is taken up again
// within its retention period, by the competent authority or the owner's
// supervisor, for one of sop.ReopenReasons; its workflow starts a new run
// from the stage the case's SOP names for the reason.

// ReopenRequest is the body of POST /api/v1/cases/{id}/reopen.
type ReopenRequest struct {
	Reason string `json:"reason" validate:"required,oneof=re_trafficked new_information decision_overturned"`
	// Note is optional free text, sealed as the command's note.
	Note string `json:"note" validate:"max=4000"`
}

// Reopen reopens a closed case the caller may see. Refused, changing
// nothing: a case that is not closed (not_closed), one whose retention
// period has ended (retention_ended) or whose identity was destroyed
// before (identity_gone), and one whose workflow ended at closure, which
// workflow code older than the retention wait did (not_reopenable).
func (s *Service) Reopen(ctx context.Context, p auth.Principal, id uuid.UUID, req ReopenRequest, retry Retry) error {
	if !p.Is(auth.Supervisor, auth.CompetentAuthority) {
		return ErrForbidden
	}
	c, err := s.Store.Case(ctx, auth.CaseScope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if verr := checkReopen(&req); verr != nil {
		return verr
	}
	if c.Stage != workflows.StageClosed || c.ClosedAt == nil {
		return &RuleError{Rule: "not_closed", Detail: "the case is not closed"}
	}
	if err := s.checkRetention(ctx, c); err != nil {
		return err
	}
	cmd := ReopenCase(id, req.Reason, uuid.NewString(), req.Note)
	cmd.Retry = retry
	_, err = s.Do(ctx, p, cmd)
	var re *RuleError
	if errors.As(err, &re) && re.Rule == "case_closed" {
		// Only a workflow that has ended answers case_closed to a reopening.
		return &RuleError{Rule: "not_reopenable", Detail: "this case was closed by an earlier version of the system and cannot be reopened"}
	}
	return err
}

func checkReopen(req *ReopenRequest) error {
	verr := &ValidationError{}
	if !slices.Contains(sop.ReopenReasons, req.Reason) {
		verr.add("reason", "oneof", "must be one of: "+strings.Join(sop.ReopenReasons, " "))
	}
	req.Note = strings.TrimSpace(req.Note)
	if n := utf8.RuneCountInString(req.Note); n > MaxNoteLength {
		verr.add("note", "max", fmt.Sprintf("is longer or larger than %d", MaxNoteLength))
	}
	if len(verr.Errors) > 0 {
		return verr
	}
	return nil
}

// ErrRetentionEnded: the case's retention period is over; its identity is
// (or is about to be) destroyed and it stays closed.
var ErrRetentionEnded = &RuleError{Rule: "retention_ended", Detail: "the retention period of this case has ended; it cannot be reopened"}

// checkRetention answers whether a closed case is still within the
// retention period of its SOP (counted from its closing in the SOP's
// calendar, as its workflow counts it) and still holds its identity.
func (s *Service) checkRetention(ctx context.Context, c *store.Case) error {
	if procedure := s.procedureOf(c); procedure != nil && !procedure.IdentityRetention.IsZero() {
		if ends := procedure.Calendar.Deadline(*c.ClosedAt, procedure.IdentityRetention); !s.now().Before(ends) {
			return ErrRetentionEnded
		}
	}
	key, err := s.Store.CaseKey(ctx, c.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil || key.DestroyedAt != nil || key.Wrapped == nil {
		return &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; it cannot be reopened"}
	}
	return nil
}
