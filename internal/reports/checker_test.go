package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// The checkers play the attacker. They know the published counts (a
// withheld one is null), the relations the output declares (column totals
// — inequalities where rows overlap —, row totals, nested tables) and, for
// several answers at once, the relations between answers (the same count
// filtered to each region sums to the unfiltered count). Every count is an
// interval: a published one its value, a withheld one at least 1 (zeros are
// always published). Each relation narrows its members' intervals — a part
// is at most the total's upper bound minus the others' lower bounds, and so
// on — until nothing changes. A withheld count narrowed to fewer than
// max(2, threshold-1) values is a disclosure.
//
// This is a second implementation of the attack of bounds.go, written
// apart on purpose (floating-point infinity, whole passes instead of a
// work list): the protector and Audit share theirs, the tests must not.

type checkRel struct {
	total   int
	parts   []int
	overlap bool
}

type checker struct {
	names    []string
	index    map[string]int
	lo, hi   []float64
	withheld []bool
	truth    []float64 // the true values, when known (protector attacks)
	rels     []checkRel
}

func newChecker() *checker { return &checker{index: map[string]int{}} }

func (k *checker) add(name string, v float64, published bool) int {
	if i, ok := k.index[name]; ok {
		return i
	}
	k.index[name] = len(k.names)
	k.names = append(k.names, name)
	if published {
		k.lo, k.hi = append(k.lo, v), append(k.hi, v)
	} else {
		k.lo, k.hi = append(k.lo, 1), append(k.hi, math.Inf(1))
	}
	k.withheld = append(k.withheld, !published)
	k.truth = append(k.truth, math.NaN())
	return len(k.names) - 1
}

// unknown adds a count the answers do not show (the rest of a population
// beyond the answers at hand): at least 0, not itself a disclosure.
func (k *checker) unknown(name string) int {
	i := k.add(name, 0, false)
	k.lo[i], k.withheld[i] = 0, false
	return i
}

func (k *checker) sum(total int, parts ...int) {
	if len(parts) > 0 {
		k.rels = append(k.rels, checkRel{total: total, parts: parts})
	}
}

// tightenTo lowers hi / raises lo; it reports whether anything changed.
func (k *checker) tightenTo(i int, lo, hi float64) bool {
	changed := false
	if lo > k.lo[i] {
		k.lo[i], changed = lo, true
	}
	if hi < k.hi[i] {
		k.hi[i], changed = hi, true
	}
	return changed
}

// run propagates to a fixed point and fails on a contradiction.
func (k *checker) run(t *testing.T) {
	t.Helper()
	for pass := 0; ; pass++ {
		if pass > 10000 {
			t.Fatal("checker: no fixed point after 10000 passes")
		}
		changed := false
		for _, r := range k.rels {
			// The total from the parts.
			var sLo, sHi, maxLo float64
			for _, p := range r.parts {
				sLo += k.lo[p]
				sHi += k.hi[p]
				maxLo = math.Max(maxLo, k.lo[p])
			}
			if r.overlap {
				changed = k.tightenTo(r.total, maxLo, sHi) || changed
			} else {
				changed = k.tightenTo(r.total, sLo, sHi) || changed
			}
			// Each part from the total and the other parts.
			for _, p := range r.parts {
				var oLo, oHi float64
				for _, q := range r.parts {
					if q != p {
						oLo += k.lo[q]
						oHi += k.hi[q]
					}
				}
				lo := k.lo[r.total] - oHi // -Inf when another part is unbounded
				hi := k.hi[r.total] - oLo
				if r.overlap {
					hi = k.hi[r.total]
				}
				changed = k.tightenTo(p, lo, hi) || changed
			}
		}
		for i := range k.lo {
			if k.lo[i] > k.hi[i] {
				t.Fatalf("checker: %s has no feasible value: [%v, %v]", k.names[i], k.lo[i], k.hi[i])
			}
			if !math.IsNaN(k.truth[i]) && (k.truth[i] < k.lo[i] || k.truth[i] > k.hi[i]) {
				t.Fatalf("checker: %s = %v lies outside its bounds [%v, %v]: a relation is wrong", k.names[i], k.truth[i], k.lo[i], k.hi[i])
			}
		}
		if !changed {
			return
		}
	}
}

