package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/country"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// Corrections on the case page (issue 15, point 1): the "Correct" form
// (/cases/{id}/correct) shows the person and what the screening recorded
// about the case, filled in with the record as it stands, and a reason;
// what the officer changed becomes one correction (cases.CorrectionTo,
// cases.Service.Correct), checked by the screening's rules and sent once
// per form key (Gate.PageOnce). The case page lists the corrections with
// their values for the roles that may read identity (cases.Service.History,
// audited). The form reads the fields of the screening form under the
// same names (readScreening), and shows its errors the same way.

func (p *Pages) mountCorrections(r fiber.Router) {
	r.Get("/cases/:id/correct", p.signedIn(p.correctPage))
	r.Post("/cases/:id/correct", p.signedIn(p.correctSubmit))
}

// correctData is what templates/case_correct.html shows.
type correctData struct {
	CaseID, Number, Region string
	F                      screeningForm
	Reason                 string
	Errors                 formErrors
	Sexes, Contexts        []screeningChoice
	Exploitation, Urgent   []screeningChoice
	Countries              []screeningCountryField
	TimeZone               string
	// Gone: the case keeps no identity; nothing can be corrected.
	Gone bool
}

// correctable loads the case and its record for the form; the identity
// read is audited like the case page's.
func (p *Pages) correctable(c *fiber.Ctx, pg page) (*cases.View, *sop.SOP, error) {
	if !cases.CanCorrect(*pg.User) {
		return nil, nil, cases.ErrForbidden
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, nil, cases.ErrNotFound
	}
	v, err := p.Cases.Get(c.UserContext(), *pg.User, id, cases.RequestInfo{RequestID: p.gate.RequestID(c), Identity: true})
	if err != nil {
		return nil, nil, err
	}
	procedure, ok := p.Cases.SOPs.Get(v.Case.SOPVersion)
	if !ok {
		if procedure, err = p.Cases.SOPs.Active(time.Now()); err != nil {
			return nil, nil, err
		}
	}
	return v, procedure, nil
}

