package reports

import (
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/store"
)

// The re-trafficking table counts, by month of the period, the reopenings
// and links of the slice's region — and nothing of a region the report
// does not count, nor outside the period.
func TestReTraffickingTable(t *testing.T) {
	loc := time.FixedZone("TMT", 5*3600)
	period := Period{From: time.Date(2026, 9, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 11, 1, 0, 0, 0, 0, loc)}
	at := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 12, 0, 0, 0, loc) }
	events := []store.ReTrafficking{
		{Region: "lebap", At: at(9, 3), Kind: "reopened"},
		{Region: "lebap", At: at(10, 4), Kind: "linked"},
		{Region: "mary", At: at(10, 5), Kind: "reopened"},
		{Region: "balkan", At: at(10, 6), Kind: "reopened"},                             // a region the report does not count
		{Region: "lebap", At: at(11, 1), Kind: "reopened"},                              // after the period
		{Region: "lebap", At: time.Date(2026, 8, 31, 23, 0, 0, 0, loc), Kind: "linked"}, // before it
	}
	regions := []string{"lebap", "mary"}
	c := newCube(5)
	counts := func(r *Row) map[string]int64 {
		out := map[string]int64{}
		for col, cell := range r.counts {
			out[col] = c.p.vals[cell]
		}
		return out
	}
	all := reTraffickingTable(c, nil, period, events, regions)
	if got := counts(all.Total); got["re_trafficked"] != 3 || got["reopened"] != 2 || got["linked"] != 1 {
		t.Errorf("all regions: %v", got)
	}
	if len(all.Rows) != 2 || all.Rows[0].Key != "2026-09" || all.Rows[1].Key != "2026-10" {
		t.Fatalf("rows %v, want the two months of the period", all.Rows)
	}
	if got := counts(all.Rows[1]); got["re_trafficked"] != 2 || got["linked"] != 1 {
		t.Errorf("October: %v", got)
	}
	lebap := reTraffickingTable(c, coord{{"region", "lebap"}}, period, events, regions)
	if got := counts(lebap.Total); got["re_trafficked"] != 2 || got["reopened"] != 1 || got["linked"] != 1 {
		t.Errorf("Lebap: %v", got)
	}
	if c.p.conflict != nil {
		t.Errorf("cube conflict: %v", c.p.conflict)
	}
}
