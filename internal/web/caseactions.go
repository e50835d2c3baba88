package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/workflows"
)

// The case owner's forms on a case page: consent, its withdrawal, the
// guardian, a referral, a note, the closure request and the follow-up. Each
// is a GET (the form, offered only when the case's workflow says the user
// may give the command now) and a POST (the command), after which the
// browser returns to the case page with a confirmation.

// formMaxText is the longest free text a form takes, as the API.
const formMaxText = cases.MaxNoteLength

// formField is one question of a case form.
type formField struct {
	ID       string
	Kind     string // radios, checkboxes, text, textarea
	Label    string // message ID
	Hint     string // message ID, optional
	Options  []option
	Value    string
	Values   []string
	Optional bool
}

// option is a choice of a radios or checkboxes field; Label is already in
// the page's language (SOP labels come from the SOP).
type option struct {
	Value, Label string
}

// caseForm is what templates/caseform.html shows.
type caseForm struct {
	CaseID, Number string
	Heading        string // message ID
	Intro          string // message ID, optional
	Read           string // message ID of a text the officer reads out, optional
	Submit         string // message ID
	Key            string
	Fields         []formField
	Errors         formErrors
	// Refused is the reason the command cannot be given now, in words; the
	// form is not shown then.
	Refused string
	// done is the case page to return to after the command; location the
	// page the command (or the first send of this form) went to.
	done, location string
}

// once runs a form's action at most once per form key (Gate.PageOnce: a
// double click or a retry answers the first send's page, and the command
// is audited as the API audits commands). fields are what the form says.
func (p *Pages) once(c *fiber.Ctx, id uuid.UUID, f *caseForm, run func(retry cases.Retry) error, fields ...string) error {
	retry := retryOf(c, fields...)
	location, err := p.gate.PageOnce(c, c.FormValue("key"), retry.Fingerprint, func() (uuid.UUID, string, error) {
		if err := run(retry); err != nil {
			return uuid.Nil, "", err
		}
		return id, f.done, nil
	})
	f.location = location
	return err
}

// command runs a case command once per form key.
func (p *Pages) command(c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm, cmd cases.Command, fields ...string) error {
	return p.once(c, id, f, func(retry cases.Retry) error {
		cmd.Retry = retry
		_, err := p.Cases.Do(c.UserContext(), *pg.User, cmd)
		return err
	}, fields...)
}

// caseAction is one of the forms: how to build it and how to run it.
type caseAction struct {
	path    string // under /cases/:id/
	command string // the workflow update that must be allowed now; "" for notes
	heading string
	build   func(p *Pages, c *fiber.Ctx, pg page, k caseContext, f *caseForm)
	run     func(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error
}

var caseActions = []caseAction{
	{path: "consent", command: workflows.UpdateConsent, heading: "action.consent", build: consentForm, run: recordConsent},
	{path: "consent/withdraw", command: workflows.UpdateWithdrawConsent, heading: "action.withdraw_consent", build: withdrawForm, run: withdrawConsent},
	{path: "guardian", command: workflows.UpdateGuardian, heading: "action.appoint_guardian", build: guardianForm, run: appointGuardian},
	{path: "referrals/new", command: workflows.UpdateRefer, heading: "action.refer", build: referForm, run: refer},
	{path: "closure", command: workflows.UpdateRequestClosure, heading: "action.request_closure", build: closureForm, run: requestClosure},
	{path: "follow-up", command: workflows.UpdateFollowUp, heading: "action.follow_up", build: followUpForm, run: followUp},
	{path: "notes/new", heading: "action.note", build: noteForm, run: writeNote},
}

func (p *Pages) mountCaseActions(r fiber.Router) {
	for _, a := range caseActions {
		r.Get("/cases/:id/"+a.path, p.signedIn(p.showCaseAction(a)))
		r.Post("/cases/:id/"+a.path, p.signedIn(p.runCaseAction(a)))
	}
}

// prepare loads the case and what the user may do on it, and builds the form.
func (p *Pages) prepareCaseAction(c *fiber.Ctx, pg page, a caseAction) (uuid.UUID, *caseForm, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, nil, cases.ErrNotFound
	}
	v, err := p.Cases.Get(c.UserContext(), *pg.User, id, cases.RequestInfo{RequestID: p.gate.RequestID(c)})
	if err != nil {
		return uuid.Nil, nil, err
	}
	acts, err := p.Cases.Actions(c.UserContext(), *pg.User, id)
	if err != nil {
		return uuid.Nil, nil, err
	}
	procedure, _ := p.Cases.SOPs.Get(v.Case.SOPVersion)
	f := &caseForm{CaseID: id.String(), Number: v.Case.Number, Heading: a.heading, Submit: "action.submit", Key: c.FormValue("key")}
	if f.Key == "" {
		f.Key = newFormKey()
	}
	if a.command != "" && !acts.Allows(a.command) {
		f.Refused = "action.not_now"
		return id, f, nil
	}
	a.build(p, c, pg, caseContext{actions: acts, sop: procedure}, f)
	return id, f, nil
}

