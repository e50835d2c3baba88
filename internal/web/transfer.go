package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/workflows"
)

// The transfer and reopening forms of the case page: offered, like the
// case owner's forms (caseactions.go), only when the case's workflow says
// the user may give the command now — a supervisor of the agency that holds
// the case, or the competent authority.

var transferActions = []caseAction{
	{path: "transfer", command: workflows.UpdateTransfer, heading: "action.transfer", build: transferForm, run: transferCase},
	{path: "reopen", command: workflows.UpdateReopen, heading: "action.reopen", build: reopenForm, run: reopenCase},
}

func (p *Pages) mountTransfer(r fiber.Router) {
	r.Get("/transferred", p.signedIn(p.transferredPage))
	for _, a := range transferActions {
		r.Get("/cases/:id/"+a.path, p.signedIn(p.showCaseAction(a)))
		r.Post("/cases/:id/"+a.path, p.signedIn(p.runCaseAction(a)))
	}
}

// reopenReasonLabels are the reasons' words in the forms and the timeline.
var reopenReasonLabels = map[string]string{
	sop.ReopenReTrafficked:       "reopen_reason.re_trafficked",
	sop.ReopenNewInformation:     "reopen_reason.new_information",
	sop.ReopenDecisionOverturned: "reopen_reason.decision_overturned",
}

// keepRegion is the region field's answer for "the case stays in its region".
const keepRegion = "same"

func transferForm(p *Pages, c *fiber.Ctx, pg page, _ caseContext, f *caseForm) {
	t := p.msgs.translator(pg.Lang)
	id, _ := uuid.Parse(f.CaseID)
	targets, region, err := p.Cases.TransferTargets(c.UserContext(), *pg.User, id)
	if err != nil {
		p.Log.Warn("transfer form: agencies", "case_id", f.CaseID, "error", err)
	}
	var agencies []option
	for _, a := range targets {
		agencies = append(agencies, option{Value: a.ID.String(),
			Label: t.T("transfer.agency.option", map[string]any{"Name": a.Name, "Regions": strings.Join(a.Regions, ", ")})})
	}
	regions := []option{{Value: keepRegion, Label: t.T("transfer.region.keep", map[string]any{"Region": region})}}
	for _, r := range p.Cases.Regions {
		if r != region {
			regions = append(regions, option{Value: r, Label: r})
		}
	}
	f.Intro = "transfer.intro"
	f.Submit = "transfer.submit"
	f.Fields = []formField{
		{ID: "agency_id", Kind: "radios", Label: "transfer.agency", Hint: "transfer.agency.hint", Options: agencies},
		{ID: "region", Kind: "radios", Label: "transfer.region", Hint: "transfer.region.hint", Options: regions, Value: keepRegion},
		{ID: "reason", Kind: "textarea", Label: "transfer.reason", Hint: "transfer.reason.hint"},
	}
}

// transferCase sends the transfer. A supervisor of the agency that gave the
// case up no longer sees it: the browser goes on to a confirmation that
// names nothing of the case, instead of the case page.
func transferCase(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	agency, region, reason := formChoice(f, "agency_id"), formChoice(f, "region"), formText(f, "reason")
	if len(f.Errors) > 0 {
		return nil
	}
	req := cases.TransferRequest{AgencyID: agency, Reason: reason}
	if region != keepRegion {
		req.Region = region
	}
	return p.once(c, id, f, func(retry cases.Retry) error {
		if _, err := p.Cases.Transfer(c.UserContext(), *pg.User, id, req, retry); err != nil {
			return err
		}
		if err := p.Cases.CheckVisible(c.UserContext(), *pg.User, id); errors.Is(err, cases.ErrNotFound) {
			f.done = "/transferred"
		}
		return nil
	}, agency, region, reason)
}

func reopenForm(p *Pages, _ *fiber.Ctx, pg page, _ caseContext, f *caseForm) {
	t := p.msgs.translator(pg.Lang)
	var reasons []option
	for _, r := range sop.ReopenReasons {
		reasons = append(reasons, option{Value: r, Label: t.T(reopenReasonLabels[r])})
	}
	f.Intro = "reopen.intro"
	f.Submit = "reopen.submit"
	f.Fields = []formField{
		{ID: "reason", Kind: "radios", Label: "reopen.reason", Hint: "reopen.reason.hint", Options: reasons},
		{ID: "note", Kind: "textarea", Label: "reopen.note", Hint: "reopen.note.hint", Optional: true},
	}
}

func reopenCase(p *Pages, c *fiber.Ctx, pg page, id uuid.UUID, f *caseForm) error {
	reason, note := formChoice(f, "reason"), formText(f, "note")
	if len(f.Errors) > 0 {
		return nil
	}
	return p.once(c, id, f, func(retry cases.Retry) error {
		return p.Cases.Reopen(c.UserContext(), *pg.User, id, cases.ReopenRequest{Reason: reason, Note: note}, retry)
	}, reason, note)
}

// transferredPage confirms a transfer to a user whose agency gave the case
// up: it names no case, since the user may no longer see it.
func (p *Pages) transferredPage(c *fiber.Ctx, pg page) error {
	pg.Title = "transferred.title"
	return p.render(c, http.StatusOK, "transferred", pg)
}

// transferEventDetail words what the timeline shows beside a transfer or
// a reopening: the region a transfer moved the case to, the reason of a
// reopening, whether a link records re-trafficking.
func transferEventDetail(t *translator, kind string, data map[string]string) string {
	switch kind {
	case "case_transferred":
		if r := data["to_region"]; r != "" {
			return t.T("transfer.event.region", map[string]any{"Region": r})
		}
	case "case_reopened":
		if id, ok := reopenReasonLabels[data["reason"]]; ok {
			return t.T(id)
		}
	case "case_linked":
		if data["re_trafficked"] == "true" {
			return t.T("reopen_reason.re_trafficked")
		}
	}
	return ""
}
