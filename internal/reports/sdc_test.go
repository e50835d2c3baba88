package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// grid builds a protected table from a matrix of counts: rows × columns,
// with a total row and a row total column "total".
func grid(p *protector, id string, counts [][]int64) *Table {
	cols := []Column{{Name: "total", Kind: KindCount}}
	var parts []string
	for j := range counts[0] {
		name := fmt.Sprintf("c%d", j)
		cols = append(cols, Column{Name: name, Kind: KindCount})
		parts = append(parts, name)
	}
	t := &Table{ID: id, Group: id, Dimension: "row", Columns: cols, RowSums: []RowSum{{Total: "total", Parts: parts}}}
	colSums := make([]int64, len(counts[0]))
	var all int64
	for i, row := range counts {
		r := newRow(fmt.Sprintf("r%d", i))
		var sum int64
		for j, v := range row {
			r.counts[parts[j]] = p.cell(v)
			sum += v
			colSums[j] += v
		}
		r.counts["total"] = p.cell(sum)
		all += sum
		t.Rows = append(t.Rows, r)
	}
	t.Total = newRow("")
	for j, v := range colSums {
		t.Total.counts[parts[j]] = p.cell(v)
	}
	t.Total.counts["total"] = p.cell(all)
	return t
}

func values(t *Table) [][]string {
	var out [][]string
	for _, r := range t.allRows() {
		var line []string
		for i := range t.Columns {
			if r.Values[i].Valid {
				line = append(line, r.Values[i].String())
			} else {
				line = append(line, "x")
			}
		}
		out = append(out, line)
	}
	return out
}

// TestStatSuppressionHandComputed checks a small table whose suppression
// pattern is worked out by hand.
func TestStatSuppressionHandComputed(t *testing.T) {
	p := newProtector(5)
	//          c0  c1  c2   | total
	// r0:      12   3  20   | 35     3 primary → smallest non-zero part of r0: 12 (secondary)
	// r1:      10  15   0   | 25     column c0 now has one more suppressed: 12 and ...
	// r2:       7   9  30   | 46
	// total:   29  27  50   | 106
	tb := grid(p, "t", [][]int64{{12, 3, 20}, {10, 15, 0}, {7, 9, 30}})
	if err := protectTables(p, []*Table{tb}); err != nil {
		t.Fatal(err)
	}
	// Row r0: 3 (primary) and 12 (secondary, smallest non-zero part).
	// Column c1: 3 alone → 9 (secondary, smallest non-zero). Column c0:
	// 12 alone → 7 (secondary). Row r2: 7 and 9 suppressed: two, fine.
	// Bounds: with x the cell of 3, r0 gives 12 = 15 - x, c0 gives 7 =
	// 4 + x, c1 gives 9 = 12 - x; every withheld cell is at least 1, so x
	// lies in [1, 11]: eleven values, no further cell needed.
	want := [][]string{
		{"35", "x", "x", "20"},
		{"25", "10", "15", "0"},
		{"46", "x", "x", "30"},
		{"106", "29", "27", "50"},
	}
	got := values(tb)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("suppression pattern\n got %v\nwant %v", got, want)
	}
	// One reason for every withheld count: which are small is not told.
	reasons := map[string]string{}
	for _, s := range tb.Suppressed {
		reasons[s.Row+"/"+s.Column] = s.Reason
	}
	const why = "withheld: below 5, or protects a withheld count"
	if reasons["r0/c1"] != why || reasons["r0/c0"] != why || reasons["r2/c1"] != why || reasons["r2/c0"] != why || len(reasons) != 4 {
		t.Errorf("reasons = %v", reasons)
	}
	attackProtector(t, p)
	attackTables(t, []*Table{tb}, 5)
}

