package reports

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
)

// countryHistory opens, in March 2026: in Lebap 6 cases exploited in
// Türkiye, 3 in Türkiye and the Emirates (moved through Uzbekistan), 1
// within Turkmenistan; in Dashoguz 2 in Russia and 5 without a country.
func countryHistory(f *fixture) {
	yes := true
	day := 1
	open := func(region string, n int, countries, transit []string) {
		for range n {
			day++
			id := f.kase(caseSpec{id: uuid.New(), version: "2026.1", region: region, sex: "female", band: "21-23", citizenship: "TM",
				exploitation: []string{"labour"}, agency: f.police, opened: f.at(fmt.Sprintf("2026-03-%02d 10:00", day)), consent: &yes})
			f.exec(`UPDATE cases SET exploitation_countries = $2, transit_countries = $3 WHERE id = $1`, id,
				store.Strings(countries), store.Strings(transit))
		}
	}
	open("lebap", 6, []string{"TR"}, nil)
	open("lebap", 3, []string{"TR", "AE"}, []string{"UZ"})
	open("lebap", 1, []string{"TM"}, nil)
	open("dashoguz", 2, []string{"RU"}, nil)
	open("dashoguz", 5, nil, nil)
}

// countsBy answers a table's opened count by row key (-1 when withheld).
func countsBy(t *Table, col string) map[string]float64 {
	out := map[string]float64{}
	for _, r := range t.Rows {
		v := r.Get(t, col)
		out[r.Key] = -1
		if v.Valid {
			out[r.Key] = v.V
		}
	}
	return out
}

func TestStatisticsByCountryOfExploitation(t *testing.T) {
	f := newBareFixture(t)
	countryHistory(f)
	ctx := context.Background()
	exact := f.service(1) // nothing withheld
	march, err := exact.Period("2026-03", "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		region string
		want   map[string]float64
	}{
		{"", map[string]float64{"TR": 9, "AE": 3, "TM": 1, "RU": 2, "not_recorded": 5}},
		{"lebap", map[string]float64{"TR": 9, "AE": 3, "TM": 1}},
		{"dashoguz", map[string]float64{"RU": 2, "not_recorded": 5}},
	} {
		rep, err := exact.Statistics(ctx, StatisticsQuery{Period: march, Region: c.region})
		if err != nil {
			t.Fatalf("region %q: %v", c.region, err)
		}
		tb := findTable(t, rep.Tables, "cases/exploitation_country")
		if tb == nil {
			t.Fatalf("region %q: no table cases/exploitation_country", c.region)
		}
		if !tb.Conservative || tb.Total == nil || tb.Dimension != "exploitation_country" {
			t.Errorf("table %+v: rows overlap, and its total is the cases'", tb)
		}
		if got := countsBy(tb, "opened"); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("region %q: opened by country %v, want %v", c.region, got, c.want)
		}
		// Its total is the other case tables' total (the same cells).
		if region := findTable(t, rep.Tables, "cases/region"); region.Total.Get(region, "opened") != tb.Total.Get(tb, "opened") {
			t.Errorf("region %q: totals differ", c.region)
		}
		if rep.Definitions["exploitation_country"] == "" {
			t.Errorf("no definition of exploitation_country")
		}
	}

	// Under disclosure control the small counts are withheld, and the
	// report passes its own audit (Statistics refuses otherwise).
	guarded := f.service(5)
	rep, err := guarded.Statistics(ctx, StatisticsQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	tb := findTable(t, rep.Tables, "cases/exploitation_country")
	got := countsBy(tb, "opened")
	for _, small := range []string{"AE", "TM", "RU"} {
		if got[small] != -1 {
			t.Errorf("%s: %v opened published, want it withheld (%v)", small, got[small], got)
		}
	}
	for k, v := range got {
		if v > 0 && v < 5 {
			t.Errorf("%s: %v published below the threshold", k, v)
		}
	}
}

// The export's countries: vic_LocationOfExploitation and hte_Country, as
// quasi-identifiers under the same k; when nothing else makes the records
// k-anonymous, the ladder's last step withholds them.
func TestExportCountries(t *testing.T) {
	f := newBareFixture(t)
	countryHistory(f)
	ctx := context.Background()
	svc := f.service(1)
	svc.K = 1
	march, _ := svc.Period("2026-03", "2026-03")
	x, err := svc.HTCDS(ctx, ExportQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Records) != 17 || x.Generalisation.Level != 0 {
		t.Fatalf("%d records at level %d", len(x.Records), x.Generalisation.Level)
	}
	if !slices.Contains(x.QuasiIdentifiers, FieldLocation) || !slices.Contains(x.QuasiIdentifiers, FieldCountry) {
		t.Errorf("quasi-identifiers %v", x.QuasiIdentifiers)
	}
	seen := map[string]int{}
	for _, r := range x.Records {
		seen[fmt.Sprint(r.Location)+" "+fmt.Sprint(r.Countries)]++
	}
	want := map[string]int{"[TR] [TR]": 6, "[AE TR] [AE TR UZ]": 3, "[TM] [TM]": 1, "[RU] [RU]": 2, "[] []": 5}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("countries of the records %v, want %v", seen, want)
	}

	// k = 4: the small classes (3 + 1 + 2 of 17) stay above 5 % through
	// every other step; the last withholds the countries.
	svc.K = 4
	x, err = svc.HTCDS(ctx, ExportQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	if x.Generalisation.Level != 5 || x.Generalisation.Steps[len(x.Generalisation.Steps)-1] != stepCountries {
		t.Fatalf("generalisation %+v, want the countries withheld last", x.Generalisation)
	}
	for _, r := range x.Records {
		if len(r.Location) != 0 || len(r.Countries) != 0 {
			t.Errorf("record %+v keeps its countries", r)
		}
	}
	CheckKAnonymous(t, x)
}
