package web

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
)

// The agencies of the directory (/admin/agencies): the list, and the form
// that adds one or changes one — its kind, region, the regions it serves
// besides, whether it works nationally, the services it offers (the SOP's,
// labelled from the SOP file), the languages it works in, and its beds.
// A change that would leave users of the agency in a role that does not
// belong there is refused next to the field (directory.EditAgency). The
// name is set when the agency is added.

func (p *Pages) mountAdminAgencies(r fiber.Router) {
	r.Get("/admin/agencies", p.adminOnly(p.adminAgencies))
	r.Get("/admin/agencies/new", p.adminOnly(p.adminAgencyNew))
	r.Post("/admin/agencies/new", p.adminOnly(p.adminAgencyCreate))
	r.Get("/admin/agencies/:id", p.adminOnly(p.adminAgency))
	r.Post("/admin/agencies/:id", p.adminOnly(p.adminAgencySave))
}

// adminAgencyTypes are the kinds of agencies (the API's list), with their
// messages.
var adminAgencyTypes = []struct{ Value, Msg string }{
	{"law_enforcement", "admin.agency_type.law_enforcement"},
	{"ngo", "admin.agency_type.ngo"},
	{"social_service", "admin.agency_type.social_service"},
	{"child_protection", "admin.agency_type.child_protection"},
	{"health", "admin.agency_type.health"},
	{"legal_service", "admin.agency_type.legal_service"},
	{"international_organisation", "admin.agency_type.international_organisation"},
	{"competent_authority", "admin.agency_type.competent_authority"},
	{"twg", "admin.agency_type.twg"},
	{"administration", "admin.agency_type.administration"},
	{"other", "admin.agency_type.other"},
}

// adminAgencyTypeMsg is the message naming a kind of agency, the code for an
// unknown one.
func adminAgencyTypeMsg(code string) string {
	for _, t := range adminAgencyTypes {
		if t.Value == code {
			return t.Msg
		}
	}
	return code
}

// adminLanguageCode is a language an agency works in, as the API takes it.
var adminLanguageCode = regexp.MustCompile(`^[a-z]{2,3}$`)

// Limits of an agency's lists and beds, as the API's.
const (
	adminMaxLanguages = 20
	adminMaxBeds      = 100000
)

// adminServiceChoices are the services an agency may offer: the SOP's in effect,
// labelled in the page's language, and any other the agency already
// offers (labelled from the SOP version that has it, else its code).
func (p *Pages) adminServiceChoices(lang string, have []string) []option {
	var out []option
	seen := map[string]bool{}
	if p.Cases != nil && p.Cases.SOPs != nil {
		if s, err := p.Cases.SOPs.Active(time.Now()); err == nil {
			for _, sv := range s.Services {
				out = append(out, option{Value: sv.ID, Label: sv.Label.In(lang)})
				seen[sv.ID] = true
			}
		}
	}
	for _, h := range have {
		if seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, option{Value: h, Label: p.adminServiceLabel(lang, h)})
	}
	return out
}

// adminServiceLabel labels a service from the newest loaded SOP version that
// has it; the code when none does.
func (p *Pages) adminServiceLabel(lang, id string) string {
	if p.Cases == nil || p.Cases.SOPs == nil {
		return id
	}
	all := p.Cases.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		for _, sv := range all[i].Services {
			if sv.ID == id {
				return sv.Label.In(lang)
			}
		}
	}
	return id
}

// adminAgencyRow is an agency in the list.
type adminAgencyRow struct {
	ID, Name, Type, Region string
	Regions, Services      string
	Languages              string
	National               bool
	Beds, Occupancy, Users int
	// Free are the beds not taken (none when over capacity).
	Free       int
	OffersBeds bool
}