// TestStatSuppressionTotalOnly: when the only other member of a relation is
// the total, the total is withheld.
func TestStatSuppressionTotalOnly(t *testing.T) {
	p := newProtector(5)
	tb := &Table{ID: "t", Group: "g", Dimension: "d", Columns: []Column{{Name: "n", Kind: KindCount}}}
	for i, v := range []int64{3, 0, 0} {
		r := newRow(fmt.Sprint(i))
		r.counts["n"] = p.cell(v)
		tb.Rows = append(tb.Rows, r)
	}
	tb.Total = newRow("")
	tb.Total.counts["n"] = p.cell(3)
	if err := protectTables(p, []*Table{tb}); err != nil {
		t.Fatal(err)
	}
	if tb.Total.Values[0].Valid || tb.Rows[0].Values[0].Valid || !tb.Rows[1].Values[0].Valid {
		t.Errorf("values %v / total %v", values(tb), tb.Total.Values)
	}
	attackTables(t, []*Table{tb}, 5)
}

// oneColumn builds a table of one count column n with a total row.
func oneColumn(p *protector, id string, total int64, parts ...int64) *Table {
	tb := &Table{ID: id, Group: id, Dimension: "d", Columns: []Column{{Name: "n", Kind: KindCount}}}
	for i, v := range parts {
		r := newRow(fmt.Sprint("k", i))
		r.counts["n"] = p.cell(v)
		tb.Rows = append(tb.Rows, r)
	}
	tb.Total = newRow("")
	tb.Total.counts["n"] = p.cell(total)
	return tb
}

