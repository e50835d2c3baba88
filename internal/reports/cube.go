package reports

import (
	"fmt"
	"slices"
	"strings"
)

// Filtered answers (docs/disclosure-control.md, "Filters"). A report
// filtered by region publishes the region's cases by sex, month, …: cells
// of a region × sex table whose margins the unfiltered answer publishes.
// Protecting each answer on its own lets an attacker subtract: the
// unfiltered total minus one filtered total is the rest, and a cell the
// unfiltered answer withholds may be the total of a filtered one. So every
// answer of a report is a slice of one cube — the unfiltered answer and
// the answer for each value of the filter — registered in one protector
// with the relations that tie the slices together (a count of the
// unfiltered answer is the sum of the same count in every filtered one;
// the total of a filtered answer is a row of the unfiltered one), protected
// once, and the request gets its slice. Every answer then comes from the
// same suppression pattern, which is safe against all of them at once.

// pair is one coordinate of a cell: a dimension and its value.
type pair struct{ dim, val string }

// coord names a cell of the cube by the values of its dimensions, sorted
// by dimension; the empty coord is the unfiltered total.
type coord []pair

// with returns c narrowed to dim = val, and false when c already has
// another value for dim (that cell is empty).
func (c coord) with(dim, val string) (coord, bool) {
	for _, p := range c {
		if p.dim == dim {
			return c, p.val == val
		}
	}
	out := append(slices.Clone(c), pair{dim, val})
	slices.SortFunc(out, func(a, b pair) int { return strings.Compare(a.dim, b.dim) })
	return out, true
}

func (c coord) has(dim string) bool {
	return slices.ContainsFunc(c, func(p pair) bool { return p.dim == dim })
}

func (c coord) key(ns, col string) string {
	var b strings.Builder
	b.WriteString(ns)
	for _, p := range c {
		b.WriteString("\x00")
		b.WriteString(p.dim)
		b.WriteString("\x01")
		b.WriteString(p.val)
	}
	b.WriteString("\x00\x00")
	b.WriteString(col)
	return b.String()
}

// cube gives every count one protector cell, whichever answer shows it.
type cube struct {
	p     *protector
	cells map[string]int
}

func newCube(threshold int) *cube {
	return &cube{p: newProtector(threshold), cells: map[string]int{}}
}

// count returns the cell of the count col at coordinate at in namespace ns
// (the population counted: cases, referrals, attempts, instances of an
// obligation), registering it with value v the first time.
func (c *cube) count(ns string, at coord, col string, v int64) int {
	k := at.key(ns, col)
	if i, ok := c.cells[k]; ok {
		if c.p.vals[i] != v && c.p.conflict == nil {
			c.p.conflict = fmt.Errorf("reports: %s %s at %v counted both %d and %d: the data changed while the report was read",
				ns, col, at, c.p.vals[i], v)
		}
		return i
	}
	i := c.p.cell(v)
	c.p.depth[i] = len(at)
	c.cells[k] = i
	return i
}

// alias names an existing cell also at coordinate at (two rows showing the
// same count), so that relations across answers find it under either name.
func (c *cube) alias(ns string, at coord, col string, cell int) int {
	k := at.key(ns, col)
	if i, ok := c.cells[k]; ok {
		if i != cell && c.p.vals[i] != c.p.vals[cell] && c.p.conflict == nil {
			c.p.conflict = fmt.Errorf("reports: %s %s at %v counted both %d and %d", ns, col, at, c.p.vals[i], c.p.vals[cell])
		}
		return i
	}
	c.cells[k] = cell
	return cell
}

// row returns a row of table cells at coordinate at, with the given counts.
func (c *cube) row(ns string, at coord, key string, counts map[string]int64, cols []string, attrs ...Attr) *Row {
	r := newRow(key, attrs...)
	r.ns, r.at = ns, at
	for _, col := range cols {
		r.counts[col] = c.count(ns, at, col, counts[col])
	}
	return r
}

// across declares that every count of the unfiltered tables is the sum of
// the same count narrowed to each value of dim (a missing cell is zero: no
// row, nothing counted). Counts whose coordinate already fixes dim, or a
// dimension dim determines (skip), are left out: their relations are the
// tables' own.
func (c *cube) across(tables []*Table, dim string, values []string, skip ...string) {
	for _, t := range tables {
		for _, r := range t.allRows() {
			if r.at.has(dim) || slices.ContainsFunc(skip, r.at.has) {
				continue
			}
			for _, col := range t.Columns {
				if col.Kind != KindCount {
					continue
				}
				var parts []int
				for _, v := range values {
					at, ok := r.at.with(dim, v)
					if !ok {
						continue
					}
					if i, ok := c.cells[at.key(r.ns, col.Name)]; ok {
						parts = append(parts, i)
					}
				}
				c.p.sum(r.counts[col.Name], parts...)
			}
		}
	}
}
