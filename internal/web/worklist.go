package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// worklist is the signed-in user's open cases, the most urgent first.
type worklist struct {
	Rows   []worklistRow
	Stages []string
	Stage  string
	Number string
	// CanOpen: the user screens and opens cases (frontline officers).
	CanOpen bool
}

// worklistRow is one case of the worklist with its next deadline.
type worklistRow struct {
	ID, Number, Stage, Region string
	OpenedAt                  time.Time
	Next                      string // the deadline's label in the page's language
	DueAt                     *time.Time
	Left                      string
	LeftN                     int
	Overdue                   bool
}

// homes are the start pages of the roles that see no cases.
var homes = map[auth.Role]string{auth.Provider: "/referrals", auth.TWG: "/twg", auth.Admin: "/admin"}

func (p *Pages) worklist(c *fiber.Ctx, pg page) error {
	if home, ok := homes[pg.User.Role]; ok {
		return c.Redirect(home, fiber.StatusSeeOther)
	}
	w := worklist{Stage: c.Query("stage"), Number: strings.ToUpper(strings.TrimSpace(c.Query("number"))),
		CanOpen: pg.User.Is(auth.Frontline)}
	for _, s := range workflows.Stages {
		if s != workflows.StageClosed {
			w.Stages = append(w.Stages, s)
		}
	}
	if !slices.Contains(w.Stages, w.Stage) {
		w.Stage = ""
	}
	if len(w.Number) > 32 {
		w.Number = w.Number[:32]
	}
	list, err := p.Cases.Worklist(c.UserContext(), *pg.User, store.CaseFilter{Stage: w.Stage, Number: w.Number, Limit: 200})
	if err != nil && !errors.Is(err, cases.ErrForbidden) {
		return p.errorPage(c, err)
	}
	now := time.Now()
	for _, k := range list {
		row := worklistRow{ID: k.ID.String(), Number: k.Number, Stage: k.Stage, Region: k.Region, OpenedAt: k.OpenedAt, DueAt: k.NextDueAt}
		if k.NextObligation != nil && k.NextDueAt != nil {
			row.Next = p.obligationLabel(*k.NextObligation, pg.Lang)
			row.Left, row.LeftN, row.Overdue = timeLeft(now, *k.NextDueAt)
		}
		w.Rows = append(w.Rows, row)
	}
	pg.Title, pg.Data = "worklist.title", w
	return p.render(c, http.StatusOK, "worklist", pg)
}
