package web

// One referral as its provider sees it (/referrals/{id}): the need-to-know
// view the API gives (cases.ReferralForProvider: the given name, languages,
// age band, sex, urgent needs and the sender's note; the read is audited),
// and the provider's answers — accept or decline while the referral waits
// for its answer, progress notes and completion once accepted. Each answer
// runs once per form key (Gate.PageOnce); the workflow refuses an answer
// that comes too late or after the referral moved on, and the page says why.

import (
	"errors"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// providerAnswer is one of the provider's answers: the workflow update and
// the form's fields.
type providerAnswer struct {
	update string
	// choice is the radios field of the answer ("" for none); note its
	// note's field, required for a progress note only.
	choice, note string
	noteRequired bool
}

var providerAnswers = []providerAnswer{
	{update: workflows.UpdateAccept},
	{update: workflows.UpdateDecline, choice: "reason", note: "decline_note"},
	{update: workflows.UpdateProgress, note: "progress_note", noteRequired: true},
	{update: workflows.UpdateComplete, choice: "outcome", note: "complete_note"},
}

// labelledLanguages are the languages a person may speak whose names the
// catalogue has (provider.lang.<code>); any other shows as its code.
var labelledLanguages = []string{"tk", "ru", "en", "uz", "kk", "ky", "tg", "az", "tr", "fa"}

// send is the id of an answer's submit button, where the error summary
// points for a refusal of the whole form.
func (a providerAnswer) send() string { return a.update + "-send" }

// referralDone are the confirmations the referral's page shows (?done=).
var referralDone = map[string]string{
	workflows.UpdateAccept:   "provider.done.accept",
	workflows.UpdateProgress: "provider.done.progress",
	workflows.UpdateComplete: "provider.done.complete",
}

type referralPageData struct {
	ID, Number, Service, Region, Status string
	Urgent                              bool
	SentAt                              time.Time
	DueAt, AcceptedAt, CompletedAt      *time.Time
	WithdrawnAt                         *time.Time
	LeftMsg                             string
	LeftN                               int
	Overdue                             bool
	Outcome                             string

	// The person, as the API's provider view gives it.
	GivenName, AgeBand, Sex string
	Languages, Needs        []string
	// Note is the sender's note for the provider.
	Note string

	// HoldsBed: accepting holds one of the agency's beds (Beds now).
	HoldsBed bool
	Beds     *bedsView
	// CanAnswer: the referral waits for this agency's answer (accept or
	// decline); Late: it waited, but the time to answer has run out.
	// CanWork: accepted, so progress notes and completion.
	CanAnswer, Late, CanWork bool
	Reasons, Outcomes        []option
	// Keys are the forms' keys, Typed what was typed, by field.
	Keys   map[string]string
	Typed  map[string]string
	Errors formErrors
	Done   string
}

// movedData is the page of a referral the agency passed on.
type movedData struct {
	Service, Region, Answer, Reason string
	SentAt, AnsweredAt              time.Time
	// Refused: an answer was sent after the referral moved on.
	Refused bool
}

func referralID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, cases.ErrNotFound
	}
	return id, nil
}

