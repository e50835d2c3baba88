package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func auditEntry(i int) store.AuditEntry {
	caseID := uuid.New()
	e := store.AuditEntry{
		At:        time.Now().Add(time.Duration(i) * time.Nanosecond),
		UserID:    uuid.New(),
		Role:      "frontline",
		AgencyID:  uuid.New(),
		Action:    fmt.Sprintf("case.read.%d", i),
		Fields:    store.Strings{"given_name", "family_name"},
		RequestID: fmt.Sprintf("req-%d", i),
	}
	if i%2 == 0 { // every other entry is about a case
		e.CaseID = &caseID
	}
	if i%3 == 0 {
		e.Fields = nil
	}
	if i%4 == 1 { // some requests carried the client's own X-Request-ID
		e.ClientRequestID = fmt.Sprintf("client-%d", i)
	}
	return e
}

func appendAudit(t *testing.T, st *store.Store, n int) {
	t.Helper()
	for i := range n {
		testenv.Must(t, st.Audit(context.Background(), auditEntry(i)))
	}
}

func auditIDs(t *testing.T, st *store.Store) []int64 {
	t.Helper()
	var ids []int64
	testenv.Must(t, st.DB().Select(&ids, `SELECT id FROM audit_log ORDER BY id`))
	return ids
}