func (p *Pages) adminAgencies(c *fiber.Ctx, pg page) error {
	ctx := c.UserContext()
	agencies, err := p.directoryAdmin().Agencies(ctx)
	if err != nil {
		return p.errorPage(c, err)
	}
	users, err := p.directoryAdmin().Users(ctx)
	if err != nil {
		return p.errorPage(c, err)
	}
	count := map[uuid.UUID]int{}
	for _, u := range users {
		if u.Active {
			count[u.AgencyID]++
		}
	}
	var rows []adminAgencyRow
	for _, a := range agencies {
		labels := make([]string, 0, len(a.Services))
		for _, s := range a.Services {
			labels = append(labels, p.adminServiceLabel(pg.Lang, s))
		}
		rows = append(rows, adminAgencyRow{ID: a.ID.String(), Name: a.Name, Type: adminAgencyTypeMsg(a.Type), Region: a.Region,
			Regions: strings.Join(a.Regions, ", "), Services: strings.Join(labels, ", "), Languages: strings.Join(a.Languages, ", "),
			National: a.National, Beds: a.Beds, Occupancy: a.Occupancy, Free: max(a.Beds-a.Occupancy, 0), Users: count[a.ID], OffersBeds: a.Beds > 0 || a.Occupancy > 0})
	}
	pg.Title, pg.Data = "admin.agencies.title", rows
	return p.render(c, http.StatusOK, "admin_agencies", pg)
}

// adminAgencyForm is the form of an agency, as typed.
type adminAgencyForm struct {
	// ID is the agency's; "" for a new one.
	ID, Name, Type, Region string
	National               bool
	Regions, Services      []string
	Languages, Beds        string
	Occupancy              int
	Types                  []struct{ Value, Msg string }
	RegionChoices          []string
	ServiceChoices         []option
	Key                    string
	Errors                 formErrors
	Done                   string
}

func (p *Pages) renderAdminAgency(c *fiber.Ctx, pg page, status int, f adminAgencyForm) error {
	f.Types, f.RegionChoices = adminAgencyTypes, p.Cases.Regions
	f.ServiceChoices = p.adminServiceChoices(pg.Lang, f.Services)
	pg.Title = "admin.agency.new.title"
	if f.ID != "" {
		pg.Title = "admin.agency.title"
	}
	pg.Data = f
	return p.render(c, status, "admin_agency", pg)
}

func (p *Pages) adminAgencyNew(c *fiber.Ctx, pg page) error {
	return p.renderAdminAgency(c, pg, http.StatusOK, adminAgencyForm{Beds: "0", Key: newFormKey()})
}

// adminAgencyOf loads the agency of the path; an unknown or malformed ID is
// store.ErrNotFound (the 404 page).
func (p *Pages) adminAgencyOf(c *fiber.Ctx) (*store.Agency, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, store.ErrNotFound
	}
	return p.directoryAdmin().Agency(c.UserContext(), id)
}

