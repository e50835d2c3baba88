package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Case lists (GET /api/v1/cases, the web UI's case list): the cases a scope
// may see, newest opened first (opened_at, then id, both descending), with
// any of CaseFilter's filters. Each query is built from fixed fragments with
// only the predicates a filter sets, every value a parameter; the planner
// then sees plain conditions (c.agency_id = $1) rather than
// ($1 OR c.agency_id = $2), and a page is one range scan of cases_opened_idx
// or, for an agency's cases, cases_agency_opened_idx (both opened_at
// descending, migration 0001) — or of a stage, cases_stage_opened_idx
// (0020) — from the keyset cursor on, the few cases opened at the same
// instant sorted by ID on the way (caselist_plan_test.go checks the plans).

// Cursor is a position in a list ordered by a time, then an ID, both
// descending (cases by opened_at, referrals by sent_at): the page after it
// holds the rows of an earlier time, or of the same time with a lower ID.
// Rows added meanwhile with a later time never enter the pages after it, and
// no row is on two pages.
type Cursor struct {
	At time.Time
	ID uuid.UUID
}

// CaseSearch keeps the cases whose number starts with Number, or whose
// person has a blind index among Digests (package identity computes them
// from what the user typed); either may be empty.
type CaseSearch struct {
	Number  string
	Digests []string
}

// listQuery collects a list query's predicates and their parameters.
type listQuery struct {
	where []string
	args  []any
}

// arg adds a parameter and answers its placeholder.
func (q *listQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *listQuery) and(format string, values ...any) {
	ph := make([]any, len(values))
	for i, v := range values {
		ph[i] = q.arg(v)
	}
	q.where = append(q.where, fmt.Sprintf(format, ph...))
}

// overduePredicate: the case is open and has a deadline pending past its due
// time, or breached (obligations_case_idx finds a case's obligations).
const overduePredicate = `c.closed_at IS NULL AND EXISTS (SELECT 1 FROM obligations o WHERE o.case_id = c.id
		AND o.kind = 'deadline' AND (o.status = 'breached' OR (o.status = 'pending' AND o.due_at < %s)))`

// caseListWhere is the WHERE clause of a scope's case list under a filter
// (its cursor included, its limit and offset not).
func caseListWhere(scope CaseScope, f CaseFilter) listQuery {
	var q listQuery
	if !scope.All {
		q.and("c.agency_id = %s", scope.AgencyID) // the zero scope's uuid.Nil matches no case
	}
	if f.AgencyID != nil {
		q.and("c.agency_id = %s", *f.AgencyID)
	}
	if f.Stage != "" {
		q.and("c.stage = %s", f.Stage)
	}
	if f.Number != "" {
		q.and("c.number LIKE %s", numberPattern(f.Number))
	}
	if f.Region != "" {
		q.and("c.region = %s", f.Region)
	}
	if f.Child != nil {
		q.and("c.child = %s", *f.Child)
	}
	if f.SOPVersion != "" {
		q.and("c.sop_version = %s", f.SOPVersion)
	}
	if f.OpenedFrom != nil {
		q.and("c.opened_at >= %s", *f.OpenedFrom)
	}
	if f.OpenedTo != nil {
		q.and("c.opened_at <= %s", *f.OpenedTo)
	}
	if f.Overdue != nil {
		if *f.Overdue {
			q.and(overduePredicate, f.Now)
		} else {
			q.and("NOT ("+overduePredicate+")", f.Now)
		}
	}
	if s := f.Search; s != nil {
		// One semi-join of the cases found by number (cases_number_prefix_idx)
		// and those found by digest (person_index_digest_idx).
		var found []string
		if lo, hi, ok := prefixRange(s.Number); ok {
			// The range of the prefix rather than LIKE $n: a plan cached for
			// the statement (pgx prepares it) still uses the index.
			found = append(found, "SELECT n.id FROM cases n WHERE n.number ~>=~ "+q.arg(lo)+" AND n.number ~<~ "+q.arg(hi))
		} else if s.Number != "" {
			found = append(found, "SELECT n.id FROM cases n WHERE n.number LIKE "+q.arg(numberPattern(s.Number)))
		}
		if len(s.Digests) > 0 {
			found = append(found, "SELECT i.case_id FROM person_index i WHERE i.digest = ANY("+q.arg(Strings(s.Digests))+")")
		}
		if len(found) == 0 {
			q.where = append(q.where, "false")
		} else {
			q.where = append(q.where, "c.id IN ("+strings.Join(found, " UNION ")+")")
		}
	}
	if f.After != nil {
		// (opened_at, id) < (at, id), spelt so that its first half bounds
		// the scan of an index on opened_at.
		at := q.arg(f.After.At)
		q.where = append(q.where, fmt.Sprintf("c.opened_at <= %s AND (c.opened_at < %s OR c.id < %s)", at, at, q.arg(f.After.ID)))
	}
	if len(q.where) == 0 {
		q.where = append(q.where, "true")
	}
	return q
}

// maxListRows is the most rows a list query answers: a page of 500 and the
// row that tells whether another page follows.
const maxListRows = 501

// caseListSQL is the query of a page of a case list and its parameters.
func caseListSQL(scope CaseScope, f CaseFilter) (string, []any) {
	if f.Limit <= 0 || f.Limit > maxListRows {
		f.Limit = 100
	}
	q := caseListWhere(scope, f)
	return "SELECT c.* FROM cases c WHERE " + strings.Join(q.where, " AND ") +
		" ORDER BY c.opened_at DESC, c.id DESC LIMIT " + q.arg(f.Limit) + " OFFSET " + q.arg(max(f.Offset, 0)), q.args
}

// Cases lists the cases the scope may see, newest first: up to f.Limit
// (1–501, default 100), after f.After or skipping f.Offset.
func (s *Store) Cases(ctx context.Context, scope CaseScope, f CaseFilter) ([]Case, error) {
	sql, args := caseListSQL(scope, f)
	out := []Case{}
	if err := s.db.SelectContext(ctx, &out, sql, args...); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// CountCases counts the cases of a list (its filter without Limit, Offset
// and After).
func (s *Store) CountCases(ctx context.Context, scope CaseScope, f CaseFilter) (int, error) {
	f.After = nil
	q := caseListWhere(scope, f)
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT count(*) FROM cases c WHERE "+strings.Join(q.where, " AND "), q.args...); err != nil {
		return 0, fmt.Errorf("count cases: %w", err)
	}
	return n, nil
}

// prefixRange is the range [lo, hi) of the text_pattern_ops order (byte
// order) that holds exactly the strings starting with an ASCII prefix; ok is
// false for an empty or non-ASCII prefix, which LIKE serves instead.
func prefixRange(prefix string) (lo, hi string, ok bool) {
	if prefix == "" {
		return "", "", false
	}
	for i := 0; i < len(prefix); i++ {
		if prefix[i] < 0x20 || prefix[i] >= 0x7e {
			return "", "", false
		}
	}
	return prefix, prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1), true
}
