// Package directory holds the rules of the agency directory and its users:
// which role a user may hold in which kind of agency, what an e-mail address
// (the login) may look like, and that the system always keeps an active
// administrator. The API's administration routes and `nrm user add` both go
// through it, so the rules hold whichever way a user is created.
package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Sentinel errors callers branch on.
var (
	// ErrRoleNotInAgency: the role does not belong in the agency (a
	// competent-authority user in an NGO, an administrator in the TWG, a
	// frontline user in a shelter).
	ErrRoleNotInAgency = errors.New("this role does not belong in this agency")
	// ErrLastAdmin: deactivating the user would leave no active administrator.
	ErrLastAdmin = errors.New("the last active administrator cannot be deactivated")
	// ErrSelf: administrators do not deactivate themselves (another does).
	ErrSelf = errors.New("administrators cannot deactivate their own account")
)

// Kinds of agencies that hold one role only: whoever works there acts for
// that body, nationally.
var soleRole = map[string]auth.Role{
	"competent_authority": auth.CompetentAuthority,
	"twg":                 auth.TWG,
	"administration":      auth.Admin,
}

// RoleAllowed says whether a user of the role may belong to the agency.
//
//   - competent_authority, twg and admin users belong to an agency of that
//     type (competent_authority, twg, administration), and such an agency
//     has no other users: a national view of every case must not be handed
//     to a member of an NGO, nor the directory to the TWG.
//   - provider users belong to an agency that offers at least one service
//     (a shelter, legal aid, a clinic): their view is the referrals
//     addressed to that agency.
//   - frontline and supervisor users belong to an agency that screens and
//     owns cases (police, NGOs doing outreach, social services, child
//     protection, international organisations, health, other) and offers no
//     service: a shelter's staff must not open cases in the shelter's name.
//     An organisation that does both is two directory entries, which keeps
//     each side's view to what it needs.
func RoleAllowed(role auth.Role, a *store.Agency) error {
	if only, ok := soleRole[a.Type]; ok {
		if role != only {
			return fmt.Errorf("%w: an agency of type %s has only %s users", ErrRoleNotInAgency, a.Type, only)
		}
		return nil
	}
	switch role {
	case auth.CompetentAuthority, auth.TWG, auth.Admin:
		return fmt.Errorf("%w: %s users belong to an agency of type %s", ErrRoleNotInAgency, role, typeOf(role))
	case auth.Provider:
		if len(a.Services) == 0 {
			return fmt.Errorf("%w: provider users belong to an agency that offers a service", ErrRoleNotInAgency)
		}
	case auth.Frontline, auth.Supervisor:
		if len(a.Services) > 0 {
			return fmt.Errorf("%w: %s users belong to an agency that screens and owns cases, not to a service provider", ErrRoleNotInAgency, role)
		}
	default:
		return fmt.Errorf("%w: unknown role %q", ErrRoleNotInAgency, role)
	}
	return nil
}

func typeOf(role auth.Role) string {
	for t, r := range soleRole {
		if r == role {
			return t
		}
	}
	return ""
}

// EmailError says what is wrong with an e-mail address.
type EmailError struct{ Reason string }

func (e *EmailError) Error() string { return "e-mail address " + e.Reason }

// NormalizeEmail returns the form of an address that is stored and compared:
// NFKC (so that full-width or ligature forms become the plain letters),
// trimmed and in lower case. It refuses what would let two accounts look
// alike: invisible and control characters (a zero-width space in an
// otherwise equal address), spaces, and letters of more than one script (a
// Cyrillic "а" among Latin letters, the homoglyph of another address).
func NormalizeEmail(s string) (string, error) {
	n := strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	if n == "" || len(n) > 254 {
		return "", &EmailError{Reason: "must be 1 to 254 characters"}
	}
	local, domain, ok := strings.Cut(n, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", &EmailError{Reason: "must look like name@organisation.example"}
	}
	var script string
	for _, r := range n {
		switch {
		case r == 0xFFFD:
			return "", &EmailError{Reason: "must be valid UTF-8 text"}
		case unicode.IsSpace(r):
			return "", &EmailError{Reason: "must not contain spaces"}
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Mn, unicode.Me) || !unicode.IsPrint(r):
			return "", &EmailError{Reason: "must not contain invisible or control characters"}
		case unicode.IsLetter(r):
			sc := scriptOf(r)
			if script == "" {
				script = sc
			} else if sc != script {
				return "", &EmailError{Reason: "must be written in one script (letters of " + script + " and " + sc + " mixed)"}
			}
		case unicode.IsDigit(r) && r > unicode.MaxASCII:
			return "", &EmailError{Reason: "must use the digits 0-9"}
		case !unicode.IsLetter(r) && !unicode.IsDigit(r) && !slices.Contains([]rune(".-_+@'"), r):
			return "", &EmailError{Reason: "may hold letters, digits and . - _ + ' only"}
		}
	}
	return n, nil
}

// scripts are the writing systems an address may be written in; a letter of
// any other script counts as "other", so mixing it with these is refused too.
var scripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Arabic", unicode.Arabic}, {"Han", unicode.Han}, {"Armenian", unicode.Armenian}, {"Georgian", unicode.Georgian},
}

func scriptOf(r rune) string {
	for _, s := range scripts {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return "other"
}