// disclosures lists the withheld counts bounded to fewer than
// max(2, threshold-1) values.
func (k *checker) disclosures(threshold int) []string {
	need := math.Max(2, float64(threshold-1))
	var out []string
	for i, w := range k.withheld {
		if w && k.hi[i]-k.lo[i]+1 < need {
			out = append(out, fmt.Sprintf("%s is bounded to [%v, %v]", k.names[i], k.lo[i], k.hi[i]))
		}
	}
	return out
}

// interval returns the bounds of a named count.
func (k *checker) interval(t *testing.T, name string) (float64, float64) {
	t.Helper()
	i, ok := k.index[name]
	if !ok {
		t.Fatalf("checker: no count %s", name)
	}
	return k.lo[i], k.hi[i]
}

// addAnswer adds one answer's published tables, their counts named
// ns + table + "/" + row + "/" + column (group totals: ns + "group:" +
// group + "/total/" + column).
func (k *checker) addAnswer(ns string, tables []*Table) {
	byID := map[string]*Table{}
	for _, tb := range tables {
		byID[tb.ID] = tb
	}
	cell := func(tb *Table, r *Row, col string) int {
		name := ns + tb.ID + "/" + rowName(tb, r) + "/" + col
		if r == tb.Total {
			name = ns + "group:" + tb.Group + "/total/" + col
		}
		v := r.Get(tb, col)
		return k.add(name, v.V, v.Valid)
	}
	for _, tb := range tables {
		for _, c := range tb.Columns {
			if c.Kind != KindCount {
				continue
			}
			for _, r := range tb.allRows() {
				cell(tb, r, c.Name)
			}
			if tb.Total != nil {
				var parts []int
				for _, r := range tb.Rows {
					parts = append(parts, cell(tb, r, c.Name))
				}
				if len(parts) > 0 {
					k.rels = append(k.rels, checkRel{total: cell(tb, tb.Total, c.Name), parts: parts, overlap: tb.Conservative})
				}
			}
		}
		for _, rs := range tb.RowSums {
			for _, r := range tb.allRows() {
				var parts []int
				for _, p := range rs.Parts {
					parts = append(parts, cell(tb, r, p))
				}
				k.sum(cell(tb, r, rs.Total), parts...)
			}
		}
		if tb.Nested != nil && byID[tb.Nested.Table] != nil {
			parent := byID[tb.Nested.Table]
			for _, pr := range parent.Rows {
				for _, c := range tb.Columns {
					if c.Kind != KindCount {
						continue
					}
					var parts []int
					for _, r := range tb.Rows {
						if r.Attr(tb.Nested.By) == pr.Key {
							parts = append(parts, cell(tb, r, c.Name))
						}
					}
					k.sum(cell(parent, pr, c.Name), parts...)
				}
			}
		}
	}
}

// attackProtector attacks the protector's own cells and relations (those
// across answers included) with the true values checked against the bounds.
func attackProtector(t *testing.T, p *protector) {
	t.Helper()
	k := newChecker()
	for i, v := range p.vals {
		k.add(fmt.Sprint("cell ", i), float64(v), p.status[i] == published)
		k.truth[i] = float64(v)
	}
	for _, r := range p.rels {
		k.rels = append(k.rels, checkRel{total: r.total, parts: r.parts, overlap: r.overlap})
	}
	k.run(t)
	for _, d := range k.disclosures(int(p.threshold)) {
		t.Errorf("protector: %s", d)
	}
}

// attackTables attacks one answer: with Audit, and with the checker.
func attackTables(t *testing.T, tables []*Table, threshold int) {
	t.Helper()
	for _, leak := range Audit(tables, threshold) {
		t.Error("audit: " + leak)
	}
	k := newChecker()
	k.addAnswer("", tables)
	k.run(t)
	for _, d := range k.disclosures(threshold) {
		t.Error("checker: " + d)
	}
}

// checkWithheldAreNull fails when a withheld count appears as a number.
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

// filteredAnswer is one answer of a report filtered to dim = val.
type filteredAnswer struct {
	dim, val string
	tables   []*Table
}

