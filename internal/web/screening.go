package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
)

// The screening form (/cases/new): a frontline officer records a presumed
// victim and opens a case. The form builds a cases.OpenRequest and the
// service applies the very rules the API applies (cases.Validate, Open);
// the SOP's screening rule is shown live through an htmx preview that
// calls the service's own scoring (cases.Preview, sop.Score), and after
// submitting. Each rendered form carries a random key: the Gate's PageOnce
// opens one case per key, however often the form is sent. The browser
// keeps a draft of what was typed (static/screening.js), never the CSRF
// token or the key. Without a connection the form still opens, and what is
// sent waits on the device, encrypted, until it can be sent (offline.go).

// pageCommand is a command a page runs once per form key (Gate.PageOnce):
// it answers the case it acted on and the page to show next.
type pageCommand = func() (caseID uuid.UUID, location string, err error)

// screeningKeyField is the name of the form's key (the idempotency key), as
// in every command form (form.go).
const screeningKeyField = "key"

// mountScreening adds the screening form, its preview and the page after it.
func (p *Pages) mountScreening(r fiber.Router) {
	r.Get("/cases/new", p.signedIn(p.screeningPage))
	r.Post("/cases/new", p.signedIn(p.screeningSubmit))
	r.Post("/cases/new/preview", p.signedIn(p.screeningPreview))
	r.Get("/cases/:id/opened", p.signedIn(p.screeningOpenedPage))
}

// screeningForm is what the officer typed, kept as typed.
type screeningForm struct {
	GivenName, FamilyName                                  string
	BirthDay, BirthMonth, BirthYear                        string
	AgeEstimate, Sex, Citizenship, Languages               string
	Phone, DocumentNumber                                  string
	OccurredDay, OccurredMonth, OccurredYear, OccurredTime string
	Region, Place, Context                                 string
	Exploitation, UrgentNeeds, Indicators                  []string
	ConsentReferral, ConsentDataSharing                    string // "yes", "no" or "" (not answered)
	OfficerConcern, Narrative                              string
	Key                                                    string

	// The countries: the SOP's priority countries ticked, and the codes of
	// any other typed beside them (screeningcountries.go).
	ExploitationCountries, TransitCountries           []string
	ExploitationCountriesOther, TransitCountriesOther string
}

// readScreening reads the posted form.
func readScreening(c *fiber.Ctx) screeningForm {
	multi := func(name string) []string {
		var out []string
		for _, v := range c.Request().PostArgs().PeekMulti(name) {
			if s := strings.TrimSpace(string(v)); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return screeningForm{
		GivenName: clean(c.FormValue("given_name")), FamilyName: clean(c.FormValue("family_name")),
		BirthDay: clean(c.FormValue("birth_day")), BirthMonth: clean(c.FormValue("birth_month")), BirthYear: clean(c.FormValue("birth_year")),
		AgeEstimate: clean(c.FormValue("age_estimate")), Sex: clean(c.FormValue("sex")), Citizenship: clean(c.FormValue("citizenship")),
		Languages: clean(c.FormValue("languages")), Phone: clean(c.FormValue("phone")), DocumentNumber: clean(c.FormValue("document_number")),
		OccurredDay: clean(c.FormValue("occurred_day")), OccurredMonth: clean(c.FormValue("occurred_month")),
		OccurredYear: clean(c.FormValue("occurred_year")), OccurredTime: clean(c.FormValue("occurred_time")),
		Region: clean(c.FormValue("region")), Place: clean(c.FormValue("place")), Context: clean(c.FormValue("context")),
		Exploitation: multi("exploitation"), UrgentNeeds: multi("urgent_needs"), Indicators: multi("indicators"),
		ConsentReferral: screeningYesNo(c.FormValue("consent_referral")), ConsentDataSharing: screeningYesNo(c.FormValue("consent_data_sharing")),
		OfficerConcern: clean(c.FormValue("officer_concern")), Narrative: clean(c.FormValue("narrative")),
		Key:                   c.FormValue(screeningKeyField),
		ExploitationCountries: multi("exploitation_countries"), ExploitationCountriesOther: clean(c.FormValue("exploitation_countries_other")),
		TransitCountries: multi("transit_countries"), TransitCountriesOther: clean(c.FormValue("transit_countries_other")),
	}
}

// screeningFingerprint identifies what was sent, whatever the order of the
// fields; the CSRF token and the key are not part of it.
func screeningFingerprint(c *fiber.Ctx) []byte {
	var pairs []string
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if name := string(k); name != "csrf" && name != screeningKeyField {
			pairs = append(pairs, name+"="+string(v))
		}
	})
	sort.Strings(pairs)
	sum := sha256.Sum256([]byte(strings.Join(pairs, "\x00")))
	return sum[:]
}

