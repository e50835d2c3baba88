package directory

import (
	"errors"
	"testing"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

func TestRoleAllowedByAgency(t *testing.T) {
	police := &store.Agency{Type: "law_enforcement"}
	hotline := &store.Agency{Type: "ngo"}
	shelter := &store.Agency{Type: "ngo", Services: []string{"shelter"}}
	authority := &store.Agency{Type: "competent_authority"}
	twg := &store.Agency{Type: "twg"}
	admin := &store.Agency{Type: "administration"}
	for _, tc := range []struct {
		role   auth.Role
		agency *store.Agency
		ok     bool
	}{
		{auth.Frontline, police, true}, {auth.Supervisor, police, true}, {auth.Frontline, hotline, true},
		{auth.Provider, shelter, true}, {auth.CompetentAuthority, authority, true}, {auth.TWG, twg, true}, {auth.Admin, admin, true},
		// What the probe created:
		{auth.CompetentAuthority, hotline, false}, {auth.Admin, twg, false}, {auth.Frontline, shelter, false},
		// and the rest of the wrong combinations:
		{auth.Supervisor, shelter, false}, {auth.Provider, police, false}, {auth.Provider, authority, false},
		{auth.Frontline, authority, false}, {auth.TWG, admin, false}, {auth.Admin, police, false}, {auth.TWG, hotline, false},
		{auth.Role("root"), police, false},
	} {
		err := RoleAllowed(tc.role, tc.agency)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrRoleNotInAgency)) {
			t.Errorf("%s in %s %v: %v, want allowed=%v", tc.role, tc.agency.Type, tc.agency.Services, err, tc.ok)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Officer@Lebap-Police.example": "officer@lebap-police.example",
		"  a.b+c@x.example ":           "a.b+c@x.example",
		"ｏｆｆｉｃｅｒ@lebap.example":        "officer@lebap.example", // full-width forms fold (NFKC)
		"оператор@полиция.example":     "",                      // Cyrillic and Latin mixed (the TLD): refused
		"оператор@полиция.рф":          "оператор@полиция.рф",
		"o'brien@x.example":            "o'brien@x.example",
	} {
		got, err := NormalizeEmail(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q → %q, want refused", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"admin\u200b@nrm.example", // zero-width space
		"adm\u200din@nrm.example", // zero-width joiner
		"\u202eadmin@nrm.example", // right-to-left override
		"аdmin@nrm.example",       // Cyrillic а among Latin letters: a homoglyph of admin@
		"admin@nrm.ехample",       // Cyrillic е and х in the domain
		"ad min@nrm.example", "admin@nrm", "@nrm.example", "admin@", "admin@@nrm.example", "admin@.nrm.example",
		"admin@nrm..example", "admin\x00@nrm.example", "admin\t@nrm.example", "a<b>@nrm.example",
		"admin١@nrm.example", // an Arabic-Indic digit
		"",
	} {
		if got, err := NormalizeEmail(bad); err == nil {
			t.Errorf("%q → %q, want refused", bad, got)
		}
	}
}
