package web

import (
	"errors"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
)

// The users of the directory (/admin/users): the list; a new user (name,
// e-mail, agency, role, a password under the policy, whose reasons show
// next to the field); and, for another user, a new role among those that
// belong in their agency, a new password, and deactivation after a
// confirmation. Each of the three ends the user's sessions
// (directory.Admin). An administrator's own account offers none of them:
// the service refuses them (directory.ErrSelf), and the last active
// administrator stays one (directory.ErrLastAdmin).

func (p *Pages) mountAdminUsers(r fiber.Router) {
	r.Get("/admin/users", p.adminOnly(p.adminUsers))
	r.Get("/admin/users/new", p.adminOnly(p.adminUserNew))
	r.Post("/admin/users/new", p.adminOnly(p.adminUserCreate))
	r.Get("/admin/users/:id", p.adminOnly(p.adminUser))
	r.Post("/admin/users/:id/role", p.adminOnly(p.adminUserRole))
	r.Post("/admin/users/:id/password", p.adminOnly(p.adminUserPassword))
	r.Get("/admin/users/:id/deactivate", p.adminOnly(p.adminUserDeactivatePage))
	r.Post("/admin/users/:id/deactivate", p.adminOnly(p.adminUserDeactivate))
}

// adminMaxName is the longest name of a user or an agency, as the API.
const adminMaxName = 200

// adminUserRow is a user in the list.
type adminUserRow struct {
	ID, Name, Email, Role, Agency string
	Active, Self                  bool
}

type adminUsersData struct {
	Rows         []adminUserRow
	Active, Gone int
}

func (p *Pages) adminUsers(c *fiber.Ctx, pg page) error {
	ctx := c.UserContext()
	users, err := p.directoryAdmin().Users(ctx)
	if err != nil {
		return p.errorPage(c, err)
	}
	names, err := p.adminAgencyNames(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	var data adminUsersData
	for _, u := range users {
		data.Rows = append(data.Rows, adminUserRow{ID: u.ID.String(), Name: u.Name, Email: u.Email, Role: adminRoleMsg(u.Role),
			Agency: names[u.AgencyID], Active: u.Active, Self: u.ID == pg.User.UserID})
		if u.Active {
			data.Active++
		} else {
			data.Gone++
		}
	}
	pg.Title, pg.Data = "admin.users.title", data
	return p.render(c, http.StatusOK, "admin_users", pg)
}

// adminAgencyNames maps the directory's agencies to their names.
func (p *Pages) adminAgencyNames(c *fiber.Ctx) (map[uuid.UUID]string, error) {
	list, err := p.directoryAdmin().Agencies(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]string, len(list))
	for _, a := range list {
		out[a.ID] = a.Name
	}
	return out, nil
}

// adminRoleMsg is the message naming a role (lists.role.*), the code itself for
// an unknown one.
func adminRoleMsg(role string) string {
	if m, ok := roleNames[auth.Role(role)]; ok {
		return m
	}
	return role
}

// adminRole is a role offered by a form.
type adminRole struct{ Value, Msg string }

func adminRoles(roles []auth.Role) []adminRole {
	out := make([]adminRole, 0, len(roles))
	for _, r := range roles {
		out = append(out, adminRole{Value: string(r), Msg: adminRoleMsg(string(r))})
	}
	return out
}

// adminAgencyChoice is an agency offered by a form.
type adminAgencyChoice struct{ ID, Name string }

// adminNewUser is the form of a new user, as typed (never the password).
type adminNewUser struct {
	Name, Email, Agency, Role string
	Agencies                  []adminAgencyChoice
	Roles                     []adminRole
	Key                       string
	Errors                    formErrors
}

func (p *Pages) renderAdminNewUser(c *fiber.Ctx, pg page, status int, f adminNewUser) error {
	agencies, err := p.directoryAdmin().Agencies(c.UserContext())
	if err != nil {
		return p.errorPage(c, err)
	}
	for _, a := range agencies {
		f.Agencies = append(f.Agencies, adminAgencyChoice{ID: a.ID.String(), Name: a.Name})
	}
	f.Roles = adminRoles(auth.Roles)
	pg.Title, pg.Data = "admin.users.new.title", f
	return p.render(c, status, "admin_user_new", pg)
}

func (p *Pages) adminUserNew(c *fiber.Ctx, pg page) error {
	return p.renderAdminNewUser(c, pg, http.StatusOK, adminNewUser{Agency: c.Query("agency"), Key: newFormKey()})
}

// adminPasswordErrors checks a new password and its confirmation as typed; the
// policy itself is the service's.
func adminPasswordErrors(errs *formErrors, password, confirm, field, confirmField string) {
	switch {
	case password == "":
		errs.add(field, "admin.users.error.password_missing")
	case confirm != password:
		errs.add(confirmField, "admin.users.error.mismatch")
	}
}

// adminPolicyReasons are the messages of the password policy's rules
// (auth.PolicyError.Rule), said of the user an administrator sets it for.
var adminPolicyReasons = map[string]string{
	"length":     "admin.users.error.length",
	"common":     "admin.users.error.common",
	"repetitive": "admin.users.error.repetitive",
	"context":    "admin.users.error.context",
}