// request builds the OpenRequest the form stands for. Dates typed in three
// boxes are joined as typed, so that the request's own date rule judges
// them; the encounter's time is in the SOP calendar's zone. problems are
// what cannot be put in the request at all (an age that is no number: the
// API's type rule).
func (f screeningForm) request(loc *time.Location) (req cases.OpenRequest, problems []cases.FieldError) {
	req = cases.OpenRequest{
		Person: cases.PersonInput{GivenName: f.GivenName, FamilyName: f.FamilyName, Sex: f.Sex,
			Citizenship: strings.ToUpper(f.Citizenship), Phone: f.Phone, DocumentNumber: f.DocumentNumber},
		Encounter:    cases.EncounterInput{Region: f.Region, Place: f.Place, Context: f.Context},
		Indicators:   f.Indicators,
		Exploitation: f.Exploitation,
		UrgentNeeds:  f.UrgentNeeds,
		Narrative:    f.Narrative,
	}
	if f.BirthDay != "" || f.BirthMonth != "" || f.BirthYear != "" {
		d := f.BirthYear + "-" + screeningPad2(f.BirthMonth) + "-" + screeningPad2(f.BirthDay)
		req.Person.BirthDate = &d
	}
	if f.AgeEstimate != "" {
		if n, err := strconv.Atoi(f.AgeEstimate); err == nil {
			req.Person.AgeEstimate = &n
		} else {
			problems = append(problems, cases.FieldError{Field: "person.age_estimate", Rule: "type", Message: "must be a number"})
		}
	}
	for _, l := range strings.FieldsFunc(f.Languages, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		req.Person.Languages = append(req.Person.Languages, strings.ToLower(l))
	}
	if f.OccurredDay != "" || f.OccurredMonth != "" || f.OccurredYear != "" || f.OccurredTime != "" {
		local := f.OccurredYear + "-" + screeningPad2(f.OccurredMonth) + "-" + screeningPad2(f.OccurredDay) + "T" + screeningClock(f.OccurredTime)
		req.Encounter.OccurredAt = local // no zone: the datetime rule refuses it
		if t, err := time.ParseInLocation("2006-01-02T15:04", local, loc); err == nil {
			req.Encounter.OccurredAt = t.Format(time.RFC3339)
		}
	}
	if f.OfficerConcern != "" {
		req.OfficerConcern = &f.OfficerConcern
	}
	req.ExploitationCountries = screeningCountries(f.ExploitationCountries, f.ExploitationCountriesOther)
	req.TransitCountries = screeningCountries(f.TransitCountries, f.TransitCountriesOther)
	return req, problems
}

// screeningYesNo keeps an answer to a yes-or-no question: "yes", "no" or "".
func screeningYesNo(s string) string {
	if s == "yes" || s == "no" {
		return s
	}
	return ""
}

// screeningPad2 writes a one-digit day or month with two.
func screeningPad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// screeningClock reads a time of day as typed: 9:05, 09.05 or 0905 → 09:05.
func screeningClock(s string) string {
	s = strings.ReplaceAll(s, ".", ":")
	if len(s) == 4 && !strings.Contains(s, ":") {
		s = s[:2] + ":" + s[2:]
	}
	if h, m, ok := strings.Cut(s, ":"); ok {
		return screeningPad2(h) + ":" + m
	}
	return s
}

// screeningChoice is one radio button or checkbox of the form.
type screeningChoice struct {
	ID, Code, Label string
	Checked         bool
}

// screeningDimension are the indicators of one screening dimension.
type screeningDimension struct {
	ID, Label  string
	Indicators []screeningIndicator
}

type screeningIndicator struct {
	screeningChoice
	Strength string // its label
}

// screeningData is what the form's template receives.
type screeningData struct {
	F      screeningForm
	Errors formErrors
	// Restore: a new form, into which screening.js may restore the
	// browser's draft (a form sent back with errors shows what was sent).
	Restore      bool
	DraftKey     string
	Regions      []string
	Sexes        []screeningChoice
	Contexts     []screeningChoice
	Exploitation []screeningChoice
	Urgent       []screeningChoice
	Dimensions   []screeningDimension
	Countries    []screeningCountryField // the questions on countries (screeningcountries.go)
	Result       screeningResult
	TimeZone     string
	// Offline: what the page needs to keep a screening taken without a
	// connection (offline.go).
	Offline screeningOffline
}

