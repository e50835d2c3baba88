package cases

import (
	"testing"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/workflows"
)

// TestActorIsThePrincipal: every command tells the workflow who gives it —
// user, role and agency — so that the workflow's command table can check
// the role; the roles it knows are auth's.
func TestActorIsThePrincipal(t *testing.T) {
	p := auth.Principal{UserID: uuid.New(), Role: auth.Supervisor, AgencyID: uuid.New()}
	c := actor(p)
	if c.ActorID != p.UserID.String() || c.ActorRole != "supervisor" || c.ActorAgencyID != p.AgencyID.String() || c.NoteID != "" {
		t.Errorf("actor(%+v) = %+v", p, c)
	}
	for role, want := range map[string]auth.Role{
		workflows.RoleFrontline:          auth.Frontline,
		workflows.RoleSupervisor:         auth.Supervisor,
		workflows.RoleCompetentAuthority: auth.CompetentAuthority,
		workflows.RoleProvider:           auth.Provider,
	} {
		if got, err := auth.ParseRole(role); err != nil || got != want {
			t.Errorf("workflow role %q is auth role %q (%v), want %q", role, got, err, want)
		}
	}
}
