package reports

import (
	"slices"

	"github.com/nrm-tm/nrm/internal/store"
)

// Re-trafficking in the statistics (docs/process.md#reopening): the times
// the period recorded that a person was trafficked again — a closed case
// reopened for re_trafficked, or a new case linked to an earlier one as
// re-trafficking — by month, in one table of its own group, under the same
// disclosure control as every other count (a slice of the cube per region).

var reTraffickingColumns = []string{"re_trafficked", "reopened", "linked"}

// reTraffickingTable counts the re-trafficking of the cube's slice at (all
// regions, or the region at names) by month of the period. Only regions
// among those the report counts are counted, so that the unfiltered counts
// are the sums of the regions' (cube.across).
func reTraffickingTable(c *cube, at coord, period Period, events []store.ReTrafficking, regions []string) *Table {
	region := ""
	for _, p := range at {
		if p.dim == "region" {
			region = p.val
		}
	}
	loc := period.From.Location()
	byMonth := map[string]map[string]int64{}
	total := map[string]int64{}
	for _, e := range events {
		if !slices.Contains(regions, e.Region) || (region != "" && e.Region != region) {
			continue
		}
		if e.At.Before(period.From) || !e.At.Before(period.To) {
			continue
		}
		m := e.At.In(loc).Format("2006-01")
		if byMonth[m] == nil {
			byMonth[m] = map[string]int64{}
		}
		for _, col := range []string{"re_trafficked", e.Kind} {
			byMonth[m][col]++
			total[col]++
		}
	}
	t := &Table{ID: "re_trafficking/month", Group: "re_trafficking", Dimension: "month", Title: "Re-trafficking by month",
		Columns: countColumns(reTraffickingColumns...), RowSums: []RowSum{{Total: "re_trafficked", Parts: []string{"reopened", "linked"}}},
		Total: c.row("re_trafficking", at, "", total, reTraffickingColumns)}
	for m := period.From; m.Before(period.To); m = m.AddDate(0, 1, 0) {
		key := m.Format("2006-01")
		cell, _ := at.with("month", key)
		t.Rows = append(t.Rows, c.row("re_trafficking", cell, key, byMonth[key], reTraffickingColumns))
	}
	return t
}