// screeningDraftKey names the browser's draft of the user's screening form.
func screeningDraftKey(u *auth.Principal) string { return "nrm.screening.draft." + u.UserID.String() }

func (p *Pages) screeningPage(c *fiber.Ctx, pg page) error {
	if !pg.User.Is(auth.Frontline) {
		return p.errorPage(c, cases.ErrForbidden)
	}
	active, err := p.Cases.SOPs.Active(time.Now())
	if err != nil {
		return p.errorPage(c, err)
	}
	now := time.Now().In(active.Calendar.Location)
	f := screeningForm{Key: newFormKey(), OccurredDay: strconv.Itoa(now.Day()), OccurredMonth: strconv.Itoa(int(now.Month())),
		OccurredYear: strconv.Itoa(now.Year()), OccurredTime: now.Format("15:04")}
	return p.renderScreening(c, pg, http.StatusOK, f, nil, true)
}

// renderScreening shows the form with what was typed and its errors.
func (p *Pages) renderScreening(c *fiber.Ctx, pg page, status int, f screeningForm, errs formErrors, restore bool) error {
	active, err := p.Cases.SOPs.Active(time.Now())
	if err != nil {
		return p.errorPage(c, err)
	}
	req, _ := f.request(active.Calendar.Location)
	prev, err := p.Cases.Preview(*pg.User, req)
	if err != nil {
		return p.errorPage(c, err)
	}
	active = prev.SOP
	t := p.msgs.translator(pg.Lang)
	d := screeningData{F: f, Errors: errs, Restore: restore, DraftKey: screeningDraftKey(pg.User), Regions: p.Cases.Regions,
		Result: p.screeningResultOf(t, active, prev.Result, prev.Child, prev.AgeKnown), TimeZone: active.Calendar.Location.String(),
		Offline: p.screeningOfflineOf(pg.User)}
	d.Result.Advice = true
	d.Sexes = screeningChoices("sex", cases.Sexes(), []string{f.Sex}, func(code string) string { return t.T("screening.sex." + code) })
	d.Contexts = screeningChoices("context", cases.EncounterContexts(), []string{f.Context}, func(code string) string { return t.T("screening.context." + code) })
	d.Exploitation = screeningChoices("exploitation", cases.ExploitationTypes(), f.Exploitation, func(code string) string { return t.T("screening.exploitation." + code) })
	var urgent []string
	for _, s := range active.Services {
		if s.Urgent {
			urgent = append(urgent, s.ID)
		}
	}
	d.Urgent = screeningChoices("urgent_needs", urgent, f.UrgentNeeds, func(code string) string {
		s, _ := active.Service(code)
		return s.Label.In(pg.Lang)
	})
	d.Countries = screeningCountryFields(active, f, t)
	first := true
	for _, dim := range active.Dimensions {
		group := screeningDimension{ID: "dimension-" + dim.ID, Label: dim.Label.In(pg.Lang)}
		for _, ind := range active.Indicators {
			if ind.Dimension != dim.ID {
				continue
			}
			ch := screeningIndicator{screeningChoice: screeningChoice{ID: "indicator-" + ind.ID, Code: ind.ID, Label: ind.Label.In(pg.Lang),
				Checked: slices.Contains(f.Indicators, ind.ID)}, Strength: t.T("screening.strength." + ind.Strength)}
			if first { // the error summary links to the first indicator
				ch.ID, first = "indicators", false
			}
			group.Indicators = append(group.Indicators, ch)
		}
		d.Dimensions = append(d.Dimensions, group)
	}
	pg.Title, pg.Data = "screening.title", d
	return p.render(c, status, "screening", pg)
}

// screeningChoices lists a group's options; the first carries the group's ID, which
// the error summary links to.
func screeningChoices(group string, codes, checked []string, label func(string) string) []screeningChoice {
	out := make([]screeningChoice, 0, len(codes))
	for i, code := range codes {
		id := group + "-" + code
		if i == 0 {
			id = group
		}
		out = append(out, screeningChoice{ID: id, Code: code, Label: label(code), Checked: slices.Contains(checked, code)})
	}
	return out
}

