package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// ReferRequest is the body of POST /cases/{id}/referrals.
type ReferRequest struct {
	Service  string  `json:"service" validate:"required,max=64"`
	AgencyID *string `json:"agency_id" validate:"omitempty,uuid"`
	Note     string  `json:"note" validate:"max=4000"`
}

// Refer refers a case the caller may act on to a service of the case's
// SOP. A named agency must offer the service.
func (s *Service) Refer(ctx context.Context, p auth.Principal, caseID uuid.UUID, req ReferRequest, retry Retry) (uuid.UUID, error) {
	c, err := s.Store.Case(ctx, auth.CaseScope(p), caseID)
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, ErrNotFound
	}
	if err != nil {
		return uuid.Nil, err
	}
	v := &ValidationError{}
	if procedure := s.procedureOf(c); procedure != nil {
		checkService(procedure, req.Service, v)
	}
	referralID := uuid.New()
	var requested string
	if req.AgencyID != nil && len(v.Errors) == 0 {
		id := uuid.MustParse(*req.AgencyID)
		a, err := s.Store.Agency(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !slices.Contains(a.Services, req.Service)) {
			v.add("agency_id", "offers_service", "the named agency does not offer this service")
		} else if err != nil {
			return uuid.Nil, err
		}
		requested = id.String()
	}
	if err := v.orNil(); err != nil {
		return uuid.Nil, err
	}
	cmd := Command{CaseID: caseID, Update: workflows.UpdateRefer, Retry: retry,
		Arg: func(wc workflows.Command) any {
			return workflows.ReferCommand{Command: wc, ReferralID: referralID.String(), Service: req.Service, RequestedAgencyID: requested}
		}}
	if req.Note != "" {
		cmd.Note = &Note{Kind: "referral", Body: req.Note}
	}
	state, err := s.Do(ctx, p, cmd)
	if err != nil {
		return uuid.Nil, err
	}
	// A retried request answers with the referral its first attempt made.
	if n := len(state.Referrals); n > 0 {
		referralID = uuid.MustParse(state.Referrals[n-1].ID)
	}
	return referralID, nil
}

// WithdrawReferral withdraws one of the case's open referrals.
func (s *Service) WithdrawReferral(ctx context.Context, p auth.Principal, caseID, referralID uuid.UUID) (*workflows.ReferralState, error) {
	if _, err := s.Store.Case(ctx, auth.CaseScope(p), caseID); errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	ref, err := s.Store.Referral(ctx, referralID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ref.CaseID != caseID) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.referralUpdate(ctx, referralID, workflows.UpdateWithdraw, updateID(p, workflows.UpdateWithdraw, Retry{}), workflows.AnswerCommand{Command: actor(p)})
}

// ProviderView is what a provider sees of a referral: the minimum the
// service needs, never the screening narrative or documents.
type ProviderView struct {
	Referral   *store.Referral
	CaseNumber string
	GivenName  string
	AgeBand    string
	Sex        string
	Languages  []string
	Urgent     []string
	Note       string
}

// Inbox lists the referrals addressed to the caller's agency.
func (s *Service) Inbox(ctx context.Context, p auth.Principal, status string, limit int) ([]store.Referral, error) {
	if !p.Is(auth.Provider) {
		return nil, ErrForbidden
	}
	return s.Store.AgencyReferrals(ctx, p.AgencyID, status, limit)
}

// providerReferral returns a referral addressed to the caller's agency; any other is ErrNotFound.
func (s *Service) providerReferral(ctx context.Context, p auth.Principal, id uuid.UUID) (*store.Referral, error) {
	if !p.Is(auth.Provider) {
		return nil, ErrForbidden
	}
	ref, err := s.Store.Referral(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ref.AgencyID == nil || *ref.AgencyID != p.AgencyID)) {
		return nil, ErrNotFound
	}
	return ref, err
}

