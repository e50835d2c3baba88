package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
)

type loginRequest struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
	// Cookie asks for the web UI's session: the token in an HttpOnly
	// cookie and a CSRF token in the answer (websession.go).
	Cookie bool `json:"cookie"`
}

type userJSON struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	AgencyID string `json:"agency_id"`
}

// loginResponse carries the bearer token, or for a cookie session only the
// CSRF token: page scripts never see the session token.
type loginResponse struct {
	Token     string    `json:"token,omitempty"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
}

// meResponse is the caller, and for a cookie session its CSRF token again
// (a reloaded page has lost it).
type meResponse struct {
	userJSON
	CSRFToken string `json:"csrf_token,omitempty"`
}

func userOf(p auth.Principal) userJSON {
	return userJSON{ID: p.UserID.String(), Email: p.Email, Name: p.Name, Role: string(p.Role), AgencyID: p.AgencyID.String()}
}

func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	// A page of another site must not sign the browser in (login CSRF).
	if req.Cookie && crossSite(c) {
		return csrfProblem("cross-site request refused")
	}
	attempt, err := s.throttleSignIn(c, req.Email)
	if err != nil {
		return err
	}
	token, expires, p, err := s.deps.Sessions.Login(c.UserContext(), req.Email, req.Password)
	s.signInSettled(c, attempt, err)
	if err != nil {
		return err
	}
	c.Locals(localPrincipal, p)
	if req.Cookie {
		setSessionCookie(c, token, expires)
		return c.JSON(loginResponse{CSRFToken: s.csrfToken(token), ExpiresAt: expires.UTC(), User: userOf(p)})
	}
	return c.JSON(loginResponse{Token: token, ExpiresAt: expires.UTC(), User: userOf(p)})
}

// logout revokes the session of the request, bearer or cookie, and drops the cookie.
func (s *Server) logout(c *fiber.Ctx) error {
	token, _ := c.Locals(localSessionToken).(string)
	if err := s.deps.Sessions.Logout(c.UserContext(), token); err != nil {
		return err
	}
	if viaCookie, _ := c.Locals(localViaCookie).(bool); viaCookie {
		clearSessionCookie(c)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) me(c *fiber.Ctx) error {
	out := meResponse{userJSON: userOf(signedInUser(c))}
	if viaCookie, _ := c.Locals(localViaCookie).(bool); viaCookie {
		token, _ := c.Locals(localSessionToken).(string)
		out.CSRFToken = s.csrfToken(token)
	}
	return c.JSON(out)
}
