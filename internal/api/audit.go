package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
)

// Every command is audited (docs/architecture.md#audit-log): who, role, agency, which route,
// which case, when, request ID. The middleware writes the entry after the
// handler succeeded, so that refused and invalid requests (which changed
// nothing) do not fill the log; identity reads are audited where they
// happen (internal/cases), with the fields they disclose.

// localAuditCase lets a handler name the case of a command whose path does
// not carry it (opening a case).
const localAuditCase = "audit_case"

// selfAudited routes write their own, more specific audit entries; logout
// and marking a notification read change nothing about a case.
var selfAudited = map[string]bool{
	"POST /codec/encode":                        true,
	"POST /codec/decode":                        true,
	"POST /api/v1/agencies":                     true,
	"PATCH /api/v1/agencies/:id":                true,
	"POST /api/v1/users":                        true,
	"POST /api/v1/users/:id/deactivate":         true,
	"POST /api/v1/admin/dead-letters/:id/retry": true,
	"POST /api/v1/agencies/:id/channels":        true,
	"POST /api/v1/auth/logout":                  true,
	"POST /api/v1/notifications/:id/read":       true,
	"POST /api/v1/cases/:id/erasure":            true, // case.identity.erase
	"PATCH /api/v1/cases/:id":                   true, // case.correct
	"PATCH /api/v1/cases/:id/person":            true, // case.correct
}

// audited reports whether the middleware audits the route: every command
// (not GET) of a signed-in caller that does not audit itself.
func audited(r Route) bool {
	return r.Method != fiber.MethodGet && r.Access != public && !selfAudited[r.Method+" "+r.Path]
}

// auditCommand writes the audit entry of a successful command.
func (s *Server) auditCommand(r Route) fiber.Handler {
	action := "command " + r.Method + " " + r.Path
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil || c.Response().StatusCode() >= 400 {
			return err
		}
		p := signedInUser(c)
		entry := store.AuditEntry{At: time.Now(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
			Action: action, CaseID: s.auditCase(c, r), RequestID: requestID(c), ClientRequestID: clientRequestID(c)}
		if err := s.deps.Store.Audit(c.UserContext(), entry); err != nil {
			// The command took effect; its record is in the case's timeline.
			s.log.Error("audit command", "request_id", requestID(c), "action", action, "error", err)
		}
		return nil
	}
}

// auditCase is the case a command acted on: the :id of a case route, the
// case of a referral, or what the handler named.
func (s *Server) auditCase(c *fiber.Ctx, r Route) *uuid.UUID {
	if id, ok := c.Locals(localAuditCase).(uuid.UUID); ok {
		return &id
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil
	}
	switch {
	case strings.HasPrefix(r.Path, "/api/v1/cases/:id"):
		return &id
	case strings.HasPrefix(r.Path, "/api/v1/referrals/:id"):
		if ref, err := s.deps.Store.Referral(c.UserContext(), id); err == nil {
			return &ref.CaseID
		}
	}
	return nil
}

// audit records each use of a self-audited route that no service stands
// behind — the Temporal codec (handlers_codec.go) — whatever its outcome.
// (For the other self-audited routes their services write the rows —
// directory.Admin, notify.Admin, cases.Service — or none is written: logout,
// marking a notification read.) A failure to audit is logged, not answered.
func (s *Server) audit(c *fiber.Ctx, action string, caseID *uuid.UUID) {
	p := signedInUser(c)
	err := s.deps.Store.Audit(c.UserContext(), store.AuditEntry{UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: action, CaseID: caseID, RequestID: requestID(c), ClientRequestID: clientRequestID(c)})
	if err != nil {
		s.log.Error("audit", "request_id", requestID(c), "action", action, "error", err)
	}
}
