package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// The authorisation matrix (docs/api.md#roles-and-scoping): every route of (*api.Server).Routes()
// against every role, each as a user of the agency that owns the fixture case
// (own) and as a user of another agency of the same role (foreign), plus an
// anonymous caller. Every cell's expected status is declared in authzMatrix
// below, and only there.
//
// Every GET cell is also sent as HEAD, which must answer the same status.
//
// Requests carry no query and, for POST/PATCH, the deliberately empty body
// {}: it passes authentication, so a caller the route allows mostly gets
// 422 (validation), 409 (SOP rule), 404 (not visible) or 200, and nothing
// changes irreversibly. The two routes whose empty-body call does change
// state (accepting and withdrawing a referral) run against a fresh case and
// referral per allowed caller; logout runs in a session of its own.
//
// Rules every row must keep (checked against the table itself before
// anything runs, so that a wrong status cannot be written into it):
//   - anonymous → 401, except the public routes (authzPublic);
//   - a role the route does not list → 403, own and foreign alike;
//   - an allowed role of a foreign agency on a case or referral route → 404,
//     never anything that tells the case exists;
//   - national roles (competent authority, TWG, administrator) have one
//     user for both columns, so own == foreign;
//   - no cell is a 5xx.
// Besides, every foreign cell of a case or referral route is sent a second
// time with random IDs in place of the real ones and must answer exactly
// the same: the answer must not depend on the case existing.

// authzPublic are the routes that need no session (docs/api.md#authentication).
var authzPublic = []string{"GET /healthz", "GET /readyz", "GET /api/openapi.yaml", "POST /api/v1/auth/login"}

// authzRow is one route's expected statuses. A role's cell is "403" when
// own-agency and foreign-agency users get the same status, or "200/404" for
// own/foreign. National roles (competent authority, TWG, admin) have one
// user, so their cell is a single status.
type authzRow struct {
	route string // "METHOD /path" exactly as in Routes()
	anon  int    // the caller without a session

	frontline, supervisor, authority, provider, twg, admin string

	// fresh: the empty-body call changes state, so each caller the route
	// allows gets a case and referral of its own.
	fresh bool
	// session: the call ends the caller's session, so it runs in a new one.
	session bool
}