// screeningSubmit opens the case: every rule checked first (all problems
// shown at once), then opened once per form key.
func (p *Pages) screeningSubmit(c *fiber.Ctx, pg page) error {
	if !pg.User.Is(auth.Frontline) {
		return p.errorPage(c, cases.ErrForbidden)
	}
	active, err := p.Cases.SOPs.Active(time.Now())
	if err != nil {
		return p.errorPage(c, err)
	}
	f := readScreening(c)
	if _, err := hex.DecodeString(f.Key); err != nil || len(f.Key) != 32 {
		f.Key = newFormKey() // not a key this site made: this request alone
	}
	req, problems := f.request(active.Calendar.Location)
	prev, err := p.Cases.Preview(*pg.User, req)
	if err != nil {
		return p.errorPage(c, err)
	}
	// An adult's answers on consent, as read out; a child is asked none.
	// Unanswered, the consent is missing, which the service refuses for an
	// adult: a "no" is always an answer, never a box left empty.
	if !prev.Child && f.ConsentReferral != "" && f.ConsentDataSharing != "" {
		req.Consent = &cases.ConsentInput{Referral: f.ConsentReferral == "yes", DataSharing: f.ConsentDataSharing == "yes"}
	}
	if err := p.Cases.Validate(req); err != nil || len(problems) > 0 {
		var verr *cases.ValidationError
		if err != nil && !errors.As(err, &verr) {
			return p.errorPage(c, err)
		}
		if verr != nil {
			problems = append(problems, verr.Errors...)
		}
		return p.renderScreening(c, pg, http.StatusUnprocessableEntity, f, screeningErrors(problems), false)
	}
	location, err := p.gate.PageOnce(c, f.Key, screeningFingerprint(c), func() (uuid.UUID, string, error) {
		opened, err := p.Cases.Open(c.UserContext(), *pg.User, req)
		if err != nil {
			return uuid.Nil, "", err
		}
		return opened.Case.ID, "/cases/" + opened.Case.ID.String() + "/opened", nil
	})
	var verr *cases.ValidationError
	switch {
	case err == nil:
		return c.Redirect(location, fiber.StatusSeeOther)
	case errors.As(err, &verr):
		return p.renderScreening(c, pg, http.StatusUnprocessableEntity, f, screeningErrors(verr.Errors), false)
	}
	if status, typ, _ := p.Problem(err); status == http.StatusConflict && strings.HasSuffix(typ, ":idempotency-key") {
		// The key was used for other answers (a form sent, changed and
		// sent again): nothing was opened now.
		pg.Title, pg.Data = "screening.resent.title", location
		return p.render(c, http.StatusConflict, "screening_resent", pg)
	}
	return p.errorPage(c, err)
}

// screeningPreview answers the screening rule's result for the form as it
// stands: an HTML fragment that htmx puts in the form's live region.
func (p *Pages) screeningPreview(c *fiber.Ctx, pg page) error {
	if !pg.User.Is(auth.Frontline) {
		return p.errorPage(c, cases.ErrForbidden)
	}
	active, err := p.Cases.SOPs.Active(time.Now())
	if err != nil {
		return p.errorPage(c, err)
	}
	req, _ := readScreening(c).request(active.Calendar.Location)
	prev, err := p.Cases.Preview(*pg.User, req)
	if err != nil {
		return p.errorPage(c, err)
	}
	result := p.screeningResultOf(p.msgs.translator(pg.Lang), prev.SOP, prev.Result, prev.Child, prev.AgeKnown)
	result.Advice = true
	pg.Data = result
	return p.renderScreeningFragment(c, "screening_result", pg)
}

// renderScreeningFragment writes a template without the layout (an htmx answer).
func (p *Pages) renderScreeningFragment(c *fiber.Ctx, name string, pg page) error {
	pg.Languages, pg.Path, pg.RequestID = Languages, c.Path(), p.gate.RequestID(c)
	var b bytes.Buffer
	if err := p.views.Render(&b, name, withT(pg, p.msgs.translator(pg.Lang))); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentLanguage, pg.Lang)
	c.Set(fiber.HeaderVary, "Cookie, Accept-Language")
	return c.Status(http.StatusOK).Send(b.Bytes())
}

// screeningResult is the screening rule's result and its explanation, in the
// page's language.
type screeningResult struct {
	Version  string
	Presumed bool
	Child    bool
	AgeKnown bool
	// Advice: on the form, what to do about a screening that does not qualify.
	Advice     bool
	Rules      string // the ways a dimension is positive, e.g. "2 strong, or 1 strong + 1 medium"
	Groups     []screeningGroup
	Dimensions []screeningDimensionResult
}

