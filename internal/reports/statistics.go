package reports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/nrm-tm/nrm/internal/store"
)

// StatisticsQuery selects what the statistics count.
type StatisticsQuery struct {
	Period Period
	Region string
}

// StatisticsReport holds the anonymised statistics of the mechanism.
type StatisticsReport struct {
	Period      PeriodJSON        `json:"period"`
	Filters     map[string]string `json:"filters"`
	Threshold   int               `json:"suppression_threshold"`
	Definitions map[string]string `json:"definitions"`
	// Tables: group "cases" (by month, region, sex, age band, citizenship,
	// type of exploitation; closed cases by closure reason), group
	// "referrals" (by service), group "referral_attempts" (by provider
	// agency).
	Tables []*Table `json:"tables"`
}

// StatisticsDefinitions are stated in every statistics report.
var StatisticsDefinitions = map[string]string{
	"opened":                   "cases opened in the period: screenings that found a presumed victim or that an officer forwarded (opened = presumed + officer_concern_forwards)",
	"screened_not_opened":      "screenings recorded in the period that did not indicate trafficking and that no officer forwarded: they opened and closed at once, and count here only, not under opened or closed",
	"presumed":                 "cases opened in the period whose screening found a presumed victim",
	"officer_concern_forwards": "cases opened in the period that an officer forwarded although the screening did not indicate trafficking",
	"identified_preliminary":   "positive preliminary (reasonable grounds) decisions taken in the period",
	"identified_conclusive":    "positive conclusive decisions taken in the period",
	"closed":                   "cases closed in the period, without the screenings that closed at once (screened_not_opened)",
	"month":                    "the month of the counted event (opening, decision or closure) in the SOP's time zone",
	"exploitation":             "a case with several types counts under each: the rows may add up to more than the total",
	"exploitation_country":     "the countries where the person was exploited (ISO 3166-1 alpha-2; TM alone: within the country); a case with several counts under each, one without any under not_recorded",
	"sent":                     "referrals first sent in the period",
	"accepted":                 "of those, referrals a provider accepted",
	"redirected":               "of those, referrals sent on to another provider at least once",
	"redirections":             "the number of times those referrals were sent on",
	"unrouted":                 "of those, referrals no provider took",
	"acceptance_rate":          "by service: accepted / sent; by agency: accepted / (accepted + declined + expired)",
	"received":                 "referral attempts a provider received in the period = accepted + declined + expired + withdrawn + open",
	"median_answer_hours":      "median time from sending to an accept or decline, in hours",
	"p90_answer_hours":         "90th percentile of that time, in hours",
	"re_trafficked":            "re-trafficking recorded in the period (retrafficking.go): closed cases reopened because the person was trafficked again (reopened) and new cases linked to an earlier case of the same person as re-trafficking (linked); re_trafficked = reopened + linked",
	"suppression":              "counts from 1 to threshold-1 are withheld (null), and more counts beside them, so that no withheld count can be narrowed to fewer than max(2, threshold-1) possible values from everything published, in this answer and in the answers for every region; zero is always published; see docs/disclosure-control.md",
}

var caseMeasures = []string{"opened", "presumed", "officer_concern_forwards", "identified_preliminary", "identified_conclusive", "closed",
	"screened_not_opened"}

// openedParts: in every row of the case tables, opened is the sum of these,
// which the disclosure control must know as well as a reader does.
var openedParts = RowSum{Total: "opened", Parts: []string{"presumed", "officer_concern_forwards"}}

var measureColumn = map[string]string{
	"opened": "opened", "presumed": "presumed", "officer_concern": "officer_concern_forwards",
	"identified_preliminary": "identified_preliminary", "identified_conclusive": "identified_conclusive", "closed": "closed",
	"screened_not_opened": "screened_not_opened",
}

var caseDimensions = []string{"month", "region", "sex", "age_band", "citizenship", "exploitation"}

