// Package web serves NRM's web UI: server-rendered HTML from the same
// binary and the same Fiber app as the API, progressively enhanced with
// htmx. Pages call the same services (internal/cases) with the same
// principal as the API and sign in through the API's own session, rate
// limits and CSRF rules (api.Server's Page* methods), so that a page shows
// exactly what the API would answer to that user. See docs/web.md.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"github.com/nrm-tm/nrm/internal/audit"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/reports"
)

// Gate is what pages need of the API's authentication layer (api.Server).
type Gate interface {
	PageSignIn(c *fiber.Ctx, email, password string) (auth.Principal, error)
	PageSession(c *fiber.Ctx, csrf string) (auth.Principal, string, error)
	PageSignOut(c *fiber.Ctx) error
	RequestID(c *fiber.Ctx) string
	PageOnce(c *fiber.Ctx, key string, fingerprint []byte, run pageCommand) (location string, err error) // screening.go
}

// ProblemOf maps an error to the API's status, problem type and
// Retry-After (api.ProblemOf), so pages put the same refusals in words.
type ProblemOf func(err error) (status int, typ string, retryAfter int)

//go:embed templates/*.html
var templateFiles embed.FS

// Pages is the web UI.
type Pages struct {
	Cases *cases.Service
	// Directory keeps the user's account; Inbox their notifications.
	Directory *directory.Service
	Inbox     *notify.Inbox
	Log       *slog.Logger
	// DefaultLanguage is the UI's language when neither the user nor the
	// browser chose one of Languages.
	DefaultLanguage string
	Problem         ProblemOf
	// Notifications keeps the dead letters and channels, Audit reads the
	// audit log (admin.go, audittrail.go).
	Notifications *notify.Admin
	Audit         *audit.Service
	// Reports builds the TWG's anonymised reports (twg.go).
	Reports *reports.Service

	// OfflineSecret derives each frontline user's key for screenings taken
	// offline (offline.go); empty: a random one for the process.
	OfflineSecret []byte

	gate   Gate
	msgs   *catalogue
	assets *assets
	views  *html.Engine
}

// langCookie keeps the language a user chose with ?lang=.
const langCookie = "nrm_lang"

// contentSecurityPolicy allows this site's own files only: no inline script
// or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New loads the templates, messages and assets; an error means the binary
// was built with a broken UI.
func New(cs *cases.Service, log *slog.Logger, defaultLanguage string, problem ProblemOf) (*Pages, error) {
	if !slices.Contains(Languages, defaultLanguage) {
		return nil, fmt.Errorf("web: default language %q is not one of %v", defaultLanguage, Languages)
	}
	msgs, err := loadCatalogue()
	if err != nil {
		return nil, err
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	views := html.NewFileSystem(http.FS(sub), ".html")
	views.AddFunc("asset", as.url)
	views.AddFunc("dict", dict)
	views.AddFunc("has", slices.Contains[[]string])
	if err := views.Load(); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return &Pages{Cases: cs, Log: log, DefaultLanguage: defaultLanguage, Problem: problem, msgs: msgs, assets: as, views: views}, nil
}

// Mount adds the pages to the app (after the API's routes).
func (p *Pages) Mount(r fiber.Router, gate Gate) {
	p.gate = gate
	r.Get("/static/*", p.assets.serve)
	r.Get("/login", p.loginPage)
	r.Post("/login", p.login)
	r.Post("/logout", p.logout)
	r.Get("/", p.signedIn(p.worklist))
	// Each area of the UI adds its routes in its own file; the fixed paths
	// (/cases/new) come before the patterns (/cases/:id).
	p.mountScreening(r)
	p.mountCaseList(r)
	p.mountNotifications(r)
	p.mountAccount(r)
	p.mountDecisions(r)
	p.mountApprovals(r)
	p.mountReferrals(r)
	p.mountTWG(r)
	p.mountAdmin(r)
	p.mountAudit(r)
	p.mountOffline(r)
	p.mountAttachments(r)
	p.mountTransfer(r)
	p.mountCorrections(r)
	r.Get("/cases/:id", p.signedIn(p.casePage))
	p.mountCaseActions(r)
	r.Get("/*", p.notFound)
}

// page is what every template receives.
type page struct {
	Lang      string
	Title     string
	User      *auth.Principal
	CSRF      string
	Path      string
	RequestID string
	Languages []string
	Data      any
	// Nav is the header's links for a signed-in user, with the unread
	// count (notifications.go); render fills it.
	Nav *navigation
}

// render writes a page through the template engine in the request's language.
func (p *Pages) render(c *fiber.Ctx, status int, name string, pg page) error {
	t := p.msgs.translator(pg.Lang)
	pg.Languages = Languages
	pg.Path = c.Path()
	pg.RequestID = p.gate.RequestID(c)
	if pg.User != nil && pg.Nav == nil {
		pg.Nav = p.navigation(c, pg.User)
	}
	var b bytes.Buffer
	if err := p.views.Render(&b, name, withT(pg, t), "layout"); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentLanguage, pg.Lang)
	c.Set(fiber.HeaderVary, "Cookie, Accept-Language")
	return c.Status(status).Send(b.Bytes())
}

// boundPage carries the translator into the templates as .T, so that
// {{.T "key"}} renders in the page's language.
type boundPage struct {
	page
	t *translator
}

func (b boundPage) T(id string, data ...any) string { return b.t.T(id, data...) }

// Date and DateTime write a date (and time) as the page's language does:
// 29.11.2026 in Turkmen and Russian, 29 Nov 2026 in English. The time is
// the one given; callers put it in the SOP calendar's zone.
func (b boundPage) Date(t time.Time) string { return t.Format(dateLayouts[b.Lang]) }