func (p *Pages) adminAgency(c *fiber.Ctx, pg page) error {
	a, err := p.adminAgencyOf(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	f := adminAgencyForm{ID: a.ID.String(), Name: a.Name, Type: a.Type, Region: a.Region, National: a.National, Regions: a.Regions,
		Services: a.Services, Languages: strings.Join(a.Languages, ", "), Beds: strconv.Itoa(a.Beds), Occupancy: a.Occupancy,
		Key: newFormKey()}
	if d := c.Query("done"); d == "created" || d == "saved" {
		f.Done = d
	}
	return p.renderAdminAgency(c, pg, http.StatusOK, f)
}

// adminReadAgency reads and checks the agency form; the services' own checks
// come after.
func (p *Pages) adminReadAgency(c *fiber.Ctx, f *adminAgencyForm) directory.AgencyEdit {
	f.Type, f.Region, f.National = c.FormValue("type"), c.FormValue("region"), c.FormValue("national") == "yes"
	f.Regions, f.Services = formMulti(c, "regions"), formMulti(c, "services")
	f.Languages, f.Beds, f.Key = clean(c.FormValue("languages")), clean(c.FormValue("beds")), formKey(c)
	if !slices.ContainsFunc(adminAgencyTypes, func(t struct{ Value, Msg string }) bool { return t.Value == f.Type }) {
		f.Errors.add("type", "admin.agencies.error.type")
	}
	if !slices.Contains(p.Cases.Regions, f.Region) {
		f.Errors.add("region", "admin.agencies.error.region")
	}
	for _, r := range f.Regions {
		if !slices.Contains(p.Cases.Regions, r) {
			f.Errors.add("regions", "admin.agencies.error.regions")
			break
		}
	}
	choices := p.adminServiceChoices("en", nil)
	for _, s := range f.Services {
		if !slices.ContainsFunc(choices, func(o option) bool { return o.Value == s }) {
			f.Errors.add("services", "admin.agencies.error.services")
			break
		}
	}
	var langs []string
	for _, l := range strings.FieldsFunc(f.Languages, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		l = strings.ToLower(l)
		if !adminLanguageCode.MatchString(l) {
			f.Errors.add("languages", "admin.agencies.error.languages")
			break
		}
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	if len(langs) > adminMaxLanguages && f.Errors.For("languages") == nil {
		f.Errors.add("languages", "admin.agencies.error.languages")
	}
	beds := 0
	if f.Beds != "" {
		n, err := strconv.Atoi(f.Beds)
		if err != nil || n < 0 || n > adminMaxBeds {
			f.Errors.add("beds", "admin.agencies.error.beds")
		}
		beds = n
	}
	return directory.AgencyEdit{Type: f.Type, Region: f.Region, Regions: f.Regions, National: f.National, Services: f.Services,
		Languages: langs, Beds: beds}
}

// adminAgencyFields are what the agency form says, for its fingerprint.
func adminAgencyFields(f *adminAgencyForm) []string {
	out := []string{f.Name, f.Type, f.Region, strconv.FormatBool(f.National), f.Languages, f.Beds}
	out = append(out, "regions")
	out = append(out, f.Regions...)
	out = append(out, "services")
	return append(out, f.Services...)
}

// adminAgencyError puts what the directory refused of an agency next to its
// field; ok is false for other errors.
func adminAgencyError(err error, errs *formErrors) bool {
	var fe *directory.FieldError
	switch {
	case errors.Is(err, directory.ErrAgencyNameTaken):
		errs.add("name", "admin.agencies.error.name_taken")
	case errors.Is(err, directory.ErrUsersWouldNotBelong) && errors.As(err, &fe):
		msg := "admin.agencies.error.users_services"
		if fe.Field == "type" {
			msg = "admin.agencies.error.users_type"
		}
		errs.add(fe.Field, msg)
	default:
		return false
	}
	return true
}

func (p *Pages) adminAgencyCreate(c *fiber.Ctx, pg page) error {
	f := adminAgencyForm{Name: clean(c.FormValue("name"))}
	switch {
	case f.Name == "":
		f.Errors.add("name", "admin.agencies.error.name")
	case utf8.RuneCountInString(f.Name) > adminMaxName:
		f.Errors.add("name", "admin.error.too_long")
	}
	e := p.adminReadAgency(c, &f)
	if len(f.Errors) > 0 {
		return p.renderAdminAgency(c, pg, http.StatusUnprocessableEntity, f)
	}
	location, err := p.adminOnce(c, func() (string, error) {
		a, err := p.directoryAdmin().CreateAgency(c.UserContext(), *pg.User, p.adminRequest(c), directory.NewAgency{Name: f.Name,
			Type: e.Type, Region: e.Region, Regions: e.Regions, National: e.National, Services: e.Services, Languages: e.Languages,
			Beds: e.Beds})
		if err != nil {
			return "", err
		}
		return "/admin/agencies/" + a.ID.String() + "?done=created", nil
	}, adminAgencyFields(&f)...)
	return p.finishAgencyForm(c, pg, f, location, err)
}

func (p *Pages) adminAgencySave(c *fiber.Ctx, pg page) error {
	a, err := p.adminAgencyOf(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	f := adminAgencyForm{ID: a.ID.String(), Name: a.Name, Occupancy: a.Occupancy}
	e := p.adminReadAgency(c, &f)
	if len(f.Errors) > 0 {
		return p.renderAdminAgency(c, pg, http.StatusUnprocessableEntity, f)
	}
	location, err := p.adminOnce(c, func() (string, error) {
		if _, err := p.directoryAdmin().EditAgency(c.UserContext(), *pg.User, p.adminRequest(c), a.ID, e); err != nil {
			return "", err
		}
		return "/admin/agencies/" + a.ID.String() + "?done=saved", nil
	}, adminAgencyFields(&f)...)
	return p.finishAgencyForm(c, pg, f, location, err)
}

// finishAgencyForm ends an agency form's POST: on to the agency's page when
// it was saved, else the form again with the field or refusal shown (and a
// new key when the form's was spent on other answers).
func (p *Pages) finishAgencyForm(c *fiber.Ctx, pg page, f adminAgencyForm, location string, err error) error {
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	if !adminAgencyError(err, &f.Errors) {
		if !p.adminResent(err, &f.Errors) {
			return p.errorPage(c, err)
		}
		f.Key = newFormKey()
	}
	return p.renderAdminAgency(c, pg, http.StatusUnprocessableEntity, f)
}
