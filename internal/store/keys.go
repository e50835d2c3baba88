package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

const (
	qCaseKey = `SELECT * FROM case_keys WHERE case_id = $1`
	// Shredding: the wrapped key goes, and with it every ciphertext of the case.
	qDestroyKey   = `UPDATE case_keys SET wrapped = NULL, key_id = NULL, destroyed_at = $2 WHERE case_id = $1 AND wrapped IS NOT NULL`
	qDropIndexes  = `DELETE FROM person_index WHERE case_id = $1`
	qKeysToRewrap = `SELECT * FROM case_keys WHERE wrapped IS NOT NULL AND key_id <> $1 ORDER BY case_id LIMIT $2`
	qRewrapKey    = `UPDATE case_keys SET key_id = $3, wrapped = $4 WHERE case_id = $1 AND key_id = $2`
	// The most recent live cases sharing a digest, at most $3 of them: the
	// $3 most recent of each digest (person_index_digest_idx), then the $3
	// most recent of those. Bounded by the digests, not by the matches: the
	// key of each row read is looked up by itself, never joined whole.
	qDuplicates = `SELECT m.case_id FROM (
		SELECT DISTINCT ON (i.case_id) i.case_id, i.opened_at
		FROM unnest($1::text[]) AS d(digest)
		CROSS JOIN LATERAL (
			SELECT p.case_id, p.opened_at FROM person_index p
			WHERE p.digest = d.digest AND p.case_id <> $2
			AND (SELECT k.wrapped IS NOT NULL FROM case_keys k WHERE k.case_id = p.case_id)
			ORDER BY p.opened_at DESC, p.case_id LIMIT $3) i
		ORDER BY i.case_id) m
		ORDER BY m.opened_at DESC, m.case_id LIMIT $3`
	qIndexesOfCase = `SELECT case_id, kind, key_id, digest FROM person_index WHERE case_id = $1`
	// The live keys whose indexes an earlier version computed, in case_id
	// order from a position on (case_keys_reindex_idx).
	qKeysToReindex   = `SELECT * FROM case_keys WHERE wrapped IS NOT NULL AND index_version = $1 AND case_id > $2 ORDER BY case_id LIMIT $3`
	qSetIndexVersion = `UPDATE case_keys SET index_version = $2 WHERE case_id = $1`
	// The erasure's timeline event comes after every event the case has.
	qAppendAfterLast = `INSERT INTO case_events (id, seq, case_id, type, at, actor_id, data)
		SELECT $1::text, COALESCE(MAX(seq), 0) + 1, $2::uuid, $3::text, $4::timestamptz, $5::uuid, $6::jsonb FROM case_events WHERE case_id = $2::uuid
		ON CONFLICT (id) DO NOTHING`
)

// CaseKey returns a case's stored data key.
func (s *Store) CaseKey(ctx context.Context, caseID uuid.UUID) (*CaseKey, error) {
	var k CaseKey
	if err := s.db.GetContext(ctx, &k, qCaseKey, caseID); err != nil {
		return nil, fmt.Errorf("key of case %s: %w", caseID, notFound(err))
	}
	return &k, nil
}

// DestroyCaseKey crypto-shreds a case's identity: the wrapped data key, the
// person row and the blind indexes go; the anonymised case stays. Idempotent.
func (s *Store) DestroyCaseKey(ctx context.Context, caseID uuid.UUID, at time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{{qDestroyKey, []any{caseID, at}}, {qDeletePerson, []any{caseID}}, {qDropIndexes, []any{caseID}}} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return fmt.Errorf("shred case %s: %w", caseID, err)
			}
		}
		return nil
	})
}

// EraseIdentity crypto-shreds a case's identity like DestroyCaseKey and, in
// the same transaction, appends the event recording why. erased is false,
// and nothing changes, when the key was already destroyed (retention, an
// earlier erasure, declined consent) or the case has none.
func (s *Store) EraseIdentity(ctx context.Context, caseID uuid.UUID, at time.Time, e Event) (erased bool, err error) {
	e.Data = eventData(e.Data)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, qDestroyKey, caseID, at)
		if err != nil {
			return fmt.Errorf("erase case %s: %w", caseID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for _, q := range []string{qDeletePerson, qDropIndexes} {
			if _, err := tx.ExecContext(ctx, q, caseID); err != nil {
				return fmt.Errorf("erase case %s: %w", caseID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, qAppendAfterLast, e.ID, caseID, e.Type, e.At, e.ActorID, e.Data); err != nil {
			return fmt.Errorf("erase case %s: event: %w", caseID, err)
		}
		erased = true
		return nil
	})
	return erased && err == nil, err
}

// KeysNotUnder lists up to limit live case keys wrapped by another master key than keyID.
func (s *Store) KeysNotUnder(ctx context.Context, keyID string, limit int) ([]CaseKey, error) {
	out := []CaseKey{}
	if err := s.db.SelectContext(ctx, &out, qKeysToRewrap, keyID, limit); err != nil {
		return nil, fmt.Errorf("keys to rewrap: %w", err)
	}
	return out, nil
}

// RewrapKey replaces a case's wrapped key if it is still wrapped by oldKeyID.
func (s *Store) RewrapKey(ctx context.Context, caseID uuid.UUID, oldKeyID, newKeyID string, wrapped []byte) error {
	if _, err := s.db.ExecContext(ctx, qRewrapKey, caseID, oldKeyID, newKeyID, wrapped); err != nil {
		return fmt.Errorf("rewrap key of case %s: %w", caseID, err)
	}
	return nil
}

// ReplaceIndexes stores a case's blind indexes computed under another key.
func (s *Store) ReplaceIndexes(ctx context.Context, caseID uuid.UUID, indexes []PersonIndex) error {
	return s.ReplaceIndexesVersion(ctx, caseID, indexes, 0)
}

// KeysToReindex lists up to limit live case keys whose blind indexes were
// computed by index version version, with a case ID above after.
func (s *Store) KeysToReindex(ctx context.Context, version int, after uuid.UUID, limit int) ([]CaseKey, error) {
	out := []CaseKey{}
	if err := s.db.SelectContext(ctx, &out, qKeysToReindex, version, after, limit); err != nil {
		return nil, fmt.Errorf("keys to reindex: %w", err)
	}
	return out, nil
}

// ReplaceIndexesVersion stores a case's blind indexes and, when version is
// above 0, records in the same transaction the index version that computed
// them.
func (s *Store) ReplaceIndexesVersion(ctx context.Context, caseID uuid.UUID, indexes []PersonIndex, version int) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, qDropIndexes, caseID); err != nil {
			return err
		}
		if version > 0 {
			if _, err := tx.ExecContext(ctx, qSetIndexVersion, caseID, version); err != nil {
				return fmt.Errorf("index version of case %s: %w", caseID, err)
			}
		}
		for _, ix := range indexes {
			ix.CaseID = caseID
			if _, err := tx.NamedExecContext(ctx, qInsertIndex, ix); err != nil {
				return fmt.Errorf("index case %s: %w", caseID, err)
			}
		}
		return nil
	})
}

// CasesWithIndex returns other live cases that share any of the digests:
// the limit most recently opened.
func (s *Store) CasesWithIndex(ctx context.Context, digests []string, except uuid.UUID, limit int) ([]uuid.UUID, error) {
	out := []uuid.UUID{}
	if err := s.db.SelectContext(ctx, &out, qDuplicates, Strings(digests), except, limit); err != nil {
		return nil, fmt.Errorf("possible duplicates: %w", err)
	}
	return out, nil
}
