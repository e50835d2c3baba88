package web

// What the competent authority's pages (decisions.go) and the supervisor's
// (approvals.go) share: the rows of a work queue, the case a form acts on,
// the reason fields, and running a form's command once per form key.

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// queueLimit is how many rows a queue shows; a longer queue says so.
const queueLimit = 200

// maxText is the longest reason or note a command takes, in characters
// (the API's max=4000).
const maxText = 4000

// queueRow is one deadline of a work queue: case numbers, codes and times,
// never a person's identity.
type queueRow struct {
	CaseID, Number, Stage string
	// Label is the obligation, labelled from the case's SOP.
	Label string
	DueAt time.Time
	// LeftMsg and LeftN say the time left or overdue (a message ID and its count).
	LeftMsg string
	LeftN   int
	Overdue bool
	// Action is the form to act from ("" for none); ActionMsg its link text.
	Action, ActionMsg string
	// Note is a message ID shown instead of a link ("" for none).
	Note string
}

// timeLeft words the time from now to due: whole days, or hours under a day.
func timeLeft(now, due time.Time) (msg string, n int, overdue bool) {
	d := due.Sub(now)
	overdue = d < 0
	if overdue {
		d = -d
	}
	switch {
	case d >= 24*time.Hour && overdue:
		return "authority.overdue.days", int(d / (24 * time.Hour)), true
	case d >= 24*time.Hour:
		return "authority.left.days", int(d / (24 * time.Hour)), false
	case overdue:
		return "authority.overdue.hours", int(d / time.Hour), true
	default:
		return "authority.left.hours", int(d / time.Hour), false
	}
}

// labels labels the obligations of the cases' SOPs in one language.
type labels struct {
	set  *sop.Set
	lang string
}

func (p *Pages) labels(lang string) labels { return labels{set: p.Cases.SOPs, lang: lang} }

// obligation is the label of an obligation under an SOP version; its ID
// when the version is not loaded.
func (l labels) obligation(version, id string) string {
	if l.set != nil {
		if s, ok := l.set.Get(version); ok {
			if def, ok := s.Obligation(id); ok {
				return def.Label.In(l.lang)
			}
		}
	}
	return id
}

// zone is the time zone of an SOP version's calendar, in which its
// deadlines fall and the pages show times (UTC when the version is not
// loaded or names none).
func (l labels) zone(version string) *time.Location {
	if l.set != nil {
		if s, ok := l.set.Get(version); ok && s.Calendar.Location != nil {
			return s.Calendar.Location
		}
	}
	return time.UTC
}

// queueRows turns a queue's deadlines into rows, labelled in the page's
// language, with times in the case's SOP's time zone.
func (p *Pages) queueRows(items []store.QueueItem, lang string, now time.Time, action func(store.QueueItem, *queueRow)) []queueRow {
	l := p.labels(lang)
	rows := make([]queueRow, 0, len(items))
	for _, it := range items {
		r := queueRow{CaseID: it.CaseID.String(), Number: it.Number, Stage: it.Stage, Label: l.obligation(it.SOPVersion, it.Obligation),
			DueAt: it.DueAt.In(l.zone(it.SOPVersion))}
		r.LeftMsg, r.LeftN, r.Overdue = timeLeft(now, it.DueAt)
		if action != nil {
			action(it, &r)
		}
		rows = append(rows, r)
	}
	return rows
}

// formCase loads the case a command form acts on, for a user of one of the
// roles: a case the user may not see is the 404 page, a role that does not
// give the command the 403 page, as the API answers. The identity is not
// read (nor audited): the forms show none.
func (p *Pages) formCase(c *fiber.Ctx, pg page, roles ...auth.Role) (*cases.View, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, cases.ErrNotFound
	}
	v, err := p.Cases.Get(c.UserContext(), *pg.User, id, cases.RequestInfo{RequestID: p.gate.RequestID(c)})
	if err != nil {
		return nil, err
	}
	if !pg.User.Is(roles...) {
		return nil, cases.ErrForbidden
	}
	return v, nil
}

// checkText checks a reason or note: required unless optional, at most maxText characters.
func checkText(errs *formErrors, field, value string, required bool) {
	switch n := utf8.RuneCountInString(value); {
	case n == 0 && required:
		errs.add(field, "authority.error.reason.required")
	case n > maxText:
		*errs = append(*errs, fieldError{Field: field, Msg: "authority.error.text.long", Args: map[string]any{"Max": maxText}})
	}
}

