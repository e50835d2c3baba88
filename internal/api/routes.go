package api

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
)

// access says who may call a route.
type access int

const (
	public   access = iota // no session needed
	signedIn               // any role, with a session
	roles                  // only the listed roles
)

// Route is one entry of the API: the authorisation layer, the OpenAPI test
// and the authorisation-matrix test all read this table.
type Route struct {
	Method  string
	Path    string
	Access  access
	Roles   []auth.Role
	Handler fiber.Handler
}

// Routes lists every route the server answers.
func (s *Server) Routes() []Route { return s.routes() }

func (s *Server) routes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Access: public, Handler: s.healthz},
		{Method: "GET", Path: "/readyz", Access: public, Handler: s.readyz},
		{Method: "GET", Path: "/api/openapi.yaml", Access: public, Handler: s.openapi},
		{Method: "POST", Path: "/api/v1/auth/login", Access: public, Handler: s.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Access: signedIn, Handler: s.logout},
		{Method: "GET", Path: "/api/v1/me", Access: signedIn, Handler: s.me},
		{Method: "POST", Path: "/api/v1/cases", Access: roles, Roles: []auth.Role{auth.Frontline}, Handler: s.openCase},
		{Method: "GET", Path: "/api/v1/cases", Access: roles, Roles: caseReaders, Handler: s.listCases},
		{Method: "GET", Path: "/api/v1/cases/:id", Access: roles, Roles: caseReaders, Handler: s.getCase},
	}
}

var caseReaders = []auth.Role{auth.Frontline, auth.Supervisor, auth.CompetentAuthority}

// authorize is the one authentication and role gate in front of every
// handler; data scoping by agency then happens in auth.CaseScope.
func (s *Server) authorize(r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if r.Access == public {
			return c.Next()
		}
		token, ok := bearer(c)
		if !ok {
			return auth.ErrNoSession
		}
		p, err := s.deps.Sessions.Authenticate(c.UserContext(), token)
		if err != nil {
			return err
		}
		c.Locals(localPrincipal, p)
		if r.Access == roles && !slices.Contains(r.Roles, p.Role) {
			return cases.ErrForbidden
		}
		return c.Next()
	}
}

func bearer(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func mustPrincipal(c *fiber.Ctx) auth.Principal {
	p, _ := principalOf(c)
	return p
}
