package reports

import (
	"errors"
	"fmt"
)

// The attack both the protector and Audit play (docs/disclosure-control.md):
// every count is an unknown in an interval — a published count is exactly
// its value, a withheld one is at least 1 (zeros are always published, so a
// withheld cell is never empty) and unbounded above — and every relation the
// output declares narrows the intervals of its members: a member of a sum is
// at most the total's upper bound minus the other members' lower bounds and
// at least the total's lower bound minus their upper bounds. Repeated until
// nothing changes, this bound propagation finds everything iterated
// elimination finds (a relation with one unknown pins it) and more: two
// withheld cells known to sum to 2 are each exactly 1.

// unbounded is the upper bound of a count nothing bounds from above; sums of
// a few of them do not overflow.
const unbounded = int64(1) << 52

type interval struct{ lo, hi int64 }

func (iv interval) width() int64 { return iv.hi - iv.lo }

func (iv interval) String() string {
	if iv.hi >= unbounded {
		return fmt.Sprintf("[%d, ∞)", iv.lo)
	}
	return fmt.Sprintf("[%d, %d]", iv.lo, iv.hi)
}

// relation says that total is the sum of parts, or, when overlap is set
// (rows that may share members, like a case counted under each of its types
// of exploitation), that each part is at most the total and the total at
// most the sum of the parts.
type relation struct {
	total   int
	parts   []int
	overlap bool
}

func (r relation) members() []int { return append([]int{r.total}, r.parts...) }

// errUnresolved: the propagation did not settle within its budget, or found
// the relations contradict the published values; either way no safe answer
// can be certified.
var errUnresolved = errors.New("bound propagation did not settle")

// infeasible says which cell the relations left without a value.
type infeasible struct{ cell int }

func (e *infeasible) Error() string {
	return fmt.Sprintf("%v: cell %d has no feasible value", errUnresolved, e.cell)
}

func (e *infeasible) Unwrap() error { return errUnresolved }

// minWidth is how wide every withheld cell's interval must stay: at least
// as many candidate values as the threshold rule itself leaves open for a
// small count (1 to threshold-1), and never fewer than two.
func minWidth(threshold int64) int64 { return max(1, threshold-2) }

// propagate narrows b (one interval per cell) to the fixed point of rels.
// byCell lists each cell's relations.
func propagate(b []interval, rels []relation, byCell [][]int) error {
	all := make([]int, len(rels))
	for i := range rels {
		all[i] = i
	}
	return propagateFrom(b, rels, byCell, all, nil)
}

// change is an interval propagateFrom narrowed, with its value before.
type change struct {
	cell int
	was  interval
}

// propagateFrom narrows b from the relations start only, as far as they
// reach: from a fixed point of rels, after narrowing some cells, it reaches
// the same fixed point as propagate would, for a fraction of the work. When
// log is not nil, it records every change, so that the caller can undo them.
func propagateFrom(b []interval, rels []relation, byCell [][]int, start []int, log *[]change) error {
	queue := make([]int, 0, len(start))
	// A slice, not a map: this runs once per complement tried, and the
	// map's hashing was most of the protection's time.
	queued := make([]bool, len(rels))
	for _, i := range start {
		if !queued[i] {
			queue = append(queue, i)
			queued[i] = true
		}
	}
	// Sums of non-negative counts settle after a few passes over each
	// relation; the budget only stops a runaway.
	budget := 64*len(rels) + 1024
	set := func(c int, lo, hi int64) error {
		cur := b[c]
		lo, hi = max(lo, cur.lo), min(hi, cur.hi)
		if lo > hi {
			return &infeasible{c}
		}
		if lo == cur.lo && hi == cur.hi {
			return nil
		}
		if log != nil {
			*log = append(*log, change{c, cur})
		}
		b[c] = interval{lo, hi}
		for _, r := range byCell[c] {
			if !queued[r] {
				queued[r] = true
				queue = append(queue, r)
			}
		}
		return nil
	}
	for len(queue) > 0 {
		if budget--; budget < 0 {
			return errUnresolved
		}
		ri := queue[0]
		queue = queue[1:]
		queued[ri] = false
		r := rels[ri]
		// The parts' sums, with the unbounded upper bounds counted apart.
		var sumLo, finHi int64
		var nUnbounded int
		maxLo := int64(0)
		for _, c := range r.parts {
			sumLo += b[c].lo
			maxLo = max(maxLo, b[c].lo)
			if b[c].hi >= unbounded {
				nUnbounded++
			} else {
				finHi += b[c].hi
			}
		}
		sumHi := unbounded
		if nUnbounded == 0 {
			sumHi = min(finHi, unbounded)
		}
		// othersHi is the upper bound of the sum of the parts other than c.
		othersHi := func(c int) int64 {
			if b[c].hi >= unbounded {
				if nUnbounded > 1 {
					return unbounded
				}
				return finHi
			}
			if nUnbounded > 0 {
				return unbounded
			}
			return finHi - b[c].hi
		}
		lowerGiven := func(totalLo, others int64) int64 {
			if others >= unbounded {
				return 0
			}
			return totalLo - others
		}
		if r.overlap {
			if err := set(r.total, maxLo, sumHi); err != nil {
				return err
			}
			t := b[r.total]
			for _, c := range r.parts {
				if err := set(c, lowerGiven(t.lo, othersHi(c)), t.hi); err != nil {
					return err
				}
			}
			continue
		}
		if err := set(r.total, sumLo, sumHi); err != nil {
			return err
		}
		t := b[r.total]
		for _, c := range r.parts {
			hi := unbounded
			if t.hi < unbounded {
				hi = t.hi - (sumLo - b[c].lo)
			}
			if err := set(c, lowerGiven(t.lo, othersHi(c)), hi); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexRelations lists, for each of n cells, the relations it is a member of.
func indexRelations(n int, rels []relation) [][]int {
	byCell := make([][]int, n)
	for i, r := range rels {
		for _, c := range r.members() {
			if len(byCell[c]) == 0 || byCell[c][len(byCell[c])-1] != i {
				byCell[c] = append(byCell[c], i)
			}
		}
	}
	return byCell
}
