package web

// The supervisor's pages: the closures of the agency's cases waiting for an
// answer and the agency's overdue deadlines (/approvals), and the form that
// approves or rejects a closure request.

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/workflows"
)

// mountApprovals adds the supervisor's queue and the closure approval form.
func (p *Pages) mountApprovals(r fiber.Router) {
	r.Get("/approvals", p.signedIn(p.approvalsPage))
	r.Get("/cases/:id/closure/approval", p.signedIn(p.closureForm))
	r.Post("/cases/:id/closure/approval", p.signedIn(p.answerClosure))
}

// closureReasonPrefix + a closure reason of the SOP is its label, the same
// as on the case page (casefile.*.yaml); a reason without one shows its code.
const closureReasonPrefix = "closure_reason."

func (p *Pages) closureReason(lang, code string) string {
	t := p.msgs.translator(lang)
	if t.has(closureReasonPrefix + code) {
		return t.T(closureReasonPrefix + code)
	}
	return code
}

// closureRow is a closure request waiting for the supervisor.
type closureRow struct {
	CaseID, Number, Reason string
	RequestedAt            *time.Time
	// DueAt is the deadline to answer (nil when the SOP sets none).
	DueAt   *time.Time
	LeftMsg string
	LeftN   int
	Overdue bool
}

type approvalsData struct {
	Closures []closureRow
	Overdue  []queueRow
	// More: a list is longer than the rows shown.
	More  bool
	Limit int
}

func (p *Pages) approvalsPage(c *fiber.Ctx, pg page) error {
	ctx, user := c.UserContext(), *pg.User
	closures, err := p.Cases.ClosureQueue(ctx, user, queueLimit+1)
	if err != nil {
		return p.errorPage(c, err)
	}
	overdue, err := p.Cases.OverdueQueue(ctx, user, queueLimit+1)
	if err != nil {
		return p.errorPage(c, err)
	}
	data := approvalsData{Limit: queueLimit}
	if len(closures) > queueLimit {
		closures, data.More = closures[:queueLimit], true
	}
	if len(overdue) > queueLimit {
		overdue, data.More = overdue[:queueLimit], true
	}
	now, l := time.Now(), p.labels(pg.Lang)
	for _, it := range closures {
		zone := l.zone(it.SOPVersion)
		r := closureRow{CaseID: it.CaseID.String(), Number: it.Number, Reason: p.closureReason(pg.Lang, it.Reason)}
		if it.RequestedAt != nil {
			at := it.RequestedAt.In(zone)
			r.RequestedAt = &at
		}
		if it.DueAt != nil {
			due := it.DueAt.In(zone)
			r.DueAt = &due
			r.LeftMsg, r.LeftN, r.Overdue = timeLeft(now, due)
		}
		data.Closures = append(data.Closures, r)
	}
	data.Overdue = p.queueRows(overdue, pg.Lang, now, nil)
	pg.Title, pg.Data = "authority.approvals.title", data
	return p.render(c, http.StatusOK, "authority_approvals", pg)
}

// closureChoices are the answers to a closure request.
var closureChoices = []choice{
	{Value: "approve", Msg: "authority.closure.approve", Hint: "authority.closure.approve.hint"},
	{Value: "reject", Msg: "authority.closure.reject", Hint: "authority.closure.reject.hint"},
}

type closureData struct {
	Choices []choice
	caseHead
	Key     string
	Request *cases.ClosureRequest
	// ReasonText is the request's reason in words.
	ReasonText   string
	Answer, Note string
	Errors       formErrors
}

// closureSubject loads the case and its waiting closure request; refusal
// is why the supervisor may not answer it now ("" when they may).
func (p *Pages) closureSubject(c *fiber.Ctx, pg page) (*cases.View, *cases.ClosureRequest, string, error) {
	v, a, err := p.allowedNow(c, pg, auth.Supervisor)
	if err != nil {
		return nil, nil, "", err
	}
	req, err := p.Cases.PendingClosure(c.UserContext(), *pg.User, v.Case.ID)
	if err != nil {
		return nil, nil, "", err
	}
	switch {
	case a.Allows(workflows.UpdateApproveClosure) && req != nil:
		return v, req, "", nil
	case req == nil || v.Case.Stage != workflows.StageClosure:
		return v, req, p.ruleText(pg.Lang, "no_closure_request"), nil
	case req.RequestedBy == pg.User.UserID:
		return v, req, p.ruleText(pg.Lang, "approver_is_requester"), nil
	}
	return v, req, p.msgs.translator(pg.Lang).T("authority.refused.closure"), nil
}

func (p *Pages) closureForm(c *fiber.Ctx, pg page) error {
	v, req, refusal, err := p.closureSubject(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	if refusal != "" {
		return p.refused(c, pg, v, "authority.closure.title", refusal)
	}
	req.At = req.At.In(p.labels(pg.Lang).zone(v.Case.SOPVersion))
	data := closureData{Choices: closureChoices, caseHead: headOf(v), Key: newFormKey(), Request: req, ReasonText: p.closureReason(pg.Lang, req.Reason)}
	return p.renderForm(c, pg, http.StatusOK, "authority_closure", "authority.closure.title", data)
}

func (p *Pages) answerClosure(c *fiber.Ctx, pg page) error {
	// Whatever the refusal, the command runs: the same form sent again
	// after it was answered goes where the first went, and another is
	// refused by the workflow, in words in the error summary.
	v, req, _, err := p.closureSubject(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	data := closureData{Choices: closureChoices, caseHead: headOf(v), Key: formKey(c), Request: req, Answer: c.FormValue("answer"), Note: c.FormValue("note")}
	if req != nil {
		req.At = req.At.In(p.labels(pg.Lang).zone(v.Case.SOPVersion))
		data.ReasonText = p.closureReason(pg.Lang, req.Reason)
	}
	note := clean(data.Note)
	switch data.Answer {
	case "approve":
		checkText(&data.Errors, "note", note, false)
	case "reject":
		if note == "" {
			data.Errors.add("note", "authority.error.closure.note")
		}
		checkText(&data.Errors, "note", note, false)
	default:
		data.Errors.add("answer", "authority.error.closure.answer")
		checkText(&data.Errors, "note", note, false)
	}
	if len(data.Errors) > 0 {
		return p.renderForm(c, pg, http.StatusUnprocessableEntity, "authority_closure", "authority.closure.title", data)
	}
	cmd := cases.ApproveClosure(v.Case.ID, note)
	if data.Answer == "reject" {
		cmd = cases.RejectClosure(v.Case.ID, note)
	}
	out, err := p.runCommand(c, pg, v.Case.ID, cmd, data.Answer, note)
	return p.finishCommand(c, out, err, &data.Errors, &data.Key, func() error {
		return p.renderForm(c, pg, http.StatusConflict, "authority_closure", "authority.closure.title", data)
	})
}
