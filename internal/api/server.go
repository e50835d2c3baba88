// Package api serves NRM's HTTP API: routes, authentication, the problem
// mapping and JSON shapes. Handlers call services; they hold no SQL.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/metrics"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/store"
)

// Deps are what the API needs.
type Deps struct {
	Store    *store.Store
	Sessions *auth.Sessions
	Cases    *cases.Service
	// Directory creates and deactivates users under the directory's rules.
	Directory *directory.Service
	// Inbox reads and marks the in-app notifications; Notifications keeps
	// the dead letters and the agencies' channels. Built from Store when nil.
	Inbox         *notify.Inbox
	Notifications *notify.Admin
	Temporal      client.Client
	Log           *slog.Logger
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (clientIP); empty: the connection's peer is the client.
	TrustedProxies []netip.Prefix
	// BodyLimit caps request bodies in bytes.
	BodyLimit int
	// Limits are the request rate limits (defaults when zero).
	Limits Limits
	// Codec serves /codec/encode and /codec/decode for the Temporal UI and CLI.
	Codec converter.PayloadCodec
	// CSRFKey keys the web UI's CSRF tokens (websession.go); a random
	// per-process key when empty.
	CSRFKey []byte
	// Keys seals webhook secrets and keys the rate limits' pseudonyms (limits.go).
	Keys *crypto.Keyring
	// Reports builds the TWG's anonymised reports and export.
	Reports *reports.Service
	// Ready, when set, is what /readyz answers from: every check of the
	// process (its start-up done, PostgreSQL, Temporal, its worker) with
	// "ok" or what is wrong. Unset, /readyz checks PostgreSQL and Temporal.
	Ready func(context.Context) (checks map[string]string, ok bool)
	// Metrics observes every request and is served at /metrics to callers
	// with MetricsToken; nil or an empty token: /metrics answers 404.
	Metrics      *metrics.Registry
	MetricsToken string
	// Webhooks says which receivers a new webhook channel may target; nil
	// allows public addresses only.
	Webhooks *notify.WebhookPolicy
	// Pages mounts the web UI on the same app, after the API's routes and
	// behind the same middleware; it signs users in through the Server.
	Pages func(r fiber.Router, s *Server)
}

// Server is the HTTP API.
type Server struct {
	deps       Deps
	log        *slog.Logger
	app        *fiber.App
	limits     Limits
	loginLimit fiber.Handler
	userLimit  fiber.Handler
	// cursorKey signs the cursors of paged lists (cursor.go).
	cursorKey []byte
}

// New builds the Fiber app with every route of routes().
func New(d Deps) *Server {
	if d.BodyLimit <= 0 {
		d.BodyLimit = 1 << 20
	}
	if len(d.CSRFKey) == 0 {
		d.CSRFKey = newCSRFKey()
	}
	if d.Inbox == nil {
		d.Inbox = &notify.Inbox{Store: d.Store}
	}
	if d.Notifications == nil {
		d.Notifications = &notify.Admin{Store: d.Store, Keys: d.Keys, Webhooks: d.Webhooks}
	}
	s := &Server{deps: d, log: d.Log, limits: d.Limits.withDefaults(), cursorKey: newCSRFKey()}
	if d.Keys != nil {
		s.cursorKey = d.Keys.CursorKey()
	}
	s.loginLimit, s.userLimit = s.loginLimiter(), s.userLimiter()
	s.app = fiber.New(fiber.Config{
		AppName:               "nrm",
		BodyLimit:             d.BodyLimit,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           2 * time.Minute,
		// Fiber reuses request buffers; copy strings we keep beyond a handler.
		Immutable: true,
		// One URL per resource: /api/v1/cases/ and /API/V1/CASES are 404,
		// not another name of /api/v1/cases.
		StrictRouting: true,
		CaseSensitive: true,
	})
	if d.Metrics != nil { // first, to observe the status the error handler set
		s.app.Use(d.Metrics.HTTP())
	}
	s.configureBodies() // bodylimit.go
	s.app.Use(s.withRequestID, s.withRecover, s.withLog, s.withSecurityHeaders, withSaneInput, s.withBoundedBody)
	routes := s.routes()
	for _, r := range routes {
		chain := []fiber.Handler{s.authorize(r)}
		if r.Path == "/api/v1/auth/login" {
			chain = append(chain, s.loginLimit)
		}
		chain = append(chain, s.userLimit)
		if !streamsBody(r.Method, r.Path) { // a streamed upload claims its key once read (handlers_attachments.go)
			chain = append(chain, s.idempotent)
		}
		if audited(r) {
			chain = append(chain, s.auditCommand(r))
		}
		chain = append(chain, r.Handler)
		s.app.Add(r.Method, r.Path, chain...)
		if r.Method == fiber.MethodGet {
			// HEAD runs the GET route (the same authorisation, limits and
			// handler) and answers its status and headers; the server
			// leaves the body out.
			s.app.Add(fiber.MethodHead, r.Path, slices.Clone(chain)...)
		}
	}
	paths, methods := servedMethods(routes)
	for _, path := range paths {
		s.app.Add(fiber.MethodOptions, path, allow(methods[path]))
	}
	if d.Pages != nil {
		d.Pages(s.app, s)
	}
	return s
}

