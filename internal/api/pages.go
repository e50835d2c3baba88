package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
)

// The web UI (package web) serves pages from the same Fiber app, behind the
// same middleware, and signs in through the methods here: the same rate
// limit, throttling, session cookie and CSRF rules as the API, so that a page
// and the API answer a user alike.

// ErrCSRF: an unsafe page request came from another site or without the
// session's CSRF token.
var ErrCSRF = errors.New("cross-site request or missing CSRF token")

// PageSignIn signs a browser in from the sign-in form: the sign-in rate
// limit and throttle first, then the password; on success the session
// cookie is set. A cross-site form is refused (login CSRF).
func (s *Server) PageSignIn(c *fiber.Ctx, email, password string) (auth.Principal, error) {
	if crossSite(c) {
		return auth.Principal{}, ErrCSRF
	}
	if err := s.checkLoginRate(c); err != nil {
		return auth.Principal{}, err
	}
	attempt, err := s.throttleSignIn(c, email)
	if err != nil {
		return auth.Principal{}, err
	}
	token, expires, p, err := s.deps.Sessions.Login(c.UserContext(), email, password)
	s.signInSettled(c, attempt, err)
	if err != nil {
		return auth.Principal{}, err
	}
	c.Locals(localPrincipal, p)
	setSessionCookie(c, token, expires)
	return p, nil
}

// PageSession authenticates a page request by its session cookie and
// returns the principal and the session's CSRF token; auth.ErrNoSession
// when there is none or it ended. An unsafe request must carry csrf (the
// form's hidden field) equal to the session's token and come from this site.
func (s *Server) PageSession(c *fiber.Ctx, csrf string) (auth.Principal, string, error) {
	token := c.Cookies(sessionCookie)
	if token == "" {
		return auth.Principal{}, "", auth.ErrNoSession
	}
	if unsafeMethod(c.Method()) && s.checkCSRF(c, token, csrf) != nil {
		return auth.Principal{}, "", ErrCSRF
	}
	p, err := s.authenticate(c, token, true)
	if err != nil {
		return auth.Principal{}, "", err
	}
	return p, s.csrfToken(token), nil
}

// PageSignOut ends the session of the cookie and clears it.
func (s *Server) PageSignOut(c *fiber.Ctx) error {
	if token := c.Cookies(sessionCookie); token != "" {
		if err := s.deps.Sessions.Logout(c.UserContext(), token); err != nil {
			return err
		}
	}
	clearSessionCookie(c)
	return nil
}

// RequestID is the server's ID of the request, shown on error pages.
func (s *Server) RequestID(c *fiber.Ctx) string { return requestID(c) }

// ProblemOf is the API's answer to an error (the one mapping), for pages
// that show it in words: the status, the problem type and Retry-After.
func ProblemOf(err error) (status int, typ string, retryAfter int) {
	p, _ := toProblem(err)
	return p.Status, p.Type, p.RetryAfter
}