// caseRegions lists the regions of a case set, sorted. The answer for each
// is read with the store's region filter, where "" means every region: a
// case without one could not be counted apart.
func caseRegions(set *store.ReportCaseSet) ([]string, error) {
	regions := slices.Clone(set.Regions)
	slices.Sort(regions)
	regions = slices.Compact(regions)
	if slices.Contains(regions, "") {
		return nil, errors.New("reports: a case has no region, so the answers by region cannot be told apart")
	}
	return regions, nil
}

// Statistics builds the anonymised statistics. Whatever the region filter,
// it counts every region: the answer is one slice of the protected cube of
// the unfiltered statistics and every region's (cube.go).
func (s *Service) Statistics(ctx context.Context, q StatisticsQuery) (*StatisticsReport, error) {
	months, _, err := s.statisticsMonths(ctx, q.Period, s.now())
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	directory, err := s.Store.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	reTrafficked, err := s.Store.ReTraffickingIn(ctx, q.Period.From, q.Period.To) // retrafficking.go
	if err != nil {
		return nil, err
	}
	// Every region with something to count has its slice; were one
	// missing, the unfiltered counts would not add up over the regions and
	// protect would refuse.
	var more []string
	for _, e := range reTrafficked {
		more = append(more, e.Region)
	}
	regions, err := monthRegions(months, more...)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	c := newCube(s.threshold())
	slice := func(at coord, region string) []*Table {
		services, agencies := countReferrals(months, region, directory)
		rows, countries := countCases(months, region)
		cases := caseTables(c, at, q.Period, rows)
		cases = append(cases, countryTable(c, at, cases[0].Total, countries))
		tables := append(cases, referralTables(c, at, services, agencies)...)
		tables = append(tables, reTraffickingTable(c, at, q.Period, reTrafficked, regions))
		declareTables(c.p, tables)
		return tables
	}
	all := slice(nil, "")
	answer := all
	for _, r := range regions {
		tables := slice(coord{{"region", r}}, r)
		if r == q.Region {
			answer = tables
		}
	}
	if q.Region != "" && !slices.Contains(regions, q.Region) {
		// Nothing to count there: a slice of zeros, which changes no
		// other cell's protection.
		answer = slice(coord{{"region", q.Region}}, q.Region)
	}
	c.across(all, "region", regions)
	if err := c.p.protect(); err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	fillTables(c.p, answer)
	rep := &StatisticsReport{Period: q.Period.json(), Filters: map[string]string{"region": q.Region},
		Threshold: s.threshold(), Definitions: StatisticsDefinitions, Tables: answer}
	if err := audited(rep.Tables, s.threshold()); err != nil {
		return nil, err
	}
	return rep, nil
}

func countColumns(names ...string) []Column {
	out := make([]Column, len(names))
	for i, n := range names {
		out[i] = Column{Name: n, Kind: KindCount}
	}
	return out
}

// statRow is one count of the case statistics: a measure overall
// (Dimension "") or by month, region, sex, age_band, citizenship,
// closure_reason or exploitation.
type statRow struct {
	Measure, Dimension, Key string
	N                       int64
}

