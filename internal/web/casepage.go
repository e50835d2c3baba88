package web

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/identity"
)

// casePage is what the case page shows. Person is nil for roles that do not
// see identities (the service decides, and audits the read).
type casePage struct {
	Number, Stage, Region, AgeBand, Sex string
	Child                               bool
	OpenedAt                            time.Time
	Person                              *identity.Person
	Obligations                         []obligationRow
}

// obligationRow is one of the case's deadlines, labelled from the case's SOP
// in the page's language.
type obligationRow struct {
	Label, Status string
	DueAt         time.Time
	// Days is the whole days left until DueAt (negative: overdue); only for
	// obligations still pending or running.
	Days    int
	Open    bool
	Overdue bool
}

// casePage shows a case the user may see: a foreign or unknown case is the
// 404 page, exactly as the API answers 404.
func (p *Pages) casePage(c *fiber.Ctx, pg page) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.errorPage(c, cases.ErrNotFound)
	}
	v, err := p.Cases.Get(c.UserContext(), *pg.User, id, cases.RequestInfo{RequestID: p.gate.RequestID(c), Identity: true})
	if err != nil {
		return p.errorPage(c, err)
	}
	k := v.Case
	out := casePage{Number: k.Number, Stage: k.Stage, Region: k.Region, AgeBand: k.AgeBand, Sex: k.Sex, Child: k.Child,
		OpenedAt: k.OpenedAt, Person: v.Person}
	s, known := p.Cases.SOPs.Get(k.SOPVersion)
	now := time.Now()
	for _, o := range v.Obligations {
		row := obligationRow{Label: o.Obligation, Status: o.Status, DueAt: o.DueAt}
		if known {
			if def, ok := s.Obligation(o.Obligation); ok {
				row.Label = def.Label.In(pg.Lang)
			}
		}
		if o.Status == "pending" || o.Status == "running" {
			row.Open = true
			row.Days = daysBetween(now, o.DueAt)
			row.Overdue = o.DueAt.Before(now)
		}
		out.Obligations = append(out.Obligations, row)
	}
	pg.Title, pg.Data = "case.title", out
	return p.render(c, http.StatusOK, "case", pg)
}

// daysBetween counts whole days from now to t, rounding towards now: a
// deadline 30 hours away is "1 day left", 30 hours ago "1 day overdue".
func daysBetween(now, t time.Time) int {
	return int(t.Sub(now) / (24 * time.Hour))
}
