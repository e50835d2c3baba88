package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// ErrSOPChanged means an SOP file's content differs from the content that
// cases were already opened under with the same version.
var ErrSOPChanged = errors.New("SOP content changed under a version already in use")

// Case is a row of the case read model. It holds no identity data.
type Case struct {
	ID                 uuid.UUID       `db:"id"`
	Number             string          `db:"number"`
	AgencyID           uuid.UUID       `db:"agency_id"`
	CreatedBy          uuid.UUID       `db:"created_by"`
	SOPID              string          `db:"sop_id"`
	SOPVersion         string          `db:"sop_version"`
	SOPHash            string          `db:"sop_hash"`
	Stage              string          `db:"stage"`
	Child              bool            `db:"child"`
	Sex                string          `db:"sex"`
	AgeBand            string          `db:"age_band"`
	Citizenship        string          `db:"citizenship"`
	Region             string          `db:"region"`
	EncounterContext   string          `db:"encounter_context"`
	EncounteredAt      time.Time       `db:"encountered_at"`
	Indicators         Strings         `db:"indicators"`
	Exploitation       Strings         `db:"exploitation"`
	UrgentNeeds        Strings         `db:"urgent_needs"`
	ConsentReferral    *bool           `db:"consent_referral"`
	ConsentDataSharing *bool           `db:"consent_data_sharing"`
	ScreeningOutcome   string          `db:"screening_outcome"`
	Screening          json.RawMessage `db:"screening"`
	OfficerConcern     bool            `db:"officer_concern"`
	OpenedAt           time.Time       `db:"opened_at"`
	UpdatedAt          time.Time       `db:"updated_at"`
	ClosedAt           *time.Time      `db:"closed_at"`
	ClosureReason      *string         `db:"closure_reason"`
	WorkflowStartedAt  *time.Time      `db:"workflow_started_at"`

	// ExploitationCountries and TransitCountries are ISO 3166-1 alpha-2
	// codes (migration 0022); ["TM"] alone is trafficking within the country.
	ExploitationCountries Strings `db:"exploitation_countries"`
	TransitCountries      Strings `db:"transit_countries"`

	// ServiceRegion is the region the case is served in since a transfer
	// with a region change (nil: Region); ReopenedCount and ReTrafficked
	// record its reopenings (migration 0024, transfer.go).
	ServiceRegion *string `db:"service_region"`
	ReopenedCount int     `db:"reopened_count"`
	ReTrafficked  bool    `db:"re_trafficked"`
}

// SealedPerson is the identity of a case's person, each field a ciphertext
// bound to the case and column (package identity seals and opens it).
type SealedPerson struct {
	CaseID         uuid.UUID `db:"case_id"`
	GivenName      []byte    `db:"given_name"`
	FamilyName     []byte    `db:"family_name"`
	BirthDate      []byte    `db:"birth_date"`
	AgeEstimate    []byte    `db:"age_estimate"`
	Languages      []byte    `db:"languages"`
	Phone          []byte    `db:"phone"`
	DocumentNumber []byte    `db:"document_number"`
	Place          []byte    `db:"place"`
	Narrative      []byte    `db:"narrative"`
	OfficerConcern []byte    `db:"officer_concern"`
}

// CaseKey is a case's data key as stored: wrapped by a master key, or destroyed.
type CaseKey struct {
	CaseID      uuid.UUID  `db:"case_id"`
	KeyID       *string    `db:"key_id"`
	Wrapped     []byte     `db:"wrapped"`
	CreatedAt   time.Time  `db:"created_at"`
	DestroyedAt *time.Time `db:"destroyed_at"`
	// IndexVersion is the identity.IndexVersion its blind indexes were
	// computed by (0 for none yet); identity.Reindex brings older ones up.
	IndexVersion int `db:"index_version"`
}

// PersonIndex is a keyed blind index of a person (HMAC, never the data).
type PersonIndex struct {
	CaseID uuid.UUID `db:"case_id"`
	Kind   string    `db:"kind"`
	KeyID  string    `db:"key_id"`
	Digest string    `db:"digest"`
}

