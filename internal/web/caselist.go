package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// The case list (GET /cases): the cases the user may see — their agency's
// for frontline officers and supervisors, all for the competent authority,
// exactly as GET /api/v1/cases answers — newest first, filtered by stage
// and searched by case number (the whole number or its beginning), a page
// of casesPerPage at a time with "showing 1–50 of 312". Lists carry no
// identity data. Roles without cases (providers, the TWG, administrators)
// get the 403 page in words.

// casesPerPage is how many cases a page of the list shows.
const casesPerPage = 50

// caseNumberSearch is what the number field accepts: the characters of
// case numbers (TM-2026-000123), whole or a beginning.
var caseNumberSearch = regexp.MustCompile(`^[A-Z0-9-]{1,40}$`)

func (p *Pages) mountCaseList(r fiber.Router) {
	r.Get("/cases", p.signedIn(p.caseList))
}

// caseRow is one case of the list: its number, stage, region and opening
// date, nothing of the person.
type caseRow struct {
	ID, Number, Stage, Region string
	OpenedAt                  time.Time
}

type caseListData struct {
	// Number and Stage are the search as typed; Stages the stage choices.
	Number, Stage string
	Stages        []string
	Errors        formErrors
	Rows          []caseRow
	// Total is how many cases match; From and To the ones this page shows
	// (1-based).
	Total, From, To int
	Prev, Next      string
	Searched        bool
}

func (p *Pages) caseList(c *fiber.Ctx, pg page) error {
	data := caseListData{Stages: workflows.Stages, Number: clean(c.Query("number")), Stage: c.Query("stage")}
	f := store.CaseFilter{Limit: casesPerPage}
	if data.Number != "" {
		f.Number = strings.ToUpper(data.Number)
		if !caseNumberSearch.MatchString(f.Number) {
			data.Errors.add("number", "lists.cases.error.number")
		}
	}
	if data.Stage != "" {
		if !slices.Contains(workflows.Stages, data.Stage) {
			data.Errors.add("stage", "lists.cases.error.stage")
		}
		f.Stage = data.Stage
	}
	data.Searched = f.Number != "" || f.Stage != ""
	pageNo, _ := strconv.Atoi(c.Query("page", "1"))
	pageNo = min(max(pageNo, 1), 10000)
	f.Offset = (pageNo - 1) * casesPerPage
	pg.Title = "lists.cases.title"
	if len(data.Errors) > 0 {
		pg.Data = data
		return p.render(c, http.StatusUnprocessableEntity, "cases", pg)
	}
	ctx := c.UserContext()
	total, err := p.Cases.Count(ctx, *pg.User, f)
	if errors.Is(err, cases.ErrForbidden) {
		return p.render(c, http.StatusForbidden, "error", page{Lang: pg.Lang, Title: "error.title", User: pg.User, CSRF: pg.CSRF,
			Data: "lists.cases.forbidden"})
	}
	if err != nil {
		return p.errorPage(c, err)
	}
	list, err := p.Cases.List(ctx, *pg.User, f)
	if err != nil {
		return p.errorPage(c, err)
	}
	data.Total = total
	for _, k := range list {
		data.Rows = append(data.Rows, caseRow{ID: k.ID.String(), Number: k.Number, Stage: k.Stage, Region: k.Region, OpenedAt: k.OpenedAt})
	}
	if len(list) > 0 {
		data.From, data.To = f.Offset+1, f.Offset+len(list)
	}
	link := func(n int) string {
		q := url.Values{}
		if data.Number != "" {
			q.Set("number", data.Number)
		}
		if data.Stage != "" {
			q.Set("stage", data.Stage)
		}
		if n > 1 {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return "/cases"
		}
		return "/cases?" + q.Encode()
	}
	if pageNo > 1 {
		data.Prev = link(pageNo - 1)
	}
	if f.Offset+len(list) < total {
		data.Next = link(pageNo + 1)
	}
	pg.Data = data
	return p.render(c, http.StatusOK, "cases", pg)
}
