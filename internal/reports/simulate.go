package reports

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// SimulateQuery selects the past cases a simulation replays.
type SimulateQuery struct {
	Period Period
	Region string
}

// Simulation compares, obligation by obligation, how the recorded history
// complied with the deadlines of the versions the cases were opened under
// ("recorded") and how it would have complied with a candidate version's.
//
// Instances belong to the period by their start (the start event's time),
// not their due time as in the compliance report: the due time is what
// differs between the two versions, and the comparison must count the same
// instances under both. Outcomes follow the compliance definitions.
type Simulation struct {
	Candidate string            `json:"candidate"`
	Period    PeriodJSON        `json:"period"`
	AsOf      time.Time         `json:"as_of"`
	Filters   map[string]string `json:"filters"`
	Threshold int               `json:"suppression_threshold"`
	// Cases replayed, and skipped by recorded version not loaded: counts
	// of cases, protected like the table's (null when withheld).
	Cases       Value             `json:"cases"`
	Skipped     map[string]Value  `json:"skipped_cases"`
	Definitions map[string]string `json:"definitions"`
	Table       *Table            `json:"table"`
}

// SimulationDefinitions are stated in every simulation.
var SimulationDefinitions = map[string]string{
	"period":      "instances that started in the period (whole months in the SOP's time zone), so that both versions count the same ones",
	"recorded":    "deadlines of the version each case was opened under, replayed from the recorded event times",
	"candidate":   "deadlines of the candidate version, computed with its calendar from the same event times",
	"instances":   "instances started in the period = met + breached_open + pending (cancelled ones and protected periods excluded)",
	"met":         "instances with a meeting event = met_on_time + met_late",
	"behaviour":   "only the recorded times are measured against other deadlines; what people would have done differently under another SOP is not modelled",
	"suppression": "counts from 1 to threshold-1 are withheld (null), and more counts beside them, so that no withheld count can be narrowed to fewer than max(2, threshold-1) possible values from everything published, in this answer and in the answers for every region; cases and skipped_cases are counts too; see docs/disclosure-control.md",
}

var simulationColumns = []Column{
	{Name: "instances", Kind: KindCount},
	{Name: "met", Kind: KindCount},
	{Name: "met_on_time", Kind: KindCount},
	{Name: "met_late", Kind: KindCount},
	{Name: "breached_open", Kind: KindCount},
	{Name: "pending", Kind: KindCount},
	{Name: "share_on_time", Kind: KindShare, Num: []string{"met_on_time"}, Den: []string{"met_on_time", "met_late", "breached_open"}},
	{Name: "median_hours", Kind: KindHours},
	{Name: "p90_hours", Kind: KindHours},
}

var simulationRowSums = []RowSum{
	{Total: "instances", Parts: []string{"met", "breached_open", "pending"}},
	{Total: "met", Parts: []string{"met_on_time", "met_late"}},
}

type tally struct {
	n       [5]int64 // by Outcome
	hours   []float64
	present bool
}

func (t *tally) merge(o *tally) {
	for i := range t.n {
		t.n[i] += o.n[i]
	}
	t.hours = append(t.hours, o.hours...)
	t.present = t.present || o.present
}

// replayed is what the replay of one region's cases counted.
type replayed struct {
	rec, cand map[string]*tally
	cases     int64
	skipped   map[string]int64
}

func newReplayed() *replayed {
	return &replayed{rec: map[string]*tally{}, cand: map[string]*tally{}, skipped: map[string]int64{}}
}

func (r *replayed) merge(o *replayed) {
	for _, m := range [][2]map[string]*tally{{r.rec, o.rec}, {r.cand, o.cand}} {
		for n, t := range m[1] {
			tallyOf(m[0], n).merge(t)
		}
	}
	r.cases += o.cases
	for v, n := range o.skipped {
		r.skipped[v] += n
	}
}

