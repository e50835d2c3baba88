package web

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/audit"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/directory"
)

// The administrators' pages (/admin, the admin role only): the agencies of
// the directory (admin_agencies.go), its users (admin_users.go), the
// agencies' notification channels and the dead letters
// (admin_notify.go), and the audit chain's state (here). They call the
// services the API's administration routes call — directory.Admin,
// notify.Admin — and audit.Service for the chain, with the signed-in
// administrator, so each change writes the same audit rows as through the
// API. Every form that changes something carries a key (newFormKey) and
// goes through Gate.PageOnce: a double click or a retry is one change, and
// the command is audited as the API audits its commands. Passwords never
// enter a form's fingerprint (kept a day with the key), nor a page sent
// back: a form with errors asks for them again.

func (p *Pages) mountAdmin(r fiber.Router) {
	r.Get("/admin", p.adminOnly(p.adminHome))
	r.Get("/admin/audit-chain", p.adminOnly(p.adminChain))
	r.Post("/admin/audit-chain", p.adminOnly(p.adminVerifyChain))
	p.mountAdminAgencies(r)
	p.mountAdminUsers(r)
	p.mountAdminNotify(r)
}

// adminOnly runs a page for a signed-in administrator; other roles get the
// 403 page in words, as the API answers its administration routes.
func (p *Pages) adminOnly(h func(c *fiber.Ctx, pg page) error) fiber.Handler {
	return p.signedIn(func(c *fiber.Ctx, pg page) error {
		if !pg.User.Is(auth.Admin) {
			return p.adminForbidden(c, pg, "admin.forbidden")
		}
		return h(c, pg)
	})
}

// adminForbidden is the 403 page with its reason (a message ID).
func (p *Pages) adminForbidden(c *fiber.Ctx, pg page, msg string) error {
	return p.render(c, http.StatusForbidden, "error", page{Lang: pg.Lang, Title: "error.title", User: pg.User, CSRF: pg.CSRF, Data: msg})
}

// directoryAdmin is the directory's administration service, as the API
// builds it: it audits every change it makes.
func (p *Pages) directoryAdmin() *directory.Admin {
	return &directory.Admin{Directory: p.Directory, Log: p.Log}
}

// adminRequest identifies the page's request in the services' audit rows.
func (p *Pages) adminRequest(c *fiber.Ctx) directory.RequestInfo {
	return directory.RequestInfo{RequestID: p.gate.RequestID(c)}
}

// adminOnce runs a form's change at most once per form key (the hidden
// "key" field): run answers the page to go to. fields are what the form
// says, passwords left out, for the fingerprint that tells a retry from
// the same key sent with other answers.
func (p *Pages) adminOnce(c *fiber.Ctx, run func() (string, error), fields ...string) (string, error) {
	h := sha256.New()
	h.Write([]byte(c.Path()))
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return p.gate.PageOnce(c, c.FormValue("key"), h.Sum(nil), func() (uuid.UUID, string, error) {
		location, err := run()
		return uuid.Nil, location, err
	})
}

// adminResent turns what PageOnce refuses of a form's key — sent before
// with other answers (409), missing or broken (422) — into the form's
// error; ok is false for any other error. The form shown again carries a
// new key.
func (p *Pages) adminResent(err error, errs *formErrors) (ok bool) {
	if status, _, _ := p.Problem(err); status == http.StatusConflict || status == http.StatusUnprocessableEntity {
		errs.add(submitField, "admin.error.resent")
		return true
	}
	return false
}

// adminHomeData is the overview of /admin.
type adminHomeData struct {
	Agencies, Users, Active, DeadLetters int
	// DeadMore: there are more dead letters than DeadLetters counts.
	DeadMore bool
	Chain    *adminVerification
}

