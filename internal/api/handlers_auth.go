package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
)

type loginRequest struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
}

type userJSON struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	AgencyID string `json:"agency_id"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
}

func userOf(p auth.Principal) userJSON {
	return userJSON{ID: p.UserID.String(), Email: p.Email, Name: p.Name, Role: string(p.Role), AgencyID: p.AgencyID.String()}
}

func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	token, expires, p, err := s.deps.Sessions.Login(c.UserContext(), req.Email, req.Password)
	if err != nil {
		return err
	}
	c.Locals(localPrincipal, p)
	return c.JSON(loginResponse{Token: token, ExpiresAt: expires.UTC(), User: userOf(p)})
}

func (s *Server) logout(c *fiber.Ctx) error {
	token, _ := bearer(c)
	if err := s.deps.Sessions.Logout(c.UserContext(), token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) me(c *fiber.Ctx) error {
	return c.JSON(userOf(mustPrincipal(c)))
}