// authzMatrix is THE table: anonymous, then one cell per role.
//
// Path parameters: /api/v1/cases/:id… → the fixture case (Lebap police);
// :referral_id and /api/v1/referrals/:id… → its shelter referral (routed to
// the Lebap shelter); :decision_id and :attachment_id → a random UUID (no
// decision or file exists, so allowed callers stop at validation or 404); /api/v1/agencies/:id… → the Lebap
// shelter agency; /api/v1/users/:id… → a throwaway user the test adds to
// the Lebap shelter (no principal, so deactivating it ends nobody's
// session); /api/v1/notifications/:id… and
// /api/v1/admin/dead-letters/:id… → a random ID (a test cannot make a
// notification without waiting for an obligation's deadline, so every
// allowed caller gets 404). Any other parameter fails the test until
// authzPath learns it.
var authzMatrix = []authzRow{
	// Public.
	{route: "GET /healthz", anon: 200, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	{route: "GET /readyz", anon: 200, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	// The Prometheus scrape answers NRM_METRICS_TOKEN (testenv sets one), never a session: 401 to everybody here.
	{route: "GET /metrics", anon: 401, frontline: "401", supervisor: "401", authority: "401", provider: "401", twg: "401", admin: "401"},
	{route: "GET /api/openapi.yaml", anon: 200, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	{route: "POST /api/v1/auth/login", anon: 422, frontline: "422", supervisor: "422", authority: "422", provider: "422", twg: "422", admin: "422"},

	// Any signed-in role.
	{route: "POST /api/v1/auth/logout", session: true, anon: 401, frontline: "204", supervisor: "204", authority: "204", provider: "204", twg: "204", admin: "204"},
	{route: "GET /api/v1/me", anon: 401, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	{route: "GET /api/v1/sop", anon: 401, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	{route: "GET /api/v1/sop/:version", anon: 401, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	{route: "GET /api/v1/notifications", anon: 401, frontline: "200", supervisor: "200", authority: "200", provider: "200", twg: "200", admin: "200"},
	{route: "POST /api/v1/notifications/:id/read", anon: 401, frontline: "404", supervisor: "404", authority: "404", provider: "404", twg: "404", admin: "404"},

	// Cases: frontline opens; frontline, supervisor and competent authority read (lists are scoped, not refused).
	{route: "POST /api/v1/cases", anon: 401, frontline: "422", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases", anon: 401, frontline: "200", supervisor: "200", authority: "200", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases/:id", anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "403", twg: "403", admin: "403"},
	// Corrections: the empty body {} is sent as application/json, which a merge patch is not (415),
	// so the fixture case never changes; a foreign agency's case is 404 before the body is read.
	{route: "PATCH /api/v1/cases/:id", anon: 401, frontline: "415/404", supervisor: "415/404", authority: "415", provider: "403", twg: "403", admin: "403"},
	{route: "PATCH /api/v1/cases/:id/person", anon: 401, frontline: "415/404", supervisor: "415/404", authority: "415", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases/:id/history", anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases/:id/timeline", anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "403", twg: "403", admin: "403"},
	// Notes: a provider reads those of its own referral (own = the Lebap shelter the fixture's referral went to).
	{route: "GET /api/v1/cases/:id/notes", anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "200/404", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/notes", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "422", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases/:id/referrals", anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "403", twg: "403", admin: "403"},
	// Attachments: the JSON {} is no multipart upload (415) once the case is found; :attachment_id is random (404).
	{route: "POST /api/v1/cases/:id/attachments", anon: 401, frontline: "415/404", supervisor: "415/404", authority: "415", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases/:id/attachments", anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "403", twg: "403", admin: "403"},
	{route: "GET /api/v1/cases/:id/attachments/:attachment_id", anon: 401, frontline: "404", supervisor: "404", authority: "404", provider: "403", twg: "403", admin: "403"},

	// The case owner's commands (frontline and supervisor of the opening agency).
	{route: "POST /api/v1/cases/:id/consent", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "403", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/consent/withdraw", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "403", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/guardian", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "403", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/closure", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "403", provider: "403", twg: "403", admin: "403"},
	// No closure was requested and no follow-up is due: the SOP refuses (409).
	{route: "POST /api/v1/cases/:id/follow-up", anon: 401, frontline: "409/404", supervisor: "409/404", authority: "403", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/closure/approve", anon: 401, frontline: "403", supervisor: "409/404", authority: "403", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/closure/reject", anon: 401, frontline: "403", supervisor: "409/404", authority: "403", provider: "403", twg: "403", admin: "403"},

	// The competent authority (national).
	{route: "POST /api/v1/cases/:id/decisions", anon: 401, frontline: "403", supervisor: "403", authority: "422", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/decisions/:decision_id/review", anon: 401, frontline: "403", supervisor: "403", authority: "422", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/recovery/extend", anon: 401, frontline: "403", supervisor: "403", authority: "422", provider: "403", twg: "403", admin: "403"},
	// Erasure: the empty body is a 422 for the authority, so the fixture case keeps its identity.
	{route: "POST /api/v1/cases/:id/erasure", anon: 401, frontline: "403", supervisor: "403", authority: "422", provider: "403", twg: "403", admin: "403"},

	// Transfer and reopening: the owner's supervisor and the competent authority; links: the case's readers.
	{route: "POST /api/v1/cases/:id/transfer", anon: 401, frontline: "403", supervisor: "422/404", authority: "422", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/reopen", anon: 401, frontline: "403", supervisor: "422/404", authority: "422", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/links", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "422", provider: "403", twg: "403", admin: "403"},

	// Referrals are made and withdrawn by the case owner or the competent authority.
	{route: "POST /api/v1/cases/:id/referrals", anon: 401, frontline: "422/404", supervisor: "422/404", authority: "422", provider: "403", twg: "403", admin: "403"},
	{route: "POST /api/v1/cases/:id/referrals/:referral_id/withdraw", fresh: true, anon: 401, frontline: "200/404", supervisor: "200/404", authority: "200", provider: "403", twg: "403", admin: "403"},

	// The provider inbox: own = the Lebap shelter the referral went to; foreign = legal aid.
	{route: "GET /api/v1/referrals", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "200", twg: "403", admin: "403"},
	{route: "GET /api/v1/referrals/:id", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "200/404", twg: "403", admin: "403"},
	{route: "POST /api/v1/referrals/:id/accept", fresh: true, anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "200/404", twg: "403", admin: "403"},
	{route: "POST /api/v1/referrals/:id/decline", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "422/404", twg: "403", admin: "403"},
	{route: "POST /api/v1/referrals/:id/progress", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "422/404", twg: "403", admin: "403"},
	{route: "POST /api/v1/referrals/:id/complete", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "422/404", twg: "403", admin: "403"},

	// Administrators (national). PATCH {} changes nothing and answers the agency.
	// The TWG's reports: anonymised figures for the TWG only. The simulation
	// without ?sop_version= is a 422 (the matrix calls paths without queries).
	{route: "GET /api/v1/reports/compliance", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "200", admin: "403"},
	{route: "GET /api/v1/reports/statistics", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "200", admin: "403"},
	{route: "GET /api/v1/reports/simulate", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "422", admin: "403"},
	{route: "GET /api/v1/exports/htcds", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "200", admin: "403"},
	{route: "GET /api/v1/admin/dead-letters", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "POST /api/v1/admin/dead-letters/:id/retry", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "404"},
	{route: "GET /api/v1/agencies/:id/channels", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "POST /api/v1/agencies/:id/channels", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "422"},
	{route: "POST /codec/encode", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "POST /codec/decode", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "GET /api/v1/agencies", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "POST /api/v1/agencies", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "422"},
	{route: "PATCH /api/v1/agencies/:id", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "GET /api/v1/users", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "200"},
	{route: "POST /api/v1/users", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "422"},
	{route: "POST /api/v1/users/:id/deactivate", anon: 401, frontline: "403", supervisor: "403", authority: "403", provider: "403", twg: "403", admin: "204"},
}

// authzPrincipal is one column of the matrix.
type authzPrincipal struct {
	name     string    // column name in messages
	role     auth.Role // "" for anonymous
	foreign  bool
	national bool // one user for own and foreign: the role is not scoped by agency
	email    string
}

// authzPrincipals are the columns, in the order the cells run.
var authzPrincipals = []authzPrincipal{
	{name: "anonymous"},
	{name: "frontline/own", role: auth.Frontline, email: "officer@lebap-police.example"},
	{name: "frontline/foreign", role: auth.Frontline, foreign: true, email: "officer@dashoguz-police.example"},
	{name: "supervisor/own", role: auth.Supervisor, email: "supervisor@lebap-police.example"},
	{name: "supervisor/foreign", role: auth.Supervisor, foreign: true, email: authzDashoguzSupervisor},
	// The competent authority, the TWG and administrators are national bodies:
	// their one user is both the own and the foreign column.
	{name: "competent_authority", role: auth.CompetentAuthority, national: true, email: "decider@authority.example"},
	{name: "provider/own", role: auth.Provider, email: "shelter@lebap-shelter.example"},
	{name: "provider/foreign", role: auth.Provider, foreign: true, email: "lawyer@legal-aid.example"},
	{name: "twg", role: auth.TWG, national: true, email: "twg@twg.example"},
	{name: "admin", role: auth.Admin, national: true, email: "admin@nrm.example"},
}

// authzDashoguzSupervisor is created by the test: the demo has no Dashoguz supervisor.
const authzDashoguzSupervisor = "supervisor@dashoguz-police.example"

// cell returns the role's cell text; ok is false for an unknown role.
func (r authzRow) cell(role auth.Role) (string, bool) {
	switch role {
	case auth.Frontline:
		return r.frontline, true
	case auth.Supervisor:
		return r.supervisor, true
	case auth.CompetentAuthority:
		return r.authority, true
	case auth.Provider:
		return r.provider, true
	case auth.TWG:
		return r.twg, true
	case auth.Admin:
		return r.admin, true
	}
	return "", false
}

// authzParseCell reads "403" or "200/404" (own/foreign).
func authzParseCell(cell string) (own, foreign int, split bool, err error) {
	a, b, split := strings.Cut(cell, "/")
	if own, err = strconv.Atoi(a); err != nil {
		return 0, 0, false, fmt.Errorf("cell %q: %v", cell, err)
	}
	foreign = own
	if split {
		if foreign, err = strconv.Atoi(b); err != nil {
			return 0, 0, false, fmt.Errorf("cell %q: %v", cell, err)
		}
	}
	return own, foreign, split, nil
}

// want is the status the table expects for the principal (0 if the cell does not parse).
func (r authzRow) want(p authzPrincipal) int {
	if p.role == "" {
		return r.anon
	}
	c, _ := r.cell(p.role)
	own, foreign, _, _ := authzParseCell(c)
	if p.foreign {
		return foreign
	}
	return own
}

// authzScoped reports whether the route names a case or a referral, whose
// existence a foreign agency must not learn.
func authzScoped(path string) bool {
	return strings.HasPrefix(path, "/api/v1/cases/:id") || strings.HasPrefix(path, "/api/v1/referrals/:id")
}

// authzFixture is what the path parameters are filled with.
type authzFixture struct {
	caseID, referralID, decisionID, agencyID, userID, notificationID string
}

// authzPath fills the route's parameters; a parameter it does not know is an error.
func authzPath(path string, f authzFixture) (string, error) {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		switch {
		case s == ":referral_id":
			segs[i] = f.referralID
		case s == ":decision_id", s == ":attachment_id": // random: no such decision or file
			segs[i] = f.decisionID
		case s == ":id" && strings.HasPrefix(path, "/api/v1/cases/"):
			segs[i] = f.caseID
		case s == ":id" && strings.HasPrefix(path, "/api/v1/referrals/"):
			segs[i] = f.referralID
		case s == ":id" && strings.HasPrefix(path, "/api/v1/agencies/"):
			segs[i] = f.agencyID
		case s == ":id" && strings.HasPrefix(path, "/api/v1/users/"):
			segs[i] = f.userID
		case s == ":id" && (strings.HasPrefix(path, "/api/v1/notifications/") || strings.HasPrefix(path, "/api/v1/admin/dead-letters/")):
			segs[i] = f.notificationID
		case s == ":version":
			segs[i] = "2026.1" // the Turkmen SOP every test loads
		default:
			return "", fmt.Errorf("route %s: no value for parameter %s; teach authzPath and document the choice", path, s)
		}
	}
	return strings.Join(segs, "/"), nil
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	ctx := context.Background()

	// 1. The table and the router must name the same routes, once each.
	routes := map[string]api.Route{}
	for _, r := range sys.API.Routes() {
		routes[r.Method+" "+r.Path] = r
	}
	rows := map[string]authzRow{}
	for _, row := range authzMatrix {
		if _, dup := rows[row.route]; dup {
			t.Errorf("authzMatrix: route %s has two rows", row.route)
		}
		rows[row.route] = row
		if _, ok := routes[row.route]; !ok {
			t.Errorf("authzMatrix: row %s names no route of Routes(): delete the row", row.route)
		}
	}
	for key := range routes {
		if _, ok := rows[key]; !ok {
			t.Errorf("route %s is served but has no row in authzMatrix: add one", key)
		}
	}

	// 2. The table must keep the rules, whatever the server answers.
	for _, row := range authzMatrix {
		r, ok := routes[row.route]
		if !ok {
			continue
		}
		public := slices.Contains(authzPublic, row.route)
		if !public && row.anon != http.StatusUnauthorized {
			t.Errorf("authzMatrix %s: anonymous = %d; a route that needs a session answers 401", row.route, row.anon)
		}
		if public && row.anon == http.StatusUnauthorized {
			t.Errorf("authzMatrix %s: anonymous = 401 on a public route", row.route)
		}
		for _, p := range authzPrincipals[1:] {
			c, ok := row.cell(p.role)
			if !ok {
				t.Fatalf("authzMatrix has no column for role %s", p.role)
			}
			_, _, split, err := authzParseCell(c)
			if err != nil {
				t.Errorf("authzMatrix %s %s: %v", row.route, p.name, err)
				continue
			}
			if p.national && split {
				t.Errorf("authzMatrix %s %s: a national role has one user for own and foreign: one status, not %q", row.route, p.name, c)
			}
			allowed := len(r.Roles) == 0 || slices.Contains(r.Roles, p.role)
			w := row.want(p)
			switch {
			case w >= 500 || w < 200:
				t.Errorf("authzMatrix %s %s: %d is not an acceptable answer", row.route, p.name, w)
			case !allowed && w != http.StatusForbidden:
				t.Errorf("authzMatrix %s %s: role not on the route, so 403 (own and foreign), not %d", row.route, p.name, w)
			case allowed && w == http.StatusForbidden:
				t.Errorf("authzMatrix %s %s: the route lists the role, so not 403", row.route, p.name)
			case allowed && p.foreign && authzScoped(r.Path) && w != http.StatusNotFound:
				t.Errorf("authzMatrix %s %s: a foreign agency must get 404 on a case or referral route, not %d", row.route, p.name, w)
			}
		}
	}

	// 3. Principals. The demo has no second supervisor: add one in Dashoguz.
	dashoguz, err := sys.Store.AgencyByName(ctx, demo.DashoguzPolice)
	testenv.Must(t, err)
	hash, err := auth.HashPassword(testenv.DemoPassword)
	testenv.Must(t, err)
	testenv.Must(t, sys.Store.CreateUser(ctx, &store.User{Email: authzDashoguzSupervisor, Name: "Dashoguz police supervisor",
		Role: string(auth.Supervisor), AgencyID: dashoguz.ID, PasswordHash: hash, Active: true}))
	anon := testenv.NewClient(sys)
	clients := map[string]*testenv.Client{"anonymous": anon}
	for _, p := range authzPrincipals[1:] {
		clients[p.name] = anon.Login(t, p.email)
	}

	// 4. Fixtures: a Lebap case referred to the Lebap shelter, and a user
	// nobody signs in as.
	shelter, err := sys.Store.AgencyByName(ctx, demo.LebapShelter)
	testenv.Must(t, err)
	throwaway := &store.User{Email: "throwaway@lebap-shelter.example", Name: "Throwaway caseworker",
		Role: string(auth.Provider), AgencyID: shelter.ID, PasswordHash: hash, Active: true}
	testenv.Must(t, sys.Store.CreateUser(ctx, throwaway))
	officer := clients["frontline/own"]
	newFixture := func(t *testing.T) authzFixture {
		t.Helper()
		var c caseBody
		mustStatus(t, "open the fixture case", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
		var ref struct {
			ID string `json:"id"`
		}
		mustStatus(t, "refer the fixture case", officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals",
			map[string]any{"service": "shelter"}, &ref), http.StatusCreated)
		testenv.Eventually(t, 20*time.Second, "the referral routed to the Lebap shelter", func() bool {
			r, err := sys.Store.Referral(ctx, uuid.MustParse(ref.ID))
			return err == nil && r.AgencyID != nil && *r.AgencyID == shelter.ID && r.Status == "pending"
		})
		return authzFixture{caseID: c.ID, referralID: ref.ID, decisionID: uuid.NewString(), agencyID: shelter.ID.String(),
			userID: throwaway.ID.String(), notificationID: uuid.NewString()}
	}
	shared := newFixture(t)
	random := authzFixture{caseID: uuid.NewString(), referralID: uuid.NewString(), decisionID: uuid.NewString(),
		agencyID: uuid.NewString(), userID: uuid.NewString(), notificationID: uuid.NewString()}

	// 5. Every cell, in the table's order; logout runs in sessions of its own.
	got := map[string]map[string]int{}
	for _, row := range authzMatrix {
		r, ok := routes[row.route]
		if !ok {
			continue
		}
		got[row.route] = map[string]int{}
		for _, p := range authzPrincipals {
			c, name := clients[p.name], row.route+" as "+p.name
			allowed := p.role != "" && (len(r.Roles) == 0 || slices.Contains(r.Roles, p.role))
			f := shared
			if row.fresh && allowed {
				f = newFixture(t)
			}
			if row.session && p.role != "" {
				c = anon.Login(t, p.email)
			}
			path, err := authzPath(r.Path, f)
			if err != nil {
				t.Fatal(err)
			}
			st := authzSend(t, c, r.Method, path, name)
			got[row.route][p.name] = st
			if want := row.want(p); st != want {
				hint := ""
				if p.foreign && want == http.StatusNotFound && st == http.StatusUnprocessableEntity {
					hint = " (the handler validates the body before it checks that the caller's agency may see the case or referral)"
				}
				t.Errorf("%s: %s %s → %d, want %d%s", name, r.Method, path, st, want, hint)
			}
			// HEAD is served wherever GET is, and answers as GET does.
			if r.Method == http.MethodGet {
				if hst := authzSend(t, c, http.MethodHead, path, name+" (HEAD)"); hst != st {
					t.Errorf("%s: HEAD %s → %d, GET → %d", name, path, hst, st)
				}
			}
			// The answer to a foreign agency must not depend on the case existing.
			if allowed && p.foreign && authzScoped(r.Path) {
				rpath, err := authzPath(r.Path, random)
				testenv.Must(t, err)
				if rst := authzSend(t, c, r.Method, rpath, name+" (random IDs)"); rst != st {
					t.Errorf("%s: %d for the real case, %d for a case that does not exist: the answer tells the case exists", name, st, rst)
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("observed matrix (anonymous | frontline | supervisor | competent_authority | provider | twg | admin):\n%s", authzDump(got))
	}
}

// authzSend sends one cell's request and returns the status; it fails the
// cell on a 5xx and on an error answer that is not problem+json.
func authzSend(t *testing.T, c *testenv.Client, method, path, name string) int {
	t.Helper()
	var body any
	if method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut {
		body = []byte("{}")
	}
	resp := c.Raw(t, method, path, body, nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Errorf("%s: %s %s → %d (a 5xx): %s", name, method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("%s: %s %s → %d with Content-Type %q, want application/problem+json", name, method, path,
			resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode
}

// authzDump prints what the server answered in the table's shape, to compare
// by hand against the rules (never to paste over them).
func authzDump(got map[string]map[string]int) string {
	var b strings.Builder
	cell := func(row map[string]int, own, foreign string) string {
		if row[own] == row[foreign] {
			return fmt.Sprint(row[own])
		}
		return fmt.Sprintf("%d/%d", row[own], row[foreign])
	}
	for _, r := range authzMatrix {
		row, ok := got[r.route]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%-58s %d | %s | %s | %d | %s | %d | %d\n", r.route, row["anonymous"],
			cell(row, "frontline/own", "frontline/foreign"), cell(row, "supervisor/own", "supervisor/foreign"),
			row["competent_authority"], cell(row, "provider/own", "provider/foreign"), row["twg"], row["admin"])
	}
	return b.String()
}