func (p *Pages) adminHome(c *fiber.Ctx, pg page) error {
	ctx := c.UserContext()
	agencies, err := p.directoryAdmin().Agencies(ctx)
	if err != nil {
		return p.errorPage(c, err)
	}
	users, err := p.directoryAdmin().Users(ctx)
	if err != nil {
		return p.errorPage(c, err)
	}
	dead, err := p.Notifications.DeadLetters(ctx, deadLetterLimit)
	if err != nil {
		return p.errorPage(c, err)
	}
	last, err := p.Audit.LastVerification(ctx, *pg.User)
	if err != nil {
		return p.errorPage(c, err)
	}
	data := adminHomeData{Agencies: len(agencies), Users: len(users), DeadLetters: len(dead), DeadMore: len(dead) >= deadLetterLimit,
		Chain: p.adminVerificationOf(last)}
	for _, u := range users {
		if u.Active {
			data.Active++
		}
	}
	pg.Title, pg.Data = "admin.title", data
	return p.render(c, http.StatusOK, "admin", pg)
}

// adminVerification is a chain verification as the pages show it, its time
// in the SOP calendar's zone.
type adminVerification struct {
	At               time.Time
	By               string
	Intact           bool
	Entries          int
	BrokenAt, Head   int64
	HeadHash         string
	HeadHashAbridged string
}

func (p *Pages) adminVerificationOf(v *audit.Verification) *adminVerification {
	if v == nil {
		return nil
	}
	out := &adminVerification{At: v.At.In(p.auditZone()), By: v.By, Intact: v.Intact, Entries: v.Entries, BrokenAt: v.BrokenAt,
		Head: v.Head, HeadHash: v.HeadHash}
	if len(v.HeadHash) > 16 {
		out.HeadHashAbridged = v.HeadHash[:16]
	}
	return out
}

type adminChainData struct {
	Last   *adminVerification
	Key    string
	Done   bool
	Errors formErrors
}

// adminChain shows the audit chain's last verification and the button that
// runs one.
func (p *Pages) adminChain(c *fiber.Ctx, pg page) error {
	last, err := p.Audit.LastVerification(c.UserContext(), *pg.User)
	if err != nil {
		return p.errorPage(c, err)
	}
	pg.Title = "admin.chain.title"
	pg.Data = adminChainData{Last: p.adminVerificationOf(last), Key: newFormKey(), Done: c.Query("done") == "verified"}
	return p.render(c, http.StatusOK, "admin_chain", pg)
}

// adminVerifyChain recomputes the hash chain, as `nrm audit verify` does;
// the result is recorded in the log (audit.verify) and shown from there.
func (p *Pages) adminVerifyChain(c *fiber.Ctx, pg page) error {
	location, err := p.adminOnce(c, func() (string, error) {
		if _, err := p.Audit.Verify(c.UserContext(), *pg.User, audit.RequestInfo{RequestID: p.gate.RequestID(c)}); err != nil {
			return "", err
		}
		return "/admin/audit-chain?done=verified", nil
	})
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	var errs formErrors
	if !p.adminResent(err, &errs) {
		return p.errorPage(c, err)
	}
	last, lerr := p.Audit.LastVerification(c.UserContext(), *pg.User)
	if lerr != nil {
		return p.errorPage(c, lerr)
	}
	pg.Title = "admin.chain.title"
	pg.Data = adminChainData{Last: p.adminVerificationOf(last), Key: newFormKey(), Errors: errs}
	return p.render(c, http.StatusConflict, "admin_chain", pg)
}

// auditZone is the time zone the administration and audit pages show
// times in: the calendar's of the SOP in effect (UTC without one).
func (p *Pages) auditZone() *time.Location {
	if p.Cases != nil && p.Cases.SOPs != nil {
		if s, err := p.Cases.SOPs.Active(time.Now()); err == nil && s.Calendar.Location != nil {
			return s.Calendar.Location
		}
	}
	return time.UTC
}

// deadLetterLimit is how many dead letters the pages list.
const deadLetterLimit = 200