// adminPolicyError puts a password the policy refuses in words, next to field;
// ok is false for other errors.
func adminPolicyError(err error, errs *formErrors, field string) bool {
	var pe *auth.PolicyError
	if !errors.As(err, &pe) {
		return false
	}
	msg, known := adminPolicyReasons[pe.Rule]
	if !known {
		msg = "admin.users.error.policy"
	}
	errs.add(field, msg)
	return true
}

func (p *Pages) adminUserCreate(c *fiber.Ctx, pg page) error {
	f := adminNewUser{Name: clean(c.FormValue("name")), Email: clean(c.FormValue("email")), Agency: c.FormValue("agency"),
		Role: c.FormValue("role"), Key: formKey(c)}
	password, confirm := c.FormValue("password"), c.FormValue("confirm")
	switch {
	case f.Name == "":
		f.Errors.add("name", "admin.users.error.name")
	case utf8.RuneCountInString(f.Name) > adminMaxName:
		f.Errors.add("name", "admin.error.too_long")
	}
	if f.Email == "" {
		f.Errors.add("email", "admin.users.error.email_missing")
	}
	agencyID, err := uuid.Parse(f.Agency)
	if err != nil {
		f.Errors.add("agency", "admin.users.error.agency")
	}
	if !slices.Contains(auth.Roles, auth.Role(f.Role)) {
		f.Errors.add("role", "admin.users.error.role")
	}
	adminPasswordErrors(&f.Errors, password, confirm, "password", "confirm")
	if len(f.Errors) > 0 {
		return p.renderAdminNewUser(c, pg, http.StatusUnprocessableEntity, f)
	}
	location, err := p.adminOnce(c, func() (string, error) {
		u, err := p.directoryAdmin().CreateUser(c.UserContext(), *pg.User, p.adminRequest(c), directory.NewUser{Email: f.Email,
			Name: f.Name, Password: password, Role: auth.Role(f.Role), AgencyID: agencyID})
		if err != nil {
			return "", err
		}
		return "/admin/users/" + u.ID.String() + "?done=created", nil
	}, f.Name, f.Email, f.Agency, f.Role)
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	var fe *directory.FieldError
	switch {
	case adminPolicyError(err, &f.Errors, "password"):
	case errors.Is(err, directory.ErrEmailTaken):
		f.Errors.add("email", "admin.users.error.email_taken")
	case errors.As(err, &fe) && fe.Field == "email":
		f.Errors.add("email", "admin.users.error.email_invalid")
	case errors.As(err, &fe) && fe.Field == "agency_id":
		f.Errors.add("agency", "admin.users.error.agency")
	case errors.As(err, &fe) && fe.Field == "role":
		f.Errors.add("role", "admin.users.error.role_agency")
	case p.adminResent(err, &f.Errors):
		f.Key = newFormKey()
	default:
		return p.errorPage(c, err)
	}
	return p.renderAdminNewUser(c, pg, http.StatusUnprocessableEntity, f)
}

// adminUserData is a user's page: who they are, and the forms an
// administrator may use on another active user's account.
type adminUserData struct {
	ID, Name, Email, Role, RoleValue, Agency, AgencyID string
	Active, Self                                       bool
	Created                                            time.Time
	// Roles are the roles that belong in the user's agency.
	Roles                []adminRole
	RoleKey, PasswordKey string
	// Chosen is the role the role form shows chosen: the current one, or
	// the one sent with an error.
	Chosen        string
	Errors        formErrors
	Done          string
	DeactivateKey string
}

// adminUserDone are the confirmations the user's page shows (?done=).
var adminUserDone = []string{"created", "role", "password", "deactivated"}

// adminUserOf loads the user of the path for their page; an unknown or
// malformed ID is store.ErrNotFound (the 404 page).
func (p *Pages) adminUserOf(c *fiber.Ctx, pg page) (adminUserData, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return adminUserData{}, store.ErrNotFound
	}
	ctx := c.UserContext()
	u, err := p.directoryAdmin().User(ctx, id)
	if err != nil {
		return adminUserData{}, err
	}
	ag, err := p.directoryAdmin().Agency(ctx, u.AgencyID)
	if err != nil {
		return adminUserData{}, err
	}
	return adminUserData{ID: u.ID.String(), Name: u.Name, Email: u.Email, Role: adminRoleMsg(u.Role), RoleValue: u.Role,
		Chosen: u.Role, Agency: ag.Name, AgencyID: ag.ID.String(), Active: u.Active, Self: u.ID == pg.User.UserID,
		Created: u.CreatedAt.In(p.auditZone()), Roles: adminRoles(directory.RolesFor(ag)),
		RoleKey: newFormKey(), PasswordKey: newFormKey(), DeactivateKey: newFormKey()}, nil
}

