package reports

import (
	"sort"
)

// Cases by country of exploitation (issue 15, point 7): the case measures
// of the statistics (opened, presumed, …, closed) by each country where the
// person was exploited, as recorded on the case (ISO 3166-1 alpha-2; "TM"
// alone is trafficking within the country). A case with several countries
// counts under each, like a case with several types of exploitation, so
// the rows may add up to more than the total (a conservative table); a
// case without any counts under not_recorded. The table is one more slice
// of the statistics' cube, under the same disclosure control: its cells
// are cube cells, withheld and protected with every other cell of every
// answer (docs/disclosure-control.md).

// countryDimension names the table's dimension and its cube coordinate.
const countryDimension = "exploitation_country"

// countryTable is the table of cases by country of exploitation of the
// slice at: its rows are cube cells narrowed to each country, its total the
// total row of the slice's other case tables (the same cells).
func countryTable(c *cube, at coord, total *Row, rows []statRow) *Table {
	counts := map[string]map[string]int64{} // country → column → n
	for _, r := range rows {
		col, ok := measureColumn[r.Measure]
		if !ok {
			continue
		}
		if counts[r.Key] == nil {
			counts[r.Key] = map[string]int64{}
		}
		counts[r.Key][col] = r.N
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := &Table{ID: "cases/" + countryDimension, Group: "cases", Dimension: countryDimension,
		Title: "Cases by country of exploitation", Columns: countColumns(caseMeasures...), Total: total,
		Conservative: true, RowSums: []RowSum{openedParts}}
	for _, k := range keys {
		cell, _ := at.with(countryDimension, k)
		t.Rows = append(t.Rows, c.row("cases", cell, k, counts[k], caseMeasures))
	}
	return t
}
