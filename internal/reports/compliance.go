package reports

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// ComplianceQuery selects the obligation instances of a compliance report.
type ComplianceQuery struct {
	Period Period
	// Filters; "" means all. Agency is an agency ID.
	Region, Agency, SOPVersion, Obligation string
}

// ComplianceReport is the SOP compliance report (see the package comment
// for its definitions).
type ComplianceReport struct {
	Period      PeriodJSON        `json:"period"`
	AsOf        time.Time         `json:"as_of"`
	Filters     map[string]string `json:"filters"`
	Threshold   int               `json:"suppression_threshold"`
	Definitions map[string]string `json:"definitions"`
	// Tables: for each obligation (Group), its instances by agency type,
	// agency, region and SOP version; the four share the obligation's total.
	Tables []*Table `json:"tables"`
}

// ComplianceDefinitions are stated in every compliance report.
var ComplianceDefinitions = map[string]string{
	"period":        "an obligation instance belongs to the period in which it fell due (due_at), whole months in the SOP's time zone",
	"excluded":      "protected periods and cancelled instances",
	"due":           "instances due in the period = met_on_time + met_late + breached_open + pending",
	"met_on_time":   "met at or before the due time (met_at <= due_at)",
	"met_late":      "met after the due time: a breached instance of a case followed by an event that meets it (from case_events), or met after due_at; a referral's answer is never met late (the attempt expires and the referral goes to the next provider)",
	"breached_open": "due time passed at as_of and no meeting event yet",
	"pending":       "not met and not due yet at as_of",
	"share_on_time": "met_on_time / (met_on_time + met_late + breached_open)",
	"median_hours":  "median time to meet (met_at - starts_at), over met_on_time and met_late, in hours",
	"p90_hours":     "90th percentile of the time to meet, in hours",
	"agency":        "the agency that owns the instance (for a referral's answer: the provider of that attempt)",
	"region":        "the case's region",
	"sop_version":   "the SOP version the case was opened under",
	"suppression":   "counts from 1 to threshold-1 are withheld (null), with secondary suppression so that no withheld count follows from the totals; shares are withheld with any count of their row, times when fewer than threshold instances underlie them",
}

var complianceColumns = []Column{
	{Name: "due", Kind: KindCount},
	{Name: "met_on_time", Kind: KindCount},
	{Name: "met_late", Kind: KindCount},
	{Name: "breached_open", Kind: KindCount},
	{Name: "pending", Kind: KindCount},
	{Name: "share_on_time", Kind: KindShare, Num: []string{"met_on_time"}, Den: []string{"met_on_time", "met_late", "breached_open"}},
	{Name: "median_hours", Kind: KindHours},
	{Name: "p90_hours", Kind: KindHours},
}

var complianceRowSums = []RowSum{{Total: "due", Parts: []string{"met_on_time", "met_late", "breached_open", "pending"}}}

// complianceDimensions, in the order of the tables of an obligation.
var complianceDimensions = []string{"agency_type", "agency", "region", "sop_version"}

// metBy lists, for the compliance query, the events that meet each deadline
// of each loaded version, and under "*" those of the active version for
// cases of versions this server does not hold.
func (s *Service) metBy() ([]store.MetByEvent, []string) {
	var out []store.MetByEvent
	var known []string
	add := func(version string, v *sop.SOP) {
		for _, o := range v.Obligations {
			if o.Kind == sop.KindProtected {
				continue
			}
			for _, e := range o.MetBy {
				out = append(out, store.MetByEvent{SOPVersion: version, Obligation: o.ID, Event: e})
			}
		}
	}
	if s.SOPs != nil {
		for _, v := range s.SOPs.All() {
			add(v.Version, v)
			known = append(known, v.Version)
		}
	}
	if a, err := s.active(); err == nil {
		add("*", a)
	}
	return out, known
}

// obligationOrder orders obligation IDs as the SOP files list them, newest
// version first, unknown ones last.
func (s *Service) obligationOrder() map[string]int {
	order := map[string]int{}
	if s.SOPs == nil {
		return order
	}
	all := s.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		for _, o := range all[i].Obligations {
			if _, ok := order[o.ID]; !ok {
				order[o.ID] = len(order)
			}
		}
	}
	return order
}

