package web

// The competent authority's pages: the queue of decisions due and negative
// decisions to review (/decisions), and the forms of its commands on a case
// — a decision, the second review of a negative one, an extension of the
// recovery period and the erasure of the person's identity. Each form is
// offered only while the case's workflow allows the command
// (cases.Service.Actions); otherwise the page says why.

import (
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
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// mountDecisions adds the competent authority's queue and forms.
func (p *Pages) mountDecisions(r fiber.Router) {
	r.Get("/decisions", p.signedIn(p.decisionsPage))
	r.Get("/cases/:id/decide", p.signedIn(p.decideForm))
	r.Post("/cases/:id/decide", p.signedIn(p.decide))
	r.Get("/cases/:id/decisions/:decision/review", p.signedIn(p.reviewForm))
	r.Post("/cases/:id/decisions/:decision/review", p.signedIn(p.review))
	r.Get("/cases/:id/recovery/extend", p.signedIn(p.extendForm))
	r.Post("/cases/:id/recovery/extend", p.signedIn(p.extend))
	r.Get("/cases/:id/erasure", p.signedIn(p.erasureForm))
	r.Post("/cases/:id/erasure", p.signedIn(p.erase))
}

// --- the queue -------------------------------------------------------------

type decisionsData struct {
	Due, Reviews []queueRow
	// More: the queue is longer than the rows shown.
	More  bool
	Limit int
}

func (p *Pages) decisionsPage(c *fiber.Ctx, pg page) error {
	items, err := p.Cases.DecisionQueue(c.UserContext(), *pg.User, queueLimit+1)
	if err != nil {
		return p.errorPage(c, err)
	}
	var data decisionsData
	if len(items) > queueLimit {
		items, data.More = items[:queueLimit], true
	}
	data.Limit = queueLimit
	var due, reviews []store.QueueItem
	for _, it := range items {
		if slices.Contains(cases.ReviewObligations, it.Obligation) {
			reviews = append(reviews, it)
		} else {
			due = append(due, it)
		}
	}
	now := time.Now()
	data.Due = p.queueRows(due, pg.Lang, now, func(it store.QueueItem, r *queueRow) {
		if it.Stage == workflows.StageClosure {
			r.Note = "authority.action.waits_closure" // no decision while a closure request waits
			return
		}
		r.Action, r.ActionMsg = "/cases/"+r.CaseID+"/decide", "authority.action.decide"
	})
	data.Reviews = p.queueRows(reviews, pg.Lang, now, func(it store.QueueItem, r *queueRow) {
		switch {
		case it.StartedBy != nil && *it.StartedBy == pg.User.UserID:
			r.Note = "authority.action.own" // the second review is another officer's
		case it.DecisionID != "":
			r.Action, r.ActionMsg = "/cases/"+r.CaseID+"/decisions/"+it.DecisionID+"/review", "authority.action.review"
		default:
			r.Action, r.ActionMsg = "/cases/"+r.CaseID, "authority.action.open"
		}
	})
	pg.Title, pg.Data = "authority.decisions.title", data
	return p.render(c, http.StatusOK, "authority_decisions", pg)
}

// --- a decision ------------------------------------------------------------

// choice is one radio of a form: its value, label and hint (message IDs;
// no hint: "").
type choice struct {
	Value, Msg, Hint string
}

// reviewChoices are the answers of a second review.
var reviewChoices = []choice{
	{Value: "confirm", Msg: "authority.review.confirm", Hint: "authority.review.confirm.hint"},
	{Value: "overturn", Msg: "authority.review.overturn", Hint: "authority.review.overturn.hint"},
}

var (
	kindMsg = map[string]string{workflows.KindPreliminary: "authority.kind.preliminary", workflows.KindConclusive: "authority.kind.conclusive"}
	// outcomeMsg labels a radio; outcomeShort a decision already taken.
	outcomeMsg   = map[string]string{workflows.OutcomePositive: "authority.outcome.positive", workflows.OutcomeNegative: "authority.outcome.negative"}
	outcomeShort = map[string]string{workflows.OutcomePositive: "authority.outcome.positive.short", workflows.OutcomeNegative: "authority.outcome.negative.short"}
)

// caseHead is what every form shows of its case.
type caseHead struct {
	CaseID, Number, Stage string
}

func headOf(v *cases.View) caseHead {
	return caseHead{CaseID: v.Case.ID.String(), Number: v.Case.Number, Stage: v.Case.Stage}
}

type decideData struct {
	caseHead
	Key                   string
	Kinds, Outcomes       []choice
	Kind, Outcome, Reason string
	Errors                formErrors
}

// decideChoices are the kinds and outcomes the workflow allows now.
func decideChoices(a workflows.Actions) (kinds, outcomes []choice) {
	for _, d := range a.Decisions {
		kinds = append(kinds, choice{Value: d.Kind, Msg: kindMsg[d.Kind]})
		for _, o := range d.Outcomes {
			if !slices.ContainsFunc(outcomes, func(c choice) bool { return c.Value == o }) {
				outcomes = append(outcomes, choice{Value: o, Msg: outcomeMsg[o]})
			}
		}
	}
	// Positive first, whatever order the workflow tried them in.
	slices.SortStableFunc(outcomes, func(a, b choice) int { return strings.Compare(b.Value, a.Value) })
	return kinds, outcomes
}

// allowedNow loads a form's case and asks the workflow what the user may do on it.
func (p *Pages) allowedNow(c *fiber.Ctx, pg page, roles ...auth.Role) (*cases.View, workflows.Actions, error) {
	v, err := p.formCase(c, pg, roles...)
	if err != nil {
		return nil, workflows.Actions{}, err
	}
	a, err := p.Cases.Actions(c.UserContext(), *pg.User, v.Case.ID)
	return v, a, err
}

func (p *Pages) decideForm(c *fiber.Ctx, pg page) error {
	v, a, err := p.allowedNow(c, pg, auth.CompetentAuthority)
	if err != nil {
		return p.errorPage(c, err)
	}
	if !a.Allows(workflows.UpdateDecide) {
		return p.refused(c, pg, v, "authority.decide.title", p.msgs.translator(pg.Lang).T("authority.refused.decide"))
	}
	d := decideData{caseHead: headOf(v), Key: newFormKey()}
	d.Kinds, d.Outcomes = decideChoices(a)
	if len(d.Kinds) == 1 {
		d.Kind = d.Kinds[0].Value
	}
	return p.renderForm(c, pg, http.StatusOK, "authority_decide", "authority.decide.title", d)
}

func (p *Pages) decide(c *fiber.Ctx, pg page) error {
	v, a, err := p.allowedNow(c, pg, auth.CompetentAuthority)
	if err != nil {
		return p.errorPage(c, err)
	}
	d := decideData{caseHead: headOf(v), Key: formKey(c), Kind: c.FormValue("kind"), Outcome: c.FormValue("outcome"), Reason: c.FormValue("reason")}
	d.Kinds, d.Outcomes = decideChoices(a)
	if len(d.Kinds) == 0 {
		// Nothing may be decided now (say, the case moved on since the
		// form was shown): the choices as the form offered them, and the
		// workflow's refusal in the error summary.
		for _, k := range []string{workflows.KindPreliminary, workflows.KindConclusive} {
			d.Kinds = append(d.Kinds, choice{Value: k, Msg: kindMsg[k]})
		}
		for _, o := range []string{workflows.OutcomePositive, workflows.OutcomeNegative} {
			d.Outcomes = append(d.Outcomes, choice{Value: o, Msg: outcomeMsg[o]})
		}
	}
	if !slices.ContainsFunc(d.Kinds, func(ch choice) bool { return ch.Value == d.Kind }) {
		d.Errors.add("kind", "authority.error.kind")
	}
	if !slices.ContainsFunc(d.Outcomes, func(ch choice) bool { return ch.Value == d.Outcome }) {
		d.Errors.add("outcome", "authority.error.outcome")
	}
	checkText(&d.Errors, "reason", clean(d.Reason), true)
	if len(d.Errors) > 0 {
		return p.renderForm(c, pg, http.StatusUnprocessableEntity, "authority_decide", "authority.decide.title", d)
	}
	cmd := cases.Decide(v.Case.ID, uuid.NewString(), d.Kind, d.Outcome, clean(d.Reason))
	out, err := p.runCommand(c, pg, v.Case.ID, cmd, d.Kind, d.Outcome, clean(d.Reason))
	return p.finishCommand(c, out, err, &d.Errors, &d.Key, func() error {
		return p.renderForm(c, pg, http.StatusConflict, "authority_decide", "authority.decide.title", d)
	})
}

// renderForm shows a command form.
func (p *Pages) renderForm(c *fiber.Ctx, pg page, status int, tmpl, title string, data any) error {
	pg.Title, pg.Data = title, data
	return p.render(c, status, tmpl, pg)
}

// --- the second review -----------------------------------------------------

type reviewData struct {
	caseHead
	Key                 string
	DecisionID          string
	Decision            *cases.DecisionRecord
	KindMsg, OutcomeMsg string
	Choices             []choice
	Choice, Reason      string
	Errors              formErrors
}

// reviewSubject loads the case and the decision under review; a decision
// the case does not have is the 404 page. refusal is why the user may not
// review it now ("" when they may).
func (p *Pages) reviewSubject(c *fiber.Ctx, pg page) (*cases.View, *cases.DecisionRecord, string, error) {
	v, a, err := p.allowedNow(c, pg, auth.CompetentAuthority)
	if err != nil {
		return nil, nil, "", err
	}
	id := c.Params("decision")
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, "", cases.ErrNotFound
	}
	d, err := p.Cases.Decision(c.UserContext(), *pg.User, v.Case.ID, id)
	if err != nil {
		return nil, nil, "", err
	}
	d.At = d.At.In(p.labels(pg.Lang).zone(v.Case.SOPVersion))
	switch {
	case slices.Contains(a.Reviews, id):
		return v, d, "", nil
	case d.Outcome != workflows.OutcomeNegative:
		return v, d, p.ruleText(pg.Lang, "not_negative"), nil
	case d.Reviewed:
		return v, d, p.ruleText(pg.Lang, "already_reviewed"), nil
	case d.DecidedBy == pg.User.UserID:
		return v, d, p.ruleText(pg.Lang, "reviewer_is_decider"), nil
	}
	return v, d, p.msgs.translator(pg.Lang).T("authority.refused.review"), nil
}