func (b boundPage) DateTime(t time.Time) string { return t.Format(dateLayouts[b.Lang] + " 15:04") }

var dateLayouts = map[string]string{"tk": "02.01.2006", "ru": "02.01.2006", "en": "2 Jan 2006"}

func withT(pg page, t *translator) boundPage { return boundPage{page: pg, t: t} }

// dict builds a map for message data in templates: dict "Count" 3.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict: keys are strings")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// language picks the page's language: ?lang= (kept in a cookie), else the
// cookie, else the signed-in user's profile language, else the browser's
// Accept-Language, else the default.
func (p *Pages) language(c *fiber.Ctx) string {
	if l := c.Query("lang"); slices.Contains(Languages, l) {
		c.Cookie(&fiber.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, HTTPOnly: true, SameSite: "Lax",
			Secure: c.Protocol() == "https"})
		return l
	}
	if l := c.Cookies(langCookie); slices.Contains(Languages, l) {
		return l
	}
	if l := profileLanguage(c); l != "" { // the signed-in user's (account.go)
		return l
	}
	if l := p.msgs.match(c.Get(fiber.HeaderAcceptLanguage)); l != "" {
		return l
	}
	return p.DefaultLanguage
}

// signedIn runs a page for a signed-in user; without a session the browser
// goes to the sign-in page, which brings it back here afterwards.
func (p *Pages) signedIn(h func(c *fiber.Ctx, pg page) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		lang := p.language(c) // before a redirect, so that ?lang= is kept
		user, csrf, err := p.gate.PageSession(c, c.FormValue("csrf"))
		if errors.Is(err, auth.ErrNoSession) {
			return c.Redirect("/login?next="+url.QueryEscape(string(c.Request().URI().RequestURI())), fiber.StatusSeeOther)
		}
		if err != nil {
			return p.errorPage(c, err)
		}
		keepUser(c, user)
		lang = p.language(c) // the profile's language, now that the user is known
		return h(c, page{Lang: lang, User: &user, CSRF: csrf})
	}
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

type loginData struct {
	Email    string
	Next     string
	Error    string // message ID
	ErrorArg map[string]any
}

func (p *Pages) loginPage(c *fiber.Ctx) error {
	return p.render(c, http.StatusOK, "login", page{Lang: p.language(c), Title: "login.title",
		Data: loginData{Next: safeNext(c.Query("next", "/"))}})
}

func (p *Pages) login(c *fiber.Ctx) error {
	lang := p.language(c)
	email, next := strings.TrimSpace(c.FormValue("email")), safeNext(c.FormValue("next", "/"))
	data := loginData{Email: email, Next: next}
	if email == "" || c.FormValue("password") == "" {
		data.Error = "login.error.missing"
		return p.render(c, http.StatusUnprocessableEntity, "login", page{Lang: lang, Title: "login.title", Data: data})
	}
	user, err := p.gate.PageSignIn(c, email, c.FormValue("password"))
	if err == nil {
		adoptProfileLanguage(c, user) // account.go
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	status, typ, retry := p.Problem(err)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		data.Error = "login.error.credentials"
	case status == http.StatusTooManyRequests:
		data.Error, data.ErrorArg = "login.error.throttled", map[string]any{"Count": max(retry, 1)}
	case status == http.StatusServiceUnavailable:
		data.Error, data.ErrorArg = "login.error.busy", map[string]any{"Count": max(retry, 1)}
	case status == http.StatusForbidden:
		data.Error = "login.error.crosssite"
	default:
		p.Log.Error("sign-in page", "request_id", p.gate.RequestID(c), "type", typ, "error", err)
		return p.errorPage(c, err)
	}
	if retry > 0 {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(retry))
	}
	return p.render(c, status, "login", page{Lang: lang, Title: "login.title", Data: data})
}

func (p *Pages) logout(c *fiber.Ctx) error {
	if _, _, err := p.gate.PageSession(c, c.FormValue("csrf")); err != nil && !errors.Is(err, auth.ErrNoSession) {
		return p.errorPage(c, err)
	}
	if err := p.gate.PageSignOut(c); err != nil {
		return p.errorPage(c, err)
	}
	// A shared device keeps nothing of the session: the screening draft
	// (localStorage) goes with it, whatever page signed out.
	c.Set("Clear-Site-Data", `"storage"`)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// notFound answers unknown pages; API paths keep the API's problem answers.
func (p *Pages) notFound(c *fiber.Ctx) error {
	if strings.HasPrefix(c.Path(), "/api/") || c.Path() == "/api" {
		return fiber.ErrNotFound
	}
	return p.render(c, http.StatusNotFound, "notfound", page{Lang: p.language(c), Title: "notfound.title"})
}

// errorPage shows a refusal or failure in words, with the request ID to
// quote; never a stack or anything from the request.
func (p *Pages) errorPage(c *fiber.Ctx, err error) error {
	status, _, _ := p.Problem(err)
	key := "error.internal"
	switch status {
	case http.StatusForbidden:
		key = "error.forbidden"
	case http.StatusNotFound:
		return p.render(c, status, "notfound", page{Lang: p.language(c), Title: "notfound.title"})
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		key = "error.busy"
	}
	if status >= 500 {
		p.Log.Error("page failed", "request_id", p.gate.RequestID(c), "route", c.Path(), "error", err)
	}
	return p.render(c, status, "error", page{Lang: p.language(c), Title: "error.title", Data: key})
}
