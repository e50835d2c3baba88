package reports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

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
	f := store.StatisticsFilter{From: q.Period.From, To: q.Period.To, TimeZone: q.Period.From.Location().String()}
	// The case and the referral queries run side by side, on two
	// connections: most of their time is PostgreSQL's.
	var (
		set       *store.ReportCaseSet
		refs      *store.ReportReferralSet
		directory []store.Agency
		caseErr   error
		refErr    error
		wg        sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		set, caseErr = s.Store.StatisticsCases(ctx, f)
	}()
	refs, refErr = s.Store.ReferralStatistics(ctx, f)
	if refErr == nil {
		directory, refErr = s.Store.Agencies(ctx)
	}
	wg.Wait()
	if caseErr != nil {
		return nil, caseErr
	}
	if refErr != nil {
		return nil, refErr
	}
	countries := set.ByCountry
	reTrafficked, err := s.Store.ReTraffickingIn(ctx, q.Period.From, q.Period.To) // retrafficking.go
	if err != nil {
		return nil, err
	}
	// A referral's region is its case's, and a referral sent in the period
	// belongs to a case open in it: the regions of the case set are every
	// region with something to count. Were one missing, the unfiltered
	// counts would not add up over the regions and protect would refuse.
	regions, err := caseRegions(set)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	byRegion := map[string]*store.ReportReferralSet{}
	for _, r := range regions {
		byRegion[r] = refs.InRegion(r)
	}
	c := newCube(s.threshold())
	slice := func(at coord, region int, refs *store.ReportReferralSet) []*Table {
		services, agencies := aggregateReferrals(refs, directory, q.Period)
		cases := caseTables(c, at, q.Period, aggregateStatistics(set, q.Period, region))
		cases = append(cases, countryTable(c, at, cases[0].Total, countryRows(countries, q.Period, countryRegion(set, countries, region))))
		tables := append(cases, referralTables(c, at, services, agencies)...)
		tables = append(tables, reTraffickingTable(c, at, q.Period, reTrafficked, regions))
		declareTables(c.p, tables)
		return tables
	}
	all := slice(nil, -1, refs)
	answer := all
	for _, r := range regions {
		tables := slice(coord{{"region", r}}, slices.Index(set.Regions, r), byRegion[r])
		if r == q.Region {
			answer = tables
		}
	}
	if q.Region != "" && !slices.Contains(regions, q.Region) {
		// Nothing to count there: a slice of zeros, which changes no
		// other cell's protection.
		answer = slice(coord{{"region", q.Region}}, len(set.Regions), &store.ReportReferralSet{})
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

// aggregateStatistics counts each measure at its own event (a case opened
// in the period: opened, presumed, officer_concern; a positive decision
// taken in it; a case closed in it), overall and by each dimension, over
// the cases of one region (its code in set.Regions) or, for -1, all.
func aggregateStatistics(set *store.ReportCaseSet, period Period, region int) []statRow {
	loc := period.From.Location()
	measures := []string{"opened", "presumed", "officer_concern", "closed", "identified_preliminary", "identified_conclusive",
		"screened_not_opened"}
	const (
		mOpened = iota
		mPresumed
		mConcern
		mClosed
		mPrelim
		mConclusive
		mScreened
	)
	dims := []string{"", "month", "region", "sex", "age_band", "citizenship", "closure_reason", "exploitation"}
	var months []string
	monthCode := map[int]int{}
	month := func(us int64) int {
		t := time.UnixMicro(us).In(loc)
		ym := t.Year()*12 + int(t.Month())
		c, ok := monthCode[ym]
		if !ok {
			c = len(months)
			monthCode[ym] = c
			months = append(months, t.Format("2006-01"))
		}
		return c
	}
	// counts[measure][dimension][code]
	counts := make([][][]int64, len(measures))
	for m := range counts {
		counts[m] = make([][]int64, len(dims))
	}
	bump := func(m, d, code int) {
		xs := counts[m][d]
		for len(xs) <= code {
			xs = append(xs, 0)
		}
		xs[code]++
		counts[m][d] = xs
	}
	count := func(m int, c *store.ReportCase, at int64) {
		bump(m, 0, 0)
		bump(m, 1, month(at))
		bump(m, 2, int(c.Region))
		bump(m, 3, int(c.Sex))
		bump(m, 4, int(c.AgeBand))
		bump(m, 5, int(c.Citizenship))
		bump(m, 6, int(c.ClosureReason))
		bump(m, 7, int(c.Exploitation))
	}
	from, to := period.From.UnixMicro(), period.To.UnixMicro()
	in := func(us int64) bool { return us != 0 && us >= from && us < to }
	for i := range set.Cases {
		c := &set.Cases[i]
		if region >= 0 && int(c.Region) != region {
			continue
		}
		// A screening that neither indicated trafficking nor was forwarded
		// opened and closed at once: counted apart, so that probes of the
		// duplicate check and mistaken screenings do not pass for cases.
		closedAtOnce := !c.Presumed && !c.Concern
		switch {
		case in(c.OpenedAt) && closedAtOnce:
			count(mScreened, c, c.OpenedAt)
		case in(c.OpenedAt):
			count(mOpened, c, c.OpenedAt)
			if c.Presumed {
				count(mPresumed, c, c.OpenedAt)
			}
			if c.Concern {
				count(mConcern, c, c.OpenedAt)
			}
		}
		if in(c.ClosedAt) && !closedAtOnce {
			count(mClosed, c, c.ClosedAt)
		}
	}
	for _, e := range set.Identified {
		if region >= 0 && int(set.Cases[e.Case].Region) != region {
			continue
		}
		m := mPrelim
		if e.Conclusive {
			m = mConclusive
		}
		count(m, &set.Cases[e.Case], e.At)
	}
	dict := [][]string{nil, months, set.Regions, set.Sexes, set.AgeBands, set.Citizenships, set.ClosureReasons}
	var out []statRow
	for m, byDim := range counts {
		byType := map[string]int64{}
		for d, xs := range byDim {
			for code, n := range xs {
				switch {
				case n == 0:
				case d == 0:
					out = append(out, statRow{Measure: measures[m], N: n})
				case dims[d] == "exploitation":
					// A case counts under each of its types; none recorded is a row too.
					types := set.Exploitations[code]
					if len(types) == 0 {
						types = []string{"not_recorded"}
					}
					for _, t := range types {
						byType[t] += n
					}
				default:
					out = append(out, statRow{Measure: measures[m], Dimension: dims[d], Key: dict[d][code], N: n})
				}
			}
		}
		for t, n := range byType {
			out = append(out, statRow{Measure: measures[m], Dimension: "exploitation", Key: t, N: n})
		}
	}
	return out
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

// aggregateReferrals counts the referrals first sent in the period (their
// first attempt's time, or their creation when no provider was ever found)
// by service, with the times their providers took to accept or decline
// them, and the attempts sent to each provider in the period.
func aggregateReferrals(set *store.ReportReferralSet, directory []store.Agency, period Period) ([]serviceRow, []agencyRow) {
	from, to := period.From.UnixMicro(), period.To.UnixMicro()
	in := func(us int64) bool { return us >= from && us < to }
	first := make([]int64, len(set.Referrals))
	for i, r := range set.Referrals {
		if r.Attempts == 0 {
			first[i] = r.SentAt
		}
	}
	for _, a := range set.Attempts {
		if a.Attempt == 1 {
			first[a.Referral] = a.SentAt
		}
	}
	svc := make([]serviceRow, len(set.Services)+1) // the last is the total
	for i, name := range set.Services {
		svc[i].Service = name
	}
	total := len(set.Services)
	svc[total].Total = true
	for i, r := range set.Referrals {
		if !in(first[i]) {
			continue
		}
		for _, x := range []*serviceRow{&svc[r.Service], &svc[total]} {
			x.Sent++
			if r.Accepted {
				x.Accepted++
			}
			if r.Redirections > 0 {
				x.Redirected++
				x.Redirections += int64(r.Redirections)
			}
			if set.Statuses[r.Status] == "unrouted" {
				x.Unrouted++
			}
		}
	}
	names := map[string]store.Agency{}
	for _, a := range directory {
		names[a.ID.String()] = a
	}
	ag := make([]agencyRow, len(set.Agencies)+1)
	for i, id := range set.Agencies {
		a := names[id]
		ag[i] = agencyRow{AgencyID: id, Agency: a.Name, AgencyType: a.Type}
		if a.Name == "" {
			ag[i].Agency = id
		}
	}
	totalA := len(set.Agencies)
	ag[totalA].Total = true
	svcHours := make([][]float64, len(svc))
	agHours := make([][]float64, len(ag))
	for _, a := range set.Attempts {
		if a.Answered && in(first[a.Referral]) {
			s := set.Referrals[a.Referral].Service
			svcHours[s] = append(svcHours[s], a.Hours)
			svcHours[total] = append(svcHours[total], a.Hours)
		}
		if !in(a.SentAt) {
			continue
		}
		for _, i := range []int{int(a.Agency), totalA} {
			x := &ag[i]
			x.Received++
			switch set.Answers[a.Answer] {
			case "accepted":
				x.Accepted++
			case "declined":
				x.Declined++
			case "expired":
				x.Expired++
			case "withdrawn":
				x.Withdrawn++
			default:
				x.Open++
			}
			if a.Answered {
				agHours[i] = append(agHours[i], a.Hours)
			}
		}
	}
	for i := range svc {
		svc[i].Answered, svc[i].MedianHours, svc[i].P90Hours = percentiles(svcHours[i])
	}
	for i := range ag {
		ag[i].Answered, ag[i].MedianHours, ag[i].P90Hours = percentiles(agHours[i])
	}
	// Services and providers without a referral in the period are left out.
	var services []serviceRow
	for _, x := range svc[:total] {
		if x.Sent > 0 {
			services = append(services, x)
		}
	}
	var providers []agencyRow
	for _, x := range ag[:totalA] {
		if x.Received > 0 {
			providers = append(providers, x)
		}
	}
	slices.SortFunc(services, func(a, b serviceRow) int { return compareStrings(a.Service, b.Service) })
	slices.SortFunc(providers, func(a, b agencyRow) int { return compareStrings(a.Agency, b.Agency) })
	return append(services, svc[total]), append(providers, ag[totalA])
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
