package reports

import "fmt"

// Audit attacks published tables as an outsider would, from their JSON
// content only: the values (null when withheld) and the relations the
// tables declare (column totals, row sums, nested tables; the total rows
// shared by the tables of a group). It solves every relation with exactly
// one unknown member, adds the result to what is known, and repeats. It
// returns a description of every withheld count it recovers: none, when the
// disclosure control works. The reports run it before answering and refuse
// to answer when it finds anything.
func Audit(tables []*Table) []string {
	type cellID struct{ table, row, col string }
	known := map[cellID]bool{}
	withheld := map[cellID]bool{}
	var rels [][]cellID // first member is the total
	id := func(tb *Table, r *Row, col string) cellID {
		if r == tb.Total {
			return cellID{"group:" + tb.Group, "total", col}
		}
		return cellID{tb.ID, rowName(tb, r), col}
	}
	byID := map[string]*Table{}
	for _, tb := range tables {
		byID[tb.ID] = tb
	}
	for _, tb := range tables {
		for _, r := range tb.allRows() {
			for i, c := range tb.Columns {
				if c.Kind != KindCount {
					continue
				}
				k := id(tb, r, c.Name)
				if i < len(r.Values) && r.Values[i].Valid {
					known[k] = true
				} else {
					withheld[k] = true
				}
			}
		}
		for _, c := range tb.Columns {
			if c.Kind != KindCount || tb.Total == nil {
				continue
			}
			rel := []cellID{id(tb, tb.Total, c.Name)}
			for _, r := range tb.Rows {
				rel = append(rel, id(tb, r, c.Name))
			}
			rels = append(rels, rel)
		}
		for _, rs := range tb.RowSums {
			for _, r := range tb.allRows() {
				rel := []cellID{id(tb, r, rs.Total)}
				for _, p := range rs.Parts {
					rel = append(rel, id(tb, r, p))
				}
				rels = append(rels, rel)
			}
		}
		if tb.Nested != nil {
			parent := byID[tb.Nested.Table]
			if parent == nil {
				continue
			}
			for _, pr := range parent.Rows {
				for _, c := range tb.Columns {
					if c.Kind != KindCount {
						continue
					}
					rel := []cellID{id(parent, pr, c.Name)}
					for _, r := range tb.Rows {
						if r.Attr(tb.Nested.By) == pr.Key {
							rel = append(rel, id(tb, r, c.Name))
						}
					}
					rels = append(rels, rel)
				}
			}
		}
	}
	var leaks []string
	for changed := true; changed; {
		changed = false
		for _, rel := range rels {
			var unknown []cellID
			for _, c := range rel {
				if !known[c] {
					unknown = append(unknown, c)
				}
			}
			if len(unknown) != 1 {
				continue
			}
			known[unknown[0]] = true
			changed = true
			if withheld[unknown[0]] {
				leaks = append(leaks, fmt.Sprintf("withheld cell %s/%s/%s is recomputable as %s/%s/%s minus the other cells of its relation",
					unknown[0].table, unknown[0].row, unknown[0].col, rel[0].table, rel[0].row, rel[0].col))
			}
		}
	}
	return leaks
}

// errDisclosure is returned instead of a report that Audit finds unsafe.
type errDisclosure struct{ leaks []string }

func (e *errDisclosure) Error() string {
	return fmt.Sprintf("reports: disclosure control failed, report withheld: %s", e.leaks[0])
}

func audited(tables []*Table) error {
	if leaks := Audit(tables); len(leaks) > 0 {
		return &errDisclosure{leaks}
	}
	return nil
}
