package cases

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/store"
)

// NoteView is a note of the case file as its readers see it: who wrote it,
// for which agency, when, and the referral it belongs to, if any. Body is
// empty and Gone set when the case's personal data was destroyed.
type NoteView struct {
	ID         uuid.UUID
	Kind       string
	AuthorID   uuid.UUID
	AuthorName string
	AgencyID   uuid.UUID
	AgencyName string
	ReferralID *uuid.UUID
	Body       string
	Gone       bool
	At         time.Time
}

// MaxNoteLength bounds a note, in characters (the API's limit for free text).
const MaxNoteLength = 4000

// AddNote writes a note to the case file of a case the caller may see. The
// same request sent again under the same key writes one note: its ID is
// derived from the user, the key and the text.
func (s *Service) AddNote(ctx context.Context, p auth.Principal, caseID uuid.UUID, body string, retry Retry) (uuid.UUID, error) {
	if !canReadCases(p) {
		return uuid.Nil, ErrForbidden
	}
	v := &ValidationError{}
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		v.add("note", "required", "write the note")
	case n > MaxNoteLength:
		v.add("note", "max", fmt.Sprintf("a note is at most %d characters", MaxNoteLength))
	}
	if err := v.orNil(); err != nil {
		return uuid.Nil, err
	}
	c, err := s.Store.Case(ctx, auth.CaseScope(p), caseID)
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, ErrNotFound
	}
	if err != nil {
		return uuid.Nil, err
	}
	sealed, err := s.Vault.SealNote(ctx, c.ID, body)
	if errors.Is(err, identity.ErrGone) {
		return uuid.Nil, &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; no free text can be added"}
	}
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	if retry.Key != "" {
		id = uuid.NewHash(sha256.New(), c.ID, []byte(updateID(p, "note", retry)), 5)
	}
	if _, err := s.Store.AddNoteOnce(ctx, id, c.ID, "note", p.UserID, sealed, s.now().UTC()); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// Referrals lists the referrals of a case the caller may see, with the
// agency that has each.
func (s *Service) Referrals(ctx context.Context, p auth.Principal, caseID uuid.UUID) ([]store.CaseReferral, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	if err := s.CheckVisible(ctx, p, caseID); err != nil {
		return nil, err
	}
	return s.Store.CaseReferralsNamed(ctx, caseID)
}
