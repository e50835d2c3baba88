package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
)

type consentRequest struct {
	Referral    *bool `json:"referral" validate:"required"`
	DataSharing *bool `json:"data_sharing" validate:"required"`
}

type reasonRequest struct {
	Reason string `json:"reason" validate:"required,max=4000"`
}

type guardianRequest struct {
	Name      string `json:"name" validate:"required,max=200"`
	Authority string `json:"authority" validate:"required,max=200"`
}

type decisionRequest struct {
	Kind    string `json:"kind" validate:"required,oneof=preliminary conclusive"`
	Outcome string `json:"outcome" validate:"required,oneof=positive negative"`
	Reason  string `json:"reason" validate:"required,max=4000"`
}

type reviewRequest struct {
	Confirm *bool  `json:"confirm" validate:"required"`
	Reason  string `json:"reason" validate:"required,max=4000"`
}

type extendRequest struct {
	Days   int    `json:"days" validate:"required,min=1,max=365"`
	Reason string `json:"reason" validate:"required,max=4000"`
}

type closureRequest struct {
	// Reason is one of the case's SOP's closure reasons: the cases service checks it (422).
	Reason string `json:"reason" validate:"required,max=64"`
	Note   string `json:"note" validate:"max=4000"`
}

type noteRequest struct {
	Note string `json:"note" validate:"max=4000"`
}

// command decodes the body, runs the command and answers with the case.
func (s *Server) command(c *fiber.Ctx, body any, build func(id uuid.UUID) cases.Command) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	if err := s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id); err != nil {
		return err
	}
	if body != nil {
		if err := decode(c, body); err != nil {
			return err
		}
	}
	cmd := build(id)
	cmd.Retry = retryOf(c)
	if _, err := s.deps.Cases.Do(c.UserContext(), signedInUser(c), cmd); err != nil {
		return err
	}
	return s.answerCase(c, id, fiber.StatusOK)
}

func (s *Server) consent(c *fiber.Ctx) error {
	var req consentRequest
	return s.command(c, &req, func(id uuid.UUID) cases.Command {
		return cases.RecordConsent(id, *req.Referral, *req.DataSharing)
	})
}

func (s *Server) withdrawConsent(c *fiber.Ctx) error {
	var req reasonRequest
	return s.command(c, &req, func(id uuid.UUID) cases.Command { return cases.WithdrawConsent(id, req.Reason) })
}

func (s *Server) appointGuardian(c *fiber.Ctx) error {
	var req guardianRequest
	return s.command(c, &req, func(id uuid.UUID) cases.Command { return cases.AppointGuardian(id, req.Name, req.Authority) })
}

func (s *Server) decide(c *fiber.Ctx) error {
	var req decisionRequest
	decisionID := uuid.NewString()
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	if err := s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id); err != nil {
		return err
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	cmd := cases.Decide(id, decisionID, req.Kind, req.Outcome, req.Reason)
	cmd.Retry = retryOf(c)
	state, err := s.deps.Cases.Do(c.UserContext(), signedInUser(c), cmd)
	if err != nil {
		return err
	}
	// A retried request answers with the decision its first attempt took.
	if n := len(state.Decisions); n > 0 {
		decisionID = state.Decisions[n-1].ID
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": decisionID, "stage": state.Stage})
}

func (s *Server) review(c *fiber.Ctx) error {
	var req reviewRequest
	decisionID := c.Params("decision_id")
	if _, err := uuid.Parse(decisionID); err != nil {
		return cases.ErrNotFound
	}
	return s.command(c, &req, func(id uuid.UUID) cases.Command {
		return cases.Review(id, decisionID, *req.Confirm, req.Reason)
	})
}

func (s *Server) extendRecovery(c *fiber.Ctx) error {
	var req extendRequest
	return s.command(c, &req, func(id uuid.UUID) cases.Command { return cases.ExtendRecovery(id, req.Days, req.Reason) })
}

func (s *Server) requestClosure(c *fiber.Ctx) error {
	var req closureRequest
	return s.command(c, &req, func(id uuid.UUID) cases.Command { return cases.RequestClosure(id, req.Reason, req.Note) })
}

// noteCommand runs a command whose only input is an optional note.
func (s *Server) noteCommand(build func(id uuid.UUID, note string) cases.Command) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req noteRequest
		var body any = &req
		if len(c.Body()) == 0 {
			body = nil // the note is optional, and so is the body
		}
		return s.command(c, body, func(id uuid.UUID) cases.Command { return build(id, req.Note) })
	}
}

func (s *Server) timeline(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	events, err := s.deps.Cases.Timeline(c.UserContext(), signedInUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"events": events})
}