// ReferralForProvider returns the minimum-necessary view; reading the given
// name is audited like any identity read.
func (s *Service) ReferralForProvider(ctx context.Context, p auth.Principal, id uuid.UUID, ri RequestInfo) (*ProviderView, error) {
	ref, err := s.providerReferral(ctx, p, id)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Case(ctx, store.CaseScope{All: true}, ref.CaseID)
	if err != nil {
		return nil, err
	}
	v := &ProviderView{Referral: ref, CaseNumber: c.Number, AgeBand: c.AgeBand, Sex: c.Sex, Urgent: c.UrgentNeeds}
	// The name goes to a provider only with the person's consent to share
	// their data with other agencies (a child's guardian stands in for it);
	// without it the provider gets what the service needs, no more.
	sharing, err := s.Store.DataSharing(ctx, ref.CaseID)
	if err != nil {
		return nil, err
	}
	shareName := c.Child || (sharing != nil && *sharing)
	if person, err := s.Vault.Open(ctx, ref.CaseID); err == nil {
		fields := store.Strings{"languages"}
		if shareName {
			fields = store.Strings{"given_name", "languages"}
		}
		entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
			Action: "referral.identity.read", CaseID: &ref.CaseID, Fields: fields, RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
		if err := s.Store.Audit(ctx, entry); err != nil {
			return nil, err
		}
		v.Languages = person.Languages
		if shareName {
			v.GivenName = person.GivenName
		}
	} else if !errors.Is(err, identity.ErrGone) {
		return nil, err
	}
	if ref.NoteID != nil {
		sealed, err := s.Store.NoteBody(ctx, *ref.NoteID, ref.CaseID)
		if err == nil {
			v.Note, err = s.Vault.OpenNote(ctx, ref.CaseID, sealed)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, identity.ErrGone) {
			return nil, err
		}
	}
	return v, nil
}

// Answer runs a provider's command (accept, decline, progress, complete) on a
// referral addressed to its agency.
func (s *Service) Answer(ctx context.Context, p auth.Principal, id uuid.UUID, update string, cmd workflows.AnswerCommand, note string) (*workflows.ReferralState, error) {
	return s.AnswerWith(ctx, p, id, update, cmd, note, Retry{})
}

// AnswerWith is Answer for a request a client may send again: with an
// Idempotency-Key, a retry is the same workflow update (updateID), answered
// with the first one's result instead of being refused as already answered.
func (s *Service) AnswerWith(ctx context.Context, p auth.Principal, id uuid.UUID, update string, cmd workflows.AnswerCommand, note string, retry Retry) (*workflows.ReferralState, error) {
	ref, err := s.providerReferral(ctx, p, id)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Case(ctx, store.CaseScope{All: true}, ref.CaseID)
	if err != nil {
		return nil, err
	}
	if err := checkAnswer(s.procedureOf(c), update, cmd); err != nil {
		return nil, err
	}
	// A retry (Idempotency-Key) of an answer that closed the referral —
	// its first attempt went through, its reply was lost — goes to the
	// workflow, which answers the first result of the same update while it
	// can; any other answer to a closed referral is refused here.
	if !workflows.ReferralOpen(ref.Status) && retry.Key == "" {
		return nil, &RuleError{Rule: "referral_closed", Detail: "the referral is " + ref.Status}
	}
	cmd.Command = actor(p)
	var noteID uuid.UUID
	if note != "" {
		if noteID, err = s.addReferralNote(ctx, ref, "referral_"+update, p, note); err != nil {
			return nil, err
		}
		cmd.NoteID = noteID.String()
	}
	state, err := s.referralUpdate(ctx, id, update, updateID(p, update, retry), cmd)
	if err != nil && note != "" {
		if derr := s.Store.DeleteNote(context.WithoutCancel(ctx), noteID); derr != nil {
			s.Log.Warn("remove note of refused answer", "referral_id", id, "error", derr)
		}
	}
	return state, err
}

func (s *Service) referralUpdate(ctx context.Context, id uuid.UUID, name, updateID string, arg any) (*workflows.ReferralState, error) {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.ReferralWorkflowID(id.String()),
		UpdateID:     updateID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var state workflows.ReferralState
		if err = handle.Get(ctx, &state); err == nil {
			return &state, nil
		}
	}
	if re := asRuleError(err); re != nil {
		return nil, re
	}
	var gone *serviceerror.NotFound
	if errors.As(err, &gone) { // the referral's workflow has ended
		return nil, &RuleError{Rule: "referral_closed", Detail: "the referral is closed"}
	}
	return nil, fmt.Errorf("%s on referral %s: %w", name, id, err)
}

// CheckAddressee answers ErrNotFound for a referral not addressed to the caller's agency.
func (s *Service) CheckAddressee(ctx context.Context, p auth.Principal, id uuid.UUID) error {
	_, err := s.providerReferral(ctx, p, id)
	return err
}