func (p *Pages) adminUser(c *fiber.Ctx, pg page) error {
	d, err := p.adminUserOf(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	if done := c.Query("done"); slices.Contains(adminUserDone, done) {
		d.Done = done
	}
	pg.Title, pg.Data = "admin.user.title", d
	return p.render(c, http.StatusOK, "admin_user", pg)
}

// adminGuardError puts the service's guards in words: one's own account, the
// last administrator. ok is false for other errors.
func adminGuardError(err error, errs *formErrors, field, selfMsg string) bool {
	switch {
	case errors.Is(err, directory.ErrSelf):
		errs.add(field, selfMsg)
	case errors.Is(err, directory.ErrLastAdmin):
		errs.add(field, "admin.users.error.last_admin")
	default:
		return false
	}
	return true
}

// adminUserFailed shows the user's page again with a form's errors: 409 for
// a guard or a resent key, 422 for a field.
func (p *Pages) adminUserFailed(c *fiber.Ctx, pg page, status int, errs formErrors, keep func(*adminUserData)) error {
	d, err := p.adminUserOf(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	d.Errors = errs
	if keep != nil {
		keep(&d)
	}
	pg.Title, pg.Data = "admin.user.title", d
	return p.render(c, status, "admin_user", pg)
}

func (p *Pages) adminUserRole(c *fiber.Ctx, pg page) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.errorPage(c, store.ErrNotFound)
	}
	role := c.FormValue("role")
	var errs formErrors
	if !slices.Contains(auth.Roles, auth.Role(role)) {
		errs.add("role", "admin.users.error.role")
		return p.adminUserFailed(c, pg, http.StatusUnprocessableEntity, errs, nil)
	}
	location, err := p.adminOnce(c, func() (string, error) {
		u, err := p.directoryAdmin().User(c.UserContext(), id)
		if err != nil {
			return "", err
		}
		if err := p.directoryAdmin().ChangeRole(c.UserContext(), *pg.User, p.adminRequest(c), id, auth.Role(role)); err != nil {
			return "", err
		}
		if u.Role == role { // the same role: nothing changed, no session ended
			return "/admin/users/" + id.String(), nil
		}
		return "/admin/users/" + id.String() + "?done=role", nil
	}, role)
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	status, resent := http.StatusConflict, false
	var fe *directory.FieldError
	switch {
	case adminGuardError(err, &errs, "role", "admin.users.error.self_role"):
	case errors.As(err, &fe) && fe.Field == "role":
		errs.add("role", "admin.users.error.role_agency")
		status = http.StatusUnprocessableEntity
	case p.adminResent(err, &errs):
		resent = true
	default:
		return p.errorPage(c, err)
	}
	return p.adminUserFailed(c, pg, status, errs, func(d *adminUserData) {
		d.Chosen = role
		if !resent {
			d.RoleKey = formKey(c)
		}
	})
}

func (p *Pages) adminUserPassword(c *fiber.Ctx, pg page) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.errorPage(c, store.ErrNotFound)
	}
	password, confirm := c.FormValue("password"), c.FormValue("confirm")
	var errs formErrors
	keepKey := func(d *adminUserData) { d.PasswordKey = formKey(c) }
	adminPasswordErrors(&errs, password, confirm, "password", "confirm")
	if len(errs) > 0 {
		return p.adminUserFailed(c, pg, http.StatusUnprocessableEntity, errs, keepKey)
	}
	location, err := p.adminOnce(c, func() (string, error) {
		if err := p.directoryAdmin().ResetPassword(c.UserContext(), *pg.User, p.adminRequest(c), id, password); err != nil {
			return "", err
		}
		return "/admin/users/" + id.String() + "?done=password", nil
	})
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	status := http.StatusConflict
	switch {
	case adminGuardError(err, &errs, "password", "admin.users.error.self_password"):
	case adminPolicyError(err, &errs, "password"):
		status = http.StatusUnprocessableEntity
	case p.adminResent(err, &errs):
		keepKey = nil
	default:
		return p.errorPage(c, err)
	}
	return p.adminUserFailed(c, pg, status, errs, keepKey)
}

// adminUserDeactivatePage asks to confirm a deactivation: it cannot be
// undone from the pages.
func (p *Pages) adminUserDeactivatePage(c *fiber.Ctx, pg page) error {
	d, err := p.adminUserOf(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	pg.Title, pg.Data = "admin.deactivate.title", d
	return p.render(c, http.StatusOK, "admin_user_deactivate", pg)
}

func (p *Pages) adminUserDeactivate(c *fiber.Ctx, pg page) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.errorPage(c, store.ErrNotFound)
	}
	location, err := p.adminOnce(c, func() (string, error) {
		if err := p.directoryAdmin().DeactivateUser(c.UserContext(), *pg.User, p.adminRequest(c), id); err != nil {
			return "", err
		}
		return "/admin/users/" + id.String() + "?done=deactivated", nil
	})
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	var errs formErrors
	if !adminGuardError(err, &errs, submitField, "admin.users.error.self_deactivate") && !p.adminResent(err, &errs) {
		return p.errorPage(c, err)
	}
	d, err := p.adminUserOf(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	d.Errors = errs
	pg.Title, pg.Data = "admin.deactivate.title", d
	return p.render(c, http.StatusConflict, "admin_user_deactivate", pg)
}