func (p *Pages) reviewForm(c *fiber.Ctx, pg page) error {
	v, d, refusal, err := p.reviewSubject(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	if refusal != "" {
		return p.refused(c, pg, v, "authority.review.title", refusal)
	}
	data := reviewData{caseHead: headOf(v), Key: newFormKey(), DecisionID: d.ID, Decision: d, KindMsg: kindMsg[d.Kind], OutcomeMsg: outcomeShort[d.Outcome],
		Choices: reviewChoices}
	return p.renderForm(c, pg, http.StatusOK, "authority_review", "authority.review.title", data)
}

func (p *Pages) review(c *fiber.Ctx, pg page) error {
	v, d, _, err := p.reviewSubject(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	data := reviewData{caseHead: headOf(v), Key: formKey(c), DecisionID: d.ID, Decision: d, KindMsg: kindMsg[d.Kind], OutcomeMsg: outcomeShort[d.Outcome],
		Choices: reviewChoices, Choice: c.FormValue("choice"), Reason: c.FormValue("reason")}
	if data.Choice != "confirm" && data.Choice != "overturn" {
		data.Errors.add("choice", "authority.error.review")
	}
	checkText(&data.Errors, "reason", clean(data.Reason), true)
	if len(data.Errors) > 0 {
		return p.renderForm(c, pg, http.StatusUnprocessableEntity, "authority_review", "authority.review.title", data)
	}
	cmd := cases.Review(v.Case.ID, d.ID, data.Choice == "confirm", clean(data.Reason))
	out, err := p.runCommand(c, pg, v.Case.ID, cmd, d.ID, data.Choice, clean(data.Reason))
	return p.finishCommand(c, out, err, &data.Errors, &data.Key, func() error {
		return p.renderForm(c, pg, http.StatusConflict, "authority_review", "authority.review.title", data)
	})
}

// --- extending the recovery period -----------------------------------------

type extendData struct {
	caseHead
	Key string
	// EndsAt is when the running recovery period ends (nil: none runs).
	EndsAt       *time.Time
	Max          int
	Days, Reason string
	Errors       formErrors
}

// recoveryOf is the case's SOP's longest extension and the end of its
// running recovery period, if one runs.
func (p *Pages) recoveryOf(v *cases.View) (most int, endsAt *time.Time) {
	most = sop.MaxExtension.N
	recovery := ""
	if s, ok := p.Cases.SOPs.Get(v.Case.SOPVersion); ok {
		if s.RecoveryMaxExtensionDays > 0 {
			most = s.RecoveryMaxExtensionDays
		}
		for _, def := range s.Obligations {
			if def.Kind == sop.KindProtected && def.StartsOn == "preliminary_positive" {
				recovery = def.ID
			}
		}
	}
	for _, o := range v.Obligations {
		if o.Obligation == recovery && o.Status == workflows.ObligationRunning {
			due := o.DueAt.In(p.labels("").zone(v.Case.SOPVersion))
			endsAt = &due
		}
	}
	return most, endsAt
}

func (p *Pages) extendForm(c *fiber.Ctx, pg page) error {
	v, a, err := p.allowedNow(c, pg, auth.CompetentAuthority)
	if err != nil {
		return p.errorPage(c, err)
	}
	most, endsAt := p.recoveryOf(v)
	if !a.Allows(workflows.UpdateExtendRecovery) {
		reason := p.msgs.translator(pg.Lang).T("authority.refused.extend")
		if endsAt == nil {
			reason = p.ruleText(pg.Lang, "no_recovery_period")
		}
		return p.refused(c, pg, v, "authority.extend.title", reason)
	}
	data := extendData{caseHead: headOf(v), Key: newFormKey(), EndsAt: endsAt, Max: most}
	return p.renderForm(c, pg, http.StatusOK, "authority_extend", "authority.extend.title", data)
}

func (p *Pages) extend(c *fiber.Ctx, pg page) error {
	v, err := p.formCase(c, pg, auth.CompetentAuthority)
	if err != nil {
		return p.errorPage(c, err)
	}
	most, endsAt := p.recoveryOf(v)
	data := extendData{caseHead: headOf(v), Key: formKey(c), EndsAt: endsAt, Max: most, Days: c.FormValue("days"), Reason: c.FormValue("reason")}
	days, err := strconv.Atoi(clean(data.Days))
	switch {
	case clean(data.Days) == "":
		data.Errors.add("days", "authority.error.days.required")
	case err != nil:
		data.Errors.add("days", "authority.error.days.number")
	case days < 1:
		data.Errors.add("days", "authority.error.days.min")
	case days > most:
		data.Errors = append(data.Errors, fieldError{Field: "days", Msg: "authority.error.days.max", Args: map[string]any{"Max": most}})
	}
	checkText(&data.Errors, "reason", clean(data.Reason), true)
	if len(data.Errors) > 0 {
		return p.renderForm(c, pg, http.StatusUnprocessableEntity, "authority_extend", "authority.extend.title", data)
	}
	cmd := cases.ExtendRecovery(v.Case.ID, days, clean(data.Reason))
	out, err := p.runCommand(c, pg, v.Case.ID, cmd, strconv.Itoa(days), clean(data.Reason))
	return p.finishCommand(c, out, err, &data.Errors, &data.Key, func() error {
		return p.renderForm(c, pg, http.StatusConflict, "authority_extend", "authority.extend.title", data)
	})
}

// --- erasing the identity --------------------------------------------------

// erasureReasonMsg labels the grounds of an erasure order (cases.ErasureReasons).
var erasureReasonMsg = map[string]string{
	"data_subject_request": "authority.erasure.reason.data_subject_request",
	"court_order":          "authority.erasure.reason.court_order",
	"unlawful_processing":  "authority.erasure.reason.unlawful_processing",
}

type erasureData struct {
	caseHead
	Reasons []choice
	// Check: the order is complete and the page asks to confirm it.
	Check                  bool
	Reason, Order, Confirm string
	ReasonMsg              string
	Errors                 formErrors
}

func erasureReasons() []choice {
	out := make([]choice, 0, len(cases.ErasureReasons))
	for _, r := range cases.ErasureReasons {
		out = append(out, choice{Value: r, Msg: erasureReasonMsg[r]}) // every reason has one (TestErasureReasonsAreLabelled)
	}
	return out
}

// erasureCase loads the case for an erasure: the competent authority's, and
// not erased already.
func (p *Pages) erasureCase(c *fiber.Ctx, pg page) (*cases.View, bool, error) {
	v, err := p.formCase(c, pg, auth.CompetentAuthority)
	if err != nil {
		return nil, false, err
	}
	erased, err := p.Cases.Erased(c.UserContext(), *pg.User, v.Case.ID)
	return v, erased, err
}

func (p *Pages) erasureForm(c *fiber.Ctx, pg page) error {
	v, erased, err := p.erasureCase(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	if erased {
		return p.refused(c, pg, v, "authority.erasure.title", p.ruleText(pg.Lang, "already_erased"))
	}
	return p.renderForm(c, pg, http.StatusOK, "authority_erasure", "authority.erasure.title", erasureData{caseHead: headOf(v), Reasons: erasureReasons()})
}

// erase takes the order in two steps: the order (reason and reference),
// then, once it is complete, a confirmation that repeats the case number.
// Only a POST with step=confirm and the right number erases anything.
func (p *Pages) erase(c *fiber.Ctx, pg page) error {
	v, erased, err := p.erasureCase(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	if erased {
		return p.refused(c, pg, v, "authority.erasure.title", p.ruleText(pg.Lang, "already_erased"))
	}
	data := erasureData{caseHead: headOf(v), Reasons: erasureReasons(), Reason: c.FormValue("reason"), Order: c.FormValue("order"),
		Confirm: c.FormValue("confirm")}
	req := cases.ErasureRequest{Reason: data.Reason, Order: clean(data.Order)}
	if msg, ok := erasureReasonMsg[data.Reason]; ok {
		data.ReasonMsg = msg
	}
	orderErrors(&data.Errors, req)
	step := c.FormValue("step")
	if len(data.Errors) > 0 || step == "edit" {
		status := http.StatusUnprocessableEntity
		if step == "edit" {
			status, data.Errors = http.StatusOK, nil
		}
		return p.renderForm(c, pg, status, "authority_erasure", "authority.erasure.title", data)
	}
	data.Check = true
	if step != "confirm" {
		return p.renderForm(c, pg, http.StatusOK, "authority_erasure", "authority.erasure.check.title", data)
	}
	if !strings.EqualFold(clean(data.Confirm), v.Case.Number) {
		data.Errors = append(data.Errors, fieldError{Field: "confirm", Msg: "authority.error.confirm", Args: map[string]any{"Number": v.Case.Number}})
		return p.renderForm(c, pg, http.StatusUnprocessableEntity, "authority_erasure", "authority.erasure.check.title", data)
	}
	err = p.Cases.Erase(c.UserContext(), *pg.User, v.Case.ID, req, cases.RequestInfo{RequestID: p.gate.RequestID(c)})
	var verr *cases.ValidationError
	switch {
	case err == nil:
		return c.Redirect("/cases/"+v.Case.ID.String()+"?done=erasure", fiber.StatusSeeOther)
	case errors.As(err, &verr):
		data.Check = false
		for _, fe := range verr.Errors {
			data.Errors = append(data.Errors, fieldError{Field: fe.Field, Msg: "authority.error.invalid"})
		}
		return p.renderForm(c, pg, http.StatusUnprocessableEntity, "authority_erasure", "authority.erasure.title", data)
	}
	if msg, ok := p.refusal(err, pg.Lang); ok {
		data.Errors = append(data.Errors, fieldError{Field: submitField, Msg: "authority.refusal", Args: map[string]any{"Reason": msg}})
		return p.renderForm(c, pg, http.StatusConflict, "authority_erasure", "authority.erasure.check.title", data)
	}
	return p.errorPage(c, err)
}

// orderErrors applies the service's rules of an erasure order
// (cases.ErasureRequest.Validate) with messages for each field.
func orderErrors(errs *formErrors, req cases.ErasureRequest) {
	if _, ok := erasureReasonMsg[req.Reason]; !ok || !slices.Contains(cases.ErasureReasons, req.Reason) {
		errs.add("reason", "authority.error.erasure.reason")
	}
	if req.Order == "" {
		errs.add("order", "authority.error.order.required")
		return
	}
	if err := (cases.ErasureRequest{Reason: cases.ErasureReasons[0], Order: req.Order}).Validate(); err != nil {
		errs.add("order", "authority.error.order.format")
	}
}
