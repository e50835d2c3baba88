package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Statistical disclosure control: every count the TWG sees goes through a
// protector. docs/disclosure-control.md is the design; this is its
// implementation.
//
// The model is a set of count cells and the linear relations the published
// output makes visible: "this total is the sum of these parts" (a row and
// its row total, a column and the total row, the rows of agencies of one
// type and the row of that type, the same count in every filtered answer
// and in the unfiltered one, …).
//
//   - Primary suppression: a count from 1 to threshold-1 is withheld. Zero
//     is published: it describes no one, and hiding every empty cell of a
//     sparse table would hide most of it while protecting nobody. Because
//     zeros are published and only non-zero cells are ever withheld, an
//     attacker knows every withheld cell is at least 1; the protection
//     assumes it.
//   - Secondary suppression, first pass: a relation with exactly one
//     withheld member would give it away as total minus the other parts, so
//     a second member is withheld.
//   - Secondary suppression, second pass: the attack of bounds.go runs over
//     all relations; while some withheld cell's interval is narrower than
//     minWidth (fewer than threshold-1 candidate values, or fewer than two),
//     another non-zero published cell is withheld — in a relation that
//     bounds that cell, or, when all of those are withheld already, in the
//     nearest relation reached through withheld cells — and the attack runs
//     again. Withholding only ever widens intervals, and withholding every
//     non-zero cell leaves every interval unbounded above, so this ends, and
//     ends safe.
//   - Release: greedy choices overshoot; each complement is then tried
//     published again, coarsest first, and stays published if the attack
//     still finds every withheld cell wide enough.
//
// Complements are chosen by cost (cheaper): the most specific cell first —
// a cell only a filtered answer shows before a count of the unfiltered one,
// counting the coarser cell a complement equals and so drags along —, a
// part before a total (totals are shared by every table of a group), then
// the smallest count. Totals are published exactly and withheld only as a
// last complement; they are not rounded (docs/disclosure-control.md says
// why).
//
// Which cells are small and which protect them is not published: every
// withheld count carries the same reason. Saying which cells are small
// would tell an attacker they lie in 1..threshold-1, which no pattern can
// then protect (at threshold 2 it is the value itself; a small total of
// threshold-1 small parts pins every part at 1).
type protector struct {
	threshold int64
	vals      []int64
	status    []cellStatus
	// depth is how many dimensions a cell's coordinate fixes (cube.go):
	// complements are taken from the most specific cells first, those only
	// filtered answers show, before the counts of the unfiltered answer.
	depth    []int
	rels     []relation
	byCell   [][]int // each cell's relations, once protect has begun
	declared map[string]bool
	// conflict records a cell registered twice with different values: the
	// data changed between two reads of one report.
	conflict error
}

type cellStatus uint8

const (
	published cellStatus = iota
	primary
	secondary
)

func newProtector(threshold int) *protector {
	return &protector{threshold: int64(threshold), declared: map[string]bool{}}
}

// cell registers a count and returns its handle.
func (p *protector) cell(v int64) int {
	p.vals = append(p.vals, v)
	p.status = append(p.status, published)
	p.depth = append(p.depth, 0)
	return len(p.vals) - 1
}

// sum declares that total is the sum of parts in the published output.
func (p *protector) sum(total int, parts ...int) { p.declare(relation{total: total, parts: parts}) }

// overlapSum declares that parts may share members: each is at most total,
// and total is at most their sum.
func (p *protector) overlapSum(total int, parts ...int) {
	p.declare(relation{total: total, parts: parts, overlap: true})
}

// declare records a relation once: the same relation reaches the protector
// from every answer that shows it.
func (p *protector) declare(r relation) {
	if len(r.parts) == 0 || len(r.parts) == 1 && r.parts[0] == r.total {
		return
	}
	sorted := slices.Clone(r.parts)
	slices.Sort(sorted)
	var b strings.Builder
	if r.overlap {
		b.WriteString("~")
	}
	b.WriteString(strconv.Itoa(r.total))
	for _, c := range sorted {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(c))
	}
	if p.declared[b.String()] {
		return
	}
	p.declared[b.String()] = true
	r.parts = slices.Clone(r.parts)
	p.rels = append(p.rels, r)
}

