package synthetic

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

//go:embed sop/*.yaml
var sopFiles embed.FS

// SOPFile is the synthetic earlier SOP version, as a path inside this
// package (for `nrm sop simulate --sop`).
const SOPFile = "internal/synthetic/sop/tm-nrm-2025.1-synthetic.yaml"

// PreviousVersion parses the synthetic 2025 version of the SOP that the
// generated history of 2025 is recorded under: sop/tm-nrm-2026.1.yaml with
// longer identification deadlines, slower answers to non-urgent referrals
// and the 2025 holidays. It never applied to a real case.
func PreviousVersion() (*sop.SOP, error) {
	data, err := sopFiles.ReadFile("sop/tm-nrm-2025.1-synthetic.yaml")
	if err != nil {
		return nil, err
	}
	return sop.Parse(SOPFile, data)
}

// Versions returns the versions of set plus the synthetic previous version
// when it takes effect before every version of set (so that the history's
// first year has a version in force), unless set holds it already.
func Versions(set *sop.Set) (*sop.Set, error) {
	all := set.All()
	prev, err := PreviousVersion()
	if err != nil {
		return nil, fmt.Errorf("synthetic SOP version: %w", err)
	}
	for _, v := range all {
		if v.Version == prev.Version || !v.EffectiveFrom.After(prev.EffectiveFrom) {
			return set, nil
		}
	}
	return sop.NewSet(append(all, prev)...)
}

var allRegions = []string{"ashgabat", "ahal", "balkan", "dashoguz", "lebap", "mary"}

// agencySpec is an agency of the synthetic directory. Names that match the
// demo directory of `nrm dev` are reused when they exist.
type agencySpec struct {
	Name     string
	Type     string
	Region   string
	Regions  []string
	National bool
	Services []string
	Opens    bool   // opens cases
	Role     string // role of its synthetic user
}

var agencySpecs = []agencySpec{
	{Name: "Ashgabat city police", Type: "law_enforcement", Region: "ashgabat", Opens: true, Role: "frontline"},
	{Name: "Ahal regional police", Type: "law_enforcement", Region: "ahal", Opens: true, Role: "frontline"},
	{Name: "Balkan regional police", Type: "law_enforcement", Region: "balkan", Opens: true, Role: "frontline"},
	{Name: "Dashoguz regional police", Type: "law_enforcement", Region: "dashoguz", Opens: true, Role: "frontline"},
	{Name: "Lebap regional police", Type: "law_enforcement", Region: "lebap", Opens: true, Role: "frontline"},
	{Name: "Mary regional police", Type: "law_enforcement", Region: "mary", Opens: true, Role: "frontline"},
	{Name: "State border service", Type: "border_service", Region: "ashgabat", National: true, Regions: allRegions, Opens: true, Role: "frontline"},
	{Name: "Labour inspectorate", Type: "labour_inspection", Region: "ashgabat", National: true, Regions: allRegions, Opens: true, Role: "frontline"},
	{Name: "Trust hotline NGO", Type: "ngo", Region: "ashgabat", Regions: allRegions, Opens: true, Role: "frontline"},
	{Name: "National identification unit", Type: "competent_authority", Region: "ashgabat", National: true, Regions: allRegions, Role: "competent_authority"},
	{Name: "Child protection service", Type: "child_protection", Region: "ashgabat", National: true, Regions: allRegions, Role: "frontline"},
	{Name: "Lebap shelter", Type: "ngo", Region: "lebap", Services: []string{"shelter", "psychosocial"}, Role: "provider"},
	{Name: "Ashgabat shelter", Type: "ngo", Region: "ashgabat", Regions: []string{"ashgabat", "ahal", "mary", "balkan", "lebap"}, Services: []string{"shelter"}, Role: "provider"},
	{Name: "Dashoguz shelter", Type: "ngo", Region: "dashoguz", Services: []string{"shelter", "psychosocial"}, Role: "provider"},
	{Name: "Mary crisis centre", Type: "ngo", Region: "mary", Regions: []string{"mary", "ahal"}, Services: []string{"shelter", "psychosocial"}, Role: "provider"},
	{Name: "Legal aid centre", Type: "legal_service", Region: "ashgabat", Regions: allRegions, Services: []string{"legal_aid"}, Role: "provider"},
	{Name: "Lebap clinic", Type: "health", Region: "lebap", Services: []string{"medical"}, Role: "provider"},
	{Name: "Ashgabat city hospital", Type: "health", Region: "ashgabat", Regions: []string{"ashgabat", "ahal"}, Services: []string{"medical"}, Role: "provider"},
	{Name: "Dashoguz clinic", Type: "health", Region: "dashoguz", Services: []string{"medical"}, Role: "provider"},
	{Name: "Mary clinic", Type: "health", Region: "mary", Services: []string{"medical"}, Role: "provider"},
	{Name: "Balkan clinic", Type: "health", Region: "balkan", Services: []string{"medical"}, Role: "provider"},
	{Name: "Psychosocial support centre", Type: "ngo", Region: "ashgabat", Regions: allRegions, Services: []string{"psychosocial"}, Role: "provider"},
	{Name: "Interpretation service", Type: "ngo", Region: "ashgabat", Regions: allRegions, Services: []string{"interpretation"}, Role: "provider"},
	{Name: "Return and reintegration programme", Type: "ngo", Region: "ashgabat", Regions: allRegions, Services: []string{"return_assistance", "reintegration", "family_tracing"}, Role: "provider"},
	{Name: "Vocational training centre", Type: "education", Region: "ashgabat", Regions: allRegions, Services: []string{"education_vocational", "reintegration"}, Role: "provider"},
}

