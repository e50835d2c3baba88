package reports

// The statistics are built month by month, like the compliance report
// (months.go): a month that is over is read once — what was opened, closed
// and identified in it, the referrals and attempts sent in it —, added up
// into cells and kept (store.BuildStatisticsMonth, migration 0025) while
// nothing that counts in it changes; the current month is read afresh. The
// tables are then counted from the cells, which hold everything the tables
// count by (and every answer time, for the percentiles), so they give the
// very figures the cases give.

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nrm-tm/nrm/internal/store"
)

// keptStatistics names the statistics' kept months.
const keptStatistics = "statistics"

// statsEncoding is the version of a kept month's format (encodeStatMonth).
const statsEncoding = 2

// The case measures, each counted at its own event.
const (
	mOpened = iota
	mPresumed
	mConcern
	mClosed
	mPrelim
	mConclusive
	mScreened
)

var measureNames = []string{"opened", "presumed", "officer_concern", "closed", "identified_preliminary",
	"identified_conclusive", "screened_not_opened"}

// statMonth is what the statistics count in one month, or in a part of
// one (a span).
type statMonth struct {
	Month    string // 2006-01, in the SOP's time zone: the month it is (part of)
	Cases    []statCaseCell
	Services []statServiceCell
	Attempts []statAttemptCell
}

// statCaseCell counts the events of one measure in one region by one
// dimension's value (Dimension "" for all of them): the case tables are
// counted by one dimension at a time, and the unfiltered ones add up the
// regions', so these margins are all a month needs to keep.
type statCaseCell struct {
	Region    string
	Measure   uint8
	Dimension string
	Key       string
	N         int64
}

// statServiceCell counts the referrals of one service and region first
// sent in the month, with their providers' answer times.
type statServiceCell struct {
	Service, Region                                    string
	Sent, Accepted, Redirected, Redirections, Unrouted int64
	Hours                                              []float64
}

// statAttemptCell counts the attempts one provider received in the month
// for the referrals of one region, with its answer times.
type statAttemptCell struct {
	Agency, Region                                         string
	Received, Accepted, Declined, Expired, Withdrawn, Open int64
	Hours                                                  []float64
}

// newStatMonth adds up what the sets read for month m hold.
func newStatMonth(cases *store.ReportCaseSet, refs *store.ReportReferralSet, m Period) *statMonth {
	out := &statMonth{Month: m.From.Format("2006-01")}
	out.Cases = caseCells(cases, m)
	out.Services, out.Attempts = referralCells(refs, m)
	return out
}

