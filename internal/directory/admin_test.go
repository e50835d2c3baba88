package directory_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func newAdmin(t *testing.T) (*directory.Admin, *store.Store, auth.Principal, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	home := &store.Agency{Name: "Administration", Type: "administration", Region: "ashgabat"}
	testenv.Must(t, st.CreateAgency(ctx, home))
	u := &store.User{Email: "admin@admin.example", Name: "Admin", Role: "admin", AgencyID: home.ID, PasswordHash: "x", Active: true}
	testenv.Must(t, st.CreateUser(ctx, u))
	var logs bytes.Buffer
	a := &directory.Admin{Directory: &directory.Service{Store: st}, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	return a, st, auth.Principal{UserID: u.ID, Role: auth.Admin, AgencyID: home.ID}, &logs
}

// Each administrative change is audited by the service, with the caller
// and both request IDs; refused changes leave no row.
func TestAdminAuditsEachDirectoryChange(t *testing.T) {
	a, st, p, _ := newAdmin(t)
	ctx := context.Background()
	ri := directory.RequestInfo{RequestID: "req-1", ClientRequestID: "client-1"}

	ag, err := a.CreateAgency(ctx, p, ri, directory.NewAgency{Name: "  Lebap police  ", Type: "law_enforcement", Region: "lebap"})
	testenv.Must(t, err)
	if ag.Name != "Lebap police" || ag.ID == uuid.Nil || ag.CreatedAt.IsZero() {
		t.Errorf("created agency = %+v, want the stored row with its name trimmed", ag)
	}
	_, err = a.CreateAgency(ctx, p, ri, directory.NewAgency{Name: "Lebap police", Type: "ngo", Region: "lebap"})
	var fe *directory.FieldError
	if !errors.As(err, &fe) || fe.Field != "name" || fe.Rule != "unique" || !errors.Is(err, directory.ErrAgencyNameTaken) {
		t.Errorf("a second agency of the same name: %v, want a FieldError of name (unique)", err)
	}
	beds := 4
	if _, err := a.UpdateAgency(ctx, p, ri, uuid.New(), store.AgencyChange{Beds: &beds}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of an unknown agency: %v, want store.ErrNotFound", err)
	}
	services := []string{"shelter"}
	shelter, err := a.CreateAgency(ctx, p, ri, directory.NewAgency{Name: "Shelter", Type: "ngo", Region: "lebap"})
	testenv.Must(t, err)
	updated, err := a.UpdateAgency(ctx, p, ri, shelter.ID, store.AgencyChange{Services: &services, Beds: &beds})
	testenv.Must(t, err)
	if updated.Beds != 4 || len(updated.Services) != 1 {
		t.Errorf("updated agency = %+v", updated)
	}
	officer, err := a.CreateUser(ctx, p, ri, directory.NewUser{Email: "officer@lebap-police.example", Name: "Officer",
		Password: "a long enough passphrase for tests", Role: auth.Frontline, AgencyID: ag.ID})
	testenv.Must(t, err)
	if _, err := a.CreateUser(ctx, p, ri, directory.NewUser{Email: "x@lebap-police.example", Name: "X",
		Password: "a long enough passphrase for tests", Role: auth.Provider, AgencyID: ag.ID}); !errors.As(err, &fe) {
		t.Errorf("a provider in the police: %v, want a FieldError", err)
	}
	if err := a.DeactivateUser(ctx, p, ri, p.UserID); !errors.Is(err, directory.ErrSelf) {
		t.Errorf("deactivating oneself: %v, want ErrSelf", err)
	}
	testenv.Must(t, a.DeactivateUser(ctx, p, ri, officer.ID))

	var actions []string
	for _, r := range testenv.AuditRows(t, st) {
		actions = append(actions, r.Action)
		if r.UserID != p.UserID || r.Role != "admin" || r.AgencyID != p.AgencyID || r.CaseID != nil ||
			r.RequestID != "req-1" || r.ClientRequestID != "client-1" {
			t.Errorf("audit row %+v, want the administrator's with both request IDs and no case", r)
		}
	}
	if got := strings.Join(actions, " "); got != "agency.create agency.create agency.update user.create user.deactivate" {
		t.Errorf("audited actions: %s", got)
	}
	list, err := a.Agencies(ctx)
	testenv.Must(t, err)
	users, err := a.Users(ctx)
	testenv.Must(t, err)
	if len(list) != 3 || len(users) != 2 {
		t.Errorf("%d agencies and %d users, want 3 and 2", len(list), len(users))
	}
}

// A change that took effect stands when its audit row cannot be written:
// the failure is logged, not returned (docs/architecture.md#audit-log).
func TestAdminLogsAnAuditItCannotWrite(t *testing.T) {
	a, st, p, logs := newAdmin(t)
	ctx := context.Background()
	// The audit log refuses every row, as a full disk or a revoked grant would.
	_, err := st.DB().Exec(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$;
		CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit();`)
	testenv.Must(t, err)
	ag, err := a.CreateAgency(ctx, p, directory.RequestInfo{RequestID: "req-2"}, directory.NewAgency{Name: "Mary police",
		Type: "law_enforcement", Region: "mary"})
	if err != nil || ag == nil || ag.Name != "Mary police" {
		t.Fatalf("create agency with the audit log refusing: %+v %v, want the agency", ag, err)
	}
	if !strings.Contains(logs.String(), `"action":"agency.create"`) || !strings.Contains(logs.String(), `"request_id":"req-2"`) ||
		!strings.Contains(logs.String(), "audit refused by the test") {
		t.Errorf("log = %s, want the failed audit of agency.create", logs)
	}
}