// protect applies primary, then secondary suppression.
func (p *protector) protect() error {
	if p.conflict != nil {
		return p.conflict
	}
	// The protection reasons about the relations as facts: one that the
	// counts do not satisfy (a read that raced a write, a population that
	// does not split the way the relations say) would make its intervals
	// wrong, so such a report is not published.
	for _, r := range p.rels {
		if err := p.check(r); err != nil {
			return err
		}
	}
	for i, v := range p.vals {
		if v > 0 && v < p.threshold {
			p.status[i] = primary
		}
	}
	if p.threshold <= 1 {
		return nil
	}
	parts, of := p.components()
	if len(parts) == 1 {
		return p.protectConnected()
	}
	rels := make([][]relation, len(parts)) // each component's relations
	for _, r := range p.rels {
		rels[of[r.total]] = append(rels[of[r.total]], r)
	}
	for k, cells := range parts {
		sub := p.restricted(cells, rels[k])
		if err := sub.protectConnected(); err != nil {
			return err
		}
		for i, c := range cells {
			p.status[c] = sub.status[i]
		}
	}
	return nil
}

// components splits the cells into the sets no relation joins (the tables
// of one obligation, say, share no relation with another's). Each set is
// protected on its own: what is withheld in one never changes an interval
// in another, so the outcome is the same as protecting them together, and
// the attack's rounds, which start from scratch each time, run over one
// set's relations instead of all of them.
func (p *protector) components() (cells [][]int, of []int) {
	root := make([]int, len(p.vals))
	for i := range root {
		root[i] = i
	}
	var find func(int) int
	find = func(c int) int {
		for root[c] != c {
			root[c] = root[root[c]]
			c = root[c]
		}
		return c
	}
	for _, r := range p.rels {
		for _, c := range r.parts {
			if a, b := find(c), find(r.total); a != b {
				root[a] = b
			}
		}
	}
	index := map[int]int{}
	of = make([]int, len(p.vals))
	for c := range p.vals {
		rc := find(c)
		i, ok := index[rc]
		if !ok {
			i = len(cells)
			index[rc] = i
			cells = append(cells, nil)
		}
		cells[i] = append(cells[i], c)
		of[c] = i
	}
	return cells, of
}

// restricted is a protector of the cells (in increasing order, a union of
// components) and rels, the relations among them, numbered anew, with their
// statuses so far.
func (p *protector) restricted(cells []int, rels []relation) *protector {
	local := make(map[int]int, len(cells))
	sub := &protector{threshold: p.threshold}
	for i, c := range cells {
		local[c] = i
		sub.vals = append(sub.vals, p.vals[c])
		sub.status = append(sub.status, p.status[c])
		sub.depth = append(sub.depth, p.depth[c])
	}
	for _, r := range rels {
		t := local[r.total]
		parts := make([]int, len(r.parts))
		for i, c := range r.parts {
			parts[i] = local[c]
		}
		sub.rels = append(sub.rels, relation{total: t, parts: parts, overlap: r.overlap})
	}
	return sub
}