// caseCells classifies the events of the month's cases into measures and
// counts them in each region by each dimension.
func caseCells(set *store.ReportCaseSet, m Period) []statCaseCell {
	type key struct {
		measure uint8
		c       store.ReportCase // its codes only
		country uint16
	}
	counts := map[key]int64{}
	count := func(measure uint8, i int) {
		c := set.Cases[i]
		counts[key{measure, store.ReportCase{Region: c.Region, Sex: c.Sex, AgeBand: c.AgeBand, Citizenship: c.Citizenship,
			ClosureReason: c.ClosureReason, Exploitation: c.Exploitation}, set.ByCountry.Cases[i].Exploitation}]++
	}
	from, to := m.From.UnixMicro(), m.To.UnixMicro()
	in := func(us int64) bool { return us != 0 && us >= from && us < to }
	for i := range set.Cases {
		c := &set.Cases[i]
		// A screening that neither indicated trafficking nor was forwarded
		// opened and closed at once: counted apart, so that probes of the
		// duplicate check and mistaken screenings do not pass for cases.
		closedAtOnce := !c.Presumed && !c.Concern
		switch {
		case in(c.OpenedAt) && closedAtOnce:
			count(mScreened, i)
		case in(c.OpenedAt):
			count(mOpened, i)
			if c.Presumed {
				count(mPresumed, i)
			}
			if c.Concern {
				count(mConcern, i)
			}
		}
		if in(c.ClosedAt) && !closedAtOnce {
			count(mClosed, i)
		}
	}
	for _, e := range set.Identified {
		if !in(e.At) {
			continue
		}
		if e.Conclusive {
			count(mConclusive, e.Case)
		} else {
			count(mPrelim, e.Case)
		}
	}
	type margin struct {
		region   uint16
		measure  uint8
		dim, key string
	}
	margins := map[margin]int64{}
	var order []margin
	bump := func(k margin, n int64) {
		if _, ok := margins[k]; !ok {
			order = append(order, k)
		}
		margins[k] += n
	}
	for k, n := range counts {
		r, c := k.c.Region, k.c
		bump(margin{r, k.measure, "", ""}, n)
		bump(margin{r, k.measure, "region", set.Regions[r]}, n)
		bump(margin{r, k.measure, "sex", set.Sexes[c.Sex]}, n)
		bump(margin{r, k.measure, "age_band", set.AgeBands[c.AgeBand]}, n)
		bump(margin{r, k.measure, "citizenship", set.Citizenships[c.Citizenship]}, n)
		bump(margin{r, k.measure, "closure_reason", set.ClosureReasons[c.ClosureReason]}, n)
		// A case counts under each of its types and countries; none
		// recorded is a row too.
		for _, t := range orNotRecorded(set.Exploitations[c.Exploitation]) {
			bump(margin{r, k.measure, "exploitation", t}, n)
		}
		for _, t := range orNotRecorded(set.ByCountry.Exploitations[k.country]) {
			bump(margin{r, k.measure, countryDimension, t}, n)
		}
	}
	out := make([]statCaseCell, 0, len(order))
	for _, k := range order {
		out = append(out, statCaseCell{Region: set.Regions[k.region], Measure: k.measure, Dimension: k.dim, Key: k.key, N: margins[k]})
	}
	return out
}

// referralCells adds up the referrals first sent in the month (their first
// attempt's time, or their creation when no provider was ever found) by
// service and region, and the attempts sent in it by provider and region.
func referralCells(set *store.ReportReferralSet, m Period) ([]statServiceCell, []statAttemptCell) {
	from, to := m.From.UnixMicro(), m.To.UnixMicro()
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
	var services []statServiceCell
	svcAt := map[[2]uint16]int{}
	service := func(r store.ReportReferral) *statServiceCell {
		k := [2]uint16{r.Service, r.Region}
		i, ok := svcAt[k]
		if !ok {
			i = len(services)
			svcAt[k] = i
			services = append(services, statServiceCell{Service: set.Services[r.Service], Region: set.Regions[r.Region]})
		}
		return &services[i]
	}
	for i, r := range set.Referrals {
		if !in(first[i]) {
			continue
		}
		x := service(r)
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
	var attempts []statAttemptCell
	agAt := map[[2]uint16]int{}
	for _, a := range set.Attempts {
		r := set.Referrals[a.Referral]
		if a.Answered && in(first[a.Referral]) {
			x := service(r)
			x.Hours = append(x.Hours, a.Hours)
		}
		if !in(a.SentAt) {
			continue
		}
		k := [2]uint16{a.Agency, r.Region}
		i, ok := agAt[k]
		if !ok {
			i = len(attempts)
			agAt[k] = i
			attempts = append(attempts, statAttemptCell{Agency: set.Agencies[a.Agency], Region: set.Regions[r.Region]})
		}
		x := &attempts[i]
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
			x.Hours = append(x.Hours, a.Hours)
		}
	}
	return services, attempts
}

