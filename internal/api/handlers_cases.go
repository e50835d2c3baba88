package api

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

type screeningJSON struct {
	Outcome    string          `json:"outcome"`
	Dimensions map[string]bool `json:"dimensions"`
}

type personJSON struct {
	GivenName      string   `json:"given_name"`
	FamilyName     string   `json:"family_name"`
	BirthDate      *string  `json:"birth_date"`
	AgeEstimate    *int     `json:"age_estimate"`
	Sex            string   `json:"sex"`
	Citizenship    string   `json:"citizenship"`
	Languages      []string `json:"languages"`
	Phone          string   `json:"phone"`
	DocumentNumber string   `json:"document_number"`
	Place          string   `json:"place"`
	Narrative      string   `json:"narrative"`
	OfficerConcern string   `json:"officer_concern,omitempty"`
}

type caseJSON struct {
	ID                 string           `json:"id"`
	Number             string           `json:"number"`
	Stage              string           `json:"stage"`
	Child              bool             `json:"child"`
	SOPVersion         string           `json:"sop_version"`
	OpenedAt           time.Time        `json:"opened_at"`
	AgencyID           string           `json:"agency_id"`
	Region             string           `json:"region"`
	Sex                string           `json:"sex"`
	AgeBand            string           `json:"age_band"`
	Citizenship        string           `json:"citizenship"`
	Exploitation       []string         `json:"exploitation"`
	UrgentNeeds        []string         `json:"urgent_needs"`
	ConsentReferral    *bool            `json:"consent_referral"`
	ConsentDataSharing *bool            `json:"consent_data_sharing"`
	OfficerConcern     bool             `json:"officer_concern"`
	Screening          *screeningJSON   `json:"screening,omitempty"`
	Indicators         []string         `json:"indicators,omitempty"`
	Obligations        []obligationJSON `json:"obligations,omitempty"`
	// PossibleDuplicate lists the earlier cases of the same person that the
	// caller may already see; others are reported to the competent authority.
	PossibleDuplicate *duplicateJSON `json:"possible_duplicate,omitempty"`
	Person            *personJSON    `json:"person,omitempty"`

	// ServiceRegion, ReopenedCount and ReTrafficked: transfers and
	// reopenings (handlers_transfer.go).
	ServiceRegion *string `json:"service_region"`
	ReopenedCount int     `json:"reopened_count"`
	ReTrafficked  bool    `json:"re_trafficked"`

	// Where the person was exploited and moved through (ISO 3166-1 alpha-2).
	ExploitationCountries []string `json:"exploitation_countries"`
	TransitCountries      []string `json:"transit_countries"`
}

type duplicateJSON struct {
	Cases []duplicateCaseJSON `json:"cases"`
}

type duplicateCaseJSON struct {
	ID     string `json:"id"`
	Number string `json:"number"`
}

type obligationJSON struct {
	ID            string     `json:"id"`
	Obligation    string     `json:"obligation"`
	Status        string     `json:"status"`
	StartsAt      time.Time  `json:"starts_at"`
	DueAt         time.Time  `json:"due_at"`
	MetAt         *time.Time `json:"met_at"`
	BreachedAt    *time.Time `json:"breached_at"`
	OwnerRole     string     `json:"owner_role"`
	OwnerAgencyID *string    `json:"owner_agency_id"`
}

// caseSummary is the list shape: no screening detail, no identity.
func caseSummary(c *store.Case) caseJSON {
	return caseJSON{
		ID: c.ID.String(), Number: c.Number, Stage: c.Stage, Child: c.Child, SOPVersion: c.SOPVersion,
		OpenedAt: c.OpenedAt.UTC(), AgencyID: c.AgencyID.String(), Region: c.Region, Sex: c.Sex,
		AgeBand: c.AgeBand, Citizenship: c.Citizenship, Exploitation: c.Exploitation, UrgentNeeds: c.UrgentNeeds,
		ConsentReferral: c.ConsentReferral, ConsentDataSharing: c.ConsentDataSharing, OfficerConcern: c.OfficerConcern,
		ServiceRegion: c.ServiceRegion, ReopenedCount: c.ReopenedCount, ReTrafficked: c.ReTrafficked,
		ExploitationCountries: nonNil(c.ExploitationCountries), TransitCountries: nonNil(c.TransitCountries),
	}
}

