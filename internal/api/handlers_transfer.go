package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
)

// Transfer, reopening and links of cases (docs/process.md#transfer,
// docs/process.md#reopening, docs/process.md#linked-cases).

// transferrers: the owner's supervisor and the competent authority move a
// case to another agency and reopen a closed one.
var transferrers = []auth.Role{auth.Supervisor, auth.CompetentAuthority}

type transferJSON struct {
	CaseID        string `json:"case_id"`
	CaseNumber    string `json:"case_number"`
	Stage         string `json:"stage"`
	AgencyID      string `json:"agency_id"`
	ServiceRegion string `json:"service_region"`
}

type linkJSON struct {
	CaseID        string    `json:"case_id"`
	EarlierCaseID string    `json:"earlier_case_id"`
	ReTrafficked  bool      `json:"re_trafficked"`
	LinkedAt      time.Time `json:"linked_at"`
}

// visibleCase parses the route's case ID and answers 404, before the body
// is read, for a case the caller may not see.
func (s *Server) visibleCase(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, cases.ErrNotFound
	}
	return id, s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id)
}

// transferCase answers the case's place after the transfer: a supervisor of
// the old agency no longer reads the case itself.
func (s *Server) transferCase(c *fiber.Ctx) error {
	id, err := s.visibleCase(c)
	if err != nil {
		return err
	}
	var req cases.TransferRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	out, err := s.deps.Cases.Transfer(c.UserContext(), signedInUser(c), id, req, retryOf(c))
	if err != nil {
		return err
	}
	return c.JSON(transferJSON{CaseID: out.ID, CaseNumber: out.Number, Stage: out.Stage, AgencyID: out.AgencyID, ServiceRegion: out.Region})
}

func (s *Server) reopenCase(c *fiber.Ctx) error {
	id, err := s.visibleCase(c)
	if err != nil {
		return err
	}
	var req cases.ReopenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.deps.Cases.Reopen(c.UserContext(), signedInUser(c), id, req, retryOf(c)); err != nil {
		return err
	}
	return s.answerCase(c, id, fiber.StatusOK)
}

func (s *Server) linkCase(c *fiber.Ctx) error {
	id, err := s.visibleCase(c)
	if err != nil {
		return err
	}
	var req cases.LinkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	l, err := s.deps.Cases.Link(c.UserContext(), signedInUser(c), id, req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(linkJSON{CaseID: l.CaseID.String(), EarlierCaseID: l.EarlierCaseID.String(),
		ReTrafficked: l.ReTrafficked, LinkedAt: l.LinkedAt.UTC()})
}
