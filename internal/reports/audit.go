package reports

import (
	"errors"
	"fmt"
)

// Audit attacks published tables as an outsider would, from their JSON
// content only: the values (null when withheld), the relations the tables
// declare (column totals — as inequalities where rows overlap —, row sums,
// nested tables; the total rows shared by the tables of a group) and the
// threshold the report states. It bounds every count as bounds.go describes
// (a published count is its value, a withheld one at least 1) and returns a
// description of every withheld count whose interval holds fewer values
// than minWidth allows: none, when the disclosure control works. The
// reports run it before answering and refuse to answer when it finds
// anything.
func Audit(tables []*Table, threshold int) []string {
	a := newAttacker(threshold)
	a.addTables("", tables)
	return a.leaks()
}

// attacker holds what one or more published answers tell an outsider.
type attacker struct {
	threshold int64
	index     map[string]int
	names     []string
	b         []interval
	withheld  []bool
	rels      []relation
}

func newAttacker(threshold int) *attacker {
	return &attacker{threshold: int64(threshold), index: map[string]int{}}
}

// cell returns the unknown named name, creating it as v (withheld when !known).
func (a *attacker) cell(name string, v int64, known bool) int {
	if i, ok := a.index[name]; ok {
		return i
	}
	a.index[name] = len(a.names)
	a.names = append(a.names, name)
	if known {
		a.b = append(a.b, interval{v, v})
	} else {
		a.b = append(a.b, interval{1, unbounded})
	}
	a.withheld = append(a.withheld, !known)
	return len(a.names) - 1
}

// cellName names a count of a published table; ns tells answers apart.
func cellName(ns string, tb *Table, r *Row, col string) string {
	if r == tb.Total {
		return ns + "group:" + tb.Group + "/total/" + col
	}
	return ns + tb.ID + "/" + rowName(tb, r) + "/" + col
}

// addTables adds the counts and relations of one answer's tables, with
// their names prefixed by ns.
func (a *attacker) addTables(ns string, tables []*Table) {
	byID := map[string]*Table{}
	for _, tb := range tables {
		byID[tb.ID] = tb
	}
	id := func(tb *Table, r *Row, col string) int {
		v := Value{}
		if i := tb.column(col); i >= 0 && i < len(r.Values) {
			v = r.Values[i]
		}
		return a.cell(cellName(ns, tb, r, col), int64(v.V), v.Valid)
	}
	for _, tb := range tables {
		for _, r := range tb.allRows() {
			for _, c := range tb.Columns {
				if c.Kind == KindCount {
					id(tb, r, c.Name)
				}
			}
		}
		for _, c := range tb.Columns {
			if c.Kind != KindCount || tb.Total == nil || len(tb.Rows) == 0 {
				continue
			}
			rel := relation{total: id(tb, tb.Total, c.Name), overlap: tb.Conservative}
			for _, r := range tb.Rows {
				rel.parts = append(rel.parts, id(tb, r, c.Name))
			}
			a.rels = append(a.rels, rel)
		}
		for _, rs := range tb.RowSums {
			for _, r := range tb.allRows() {
				rel := relation{total: id(tb, r, rs.Total)}
				for _, p := range rs.Parts {
					rel.parts = append(rel.parts, id(tb, r, p))
				}
				a.rels = append(a.rels, rel)
			}
		}
		if tb.Nested == nil || byID[tb.Nested.Table] == nil {
			continue
		}
		parent := byID[tb.Nested.Table]
		for _, pr := range parent.Rows {
			for _, c := range tb.Columns {
				if c.Kind != KindCount {
					continue
				}
				rel := relation{total: id(parent, pr, c.Name)}
				for _, r := range tb.Rows {
					if r.Attr(tb.Nested.By) == pr.Key {
						rel.parts = append(rel.parts, id(tb, r, c.Name))
					}
				}
				a.rels = append(a.rels, rel)
			}
		}
	}
}

// sum adds a relation an outsider knows from outside the tables (two
// answers counting the same population).
func (a *attacker) sum(total int, parts ...int) {
	a.rels = append(a.rels, relation{total: total, parts: parts})
}

// bounds returns every unknown's interval.
func (a *attacker) bounds() ([]interval, error) {
	b := append([]interval(nil), a.b...)
	return b, propagate(b, a.rels, indexRelations(len(b), a.rels))
}

func (a *attacker) leaks() []string {
	b, err := a.bounds()
	var inf *infeasible
	if errors.As(err, &inf) {
		return []string{fmt.Sprintf("the published counts contradict the relations around %s: the report cannot be certified", a.names[inf.cell])}
	}
	if err != nil {
		return []string{fmt.Sprintf("the published counts cannot be bounded (%v): the report cannot be certified", err)}
	}
	need := minWidth(a.threshold)
	var leaks []string
	for i, w := range a.withheld {
		if w && b[i].width() < need {
			leaks = append(leaks, fmt.Sprintf("withheld cell %s is bounded to %s by the published counts (fewer than %d values)",
				a.names[i], b[i], need+1))
		}
	}
	return leaks
}

// errDisclosure is returned instead of a report that Audit finds unsafe.
type errDisclosure struct{ leaks []string }

func (e *errDisclosure) Error() string {
	return fmt.Sprintf("reports: disclosure control failed, report withheld: %s", e.leaks[0])
}

func audited(tables []*Table, threshold int) error {
	if leaks := Audit(tables, threshold); len(leaks) > 0 {
		return &errDisclosure{leaks}
	}
	return nil
}

// isDisclosure says whether err is a report withheld by its audit.
func isDisclosure(err error) bool {
	var d *errDisclosure
	return errors.As(err, &d)
}
