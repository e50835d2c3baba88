package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	At        time.Time  `db:"at"`
	UserID    uuid.UUID  `db:"user_id"`
	Role      string     `db:"role"`
	AgencyID  uuid.UUID  `db:"agency_id"`
	Action    string     `db:"action"`
	CaseID    *uuid.UUID `db:"case_id"`
	Fields    Strings    `db:"fields"`
	RequestID string     `db:"request_id"`
	// ClientRequestID is the X-Request-ID the client sent, if any; RequestID
	// is always the server's own.
	ClientRequestID string `db:"client_request_id"`
}

// AuditBrokenError names the first audit row at which the hash chain does
// not verify: the row was altered, or a row before it was removed or altered.
type AuditBrokenError struct {
	ID     int64
	Reason string
}

func (e *AuditBrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", e.ID, e.Reason)
}

// auditChainLock serialises appends to the audit chain (pg_advisory_xact_lock);
// distinct from migrationLock.
const auditChainLock = 7_301_954_211

const (
	qAuditLock     = `SELECT pg_advisory_xact_lock($1)`
	qAuditLastHash = `SELECT hash FROM audit_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1`
	qInsertAudit   = `INSERT INTO audit_log (at, user_id, role, agency_id, action, case_id, fields, request_id, client_request_id, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), $10, $11)`
	qAuditChain = `SELECT id, at, user_id, role, agency_id, action, case_id, fields, request_id,
		COALESCE(client_request_id, '') AS client_request_id, prev_hash, hash
		FROM audit_log ORDER BY id`
)

// genesisHash is the prev_hash of the first chained row.
var genesisHash = make([]byte, sha256.Size)

// Audit appends an audit row to the hash chain, and returns once it is
// committed. Appends are serialised by a transaction-scoped advisory lock,
// so the chain is linear (in ID order) however many replicas write; the
// entries of one process that arrive while another append is being written
// are written together next, in one transaction (one hold of the lock, one
// commit), so that a busy API — every identity read is audited — does not
// queue its reads one commit at a time. At is stored in UTC at PostgreSQL's
// microsecond precision; a zero At means now.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if e.Fields == nil {
		e.Fields = Strings{}
	}
	w := &auditWait{e: e, done: make(chan error, 1)}
	q := &s.audit
	q.mu.Lock()
	q.pending = append(q.pending, w)
	start := !q.writing
	q.writing = true
	q.mu.Unlock()
	if start {
		go s.writeAudit()
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		// The entry may still be written: an access audited that the
		// caller then did not complete is the safe side.
		return fmt.Errorf("audit %s: %w", e.Action, ctx.Err())
	}
}

// auditQueue holds the entries waiting for the next append transaction.
type auditQueue struct {
	mu      sync.Mutex
	pending []*auditWait
	writing bool // a writeAudit is running
}

type auditWait struct {
	e    AuditEntry
	done chan error
}

// auditBatch bounds the entries of one append transaction.
const auditBatch = 256

// auditTimeout bounds one append transaction: callers wait for it.
const auditTimeout = 30 * time.Second

// writeAudit appends what is waiting, a batch at a time, until nothing is.
func (s *Store) writeAudit() {
	q := &s.audit
	for {
		q.mu.Lock()
		n := min(len(q.pending), auditBatch)
		if n == 0 {
			q.writing = false
			q.mu.Unlock()
			return
		}
		batch := q.pending[:n:n]
		q.pending = q.pending[n:]
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
		err := s.appendAudit(ctx, batch)
		cancel()
		for _, w := range batch {
			w.done <- err
		}
	}
}

