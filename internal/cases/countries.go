package cases

import (
	"fmt"
	"strings"

	"github.com/nrm-tm/nrm/internal/country"
)

// checkCountries adds the rule "country" on each item of a list of
// countries (field) that is no assigned ISO 3166-1 alpha-2 code. The struct
// rules checked the shape (two upper-case letters) already; this checks
// that the country exists, so that XX or EU never reaches the statistics.
func checkCountries(v *ValidationError, field string, codes []string) {
	for i, c := range codes {
		// A code of another shape (lower case, three letters) breaks the
		// struct rules already, which say how to write it.
		if len(c) == 2 && strings.ToUpper(c) == c && !country.Valid(c) {
			v.add(fmt.Sprintf("%s[%d]", field, i), "country", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code", c))
		}
	}
}
