package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// The web UI's session (docs/api.md#cookie-sessions-and-csrf): a browser signs in with
// {"cookie": true} and gets the session token in an HttpOnly cookie, which
// page scripts cannot read, plus a CSRF token in the JSON answer. The cookie
// authenticates a request only when it carries no Authorization header; an
// unsafe request (POST, PUT, PATCH, DELETE) so authenticated must also
//
//   - not come from another site: Sec-Fetch-Site, when the browser sends it,
//     is same-origin or none; otherwise an Origin header, when present, names
//     this host (the rule of Go's net/http.CrossOriginProtection);
//   - carry X-CSRF-Token equal to the session's CSRF token, which is
//     HMAC-SHA256(CSRF key, session token): bound to the session, stateless
//     (nothing stored), and useless without the cookie.
//
// Bearer tokens are never sent by a browser on its own, so requests that
// carry one need neither check.
const (
	sessionCookie = "__Host-nrm_session"
	csrfHeader    = "X-CSRF-Token"
)

const (
	localSessionToken = "session_token"
	localViaCookie    = "session_via_cookie"
)

// newCSRFKey is the key of a server without Deps.CSRFKey: random, so that
// CSRF tokens last as long as the process (GET /api/v1/me answers the new one).
func newCSRFKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// csrfToken is the CSRF token of a session token.
func (s *Server) csrfToken(sessionToken string) string {
	mac := hmac.New(sha256.New, s.deps.CSRFKey)
	mac.Write([]byte("nrm-csrf-v1\x00"))
	mac.Write([]byte(sessionToken))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func unsafeMethod(method string) bool {
	switch method {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
		return false
	}
	return true
}

func csrfProblem(detail string) error {
	return newProblem(http.StatusForbidden, ProblemCSRF, detail)
}

// crossSite reports whether the browser says the request comes from another
// origin. Requests without Sec-Fetch-Site and Origin (not from a browser, or
// from a browser too old to send them) pass: the CSRF token still guards them.
func crossSite(c *fiber.Ctx) bool {
	switch site := c.Get("Sec-Fetch-Site"); site {
	case "same-origin", "none":
		return false
	case "":
	default: // same-site, cross-site
		return true
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, string(c.Request().Host()))
}

// checkCSRF guards an unsafe request authenticated by the session cookie:
// got is the CSRF token the request carries (the X-CSRF-Token header of an
// API call, the csrf field of a page's form).
func (s *Server) checkCSRF(c *fiber.Ctx, sessionToken, got string) error {
	if crossSite(c) {
		return csrfProblem("cross-site request refused")
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(s.csrfToken(sessionToken))) {
		return csrfProblem("send the CSRF token of your session in the " + csrfHeader + " header")
	}
	return nil
}

// sessionCookieFrom is the session token of the web UI's cookie, when the
// request has no Authorization header (which then decides alone).
func sessionCookieFrom(c *fiber.Ctx) (string, bool) {
	if c.Get(fiber.HeaderAuthorization) != "" {
		return "", false
	}
	token := c.Cookies(sessionCookie)
	return token, token != ""
}

// setSessionCookie hands the session token to the browser: HttpOnly, Secure
// and SameSite=Strict, host-only (the __Host- prefix makes browsers insist on
// Secure, Path=/ and no Domain), for the session's absolute lifetime.
// Browsers keep Secure cookies received over plain http only from
// localhost and 127.0.0.1, which is where `nrm dev` serves.
func setSessionCookie(c *fiber.Ctx, token string, expires time.Time) {
	maxAge := int(time.Until(expires).Seconds())
	if maxAge < 1 {
		maxAge = 1
	}
	writeSessionCookie(c, &http.Cookie{Value: token, Expires: expires.UTC(), MaxAge: maxAge})
}

// clearSessionCookie tells the browser to drop the cookie (Max-Age=0).
func clearSessionCookie(c *fiber.Ctx) {
	writeSessionCookie(c, &http.Cookie{MaxAge: -1})
}

// writeSessionCookie writes the Set-Cookie header itself: fasthttp's cookie
// type cannot express Max-Age=0, and a raw Set-Cookie value is sent as is.
func writeSessionCookie(c *fiber.Ctx, ck *http.Cookie) {
	ck.Name, ck.Path, ck.Secure, ck.HttpOnly, ck.SameSite = sessionCookie, "/", true, true, http.SameSiteStrictMode
	c.Set(fiber.HeaderSetCookie, ck.String())
}