// Compliance builds the SOP compliance report.
func (s *Service) Compliance(ctx context.Context, q ComplianceQuery) (*ComplianceReport, error) {
	asOf := s.now()
	f := store.ComplianceFilter{From: q.Period.From, To: q.Period.To, Region: q.Region,
		SOPVersion: q.SOPVersion, Obligation: q.Obligation}
	if q.Agency != "" {
		id, err := uuid.Parse(q.Agency)
		if err != nil {
			return nil, &InputError{Field: "agency", Rule: "uuid", Message: "agency must be an agency ID"}
		}
		f.AgencyID = &id
	}
	reportable := s.reportable()
	if q.Obligation != "" && !slices.Contains(reportable, q.Obligation) {
		return nil, &InputError{Field: "obligation", Rule: "obligation",
			Message: "must be a deadline or answer obligation of a loaded SOP version: " + strings.Join(reportable, ", ")}
	}
	f.MetBy, f.KnownVersions = s.metBy()
	f.AsOf, f.Versions = asOf, f.KnownVersions
	for id := range s.obligationOrder() {
		f.Obligations = append(f.Obligations, id)
	}
	agencies, err := s.Store.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	// Over more than a year the store reads the instances in parts, on as
	// many connections; each part is counted apart, then the counts are
	// merged. Every part scans the obligations, so shorter periods, where
	// that scan is most of the work, are read whole.
	parts := 1
	if q.Period.From.AddDate(1, 0, 0).Before(q.Period.To) {
		parts = complianceParts
	}
	accs := make([]*complianceAgg, parts)
	for i := range accs {
		accs[i] = newComplianceAgg(agencies)
	}
	err = s.Store.ComplianceInstances(ctx, f, parts, func(part int, set *store.ReportInstanceSet, r store.ReportInstance) {
		accs[part].add(set, r)
	})
	if err != nil {
		return nil, err
	}
	rows := withEveryObligation(mergeCompliance(accs), reportable, q.Obligation)
	rep := &ComplianceReport{
		Period: q.Period.json(), AsOf: asOf.UTC(), Threshold: s.threshold(), Definitions: ComplianceDefinitions,
		Filters: map[string]string{"region": q.Region, "agency": q.Agency, "sop_version": q.SOPVersion, "obligation": q.Obligation},
	}
	rep.Tables = complianceTables(rows, s.obligationOrder(), s.threshold())
	if err := audited(rep.Tables); err != nil {
		return nil, err
	}
	return rep, nil
}