// TestStatSuppressionPinnedPair is the probe's finding in one column: 7
// cases, 5 in one region, 1 in two others, 0 in the rest. Withholding the
// two 1s satisfies the old rule (no relation has a single withheld member)
// but not the attack: they sum to 7 - 5 = 2 and each is at least 1, so
// each is 1. The protector must withhold more (the 5), and Audit must
// refuse the old pattern.
func TestStatSuppressionPinnedPair(t *testing.T) {
	p := newProtector(5)
	tb := oneColumn(p, "cases/region", 7, 5, 1, 1, 0, 0, 0)
	if err := protectTables(p, []*Table{tb}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(values(tb)); got != "[[x] [x] [x] [0] [0] [0] [7]]" {
		t.Errorf("pattern %s, want the 5 withheld beside the two 1s, the zeros and the total published", got)
	}
	attackProtector(t, p)
	attackTables(t, []*Table{tb}, 5)
	k := newChecker()
	k.addAnswer("", []*Table{tb})
	k.run(t)
	for _, row := range []string{"k1", "k2"} {
		if lo, hi := k.interval(t, "cases/region/"+row+"/n"); lo != 1 || hi != 5 {
			t.Errorf("%s bounded to [%v, %v], want [1, 5]", row, lo, hi)
		}
	}

	// The old pattern, published as it was: the audit refuses it.
	old := oneColumn(newProtector(5), "cases/region", 7, 5, 1, 1, 0, 0, 0)
	set := func(r *Row, v float64, ok bool) { r.Values = []Value{{V: v, Valid: ok}} }
	set(old.Total, 7, true)
	for i, v := range []float64{5, 1, 1, 0, 0, 0} {
		set(old.Rows[i], v, i == 0 || v == 0)
	}
	leaks := Audit([]*Table{old}, 5)
	if len(leaks) != 2 || !strings.Contains(leaks[0], "k1/n is bounded to [1, 1]") {
		t.Errorf("audit of the old pattern: %q, want k1 and k2 bounded to [1, 1]", leaks)
	}
	if err := audited([]*Table{old}, 5); err == nil || !strings.Contains(err.Error(), "report withheld") {
		t.Errorf("audited: %v", err)
	}
}

// TestStatSuppressionSmallTotal: a small total whose parts are all small
// is pinned whatever is withheld if the output says which cells are small
// (4 withheld parts below 5 under a total below 5: each is 1); with one
// reason for every withheld cell, all withheld, every part is only known
// to be at least 1.
func TestStatSuppressionSmallTotal(t *testing.T) {
	for _, threshold := range []int{2, 5} {
		p := newProtector(threshold)
		tb := oneColumn(p, "t", 4, 1, 1, 1, 1, 0)
		if err := protectTables(p, []*Table{tb}); err != nil {
			t.Fatal(err)
		}
		attackProtector(t, p)
		attackTables(t, []*Table{tb}, threshold)
		reasons := map[string]bool{}
		for _, s := range tb.Suppressed {
			reasons[s.Reason] = true
		}
		if len(reasons) != 1 {
			t.Errorf("threshold %d: reasons %v, want one for all", threshold, reasons)
		}
	}
}

// TestStatSuppressionWidth: two small cells summing to the threshold keep
// threshold-1 candidate values each ([1, 4] at 5) and need nothing more;
// summing to less, they need a third cell.
func TestStatSuppressionWidth(t *testing.T) {
	for _, c := range []struct {
		parts []int64
		want  string
	}{
		{[]int64{20, 4, 1}, "[[20] [x] [x] [25]]"},
		{[]int64{20, 2, 1}, "[[x] [x] [x] [23]]"},
		{[]int64{20, 2, 1, 0}, "[[x] [x] [x] [0] [23]]"},
	} {
		p := newProtector(5)
		var total int64
		for _, v := range c.parts {
			total += v
		}
		tb := oneColumn(p, "t", total, c.parts...)
		if err := protectTables(p, []*Table{tb}); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(values(tb)); got != c.want {
			t.Errorf("%v: %s, want %s", c.parts, got, c.want)
		}
		attackProtector(t, p)
		attackTables(t, []*Table{tb}, 5)
	}
}

// TestStatSuppressionRandom attacks many random tables — 2-D tables with
// margins, sets of tables sharing a total row, and nested tables — and
// requires that no withheld count can ever be recomputed.
func TestStatSuppressionRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 400; n++ {
		threshold := 2 + rng.IntN(10)
		p := newProtector(threshold)
		var tables []*Table
		switch n % 3 {
		case 0: // a 2-D table
			rows, cols := 1+rng.IntN(8), 1+rng.IntN(6)
			tables = append(tables, grid(p, "g", randomCounts(rng, rows, cols, threshold)))
		case 1: // several 1-D tables of one population sharing a total row
			tables = sharedTotalTables(p, rng, threshold)
		case 2: // agencies nested in agency types, both sharing the total
			tables = nestedTables(p, rng, threshold)
		}
		if err := protectTables(p, tables); err != nil {
			t.Fatal(err)
		}
		attackProtector(t, p)
		attackTables(t, tables, threshold)
		checkWithheldAreNull(t, tables)
		if t.Failed() {
			t.Fatalf("case %d (threshold %d) failed", n, threshold)
		}
	}
}

func randomCounts(rng *rand.Rand, rows, cols, threshold int) [][]int64 {
	out := make([][]int64, rows)
	for i := range out {
		out[i] = make([]int64, cols)
		for j := range out[i] {
			switch rng.IntN(4) {
			case 0:
				out[i][j] = 0
			case 1:
				out[i][j] = int64(1 + rng.IntN(threshold)) // often small
			default:
				out[i][j] = int64(rng.IntN(40))
			}
		}
	}
	return out
}

// sharedTotalTables splits one population of individuals by two attributes
// into two tables of two measures each, sharing the total row.
func sharedTotalTables(p *protector, rng *rand.Rand, threshold int) []*Table {
	type person struct{ a, b, m int }
	var people []person
	for i := 0; i < rng.IntN(60); i++ {
		people = append(people, person{rng.IntN(4), rng.IntN(3), rng.IntN(2)})
	}
	cols := []Column{{Name: "m0", Kind: KindCount}, {Name: "m1", Kind: KindCount}}
	count := func(f func(person) bool, m int) int64 {
		var n int64
		for _, x := range people {
			if f(x) && x.m == m {
				n++
			}
		}
		return n
	}
	total := newRow("")
	total.counts["m0"] = p.cell(count(func(person) bool { return true }, 0))
	total.counts["m1"] = p.cell(count(func(person) bool { return true }, 1))
	var tables []*Table
	for _, dim := range []string{"a", "b"} {
		tb := &Table{ID: "t/" + dim, Group: "g", Dimension: dim, Columns: cols, Total: total}
		k := 4
		if dim == "b" {
			k = 3
		}
		for v := 0; v < k; v++ {
			r := newRow(fmt.Sprint(v))
			for m := 0; m < 2; m++ {
				r.counts[fmt.Sprintf("m%d", m)] = p.cell(count(func(x person) bool {
					if dim == "a" {
						return x.a == v
					}
					return x.b == v
				}, m))
			}
			tb.Rows = append(tb.Rows, r)
		}
		tables = append(tables, tb)
	}
	return tables
}

