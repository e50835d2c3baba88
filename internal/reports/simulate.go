package reports

import (
	"context"
	"fmt"
	"io"
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
	Candidate   string            `json:"candidate"`
	Period      PeriodJSON        `json:"period"`
	AsOf        time.Time         `json:"as_of"`
	Filters     map[string]string `json:"filters"`
	Threshold   int               `json:"suppression_threshold"`
	Cases       int               `json:"cases"`
	Skipped     map[string]int    `json:"skipped_cases"` // by recorded version not loaded
	Definitions map[string]string `json:"definitions"`
	Table       *Table            `json:"table"`
}

// SimulationDefinitions are stated in every simulation.
var SimulationDefinitions = map[string]string{
	"period":    "instances that started in the period (whole months in the SOP's time zone), so that both versions count the same ones",
	"recorded":  "deadlines of the version each case was opened under, replayed from the recorded event times",
	"candidate": "deadlines of the candidate version, computed with its calendar from the same event times",
	"instances": "instances started in the period = met + breached_open + pending (cancelled ones and protected periods excluded)",
	"met":       "instances with a meeting event = met_on_time + met_late",
	"behaviour": "only the recorded times are measured against other deadlines; what people would have done differently under another SOP is not modelled",
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

// Simulate replays the period's cases against the candidate version.
func (s *Service) Simulate(ctx context.Context, candidate *sop.SOP, q SimulateQuery) (*Simulation, error) {
	asOf := s.now()
	versions := []*sop.SOP{candidate}
	if s.SOPs != nil {
		versions = append(versions, s.SOPs.All()...)
	}
	rec, cand := map[string]*tally{}, map[string]*tally{}
	sim := &Simulation{Candidate: candidate.Version, Period: q.Period.json(), AsOf: asOf.UTC(),
		Filters: map[string]string{"region": q.Region}, Threshold: s.threshold(), Skipped: map[string]int{},
		Definitions: SimulationDefinitions}
	f := store.ReplayFilter{From: q.Period.From, To: q.Period.To, Region: q.Region, Types: replayTypes(versions...)}
	var events []Event
	err := s.Store.ReplayEvents(ctx, f, func(c store.ReplayCase, evs []store.ReplayEvent) error {
		var recorded *sop.SOP
		if s.SOPs != nil {
			recorded, _ = s.SOPs.Get(c.SOPVersion)
		}
		if recorded == nil {
			sim.Skipped[c.SOPVersion]++
			return nil
		}
		sim.Cases++
		events = events[:0]
		for _, e := range evs {
			events = append(events, Event{Type: e.Type, At: e.At, Seq: e.Seq, Referral: e.ReferralID, Agency: e.AgencyID, Service: e.Service})
		}
		for _, in := range Replay(recorded, c.Child, events, asOf) {
			tallyOf(rec, in.Obligation).add(in, q.Period.From, q.Period.To)
		}
		for _, in := range Replay(candidate, c.Child, events, asOf) {
			tallyOf(cand, in.Obligation).add(in, q.Period.From, q.Period.To)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", candidate.Version, err)
	}
	sim.Table = simulationTable(rec, cand, candidate, s.obligationOrder(), s.threshold())
	if err := audited([]*Table{sim.Table}); err != nil {
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

// simulationTable lays the two tallies side by side: a "recorded" and a
// "candidate" row per obligation. Where both versions count the same
// instances and meetings, the two rows share those cells.
func simulationTable(rec, cand map[string]*tally, candidate *sop.SOP, order map[string]int, threshold int) *Table {
	p := newProtector(threshold)
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
		r, c := rec[n], cand[n]
		if r == nil {
			r = &tally{}
		}
		if c == nil {
			c = &tally{}
		}
		rowOf := func(x *tally, version string, shared *Row) *Row {
			row := newRow(n, Attr{"version", version})
			row.id = n + "/" + version
			inst := x.n[OutcomeOnTime] + x.n[OutcomeLate] + x.n[OutcomeOpen] + x.n[OutcomePending]
			met := x.n[OutcomeOnTime] + x.n[OutcomeLate]
			if shared != nil && p.vals[shared.counts["instances"]] == inst {
				row.counts["instances"] = shared.counts["instances"]
			} else {
				row.counts["instances"] = p.cell(inst)
			}
			if shared != nil && p.vals[shared.counts["met"]] == met {
				row.counts["met"] = shared.counts["met"]
			} else {
				row.counts["met"] = p.cell(met)
			}
			row.counts["met_on_time"] = p.cell(x.n[OutcomeOnTime])
			row.counts["met_late"] = p.cell(x.n[OutcomeLate])
			row.counts["breached_open"] = p.cell(x.n[OutcomeOpen])
			row.counts["pending"] = p.cell(x.n[OutcomePending])
			sort.Float64s(x.hours)
			row.hours["median_hours"] = percentile(x.hours, 0.5)
			row.hours["p90_hours"] = percentile(x.hours, 0.9)
			return row
		}
		rr := rowOf(r, "recorded", nil)
		t.Rows = append(t.Rows, rr, rowOf(c, candidate.Version, rr))
	}
	protectTables(p, []*Table{t})
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
	fmt.Fprintf(w, "%d cases replayed", x.Cases)
	if len(x.Skipped) > 0 {
		var parts []string
		for v, n := range x.Skipped {
			parts = append(parts, fmt.Sprintf("%d of version %s", n, v))
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
