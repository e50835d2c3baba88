package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Correction is one correction of a case's record (case_corrections,
// migration 0022). The values before and after (JSON) and the reason are
// ciphertexts sealed under the case's data key (package identity seals and
// opens them); Fields names what changed, never to what.
type Correction struct {
	ID             uuid.UUID `db:"id"`
	CaseID         uuid.UUID `db:"case_id"`
	Seq            int       `db:"seq"`
	At             time.Time `db:"at"`
	ActorID        uuid.UUID `db:"actor_id"`
	Role           string    `db:"role"`
	AgencyID       uuid.UUID `db:"agency_id"`
	Fields         Strings   `db:"fields"`
	PreviousValues []byte    `db:"previous_values"`
	NewValues      []byte    `db:"new_values"`
	Reason         []byte    `db:"reason"`
}

// CorrectionRow is a correction as the history lists it, with the names of
// its author and of the author's agency.
type CorrectionRow struct {
	Correction
	ActorName  string `db:"actor_name"`
	AgencyName string `db:"agency_name"`
}

// CaseFields are the columns of the anonymised case a correction sets: the
// person's sex, citizenship and age band, the encounter's context and time,
// and what the screening recorded besides its indicators.
type CaseFields struct {
	Sex                   string    `db:"sex"`
	Citizenship           string    `db:"citizenship"`
	AgeBand               string    `db:"age_band"`
	EncounterContext      string    `db:"encounter_context"`
	EncounteredAt         time.Time `db:"encountered_at"`
	Exploitation          Strings   `db:"exploitation"`
	UrgentNeeds           Strings   `db:"urgent_needs"`
	ExploitationCountries Strings   `db:"exploitation_countries"`
	TransitCountries      Strings   `db:"transit_countries"`
}

// CorrectionWrite is everything one correction writes, in one transaction.
type CorrectionWrite struct {
	Correction Correction
	// Case: the correctable columns of the case, as they are after it.
	Case CaseFields
	// Person, when the identity changed: every field sealed anew, with the
	// blind indexes of the new values (computed by IndexVersion).
	Person       *SealedPerson
	Indexes      []PersonIndex
	IndexVersion int
	// Notifications the correction raises (possible duplicates found by
	// the new values).
	Notifications []Notification
}

const (
	qLastCorrection   = `SELECT COALESCE(MAX(seq), 0) FROM case_corrections WHERE case_id = $1`
	qInsertCorrection = `INSERT INTO case_corrections (id, case_id, seq, at, actor_id, role, agency_id, fields,
		previous_values, new_values, reason)
		VALUES (:id, :case_id, :seq, :at, :actor_id, :role, :agency_id, :fields, :previous_values, :new_values, :reason)`
	// Only the correctable columns: the stage, closure and the rest belong
	// to the workflow's activities, which may write meanwhile.
	qCorrectCase = `UPDATE cases SET sex = :sex, citizenship = :citizenship, age_band = :age_band,
		encounter_context = :encounter_context, encountered_at = :encountered_at, exploitation = :exploitation,
		urgent_needs = :urgent_needs, exploitation_countries = :exploitation_countries, transit_countries = :transit_countries,
		updated_at = GREATEST(updated_at, :at)
		WHERE id = :id`
	// The person row exists only while the case's key does (shredding
	// deletes both in one transaction).
	qCorrectPerson = `UPDATE persons SET given_name = :given_name, family_name = :family_name, birth_date = :birth_date,
		age_estimate = :age_estimate, languages = :languages, phone = :phone, document_number = :document_number,
		place = :place, narrative = :narrative, officer_concern = :officer_concern
		WHERE case_id = :case_id AND EXISTS (SELECT 1 FROM case_keys k WHERE k.case_id = :case_id AND k.wrapped IS NOT NULL)`
	qCorrections = `SELECT r.*, COALESCE(u.name, '') AS actor_name, COALESCE(a.name, '') AS agency_name
		FROM case_corrections r LEFT JOIN users u ON u.id = r.actor_id LEFT JOIN agencies a ON a.id = r.agency_id
		WHERE r.case_id = $1 ORDER BY r.seq`
)

// LastCorrection returns the number of the case's last correction, 0 when
// it has none. A correction is computed from the record as it stood after
// that one and written as the next number: RecordCorrection refuses it
// (ErrConflict) when another was written meanwhile.
func (s *Store) LastCorrection(ctx context.Context, caseID uuid.UUID) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, qLastCorrection, caseID); err != nil {
		return 0, fmt.Errorf("last correction of case %s: %w", caseID, err)
	}
	return n, nil
}

// RecordCorrection writes a correction in one transaction: its history
// row, the case's correctable columns, the person's sealed identity and its
// blind indexes when it changed, and the notifications it raises. It
// answers ErrConflict, and writes nothing, when a correction with the same
// number was written first, and ErrNotFound when the identity to correct
// is gone (its key destroyed meanwhile).
func (s *Store) RecordCorrection(ctx context.Context, w CorrectionWrite) error {
	c := w.Correction
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.NamedExecContext(ctx, qInsertCorrection, c); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("correction %d of case %s: %w", c.Seq, c.CaseID, ErrConflict)
			}
			return fmt.Errorf("correction of case %s: %w", c.CaseID, err)
		}
		fields := struct {
			CaseFields
			ID uuid.UUID `db:"id"`
			At time.Time `db:"at"`
		}{w.Case, c.CaseID, c.At}
		res, err := tx.NamedExecContext(ctx, qCorrectCase, fields)
		if err != nil {
			return fmt.Errorf("correct case %s: %w", c.CaseID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("correct case %s: %w", c.CaseID, ErrNotFound)
		}
		if w.Person != nil {
			p := *w.Person
			p.CaseID = c.CaseID
			res, err := tx.NamedExecContext(ctx, qCorrectPerson, p)
			if err != nil {
				return fmt.Errorf("correct person of case %s: %w", c.CaseID, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("correct person of case %s: %w", c.CaseID, ErrNotFound)
			}
			// The blind indexes follow the values (search, duplicates).
			if _, err := tx.ExecContext(ctx, qDropIndexes, c.CaseID); err != nil {
				return fmt.Errorf("correct indexes of case %s: %w", c.CaseID, err)
			}
			if _, err := tx.ExecContext(ctx, qSetIndexVersion, c.CaseID, w.IndexVersion); err != nil {
				return fmt.Errorf("correct index version of case %s: %w", c.CaseID, err)
			}
			for _, ix := range w.Indexes {
				ix.CaseID = c.CaseID
				if _, err := tx.NamedExecContext(ctx, qInsertIndex, ix); err != nil {
					return fmt.Errorf("correct indexes of case %s: %w", c.CaseID, err)
				}
			}
		}
		return writeObligationsAndNotifications(ctx, tx, c.CaseID, nil, w.Notifications)
	})
}

// Corrections lists a case's corrections in order, with their authors'
// and agencies' names; the values stay sealed.
func (s *Store) Corrections(ctx context.Context, caseID uuid.UUID) ([]CorrectionRow, error) {
	out := []CorrectionRow{}
	if err := s.db.SelectContext(ctx, &out, qCorrections, caseID); err != nil {
		return nil, fmt.Errorf("corrections of case %s: %w", caseID, err)
	}
	return out, nil
}
