// Package audit reads the hash-chained audit log for people: the trail of a
// case and the whole log with filters, for the competent authority and
// administrators, and the chain's verification (the check `nrm audit
// verify` runs) for administrators. Every read of the trail is itself
// audited (audit.read, with the case when there is one) before anything is
// answered; a verification is audited with its result (audit.verify), so
// the last one can be shown from the log itself.
package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

// Service reads the audit log.
type Service struct {
	Store *store.Store
	Now   func() time.Time
}

// RequestInfo identifies, in the audit log, the request that read it.
type RequestInfo struct {
	RequestID string
	// ClientRequestID is the X-Request-ID the client sent, kept apart.
	ClientRequestID string
}

// Actions of the rows this package writes.
const (
	ActionRead   = "audit.read"
	ActionVerify = "audit.verify"
)

// PageSize is how many rows a page of the trail shows.
const PageSize = 50

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CanRead says whether a user may read the audit trail: the competent
// authority (any case's) and administrators; nobody else.
func CanRead(p auth.Principal) bool { return p.Is(auth.CompetentAuthority, auth.Admin) }

// Page is a page of the trail: its rows, newest first, and the cursor of
// the next (older) page, 0 when there is none.
type Page struct {
	Rows []store.AuditRecord
	Next int64
}

// Trail answers a page of the audit log under the filter (its CaseID
// ignored: a case's trail is CaseTrail), PageSize rows from the cursor
// f.Before. The read is audited first (audit.read, the filters in its
// fields). cases.ErrForbidden for roles other than the competent
// authority and administrators; an unknown cursor is cases.ErrNotFound.
func (s *Service) Trail(ctx context.Context, p auth.Principal, ri RequestInfo, f store.AuditFilter) (*Page, error) {
	if !CanRead(p) {
		return nil, cases.ErrForbidden
	}
	f.CaseID = nil
	var fields []string
	if f.UserID != nil {
		fields = append(fields, "user:"+f.UserID.String())
	}
	if f.AgencyID != nil {
		fields = append(fields, "agency:"+f.AgencyID.String())
	}
	if f.Action != "" {
		fields = append(fields, "action:"+f.Action)
	}
	if !f.From.IsZero() {
		fields = append(fields, "from:"+f.From.UTC().Format(time.RFC3339))
	}
	if !f.To.IsZero() {
		fields = append(fields, "to:"+f.To.UTC().Format(time.RFC3339))
	}
	if err := s.audit(ctx, p, ri, ActionRead, nil, fields...); err != nil {
		return nil, err
	}
	return s.page(ctx, f)
}

// CaseTrail answers the case's number and a page of its trail — who read
// or changed what in it, when, from which agency — PageSize rows from the
// cursor before (0: the newest). The read is audited first (audit.read
// with the case). cases.ErrForbidden for roles other than the competent
// authority and administrators, cases.ErrNotFound for an unknown case or
// cursor.
func (s *Service) CaseTrail(ctx context.Context, p auth.Principal, ri RequestInfo, caseID uuid.UUID, before int64) (string, *Page, error) {
	if !CanRead(p) {
		return "", nil, cases.ErrForbidden
	}
	number, err := s.Store.CaseNumberOf(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, cases.ErrNotFound
	}
	if err != nil {
		return "", nil, err
	}
	if err := s.audit(ctx, p, ri, ActionRead, &caseID); err != nil {
		return "", nil, err
	}
	pg, err := s.page(ctx, store.AuditFilter{CaseID: &caseID, Before: before})
	return number, pg, err
}