// rowValue is the value of its table's dimension a row stands for, as a
// filter names it (an agency by its ID).
func rowValue(r *Row) string {
	if id := r.Attr("agency_id"); id != "" {
		return id
	}
	return r.Key
}

// attackAnswers attacks an unfiltered answer and filtered ones together,
// knowing that each filter splits the population: a count of the
// unfiltered answer is the sum of the same count in the answers filtered
// to each value of a dimension (a row missing from one is zero) — plus, when
// the filtered answers do not cover every value (complete false), an
// unknown rest —, and the answer filtered to a = x shows in its table by b
// the row y of the count that the answer filtered to b = y shows in its
// table by a, row x. It fails the test on any disclosure.
func attackAnswers(t *testing.T, threshold int, unfiltered []*Table, filtered []filteredAnswer, complete bool) *checker {
	t.Helper()
	k := linkAnswers(t, unfiltered, filtered, complete)
	for _, d := range k.disclosures(threshold) {
		t.Error("across answers: " + d)
	}
	return k
}

// linkAnswers builds and runs the attack of attackAnswers.
func linkAnswers(t *testing.T, unfiltered []*Table, filtered []filteredAnswer, complete bool) *checker {
	t.Helper()
	k := newChecker()
	k.addAnswer("all/", unfiltered)
	ns := func(f filteredAnswer) string { return f.dim + "=" + f.val + "/" }
	for _, f := range filtered {
		k.addAnswer(ns(f), f.tables)
	}
	name := func(ns string, tb *Table, r *Row, col string) string {
		if r == tb.Total {
			return ns + "group:" + tb.Group + "/total/" + col
		}
		return ns + tb.ID + "/" + rowName(tb, r) + "/" + col
	}
	dims := map[string]bool{}
	for _, f := range filtered {
		dims[f.dim] = true
	}
	for dim := range dims {
		for _, tb := range unfiltered {
			for _, c := range tb.Columns {
				if c.Kind != KindCount {
					continue
				}
				for _, r := range tb.allRows() {
					var parts []int
					for _, f := range filtered {
						if f.dim != dim {
							continue
						}
						if i, ok := k.index[name(ns(f), tb, r, c.Name)]; ok {
							parts = append(parts, i)
						}
					}
					whole := k.index[name("all/", tb, r, c.Name)]
					if !complete {
						parts = append(parts, k.unknown("rest by "+dim+" of "+name("", tb, r, c.Name)))
					}
					if len(parts) == 0 {
						parts = []int{k.add("zero", 0, true)}
					}
					k.sum(whole, parts...)
				}
			}
		}
	}
	for _, f := range filtered {
		for _, g := range filtered {
			if f.dim == g.dim {
				continue
			}
			for _, tb := range f.tables {
				if tb.Dimension != g.dim {
					continue
				}
				for _, r := range tb.Rows {
					if rowValue(r) != g.val {
						continue
					}
					for _, tg := range g.tables {
						if tg.Group != tb.Group || tg.Dimension != f.dim {
							continue
						}
						for _, rg := range tg.Rows {
							if rowValue(rg) != f.val {
								continue
							}
							for _, c := range tb.Columns {
								if c.Kind == KindCount {
									k.sum(k.index[name(ns(f), tb, r, c.Name)], k.index[name(ns(g), tg, rg, c.Name)])
								}
							}
						}
					}
				}
			}
		}
	}
	k.run(t)
	return k
}

// AttackTables is attackTables for the external tests of this package.
func AttackTables(t *testing.T, tables []*Table, threshold int) { attackTables(t, tables, threshold) }

// AttackAnswers is attackAnswers for the external tests of this package;
// filtered maps "dimension=value" to that answer's tables.
func AttackAnswers(t *testing.T, threshold int, unfiltered []*Table, filtered map[string][]*Table, complete bool) {
	t.Helper()
	var answers []filteredAnswer
	for k, tables := range filtered {
		dim, val, _ := strings.Cut(k, "=")
		answers = append(answers, filteredAnswer{dim: dim, val: val, tables: tables})
	}
	slices.SortFunc(answers, func(a, b filteredAnswer) int { return strings.Compare(a.dim+"="+a.val, b.dim+"="+b.val) })
	attackAnswers(t, threshold, unfiltered, answers, complete)
}