// screeningGroup is one group of the track's rule: one of its dimensions must
// be positive.
type screeningGroup struct {
	Labels string
	Met    bool
}

type screeningDimensionResult struct {
	Label    string
	Positive bool
	Observed string // the observed indicators by strength, e.g. "1 strong, 2 medium"; "" for none
	Rule     string // the rule that held
}

func (p *Pages) screeningResultOf(t *translator, s *sop.SOP, r sop.ScreeningResult, child, ageKnown bool) screeningResult {
	v := screeningResult{Version: s.Version, Presumed: r.Outcome == sop.OutcomePresumedVictim, Child: child, AgeKnown: ageKnown}
	rule := func(counts map[string]int) string {
		var parts []string
		for _, st := range sop.Strengths {
			if n, ok := counts[st]; ok && n > 0 {
				parts = append(parts, t.T("screening.count."+st, map[string]any{"Count": n}))
			}
		}
		return strings.Join(parts, " + ")
	}
	var rules []string
	for _, r := range s.Screening.DimensionPositive {
		rules = append(rules, rule(r))
	}
	v.Rules = strings.Join(rules, t.T("screening.result.or"))
	groups := s.Screening.PresumedVictim.Adult
	if child {
		groups = s.Screening.PresumedVictim.Child
	}
	for _, g := range groups {
		var labels []string
		met := false
		for _, id := range g {
			d, _ := s.Dimension(id)
			labels = append(labels, d.Label.In(t.lang))
			met = met || r.Dimensions[id].Positive
		}
		v.Groups = append(v.Groups, screeningGroup{Labels: strings.Join(labels, t.T("screening.result.or")), Met: met})
	}
	for _, d := range s.Dimensions {
		dr := r.Dimensions[d.ID]
		dv := screeningDimensionResult{Label: d.Label.In(t.lang), Positive: dr.Positive,
			Observed: strings.ReplaceAll(rule(map[string]int{sop.StrengthStrong: dr.Strong, sop.StrengthMedium: dr.Medium, sop.StrengthWeak: dr.Weak}), " + ", ", ")}
		for _, pr := range s.Screening.DimensionPositive {
			if dr.Positive && pr.String() == dr.Rule {
				dv.Rule = rule(pr)
			}
		}
		v.Dimensions = append(v.Dimensions, dv)
	}
	return v
}

// screeningFields maps the request's fields (JSON paths) to the form's, in
// the order of the form: the error summary follows it.
var screeningFields = []struct{ path, id string }{
	{"person.given_name", "given_name"}, {"person.family_name", "family_name"}, {"person.birth_date", "birth_date"},
	{"person.age_estimate", "age_estimate"}, {"person.sex", "sex"}, {"person.citizenship", "citizenship"},
	{"person.languages", "languages"}, {"person.phone", "phone"}, {"person.document_number", "document_number"},
	{"encounter.occurred_at", "occurred_at"}, {"encounter.region", "region"}, {"encounter.place", "place"},
	{"encounter.context", "context"}, {"exploitation", "exploitation"},
	{"exploitation_countries", "exploitation_countries"}, {"transit_countries", "transit_countries"}, {"urgent_needs", "urgent_needs"},
	{"indicators", "indicators"}, {"consent", "consent"}, {"officer_concern", "officer_concern"}, {"narrative", "narrative"},
}