// agency is a directory entry with its IDs in the database.
type agency struct {
	agencySpec
	ID     uuid.UUID
	UserID uuid.UUID
}

func (a *agency) serves(region string) bool {
	if a.Region == region || a.National {
		return true
	}
	for _, r := range a.Regions {
		if r == region {
			return true
		}
	}
	return false
}

func (a *agency) offers(service string) bool {
	for _, s := range a.Services {
		if s == service {
			return true
		}
	}
	return false
}

type directory struct {
	agencies  []*agency
	authority *agency
	byRegion  map[string]*agency // the region's police
	hotline   *agency
	border    *agency
	labour    *agency
	ids       map[string]uuid.UUID // agency type → first agency of the type (the owner of role-owned obligations)
}

// ensureDirectory creates the agencies that are missing (by name) and one
// synthetic user per agency. The users cannot sign in: they are inactive
// and have no password.
func ensureDirectory(ctx context.Context, st *store.Store) (*directory, int, int, error) {
	d := &directory{byRegion: map[string]*agency{}, ids: map[string]uuid.UUID{}}
	var newAgencies, newUsers int
	for _, spec := range agencySpecs {
		a := &agency{agencySpec: spec}
		existing, err := st.AgencyByName(ctx, spec.Name)
		switch {
		case err == nil:
			a.ID = existing.ID
		case errors.Is(err, store.ErrNotFound):
			row := &store.Agency{Name: spec.Name, Type: spec.Type, Region: spec.Region, Regions: spec.Regions,
				National: spec.National, Services: spec.Services, Languages: []string{"tk", "ru"}}
			if err := st.CreateAgency(ctx, row); err != nil {
				return nil, 0, 0, err
			}
			a.ID = row.ID
			newAgencies++
		default:
			return nil, 0, 0, err
		}
		email := "synthetic+" + strings.ReplaceAll(strings.ToLower(spec.Name), " ", "-") + "@nrm.invalid"
		u, err := st.UserByEmail(ctx, email)
		switch {
		case err == nil:
			a.UserID = u.ID
		case errors.Is(err, store.ErrNotFound):
			nu := &store.User{Email: email, Name: "Synthetic user of " + spec.Name, Role: spec.Role, AgencyID: a.ID, Active: false}
			if err := st.CreateUser(ctx, nu); err != nil {
				return nil, 0, 0, err
			}
			a.UserID = nu.ID
			newUsers++
		default:
			return nil, 0, 0, err
		}
		d.agencies = append(d.agencies, a)
		switch {
		case spec.Type == "competent_authority":
			d.authority = a
		case spec.Type == "law_enforcement":
			d.byRegion[spec.Region] = a
		case spec.Name == "Trust hotline NGO":
			d.hotline = a
		case spec.Type == "border_service":
			d.border = a
		case spec.Type == "labour_inspection":
			d.labour = a
		}
	}
	// The agency the workflow resolves for a role-owned obligation: the
	// first agency of that type (store.qRoleAgency).
	all, err := st.Agencies(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	first := map[string]store.Agency{}
	for _, a := range all {
		if f, ok := first[a.Type]; !ok || a.CreatedAt.Before(f.CreatedAt) || (a.CreatedAt.Equal(f.CreatedAt) && a.ID.String() < f.ID.String()) {
			first[a.Type] = a
		}
	}
	for t, a := range first {
		d.ids[t] = a.ID
	}
	return d, newAgencies, newUsers, nil
}

// providers lists the agencies offering a service in a region, those of the
// region first.
func (d *directory) providers(service, region string) []*agency {
	var local, other []*agency
	for _, a := range d.agencies {
		if !a.offers(service) || !a.serves(region) {
			continue
		}
		if a.Region == region {
			local = append(local, a)
		} else {
			other = append(other, a)
		}
	}
	return append(local, other...)
}