// caseTables builds the case tables of the slice at from the counts by
// measure and dimension.
func caseTables(c *cube, at coord, period Period, rows []statRow) []*Table {
	counts := map[[2]string]map[string]int64{} // (dimension, key) → column → n
	keys := map[string][]string{}
	for _, r := range rows {
		col, ok := measureColumn[r.Measure]
		if !ok {
			continue
		}
		k := [2]string{r.Dimension, r.Key}
		if counts[k] == nil {
			counts[k] = map[string]int64{}
			if r.Dimension != "" {
				keys[r.Dimension] = append(keys[r.Dimension], r.Key)
			}
		}
		counts[k][col] = r.N
	}
	// Every month of the period, also those without cases.
	for m := period.From; m.Before(period.To); m = m.AddDate(0, 1, 0) {
		key := m.Format("2006-01")
		if !slices.Contains(keys["month"], key) {
			keys["month"] = append(keys["month"], key)
		}
	}
	mkRow := func(dim, key string, cols []string) *Row {
		cell := at
		if dim != "" {
			cell, _ = at.with(dim, key)
		}
		return c.row("cases", cell, key, counts[[2]string{dim, key}], cols)
	}
	total := mkRow("", "", caseMeasures)
	var tables []*Table
	for _, d := range caseDimensions {
		t := &Table{ID: "cases/" + d, Group: "cases", Dimension: d, Title: "Cases by " + dimensionTitle[d],
			Columns: countColumns(caseMeasures...), Total: total, Conservative: d == "exploitation", RowSums: []RowSum{openedParts}}
		ks := keys[d]
		sort.Strings(ks)
		for _, k := range ks {
			t.Rows = append(t.Rows, mkRow(d, k, caseMeasures))
		}
		tables = append(tables, t)
	}
	// Closed cases by reason: their total is the closed cell of the total row.
	closedTotal := newRow("")
	closedTotal.ns, closedTotal.at = total.ns, total.at
	closedTotal.counts["closed"] = total.counts["closed"]
	t := &Table{ID: "cases/closure_reason", Group: "cases", Dimension: "closure_reason", Title: "Closed cases by closure reason",
		Columns: countColumns("closed"), Total: closedTotal}
	ks := keys["closure_reason"]
	sort.Strings(ks)
	for _, k := range ks {
		if counts[[2]string{"closure_reason", k}]["closed"] == 0 {
			continue // the reason of a case counted under another measure
		}
		t.Rows = append(t.Rows, mkRow("closure_reason", k, []string{"closed"}))
	}
	return append(tables, t)
}

var serviceColumns = []Column{
	{Name: "sent", Kind: KindCount},
	{Name: "accepted", Kind: KindCount},
	{Name: "redirected", Kind: KindCount},
	{Name: "redirections", Kind: KindCount},
	{Name: "unrouted", Kind: KindCount},
	{Name: "acceptance_rate", Kind: KindShare, Num: []string{"accepted"}, Den: []string{"sent"}},
	{Name: "median_answer_hours", Kind: KindHours},
	{Name: "p90_answer_hours", Kind: KindHours},
}

var providerColumns = []Column{
	{Name: "received", Kind: KindCount},
	{Name: "accepted", Kind: KindCount},
	{Name: "declined", Kind: KindCount},
	{Name: "expired", Kind: KindCount},
	{Name: "withdrawn", Kind: KindCount},
	{Name: "open", Kind: KindCount},
	{Name: "acceptance_rate", Kind: KindShare, Num: []string{"accepted"}, Den: []string{"accepted", "declined", "expired"}},
	{Name: "median_answer_hours", Kind: KindHours},
	{Name: "p90_answer_hours", Kind: KindHours},
}

// serviceRow counts the referrals of a service (Total: all services).
type serviceRow struct {
	Service                                            string
	Total                                              bool
	Sent, Accepted, Redirected, Redirections, Unrouted int64
	Answered                                           int64
	MedianHours, P90Hours                              *float64
}

// agencyRow counts the referral attempts a provider received (Total: all).
type agencyRow struct {
	AgencyID, Agency, AgencyType                           string
	Total                                                  bool
	Received, Accepted, Declined, Expired, Withdrawn, Open int64
	Answered                                               int64
	MedianHours, P90Hours                                  *float64
}

// percentiles returns the number of hours, their median and their 90th
// percentile (nil when there are none), as percentile_cont computes them.
// It reorders hours: selection finds the values around each percentile in
// linear time, which matters for the hundreds of thousands of times a
// compliance report ranks.
func percentiles(hours []float64) (int64, *float64, *float64) {
	if len(hours) == 0 {
		return 0, nil, nil
	}
	m := selectPercentile(hours, 0.5)
	// Everything from the median's rank on is at least the median: the 90th
	// percentile is found among those.
	lo := int(0.5 * float64(len(hours)-1))
	p := selectPercentileFrom(hours, lo, 0.9)
	return int64(len(hours)), &m, &p
}

// selectPercentile is percentile_cont(q) of xs, reordering xs.
func selectPercentile(xs []float64, q float64) float64 { return selectPercentileFrom(xs, 0, q) }