// reportable lists the obligations the compliance report covers (every
// kind but protected periods), in the order of obligationOrder.
func (s *Service) reportable() []string {
	order := s.obligationOrder()
	seen := map[string]bool{}
	var out []string
	if s.SOPs != nil {
		for _, v := range s.SOPs.All() {
			for _, o := range v.Obligations {
				if o.Kind != sop.KindProtected && !seen[o.ID] {
					seen[o.ID] = true
					out = append(out, o.ID)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return order[a] - order[b] })
	return out
}

// withEveryObligation adds an empty total for each obligation (or the one
// asked for) without instances in the period: "nothing fell due" is a
// finding the TWG must see, not a missing table.
func withEveryObligation(rows []complianceRow, obligations []string, only string) []complianceRow {
	have := map[string]bool{}
	for _, r := range rows {
		if r.Dimension == "" {
			have[r.Obligation] = true
		}
	}
	for _, o := range obligations {
		if !have[o] && (only == "" || only == o) {
			rows = append(rows, complianceRow{Obligation: o})
		}
	}
	return rows
}

// complianceTables turns the aggregates into protected tables.
func complianceTables(rows []complianceRow, order map[string]int, threshold int) []*Table {
	p := newProtector(threshold)
	type group struct {
		total  *Row
		tables map[string]*Table
	}
	groups := map[string]*group{}
	var names []string
	row := func(r complianceRow, key string, attrs ...Attr) *Row {
		x := newRow(key, attrs...)
		x.counts["due"] = p.cell(r.Due)
		x.counts["met_on_time"] = p.cell(r.OnTime)
		x.counts["met_late"] = p.cell(r.Late)
		x.counts["breached_open"] = p.cell(r.Open)
		x.counts["pending"] = p.cell(r.Pending)
		x.hours["median_hours"] = hoursOf(r.MedianHours, r.Met)
		x.hours["p90_hours"] = hoursOf(r.P90Hours, r.Met)
		return x
	}
	for _, r := range rows {
		if r.Dimension != "" {
			continue
		}
		g := &group{total: row(r, ""), tables: map[string]*Table{}}
		for _, d := range complianceDimensions {
			t := &Table{ID: "compliance/" + r.Obligation + "/" + d, Group: r.Obligation, Dimension: d,
				Title:   fmt.Sprintf("Obligation %s by %s", r.Obligation, dimensionTitle[d]),
				Columns: complianceColumns, RowSums: complianceRowSums, Total: g.total}
			if d == "agency" {
				t.Nested = &Nesting{Table: "compliance/" + r.Obligation + "/agency_type", By: "agency_type"}
			}
			g.tables[d] = t
		}
		groups[r.Obligation] = g
		names = append(names, r.Obligation)
	}
	for _, r := range rows {
		g := groups[r.Obligation]
		if r.Dimension == "" || g == nil {
			continue
		}
		var x *Row
		if r.Dimension == "agency" {
			x = row(r, r.Key, Attr{"agency_id", r.AgencyID}, Attr{"agency_type", r.AgencyType})
		} else {
			x = row(r, r.Key)
		}
		t := g.tables[r.Dimension]
		t.Rows = append(t.Rows, x)
	}
	sort.SliceStable(names, func(i, j int) bool {
		oi, iok := order[names[i]]
		oj, jok := order[names[j]]
		if iok != jok {
			return iok
		}
		if iok && oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	var tables []*Table
	for _, n := range names {
		for _, d := range complianceDimensions {
			t := groups[n].tables[d]
			slices.SortStableFunc(t.Rows, func(a, b *Row) int {
				if d == "agency" {
					if c := compareStrings(a.Attr("agency_type"), b.Attr("agency_type")); c != 0 {
						return c
					}
				}
				return compareStrings(a.Key, b.Key)
			})
			tables = append(tables, t)
		}
	}
	protectTables(p, tables)
	return tables
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// complianceRow is one aggregate: an obligation overall (Dimension "") or
// by agency, agency_type, region or sop_version.
type complianceRow struct {
	Obligation, Dimension, Key string
	AgencyID, AgencyType       string
	Due, OnTime, Late, Open    int64
	Pending, Met               int64
	MedianHours, P90Hours      *float64
}

// complianceAgg counts the instances of each obligation overall and by
// each dimension as they arrive, keeping only the times to meet, and then
// computes the percentiles of every group (PostgreSQL's percentile_cont).
type complianceAgg struct {
	names  map[string]store.Agency
	agName []string // by agency code
	agType []uint16 // by agency code: index into types
	types  []string
	// groups[obligation][dimension][code]
	groups [][5][]*complianceGroup
	order  []*complianceGroup
}

type complianceGroup struct {
	row   complianceRow
	hours []float64
}

const (
	dimTotal = iota
	dimAgency
	dimAgencyType
	dimRegion
	dimVersion
)

func newComplianceAgg(agencies []store.Agency) *complianceAgg {
	a := &complianceAgg{names: map[string]store.Agency{}}
	for _, x := range agencies {
		a.names[x.ID.String()] = x
	}
	return a
}

// agency returns the name and type code of an agency code.
func (a *complianceAgg) agency(set *store.ReportInstanceSet, code uint16) (string, uint16) {
	for int(code) >= len(a.agName) {
		id := set.Agencies[len(a.agName)]
		name, typ := id, "unknown"
		if id == "" {
			name, typ = "unassigned", "unassigned"
		} else if x, ok := a.names[id]; ok {
			name, typ = x.Name, x.Type
		}
		t := slices.Index(a.types, typ)
		if t < 0 {
			t = len(a.types)
			a.types = append(a.types, typ)
		}
		a.agName = append(a.agName, name)
		a.agType = append(a.agType, uint16(t))
	}
	return a.agName[code], a.agType[code]
}

func (a *complianceAgg) group(set *store.ReportInstanceSet, r *store.ReportInstance, dim int, code uint16) *complianceGroup {
	for int(r.Obligation) >= len(a.groups) {
		a.groups = append(a.groups, [5][]*complianceGroup{})
	}
	byCode := a.groups[r.Obligation][dim]
	if int(code) < len(byCode) && byCode[code] != nil {
		return byCode[code]
	}
	for int(code) >= len(byCode) {
		byCode = append(byCode, nil)
	}
	a.groups[r.Obligation][dim] = byCode
	g := &complianceGroup{row: complianceRow{Obligation: set.Obligations[r.Obligation]}}
	switch dim {
	case dimAgency:
		name, t := a.agency(set, code)
		g.row.Dimension, g.row.Key = "agency", name
		g.row.AgencyID, g.row.AgencyType = set.Agencies[code], a.types[t]
	case dimAgencyType:
		g.row.Dimension, g.row.Key = "agency_type", a.types[code]
	case dimRegion:
		g.row.Dimension, g.row.Key = "region", set.Regions[code]
	case dimVersion:
		g.row.Dimension, g.row.Key = "sop_version", set.Versions[code]
	}
	byCode[code] = g
	a.order = append(a.order, g)
	return g
}

// add counts an instance (classified by the store, see the package comment).
func (a *complianceAgg) add(set *store.ReportInstanceSet, r store.ReportInstance) {
	outcome, met, hours := r.Outcome, r.Met, r.Hours
	_, typ := a.agency(set, r.Agency)
	for _, g := range [...]*complianceGroup{
		a.group(set, &r, dimTotal, 0),
		a.group(set, &r, dimAgency, r.Agency),
		a.group(set, &r, dimAgencyType, typ),
		a.group(set, &r, dimRegion, r.Region),
		a.group(set, &r, dimVersion, r.Version),
	} {
		x := &g.row
		x.Due++
		switch outcome {
		case 1:
			x.OnTime++
		case 2:
			x.Late++
		case 3:
			x.Open++
		default:
			x.Pending++
		}
		if met {
			x.Met++
			g.hours = append(g.hours, hours)
		}
	}
}

// complianceParts is how many parts a long compliance report is read in at
// once: one per core, at least two.
var complianceParts = min(max(2, runtime.GOMAXPROCS(0)), 8)

// mergeCompliance adds up the groups of the parts and computes their
// percentiles.
func mergeCompliance(parts []*complianceAgg) []complianceRow {
	type key struct{ obligation, dim, key string }
	merged := map[key]*complianceGroup{}
	var order []key
	for _, a := range parts {
		for _, g := range a.order {
			mk := key{g.row.Obligation, g.row.Dimension, g.row.Key}
			m := merged[mk]
			if m == nil {
				merged[mk] = g
				order = append(order, mk)
				continue
			}
			m.row.Due += g.row.Due
			m.row.OnTime += g.row.OnTime
			m.row.Late += g.row.Late
			m.row.Open += g.row.Open
			m.row.Pending += g.row.Pending
			m.row.Met += g.row.Met
			m.hours = append(m.hours, g.hours...)
		}
	}
	out := make([]complianceRow, 0, len(order))
	for _, k := range order {
		g := merged[k]
		_, g.row.MedianHours, g.row.P90Hours = percentiles(g.hours)
		out = append(out, g.row)
	}
	return out
}

func hoursOf(v *float64, n int64) hoursVal {
	if v == nil {
		return hoursVal{n: n}
	}
	return hoursVal{v: *v, ok: true, n: n}
}

var dimensionTitle = map[string]string{
	"agency_type": "agency type", "agency": "agency", "region": "region", "sop_version": "SOP version",
	"month": "month", "sex": "sex", "age_band": "age band", "citizenship": "citizenship",
	"exploitation": "type of exploitation", "closure_reason": "closure reason", "service": "service",
}

// WriteCSV writes the report as CSV: one line per row of every table,
// withheld values empty, and a last column naming them with the reason.
func (r *ComplianceReport) WriteCSV(w io.Writer) error {
	return writeWideCSV(w, r.Tables,
		fmt.Sprintf("NRM SOP compliance report, %s to %s (%s), as of %s", r.Period.From, r.Period.To, r.Period.TimeZone, r.AsOf.Format(time.RFC3339)),
		fmt.Sprintf("Counts from 1 to %d are withheld (empty), with secondary suppression; see the JSON form for definitions.", r.Threshold-1))
}