// CaseScope says which cases a caller may see. The zero value sees none;
// it is built from the caller's role and agency by package auth only.
type CaseScope struct {
	All      bool
	AgencyID uuid.UUID
}

func (sc CaseScope) args() (bool, uuid.UUID) { return sc.All, sc.AgencyID }

// CaseFilter narrows a case list (caselist.go). Worklist reads Stage,
// Number and Limit only.
type CaseFilter struct {
	Stage string
	// Number keeps the cases whose number is or starts with it (exact or
	// prefix match, as typed: case numbers are upper case).
	Number string
	Limit  int
	// Offset skips that many cases of the list (pages of a long list).
	Offset int
	// After keeps the cases after this position of the list's order: the
	// next page of a keyset-paged list, stable while cases are opened.
	After *Cursor
	// Region, AgencyID, Child and SOPVersion keep the cases with that value.
	Region     string
	AgencyID   *uuid.UUID
	Child      *bool
	SOPVersion string
	// OpenedFrom and OpenedTo bound opened_at, both inclusive.
	OpenedFrom, OpenedTo *time.Time
	// Overdue keeps the open cases with (true) or the cases without (false)
	// a deadline pending past due at Now, or breached.
	Overdue *bool
	Now     time.Time
	// Search keeps the cases found by number or blind index.
	Search *CaseSearch
}

const (
	qAnyCase        = `SELECT EXISTS (SELECT 1 FROM cases)`
	qNextCaseNumber = `INSERT INTO case_counters (prefix, year, last) VALUES ($1, $2, 1)
		ON CONFLICT (prefix, year) DO UPDATE SET last = case_counters.last + 1 RETURNING last`
	qNumberCase = `UPDATE cases SET number = $2 WHERE id = $1`
	qInsertCase = `INSERT INTO cases (id, number, agency_id, created_by, sop_id, sop_version, sop_hash, stage, child, sex,
		age_band, citizenship, region, encounter_context, encountered_at, indicators, exploitation, urgent_needs,
		exploitation_countries, transit_countries,
		consent_referral, consent_data_sharing, screening_outcome, screening, officer_concern, opened_at, updated_at)
		VALUES (:id, :number, :agency_id, :created_by, :sop_id, :sop_version, :sop_hash, :stage, :child, :sex,
		:age_band, :citizenship, :region, :encounter_context, :encountered_at, :indicators, :exploitation, :urgent_needs,
		:exploitation_countries, :transit_countries,
		:consent_referral, :consent_data_sharing, :screening_outcome, :screening, :officer_concern, :opened_at, :opened_at)`
	qInsertPerson = `INSERT INTO persons (case_id, given_name, family_name, birth_date, age_estimate, languages, phone,
		document_number, place, narrative, officer_concern)
		VALUES (:case_id, :given_name, :family_name, :birth_date, :age_estimate, :languages, :phone,
		:document_number, :place, :narrative, :officer_concern)`
	qInsertCaseKey = `INSERT INTO case_keys (case_id, key_id, wrapped, created_at, index_version)
		VALUES (:case_id, :key_id, :wrapped, :created_at, :index_version)`
	// The case's opening time orders the digest's cases (0027).
	qInsertIndex = `INSERT INTO person_index (case_id, kind, key_id, digest, opened_at)
		VALUES (:case_id, :kind, :key_id, :digest, (SELECT opened_at FROM cases WHERE id = :case_id))
		ON CONFLICT DO NOTHING`
	// $1 all, $2 agency: one predicate for every scoped case read.
	caseScopePredicate = `($1 OR c.agency_id = $2)`
	qCaseScoped        = `SELECT c.* FROM cases c WHERE ` + caseScopePredicate + ` AND c.id = $3`
	qCaseNumbersScoped = `SELECT c.id, c.number FROM cases c WHERE ` + caseScopePredicate + ` AND c.id = ANY($3::uuid[])`
	qPerson            = `SELECT * FROM persons WHERE case_id = $1`
	qMarkStarted       = `UPDATE cases SET workflow_started_at = $2 WHERE id = $1 AND workflow_started_at IS NULL`
	qUnstartedCases    = `SELECT c.* FROM cases c WHERE workflow_started_at IS NULL AND opened_at < $1 ORDER BY opened_at LIMIT $2`
	qPinSOP            = `INSERT INTO sop_versions (sop, version, hash) VALUES ($1, $2, $3) ON CONFLICT (sop, version) DO NOTHING`
	qSOPHash           = `SELECT hash FROM sop_versions WHERE sop = $1 AND version = $2`
)

