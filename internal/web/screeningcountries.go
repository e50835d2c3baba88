package web

import (
	"slices"
	"strings"

	"github.com/nrm-tm/nrm/internal/country"
	"github.com/nrm-tm/nrm/internal/sop"
)

// The questions on countries of the screening form (issue 15, point 7):
// where the person was exploited and which countries they were moved
// through. Each offers the SOP's priority countries as checkboxes, named
// in the page's language, and a text box for the codes of any other
// country; the service checks the codes (cases.checkCountries) as for the
// API. Turkmenistan alone is internal trafficking.

// screeningCountryField is one of the questions.
type screeningCountryField struct {
	ID        string // the request's field: exploitation_countries or transit_countries
	Label     string // message IDs
	Hint      string
	Priority  []screeningChoice
	Other     string // the codes typed
	OtherID   string // the text box's ID: the question's ID when it has no checkbox
	OtherName string
}

// screeningCountryFields are the two questions, with what was ticked and
// typed.
func screeningCountryFields(active *sop.SOP, f screeningForm, t *translator) []screeningCountryField {
	label := func(code string) string { return country.Name(code, t.lang) }
	field := func(id, msg, hint string, ticked []string, other string) screeningCountryField {
		q := screeningCountryField{ID: id, Label: msg, Hint: hint, Other: other, OtherID: id + "-other", OtherName: id + "_other"}
		q.Priority = screeningChoices(id, active.PriorityCountries, ticked, label)
		if len(q.Priority) == 0 {
			q.OtherID = id // the error summary links to the question's first input
		}
		return q
	}
	return []screeningCountryField{
		field("exploitation_countries", "screening.exploitation_countries", "screening.exploitation_countries.hint",
			f.ExploitationCountries, f.ExploitationCountriesOther),
		field("transit_countries", "screening.transit_countries", "screening.transit_countries.hint",
			f.TransitCountries, f.TransitCountriesOther),
	}
}

// screeningCountries joins the ticked countries and the codes typed (in any
// letter case, separated by commas, semicolons or spaces), each once.
func screeningCountries(ticked []string, other string) []string {
	var out []string
	for _, c := range ticked {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, c := range strings.FieldsFunc(other, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if c = strings.ToUpper(c); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