// selectPercentileFrom is percentile_cont(q) of xs when xs[from:] holds the
// values of rank from and up (from is 0, or a rank selected before).
func selectPercentileFrom(xs []float64, from int, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(pos)
	tail := xs[from:]
	k := lo - from
	v := selectKth(tail, k)
	if lo+1 >= len(xs) {
		return v
	}
	next := tail[k+1]
	for _, x := range tail[k+2:] {
		if x < next {
			next = x
		}
	}
	return v + (pos-float64(lo))*(next-v)
}

// selectKth reorders xs so that xs[k] is its k-th smallest value (from 0),
// with no larger value before it and no smaller one after it, and returns it.
func selectKth(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		// Median of three as the pivot.
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// referralTables builds the referral tables of the slice at. Services and
// attempts are counted apart ("accepted" is a referral in one, an attempt
// in the other); a provider is named in the cube by its ID, which, unlike
// its name, is unique.
func referralTables(c *cube, at coord, services []serviceRow, agencies []agencyRow) []*Table {
	bySvc := &Table{ID: "referrals/service", Group: "referrals", Dimension: "service", Title: "Referrals by service",
		Columns: serviceColumns}
	svcCols := []string{"sent", "accepted", "redirected", "redirections", "unrouted"}
	for _, r := range services {
		cell := at
		if !r.Total {
			cell, _ = at.with("service", r.Service)
		}
		x := c.row("referrals", cell, r.Service, map[string]int64{"sent": r.Sent, "accepted": r.Accepted,
			"redirected": r.Redirected, "redirections": r.Redirections, "unrouted": r.Unrouted}, svcCols)
		x.hours["median_answer_hours"] = hoursOf(r.MedianHours, r.Answered)
		x.hours["p90_answer_hours"] = hoursOf(r.P90Hours, r.Answered)
		if r.Total {
			bySvc.Total = x
		} else {
			bySvc.Rows = append(bySvc.Rows, x)
		}
	}
	if bySvc.Total == nil {
		bySvc.Total = c.row("referrals", at, "", nil, svcCols)
	}
	// Its own group: the tables of a group share their total row, and
	// attempts are not referrals ("accepted" counts other things).
	byAgency := &Table{ID: "referrals/agency", Group: "referral_attempts", Dimension: "agency", Title: "Referral attempts by provider agency",
		Columns: providerColumns, RowSums: []RowSum{{Total: "received", Parts: []string{"accepted", "declined", "expired", "withdrawn", "open"}}}}
	agCols := []string{"received", "accepted", "declined", "expired", "withdrawn", "open"}
	for _, r := range agencies {
		counts := map[string]int64{"received": r.Received, "accepted": r.Accepted, "declined": r.Declined,
			"expired": r.Expired, "withdrawn": r.Withdrawn, "open": r.Open}
		var x *Row
		if r.Total {
			x = c.row("attempts", at, "", counts, agCols)
		} else {
			cell, _ := at.with("agency", r.AgencyID)
			x = c.row("attempts", cell, r.Agency, counts, agCols, Attr{"agency_id", r.AgencyID}, Attr{"agency_type", r.AgencyType})
		}
		x.hours["median_answer_hours"] = hoursOf(r.MedianHours, r.Answered)
		x.hours["p90_answer_hours"] = hoursOf(r.P90Hours, r.Answered)
		if r.Total {
			byAgency.Total = x
		} else {
			byAgency.Rows = append(byAgency.Rows, x)
		}
	}
	if byAgency.Total == nil {
		byAgency.Total = c.row("attempts", at, "", nil, agCols)
	}
	return []*Table{bySvc, byAgency}
}

// WriteCSV writes the statistics as CSV, one line per published cell
// (withheld values empty, with the reason in the last column).
func (r *StatisticsReport) WriteCSV(w io.Writer) error {
	return writeLongCSV(w, r.Tables,
		fmt.Sprintf("NRM statistics, %s to %s (%s)", r.Period.From, r.Period.To, r.Period.TimeZone),
		fmt.Sprintf("Counts from 1 to %d are withheld (empty), with secondary suppression; see the JSON form for definitions.", r.Threshold-1))
}
