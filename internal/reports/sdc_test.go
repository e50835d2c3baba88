package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
	protectTables(p, []*Table{tb})
	// Row r0: 3 (primary) and 12 (secondary, smallest non-zero part).
	// Column c1: 3 alone → 9 (secondary, smallest non-zero). Column c0:
	// 12 alone → 7 (secondary). Row r2: 7 and 9 suppressed: two, fine.
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
	reasons := map[string]string{}
	for _, s := range tb.Suppressed {
		reasons[s.Row+"/"+s.Column] = s.Reason
	}
	if reasons["r0/c1"] != "primary: below 5" || reasons["r0/c0"] != "secondary: protects a suppressed cell" ||
		reasons["r2/c1"] != "secondary: protects a suppressed cell" || reasons["r2/c0"] != "secondary: protects a suppressed cell" || len(reasons) != 4 {
		t.Errorf("reasons = %v", reasons)
	}
	attackProtector(t, p)
	attackTables(t, []*Table{tb})
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
	protectTables(p, []*Table{tb})
	if tb.Total.Values[0].Valid || tb.Rows[0].Values[0].Valid || !tb.Rows[1].Values[0].Valid {
		t.Errorf("values %v / total %v", values(tb), tb.Total.Values)
	}
	attackTables(t, []*Table{tb})
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
		protectTables(p, tables)
		attackProtector(t, p)
		attackTables(t, tables)
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
	protectTables(p, []*Table{tb})
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
		!strings.Contains(got[7], "c1: primary: below 5") {
		t.Errorf("CSV row r0 = %q", got)
	}
	if strings.Contains(buf.String(), ",3,") || strings.Contains(buf.String(), ",7,") || strings.Contains(buf.String(), ",9,") {
		t.Errorf("a withheld value appears in the CSV:\n%s", buf.String())
	}
}