func caseDetail(v *cases.View) (caseJSON, error) {
	out := caseSummary(v.Case)
	out.Indicators = v.Case.Indicators
	var dims map[string]struct {
		Positive bool
	}
	if err := json.Unmarshal(v.Case.Screening, &dims); err != nil {
		return out, err
	}
	out.Screening = &screeningJSON{Outcome: v.Case.ScreeningOutcome, Dimensions: map[string]bool{}}
	for id, d := range dims {
		out.Screening.Dimensions[id] = d.Positive
	}
	out.Obligations = []obligationJSON{}
	for _, o := range v.Obligations {
		oj := obligationJSON{ID: o.ID, Obligation: o.Obligation, Status: o.Status, StartsAt: o.StartsAt.UTC(), DueAt: o.DueAt.UTC(),
			MetAt: utc(o.MetAt), BreachedAt: utc(o.BreachedAt), OwnerRole: o.OwnerRole}
		if o.OwnerAgencyID != nil {
			a := o.OwnerAgencyID.String()
			oj.OwnerAgencyID = &a
		}
		out.Obligations = append(out.Obligations, oj)
	}
	if p := v.Person; p != nil {
		pj := &personJSON{GivenName: p.GivenName, FamilyName: p.FamilyName, AgeEstimate: p.AgeEstimate,
			Sex: v.Case.Sex, Citizenship: v.Case.Citizenship, Languages: p.Languages, Phone: p.Phone,
			DocumentNumber: p.DocumentNumber, Place: p.Place, Narrative: p.Narrative, OfficerConcern: p.OfficerConcern}
		if p.BirthDate != nil {
			d := p.BirthDate.Format(time.DateOnly)
			pj.BirthDate = &d
		}
		out.Person = pj
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// answerCase answers with the case as the caller may see it, without the identity.
func (s *Server) answerCase(c *fiber.Ctx, id uuid.UUID, status int) error {
	v, err := s.deps.Cases.Get(c.UserContext(), signedInUser(c), id, requestInfo(c))
	if err != nil {
		return err
	}
	out, err := caseDetail(v)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(out)
}

func (s *Server) openCase(c *fiber.Ctx) error {
	var req cases.OpenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	opened, err := s.deps.Cases.OpenWith(c.UserContext(), signedInUser(c), req, retryOf(c))
	if err != nil {
		return err
	}
	obligations, err := s.deps.Cases.Obligations(c.UserContext(), opened.Case.ID)
	if err != nil {
		return err
	}
	out, err := caseDetail(&cases.View{Case: opened.Case, Obligations: obligations})
	if err != nil {
		return err
	}
	if len(opened.Duplicates) > 0 {
		out.PossibleDuplicate = &duplicateJSON{}
		for _, d := range opened.Duplicates {
			out.PossibleDuplicate.Cases = append(out.PossibleDuplicate.Cases, duplicateCaseJSON{ID: d.ID.String(), Number: d.Number})
		}
	}
	c.Locals(localAuditCase, opened.Case.ID)
	c.Location("/api/v1/cases/" + opened.Case.ID.String())
	return c.Status(fiber.StatusCreated).JSON(out)
}

// maxSearch is the longest q of a case search, in characters.
const maxSearch = 200

// listCases answers a page of the cases the caller may see, newest opened
// first, with the filters and search of docs/api.md#pagination; next is
// the cursor of the following page (passed back as after), null on the last.
func (s *Server) listCases(c *fiber.Ctx) error {
	svc := s.deps.Cases
	var q queryErrors
	q.only(c, "limit", "after", "q", "stage", "region", "agency_id", "child", "overdue", "opened_from", "opened_to", "sop_version")
	// Dates are days in the SOP's time zone; regions and SOP versions those
	// of the deployment.
	loc, regions, versions := time.UTC, []string(nil), []string(nil)
	if svc != nil && svc.SOPs != nil {
		if active, err := svc.SOPs.Active(time.Now()); err == nil {
			loc = active.Calendar.Location
		}
		for _, p := range svc.SOPs.All() {
			versions = append(versions, p.Version)
		}
		regions = svc.Regions
	}
	f := store.CaseFilter{
		Limit:      q.limit(c, 100, cases.MaxPage),
		After:      q.cursor(c, s, cursorCases),
		Stage:      q.oneOf(c, "stage", workflows.Stages),
		Region:     q.oneOf(c, "region", regions),
		AgencyID:   q.uuid(c, "agency_id"),
		Child:      q.boolean(c, "child"),
		Overdue:    q.boolean(c, "overdue"),
		OpenedFrom: q.instant(c, "opened_from", loc, false),
		OpenedTo:   q.instant(c, "opened_to", loc, true),
		SOPVersion: q.oneOf(c, "sop_version", versions),
	}
	if f.OpenedFrom != nil && f.OpenedTo != nil && f.OpenedFrom.After(*f.OpenedTo) {
		q = append(q, cases.FieldError{Field: "opened_to", Rule: "after_from", Message: "must not be before opened_from"})
	}
	search := q.text(c, "q", maxSearch)
	if err := q.err(); err != nil {
		return err
	}
	page, err := svc.Search(c.UserContext(), signedInUser(c), cases.ListRequest{Filter: f, Q: search}, requestInfo(c))
	if err != nil {
		return err
	}
	out := make([]caseJSON, 0, len(page.Cases))
	for i := range page.Cases {
		out = append(out, caseSummary(&page.Cases[i]))
	}
	var next *string
	if page.More {
		last := page.Cases[len(page.Cases)-1]
		cur := s.encodeCursor(cursorCases, store.Cursor{At: last.OpenedAt, ID: last.ID})
		next = &cur
	}
	return c.JSON(fiber.Map{"cases": out, "next": next})
}

func (s *Server) getCase(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound // a malformed ID names no case the caller may see
	}
	v, err := s.deps.Cases.Get(c.UserContext(), signedInUser(c), id, cases.RequestInfo{RequestID: requestID(c), ClientRequestID: clientRequestID(c), Identity: true})
	if err != nil {
		return err
	}
	out, err := caseDetail(v)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