// nestedTables: agencies of types, with a row sum, like the compliance report.
func nestedTables(p *protector, rng *rand.Rand, threshold int) []*Table {
	cols := []Column{{Name: "due", Kind: KindCount}, {Name: "a", Kind: KindCount}, {Name: "b", Kind: KindCount}}
	sums := []RowSum{{Total: "due", Parts: []string{"a", "b"}}}
	type agency struct {
		typ  string
		a, b int64
	}
	var agencies []agency
	for i := 0; i < 1+rng.IntN(7); i++ {
		agencies = append(agencies, agency{fmt.Sprintf("type%d", rng.IntN(3)), int64(rng.IntN(2 * threshold)), int64(rng.IntN(20))})
	}
	mk := func(key string, a, b int64, attrs ...Attr) *Row {
		r := newRow(key, attrs...)
		r.counts["a"], r.counts["b"], r.counts["due"] = p.cell(a), p.cell(b), p.cell(a+b)
		return r
	}
	var ta, tb2 int64
	types := map[string][2]int64{}
	for _, a := range agencies {
		ta, tb2 = ta+a.a, tb2+a.b
		x := types[a.typ]
		types[a.typ] = [2]int64{x[0] + a.a, x[1] + a.b}
	}
	total := mk("", ta, tb2)
	byType := &Table{ID: "type", Group: "g", Dimension: "agency_type", Columns: cols, RowSums: sums, Total: total}
	for _, k := range []string{"type0", "type1", "type2"} {
		if v, ok := types[k]; ok {
			byType.Rows = append(byType.Rows, mk(k, v[0], v[1]))
		}
	}
	byAgency := &Table{ID: "agency", Group: "g", Dimension: "agency", Columns: cols, RowSums: sums, Total: total,
		Nested: &Nesting{Table: "type", By: "agency_type"}}
	for i, a := range agencies {
		byAgency.Rows = append(byAgency.Rows, mk(fmt.Sprint("agency", i), a.a, a.b, Attr{"agency_type", a.typ}))
	}
	return []*Table{byType, byAgency}
}