// refusedData is the page shown instead of a form the user may not send now.
type refusedData struct {
	CaseID, Number, Stage string
	Title                 string // the form's title (message ID)
	Reason                string // in words
}

// refused shows, instead of a form, why the procedure does not allow its
// command now (409, as the API answers the command).
func (p *Pages) refused(c *fiber.Ctx, pg page, v *cases.View, title, reason string) error {
	pg.Title = title
	pg.Data = refusedData{CaseID: v.Case.ID.String(), Number: v.Case.Number, Stage: v.Case.Stage, Title: title, Reason: reason}
	return p.render(c, http.StatusConflict, "authority_refused", pg)
}

// ruleText is a rule's refusal in the page's language (rule.<code>).
func (p *Pages) ruleText(lang, rule string) string {
	msg, _ := p.refusal(&cases.RuleError{Rule: rule}, lang)
	return msg
}

// submitField is where the error summary points for a refusal of the whole
// form: its submit button (not "submit", which would hide the form's
// submit method from scripts).
const submitField = "send"

// commandOutcome is what became of a form's command.
type commandOutcome struct {
	// Location is the page to go to: the command ran (now or before, for
	// the same form key).
	Location string
	// Errors are the form's problems: what the procedure refused, or a
	// field the service found invalid.
	Errors formErrors
	// NewKey: the form's key was spent on other answers; the form shown
	// again needs a new one to be sent at all.
	NewKey bool
}

// runCommand runs a form's command at most once per form key (the form's
// hidden "key"): Gate.PageOnce keeps the page to go to and audits the
// command as the API audits its commands, and the workflow update carries
// the same key (retryOf), so a double click or a retry is one command.
// fields are what the form says, in order. On success the browser goes to
// the case page with done=<the update's name>. A refusal or an invalid
// field comes back as form errors; other failures as err.
func (p *Pages) runCommand(c *fiber.Ctx, pg page, caseID uuid.UUID, cmd cases.Command, fields ...string) (commandOutcome, error) {
	cmd.Retry = retryOf(c, fields...)
	done := "/cases/" + caseID.String() + "?done=" + cmd.Update
	location, err := p.gate.PageOnce(c, c.FormValue("key"), cmd.Retry.Fingerprint, func() (uuid.UUID, string, error) {
		if _, err := p.Cases.Do(c.UserContext(), *pg.User, cmd); err != nil {
			return uuid.Nil, "", err
		}
		return caseID, done, nil
	})
	if err == nil {
		return commandOutcome{Location: location}, nil
	}
	var out commandOutcome
	if msg, ok := p.refusal(err, pg.Lang); ok {
		out.Errors = append(out.Errors, fieldError{Field: submitField, Msg: "authority.refusal", Args: map[string]any{"Reason": msg}})
		return out, nil
	}
	var verr *cases.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			out.Errors = append(out.Errors, fieldError{Field: fe.Field, Msg: "authority.error.invalid"})
		}
		return out, nil
	}
	if status, _, _ := p.Problem(err); status == http.StatusConflict || status == http.StatusUnprocessableEntity {
		// The form's key was used for other answers (sent, changed, sent
		// again), or is broken: nothing ran now. The user is told, and
		// may send the form again with a new key.
		out.Errors = append(out.Errors, fieldError{Field: submitField, Msg: "authority.error.resent"})
		out.NewKey = true
		return out, nil
	}
	return out, err
}

// finishCommand ends a form's POST after runCommand: on to the next page
// when the command ran (now or for an earlier send of the form), else the
// form again (again) with what went wrong and, when its key was spent on
// other answers, a new key.
func (p *Pages) finishCommand(c *fiber.Ctx, out commandOutcome, err error, errs *formErrors, key *string, again func() error) error {
	if err != nil {
		return p.errorPage(c, err)
	}
	if out.Location != "" {
		return c.Redirect(out.Location, fiber.StatusSeeOther)
	}
	*errs = out.Errors
	if out.NewKey {
		*key = newFormKey()
	}
	return again()
}

// formKey is the key of a form being shown again: the one it was sent
// with, so that sending it once more is still the same command; a new one
// for a form shown for the first time or sent without a valid key.
func formKey(c *fiber.Ctx) string {
	if k := c.FormValue("key"); len(k) == 32 && retryOf(c).Key != "" {
		return k
	}
	return newFormKey()
}
