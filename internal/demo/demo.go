// Package demo creates the demonstration agencies and users of `nrm dev`.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Agency names of the demo directory.
const (
	LebapPolice    = "Lebap regional police"
	DashoguzPolice = "Dashoguz regional police"
	Hotline        = "Trust hotline NGO"
	Authority      = "National identification unit"
	LebapShelter   = "Lebap shelter"
	AshgabatShelt  = "Ashgabat shelter"
	LegalAid       = "Legal aid centre"
	LebapClinic    = "Lebap clinic"
	TWGSecretariat = "TWG secretariat"
	SysAdmin       = "System administration"
)

var allRegions = []string{"ashgabat", "ahal", "balkan", "dashoguz", "lebap", "mary"}

// Agencies of the demo directory.
var Agencies = []store.Agency{
	{Name: LebapPolice, Type: "law_enforcement", Region: "lebap"},
	{Name: DashoguzPolice, Type: "law_enforcement", Region: "dashoguz"},
	{Name: Hotline, Type: "ngo", Region: "ashgabat", Regions: allRegions},
	{Name: Authority, Type: "competent_authority", Region: "ashgabat", National: true, Regions: allRegions},
	{Name: LebapShelter, Type: "ngo", Region: "lebap", Services: []string{"shelter", "psychosocial"}, Languages: []string{"tk", "ru"}, Beds: 12},
	{Name: AshgabatShelt, Type: "ngo", Region: "ashgabat", Regions: []string{"ashgabat", "ahal", "mary", "balkan", "lebap"}, Services: []string{"shelter"}, Languages: []string{"tk", "ru", "en"}, Beds: 20},
	{Name: LegalAid, Type: "legal_service", Region: "ashgabat", Regions: allRegions, Services: []string{"legal_aid"}, Languages: []string{"tk", "ru"}},
	{Name: LebapClinic, Type: "health", Region: "lebap", Services: []string{"medical"}, Languages: []string{"tk", "ru"}},
	{Name: TWGSecretariat, Type: "twg", Region: "ashgabat", National: true},
	{Name: SysAdmin, Type: "administration", Region: "ashgabat", National: true},
}

// User is a demo login.
type User struct {
	Email, Name string
	Role        auth.Role
	Agency      string
}

// Users of the demo, one per role and agency of the table.
var Users = []User{
	{"officer@lebap-police.example", "Lebap police officer", auth.Frontline, LebapPolice},
	{"supervisor@lebap-police.example", "Lebap police supervisor", auth.Supervisor, LebapPolice},
	{"officer@dashoguz-police.example", "Dashoguz police officer", auth.Frontline, DashoguzPolice},
	{"outreach@hotline.example", "Hotline outreach worker", auth.Frontline, Hotline},
	{"decider@authority.example", "Identification officer", auth.CompetentAuthority, Authority},
	{"reviewer@authority.example", "Reviewing officer", auth.CompetentAuthority, Authority},
	{"shelter@lebap-shelter.example", "Lebap shelter caseworker", auth.Provider, LebapShelter},
	{"shelter@ashgabat-shelter.example", "Ashgabat shelter caseworker", auth.Provider, AshgabatShelt},
	{"lawyer@legal-aid.example", "Legal aid lawyer", auth.Provider, LegalAid},
	{"doctor@lebap-clinic.example", "Lebap clinic doctor", auth.Provider, LebapClinic},
	{"twg@twg.example", "TWG secretary", auth.TWG, TWGSecretariat},
	{"admin@nrm.example", "Administrator", auth.Admin, SysAdmin},
}

// Result says what Seed did with the password.
type Result struct {
	// Password is set when Seed created or reset the demo users' password;
	// empty when the users existed and keep the password printed before.
	Password  string
	Generated bool
}

// Seed creates missing demo agencies and users. With a password, every demo
// user gets it (so a forgotten one can be reset); without one, new users get
// a generated password that is returned once and never stored in clear.
func Seed(ctx context.Context, st *store.Store, password string) (Result, error) {
	ids := map[string]*store.Agency{}
	for _, a := range Agencies {
		existing, err := st.AgencyByName(ctx, a.Name)
		if errors.Is(err, store.ErrNotFound) {
			a := a
			if err := st.CreateAgency(ctx, &a); err != nil {
				return Result{}, fmt.Errorf("demo agency %s: %w", a.Name, err)
			}
			existing = &a
		} else if err != nil {
			return Result{}, err
		}
		ids[a.Name] = existing
	}
	res := Result{Password: password}
	if password != "" {
		if err := auth.CheckPasswordPolicy(password); err != nil {
			return Result{}, fmt.Errorf("NRM_DEMO_PASSWORD: %w", err)
		}
	}
	var hash string
	for _, u := range Users {
		existing, err := st.UserByEmail(ctx, u.Email)
		switch {
		case err == nil && password == "":
			continue
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return Result{}, err
		}
		if hash == "" {
			if res.Password == "" {
				if res.Password, err = generatePassword(); err != nil {
					return Result{}, err
				}
				res.Generated = true
			}
			if hash, err = auth.HashPassword(res.Password); err != nil {
				return Result{}, err
			}
		}
		if existing != nil {
			if err := st.SetPassword(ctx, existing.ID, hash); err != nil {
				return Result{}, err
			}
			continue
		}
		nu := &store.User{Email: u.Email, Name: u.Name, Role: string(u.Role), AgencyID: ids[u.Agency].ID, PasswordHash: hash, Active: true}
		if err := st.CreateUser(ctx, nu); err != nil {
			return Result{}, fmt.Errorf("demo user %s: %w", u.Email, err)
		}
	}
	return res, nil
}

func generatePassword() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo password: %w", err)
	}
	return base32.StdEncoding.EncodeToString(b), nil // 24 characters, no padding
}