// countCases counts the case measures of the months by each dimension and
// by country of exploitation, over one region or, for "", all.
func countCases(months []*statMonth, region string) (rows, countries []statRow) {
	type key struct{ measure, dim, key string }
	counts := map[key]int64{}
	var order []key
	bump := func(measure, dim, k string, n int64) {
		x := key{measure, dim, k}
		if _, ok := counts[x]; !ok {
			order = append(order, x)
		}
		counts[x] += n
	}
	for _, m := range months {
		for _, c := range m.Cases {
			if region != "" && c.Region != region {
				continue
			}
			name := measureNames[c.Measure]
			bump(name, c.Dimension, c.Key, c.N)
			if c.Dimension == "" {
				bump(name, "month", m.Month, c.N)
			}
		}
	}
	for _, k := range order {
		r := statRow{Measure: k.measure, Dimension: k.dim, Key: k.key, N: counts[k]}
		if k.dim == countryDimension {
			countries = append(countries, r)
		} else {
			rows = append(rows, r)
		}
	}
	return rows, countries
}

func orNotRecorded(list []string) []string {
	if len(list) == 0 {
		return []string{"not_recorded"}
	}
	return list
}

// countReferrals adds up the months' referral cells by service and by
// provider over one region or, for "", all, with the answer times'
// percentiles; services and providers without anything in the period are
// left out, the totals (last) never.
func countReferrals(months []*statMonth, region string, directory []store.Agency) ([]serviceRow, []agencyRow) {
	svcAt := map[string]int{}
	var svc []serviceRow
	var svcHours [][]float64
	total := serviceRow{Total: true}
	var totalHours []float64
	agAt := map[string]int{}
	var ag []agencyRow
	var agHours [][]float64
	totalA := agencyRow{Total: true}
	var totalAHours []float64
	for _, m := range months {
		for _, c := range m.Services {
			if region != "" && c.Region != region {
				continue
			}
			i, ok := svcAt[c.Service]
			if !ok {
				i = len(svc)
				svcAt[c.Service] = i
				svc = append(svc, serviceRow{Service: c.Service})
				svcHours = append(svcHours, nil)
			}
			for _, x := range []*serviceRow{&svc[i], &total} {
				x.Sent += c.Sent
				x.Accepted += c.Accepted
				x.Redirected += c.Redirected
				x.Redirections += c.Redirections
				x.Unrouted += c.Unrouted
			}
			svcHours[i] = append(svcHours[i], c.Hours...)
			totalHours = append(totalHours, c.Hours...)
		}
		for _, c := range m.Attempts {
			if region != "" && c.Region != region {
				continue
			}
			i, ok := agAt[c.Agency]
			if !ok {
				i = len(ag)
				agAt[c.Agency] = i
				ag = append(ag, agencyRow{AgencyID: c.Agency})
				agHours = append(agHours, nil)
			}
			for _, x := range []*agencyRow{&ag[i], &totalA} {
				x.Received += c.Received
				x.Accepted += c.Accepted
				x.Declined += c.Declined
				x.Expired += c.Expired
				x.Withdrawn += c.Withdrawn
				x.Open += c.Open
			}
			agHours[i] = append(agHours[i], c.Hours...)
			totalAHours = append(totalAHours, c.Hours...)
		}
	}
	for i := range svc {
		svc[i].Answered, svc[i].MedianHours, svc[i].P90Hours = percentiles(svcHours[i])
	}
	total.Answered, total.MedianHours, total.P90Hours = percentiles(totalHours)
	names := map[string]store.Agency{}
	for _, a := range directory {
		names[a.ID.String()] = a
	}
	for i := range ag {
		a := names[ag[i].AgencyID]
		ag[i].Agency, ag[i].AgencyType = a.Name, a.Type
		if a.Name == "" {
			ag[i].Agency = ag[i].AgencyID
		}
		ag[i].Answered, ag[i].MedianHours, ag[i].P90Hours = percentiles(agHours[i])
	}
	totalA.Answered, totalA.MedianHours, totalA.P90Hours = percentiles(totalAHours)
	slices.SortFunc(svc, func(a, b serviceRow) int { return compareStrings(a.Service, b.Service) })
	slices.SortFunc(ag, func(a, b agencyRow) int { return compareStrings(a.Agency, b.Agency) })
	return append(svc, total), append(ag, totalA)
}

