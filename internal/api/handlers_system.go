package api

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"
)

//go:embed openapi.yaml
var openapiDoc []byte

// OpenAPI returns the API description served at /api/openapi.yaml.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) openapi(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openapiDoc)
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// pinger is all that readiness needs of PostgreSQL.
type pinger interface{ Ping(context.Context) error }

// database is the store as readiness sees it: a service in between would
// only forward Ping, so the handler holds the store behind this one-method
// interface instead (docs/architecture.md#packages-and-dependencies).
func (s *Server) database() pinger { return s.deps.Store }

// readyz answers 200 only when the process can serve: its own start-up is
// done (Deps.Ready) and PostgreSQL and Temporal both answer.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	c.Set(fiber.HeaderCacheControl, "no-store")
	if s.deps.Ready != nil {
		checks, ok := s.deps.Ready(ctx)
		if !ok {
			return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
		}
		return c.JSON(fiber.Map{"status": "ready", "checks": checks})
	}
	checks := fiber.Map{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.database().Ping(ctx); err != nil {
		checks["postgres"] = "unreachable"
		ready = false
	}
	if _, err := s.deps.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"] = "unreachable"
		ready = false
	}
	if !ready {
		return c.Status(http.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": checks})
}