// appendAudit writes a batch of entries to the chain in one transaction.
func (s *Store) appendAudit(ctx context.Context, batch []*auditWait) error {
	first := batch[0].e.Action
	// READ COMMITTED whatever the server's default: the last hash must be read
	// with a snapshot taken after the lock is held.
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("audit %s: begin: %w", first, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qAuditLock, auditChainLock); err != nil {
		return fmt.Errorf("audit %s: lock: %w", first, err)
	}
	var prev []byte
	switch err := tx.GetContext(ctx, &prev, qAuditLastHash); {
	case errors.Is(err, sql.ErrNoRows):
		prev = genesisHash
	case err != nil:
		return fmt.Errorf("audit %s: read chain head: %w", first, err)
	}
	for _, w := range batch {
		e := w.e
		hash := auditHash(prev, e)
		if _, err := tx.ExecContext(ctx, qInsertAudit, e.At, e.UserID, e.Role, e.AgencyID, e.Action, e.CaseID,
			e.Fields, e.RequestID, e.ClientRequestID, prev, hash); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		prev = hash
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit %s: commit: %w", first, err)
	}
	return nil
}

// auditHash is SHA-256(prev_hash || canonical encoding of the row). The
// encoding is, for each of at (RFC 3339 with nanoseconds, UTC), user_id,
// role, agency_id, action, case_id (or ""), fields (joined with \x1f) and
// request_id in this order: its length as 4 bytes big-endian, then its bytes;
// then client_request_id the same way when there is one (rows written before
// migration 0014 have none and keep their hashes).
// The length prefixes keep ("ab", "c") apart from ("a", "bc").
func auditHash(prev []byte, e AuditEntry) []byte {
	caseID := ""
	if e.CaseID != nil {
		caseID = e.CaseID.String()
	}
	h := sha256.New()
	h.Write(prev)
	var n [4]byte
	parts := []string{
		e.At.UTC().Format(time.RFC3339Nano),
		e.UserID.String(),
		e.Role,
		e.AgencyID.String(),
		e.Action,
		caseID,
		strings.Join(e.Fields, "\x1f"),
		e.RequestID,
	}
	if e.ClientRequestID != "" {
		parts = append(parts, e.ClientRequestID)
	}
	for _, part := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return h.Sum(nil)
}

type auditRow struct {
	ID int64 `db:"id"`
	AuditEntry
	PrevHash []byte `db:"prev_hash"`
	Hash     []byte `db:"hash"`
}

// VerifyAudit walks the audit log in ID order, recomputing the hash chain,
// and returns how many rows it checked. On the first row that does not verify
// it returns an *AuditBrokenError naming it. Rows without hashes before the
// first chained row (written before migration 0003) are skipped, not counted;
// a row without hashes after it breaks the chain. An empty log verifies.
//
// The chain shows alteration and removal of rows inside it; it cannot show
// removal of the newest rows, nor a chain recomputed from the altered row on
// by someone with write access: compare the head with a copy kept elsewhere
// for that.
func (s *Store) VerifyAudit(ctx context.Context) (checked int, err error) {
	rows, err := s.db.QueryxContext(ctx, qAuditChain)
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	var (
		prev   []byte // hash of the previous chained row; nil before the first
		prevID int64
	)
	for rows.Next() {
		var r auditRow
		if err := rows.StructScan(&r); err != nil {
			return checked, fmt.Errorf("verify audit: read entry: %w", err)
		}
		if r.Hash == nil && r.PrevHash == nil && prev == nil {
			continue // written before the chain began
		}
		switch {
		case r.Hash == nil || r.PrevHash == nil:
			return checked, &AuditBrokenError{ID: r.ID, Reason: "hash missing"}
		case prev == nil && !bytes.Equal(r.PrevHash, genesisHash):
			return checked, &AuditBrokenError{ID: r.ID, Reason: "first entry of the chain does not start from the zero hash (entries before it were removed or altered)"}
		case prev != nil && !bytes.Equal(r.PrevHash, prev):
			return checked, &AuditBrokenError{ID: r.ID, Reason: fmt.Sprintf("previous hash does not match entry %d (entries between were removed, or entry %d was altered)", prevID, prevID)}
		case !bytes.Equal(auditHash(r.PrevHash, r.AuditEntry), r.Hash):
			return checked, &AuditBrokenError{ID: r.ID, Reason: "hash does not match the entry's contents (the entry was altered)"}
		}
		prev, prevID = r.Hash, r.ID
		checked++
	}
	if err := rows.Err(); err != nil {
		return checked, fmt.Errorf("verify audit: %w", err)
	}
	return checked, nil
}