// monthRegions lists the regions the months count something in, sorted.
// The answer for each is a slice of the cube: a thing counted without a
// region could not be counted apart.
func monthRegions(months []*statMonth, more ...string) ([]string, error) {
	regions := slices.Clone(more)
	for _, m := range months {
		for _, c := range m.Cases {
			regions = append(regions, c.Region)
		}
		for _, c := range m.Services {
			regions = append(regions, c.Region)
		}
		for _, c := range m.Attempts {
			regions = append(regions, c.Region)
		}
	}
	slices.Sort(regions)
	regions = slices.Compact(regions)
	if slices.Contains(regions, "") {
		return nil, errors.New("reports: a case has no region, so the answers by region cannot be told apart")
	}
	return regions, nil
}

// statisticsConfig names what a kept month's figures depend on besides the
// read model: their encoding.
var statisticsConfig = fmt.Sprintf("stat-cells/%d", statsEncoding)

// statisticsMonths returns what the statistics count in each span of the
// period (months, and days of the month under way: spans): kept ones where
// they are still good, the others read — and kept, unless under way —,
// complianceParts at a time. It also answers how many spans it read.
func (s *Service) statisticsMonths(ctx context.Context, p Period, asOf time.Time) ([]*statMonth, int, error) {
	// Nothing happens ahead of time: the rest of the month under way is
	// read with the day under way.
	spans := p.spans(asOf, false)
	kept, err := s.keptSpans(ctx, keptStatistics, statisticsConfig, spans)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*statMonth, len(spans))
	var unkept []int
	for i, sp := range spans {
		if kept[i] != nil {
			if sm, err := decodeStatMonth(kept[i]); err == nil && sm.Month == sp.From.Format("2006-01") {
				out[i] = sm
				continue
			}
		}
		unkept = append(unkept, i)
	}
	err = sideBySide(unkept, func(i int) error {
		var err error
		out[i], err = s.readStatisticsMonth(ctx, spans[i].Period, spans[i].keep)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, len(unkept), nil
}

// readStatisticsMonth reads a month, keeping it when keep is set. A month
// read whole but not kept (another request built it at the same moment) is
// used all the same; one whose building failed otherwise is read again
// without keeping it.
func (s *Service) readStatisticsMonth(ctx context.Context, m Period, keep bool) (*statMonth, error) {
	f := store.StatisticsFilter{From: m.From, To: m.To, TimeZone: m.From.Location().String()}
	var built *statMonth
	if keep {
		data := func(cases *store.ReportCaseSet, refs *store.ReportReferralSet) ([]byte, error) {
			built = newStatMonth(cases, refs, m)
			return encodeStatMonth(built)
		}
		_, _, err := s.Store.BuildStatisticsMonth(ctx, f, keptStatistics, statisticsConfig, data)
		if err == nil || (errors.Is(err, store.ErrMonthNotKept) && built != nil) {
			return built, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	cases, refs, err := s.Store.StatisticsMonth(ctx, f)
	if err != nil {
		return nil, err
	}
	return newStatMonth(cases, refs, m), nil
}

func encodeStatMonth(m *statMonth) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte(statsEncoding)
	if err := gob.NewEncoder(&b).Encode(m); err != nil {
		return nil, fmt.Errorf("encode statistics month %s: %w", m.Month, err)
	}
	return b.Bytes(), nil
}

// decodeStatMonth reads what encodeStatMonth wrote; anything else is an
// error (and the month is read again).
func decodeStatMonth(b []byte) (*statMonth, error) {
	if len(b) == 0 || b[0] != statsEncoding {
		return nil, errors.New("kept statistics month: unknown encoding")
	}
	m := &statMonth{}
	if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(m); err != nil {
		return nil, fmt.Errorf("kept statistics month: %w", err)
	}
	for _, c := range m.Cases {
		if int(c.Measure) >= len(measureNames) {
			return nil, errors.New("kept statistics month: unknown measure")
		}
	}
	return m, nil
}
