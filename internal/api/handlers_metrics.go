package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

// metricsHandler serves the Prometheus exposition. The API's address may
// face the agencies' networks, so it is public to the session layer but
// needs its own bearer token, NRM_METRICS_TOKEN (not a session token);
// without that setting the route does not exist (404). The worker serves
// /metrics on its internal health port without a token.
func (s *Server) metricsHandler(c *fiber.Ctx) error {
	if s.deps.Metrics == nil || s.deps.MetricsToken == "" {
		return newProblem(http.StatusNotFound, ProblemNotFound, "no such resource")
	}
	token, ok := bearer(c)
	if !ok || !sameToken(token, s.deps.MetricsToken) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
		return newProblem(http.StatusUnauthorized, ProblemUnauthorized, "send Authorization: Bearer <NRM_METRICS_TOKEN>")
	}
	return adaptor.HTTPHandler(s.deps.Metrics.Handler())(c)
}

// sameToken compares in constant time; hashing first hides the length too.
func sameToken(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
