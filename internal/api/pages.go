package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
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

// pageOnceWait is how long a page's command waits for an earlier request
// with the same form key that is still running (a double click, a retry
// after a dropped connection) before it gives up for the moment.
const pageOnceWait = 20 * time.Second

// PageOnce runs a page's command at most once per signed-in user and form
// key, with the API's idempotency keys (idempotency.go): the form carries a
// random key made when it was rendered, and fingerprint identifies what was
// sent. The first request runs run, which answers the case it acted on
// (uuid.Nil for none) and the page to show next; that location is kept
// and the command audited like the API's ("command POST /cases/new").
// Another request with the same key and fingerprint does not run it again:
// it answers the first one's location, waiting (polling) while the first
// still runs. When run fails, the key is released, so that the corrected
// form, which keeps its key, can be sent again. The same key with another
// fingerprint is a 409 problem, with the first one's location when it has
// one; a key that is no visible ASCII of 1 to 128 characters is a 422.
func (s *Server) PageOnce(c *fiber.Ctx, key string, fingerprint []byte, run func() (uuid.UUID, string, error)) (string, error) {
	p, ok := principalOf(c)
	if !ok {
		return "", auth.ErrNoSession
	}
	if !validIdempotencyKey(key) {
		return "", newProblem(http.StatusUnprocessableEntity, ProblemIdempotency, "the form's key is missing or malformed")
	}
	ctx := c.UserContext()
	req := store.IdempotentRequest{UserID: p.UserID, Key: key, Method: c.Method(), Path: c.Path(), BodyHash: fingerprint, CreatedAt: time.Now().UTC()}
	deadline := time.Now().Add(pageOnceWait)
	for {
		claimed, prior, err := s.deps.Store.ClaimIdempotencyKey(ctx, req)
		if err != nil {
			return "", err
		}
		if claimed {
			break
		}
		switch {
		case prior.Path != req.Path || !bytes.Equal(prior.BodyHash, req.BodyHash):
			location := ""
			if prior.Status != nil && prior.Path == req.Path {
				location = string(prior.Response)
			}
			return location, newProblem(http.StatusConflict, ProblemIdempotency, "this form was already sent with other answers")
		case prior.Status != nil:
			return string(prior.Response), nil
		}
		if time.Now().After(deadline) {
			pr := newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "the same form is still being sent; try again shortly")
			pr.p.RetryAfter = 5
			return "", pr
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	release := func() {
		if rerr := s.deps.Store.ReleaseIdempotencyKey(context.WithoutCancel(ctx), p.UserID, key); rerr != nil {
			s.log.Error("release form key", "request_id", requestID(c), "error", rerr)
		}
	}
	done := false
	defer func() { // a panic in run leaves the key free for a retry, not claimed for a day
		if !done {
			release()
		}
	}()
	caseID, location, err := run()
	done = true
	if err != nil {
		release()
		return "", err
	}
	if err := s.deps.Store.CompleteIdempotencyKey(context.WithoutCancel(ctx), p.UserID, key, http.StatusSeeOther, "text/uri-list", []byte(location)); err != nil {
		// The command took effect; a retry with this key would run it again.
		s.log.Error("complete form key", "request_id", requestID(c), "error", err)
	}
	entry := store.AuditEntry{At: time.Now(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "command " + c.Method() + " " + c.Path(), RequestID: requestID(c), ClientRequestID: clientRequestID(c)}
	if caseID != uuid.Nil {
		entry.CaseID = &caseID
	}
	if err := s.deps.Store.Audit(context.WithoutCancel(ctx), entry); err != nil {
		s.log.Error("audit command", "request_id", requestID(c), "action", entry.Action, "error", err)
	}
	return location, nil
}
