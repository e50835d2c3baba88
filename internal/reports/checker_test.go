package reports

import (
	"testing"
)

// The checkers play the attacker: knowing the published cells and the
// relations the output declares (totals of columns, totals of rows, nested
// tables), they solve every relation that has exactly one unknown member,
// add what they learn to what is known, and repeat. Any withheld count they
// recover is a disclosure.

// attackProtector attacks the protector's own cells and relations.
func attackProtector(t *testing.T, p *protector) {
	t.Helper()
	known := make([]bool, len(p.vals))
	for i := range known {
		known[i] = p.status[i] == published
	}
	for changed := true; changed; {
		changed = false
		for _, r := range p.rels {
			members := append([]int{r.total}, r.parts...)
			unknown := -1
			n := 0
			for _, c := range members {
				if !known[c] {
					n++
					unknown = c
				}
			}
			if n != 1 {
				continue
			}
			known[unknown] = true
			changed = true
			if p.status[unknown] != published {
				t.Errorf("cell %d (value %d, %s) is recomputable from relation total=%d parts=%v", unknown, p.vals[unknown],
					p.reason(unknown), r.total, r.parts)
			}
		}
	}
}

// attackTables runs Audit, the attack on the published output.
func attackTables(t *testing.T, tables []*Table) {
	t.Helper()
	for _, leak := range Audit(tables) {
		t.Error(leak)
	}
}

// checkNoValueLeaks fails when a withheld count appears as a number.
func checkWithheldAreNull(t *testing.T, tables []*Table) {
	t.Helper()
	for _, tb := range tables {
		listed := map[[2]string]bool{}
		for _, s := range tb.Suppressed {
			listed[[2]string{s.Row, s.Column}] = true
		}
		for _, r := range tb.allRows() {
			for i, c := range tb.Columns {
				if listed[[2]string{rowName(tb, r), c.Name}] && r.Values[i].Valid {
					t.Errorf("%s row %s column %s is listed as suppressed but published as %v", tb.ID, rowName(tb, r), c.Name, r.Values[i].V)
				}
			}
		}
	}
}
