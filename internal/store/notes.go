package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// NoteEntry is a sealed note of a case with who wrote it, for which agency,
// and the referral it belongs to (a provider's answer or progress note, or
// the note sent with a referral), if any.
type NoteEntry struct {
	ID         uuid.UUID  `db:"id"`
	CaseID     uuid.UUID  `db:"case_id"`
	Kind       string     `db:"kind"`
	AuthorID   uuid.UUID  `db:"author_id"`
	AuthorName string     `db:"author_name"`
	AgencyID   uuid.UUID  `db:"agency_id"`
	AgencyName string     `db:"agency_name"`
	ReferralID *uuid.UUID `db:"referral_id"`
	Body       []byte     `db:"body"`
	CreatedAt  time.Time  `db:"created_at"`
}

// NoteFilter chooses a page of a case's notes, oldest first (created_at,
// then id, both ascending): the notes after the cursor, at most Limit.
// ProviderAgency, when set, keeps only what that provider may read: the
// note sent with a referral the agency has, and the notes its own users
// wrote on that referral.
type NoteFilter struct {
	After          *Cursor
	Limit          int
	ProviderAgency *uuid.UUID
}

// qNotesPage is a page of a case's notes (case_notes_case_idx, migration
// 0023). A note's referral is its own referral_id, or the referral it was
// sent with (referrals.note_id).
const qNotesPage = `SELECT n.id, n.case_id, n.kind, n.author_id, u.name AS author_name, n.agency_id, a.name AS agency_name,
		COALESCE(n.referral_id, (SELECT r.id FROM referrals r WHERE r.note_id = n.id AND r.case_id = n.case_id LIMIT 1)) AS referral_id,
		n.body, n.created_at
	FROM case_notes n JOIN users u ON u.id = n.author_id JOIN agencies a ON a.id = n.agency_id
	WHERE n.case_id = $1
	  AND ($2::timestamptz IS NULL OR (n.created_at, n.id) > ($2::timestamptz, $3::uuid))
	  AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = n.case_id AND r.agency_id = $4::uuid
	        AND (r.note_id = n.id OR (n.referral_id = r.id AND n.agency_id = $4::uuid))))
	ORDER BY n.created_at, n.id
	LIMIT $5`

// qHasReferralOf: the agency has (had accepted, or is asked to answer) a
// referral of the case.
const qHasReferralOf = `SELECT EXISTS (SELECT 1 FROM referrals WHERE case_id = $1 AND agency_id = $2)`

// qInsertReferralNote: a provider's note on a referral.
const qInsertReferralNote = `INSERT INTO case_notes (id, case_id, kind, author_id, body, created_at, referral_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`

// NotesPage answers a page of a case's notes and whether more follow.
func (s *Store) NotesPage(ctx context.Context, caseID uuid.UUID, f NoteFilter) ([]NoteEntry, bool, error) {
	var at *time.Time
	var after *uuid.UUID
	if f.After != nil {
		at, after = &f.After.At, &f.After.ID
	}
	out := []NoteEntry{}
	if err := s.db.SelectContext(ctx, &out, qNotesPage, caseID, at, after, f.ProviderAgency, f.Limit+1); err != nil {
		return nil, false, fmt.Errorf("notes of case %s: %w", caseID, err)
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// HasReferralOf answers whether the agency has a referral of the case: a
// provider may then read that referral's notes.
func (s *Store) HasReferralOf(ctx context.Context, caseID, agencyID uuid.UUID) (bool, error) {
	var ok bool
	if err := s.db.GetContext(ctx, &ok, qHasReferralOf, caseID, agencyID); err != nil {
		return false, fmt.Errorf("referrals of case %s: %w", caseID, err)
	}
	return ok, nil
}

// AddReferralNote stores a provider's note on a referral before the
// answer it goes with runs.
func (s *Store) AddReferralNote(ctx context.Context, id, caseID, referralID uuid.UUID, kind string, author uuid.UUID, body []byte, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, qInsertReferralNote, id, caseID, kind, author, body, at, referralID); err != nil {
		return fmt.Errorf("note on referral %s: %w", referralID, err)
	}
	return nil
}
