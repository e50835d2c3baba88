package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// newCase is an unrecorded case of the agency, opened by its user.
func newCase(ag *store.Agency, u *store.User) *store.Case {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &store.Case{ID: uuid.New(), AgencyID: ag.ID, CreatedBy: u.ID, SOPID: "tm-nrm", SOPVersion: "2026.1", SOPHash: "h",
		Stage: "screening", Sex: "female", AgeBand: "24-26", Citizenship: "TM", Region: "lebap", EncounterContext: "outreach",
		EncounteredAt: now, ScreeningOutcome: "presumed_victim", Screening: json.RawMessage(`{}`), OpenedAt: now}
}

func agencyWithUser(t *testing.T, st *store.Store) (*store.Agency, *store.User) {
	t.Helper()
	ctx := context.Background()
	ag := &store.Agency{Name: "Police " + uuid.NewString()[:8], Type: "law_enforcement", Region: "lebap"}
	testenv.Must(t, st.CreateAgency(ctx, ag))
	u := &store.User{Email: uuid.NewString() + "@example.org", Name: "O", Role: "frontline", AgencyID: ag.ID, PasswordHash: "x", Active: true}
	testenv.Must(t, st.CreateUser(ctx, u))
	return ag, u
}

// Openings at the same time get consecutive numbers, and one that fails
// after its rows were written takes none.
func TestCaseNumbersAreConsecutiveUnderConcurrency(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	ag, u := agencyWithUser(t, st)
	const n = 24
	var wg sync.WaitGroup
	numbers := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCase(ag, u)
			var notes []store.Notification
			if i%6 == 5 { // a notification of a case that does not exist: the last insert fails
				missing := uuid.New()
				notes = []store.Notification{{ID: "n-" + c.ID.String(), CaseID: c.ID, Kind: "possible_duplicate",
					RecipientRole: "competent_authority", RelatedCaseID: &missing, CreatedAt: c.OpenedAt}}
			}
			err := st.CreateCase(ctx, c, testenv.DummyIdentity(), "TM", 2026, notes...)
			switch {
			case notes != nil && err == nil:
				t.Errorf("an opening whose notification names no case was recorded as %s", c.Number)
			case notes != nil && c.Number != "":
				t.Errorf("a failed opening kept the number %q", c.Number)
			case notes == nil && err != nil:
				t.Errorf("opening: %v", err)
			case notes == nil:
				numbers <- c.Number
			}
		}()
	}
	wg.Wait()
	close(numbers)
	var got []string
	for s := range numbers {
		got = append(got, s)
	}
	sort.Strings(got)
	if len(got) != n-n/6 {
		t.Fatalf("%d openings recorded, want %d", len(got), n-n/6)
	}
	for i, s := range got {
		if want := fmt.Sprintf("TM-2026-%06d", i+1); s != want {
			t.Fatalf("numbers %v: position %d is %s, want %s (no gap, no repeat)", got, i, s, want)
		}
	}
	var stored []string
	testenv.Must(t, st.DB().Select(&stored, `SELECT number FROM cases ORDER BY number`))
	if fmt.Sprint(stored) != fmt.Sprint(got) {
		t.Errorf("stored numbers %v, want %v", stored, got)
	}
}

// An opening that waits for a lock of its own does not hold up the others:
// the country's counter is taken only at the end of the transaction.
func TestAnOpeningThatWaitsDoesNotHoldTheCounter(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	slowAg, slowU := agencyWithUser(t, st)
	ag, u := agencyWithUser(t, st)

	// Holding the agency's row for update makes inserting its case wait.
	lock, err := st.DB().BeginTxx(ctx, nil)
	testenv.Must(t, err)
	defer lock.Rollback()
	testenv.Must(t, lock.QueryRowxContext(ctx, `SELECT id FROM agencies WHERE id = $1 FOR UPDATE`, slowAg.ID).Err())
	slow := newCase(slowAg, slowU)
	done := make(chan error, 1)
	go func() { done <- st.CreateCase(ctx, slow, testenv.DummyIdentity(), "TM", 2026) }()
	testenv.Eventually(t, 10*time.Second, "the opening waits for the agency row", func() bool {
		var waiting bool
		testenv.Must(t, st.DB().Get(&waiting, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO cases%')`))
		return waiting
	})

	// Another agency's opening goes through meanwhile (a generous bound:
	// before the change it waited for the lock above for ever).
	quick, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	other := newCase(ag, u)
	if err := st.CreateCase(quick, other, testenv.DummyIdentity(), "TM", 2026); err != nil {
		t.Fatalf("an opening waited for another agency's: %v", err)
	}
	testenv.Must(t, lock.Rollback())
	testenv.Must(t, <-done)
	if other.Number != "TM-2026-000001" || slow.Number != "TM-2026-000002" {
		t.Errorf("numbers %s then %s, want TM-2026-000001 then TM-2026-000002", other.Number, slow.Number)
	}
}
