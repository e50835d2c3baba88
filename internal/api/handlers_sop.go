package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/sop"
)

// sopJSON is an SOP version as clients label and explain it: every label in
// every language, the screening rule, services, deadlines and the lists
// commands are checked against.
type sopJSON struct {
	ID                 string          `json:"id"`
	Version            string          `json:"version"`
	Active             bool            `json:"active"`
	Title              sop.Text        `json:"title"`
	EffectiveFrom      string          `json:"effective_from"`
	Languages          []string        `json:"languages"`
	ChildAgeUnder      int             `json:"child_age_under"`
	Dimensions         []sopDimension  `json:"dimensions"`
	Indicators         []sopIndicator  `json:"indicators"`
	Screening          sopScreening    `json:"screening"`
	Services           []sopService    `json:"services"`
	Obligations        []sopObligation `json:"obligations"`
	ClosureReasons     []string        `json:"closure_reasons"`
	DeclineReasons     []string        `json:"decline_reasons"`
	CompletionOutcomes []string        `json:"completion_outcomes"`
	// PriorityCountries: the countries a screening form offers first (ISO
	// 3166-1 alpha-2); empty when the version names none.
	PriorityCountries []string `json:"priority_countries"`
	// AttachmentKinds: the kinds a case's attachments may have.
	AttachmentKinds []string `json:"attachment_kinds"`
	// Reopening: the stage a closed case reopened for each reason starts
	// from (every reason, the defaults filled in).
	Reopening map[string]string `json:"reopening"`
}

type sopDimension struct {
	ID    string   `json:"id"`
	Label sop.Text `json:"label"`
}

type sopIndicator struct {
	ID        string   `json:"id"`
	Dimension string   `json:"dimension"`
	Strength  string   `json:"strength"`
	Label     sop.Text `json:"label"`
}

type sopScreening struct {
	// DimensionPositive: a dimension is positive when any rule holds; a rule
	// gives minimum counts of observed indicators by strength.
	DimensionPositive []sop.Rule `json:"dimension_positive"`
	// PresumedVictim per track: every group must have a positive dimension.
	PresumedVictim struct {
		Adult [][]string `json:"adult"`
		Child [][]string `json:"child"`
	} `json:"presumed_victim"`
}

type sopService struct {
	ID          string   `json:"id"`
	Urgent      bool     `json:"urgent"`
	Beds        bool     `json:"beds"`
	ResponseDue string   `json:"response_due"`
	Label       sop.Text `json:"label"`
}

type sopObligation struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	When     string   `json:"when"`
	Owner    string   `json:"owner"`
	StartsOn string   `json:"starts_on"`
	MetBy    []string `json:"met_by"`
	// Due is the deadline's length (deadline kind); Duration the period's
	// (protected kind); the other is "".
	Due      string   `json:"due"`
	Duration string   `json:"duration"`
	Forbids  []string `json:"forbids"`
	Label    sop.Text `json:"label"`
}

func durationText(d sop.Duration) string {
	if d.N == 0 {
		return ""
	}
	return d.String()
}

func sopOf(s *sop.SOP, active bool) sopJSON {
	out := sopJSON{ID: s.ID, Version: s.Version, Active: active, Title: s.Title,
		EffectiveFrom: s.EffectiveFrom.Format(time.DateOnly), Languages: sop.Languages, ChildAgeUnder: s.ChildAgeUnder,
		ClosureReasons: nonNil(s.ClosureReasons), DeclineReasons: nonNil(s.DeclineReasons), CompletionOutcomes: nonNil(s.CompletionOutcomes),
		Dimensions: []sopDimension{}, Indicators: []sopIndicator{}, Services: []sopService{}, Obligations: []sopObligation{},
		PriorityCountries: nonNil(s.PriorityCountries), AttachmentKinds: nonNil(s.AttachmentKinds),
		Reopening: map[string]string{}}
	for _, reason := range sop.ReopenReasons {
		out.Reopening[reason] = s.ReopenStage(reason)
	}
	for _, d := range s.Dimensions {
		out.Dimensions = append(out.Dimensions, sopDimension{ID: d.ID, Label: d.Label})
	}
	for _, i := range s.Indicators {
		out.Indicators = append(out.Indicators, sopIndicator{ID: i.ID, Dimension: i.Dimension, Strength: i.Strength, Label: i.Label})
	}
	out.Screening.DimensionPositive = s.Screening.DimensionPositive
	out.Screening.PresumedVictim.Adult = nonNilGroups(s.Screening.PresumedVictim.Adult)
	out.Screening.PresumedVictim.Child = nonNilGroups(s.Screening.PresumedVictim.Child)
	if out.Screening.DimensionPositive == nil {
		out.Screening.DimensionPositive = []sop.Rule{}
	}
	for _, v := range s.Services {
		out.Services = append(out.Services, sopService{ID: v.ID, Urgent: v.Urgent, Beds: v.Beds, ResponseDue: durationText(v.ResponseDue), Label: v.Label})
	}
	for _, o := range s.Obligations {
		out.Obligations = append(out.Obligations, sopObligation{ID: o.ID, Kind: o.Kind, When: o.When, Owner: o.Owner, StartsOn: o.StartsOn,
			MetBy: nonNil(o.MetBy), Due: durationText(o.Due), Duration: durationText(o.Duration), Forbids: nonNil(o.Forbids), Label: o.Label})
	}
	return out
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// getSOP answers the SOP in force (GET /api/v1/sop) or a named version.
func (s *Server) getSOP(c *fiber.Ctx) error {
	v, active, err := s.deps.Cases.Catalogue(signedInUser(c), c.Params("version"))
	if err != nil {
		return err
	}
	return c.JSON(sopOf(v, active))
}

func nonNilGroups(g [][]string) [][]string {
	if g == nil {
		return [][]string{}
	}
	return g
}
