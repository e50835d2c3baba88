package cases

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
)

// PersonInput is the identity part of a screening.
type PersonInput struct {
	GivenName      string   `json:"given_name" validate:"required,max=200"`
	FamilyName     string   `json:"family_name" validate:"max=200"`
	BirthDate      *string  `json:"birth_date" validate:"omitempty,datetime=2006-01-02"`
	AgeEstimate    *int     `json:"age_estimate" validate:"omitempty,min=0,max=120"`
	Sex            string   `json:"sex" validate:"required,oneof=female male other unknown"`
	Citizenship    string   `json:"citizenship" validate:"required,len=2,uppercase"`
	Languages      []string `json:"languages" validate:"max=10,dive,min=2,max=3,lowercase,alpha"`
	Phone          string   `json:"phone" validate:"max=40"`
	DocumentNumber string   `json:"document_number" validate:"max=60"`
}

// EncounterInput is where and how the person was met.
type EncounterInput struct {
	OccurredAt string `json:"occurred_at" validate:"required,datetime=2006-01-02T15:04:05Z07:00"`
	Region     string `json:"region" validate:"required"`
	Place      string `json:"place" validate:"max=500"`
	Context    string `json:"context" validate:"required,oneof=border_check police_operation labour_inspection outreach hotline self_referral ngo_referral embassy other"`
}

// ConsentInput records the adult's informed consent.
type ConsentInput struct {
	Referral    bool `json:"referral"`
	DataSharing bool `json:"data_sharing"`
}

// OpenRequest is the body of POST /api/v1/cases (docs/api.md#opening-a-case).
type OpenRequest struct {
	Person         PersonInput    `json:"person"`
	Encounter      EncounterInput `json:"encounter"`
	Indicators     []string       `json:"indicators" validate:"max=200"`
	Exploitation   []string       `json:"exploitation" validate:"max=10,dive,oneof=labour sexual domestic_servitude forced_begging forced_criminality forced_marriage organ_removal other"`
	UrgentNeeds    []string       `json:"urgent_needs" validate:"max=20"`
	Consent        *ConsentInput  `json:"consent"`
	OfficerConcern *string        `json:"officer_concern" validate:"omitempty,max=4000"`
	Narrative      string         `json:"narrative" validate:"max=20000"`

	// ExploitationCountries are where the person was exploited and
	// TransitCountries those they were moved through: ISO 3166-1 alpha-2
	// codes (package country); ["TM"] alone is trafficking within the
	// country. Not identity: they are kept on the anonymised case.
	ExploitationCountries []string `json:"exploitation_countries" validate:"max=30,dive,len=2,uppercase"`
	TransitCountries      []string `json:"transit_countries" validate:"max=30,dive,len=2,uppercase"`
}

// occurredAt parses the encounter time; the decoder checked its format.
func (r OpenRequest) occurredAt() (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, r.Encounter.OccurredAt)
	return t, err == nil
}

func (r OpenRequest) birthDate() (time.Time, bool) {
	if r.Person.BirthDate == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, *r.Person.BirthDate)
	return t, err == nil
}

// validate applies the rules that need the SOP and the clock; struct-tag
// rules were checked by the API's decoder.
func (s *Service) validate(active *sop.SOP, req *OpenRequest, now time.Time, v *ValidationError) {
	if at, ok := req.occurredAt(); ok && at.After(now.Add(5*time.Minute)) {
		v.add("encounter.occurred_at", "not_future", "the encounter cannot be in the future")
	}
	if req.Encounter.Region != "" && !slices.Contains(s.Regions, req.Encounter.Region) {
		v.add("encounter.region", "oneof", "region must be one of: "+strings.Join(s.Regions, ", "))
	}
	if b, ok := req.birthDate(); ok {
		if b.After(now) {
			v.add("person.birth_date", "not_future", "birth date cannot be in the future")
		} else if now.Year()-b.Year() > 120 {
			v.add("person.birth_date", "range", "birth date is more than 120 years ago")
		}
		if req.Person.AgeEstimate != nil {
			v.add("person.age_estimate", "excluded_with", "give birth_date or age_estimate, not both")
		}
	}
	for i, id := range req.Indicators {
		if _, ok := active.Indicator(id); !ok {
			v.add(fmt.Sprintf("indicators[%d]", i), "sop_indicator", fmt.Sprintf("%q is not an indicator of SOP %s", id, active.Version))
		}
	}
	for i, id := range req.UrgentNeeds {
		svc, ok := active.Service(id)
		switch {
		case !ok:
			v.add(fmt.Sprintf("urgent_needs[%d]", i), "sop_service", fmt.Sprintf("%q is not a service of SOP %s", id, active.Version))
		case !svc.Urgent:
			v.add(fmt.Sprintf("urgent_needs[%d]", i), "sop_urgent", fmt.Sprintf("%q is not an urgent service in SOP %s", id, active.Version))
		}
	}
	child, _ := classifyAge(active, *req)
	if !child && req.Consent == nil {
		v.add("consent", "required", "an adult's consent to referral and to data sharing must be recorded")
	}
	if req.OfficerConcern != nil && strings.TrimSpace(*req.OfficerConcern) == "" {
		v.add("officer_concern", "not_blank", "an officer concern needs a written reason, or null")
	}
	checkCountries(v, "exploitation_countries", req.ExploitationCountries)
	checkCountries(v, "transit_countries", req.TransitCountries)
}

// classifyAge decides the track. With neither a birth date nor an age
// estimate the person may be a child, and the child track protects them.
func classifyAge(active *sop.SOP, req OpenRequest) (child bool, band string) {
	age := -1
	at, _ := req.occurredAt()
	if birth, ok := req.birthDate(); ok {
		age = ageAt(birth, at)
	} else if req.Person.AgeEstimate != nil {
		age = *req.Person.AgeEstimate
	}
	if age < 0 {
		return true, "unknown"
	}
	return active.IsChildAge(age), AgeBand(age)
}

func ageAt(birth, at time.Time) int {
	years := at.Year() - birth.Year()
	if at.Month() < birth.Month() || (at.Month() == birth.Month() && at.Day() < birth.Day()) {
		years--
	}
	return years
}

// AgeBand generalises an age to the bands the Counter Trafficking Data
// Collaborative publishes, so statistics never carry an exact age.
func AgeBand(age int) string {
	bands := []struct {
		upTo int
		name string
	}{{8, "0-8"}, {17, "9-17"}, {20, "18-20"}, {23, "21-23"}, {26, "24-26"}, {30, "27-30"}, {38, "31-38"}, {47, "39-47"}}
	for _, b := range bands {
		if age <= b.upTo {
			return b.name
		}
	}
	return "48+"
}
