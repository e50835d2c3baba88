package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The audit trail as people read it (the web UI's /audit and
// /cases/{id}/audit): rows of audit_log with the names of the user, their
// agency and the case, newest first, filtered and paged by a cursor. The
// filters have the indexes of migration 0019; a case's rows use
// audit_log_case_idx.

// AuditFilter chooses rows of the audit log. Zero fields do not filter.
type AuditFilter struct {
	CaseID   *uuid.UUID
	UserID   *uuid.UUID
	AgencyID *uuid.UUID
	Action   string
	// From and To bound the time of the rows: From <= at < To.
	From, To time.Time
	// Before is the cursor of the next page: the rows older than the row
	// of this ID (in the order at, id). 0: from the newest.
	Before int64
	// Limit is at most 500; 50 when not positive.
	Limit int
}

// AuditRecord is a row of the audit log with the names it refers to. The
// user and agency names are the directory's at the time of reading.
type AuditRecord struct {
	ID              int64      `db:"id"`
	At              time.Time  `db:"at"`
	UserID          uuid.UUID  `db:"user_id"`
	UserName        string     `db:"user_name"`
	UserEmail       string     `db:"user_email"`
	Role            string     `db:"role"`
	AgencyID        uuid.UUID  `db:"agency_id"`
	AgencyName      string     `db:"agency_name"`
	Action          string     `db:"action"`
	CaseID          *uuid.UUID `db:"case_id"`
	CaseNumber      string     `db:"case_number"`
	Fields          Strings    `db:"fields"`
	RequestID       string     `db:"request_id"`
	ClientRequestID string     `db:"client_request_id"`
}

const qAuditTrail = `SELECT a.id, a.at, a.user_id, COALESCE(u.name, '') AS user_name, COALESCE(u.email, '') AS user_email,
	a.role, a.agency_id, COALESCE(g.name, '') AS agency_name, a.action, a.case_id, COALESCE(c.number, '') AS case_number,
	a.fields, a.request_id, COALESCE(a.client_request_id, '') AS client_request_id
	FROM audit_log a
	LEFT JOIN users u ON u.id = a.user_id
	LEFT JOIN agencies g ON g.id = a.agency_id
	LEFT JOIN cases c ON c.id = a.case_id`

// AuditTrail answers the rows the filter chooses, newest first (by time,
// then ID), at most f.Limit. An unknown cursor (f.Before) is ErrNotFound.
func (s *Store) AuditTrail(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	var beforeAt time.Time
	if f.Before > 0 {
		if err := s.db.GetContext(ctx, &beforeAt, `SELECT at FROM audit_log WHERE id = $1`, f.Before); err != nil {
			return nil, fmt.Errorf("audit trail cursor: %w", notFound(err))
		}
	}
	q, args := auditTrailSQL(f, beforeAt)
	out := []AuditRecord{}
	if err := s.db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	return out, nil
}

// auditTrailSQL builds the query of AuditTrail; beforeAt is the time of the
// cursor's row (f.Before).
func auditTrailSQL(f AuditFilter, beforeAt time.Time) (string, []any) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.CaseID != nil {
		where = append(where, "a.case_id = "+arg(*f.CaseID))
	}
	if f.UserID != nil {
		where = append(where, "a.user_id = "+arg(*f.UserID))
	}
	if f.AgencyID != nil {
		where = append(where, "a.agency_id = "+arg(*f.AgencyID))
	}
	if f.Action != "" {
		where = append(where, "a.action = "+arg(f.Action))
	}
	if !f.From.IsZero() {
		where = append(where, "a.at >= "+arg(f.From.UTC()))
	}
	if !f.To.IsZero() {
		where = append(where, "a.at < "+arg(f.To.UTC()))
	}
	if f.Before > 0 {
		// A row comparison, so that the indexes on (…, at, id) serve it.
		where = append(where, "(a.at, a.id) < ("+arg(beforeAt.UTC())+", "+arg(f.Before)+")")
	}
	q := qAuditTrail
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + " ORDER BY a.at DESC, a.id DESC LIMIT " + arg(f.Limit), args
}

// qAuditActions walks the action index from one distinct value to the
// next (a loose index scan): as many index probes as there are actions,
// however long the log.
const qAuditActions = `WITH RECURSIVE actions(action) AS (
		(SELECT action FROM audit_log ORDER BY action LIMIT 1)
		UNION ALL
		SELECT (SELECT a.action FROM audit_log a WHERE a.action > actions.action ORDER BY a.action LIMIT 1)
		FROM actions WHERE actions.action IS NOT NULL
	)
	SELECT action FROM actions WHERE action IS NOT NULL`

// AuditActions lists the distinct actions the audit log holds, in order.
func (s *Store) AuditActions(ctx context.Context) ([]string, error) {
	out := []string{}
	if err := s.db.SelectContext(ctx, &out, qAuditActions); err != nil {
		return nil, fmt.Errorf("audit actions: %w", err)
	}
	return out, nil
}

// LastAudit answers the newest row of an action; ErrNotFound when there is
// none.
func (s *Store) LastAudit(ctx context.Context, action string) (*AuditRecord, error) {
	list, err := s.AuditTrail(ctx, AuditFilter{Action: action, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("audit %s: %w", action, ErrNotFound)
	}
	return &list[0], nil
}

// AuditHead is the newest chained row of the audit log: its ID and hash,
// the values to compare with a copy kept elsewhere (VerifyAudit cannot see
// the newest rows removed). ErrNotFound when the log is empty.
func (s *Store) AuditHead(ctx context.Context) (id int64, hash []byte, err error) {
	var row struct {
		ID   int64  `db:"id"`
		Hash []byte `db:"hash"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT id, hash FROM audit_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("audit head: %w", ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("audit head: %w", err)
	}
	return row.ID, row.Hash, nil
}

// CaseNumberOf answers the number of any case, whoever owns it (the audit
// trail's heading); ErrNotFound when there is no such case.
func (s *Store) CaseNumberOf(ctx context.Context, id uuid.UUID) (string, error) {
	var n string
	if err := s.db.GetContext(ctx, &n, `SELECT number FROM cases WHERE id = $1`, id); err != nil {
		return "", fmt.Errorf("case %s: %w", id, notFound(err))
	}
	return n, nil
}
