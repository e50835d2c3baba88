package api

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"
)

// Limits bound how fast one client may call the API. The counters live in
// each API replica's memory, so with N replicas a client gets up to N times
// the limit; the account lock-out after repeated failed sign-ins is shared
// (it is in PostgreSQL).
type Limits struct {
	LoginPerMinute int // per client address
	UserPerMinute  int // per signed-in user, every route
}

func (l Limits) withDefaults() Limits {
	if l.LoginPerMinute <= 0 {
		l.LoginPerMinute = 10
	}
	if l.UserPerMinute <= 0 {
		l.UserPerMinute = 600
	}
	return l
}

func tooMany(c *fiber.Ctx) error {
	c.Set(fiber.HeaderRetryAfter, "60")
	return newProblem(http.StatusTooManyRequests, ProblemRateLimited, "too many requests; try again in a minute")
}

// loginLimiter throttles sign-in attempts per client address.
func (s *Server) loginLimiter() fiber.Handler {
	return limiter.New(limiter.Config{
		Max: s.limits.LoginPerMinute, Expiration: time.Minute,
		KeyGenerator: func(c *fiber.Ctx) string { return "login:" + c.IP() },
		LimitReached: tooMany,
	})
}

// userLimiter throttles each signed-in user across all routes.
func (s *Server) userLimiter() fiber.Handler {
	return limiter.New(limiter.Config{
		Max: s.limits.UserPerMinute, Expiration: time.Minute,
		Next: func(c *fiber.Ctx) bool { _, ok := principalOf(c); return !ok },
		KeyGenerator: func(c *fiber.Ctx) string {
			p, _ := principalOf(c)
			return "user:" + p.UserID.String()
		},
		LimitReached: tooMany,
	})
}
