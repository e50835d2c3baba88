package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
)

// LimitBenchApp is a Fiber app with one trivial route, GET /bench, answered
// as principal p; when limited it passes the per-user limit first, as every
// signed-in route does. Benchmarks compare the two.
func LimitBenchApp(d Deps, p auth.Principal, limited bool) *fiber.App {
	s := New(d)
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: s.errorHandler})
	chain := []fiber.Handler{func(c *fiber.Ctx) error { c.Locals(localPrincipal, p); return c.Next() }}
	if limited {
		chain = append(chain, s.userLimit)
	}
	chain = append(chain, func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/bench", chain...)
	return app
}
