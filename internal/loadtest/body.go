package loadtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
)

// The same person of the same-person series: synthetic, as every person
// the load opens a case for.
const (
	sameGivenName = "Load"
	sameFamily    = "Loadtest"
	sameBirthDate = "1990-01-01"
	sameDocument  = "LOAD-SAME-0001"
	// +993 0…: Turkmen numbers never start with the trunk prefix 0, so
	// this reaches no one.
	samePhone = "+99300000000"
)

// Screening is a valid case-opening body (docs/api.md#opening-a-case) of an
// adult with the Turkmenistan SOP's indicators of labour trafficking, like
// the tests' screening. Unless same, the person is another each time
// (name, birth date, document and phone), so duplicate detection finds
// nothing; all values are synthetic ("Load…").
func Screening(i int, same bool, region string) map[string]any {
	person := map[string]any{
		"given_name": sameGivenName, "family_name": sameFamily, "birth_date": sameBirthDate,
		"sex": "female", "citizenship": "TM", "languages": []string{"tk", "ru"},
		"phone": samePhone, "document_number": sameDocument,
	}
	if !same {
		person["given_name"] = fmt.Sprintf("Load%d-%s", i, uuid.NewString()[:8])
		person["document_number"] = "LOAD-" + uuid.NewString()[:13]
		person["phone"] = fmt.Sprintf("+9930%07d", rand.IntN(10_000_000))
		person["birth_date"] = time.Date(1970+rand.IntN(35), time.Month(1+rand.IntN(12)), 1+rand.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	return map[string]any{
		"person": person,
		"encounter": map[string]any{
			"occurred_at": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339), "region": region,
			"place": "Load test (synthetic)", "context": "border_check",
		},
		"indicators": []string{"false_job_offer", "deceived_about_wages", "excessive_hours", "no_or_little_pay",
			"documents_withheld", "debt_bondage", "restricted_movement"},
		"exploitation":    []string{"labour"},
		"urgent_needs":    []string{"shelter", "medical"},
		"consent":         map[string]bool{"referral": true, "data_sharing": true},
		"officer_concern": nil,
		"narrative":       "Load test: a synthetic case, no real person.",
	}
}
