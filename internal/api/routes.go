package api

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/workflows"
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
		{Method: "GET", Path: "/metrics", Access: public, Handler: s.metricsHandler},
		{Method: "GET", Path: "/api/openapi.yaml", Access: public, Handler: s.openapi},
		{Method: "POST", Path: "/api/v1/auth/login", Access: public, Handler: s.login},
		{Method: "POST", Path: "/api/v1/auth/logout", Access: signedIn, Handler: s.logout},
		{Method: "GET", Path: "/api/v1/me", Access: signedIn, Handler: s.me},
		{Method: "GET", Path: "/api/v1/sop", Access: signedIn, Handler: s.getSOP},
		{Method: "GET", Path: "/api/v1/sop/:version", Access: signedIn, Handler: s.getSOP},
		{Method: "POST", Path: "/api/v1/cases", Access: roles, Roles: []auth.Role{auth.Frontline}, Handler: s.openCase},
		{Method: "GET", Path: "/api/v1/cases", Access: roles, Roles: caseReaders, Handler: s.listCases},
		{Method: "GET", Path: "/api/v1/cases/:id", Access: roles, Roles: caseReaders, Handler: s.getCase},
		// Corrections: the owning agency (scoped) and the competent authority, as read.
		{Method: "PATCH", Path: "/api/v1/cases/:id", Access: roles, Roles: caseReaders, Handler: s.correctCase},
		{Method: "PATCH", Path: "/api/v1/cases/:id/person", Access: roles, Roles: caseReaders, Handler: s.correctPerson},
		{Method: "GET", Path: "/api/v1/cases/:id/history", Access: roles, Roles: caseReaders, Handler: s.caseHistory},
		{Method: "GET", Path: "/api/v1/cases/:id/timeline", Access: roles, Roles: caseReaders, Handler: s.timeline},
		{Method: "GET", Path: "/api/v1/cases/:id/notes", Access: roles, Roles: noteReaders, Handler: s.caseNotes},
		{Method: "POST", Path: "/api/v1/cases/:id/notes", Access: roles, Roles: caseReaders, Handler: s.addNote},
		{Method: "GET", Path: "/api/v1/cases/:id/referrals", Access: roles, Roles: caseReaders, Handler: s.caseReferrals},
		{Method: "POST", Path: "/api/v1/cases/:id/attachments", Access: roles, Roles: caseReaders, Handler: s.uploadAttachment},
		{Method: "GET", Path: "/api/v1/cases/:id/attachments", Access: roles, Roles: caseReaders, Handler: s.listAttachments},
		{Method: "GET", Path: "/api/v1/cases/:id/attachments/:attachment_id", Access: roles, Roles: caseReaders, Handler: s.downloadAttachment},
		{Method: "POST", Path: "/api/v1/cases/:id/consent", Access: roles, Roles: caseOwners, Handler: s.consent},
		{Method: "POST", Path: "/api/v1/cases/:id/consent/withdraw", Access: roles, Roles: caseOwners, Handler: s.withdrawConsent},
		{Method: "POST", Path: "/api/v1/cases/:id/guardian", Access: roles, Roles: caseOwners, Handler: s.appointGuardian},
		{Method: "POST", Path: "/api/v1/cases/:id/decisions", Access: roles, Roles: authority, Handler: s.decide},
		{Method: "POST", Path: "/api/v1/cases/:id/decisions/:decision_id/review", Access: roles, Roles: authority, Handler: s.review},
		{Method: "POST", Path: "/api/v1/cases/:id/recovery/extend", Access: roles, Roles: authority, Handler: s.extendRecovery},
		{Method: "POST", Path: "/api/v1/cases/:id/erasure", Access: roles, Roles: authority, Handler: s.erase},
		{Method: "POST", Path: "/api/v1/cases/:id/closure", Access: roles, Roles: caseOwners, Handler: s.requestClosure},
		{Method: "POST", Path: "/api/v1/cases/:id/closure/approve", Access: roles, Roles: supervisors,
			Handler: s.noteCommand(cases.ApproveClosure)},
		{Method: "POST", Path: "/api/v1/cases/:id/closure/reject", Access: roles, Roles: supervisors,
			Handler: s.noteCommand(cases.RejectClosure)},
		{Method: "POST", Path: "/api/v1/cases/:id/follow-up", Access: roles, Roles: caseOwners,
			Handler: s.noteCommand(cases.FollowUpDone)},
		{Method: "POST", Path: "/api/v1/cases/:id/transfer", Access: roles, Roles: transferrers, Handler: s.transferCase},
		{Method: "POST", Path: "/api/v1/cases/:id/reopen", Access: roles, Roles: transferrers, Handler: s.reopenCase},
		{Method: "POST", Path: "/api/v1/cases/:id/links", Access: roles, Roles: caseReaders, Handler: s.linkCase},
		{Method: "POST", Path: "/api/v1/cases/:id/referrals", Access: roles, Roles: referrers, Handler: s.refer},
		{Method: "POST", Path: "/api/v1/cases/:id/referrals/:referral_id/withdraw", Access: roles, Roles: referrers, Handler: s.withdrawReferral},
		{Method: "GET", Path: "/api/v1/referrals", Access: roles, Roles: providers, Handler: s.inbox},
		{Method: "GET", Path: "/api/v1/referrals/:id", Access: roles, Roles: providers, Handler: s.getReferral},
		{Method: "POST", Path: "/api/v1/referrals/:id/accept", Access: roles, Roles: providers, Handler: s.answer(workflows.UpdateAccept)},
		{Method: "POST", Path: "/api/v1/referrals/:id/decline", Access: roles, Roles: providers, Handler: s.answer(workflows.UpdateDecline)},
		{Method: "POST", Path: "/api/v1/referrals/:id/progress", Access: roles, Roles: providers, Handler: s.answer(workflows.UpdateProgress)},
		{Method: "POST", Path: "/api/v1/referrals/:id/complete", Access: roles, Roles: providers, Handler: s.answer(workflows.UpdateComplete)},
		{Method: "GET", Path: "/api/v1/notifications", Access: signedIn, Handler: s.listNotifications},
		{Method: "POST", Path: "/api/v1/notifications/:id/read", Access: signedIn, Handler: s.markNotificationRead},
		{Method: "GET", Path: "/api/v1/reports/compliance", Access: roles, Roles: twg, Handler: s.complianceReport},
		{Method: "GET", Path: "/api/v1/reports/statistics", Access: roles, Roles: twg, Handler: s.statisticsReport},
		{Method: "GET", Path: "/api/v1/reports/simulate", Access: roles, Roles: twg, Handler: s.simulateReport},
		{Method: "GET", Path: "/api/v1/exports/htcds", Access: roles, Roles: twg, Handler: s.htcdsExport},
		{Method: "GET", Path: "/api/v1/admin/dead-letters", Access: roles, Roles: admins, Handler: s.listDeadLetters},
		{Method: "POST", Path: "/api/v1/admin/dead-letters/:id/retry", Access: roles, Roles: admins, Handler: s.retryDeadLetter},
		{Method: "GET", Path: "/api/v1/agencies/:id/channels", Access: roles, Roles: admins, Handler: s.listChannels},
		{Method: "POST", Path: "/api/v1/agencies/:id/channels", Access: roles, Roles: admins, Handler: s.addChannel},
		{Method: "POST", Path: "/codec/encode", Access: roles, Roles: admins, Handler: s.codec},
		{Method: "POST", Path: "/codec/decode", Access: roles, Roles: admins, Handler: s.codec},
		{Method: "GET", Path: "/api/v1/agencies", Access: roles, Roles: admins, Handler: s.listAgencies},
		{Method: "POST", Path: "/api/v1/agencies", Access: roles, Roles: admins, Handler: s.createAgency},
		{Method: "PATCH", Path: "/api/v1/agencies/:id", Access: roles, Roles: admins, Handler: s.patchAgency},
		{Method: "GET", Path: "/api/v1/users", Access: roles, Roles: admins, Handler: s.listUsers},
		{Method: "POST", Path: "/api/v1/users", Access: roles, Roles: admins, Handler: s.createUser},
		{Method: "POST", Path: "/api/v1/users/:id/deactivate", Access: roles, Roles: admins, Handler: s.deactivateUser},
	}
}