func (p *Pages) referralPage(c *fiber.Ctx, pg page) error {
	id, err := referralID(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	d, err := p.referralData(c, pg, id)
	if err != nil {
		return p.referralGone(c, pg, id, err, false)
	}
	d.Done = referralDone[c.Query("done")]
	pg.Title, pg.Data = "provider.referral.title", d
	return p.render(c, http.StatusOK, "provider_referral", pg)
}

// referralGone answers a referral the page cannot show: one the agency
// passed on gets the page that says so (409 when an answer was sent), any
// other the error page (404 for a referral addressed elsewhere).
func (p *Pages) referralGone(c *fiber.Ctx, pg page, id uuid.UUID, err error, answering bool) error {
	if !errors.Is(err, cases.ErrNotFound) {
		return p.errorPage(c, err)
	}
	passed, perr := p.Cases.PassedOnReferral(c.UserContext(), *pg.User, id)
	if perr != nil {
		return p.errorPage(c, err)
	}
	zone := p.providerZone(nil)
	d := movedData{Service: p.serviceLabel(nil, passed.Service, pg.Lang), Region: passed.Region, Answer: passed.Answer,
		Reason: p.declineLabel(deref(passed.DeclineReason), pg.Lang), SentAt: passed.SentAt.In(zone), AnsweredAt: passed.AnsweredAt.In(zone),
		Refused: answering}
	status := http.StatusOK
	if answering {
		status = http.StatusConflict
	}
	pg.Title, pg.Data = "provider.moved.title", d
	return p.render(c, status, "provider_moved", pg)
}

// referralData reads the referral for its page: the provider view (an
// audited read) and the forms the referral's state allows.
func (p *Pages) referralData(c *fiber.Ctx, pg page, id uuid.UUID) (*referralPageData, error) {
	ctx := c.UserContext()
	_, procedure, err := p.Cases.ProviderReferral(ctx, *pg.User, id)
	if err != nil {
		return nil, err
	}
	v, err := p.Cases.ReferralForProvider(ctx, *pg.User, id, cases.RequestInfo{RequestID: p.gate.RequestID(c)})
	if err != nil {
		return nil, err
	}
	r, zone, now := v.Referral, p.providerZone(procedure), time.Now()
	in := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		x := t.In(zone)
		return &x
	}
	t := p.msgs.translator(pg.Lang)
	d := &referralPageData{ID: id.String(), Number: v.CaseNumber, Service: p.serviceLabel(procedure, r.Service, pg.Lang), Region: r.Region,
		Status: r.Status, Urgent: r.Urgent, SentAt: r.SentAt.In(zone), DueAt: in(r.DueAt), AcceptedAt: in(r.AcceptedAt),
		CompletedAt: in(r.CompletedAt), WithdrawnAt: in(r.WithdrawnAt), Outcome: p.outcomeLabel(deref(r.Outcome), pg.Lang),
		GivenName: v.GivenName, Note: v.Note, Keys: map[string]string{}, Typed: map[string]string{}}
	if v.AgeBand == "" || v.AgeBand == "unknown" {
		d.AgeBand = t.T("provider.person.age.unknown")
	} else {
		d.AgeBand = t.T("provider.person.age.band", map[string]any{"Band": v.AgeBand})
	}
	if v.Sex != "" {
		d.Sex = p.codeLabel("screening.sex.", v.Sex, pg.Lang)
	}
	for _, l := range v.Languages {
		d.Languages = append(d.Languages, p.codeLabel("provider.lang.", l, pg.Lang))
	}
	for _, s := range v.Urgent {
		d.Needs = append(d.Needs, p.serviceLabel(procedure, s, pg.Lang))
	}
	switch r.Status {
	case workflows.ReferralPending:
		if r.DueAt != nil {
			d.LeftMsg, d.LeftN, d.Overdue = providerTimeLeft(now, *r.DueAt)
		}
		d.CanAnswer = r.DueAt == nil || now.Before(*r.DueAt)
		d.Late = !d.CanAnswer
	case workflows.ReferralAccepted:
		d.CanWork = true
	}
	reasons, outcomes := sop.DefaultDeclineReasons, sop.DefaultCompletionOutcomes
	if procedure != nil {
		reasons, outcomes = procedure.DeclineReasons, procedure.CompletionOutcomes
		d.HoldsBed = r.Service == procedure.BedService && procedure.BedService != ""
	}
	for _, code := range reasons {
		d.Reasons = append(d.Reasons, option{Value: code, Label: p.declineLabel(code, pg.Lang)})
	}
	for _, code := range outcomes {
		d.Outcomes = append(d.Outcomes, option{Value: code, Label: p.outcomeLabel(code, pg.Lang)})
	}
	if d.HoldsBed && d.CanAnswer {
		if a, err := p.Cases.OwnAgency(ctx, *pg.User); err == nil {
			d.Beds = &bedsView{Total: a.Beds, Free: max(a.Beds-a.Occupancy, 0)}
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	for _, a := range providerAnswers {
		d.Keys[a.update] = newFormKey()
	}
	return d, nil
}

// answerReferral runs one of the provider's answers from its form.
func (p *Pages) answerReferral(a providerAnswer) func(c *fiber.Ctx, pg page) error {
	return func(c *fiber.Ctx, pg page) error {
		id, err := referralID(c)
		if err != nil {
			return p.errorPage(c, err)
		}
		ref, procedure, err := p.Cases.ProviderReferral(c.UserContext(), *pg.User, id)
		if err != nil {
			return p.referralGone(c, pg, id, err, true)
		}
		var errs formErrors
		var cmd workflows.AnswerCommand
		choice, note := "", ""
		if a.choice != "" {
			choice = c.FormValue(a.choice)
			allowed, msg := sop.DefaultDeclineReasons, "provider.error.reason"
			if a.update == workflows.UpdateComplete {
				allowed, msg = sop.DefaultCompletionOutcomes, "provider.error.outcome"
			}
			if procedure != nil {
				allowed = procedure.DeclineReasons
				if a.update == workflows.UpdateComplete {
					allowed = procedure.CompletionOutcomes
				}
			}
			if !slices.Contains(allowed, choice) {
				errs.add(a.choice, msg)
			}
		}
		if a.note != "" {
			note = clean(c.FormValue(a.note))
			switch n := utf8.RuneCountInString(note); {
			case n == 0 && a.noteRequired:
				errs.add(a.note, "provider.error.note.required")
			case n > cases.MaxNoteLength:
				errs = append(errs, fieldError{Field: a.note, Msg: "provider.error.note.long", Args: map[string]any{"Max": cases.MaxNoteLength}})
			}
		}
		status, newKey := http.StatusUnprocessableEntity, false
		if len(errs) == 0 {
			switch a.update {
			case workflows.UpdateDecline:
				cmd.Reason = choice
			case workflows.UpdateComplete:
				cmd.Outcome = choice
			}
			retry := retryOf(c, choice, note)
			location, err := p.gate.PageOnce(c, c.FormValue("key"), retry.Fingerprint, func() (uuid.UUID, string, error) {
				if _, err := p.Cases.Answer(c.UserContext(), *pg.User, id, a.update, cmd, note); err != nil {
					return uuid.Nil, "", err
				}
				return ref.CaseID, doneRedirect(id, a.update), nil
			})
			if err == nil {
				return c.Redirect(location, fiber.StatusSeeOther)
			}
			var verr *cases.ValidationError
			if msg, ok := p.refusal(err, pg.Lang); ok {
				errs = append(errs, fieldError{Field: a.send(), Msg: "provider.refused", Args: map[string]any{"Reason": msg}})
				status = http.StatusConflict
			} else if errors.As(err, &verr) {
				for _, fe := range verr.Errors {
					field := fe.Field
					if field != a.choice && field != a.note {
						field = a.send()
					}
					errs.add(field, "provider.error.invalid")
				}
			} else if errors.Is(err, cases.ErrNotFound) {
				// The referral moved on between the page and the click.
				return p.referralGone(c, pg, id, err, true)
			} else if st, _, _ := p.Problem(err); st == http.StatusConflict || st == http.StatusUnprocessableEntity {
				// The form's key was spent on other answers: nothing ran now.
				errs.add(a.send(), "authority.error.resent")
				status, newKey = http.StatusConflict, true
			} else {
				return p.errorPage(c, err)
			}
		}
		d, err := p.referralData(c, pg, id)
		if err != nil {
			return p.referralGone(c, pg, id, err, true)
		}
		d.Errors = errs
		d.Keys[a.update] = formKey(c)
		if newKey {
			d.Keys[a.update] = newFormKey()
		}
		if a.choice != "" {
			d.Typed[a.choice] = choice
		}
		if a.note != "" {
			d.Typed[a.note] = c.FormValue(a.note)
		}
		pg.Title, pg.Data = "provider.referral.title", d
		return p.render(c, status, "provider_referral", pg)
	}
}
