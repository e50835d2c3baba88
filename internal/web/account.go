package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/directory"
)

// The account page (GET /account): who the user is (name, e-mail, role,
// agency), the UI language kept on their profile, and the password change.
//
// The profile's language is the page language of every signed-in page
// unless ?lang= or the language cookie says otherwise (language in web.go);
// signing in puts it in the cookie, so that it is the language of the
// session from the first page on, and a later ?lang= still changes it for
// the session.
//
// Changing the password ends every session of the user (directory.Service
// ChangePassword), this one included, and signs this browser in again with
// the new password: other browsers and API tokens that knew the old one
// are signed out.

func (p *Pages) mountAccount(r fiber.Router) {
	r.Get("/account", p.signedIn(p.accountPage))
	r.Post("/account/language", p.signedIn(p.saveLanguage))
	r.Post("/account/password", p.signedIn(p.changePassword))
}

// directory is the service of the users' own accounts, over the cases
// service's store.
func (p *Pages) directory() *directory.Service { return p.Directory }

// roleNames are the messages naming the roles.
var roleNames = map[auth.Role]string{
	auth.Frontline:          "lists.role.frontline",
	auth.Supervisor:         "lists.role.supervisor",
	auth.CompetentAuthority: "lists.role.competent_authority",
	auth.Provider:           "lists.role.provider",
	auth.TWG:                "lists.role.twg",
	auth.Admin:              "lists.role.admin",
}

// policyReasons are the messages of the password policy's rules
// (auth.PolicyError.Rule).
var policyReasons = map[string]string{
	"length":     "lists.account.error.length",
	"common":     "lists.account.error.common",
	"repetitive": "lists.account.error.repetitive",
	"context":    "lists.account.error.context",
}

type accountData struct {
	Name, Email, Role, Agency string
	// Language is the profile's language ("" when the browser decides).
	Language  string
	Languages []string
	Errors    formErrors
	// Done says what the last form did: "language" or "password".
	Done string
}

func (p *Pages) account(c *fiber.Ctx, pg page) (accountData, error) {
	a, err := p.directory().Account(c.UserContext(), *pg.User)
	if err != nil {
		return accountData{}, err
	}
	role, ok := roleNames[auth.Role(a.User.Role)]
	if !ok {
		role = a.User.Role
	}
	return accountData{Name: a.User.Name, Email: a.User.Email, Role: role, Agency: a.Agency.Name, Language: a.User.Language,
		Languages: Languages}, nil
}

func (p *Pages) accountPage(c *fiber.Ctx, pg page) error {
	data, err := p.account(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	if d := c.Query("done"); d == "language" || d == "password" {
		data.Done = d
	}
	pg.Title, pg.Data = "lists.account.title", data
	return p.render(c, http.StatusOK, "account", pg)
}

// saveLanguage keeps the chosen language on the profile and makes it this
// session's language at once; the empty choice lets the browser decide again.
func (p *Pages) saveLanguage(c *fiber.Ctx, pg page) error {
	lang := c.FormValue("language")
	if lang != "" && !slices.Contains(Languages, lang) {
		return p.errorPage(c, fiber.ErrBadRequest)
	}
	if err := p.directory().SetLanguage(c.UserContext(), *pg.User, lang); err != nil {
		return p.errorPage(c, err)
	}
	setLanguageCookie(c, lang)
	return c.Redirect("/account?done=language", fiber.StatusSeeOther)
}

// changePassword checks the form, changes the password, and signs this
// browser in again under the new one. Errors show next to their field;
// passwords typed are never sent back into the page.
func (p *Pages) changePassword(c *fiber.Ctx, pg page) error {
	current, next, confirm := c.FormValue("current"), c.FormValue("new"), c.FormValue("confirm")
	var errs formErrors
	if current == "" {
		errs.add("current", "lists.account.error.current_missing")
	}
	switch {
	case next == "":
		errs.add("new", "lists.account.error.new_missing")
	case confirm != next:
		errs.add("confirm", "lists.account.error.mismatch")
	}
	if len(errs) == 0 {
		err := p.directory().ChangePassword(c.UserContext(), *pg.User, current, next)
		var fe *directory.FieldError
		var pe *auth.PolicyError
		switch {
		case err == nil:
		case errors.As(err, &fe) && fe.Field == "current":
			errs.add("current", "lists.account.error.current_wrong")
		case errors.As(err, &pe):
			msg, ok := policyReasons[pe.Rule]
			if !ok {
				msg = "lists.account.error.policy"
			}
			errs.add("new", msg)
		default:
			return p.errorPage(c, err)
		}
	}
	if len(errs) > 0 {
		data, err := p.account(c, pg)
		if err != nil {
			return p.errorPage(c, err)
		}
		data.Errors = errs
		pg.Title, pg.Data = "lists.account.title", data
		return p.render(c, http.StatusUnprocessableEntity, "account", pg)
	}
	// Every session ended with the old password; this browser goes on
	// under a new one (or signs in again if that is refused for now).
	if _, err := p.gate.PageSignIn(c, pg.User.Email, next); err != nil {
		return c.Redirect("/login?next=%2Faccount", fiber.StatusSeeOther)
	}
	return c.Redirect("/account?done=password", fiber.StatusSeeOther)
}

// localUser keeps the signed-in user of a page request, for language.
const localUser = "web_user"

// keepUser remembers the page's signed-in user for the rest of the request.
func keepUser(c *fiber.Ctx, user auth.Principal) { c.Locals(localUser, user) }

// profileLanguage is the language on the profile of the request's
// signed-in user, "" when there is none (or no user).
func profileLanguage(c *fiber.Ctx) string {
	if u, ok := c.Locals(localUser).(auth.Principal); ok && slices.Contains(Languages, u.Language) {
		return u.Language
	}
	return ""
}

// adoptProfileLanguage makes the profile's language the session's when a
// user signs in (in the cookie, which ?lang= changes later).
func adoptProfileLanguage(c *fiber.Ctx, user auth.Principal) {
	if slices.Contains(Languages, user.Language) {
		setLanguageCookie(c, user.Language)
	}
}

// setLanguageCookie keeps a language for the browser as ?lang= does; ""
// removes it, so that the profile or the browser decides again.
func setLanguageCookie(c *fiber.Ctx, lang string) {
	ck := &fiber.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HTTPOnly: true, SameSite: "Lax",
		Secure: c.Protocol() == "https"}
	if lang == "" {
		ck.MaxAge = -1
	}
	c.Cookie(ck)
}