// caseContext is what a form is built from: what the user may do now and
// the case's SOP (nil when the binary does not know its version).
type caseContext struct {
	actions workflows.Actions
	sop     *sop.SOP
}

func (p *Pages) showCaseAction(a caseAction) func(c *fiber.Ctx, pg page) error {
	return func(c *fiber.Ctx, pg page) error {
		_, f, err := p.prepareCaseAction(c, pg, a)
		if err != nil {
			return p.errorPage(c, err)
		}
		pg.Title, pg.Data = a.heading, f
		return p.render(c, http.StatusOK, "caseform", pg)
	}
}

func (p *Pages) runCaseAction(a caseAction) func(c *fiber.Ctx, pg page) error {
	return func(c *fiber.Ctx, pg page) error {
		id, f, err := p.prepareCaseAction(c, pg, a)
		if err != nil {
			return p.errorPage(c, err)
		}
		pg.Title, pg.Data = a.heading, f
		if f.Refused != "" {
			return p.render(c, http.StatusConflict, "caseform", pg)
		}
		keepFormTyped(c, f)
		done := a.command
		if done == "" {
			done = "note"
		}
		f.done = "/cases/" + id.String() + "?done=" + url.QueryEscape(done)
		err = a.run(p, c, pg, id, f)
		if err == nil && len(f.Errors) == 0 {
			return c.Redirect(f.location, fiber.StatusSeeOther)
		}
		status := http.StatusUnprocessableEntity
		if msg, ok := p.refusal(err, pg.Lang); ok {
			f.Errors = append(f.Errors, fieldError{Field: formFirstField(f), Msg: "action.refused", Args: map[string]any{"Reason": msg}})
			status = http.StatusConflict
		} else if errors.As(err, new(*cases.ValidationError)) {
			f.Errors = append(f.Errors, formFieldErrors(err, f)...)
		} else if st, _, _ := p.Problem(err); err != nil && (st == http.StatusConflict || st == http.StatusUnprocessableEntity) {
			// The form's key was spent on other answers: nothing ran now;
			// the form shown again gets a new key.
			f.Errors = append(f.Errors, fieldError{Field: formFirstField(f), Msg: "authority.error.resent"})
			f.Key, status = newFormKey(), http.StatusConflict
		} else if err != nil {
			return p.errorPage(c, err)
		}
		return p.render(c, status, "caseform", pg)
	}
}

// keepFormTyped puts what was sent back into the form's fields.
func keepFormTyped(c *fiber.Ctx, f *caseForm) {
	for i := range f.Fields {
		fl := &f.Fields[i]
		if fl.Kind == "checkboxes" {
			fl.Values = formMulti(c, fl.ID)
			continue
		}
		fl.Value = c.FormValue(fl.ID)
	}
}