var (
	caseReaders = []auth.Role{auth.Frontline, auth.Supervisor, auth.CompetentAuthority}
	// The case owner: the opening agency's officers and supervisors (scoped by agency).
	caseOwners  = []auth.Role{auth.Frontline, auth.Supervisor}
	authority   = []auth.Role{auth.CompetentAuthority}
	supervisors = []auth.Role{auth.Supervisor}
	// Referrals are made by the case owner or the competent authority.
	referrers = []auth.Role{auth.Frontline, auth.Supervisor, auth.CompetentAuthority}
	providers = []auth.Role{auth.Provider}
	// Notes are read by the case's readers and, of their own referral's
	// notes only, by providers (cases.Service.Notes).
	noteReaders = []auth.Role{auth.Frontline, auth.Supervisor, auth.CompetentAuthority, auth.Provider}
	admins      = []auth.Role{auth.Admin}
	// The TWG sees anonymised figures only, never a case.
	twg = []auth.Role{auth.TWG}
)

// authorize is the one authentication and role gate in front of every
// handler; data scoping by agency then happens in auth.CaseScope.
func (s *Server) authorize(r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if r.Access == public {
			return c.Next()
		}
		token, ok := bearer(c)
		viaCookie := false
		if !ok {
			if token, viaCookie = sessionCookieFrom(c); !viaCookie {
				return auth.ErrNoSession
			}
		}
		// Checked before the session is looked up, so that a forged request
		// does not even extend the session's idle window.
		if viaCookie && unsafeMethod(c.Method()) {
			if err := s.checkCSRF(c, token, c.Get(csrfHeader)); err != nil {
				return err
			}
		}
		p, err := s.authenticate(c, token, viaCookie)
		if err != nil {
			return err
		}
		if r.Access == roles && !slices.Contains(r.Roles, p.Role) {
			return cases.ErrForbidden
		}
		return c.Next()
	}
}

// authenticate finds the session of token and puts its principal on the
// request, for the API's routes and the web UI's pages alike.
func (s *Server) authenticate(c *fiber.Ctx, token string, viaCookie bool) (auth.Principal, error) {
	p, err := s.deps.Sessions.Authenticate(c.UserContext(), token)
	if err != nil {
		return auth.Principal{}, err
	}
	c.Locals(localPrincipal, p)
	c.Locals(localSessionToken, token)
	c.Locals(localViaCookie, viaCookie)
	return p, nil
}

func bearer(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// signedInUser is the principal authorize() put on the request. Handlers of
// signed-in routes call it; on a public route it is the zero Principal,
// which no service accepts.
func signedInUser(c *fiber.Ctx) auth.Principal {
	p, _ := principalOf(c)
	return p
}
