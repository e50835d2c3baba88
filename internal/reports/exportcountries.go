package reports

import (
	"slices"

	"github.com/nrm-tm/nrm/internal/store"
)

// The countries of the HTCDS export (issue 15, point 7). Where a person was
// exploited can be known to people around them ("she went to work in
// Türkiye") and a rare country singles a record out, so both country
// fields are quasi-identifiers: every combination of them with the other
// quasi-identifiers occurs at least k times, like the rest. When the other
// steps of the ladder are not enough, its last step withholds them.

// stepCountries is the ladder's last step; it is taken only when some
// record has a country to withhold.
const stepCountries = "countries of exploitation and transit withheld"

// exportCountries are a case's vic_LocationOfExploitation (the countries
// of exploitation) and hte_Country (the countries of transit and of
// exploitation together), each sorted, each country once, never nil.
func exportCountries(r store.ReportExportRow) (location, countries []string) {
	location = sortedSet(r.ExploitationCountries)
	countries = sortedSet(append(slices.Clone([]string(r.TransitCountries)), r.ExploitationCountries...))
	return location, countries
}

func sortedSet(xs []string) []string {
	out := slices.Clone(xs)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// withoutCountries is the record with its countries withheld.
func withoutCountries(r Record) Record {
	r.Location, r.Countries = []string{}, []string{}
	return r
}

// lastLevel is the last level of the ladder the records can use: the step
// that withholds countries only when some record has one.
func lastLevel(base []Record) int {
	for _, r := range base {
		if len(r.Location) > 0 || len(r.Countries) > 0 {
			return len(ladder) - 1
		}
	}
	return len(ladder) - 2
}