func formMulti(c *fiber.Ctx, name string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

func formFirstField(f *caseForm) string {
	if len(f.Fields) > 0 {
		return f.Fields[0].ID
	}
	return "main"
}

// formFieldErrors shows the service's field errors on the form's fields.
func formFieldErrors(err error, f *caseForm) formErrors {
	var ve *cases.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out formErrors
	for _, e := range ve.Errors {
		field := e.Field
		if !slices.ContainsFunc(f.Fields, func(x formField) bool { return x.ID == field }) {
			field = formFirstField(f)
		}
		out = append(out, fieldError{Field: field, Msg: "action.invalid"})
	}
	return out
}

// formText validates a free-text field: required unless optional, at most formMaxText characters.
func formText(f *caseForm, id string) string {
	var fl *formField
	for i := range f.Fields {
		if f.Fields[i].ID == id {
			fl = &f.Fields[i]
		}
	}
	v := strings.TrimSpace(fl.Value)
	switch {
	case v == "" && !fl.Optional:
		f.Errors.add(id, "action.required")
	case utf8.RuneCountInString(v) > formMaxText:
		f.Errors = append(f.Errors, fieldError{Field: id, Msg: "action.too_long", Args: map[string]any{"Count": formMaxText}})
	}
	return v
}

// formChoice validates a radios field against its options.
func formChoice(f *caseForm, id string) string {
	for _, fl := range f.Fields {
		if fl.ID != id {
			continue
		}
		if slices.ContainsFunc(fl.Options, func(o option) bool { return o.Value == fl.Value }) {
			return fl.Value
		}
	}
	f.Errors.add(id, "action.choose")
	return ""
}

func yesNoOptions(t *translator) []option {
	return []option{{Value: "yes", Label: t.T("action.yes")}, {Value: "no", Label: t.T("action.no")}}
}

func consentForm(p *Pages, _ *fiber.Ctx, pg page, _ caseContext, f *caseForm) {
	t := p.msgs.translator(pg.Lang)
	f.Read = "consent.read"
	f.Fields = []formField{
		{ID: "referral", Kind: "radios", Label: "consent.referral", Options: yesNoOptions(t)},
		{ID: "data_sharing", Kind: "radios", Label: "consent.data_sharing", Hint: "consent.data_sharing.hint", Options: yesNoOptions(t)},
	}
}

func recordConsent(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	referral, sharing := formChoice(f, "referral"), formChoice(f, "data_sharing")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.command(c, pg, id, f, cases.RecordConsent(id, referral == "yes", sharing == "yes"), referral, sharing)
}

func withdrawForm(_ *Pages, _ *fiber.Ctx, _ page, _ caseContext, f *caseForm) {
	f.Intro = "withdraw.intro"
	f.Fields = []formField{{ID: "reason", Kind: "textarea", Label: "withdraw.reason", Hint: "withdraw.reason.hint"}}
}

func withdrawConsent(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	reason := formText(f, "reason")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.command(c, pg, id, f, cases.WithdrawConsent(id, reason), reason)
}

func guardianForm(_ *Pages, _ *fiber.Ctx, _ page, _ caseContext, f *caseForm) {
	f.Intro = "guardian.intro"
	f.Fields = []formField{
		{ID: "name", Kind: "text", Label: "guardian.name"},
		{ID: "authority", Kind: "text", Label: "guardian.authority", Hint: "guardian.authority.hint"},
	}
}

func appointGuardian(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	name, authority := formText(f, "name"), formText(f, "authority")
	for _, fl := range []string{"name", "authority"} {
		if v := c.FormValue(fl); utf8.RuneCountInString(v) > 200 && f.Errors.For(fl) == nil {
			f.Errors = append(f.Errors, fieldError{Field: fl, Msg: "action.too_long", Args: map[string]any{"Count": 200}})
		}
	}
	if len(f.Errors) > 0 {
		return nil
	}
	return p.command(c, pg, id, f, cases.AppointGuardian(id, name, authority), name, authority)
}

func referForm(_ *Pages, c *fiber.Ctx, pg page, k caseContext, f *caseForm) {
	var opts []option
	for _, code := range k.actions.Services {
		label := code
		if k.sop != nil {
			if def, ok := k.sop.Service(code); ok {
				label = def.Label.In(pg.Lang)
			}
		}
		opts = append(opts, option{Value: code, Label: label})
	}
	f.Intro = "refer.intro"
	f.Fields = []formField{
		{ID: "service", Kind: "radios", Label: "refer.service", Options: opts, Value: c.Query("service")},
		{ID: "note", Kind: "textarea", Label: "refer.note", Hint: "refer.note.hint", Optional: true},
	}
}

func refer(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	service, note := formChoice(f, "service"), formText(f, "note")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.once(c, id, f, func(retry cases.Retry) error {
		_, err := p.Cases.Refer(c.UserContext(), *pg.User, id, cases.ReferRequest{Service: service, Note: note}, retry)
		return err
	}, service, note)
}

func closureForm(p *Pages, _ *fiber.Ctx, pg page, k caseContext, f *caseForm) {
	t := p.msgs.translator(pg.Lang)
	var opts []option
	for _, code := range k.actions.ClosureReasons {
		opts = append(opts, option{Value: code, Label: t.T("closure_reason." + code)})
	}
	f.Intro = "closure.intro"
	f.Fields = []formField{
		{ID: "reason", Kind: "radios", Label: "closure.reason", Options: opts},
		{ID: "note", Kind: "textarea", Label: "closure.note", Optional: true},
	}
}

func requestClosure(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	reason, note := formChoice(f, "reason"), formText(f, "note")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.command(c, pg, id, f, cases.RequestClosure(id, reason, note), reason, note)
}

func followUpForm(_ *Pages, _ *fiber.Ctx, _ page, _ caseContext, f *caseForm) {
	f.Intro = "follow_up.intro"
	f.Fields = []formField{{ID: "note", Kind: "textarea", Label: "follow_up.note", Optional: true}}
}

func followUp(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	note := formText(f, "note")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.command(c, pg, id, f, cases.FollowUpDone(id, note), note)
}

func noteForm(_ *Pages, _ *fiber.Ctx, _ page, _ caseContext, f *caseForm) {
	f.Intro = "note.intro"
	f.Fields = []formField{{ID: "note", Kind: "textarea", Label: "note.text", Hint: "note.hint"}}
}

func writeNote(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	note := formText(f, "note")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.once(c, id, f, func(retry cases.Retry) error {
		_, err := p.Cases.AddNote(c.UserContext(), *pg.User, id, note, retry)
		return err
	}, note)
}