func (t *tally) add(in Instance, start, end time.Time) {
	if in.StartsAt.Before(start) || !in.StartsAt.Before(end) {
		return
	}
	o, met := in.Outcome()
	if o == OutcomeExcluded {
		return
	}
	t.present = true
	t.n[o]++
	if met != nil {
		t.hours = append(t.hours, met.Sub(in.StartsAt).Hours())
	}
}

// replayTypes lists the event types a replay under these versions reads.
func replayTypes(versions ...*sop.SOP) []string {
	types := []string{"case_closed", "closure_approved", "referral_sent", "referral_redirected", "referral_withdrawn"}
	for _, v := range versions {
		for _, o := range v.Obligations {
			types = append(types, o.StartsOn)
			types = append(types, o.MetBy...)
		}
	}
	slices.Sort(types)
	return slices.Compact(types)
}

// Simulate replays the period's cases against the candidate version. It
// replays every region's cases, whatever the filter, and the unfiltered
// answer is their sum: the answer is one slice of the protected cube of
// all of them (cube.go).
func (s *Service) Simulate(ctx context.Context, candidate *sop.SOP, q SimulateQuery) (*Simulation, error) {
	asOf := s.now()
	versions := []*sop.SOP{candidate}
	if s.SOPs != nil {
		versions = append(versions, s.SOPs.All()...)
	}
	// The regions of the cases the replay reads (the case statistics
	// select the same cases: open at some time in the period).
	set, err := s.Store.StatisticsCases(ctx, store.StatisticsFilter{From: q.Period.From, To: q.Period.To,
		TimeZone: q.Period.From.Location().String()})
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", candidate.Version, err)
	}
	regions, err := caseRegions(set)
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", candidate.Version, err)
	}
	byRegion := map[string]*replayed{}
	all := newReplayed()
	var events []Event
	for _, region := range regions {
		x := newReplayed()
		f := store.ReplayFilter{From: q.Period.From, To: q.Period.To, Region: region, Types: replayTypes(versions...)}
		err := s.Store.ReplayEvents(ctx, f, func(c store.ReplayCase, evs []store.ReplayEvent) error {
			var recorded *sop.SOP
			if s.SOPs != nil {
				recorded, _ = s.SOPs.Get(c.SOPVersion)
			}
			if recorded == nil {
				x.skipped[c.SOPVersion]++
				return nil
			}
			x.cases++
			events = events[:0]
			for _, e := range evs {
				events = append(events, Event{Type: e.Type, At: e.At, Seq: e.Seq, Referral: e.ReferralID, Agency: e.AgencyID, Service: e.Service})
			}
			for _, in := range Replay(recorded, c.Child, events, asOf) {
				tallyOf(x.rec, in.Obligation).add(in, q.Period.From, q.Period.To)
			}
			for _, in := range Replay(candidate, c.Child, events, asOf) {
				tallyOf(x.cand, in.Obligation).add(in, q.Period.From, q.Period.To)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("simulate %s in region %s: %w", candidate.Version, region, err)
		}
		byRegion[region] = x
		all.merge(x)
	}
	sim := &Simulation{Candidate: candidate.Version, Period: q.Period.json(), AsOf: asOf.UTC(),
		Filters: map[string]string{"region": q.Region}, Threshold: s.threshold(), Definitions: SimulationDefinitions}
	c := newCube(s.threshold())
	order := s.obligationOrder()
	var skippedVersions []string
	for v := range all.skipped {
		skippedVersions = append(skippedVersions, v)
	}
	slices.Sort(skippedVersions)
	type answer struct {
		table   *Table
		cases   int
		skipped map[string]int
	}
	slice := func(at coord, x *replayed) answer {
		t := simulationTable(c, at, x.rec, x.cand, candidate, order)
		declareTables(c.p, []*Table{t})
		a := answer{table: t, cases: c.count("simulation/cases", at, "cases", x.cases), skipped: map[string]int{}}
		for _, v := range skippedVersions {
			if x.skipped[v] > 0 || len(at) == 0 {
				vat, _ := at.with("sop_version", v)
				a.skipped[v] = c.count("simulation/skipped", vat, "cases", x.skipped[v])
			}
		}
		return a
	}
	unfiltered := slice(nil, all)
	ans := unfiltered
	for _, r := range regions {
		a := slice(coord{{"region", r}}, byRegion[r])
		if r == q.Region {
			ans = a
		}
	}
	if q.Region != "" && !slices.Contains(regions, q.Region) {
		ans = slice(coord{{"region", q.Region}}, newReplayed())
	}
	c.across([]*Table{unfiltered.table}, "region", regions)
	var parts []int
	for _, r := range regions {
		parts = append(parts, c.cells[coord{{"region", r}}.key("simulation/cases", "cases")])
	}
	c.p.sum(unfiltered.cases, parts...)
	for _, v := range skippedVersions {
		parts = parts[:0]
		for _, r := range regions {
			at := coord{{"region", r}, {"sop_version", v}}
			if i, ok := c.cells[at.key("simulation/skipped", "cases")]; ok {
				parts = append(parts, i)
			}
		}
		c.p.sum(unfiltered.skipped[v], parts...)
	}
	if err := c.p.protect(); err != nil {
		return nil, fmt.Errorf("simulate %s: %w", candidate.Version, err)
	}
	fillTables(c.p, []*Table{ans.table})
	sim.Table = ans.table
	published := func(cell int) Value {
		if c.p.suppressed(cell) {
			return Value{}
		}
		return Value{V: float64(c.p.vals[cell]), Valid: true}
	}
	sim.Cases = published(ans.cases)
	sim.Skipped = map[string]Value{}
	for v, cell := range ans.skipped {
		sim.Skipped[v] = published(cell)
	}
	if err := audited([]*Table{sim.Table}, s.threshold()); err != nil {
		return nil, err
	}
	return sim, nil
}

func tallyOf(m map[string]*tally, obligation string) *tally {
	t := m[obligation]
	if t == nil {
		t = &tally{}
		m[obligation] = t
	}
	return t
}

// simulationTable lays the two tallies of the slice at side by side: a
// "recorded" and a "candidate" row per obligation. Where both versions
// count the same instances and meetings, the two rows share those cells.
func simulationTable(c *cube, at coord, rec, cand map[string]*tally, candidate *sop.SOP, order map[string]int) *Table {
	const ns = "simulation"
	t := &Table{ID: "simulation/" + candidate.Version, Group: "simulation", Dimension: "obligation",
		Title:   "Compliance under the recorded versions and under " + candidate.Version,
		Columns: simulationColumns, RowSums: simulationRowSums}
	var names []string
	for n, x := range rec {
		if x.present {
			names = append(names, n)
		}
	}
	for n, x := range cand {
		if x.present && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	order = maps.Clone(order)
	for _, o := range candidate.Obligations {
		if _, ok := order[o.ID]; !ok {
			order[o.ID] = len(order)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		oi, iok := order[names[i]]
		oj, jok := order[names[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		r, cd := rec[n], cand[n]
		if r == nil {
			r = &tally{}
		}
		if cd == nil {
			cd = &tally{}
		}
		rowOf := func(x *tally, version, which string, shared *Row) *Row {
			cell, _ := at.with("obligation", n)
			cell, _ = cell.with("version", which)
			row := newRow(n, Attr{"version", version})
			row.id = n + "/" + version
			row.ns, row.at = ns, cell
			inst := x.n[OutcomeOnTime] + x.n[OutcomeLate] + x.n[OutcomeOpen] + x.n[OutcomePending]
			met := x.n[OutcomeOnTime] + x.n[OutcomeLate]
			counts := map[string]int64{"instances": inst, "met": met, "met_on_time": x.n[OutcomeOnTime],
				"met_late": x.n[OutcomeLate], "breached_open": x.n[OutcomeOpen], "pending": x.n[OutcomePending]}
			for _, col := range []string{"instances", "met", "met_on_time", "met_late", "breached_open", "pending"} {
				if (col == "instances" || col == "met") && shared != nil && c.p.vals[shared.counts[col]] == counts[col] {
					row.counts[col] = c.alias(ns, cell, col, shared.counts[col])
					continue
				}
				row.counts[col] = c.count(ns, cell, col, counts[col])
			}
			sort.Float64s(x.hours)
			row.hours["median_hours"] = percentile(x.hours, 0.5)
			row.hours["p90_hours"] = percentile(x.hours, 0.9)
			return row
		}
		rr := rowOf(r, "recorded", "recorded", nil)
		t.Rows = append(t.Rows, rr, rowOf(cd, candidate.Version, "candidate", rr))
	}
	return t
}

// percentile is PostgreSQL's percentile_cont over sorted values.
func percentile(sorted []float64, q float64) hoursVal {
	n := len(sorted)
	if n == 0 {
		return hoursVal{}
	}
	pos := q * float64(n-1)
	lo := int(pos)
	v := sorted[lo]
	if lo+1 < n {
		v += (pos - float64(lo)) * (sorted[lo+1] - sorted[lo])
	}
	return hoursVal{v: v, ok: true, n: int64(n)}
}

// WriteText prints the simulation side by side, one line per obligation.
func (x *Simulation) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "SOP simulation: recorded deadlines vs %s, instances started %s to %s (%s), as of %s\n",
		x.Candidate, x.Period.From, x.Period.To, x.Period.TimeZone, x.AsOf.Format(time.RFC3339))
	count := func(v Value) string {
		if !v.Valid {
			return "a withheld number of"
		}
		return v.String()
	}
	fmt.Fprintf(w, "%s cases replayed", count(x.Cases))
	if len(x.Skipped) > 0 {
		var parts []string
		for v, n := range x.Skipped {
			parts = append(parts, fmt.Sprintf("%s of version %s", count(n), v))
		}
		sort.Strings(parts)
		fmt.Fprintf(w, "; skipped (version not loaded): %s", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "; counts from 1 to %d withheld (-)\n\n", x.Threshold-1)
	fmt.Fprintln(tw, "obligation\tinstances\tmet\t on time (rec)\tlate (rec)\topen (rec)\tpending (rec)\tshare (rec)\t on time (cand)\tlate (cand)\topen (cand)\tpending (cand)\tshare (cand)\tmedian h\tp90 h\t")
	t := x.Table
	for i := 0; i+1 < len(t.Rows); i += 2 {
		r, c := t.Rows[i], t.Rows[i+1]
		cell := func(row *Row, col string) string {
			v := row.Get(t, col)
			if !v.Valid {
				return "-"
			}
			if col == "share_on_time" {
				return fmt.Sprintf("%.1f%%", 100*v.V)
			}
			return v.String()
		}
		inst, met := cell(r, "instances"), cell(r, "met")
		if cell(c, "instances") != inst {
			inst += "/" + cell(c, "instances")
		}
		if cell(c, "met") != met {
			met += "/" + cell(c, "met")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Key, inst, met,
			cell(r, "met_on_time"), cell(r, "met_late"), cell(r, "breached_open"), cell(r, "pending"), cell(r, "share_on_time"),
			cell(c, "met_on_time"), cell(c, "met_late"), cell(c, "breached_open"), cell(c, "pending"), cell(c, "share_on_time"),
			cell(r, "median_hours"), cell(r, "p90_hours"))
	}
	return tw.Flush()
}

// WriteCSV writes the simulation as CSV.
func (x *Simulation) WriteCSV(w io.Writer) error {
	return writeWideCSV(w, []*Table{x.Table},
		fmt.Sprintf("NRM SOP simulation: recorded deadlines vs %s, instances started %s to %s (%s)", x.Candidate, x.Period.From, x.Period.To, x.Period.TimeZone))
}