// protectConnected is the secondary suppression of protect, once the
// primary is done.
func (p *protector) protectConnected() error {
	p.byCell = indexRelations(len(p.vals), p.rels)
	byCell := p.byCell
	for changed := true; changed; {
		changed = false
		for _, r := range p.rels {
			if p.withheldIn(r) != 1 {
				continue
			}
			if c := p.complement(r); c >= 0 {
				p.status[c] = secondary
				changed = true
			}
		}
	}
	need := minWidth(p.threshold)
	for {
		b, err := p.attack(byCell)
		if err != nil {
			return fmt.Errorf("reports: disclosure control: %w", err)
		}
		// Every pinned cell picks its complement against the same bounds;
		// they are withheld together, then the attack runs again.
		var add []int
		picked := make([]bool, len(p.vals))
		pinned := false
		for c := range p.vals {
			if p.status[c] == published || b[c].width() >= need {
				continue
			}
			pinned = true
			if k := p.widen(c, b, byCell); k >= 0 && !picked[k] {
				picked[k] = true
				add = append(add, k)
			}
		}
		switch {
		case !pinned:
			p.release(b)
			return nil
		case len(add) == 0:
			// Nothing left to withhold near a pinned cell, which cannot
			// happen (see above); Audit refuses the report.
			return nil
		}
		for _, k := range add {
			p.status[k] = secondary
		}
	}
}

func (p *protector) check(r relation) error {
	var sum, most int64
	for _, c := range r.parts {
		sum += p.vals[c]
		most = max(most, p.vals[c])
	}
	t := p.vals[r.total]
	if r.overlap && (t < most || t > sum) || !r.overlap && t != sum {
		return fmt.Errorf("reports: a total of %d does not match its parts (sum %d): the data changed while the report was read", t, sum)
	}
	return nil
}

// release undoes what the greedy passes withheld without need: it tries to
// publish each complement again, the coarsest first (the counts the
// unfiltered answer shows), then the largest, and keeps it published if
// every withheld cell stays wide enough. b is the attack's fixed point of
// a safe pattern on entry, and stays one. Publishing a cell only narrows
// intervals, so the propagation goes on from there rather than from
// scratch, and a cell that cannot be released now could not be later.
func (p *protector) release(b []interval) {
	need := minWidth(p.threshold)
	var tries []int
	for c, st := range p.status {
		if st == secondary {
			tries = append(tries, c)
		}
	}
	slices.SortStableFunc(tries, func(a, b int) int {
		if p.depth[a] != p.depth[b] {
			return p.depth[a] - p.depth[b]
		}
		return int(p.vals[b] - p.vals[a])
	})
	var log []change
	for _, c := range tries {
		log = log[:0]
		log = append(log, change{c, b[c]})
		b[c] = interval{p.vals[c], p.vals[c]}
		err := propagateFrom(b, p.rels, p.byCell, p.byCell[c], &log)
		safe := err == nil
		for _, ch := range log {
			if safe && ch.cell != c && p.status[ch.cell] != published && b[ch.cell].width() < need {
				safe = false
			}
		}
		if safe {
			p.status[c] = published
			continue
		}
		for i := len(log) - 1; i >= 0; i-- {
			b[log[i].cell] = log[i].was
		}
	}
}

// attack returns every cell's interval as an attacker bounds it.
func (p *protector) attack(byCell [][]int) ([]interval, error) {
	b := make([]interval, len(p.vals))
	for i, v := range p.vals {
		if p.status[i] == published {
			b[i] = interval{v, v}
		} else {
			b[i] = interval{1, unbounded}
		}
	}
	return b, propagate(b, p.rels, byCell)
}

func (p *protector) withheldIn(r relation) int {
	n := 0
	for _, c := range r.members() {
		if p.status[c] != published {
			n++
		}
	}
	return n
}

// complement picks the cell to withhold beside the one withheld member of
// r: a non-zero published part, else the total; never a zero (see above).
func (p *protector) complement(r relation) int {
	best := -1
	for _, c := range r.parts {
		if p.status[c] == published && p.vals[c] > 0 && (best < 0 || p.cheaper(c, false, best, false)) {
			best = c
		}
	}
	if best < 0 && p.status[r.total] == published && p.vals[r.total] > 0 {
		best = r.total
	}
	return best
}

// cheaper says whether withholding cell a (a total when aTotal) loses less
// than withholding b: a more specific cell before a coarser one, a part
// before a total (totals are shared by every table of a group), then the
// smaller count, then the one met first.
func (p *protector) cheaper(a int, aTotal bool, b int, bTotal bool) bool {
	if da, db := p.reach(a), p.reach(b); da != db {
		return da > db
	}
	if aTotal != bTotal {
		return !aTotal
	}
	return p.vals[a] < p.vals[b]
}