// servedMethods lists the paths of routes, in their order, and the methods
// each is served for: its routes' methods, HEAD with every GET, and
// OPTIONS (New registers HEAD and OPTIONS besides the table).
func servedMethods(routes []Route) (paths []string, methods map[string][]string) {
	methods = map[string][]string{}
	for _, r := range routes {
		if _, seen := methods[r.Path]; !seen {
			paths = append(paths, r.Path)
		}
		methods[r.Path] = append(methods[r.Path], r.Method)
		if r.Method == fiber.MethodGet {
			methods[r.Path] = append(methods[r.Path], fiber.MethodHead)
		}
	}
	for _, path := range paths {
		methods[path] = append(methods[path], fiber.MethodOptions)
	}
	return paths, methods
}

// allow answers OPTIONS on a route's path: 204 with the methods it serves
// in Allow. It needs no session: it tells nothing the OpenAPI document
// does not.
func allow(methods []string) fiber.Handler {
	header := strings.Join(methods, ", ")
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAllow, header)
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// App exposes the Fiber app to run or test it.
func (s *Server) App() *fiber.App { return s.app }

// Shutdown stops accepting requests and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

const localRequestID = "request_id"
const localClientRequestID = "client_request_id"
const localPrincipal = "principal"

// withRequestID gives every request the server's own ID, answered in
// X-Request-ID and written to the log and the audit rows. A client's
// X-Request-ID is kept apart (X-Client-Request-ID in the answer,
// client_request_id in the log and audit): a client chooses it freely, even
// another request's, so it cannot be what ties an audit row to a log line.
// One that does not match requestIDPattern is ignored.
func (s *Server) withRequestID(c *fiber.Ctx) error {
	identify(c)
	return c.Next()
}

// identify gives the request its ID (withRequestID).
func identify(c *fiber.Ctx) {
	id := uuid.NewString()
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	if client := c.Get(fiber.HeaderXRequestID); requestIDPattern.MatchString(client) {
		c.Locals(localClientRequestID, client)
		c.Set("X-Client-Request-ID", client)
	}
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

func clientRequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localClientRequestID).(string)
	return id
}

// requestInfo identifies the request for the services' audit rows.
func requestInfo(c *fiber.Ctx) cases.RequestInfo {
	return cases.RequestInfo{RequestID: requestID(c), ClientRequestID: clientRequestID(c)}
}

func (s *Server) withRecover(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "request_id", requestID(c), "route", routeOf(c), "panic", r)
			err = s.errorHandler(c, errPanic)
		}
	}()
	return c.Next()
}

type panicError struct{}

func (panicError) Error() string { return "handler panicked" }

var errPanic = panicError{}

// withLog writes one line per request: IDs, the route template and the
// status — never the body or query, which may hold identity data.
func (s *Server) withLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	attrs := []any{"request_id", requestID(c), "method", c.Method(), "route", routeOf(c),
		"status", c.Response().StatusCode(), "duration_ms", time.Since(start).Milliseconds()}
	if client := clientRequestID(c); client != "" {
		attrs = append(attrs, "client_request_id", client)
	}
	if p, ok := principalOf(c); ok {
		attrs = append(attrs, "user_id", p.UserID.String(), "role", string(p.Role))
	}
	s.log.Info("http", attrs...)
	return nil
}

func (s *Server) withSecurityHeaders(c *fiber.Ctx) error {
	setSecurityHeaders(c)
	return c.Next()
}

func setSecurityHeaders(c *fiber.Ctx) {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	// API answers may carry identity data: never cache them anywhere.
	c.Set(fiber.HeaderCacheControl, "no-store")
}

func routeOf(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Path != "/" {
		return r.Path
	}
	return "unmatched"
}

func principalOf(c *fiber.Ctx) (auth.Principal, bool) {
	p, ok := c.Locals(localPrincipal).(auth.Principal)
	return p, ok
}

// withSaneInput refuses paths and query strings that are not valid UTF-8 or
// hold a NUL character: nothing legitimate sends them, and PostgreSQL text
// cannot store them.
func withSaneInput(c *fiber.Ctx) error {
	bad := func(s string) bool { return !utf8.ValidString(s) || strings.ContainsRune(s, 0) }
	path, err := url.PathUnescape(c.Path())
	if err != nil || bad(path) {
		return newProblem(http.StatusBadRequest, ProblemMalformed, "the path is not valid UTF-8")
	}
	for k, v := range c.Queries() {
		if bad(k) || bad(v) {
			return newProblem(http.StatusBadRequest, ProblemMalformed, "the query is not valid UTF-8")
		}
	}
	return c.Next()
}
