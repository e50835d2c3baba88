package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
)

// erase destroys a case's identity on the competent authority's order and
// answers with the (anonymised) case. A case the caller may not see is 404
// before the body is read.
func (s *Server) erase(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	if err := s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id); err != nil {
		return err
	}
	var req cases.ErasureRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.deps.Cases.Erase(c.UserContext(), signedInUser(c), id, req, requestInfo(c)); err != nil {
		return err
	}
	return s.answerCase(c, id, fiber.StatusOK)
}