// TestStatSuppressedOutput: withheld values are null in JSON and empty in
// CSV, never the number, and the reasons are listed.
func TestStatSuppressedOutput(t *testing.T) {
	p := newProtector(5)
	tb := grid(p, "t", [][]int64{{12, 3, 20}, {10, 15, 0}, {7, 9, 30}})
	if err := protectTables(p, []*Table{tb}); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows       []map[string]any `json:"rows"`
		Suppressed []Suppression    `json:"suppressed"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if v, ok := doc.Rows[0]["c1"]; !ok || v != nil {
		t.Errorf("row r0 c1 = %v in %s, want null", v, data)
	}
	if doc.Rows[0]["row"] != "r0" || doc.Rows[0]["c2"] != 20.0 {
		t.Errorf("row r0 = %v", doc.Rows[0])
	}
	if len(doc.Suppressed) != 4 {
		t.Errorf("suppressed = %v", doc.Suppressed)
	}
	var buf bytes.Buffer
	if err := writeWideCSV(&buf, []*Table{tb}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// header: group,dimension,key,total,c0,c1,c2,suppressed
	if got := recs[1]; got[2] != "r0" || got[4] != "" || got[5] != "" || got[6] != "20" ||
		!strings.Contains(got[7], "c1: withheld: below 5, or protects a withheld count") {
		t.Errorf("CSV row r0 = %q", got)
	}
	if strings.Contains(buf.String(), ",3,") || strings.Contains(buf.String(), ",7,") || strings.Contains(buf.String(), ",9,") {
		t.Errorf("a withheld value appears in the CSV:\n%s", buf.String())
	}
}

// sexTable builds a table of opened cases by sex in the cube, at the slice at.
func sexTable(c *cube, at coord, women, men int64) []*Table {
	tb := &Table{ID: "cases/sex", Group: "cases", Dimension: "sex", Columns: countColumns("opened")}
	tb.Total = c.row("cases", at, "", map[string]int64{"opened": women + men}, []string{"opened"})
	for _, x := range []struct {
		sex string
		n   int64
	}{{"female", women}, {"male", men}} {
		if x.n > 0 {
			cell, _ := at.with("sex", x.sex)
			tb.Rows = append(tb.Rows, c.row("cases", cell, x.sex, map[string]int64{"opened": x.n}, []string{"opened"}))
		}
	}
	return []*Table{tb}
}

// TestStatDifferencingNeedsOneCube: three regions' answers by sex and the
// unfiltered one (women 20, 3, 0; men 15, 12, 10). Protected one by one,
// each answer is safe and together they give away the 3 women of region
// b (23 - 20 - 0); protected as one cube they do not.
func TestStatDifferencingNeedsOneCube(t *testing.T) {
	counts := map[string][2]int64{"a": {20, 15}, "b": {3, 12}, "c": {0, 10}}
	regions := []string{"a", "b", "c"}
	answers := func(oneCube bool) ([]*Table, []filteredAnswer) {
		c := newCube(5)
		slice := func(at coord, women, men int64) []*Table {
			if !oneCube {
				c = newCube(5)
			}
			tables := sexTable(c, at, women, men)
			declareTables(c.p, tables)
			if !oneCube {
				if err := c.p.protect(); err != nil {
					t.Fatal(err)
				}
				fillTables(c.p, tables)
			}
			return tables
		}
		all := slice(nil, 23, 37)
		var filtered []filteredAnswer
		for _, r := range regions {
			filtered = append(filtered, filteredAnswer{"region", r, slice(coord{{"region", r}}, counts[r][0], counts[r][1])})
		}
		if oneCube {
			c.across(all, "region", regions)
			if err := c.p.protect(); err != nil {
				t.Fatal(err)
			}
			fillTables(c.p, all)
			for _, f := range filtered {
				fillTables(c.p, f.tables)
			}
			attackProtector(t, c.p)
		}
		return all, filtered
	}
	all, filtered := answers(false)
	for _, f := range append(filtered, filteredAnswer{tables: all}) {
		attackTables(t, f.tables, 5) // each is safe alone
	}
	k := linkAnswers(t, all, filtered, true)
	if lo, hi := k.interval(t, "region=b/cases/sex/female/opened"); lo != 3 || hi != 3 {
		t.Errorf("answers protected one by one: region b's women bounded to [%v, %v], want the attack to find 3", lo, hi)
	}
	all, filtered = answers(true)
	attackAnswers(t, 5, all, filtered, true)
}

// TestStatSuppressionRandomCube: random populations counted by two
// attributes, unfiltered and filtered to each region, protected as one
// cube, attacked answer by answer and all together.
func TestStatSuppressionRandomCube(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 150; n++ {
		threshold := 2 + rng.IntN(8)
		type person struct{ region, a, b int }
		var people []person
		regions := 1 + rng.IntN(4)
		for range rng.IntN(25 * regions) {
			people = append(people, person{rng.IntN(regions), rng.IntN(4), rng.IntN(3)})
		}
		c := newCube(threshold)
		slice := func(at coord, keep func(person) bool) []*Table {
			count := func(f func(person) bool) map[string]int64 {
				var x int64
				for _, p := range people {
					if keep(p) && f(p) {
						x++
					}
				}
				return map[string]int64{"n": x}
			}
			total := c.row("people", at, "", count(func(person) bool { return true }), []string{"n"})
			var tables []*Table
			for _, dim := range []string{"a", "b", "region"} {
				tb := &Table{ID: "t/" + dim, Group: "g", Dimension: dim, Columns: countColumns("n"), Total: total}
				for v := range map[string]int{"a": 4, "b": 3, "region": regions}[dim] {
					val := fmt.Sprint(v)
					cell, ok := at.with(dim, val)
					if !ok {
						continue
					}
					x := count(func(p person) bool { return map[string]int{"a": p.a, "b": p.b, "region": p.region}[dim] == v })
					if x["n"] > 0 {
						tb.Rows = append(tb.Rows, c.row("people", cell, val, x, []string{"n"}))
					}
				}
				tables = append(tables, tb)
			}
			declareTables(c.p, tables)
			return tables
		}
		all := slice(nil, func(person) bool { return true })
		var filtered []filteredAnswer
		var names []string
		for r := range regions {
			names = append(names, fmt.Sprint(r))
			filtered = append(filtered, filteredAnswer{"region", fmt.Sprint(r),
				slice(coord{{"region", fmt.Sprint(r)}}, func(p person) bool { return p.region == r })})
		}
		c.across(all, "region", names)
		if err := c.p.protect(); err != nil {
			t.Fatal(err)
		}
		fillTables(c.p, all)
		for _, f := range filtered {
			fillTables(c.p, f.tables)
			attackTables(t, f.tables, threshold)
			checkWithheldAreNull(t, f.tables)
		}
		attackTables(t, all, threshold)
		attackProtector(t, c.p)
		attackAnswers(t, threshold, all, filtered, true)
		if t.Failed() {
			t.Fatalf("case %d (threshold %d, %d people in %d regions) failed", n, threshold, len(people), regions)
		}
	}
}

// TestStatSuppressionByComponents: protecting the sets of cells no relation
// joins one by one withholds exactly what protecting them together does.
func TestStatSuppressionByComponents(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 200; n++ {
		threshold := 2 + rng.IntN(8)
		p := newProtector(threshold)
		var tables []*Table
		sets := 2 + rng.IntN(4)
		for i := range sets {
			var set []*Table
			switch rng.IntN(3) {
			case 0:
				set = []*Table{grid(p, "g", randomCounts(rng, 1+rng.IntN(6), 1+rng.IntN(5), threshold))}
			case 1:
				set = sharedTotalTables(p, rng, threshold)
			case 2:
				set = nestedTables(p, rng, threshold)
			}
			for _, tb := range set { // tables of one group are related
				tb.ID, tb.Group = fmt.Sprintf("%s/%d", tb.ID, i), fmt.Sprintf("%s/%d", tb.Group, i)
				if tb.Nested != nil {
					tb.Nested.Table = fmt.Sprintf("%s/%d", tb.Nested.Table, i)
				}
			}
			tables = append(tables, set...)
		}
		declareTables(p, tables)
		whole := &protector{threshold: p.threshold, vals: slices.Clone(p.vals), status: slices.Clone(p.status),
			depth: slices.Clone(p.depth), rels: slices.Clone(p.rels)}
		if got, _ := p.components(); len(got) < sets {
			t.Fatalf("case %d: %d components of %d unrelated sets", n, len(got), sets)
		}
		if err := p.protect(); err != nil {
			t.Fatal(err)
		}
		for i, v := range whole.vals {
			if v > 0 && v < whole.threshold {
				whole.status[i] = primary
			}
		}
		if err := whole.protectConnected(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.status, whole.status) {
			t.Fatalf("case %d (threshold %d): by components %v, together %v", n, threshold, p.status, whole.status)
		}
		attackProtector(t, p)
	}
}
