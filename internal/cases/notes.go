package cases

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/store"
)

// Reading the case file's notes (GET /api/v1/cases/{id}/notes, the case
// page): the owning agency's officers and supervisors and the competent
// authority read every note of a case they may see; a provider reads, of a
// case it has a referral of, the note sent with that referral and the notes
// its own users wrote on it (answers, progress notes), nothing else; other
// roles none. Notes are free text that may name the person, so every page
// read is audited as an identity read, before anything is returned.

// DefaultNotesPage is the page size of the notes when none is asked for.
const DefaultNotesPage = 100

// NotesQuery asks for a page of notes: those after the cursor (oldest
// first), at most Limit (DefaultNotesPage when 0).
type NotesQuery struct {
	After *store.Cursor
	Limit int
}

// NotesPage is a page of notes; More says that more follow the last one.
type NotesPage struct {
	Notes []NoteView
	More  bool
}

// Notes answers a page of the notes the caller may read, decrypted.
func (s *Service) Notes(ctx context.Context, p auth.Principal, caseID uuid.UUID, q NotesQuery, ri RequestInfo) (*NotesPage, error) {
	f := store.NoteFilter{After: q.After, Limit: q.Limit}
	if f.Limit <= 0 {
		f.Limit = DefaultNotesPage
	}
	switch {
	case auth.SeesIdentity(p):
		if err := s.CheckVisible(ctx, p, caseID); err != nil {
			return nil, err
		}
	case p.Is(auth.Provider):
		// A case the provider has no referral of answers as one that does
		// not exist, as for every case a caller may not see.
		ok, err := s.Store.HasReferralOf(ctx, caseID, p.AgencyID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotFound
		}
		agency := p.AgencyID
		f.ProviderAgency = &agency
	default:
		return nil, ErrForbidden
	}
	sealed, more, err := s.Store.NotesPage(ctx, caseID, f)
	if err != nil {
		return nil, err
	}
	out := &NotesPage{Notes: make([]NoteView, 0, len(sealed)), More: more}
	if len(sealed) == 0 {
		return out, nil
	}
	entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "case.notes.read", CaseID: &caseID, Fields: store.Strings{"notes"}, RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(ctx, entry); err != nil {
		return nil, fmt.Errorf("notes of case %s: %w", caseID, err)
	}
	for _, n := range sealed {
		v := NoteView{ID: n.ID, Kind: n.Kind, AuthorID: n.AuthorID, AuthorName: n.AuthorName, AgencyID: n.AgencyID,
			AgencyName: n.AgencyName, ReferralID: n.ReferralID, At: n.CreatedAt}
		v.Body, err = s.Vault.OpenNote(ctx, caseID, n.Body)
		if errors.Is(err, identity.ErrGone) {
			v.Body, v.Gone = "", true
		} else if err != nil {
			return nil, fmt.Errorf("notes of case %s: %w", caseID, err)
		}
		out.Notes = append(out.Notes, v)
	}
	return out, nil
}

// addReferralNote seals and stores a provider's note on one of its
// referrals, linked to the referral so that the provider reads it back.
func (s *Service) addReferralNote(ctx context.Context, ref *store.Referral, kind string, p auth.Principal, body string) (uuid.UUID, error) {
	sealed, err := s.Vault.SealNote(ctx, ref.CaseID, body)
	if errors.Is(err, identity.ErrGone) {
		return uuid.Nil, &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; send the command without free text"}
	}
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	if err := s.Store.AddReferralNote(ctx, id, ref.CaseID, ref.ID, kind, p.UserID, sealed, s.now().UTC()); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}