func (s *Service) page(ctx context.Context, f store.AuditFilter) (*Page, error) {
	f.Limit = PageSize + 1
	rows, err := s.Store.AuditTrail(ctx, f)
	if errors.Is(err, store.ErrNotFound) {
		return nil, cases.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := &Page{Rows: rows}
	if len(rows) > PageSize {
		out.Rows = rows[:PageSize]
		out.Next = out.Rows[PageSize-1].ID
	}
	return out, nil
}

// Filters are the choices of the trail's filters: the users and agencies
// of the directory and the actions the log holds.
type Filters struct {
	Users    []store.User
	Agencies []store.Agency
	Actions  []string
}

// Filters answers the choices of the trail's filters (cases.ErrForbidden
// for roles that may not read the trail).
func (s *Service) Filters(ctx context.Context, p auth.Principal) (*Filters, error) {
	if !CanRead(p) {
		return nil, cases.ErrForbidden
	}
	users, err := s.Store.Users(ctx)
	if err != nil {
		return nil, err
	}
	agencies, err := s.Store.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	actions, err := s.Store.AuditActions(ctx)
	if err != nil {
		return nil, err
	}
	return &Filters{Users: users, Agencies: agencies, Actions: actions}, nil
}

// Verification is the result of checking the audit log's hash chain.
type Verification struct {
	// At is when it ran, By who ran it (their name).
	At time.Time
	By string
	// Intact: every chained row verified; Entries is how many.
	Intact  bool
	Entries int
	// BrokenAt is the first row that does not verify when not intact.
	BrokenAt int64
	// Head and HeadHash are the newest row and its hash (hex) when it ran:
	// the values to compare with a copy kept elsewhere, since the chain
	// cannot show its newest rows removed.
	Head     int64
	HeadHash string
}

// Verify recomputes the audit log's hash chain, as `nrm audit verify`
// does (store.VerifyAudit), and records the result in the log
// (audit.verify). Administrators only (cases.ErrForbidden otherwise). A
// broken chain is a result, not an error.
func (s *Service) Verify(ctx context.Context, p auth.Principal, ri RequestInfo) (*Verification, error) {
	if !p.Is(auth.Admin) {
		return nil, cases.ErrForbidden
	}
	v := &Verification{At: s.now().UTC(), By: p.Name}
	head, hash, err := s.Store.AuditHead(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	v.Head, v.HeadHash = head, hex.EncodeToString(hash)
	n, err := s.Store.VerifyAudit(ctx)
	var broken *store.AuditBrokenError
	switch {
	case errors.As(err, &broken):
		v.Entries, v.BrokenAt = n, broken.ID
	case err != nil:
		return nil, err
	default:
		v.Intact, v.Entries = true, n
	}
	if err := s.audit(ctx, p, ri, ActionVerify, nil, v.fields()...); err != nil {
		return nil, err
	}
	return v, nil
}

// LastVerification answers the newest verification recorded in the log,
// nil when there has been none. Administrators only.
func (s *Service) LastVerification(ctx context.Context, p auth.Principal) (*Verification, error) {
	if !p.Is(auth.Admin) {
		return nil, cases.ErrForbidden
	}
	r, err := s.Store.LastAudit(ctx, ActionVerify)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := &Verification{At: r.At, By: r.UserName}
	for _, f := range r.Fields {
		k, val, _ := strings.Cut(f, ":")
		switch k {
		case "result":
			v.Intact = val == "intact"
		case "entries":
			v.Entries, _ = strconv.Atoi(val)
		case "broken_at":
			v.BrokenAt, _ = strconv.ParseInt(val, 10, 64)
		case "head":
			v.Head, _ = strconv.ParseInt(val, 10, 64)
		case "head_hash":
			v.HeadHash = val
		}
	}
	return v, nil
}

// fields are the result as the audit row keeps it.
func (v *Verification) fields() []string {
	result := "broken"
	if v.Intact {
		result = "intact"
	}
	out := []string{"result:" + result, "entries:" + strconv.Itoa(v.Entries)}
	if !v.Intact {
		out = append(out, "broken_at:"+strconv.FormatInt(v.BrokenAt, 10))
	}
	if v.Head > 0 {
		out = append(out, "head:"+strconv.FormatInt(v.Head, 10), "head_hash:"+v.HeadHash)
	}
	return out
}

func (s *Service) audit(ctx context.Context, p auth.Principal, ri RequestInfo, action string, caseID *uuid.UUID, fields ...string) error {
	err := s.Store.Audit(ctx, store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: action, CaseID: caseID, Fields: store.Strings(fields), RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