// A worklist's filter: $3 the stage, $4 the LIKE pattern of the number
// (empty: any stage, any number).
const caseFilterPredicate = ` AND ($3 = '' OR c.stage = $3) AND ($4 = '' OR c.number LIKE $4)`

// NewIdentity is what opening a case stores of the person: the sealed
// fields, the wrapped data key and the blind indexes.
type NewIdentity struct {
	Person  *SealedPerson
	Key     CaseKey
	Indexes []PersonIndex
}

// CreateCase allocates the case number and writes the case and the person's
// identity in one transaction, with any notifications the opening raises
// (possible duplicates): either all rows exist or none does.
func (s *Store) CreateCase(ctx context.Context, c *Case, id NewIdentity, prefix string, year int, notes ...Notification) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The case is numbered last. The counter's row stays locked from its
		// increment to the commit, and every opening in the country waits
		// for it: it must not wait for the rest of this transaction too.
		c.Number = provisionalNumber + c.ID.String()
		if _, err := tx.NamedExecContext(ctx, qInsertCase, c); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("case %s: %w", c.ID, ErrConflict)
			}
			return fmt.Errorf("insert case %s: %w", c.ID, err)
		}
		id.Key.CaseID = c.ID
		if _, err := tx.NamedExecContext(ctx, qInsertCaseKey, id.Key); err != nil {
			return fmt.Errorf("insert key of case %s: %w", c.ID, err)
		}
		id.Person.CaseID = c.ID
		if _, err := tx.NamedExecContext(ctx, qInsertPerson, id.Person); err != nil {
			return fmt.Errorf("insert person of case %s: %w", c.ID, err)
		}
		for _, ix := range id.Indexes {
			ix.CaseID = c.ID
			if _, err := tx.NamedExecContext(ctx, qInsertIndex, ix); err != nil {
				return fmt.Errorf("index person of case %s: %w", c.ID, err)
			}
		}
		if err := writeObligationsAndNotifications(ctx, tx, c.ID, nil, notes); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, qNextCaseNumber, prefix, year); err != nil {
			return fmt.Errorf("case number: %w", err)
		}
		c.Number = fmt.Sprintf("%s-%d-%06d", prefix, year, n)
		if _, err := tx.ExecContext(ctx, qNumberCase, c.ID, c.Number); err != nil {
			return fmt.Errorf("number case %s: %w", c.ID, err)
		}
		return nil
	})
	if err != nil {
		c.Number = ""
	}
	return err
}

// provisionalNumber starts the number a case holds inside the transaction
// that records it, before it is numbered; no other transaction sees it.
const provisionalNumber = "unnumbered-"

// AnyCase says whether the database holds a case at all.
func (s *Store) AnyCase(ctx context.Context) (bool, error) {
	var has bool
	if err := s.db.GetContext(ctx, &has, qAnyCase); err != nil {
		return false, fmt.Errorf("any case: %w", err)
	}
	return has, nil
}

// Case returns a case the scope may see; any other is ErrNotFound.
func (s *Store) Case(ctx context.Context, scope CaseScope, id uuid.UUID) (*Case, error) {
	all, agency := scope.args()
	var c Case
	if err := s.db.GetContext(ctx, &c, qCaseScoped, all, agency, id); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, notFound(err))
	}
	return &c, nil
}

