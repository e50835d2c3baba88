package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nrm-tm/nrm/internal/store"
)

// AgencyTypes are the kinds of agencies the directory knows (the API's
// agency body lists the same).
var AgencyTypes = []string{"law_enforcement", "ngo", "competent_authority", "legal_service", "health", "social_service",
	"child_protection", "international_organisation", "twg", "administration", "other"}

// ErrAgencyType: the type is not one of AgencyTypes.
var ErrAgencyType = errors.New("not a type of agency: use one of " + strings.Join(AgencyTypes, ", "))

// AddAgency adds an agency (its name trimmed) and answers it as stored.
// A name in use is a FieldError of "name" (ErrAgencyNameTaken), an unknown
// type one of "type". Unaudited, like AddUser: Admin.CreateAgency audits
// the administrators' changes; `nrm agency add` is the operator at the
// console creating the first agency, before any user exists.
func (s *Service) AddAgency(ctx context.Context, n NewAgency) (*store.Agency, error) {
	if !slices.Contains(AgencyTypes, n.Type) {
		return nil, &FieldError{Field: "type", Rule: "oneof", Err: ErrAgencyType}
	}
	name := strings.TrimSpace(n.Name)
	if name == "" {
		return nil, &FieldError{Field: "name", Rule: "required", Err: errors.New("is required")}
	}
	ag := &store.Agency{Name: name, Type: n.Type, Region: n.Region, Regions: n.Regions,
		National: n.National, Services: n.Services, Languages: n.Languages, Beds: n.Beds}
	if err := s.Store.CreateAgency(ctx, ag); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &FieldError{Field: "name", Rule: "unique", Err: ErrAgencyNameTaken}
		}
		return nil, fmt.Errorf("add agency: %w", err)
	}
	return s.Store.Agency(ctx, ag.ID)
}