// widen picks a published non-zero cell whose withholding loosens the
// bounds of the withheld cell c: first in the relations that set c's
// current bounds, then, breadth first, in the relations of the withheld
// cells those reach (bounds travel only through withheld cells: a
// published one is a constant). It returns -1 when none is left.
func (p *protector) widen(c int, b []interval, byCell [][]int) int {
	var frontier []int
	for _, ri := range byCell[c] {
		if lo, hi := p.implied(p.rels[ri], c, b); lo >= b[c].lo || hi <= b[c].hi {
			frontier = append(frontier, ri)
		}
	}
	if len(frontier) == 0 {
		frontier = byCell[c]
	}
	seenRel := map[int]bool{}
	seenCell := map[int]bool{c: true}
	for _, ri := range frontier {
		seenRel[ri] = true
	}
	for len(frontier) > 0 {
		best := -1
		bestTotal := false
		for _, ri := range frontier {
			r := p.rels[ri]
			for i, m := range r.members() {
				if p.status[m] != published || p.vals[m] == 0 {
					continue
				}
				if isTotal := i == 0; best < 0 || p.cheaper(m, isTotal, best, bestTotal) {
					best, bestTotal = m, isTotal
				}
			}
		}
		if best >= 0 {
			return best
		}
		var next []int
		for _, ri := range frontier {
			for _, m := range p.rels[ri].members() {
				if p.status[m] == published || seenCell[m] {
					continue
				}
				seenCell[m] = true
				for _, rj := range byCell[m] {
					if !seenRel[rj] {
						seenRel[rj] = true
						next = append(next, rj)
					}
				}
			}
		}
		frontier = next
	}
	return -1
}

// implied is the interval relation r alone gives cell c from the other
// members' current bounds.
func (p *protector) implied(r relation, c int, b []interval) (int64, int64) {
	var sumLo, sumHi, maxLo int64
	for _, m := range r.parts {
		if m != c {
			sumLo += b[m].lo
			sumHi = min(sumHi+b[m].hi, unbounded)
			maxLo = max(maxLo, b[m].lo)
		}
	}
	if c == r.total {
		if r.overlap {
			return maxLo, sumHi
		}
		return sumLo, sumHi
	}
	t := b[r.total]
	lo, hi := int64(0), t.hi
	if sumHi < unbounded {
		lo = t.lo - sumHi
	}
	if !r.overlap && t.hi < unbounded {
		hi = t.hi - sumLo
	}
	return lo, hi
}

// reach is the depth of the coarsest cell withholding c forces at once: a
// cell that is the only non-zero part of a published total equals it (an
// agency working in one region is that region's whole count for it), so
// withholding the one withholds the other.
func (p *protector) reach(c int) int {
	d := p.depth[c]
	for _, ri := range p.byCell[c] {
		r := p.rels[ri]
		if r.total == c || r.overlap || p.status[r.total] != published {
			continue
		}
		alone := true
		for _, m := range r.parts {
			if m != c && p.vals[m] != 0 {
				alone = false
				break
			}
		}
		if alone {
			d = min(d, p.depth[r.total])
		}
	}
	return d
}

func (p *protector) suppressed(c int) bool { return c >= 0 && p.status[c] != published }

// reason says why a count is withheld ("" when published): the same for
// every withheld count (see protector).
func (p *protector) reason(c int) string {
	if p.status[c] == published {
		return ""
	}
	return reasonWithheld(p.threshold)
}

func reasonWithheld(threshold int64) string {
	return fmt.Sprintf("withheld: below %d, or protects a withheld count", threshold)
}

// Reasons for values derived from counts.
const (
	reasonDerived = "derived: computed from a suppressed cell"
)

func reasonFewInstances(threshold int64) string {
	return fmt.Sprintf("primary: based on fewer than %d instances", threshold)
}