// CaseNumbers answers the numbers of those of the cases the scope may see,
// in one read; the others are left out.
func (s *Store) CaseNumbers(ctx context.Context, scope CaseScope, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	all, agency := scope.args()
	keys := make(Strings, len(ids))
	for i, id := range ids {
		keys[i] = id.String()
	}
	var rows []struct {
		ID     uuid.UUID `db:"id"`
		Number string    `db:"number"`
	}
	if err := s.db.SelectContext(ctx, &rows, qCaseNumbersScoped, all, agency, keys); err != nil {
		return nil, fmt.Errorf("numbers of %d cases: %w", len(ids), err)
	}
	out := make(map[uuid.UUID]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Number
	}
	return out, nil
}

// numberPattern is the LIKE pattern of a case number's prefix (empty for
// none), with LIKE's own characters escaped.
func numberPattern(prefix string) string {
	if prefix == "" {
		return ""
	}
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(prefix) + "%"
}

// Person returns the sealed identity of a case's person. Callers must have
// checked the case's scope first and must audit the read.
func (s *Store) Person(ctx context.Context, caseID uuid.UUID) (*SealedPerson, error) {
	var p SealedPerson
	if err := s.db.GetContext(ctx, &p, qPerson, caseID); err != nil {
		return nil, fmt.Errorf("person of case %s: %w", caseID, notFound(err))
	}
	return &p, nil
}

// MarkWorkflowStarted records that the case's workflow runs.
func (s *Store) MarkWorkflowStarted(ctx context.Context, id uuid.UUID, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, qMarkStarted, id, at); err != nil {
		return fmt.Errorf("mark workflow of case %s: %w", id, err)
	}
	return nil
}

// UnstartedCases lists cases opened before the cutoff whose workflow was
// never confirmed started; the reconciler starts them.
func (s *Store) UnstartedCases(ctx context.Context, before time.Time, limit int) ([]Case, error) {
	out := []Case{}
	if err := s.db.SelectContext(ctx, &out, qUnstartedCases, before, limit); err != nil {
		return nil, fmt.Errorf("unstarted cases: %w", err)
	}
	return out, nil
}

// PinSOP records an SOP version's content hash the first time it is used and
// refuses a different content under the same version afterwards.
func (s *Store) PinSOP(ctx context.Context, sopID, version, hash string) error {
	pin := sopPin{sopID, version, hash}
	if _, ok := s.pinned.Load(pin); ok {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, qPinSOP, sopID, version, hash); err != nil {
		return fmt.Errorf("pin SOP %s %s: %w", sopID, version, err)
	}
	var stored string
	if err := s.db.GetContext(ctx, &stored, qSOPHash, sopID, version); err != nil {
		return fmt.Errorf("pin SOP %s %s: %w", sopID, version, err)
	}
	if stored != hash {
		return fmt.Errorf("SOP %s version %s (stored hash %.12s, file hash %.12s): %w", sopID, version, stored, hash, ErrSOPChanged)
	}
	s.pinned.Store(pin, true)
	return nil
}

// sopPin is an SOP version and the hash of its content.
type sopPin struct{ sop, version, hash string }

// CheckSOP verifies, without pinning, that a version's content matches what is
// stored for it, if anything is.
func (s *Store) CheckSOP(ctx context.Context, sopID, version, hash string) error {
	var stored string
	err := s.db.GetContext(ctx, &stored, qSOPHash, sopID, version)
	if err != nil {
		if errors.Is(notFound(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("check SOP %s %s: %w", sopID, version, err)
	}
	if stored != hash {
		return fmt.Errorf("SOP %s version %s (stored hash %.12s, file hash %.12s): %w", sopID, version, stored, hash, ErrSOPChanged)
	}
	return nil
}

const qClosedAtOnceSince = `SELECT count(*) FROM cases
	WHERE created_by = $1 AND opened_at >= $2 AND screening_outcome <> 'presumed_victim' AND NOT officer_concern`

// ScreeningsClosedAtOnce counts the screenings a user recorded since a time
// that the SOP's rule did not support and that the officer did not forward:
// cases that opened and closed at once.
func (s *Store) ScreeningsClosedAtOnce(ctx context.Context, userID uuid.UUID, since time.Time) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, qClosedAtOnceSince, userID, since); err != nil {
		return 0, fmt.Errorf("screenings closed at once by %s: %w", userID, err)
	}
	return n, nil
}
