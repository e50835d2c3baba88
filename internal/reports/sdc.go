package reports

import "fmt"

// Statistical disclosure control (DESIGN.md §6): every count the TWG sees
// goes through a protector.
//
// The model is a set of count cells and the linear relations the published
// output makes visible: "this total is the sum of these parts" (a row and
// its row total, a column and the total row, the rows of agencies of one
// type and the row of that type, …). A cell is protected when it cannot be
// recomputed from what is published.
//
//   - Primary suppression: a count from 1 to threshold-1 is suppressed.
//     Zero is published: it describes no one, and hiding every empty cell
//     of a sparse table would hide most of it while protecting nobody.
//   - Secondary suppression: a relation with exactly one suppressed member
//     (part or total) would give it away as total minus the other parts, so
//     a second member of that relation is suppressed too: the smallest
//     non-zero published part (a total only when no part is left). This
//     repeats over every relation until no relation has exactly one
//     suppressed member (a fixed point: each round suppresses a new cell,
//     so it ends).
//
// Complements are non-zero cells where possible, so that a suppressed cell
// and its complement can trade units without any published value changing
// and neither is pinned at zero. The tests attack every report by iterated
// elimination (solve any relation with one unknown, repeat) and must never
// recover a suppressed value. Not covered: attacks across different
// requests (differencing two periods or two filters) and linear-programming
// bounds; periods are whole months to limit the first.
type protector struct {
	threshold int64
	vals      []int64
	status    []cellStatus
	rels      []relation
}

type cellStatus uint8

const (
	published cellStatus = iota
	primary
	secondary
)

type relation struct {
	total int
	parts []int
}

func newProtector(threshold int) *protector {
	return &protector{threshold: int64(threshold)}
}

// cell registers a count and returns its handle.
func (p *protector) cell(v int64) int {
	p.vals = append(p.vals, v)
	p.status = append(p.status, published)
	return len(p.vals) - 1
}

// sum declares that total is the sum of parts in the published output.
func (p *protector) sum(total int, parts ...int) {
	if len(parts) == 0 {
		return
	}
	p.rels = append(p.rels, relation{total: total, parts: append([]int(nil), parts...)})
}

// protect applies primary, then secondary suppression to a fixed point.
func (p *protector) protect() {
	for i, v := range p.vals {
		if v > 0 && v < p.threshold {
			p.status[i] = primary
		}
	}
	for changed := true; changed; {
		changed = false
		for _, r := range p.rels {
			if p.suppressedIn(r) != 1 {
				continue
			}
			if c := p.complement(r); c >= 0 {
				p.status[c] = secondary
				changed = true
			}
		}
	}
}

func (p *protector) suppressedIn(r relation) int {
	n := 0
	if p.status[r.total] != published {
		n++
	}
	for _, c := range r.parts {
		if p.status[c] != published {
			n++
		}
	}
	return n
}

// complement picks the cell to suppress beside the one suppressed member of
// r: a published part before the total, non-zero before zero, then the
// smallest, then the first.
func (p *protector) complement(r relation) int {
	best := -1
	better := func(c int) bool {
		if best < 0 {
			return true
		}
		cz, bz := p.vals[c] == 0, p.vals[best] == 0
		if cz != bz {
			return !cz
		}
		return p.vals[c] < p.vals[best]
	}
	for _, c := range r.parts {
		if p.status[c] == published && better(c) {
			best = c
		}
	}
	if best >= 0 && p.vals[best] != 0 {
		return best
	}
	if p.status[r.total] == published && (best < 0 || p.vals[r.total] != 0) {
		return r.total
	}
	return best
}

func (p *protector) suppressed(c int) bool { return c >= 0 && p.status[c] != published }

// reason says why a cell is suppressed ("" when published).
func (p *protector) reason(c int) string {
	switch p.status[c] {
	case primary:
		return fmt.Sprintf("primary: below %d", p.threshold)
	case secondary:
		return "secondary: protects a suppressed cell"
	}
	return ""
}

// Reasons for values derived from counts.
const (
	reasonDerived = "derived: computed from a suppressed cell"
)

func reasonFewInstances(threshold int64) string {
	return fmt.Sprintf("primary: based on fewer than %d instances", threshold)
}