// asSuperuser runs stmt with the append-only triggers disabled, as an
// attacker holding the table owner's or a superuser's rights can.
func asSuperuser(t *testing.T, st *store.Store, stmt string, args ...any) {
	t.Helper()
	tx, err := st.DB().Begin()
	testenv.Must(t, err)
	defer tx.Rollback()
	for _, q := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, stmt, `ALTER TABLE audit_log ENABLE TRIGGER USER`} {
		a := []any{}
		if q == stmt {
			a = args
		}
		if _, err := tx.Exec(q, a...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	testenv.Must(t, tx.Commit())
}

func wantBrokenAt(t *testing.T, st *store.Store, id int64, reason string) {
	t.Helper()
	_, err := st.VerifyAudit(context.Background())
	var broken *store.AuditBrokenError
	if !errors.As(err, &broken) {
		t.Fatalf("VerifyAudit = %v, want *AuditBrokenError at %d", err, id)
	}
	if broken.ID != id || !strings.Contains(broken.Reason, reason) {
		t.Fatalf("broken at %d (%s), want %d (%s)", broken.ID, broken.Reason, id, reason)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("audit chain broken at entry %d: ", id)) {
		t.Errorf("message %q", err)
	}
}

func TestAuditEmptyLogVerifies(t *testing.T) {
	st := open(t)
	n, err := st.VerifyAudit(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("VerifyAudit = %d, %v; want 0, nil", n, err)
	}
}

func TestAuditChainVerifies(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	appendAudit(t, st, 7)
	n, err := st.VerifyAudit(ctx)
	if err != nil || n != 7 {
		t.Fatalf("VerifyAudit = %d, %v; want 7, nil", n, err)
	}
	// The chain links each row to the one before; the first to zeros.
	var rows []struct {
		Prev []byte `db:"prev_hash"`
		Hash []byte `db:"hash"`
	}
	testenv.Must(t, st.DB().Select(&rows, `SELECT prev_hash, hash FROM audit_log ORDER BY id`))
	if string(rows[0].Prev) != string(make([]byte, 32)) {
		t.Errorf("first prev_hash = %x", rows[0].Prev)
	}
	for i := 1; i < len(rows); i++ {
		if string(rows[i].Prev) != string(rows[i-1].Hash) || len(rows[i].Hash) != 32 {
			t.Fatalf("row %d does not link to row %d", i, i-1)
		}
	}
	// The stored entry reads back as written (UTC, microseconds).
	var at time.Time
	testenv.Must(t, st.DB().Get(&at, `SELECT at FROM audit_log ORDER BY id LIMIT 1`))
	if at.IsZero() {
		t.Error("no time stored")
	}
}

func TestAuditConcurrentAppendsStayLinear(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := st.Audit(ctx, auditEntry(w*each+i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n, err := st.VerifyAudit(ctx)
	if err != nil || n != workers*each {
		t.Fatalf("VerifyAudit = %d, %v; want %d, nil", n, err, workers*each)
	}
}

func TestAuditRefusesUpdateDeleteTruncate(t *testing.T) {
	st := open(t)
	appendAudit(t, st, 3)
	for _, q := range []string{
		`UPDATE audit_log SET action = 'nothing'`,
		`DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)`,
		`TRUNCATE audit_log`,
	} {
		_, err := st.DB().Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only trigger to refuse", q, err)
		}
	}
	if n, err := st.VerifyAudit(context.Background()); err != nil || n != 3 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	// A row must carry its hashes.
	_, err := st.DB().Exec(`INSERT INTO audit_log (at, user_id, role, agency_id, action, request_id)
		VALUES (now(), $1, 'admin', $1, 'sneaky', 'r')`, uuid.New())
	if err == nil {
		t.Error("a row without hashes was accepted")
	}
}

func TestAuditTamperedRowIsNamed(t *testing.T) {
	st := open(t)
	appendAudit(t, st, 6)
	ids := auditIDs(t, st)
	asSuperuser(t, st, `UPDATE audit_log SET case_id = NULL, action = 'case.read.0' WHERE id = $1`, ids[3])
	wantBrokenAt(t, st, ids[3], "altered")

	// Changing only the stored hash is caught at that row too.
	st2 := open(t)
	appendAudit(t, st2, 4)
	ids2 := auditIDs(t, st2)
	asSuperuser(t, st2, `UPDATE audit_log SET hash = sha256(hash) WHERE id = $1`, ids2[1])
	wantBrokenAt(t, st2, ids2[1], "altered")
}

func TestAuditDeletedRowBreaksChainAtNext(t *testing.T) {
	st := open(t)
	appendAudit(t, st, 6)
	ids := auditIDs(t, st)
	asSuperuser(t, st, `DELETE FROM audit_log WHERE id = $1`, ids[2])
	wantBrokenAt(t, st, ids[3], "removed")

	// Removing the first row is caught at the new first row.
	st2 := open(t)
	appendAudit(t, st2, 3)
	ids2 := auditIDs(t, st2)
	asSuperuser(t, st2, `DELETE FROM audit_log WHERE id = $1`, ids2[0])
	wantBrokenAt(t, st2, ids2[1], "zero hash")
}

func TestAuditRowsBeforeTheChainAreSkipped(t *testing.T) {
	st := open(t)
	// A row written before migration 0003 has no hashes; the constraint is NOT VALID for it.
	asSuperuser(t, st, `ALTER TABLE audit_log DROP CONSTRAINT audit_log_chained`)
	_, err := st.DB().Exec(`INSERT INTO audit_log (at, user_id, role, agency_id, action, request_id)
		VALUES (now(), $1, 'admin', $1, 'legacy', 'r')`, uuid.New())
	testenv.Must(t, err)
	appendAudit(t, st, 2)
	if n, err := st.VerifyAudit(context.Background()); err != nil || n != 2 {
		t.Fatalf("VerifyAudit = %d, %v; want 2, nil", n, err)
	}
	// A row without hashes inside the chain breaks it.
	_, err = st.DB().Exec(`INSERT INTO audit_log (at, user_id, role, agency_id, action, request_id)
		VALUES (now(), $1, 'admin', $1, 'sneaky', 'r')`, uuid.New())
	testenv.Must(t, err)
	ids := auditIDs(t, st)
	wantBrokenAt(t, st, ids[len(ids)-1], "hash missing")
}

// The client's request ID is part of the chain: changing or removing it is
// caught, and rows without one keep the hashes they had before it existed.
func TestAuditClientRequestIDIsChained(t *testing.T) {
	st := open(t)
	appendAudit(t, st, 6)
	if n, err := st.VerifyAudit(context.Background()); err != nil || n != 6 {
		t.Fatalf("VerifyAudit = %d, %v; want 6 rows verified", n, err)
	}
	ids := auditIDs(t, st)
	asSuperuser(t, st, `UPDATE audit_log SET client_request_id = 'someone-else' WHERE id = $1`, ids[1])
	wantBrokenAt(t, st, ids[1], "altered")

	st2 := open(t)
	appendAudit(t, st2, 6)
	ids2 := auditIDs(t, st2)
	asSuperuser(t, st2, `UPDATE audit_log SET client_request_id = NULL WHERE id = $1`, ids2[5])
	wantBrokenAt(t, st2, ids2[5], "altered")
}

// BenchmarkAudit appends audit entries from 1 and from 32 goroutines at a
// time, as a busy API does (every identity read is audited); compare the
// two rates, and each with an earlier build's:
//
//	go test -run '^$' -bench Audit -benchtime 2000x ./internal/store/
func BenchmarkAudit(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(b))
	testenv.Must(b, err)
	b.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(b, err)
	for _, conc := range []int{1, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			next := make(chan int)
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for i := range next {
						if err := st.Audit(ctx, auditEntry(i)); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for i := 0; b.Loop(); i++ {
				next <- i
			}
			close(next)
			wg.Wait()
		})
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		b.Fatal(err)
	}
}
