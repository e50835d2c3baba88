package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func open(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

func TestMigrateIsIdempotentAndReported(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	again, err := st.Migrate(ctx)
	testenv.Must(t, err)
	if len(again) != 0 {
		t.Errorf("second migrate applied %d migrations, want 0", len(again))
	}
	status, err := st.MigrationStatus(ctx)
	testenv.Must(t, err)
	if len(status) == 0 || status[0].Version != 1 || status[0].AppliedAt == nil {
		t.Errorf("status = %+v, want 0001 applied", status)
	}
	if n, err := st.Pending(ctx); err != nil || n != 0 {
		t.Errorf("pending = %d, %v", n, err)
	}
}

func TestEnsureDatabaseCreatesMissingDatabase(t *testing.T) {
	url := testenv.Database(t)
	ctx := context.Background()
	testenv.Must(t, store.DropDatabase(ctx, url))
	testenv.Must(t, store.EnsureDatabase(ctx, url))
	testenv.Must(t, store.EnsureDatabase(ctx, url)) // and again: a no-op
	st, err := store.Open(ctx, url)
	testenv.Must(t, err)
	st.Close()
	if err := store.EnsureDatabase(ctx, "mysql://x/y"); err == nil {
		t.Error("a non-postgres URL must be refused")
	}
}

func seedCase(t *testing.T, st *store.Store) (*store.Case, *store.Agency) {
	t.Helper()
	ctx := context.Background()
	ag, u := agencyWithUser(t, st)
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &store.Case{ID: uuid.New(), AgencyID: ag.ID, CreatedBy: u.ID, SOPID: "tm-nrm", SOPVersion: "2026.1", SOPHash: "h",
		Stage: "identification", Sex: "female", AgeBand: "24-26", Citizenship: "TM", Region: "lebap", EncounterContext: "outreach",
		EncounteredAt: now, Indicators: store.Strings{"a", "b,c", `d"e`}, Exploitation: store.Strings{}, UrgentNeeds: nil,
		ScreeningOutcome: "presumed_victim", Screening: json.RawMessage(`{}`), OpenedAt: now}
	testenv.Must(t, st.CreateCase(ctx, c, testenv.DummyIdentity(), "TM", 2026))
	return c, ag
}

func TestCaseScopeAndArrays(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, ag := seedCase(t, st)
	got, err := st.Case(ctx, store.CaseScope{AgencyID: ag.ID}, c.ID)
	testenv.Must(t, err)
	if len(got.Indicators) != 3 || got.Indicators[1] != "b,c" || got.Indicators[2] != `d"e` {
		t.Errorf("text[] round trip = %q", got.Indicators)
	}
	if got.UrgentNeeds == nil || len(got.UrgentNeeds) != 0 {
		t.Errorf("a nil list must come back empty, got %#v", got.UrgentNeeds)
	}
	if _, err := st.Case(ctx, store.CaseScope{AgencyID: uuid.New()}, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another agency's scope: %v, want ErrNotFound", err)
	}
	if _, err := st.Case(ctx, store.CaseScope{}, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the zero scope must see nothing: %v", err)
	}
	if list, err := st.Cases(ctx, store.CaseScope{All: true}, store.CaseFilter{}); err != nil || len(list) != 1 {
		t.Errorf("national scope list = %d, %v", len(list), err)
	}
	if c.Number != "TM-2026-000001" {
		t.Errorf("number = %s", c.Number)
	}
}

func TestEventsAreIdempotent(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, _ := seedCase(t, st)
	ev := store.Event{ID: "case-x/1", CaseID: c.ID, Type: "case_opened", At: time.Now()}
	testenv.Must(t, st.AppendEvent(ctx, ev))
	testenv.Must(t, st.AppendEvent(ctx, ev)) // an activity retry
	list, err := st.Timeline(ctx, c.ID)
	testenv.Must(t, err)
	if len(list) != 1 {
		t.Errorf("timeline has %d events after a retried append, want 1", len(list))
	}
	testenv.Must(t, st.SetStage(ctx, c.ID, "closed", time.Now()))
	got, err := st.Case(ctx, store.CaseScope{All: true}, c.ID)
	testenv.Must(t, err)
	if got.Stage != "closed" || got.ClosedAt == nil {
		t.Errorf("closing stage: %s, closed_at %v", got.Stage, got.ClosedAt)
	}
}

func TestPinSOPRefusesChangedContent(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	testenv.Must(t, st.PinSOP(ctx, "tm-nrm", "2026.1", "aaa"))
	testenv.Must(t, st.PinSOP(ctx, "tm-nrm", "2026.1", "aaa"))
	if err := st.PinSOP(ctx, "tm-nrm", "2026.1", "bbb"); !errors.Is(err, store.ErrSOPChanged) {
		t.Errorf("changed content: %v, want ErrSOPChanged", err)
	}
	if err := st.CheckSOP(ctx, "tm-nrm", "2026.1", "bbb"); !errors.Is(err, store.ErrSOPChanged) {
		t.Errorf("check changed content: %v, want ErrSOPChanged", err)
	}
	testenv.Must(t, st.CheckSOP(ctx, "tm-nrm", "2027.1", "ccc")) // unused version: fine
}

func TestDeactivationRevokesSessions(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, _ := seedCase(t, st)
	now := time.Now()
	hash := []byte("0123456789abcdef0123456789abcdef")
	testenv.Must(t, st.CreateSession(ctx, hash, c.CreatedBy, now, now.Add(time.Hour)))
	if _, _, err := st.SessionUser(ctx, hash, now, time.Minute); err != nil {
		t.Fatalf("live session: %v", err)
	}
	testenv.Must(t, st.DeactivateUser(ctx, c.CreatedBy, now))
	if _, _, err := st.SessionUser(ctx, hash, now, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after deactivation: %v, want ErrNotFound", err)
	}
}
