package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/synthetic"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// openSharing records a case opened at the given time whose person has the
// given digests (kind "phone", "document", … as the vault writes them).
func openSharing(t testing.TB, st *store.Store, ag *store.Agency, u *store.User, at time.Time, digests map[string]string) *store.Case {
	t.Helper()
	c := newCase(ag, u)
	c.OpenedAt = at
	id := testenv.DummyIdentity()
	for kind, d := range digests {
		id.Indexes = append(id.Indexes, store.PersonIndex{Kind: kind, KeyID: "k", Digest: d})
	}
	testenv.Must(t, st.CreateCase(context.Background(), c, id, "TM", 2026))
	return c
}

// The check answers the most recent live cases of any digest, newest
// first (ties by ID), each once, and never the case being opened.
func TestCasesWithIndexAnswersTheMostRecent(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	ag, u := agencyWithUser(t, st)
	base := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	var phone []*store.Case // 30 cases sharing a phone, one an hour
	for i := range 30 {
		phone = append(phone, openSharing(t, st, ag, u, base.Add(time.Duration(i)*time.Hour), map[string]string{"phone": "shelter-phone"}))
	}
	// The same person by document, later than every phone case, twice at
	// the same instant; one of them also shares the phone.
	late := base.Add(100 * time.Hour)
	docA := openSharing(t, st, ag, u, late, map[string]string{"document": "doc-1", "phone": "shelter-phone"})
	docB := openSharing(t, st, ag, u, late, map[string]string{"document": "doc-1"})
	// An erased case, the most recent of all, is no duplicate any more.
	erased := openSharing(t, st, ag, u, late.Add(time.Hour), map[string]string{"phone": "shelter-phone"})
	testenv.Must(t, st.DestroyCaseKey(ctx, erased.ID, late.Add(2*time.Hour)))
	unrelated := openSharing(t, st, ag, u, late.Add(3*time.Hour), map[string]string{"phone": "another-phone"})

	first, second := docA.ID, docB.ID
	if second.String() < first.String() {
		first, second = second, first
	}
	want := []uuid.UUID{first, second}
	for i := 29; len(want) < 10; i-- {
		want = append(want, phone[i].ID)
	}
	got, err := st.CasesWithIndex(ctx, []string{"shelter-phone", "doc-1", "nobody"}, phone[29].ID, 10)
	testenv.Must(t, err)
	// phone[29] is the case being opened: the next one takes its place.
	want = append(want[:2], want[3:]...)
	want = append(want, phone[21].ID)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("duplicates\n got %v\nwant %v", got, want)
	}
	for _, id := range got {
		if id == unrelated.ID || id == erased.ID {
			t.Errorf("answered %s, which shares no live digest", id)
		}
	}
	if got, err := st.CasesWithIndex(ctx, []string{"nobody"}, uuid.Nil, 10); err != nil || len(got) != 0 {
		t.Errorf("no match: %v, %v", got, err)
	}
}

// The check reads at most its limit of rows for each digest, however many
// earlier cases share it and however many were opened since: 3,000 of
// 4,000 cases share a phone, a thousand each a document, and the 1,000
// most recent cases share none of them. PostgreSQL's own
// plan after ANALYZE, nothing forced; EXPLAIN ANALYZE counts the rows each
// node gave.
func TestCasesWithIndexReadsBoundedRows(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	set, err := sop.LoadPath(filepath.Join(testenv.RepoRoot(), "sop"))
	testenv.Must(t, err)
	_, err = synthetic.Seed(ctx, st, set, synthetic.Options{Cases: 4000, Seed: 5, Now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)})
	testenv.Must(t, err)
	for _, q := range []string{
		`INSERT INTO case_keys (case_id, key_id, wrapped, created_at, index_version) SELECT id, 'k', '\x00', opened_at, 2 FROM cases`,
		`INSERT INTO person_index (case_id, kind, key_id, digest, opened_at)
			SELECT id, 'phone', 'k', CASE WHEN n <= 3000 THEN 'shelter-phone' ELSE 'phone-' || n END, opened_at
			FROM (SELECT id, opened_at, row_number() OVER (ORDER BY opened_at, id) AS n FROM cases) c`,
		`INSERT INTO person_index (case_id, kind, key_id, digest, opened_at)
			SELECT id, 'document', 'k', CASE WHEN n <= 3000 THEN 'doc-' || n % 3 ELSE 'doc-' || n END, opened_at
			FROM (SELECT id, opened_at, row_number() OVER (ORDER BY opened_at, id DESC) AS n FROM cases) c`,
		`ANALYZE`,
	} {
		_, err := st.DB().ExecContext(ctx, q)
		testenv.Must(t, err)
	}
	var plan []byte
	testenv.Must(t, st.DB().QueryRowContext(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+store.QDuplicates,
		store.Strings{"shelter-phone", "doc-0", "doc-1", "doc-2"}, uuid.New(), 10).Scan(&plan))
	var root []struct {
		Plan planNode `json:"Plan"`
	}
	testenv.Must(t, json.Unmarshal(plan, &root))
	read := 0
	root[0].Plan.walk(func(n planNode) {
		if n.Relation != "" {
			read += n.ActualRows * max(n.Loops, 1)
		}
	})
	// Four digests, at most ten rows each (and a row more to know the limit
	// is reached) and their keys, against 6,000 rows sharing them.
	if read == 0 || read > 2*4*11 {
		t.Errorf("the check read %d rows for 4 digests shared by 3,000 cases, want at most %d:\n%s", read, 2*4*11, plan)
	}
}

// planNode is a node of EXPLAIN's JSON plan.
type planNode struct {
	Type       string     `json:"Node Type"`
	Relation   string     `json:"Relation Name"`
	ActualRows int        `json:"Actual Rows"`
	Loops      int        `json:"Actual Loops"`
	Plans      []planNode `json:"Plans"`
}

func (n planNode) walk(f func(planNode)) {
	f(n)
	for _, c := range n.Plans {
		c.walk(f)
	}
}

// The numbers of the duplicates are answered only for the cases the
// caller's scope sees.
func TestCaseNumbersKeepToTheScope(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	ag, u := agencyWithUser(t, st)
	other, otherUser := agencyWithUser(t, st)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	own := openSharing(t, st, ag, u, at, nil)
	theirs := openSharing(t, st, other, otherUser, at, nil)
	ids := []uuid.UUID{own.ID, theirs.ID, uuid.New()}
	for _, c := range []struct {
		scope store.CaseScope
		want  map[uuid.UUID]string
	}{
		{store.CaseScope{AgencyID: ag.ID}, map[uuid.UUID]string{own.ID: own.Number}},
		{store.CaseScope{All: true}, map[uuid.UUID]string{own.ID: own.Number, theirs.ID: theirs.Number}},
		{store.CaseScope{}, map[uuid.UUID]string{}},
	} {
		got, err := st.CaseNumbers(ctx, c.scope, ids)
		testenv.Must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("scope %+v: numbers %v, want %v", c.scope, got, c.want)
		}
	}
}