func (p *Pages) correctPage(c *fiber.Ctx, pg page) error {
	v, procedure, err := p.correctable(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	d := correctData{CaseID: v.Case.ID.String(), Number: v.Case.Number, Region: v.Case.Region, Gone: v.Person == nil}
	if v.Person != nil {
		d.F = correctionForm(cases.RecordOf(v.Case, v.Person), procedure)
		d.F.Key = newFormKey()
	}
	return p.renderCorrect(c, pg, http.StatusOK, d, procedure)
}

// correctionForm is the record as the form shows it: dates in boxes, the
// encounter's time in the SOP calendar's zone, the priority countries
// ticked and the others typed.
func correctionForm(r cases.OpenRequest, procedure *sop.SOP) screeningForm {
	f := screeningForm{GivenName: r.Person.GivenName, FamilyName: r.Person.FamilyName, Sex: r.Person.Sex,
		Citizenship: r.Person.Citizenship, Languages: strings.Join(r.Person.Languages, ", "), Phone: r.Person.Phone,
		DocumentNumber: r.Person.DocumentNumber, Region: r.Encounter.Region, Place: r.Encounter.Place, Context: r.Encounter.Context,
		Exploitation: r.Exploitation, UrgentNeeds: r.UrgentNeeds}
	if r.Person.BirthDate != nil {
		if b, err := time.Parse(time.DateOnly, *r.Person.BirthDate); err == nil {
			f.BirthDay, f.BirthMonth, f.BirthYear = strconv.Itoa(b.Day()), strconv.Itoa(int(b.Month())), strconv.Itoa(b.Year())
		}
	}
	if r.Person.AgeEstimate != nil {
		f.AgeEstimate = strconv.Itoa(*r.Person.AgeEstimate)
	}
	if at, err := time.Parse(time.RFC3339, r.Encounter.OccurredAt); err == nil {
		at = at.In(procedure.Calendar.Location)
		f.OccurredDay, f.OccurredMonth, f.OccurredYear = strconv.Itoa(at.Day()), strconv.Itoa(int(at.Month())), strconv.Itoa(at.Year())
		f.OccurredTime = at.Format("15:04")
	}
	split := func(codes []string) (ticked []string, other string) {
		var rest []string
		for _, c := range codes {
			if slices.Contains(procedure.PriorityCountries, c) {
				ticked = append(ticked, c)
			} else {
				rest = append(rest, c)
			}
		}
		return ticked, strings.Join(rest, ", ")
	}
	f.ExploitationCountries, f.ExploitationCountriesOther = split(r.ExploitationCountries)
	f.TransitCountries, f.TransitCountriesOther = split(r.TransitCountries)
	return f
}

func (p *Pages) renderCorrect(c *fiber.Ctx, pg page, status int, d correctData, procedure *sop.SOP) error {
	t := p.msgs.translator(pg.Lang)
	d.TimeZone = procedure.Calendar.Location.String()
	d.Sexes = screeningChoices("sex", cases.Sexes(), []string{d.F.Sex}, func(code string) string { return t.T("screening.sex." + code) })
	d.Contexts = screeningChoices("context", cases.EncounterContexts(), []string{d.F.Context}, func(code string) string { return t.T("screening.context." + code) })
	d.Exploitation = screeningChoices("exploitation", cases.ExploitationTypes(), d.F.Exploitation, func(code string) string { return t.T("screening.exploitation." + code) })
	var urgent []string
	for _, s := range procedure.Services {
		if s.Urgent {
			urgent = append(urgent, s.ID)
		}
	}
	d.Urgent = screeningChoices("urgent_needs", urgent, d.F.UrgentNeeds, func(code string) string {
		s, _ := procedure.Service(code)
		return s.Label.In(pg.Lang)
	})
	d.Countries = screeningCountryFields(procedure, d.F, t)
	pg.Title, pg.Data = "correct.title", d
	return p.render(c, status, "case_correct", pg)
}

func (p *Pages) correctSubmit(c *fiber.Ctx, pg page) error {
	v, procedure, err := p.correctable(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	id := v.Case.ID
	d := correctData{CaseID: id.String(), Number: v.Case.Number, Region: v.Case.Region, Gone: v.Person == nil}
	if d.Gone {
		return p.renderCorrect(c, pg, http.StatusConflict, d, procedure)
	}
	d.F, d.Reason = readScreening(c), clean(c.FormValue("reason"))
	if len(d.F.Key) != 32 {
		d.F.Key = newFormKey() // not a key this site made: this request alone
	}
	wanted, problems := d.F.request(procedure.Calendar.Location)
	wanted.Encounter.Region = v.Case.Region // not on the form: a case changes region by transfer
	d.Errors = screeningErrors(problems)
	switch n := len([]rune(d.Reason)); {
	case n == 0:
		d.Errors = append(formErrors{{Field: "reason", Msg: "correct.error.reason"}}, d.Errors...)
	case n > cases.MaxNoteLength:
		d.Errors = append(formErrors{{Field: "reason", Msg: "action.too_long", Args: map[string]any{"Count": cases.MaxNoteLength}}}, d.Errors...)
	}
	if len(d.Errors) > 0 {
		return p.renderCorrect(c, pg, http.StatusUnprocessableEntity, d, procedure)
	}
	current := cases.RecordOf(v.Case, v.Person)
	// The form shows the encounter's time to the minute: left as shown, it
	// keeps its seconds.
	if shown := correctionForm(current, procedure); d.F.OccurredDay == shown.OccurredDay && d.F.OccurredMonth == shown.OccurredMonth &&
		d.F.OccurredYear == shown.OccurredYear && d.F.OccurredTime == shown.OccurredTime {
		wanted.Encounter.OccurredAt = current.Encounter.OccurredAt
	}
	corr := cases.CorrectionTo(current, wanted, d.Reason)
	location, err := p.gate.PageOnce(c, d.F.Key, screeningFingerprint(c), func() (uuid.UUID, string, error) {
		res, err := p.Cases.Correct(c.UserContext(), *pg.User, id, corr, cases.RequestInfo{RequestID: p.gate.RequestID(c)})
		if err != nil {
			return uuid.Nil, "", err
		}
		done := "correction"
		if len(res.Fields) == 0 {
			done = "correction_none"
		}
		return id, "/cases/" + id.String() + "?done=" + done, nil
	})
	var verr *cases.ValidationError
	var rerr *cases.RuleError
	switch {
	case err == nil:
		return c.Redirect(location, fiber.StatusSeeOther)
	case errors.As(err, &verr):
		d.Errors = screeningErrors(verr.Errors)
		return p.renderCorrect(c, pg, http.StatusUnprocessableEntity, d, procedure)
	case errors.As(err, &rerr) && rerr.Rule == cases.ErrTrackChange.Rule:
		d.Errors = formErrors{{Field: "birth_date", Msg: "correct.error.track_change"}}
		return p.renderCorrect(c, pg, http.StatusConflict, d, procedure)
	case errors.As(err, &rerr) && rerr.Rule == cases.ErrCorrectionGone.Rule:
		d.Gone = true
		return p.renderCorrect(c, pg, http.StatusConflict, d, procedure)
	}
	if status, typ, _ := p.Problem(err); status == http.StatusConflict && strings.HasSuffix(typ, ":idempotency-key") {
		// The key was spent on other answers: nothing ran now; the form
		// shown again gets a new key.
		d.Errors, d.F.Key = formErrors{{Field: "reason", Msg: "authority.error.resent"}}, newFormKey()
		return p.renderCorrect(c, pg, http.StatusConflict, d, procedure)
	}
	return p.errorPage(c, err)
}

// historySection is the case page's list of corrections.
type historySection struct {
	Rows []historyRow
}

type historyRow struct {
	At                   time.Time
	Author, Agency, Role string
	Reason               string
	// Gone: the values went with the identity; Fields then names what changed.
	Gone    bool
	Fields  []string // message IDs
	Changes []historyChange
}

type historyChange struct {
	Field    string // message ID
	From, To string
}

// caseHistory is the case page's history of corrections, for the roles
// that may read it; the values are read (and that read audited) by the
// service.
func (p *Pages) caseHistory(c *fiber.Ctx, user auth.Principal, caseID uuid.UUID, ri cases.RequestInfo, zone *time.Location) (*historySection, error) {
	entries, err := p.Cases.History(c.UserContext(), user, caseID, ri)
	if err != nil {
		return nil, err
	}
	out := &historySection{}
	for _, e := range entries {
		row := historyRow{At: e.At.In(zone), Author: e.ActorName, Agency: e.AgencyName, Role: roleNames[auth.Role(e.Role)],
			Gone: e.Gone || e.Reason == nil}
		if e.Reason != nil {
			row.Reason = *e.Reason
		}
		for _, f := range e.Fields {
			row.Fields = append(row.Fields, correctionFieldName(f))
		}
		for _, ch := range e.Changes {
			row.Changes = append(row.Changes, historyChange{Field: correctionFieldName(ch.Field), From: historyValue(ch.From), To: historyValue(ch.To)})
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

// historyValue writes a value of the history as text: a list joined by
// commas, "" for nothing (the template shows a dash).
func historyValue(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, item := range x {
			if s, ok := item.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return string(raw)
}

// caseCountries are the case's countries as the case page names them.
type caseCountries struct {
	Exploitation, Transit []string
}

func countriesOf(k *store.Case, lang string) caseCountries {
	name := func(codes []string) []string {
		out := make([]string, 0, len(codes))
		for _, c := range codes {
			out = append(out, country.Name(c, lang))
		}
		return out
	}
	return caseCountries{Exploitation: name(k.ExploitationCountries), Transit: name(k.TransitCountries)}
}

// correctionFieldNames are the messages naming the fields a correction
// changes (cases.CorrectionPaths).
var correctionFieldNames = map[string]string{
	"person.given_name": "correction.field.given_name", "person.family_name": "correction.field.family_name",
	"person.birth_date": "correction.field.birth_date", "person.age_estimate": "correction.field.age_estimate",
	"person.sex": "correction.field.sex", "person.citizenship": "correction.field.citizenship",
	"person.languages": "correction.field.languages", "person.phone": "correction.field.phone",
	"person.document_number": "correction.field.document_number", "encounter.occurred_at": "correction.field.occurred_at",
	"encounter.place": "correction.field.place", "encounter.context": "correction.field.context",
	"exploitation": "correction.field.exploitation", "urgent_needs": "correction.field.urgent_needs",
	"exploitation_countries": "correction.field.exploitation_countries", "transit_countries": "correction.field.transit_countries",
}

func correctionFieldName(path string) string {
	if m, ok := correctionFieldNames[path]; ok {
		return m
	}
	return "correction.field.other"
}