// screeningMessages say what to do about a broken rule, by "<field> <rule>",
// "<field> *" (any rule of the field) or "* <rule>"; message IDs.
var screeningMessages = map[string]string{
	"given_name required":        "screening.error.given_name.required",
	"birth_date datetime":        "screening.error.birth_date.datetime",
	"birth_date not_future":      "screening.error.birth_date.not_future",
	"birth_date range":           "screening.error.birth_date.range",
	"age_estimate excluded_with": "screening.error.age_estimate.excluded_with",
	"age_estimate *":             "screening.error.age_estimate.range",
	"sex *":                      "screening.error.sex.required",
	"citizenship required":       "screening.error.citizenship.required",
	"citizenship *":              "screening.error.citizenship.format",
	"languages max":              "screening.error.languages.max",
	"indicators[] sop_indicator": "screening.error.indicators.unknown",
	"urgent_needs[] sop_service": "screening.error.urgent_needs.unknown",
	"urgent_needs[] sop_urgent":  "screening.error.urgent_needs.not_urgent",
	"languages *":                "screening.error.languages.format",
	"occurred_at required":       "screening.error.occurred_at.required",
	"occurred_at not_future":     "screening.error.occurred_at.not_future",
	"occurred_at *":              "screening.error.occurred_at.datetime",
	"region *":                   "screening.error.region.required",
	"context *":                  "screening.error.context.required",
	"consent *":                  "screening.error.consent.required",
	"officer_concern not_blank":  "screening.error.officer_concern.not_blank",
	"exploitation_countries max": "screening.error.countries.max",
	"exploitation_countries *":   "screening.error.countries.unknown",
	"transit_countries max":      "screening.error.countries.max",
	"transit_countries *":        "screening.error.countries.unknown",
	"* max":                      "screening.error.max",
	"* oneof":                    "screening.error.oneof",
	"* required":                 "screening.error.required",
	"* *":                        "screening.error.invalid",
}

var screeningIndex = regexp.MustCompile(`\[\d+\]$`)

// screeningErrors puts the service's field errors on the form's fields,
// one per field, in the form's order.
func screeningErrors(errs []cases.FieldError) formErrors {
	byID := map[string]fieldError{}
	for _, e := range errs {
		path := screeningIndex.ReplaceAllString(e.Field, "")
		item := "" // a rule on one item of a list
		if path != e.Field {
			item = "[]"
		}
		id := ""
		for _, f := range screeningFields {
			if f.path == path {
				id = f.id
			}
		}
		if id == "" {
			id = "given_name" // no field of the form: shown at the top, linked to its start
		}
		if _, seen := byID[id]; seen {
			continue
		}
		fe := fieldError{Field: id}
		keys := []string{id + item + " " + e.Rule, id + " *", "* " + e.Rule, "* *"}
		if item != "" { // a rule on the list itself does not apply to its items
			keys = slices.Delete(keys, 2, 3)
		}
		for _, k := range keys {
			if msg, ok := screeningMessages[k]; ok {
				fe.Msg = msg
				break
			}
		}
		if e.Rule == "max" && item == "" { // the rule's limit ends its message ("is longer or larger than 200")
			fe.Args = map[string]any{"Max": e.Message[strings.LastIndex(e.Message, " ")+1:]}
		}
		byID[id] = fe
	}
	var out formErrors
	for _, f := range screeningFields {
		if fe, ok := byID[f.id]; ok {
			out = append(out, fe)
		}
	}
	return out
}

// screeningOpened is the page after the form.
type screeningOpened struct {
	ID, Number   string
	Result       screeningResult
	ClosedAtOnce bool
	Child        bool
	// NoConsent: an adult who did not consent to referral: none can be made.
	NoConsent  bool
	Duplicates []cases.DuplicateCase
	Referrals  []screeningChoice
	// DraftKey names the draft that screening.js clears: the form was sent.
	DraftKey string
}

// screeningOpenedPage shows what opening the case answered: its number, the
// screening's result, possible duplicates, the urgent referrals to make.
func (p *Pages) screeningOpenedPage(c *fiber.Ctx, pg page) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.errorPage(c, cases.ErrNotFound)
	}
	opened, _, err := p.Cases.Opening(c.UserContext(), *pg.User, id)
	if err != nil {
		return p.errorPage(c, err)
	}
	k := opened.Case
	d := screeningOpened{ID: k.ID.String(), Number: k.Number, ClosedAtOnce: opened.ClosedAtOnce, Child: k.Child,
		NoConsent: !k.Child && (k.ConsentReferral == nil || !*k.ConsentReferral), Duplicates: opened.Duplicates}
	if k.CreatedBy == pg.User.UserID {
		d.DraftKey = screeningDraftKey(pg.User)
	}
	if s, ok := p.Cases.SOPs.Get(k.SOPVersion); ok {
		d.Result = p.screeningResultOf(p.msgs.translator(pg.Lang), s, opened.Screening, k.Child, k.AgeBand != "unknown")
		for _, code := range k.UrgentNeeds {
			label := code
			if svc, ok := s.Service(code); ok {
				label = svc.Label.In(pg.Lang)
			}
			d.Referrals = append(d.Referrals, screeningChoice{Code: code, Label: label})
		}
	}
	pg.Title, pg.Data = "screening.opened.title", d
	return p.render(c, http.StatusOK, "screening_opened", pg)
}
