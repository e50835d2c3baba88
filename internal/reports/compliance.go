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
	// Filters; "" means all. Agency is an agency ID. At most one of Region,
	// Agency and SOPVersion (see Compliance).
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
	"suppression":   "counts from 1 to threshold-1 are withheld (null), and more counts beside them, so that no withheld count can be narrowed to fewer than max(2, threshold-1) possible values from everything published, in this answer and in the answers for every region, agency and SOP version; zero is always published; shares and times are withheld with any withheld count of their row, times also when fewer than threshold instances underlie them; see docs/disclosure-control.md",
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

// Compliance builds the SOP compliance report. It takes at most one of the
// region, agency and SOP version filters, and reads every instance of the
// period (of the obligation asked for, if any) whatever the filter: the
// answer is one slice of the protected cube of the unfiltered report and
// every value of each filter (cube.go). Combining two filters would publish
// cells of a region × agency × version cube that this protection does not
// cover.
func (s *Service) Compliance(ctx context.Context, q ComplianceQuery) (*ComplianceReport, error) {
	asOf := s.now()
	f := store.ComplianceFilter{From: q.Period.From, To: q.Period.To, Obligation: q.Obligation}
	var answer complianceSlice
	set := 0
	for _, x := range []struct{ dim, val string }{{"region", q.Region}, {"agency", q.Agency}, {"sop_version", q.SOPVersion}} {
		if x.val != "" {
			answer = complianceSlice{x.dim, x.val}
			set++
		}
	}
	if set > 1 {
		return nil, &InputError{Field: answer.dim, Rule: "one_filter",
			Message: "a compliance report takes at most one of region, agency and sop_version"}
	}
	if q.Agency != "" {
		id, err := uuid.Parse(q.Agency)
		if err != nil {
			return nil, &InputError{Field: "agency", Rule: "uuid", Message: "agency must be an agency ID"}
		}
		answer.val = id.String()
	}
	reportable := s.reportable()
	if q.Obligation != "" && !slices.Contains(reportable, q.Obligation) {
		return nil, &InputError{Field: "obligation", Rule: "obligation",
			Message: "must be a deadline or answer obligation of a loaded SOP version: " + strings.Join(reportable, ", ")}
	}
	f = s.complianceFilter(f, asOf)
	agencies, err := s.Store.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	months, err := s.complianceMonths(ctx, q.Period, f, asOf)
	if err != nil {
		return nil, fmt.Errorf("compliance: %w", err)
	}
	acc := newComplianceAgg(agencies, answer)
	for _, cells := range months {
		acc.addCells(cells, q.Obligation)
	}
	obligations := reportable
	if q.Obligation != "" {
		obligations = []string{q.Obligation}
	}
	rep := &ComplianceReport{
		Period: q.Period.json(), AsOf: asOf.UTC(), Threshold: s.threshold(), Definitions: ComplianceDefinitions,
		Filters: map[string]string{"region": q.Region, "agency": q.Agency, "sop_version": q.SOPVersion, "obligation": q.Obligation},
	}
	rep.Tables, err = complianceTables(mergeCompliance([]*complianceAgg{acc}), obligations, s.obligationOrder(), s.threshold(), answer)
	if err != nil {
		return nil, fmt.Errorf("compliance: %w", err)
	}
	if err := audited(rep.Tables, s.threshold()); err != nil {
		return nil, err
	}
	return rep, nil
}

// complianceFilter completes f with what the store classifies instances by.
func (s *Service) complianceFilter(f store.ComplianceFilter, asOf time.Time) store.ComplianceFilter {
	f.MetBy, f.KnownVersions = s.metBy()
	f.AsOf, f.Versions = asOf, f.KnownVersions
	for id := range s.obligationOrder() {
		f.Obligations = append(f.Obligations, id)
	}
	return f
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

// complianceSlice is the answer a compliance report publishes: the
// unfiltered one (dim "") or one filtered to dim = val.
type complianceSlice struct{ dim, val string }

// has says whether a cell at coordinate at belongs to the slice's tables.
func (sl complianceSlice) has(at coord) bool {
	if sl.dim == "" {
		return len(at) <= 1
	}
	for _, p := range at {
		if p.dim == sl.dim {
			return p.val == sl.val
		}
	}
	return false
}

// complianceTables builds the cube of every obligation's tables — the
// unfiltered ones and those filtered to each region, agency and SOP version
// —, protects it, and returns the answer's tables. An obligation without
// instances still has its tables: "nothing fell due" is a finding the TWG
// must see, not a missing table.
func complianceTables(groups []*complianceGroup, obligations []string, order map[string]int, threshold int,
	answer complianceSlice) ([]*Table, error) {
	c := newCube(threshold)
	byObligation := map[string]map[string]*complianceGroup{}
	for _, g := range groups {
		if byObligation[g.obligation] == nil {
			byObligation[g.obligation] = map[string]*complianceGroup{}
			if !slices.Contains(obligations, g.obligation) {
				obligations = append(obligations, g.obligation)
			}
		}
		byObligation[g.obligation][g.at.key("", "")] = g
	}
	sort.SliceStable(obligations, func(i, j int) bool {
		oi, iok := order[obligations[i]]
		oj, jok := order[obligations[j]]
		if iok != jok {
			return iok
		}
		if iok && oi != oj {
			return oi < oj
		}
		return obligations[i] < obligations[j]
	})
	var out, all []*Table
	for _, o := range obligations {
		ns := "compliance/" + o
		at := byObligation[o]
		// The values of each dimension that occur, and each agency's type.
		values := map[string][]string{}
		agencyType := map[string]string{}
		agencyName := map[string]string{}
		for _, g := range at {
			if len(g.at) != 1 {
				continue
			}
			p := g.at[0]
			values[p.dim] = append(values[p.dim], p.val)
			if p.dim == "agency" {
				agencyType[p.val], agencyName[p.val] = g.agencyType, g.agencyName
			}
		}
		for _, vs := range values {
			slices.Sort(vs)
		}
		row := func(cell coord, key string, attrs ...Attr) *Row {
			g := at[cell.key("", "")]
			var r complianceRow
			if g != nil {
				r = g.row
			}
			x := c.row(ns, cell, key, map[string]int64{"due": r.Due, "met_on_time": r.OnTime, "met_late": r.Late,
				"breached_open": r.Open, "pending": r.Pending}, complianceCounts, attrs...)
			x.hours["median_hours"] = hoursOf(r.MedianHours, r.Met)
			x.hours["p90_hours"] = hoursOf(r.P90Hours, r.Met)
			return x
		}
		// rows returns the rows of dimension dim in the slice base: one per
		// value with instances there.
		rows := func(base coord, dim string) []*Row {
			var rs []*Row
			for _, v := range values[dim] {
				cell, ok := base.with(dim, v)
				if !ok || at[cell.key("", "")] == nil {
					continue
				}
				if dim == "agency" {
					rs = append(rs, row(cell, agencyName[v], Attr{"agency_id", v}, Attr{"agency_type", agencyType[v]}))
				} else {
					rs = append(rs, row(cell, v))
				}
			}
			if dim == "agency" {
				slices.SortStableFunc(rs, func(a, b *Row) int {
					return cmpStrings(a.Attr("agency_type"), b.Attr("agency_type"), a.Key, b.Key, a.Attr("agency_id"), b.Attr("agency_id"))
				})
			} else {
				slices.SortStableFunc(rs, func(a, b *Row) int { return compareStrings(a.Key, b.Key) })
			}
			return rs
		}
		slice := func(base coord) []*Table {
			total := row(base, "")
			var tables []*Table
			for _, d := range complianceDimensions {
				t := &Table{ID: ns + "/" + d, Group: o, Dimension: d,
					Title:   fmt.Sprintf("Obligation %s by %s", o, dimensionTitle[d]),
					Columns: complianceColumns, RowSums: complianceRowSums, Total: total}
				switch {
				case d == "agency":
					t.Nested = &Nesting{Table: ns + "/agency_type", By: "agency_type"}
					t.Rows = rows(base, "agency")
				case d == "agency_type" && base.has("agency"):
					// One agency's instances, under its type: the same cell.
					if at[base.key("", "")] != nil {
						t.Rows = []*Row{row(base, agencyType[base[0].val])}
					}
				default:
					t.Rows = rows(base, d)
				}
				tables = append(tables, t)
			}
			declareTables(c.p, tables)
			return tables
		}
		unfiltered := slice(nil)
		all = append(all, unfiltered...)
		answerTables := unfiltered
		for _, d := range []string{"region", "agency", "sop_version"} {
			vals := values[d]
			if answer.dim == d && !slices.Contains(vals, answer.val) {
				vals = append(slices.Clone(vals), answer.val) // nothing there: zeros
			}
			for _, v := range vals {
				tables := slice(coord{{d, v}})
				if answer.dim == d && answer.val == v {
					answerTables = tables
				}
			}
		}
		out = append(out, answerTables...)
		for _, d := range []string{"region", "sop_version"} {
			c.across(unfiltered, d, values[d])
		}
		// A type's count over agencies is the nesting the tables declare.
		c.across(unfiltered, "agency", values["agency"], "agency_type")
	}
	if err := c.p.protect(); err != nil {
		return nil, err
	}
	fillTables(c.p, out)
	return out, nil
}

var complianceCounts = []string{"due", "met_on_time", "met_late", "breached_open", "pending"}

// cmpStrings compares pairs of strings in turn: a1 with b1, then a2 with b2, …
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := compareStrings(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
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

// complianceRow is one aggregate: the counts of an obligation's instances
// at one coordinate of the cube, with the percentiles of their times.
type complianceRow struct {
	Due, OnTime, Late, Open int64
	Pending, Met            int64
	MedianHours, P90Hours   *float64
}

// complianceGroup counts the instances of one obligation at one
// coordinate: overall, by agency, agency type, region or SOP version, or by
// two of them (region and agency or type, version and agency or type,
// region and version) for the filtered answers.
type complianceGroup struct {
	obligation             string
	at                     coord
	agencyName, agencyType string // at an agency
	row                    complianceRow
	keepHours              bool // the answer shows its times
	hours                  []float64
}

// complianceAgg counts the instances of each obligation at every
// coordinate as they arrive, keeping the times to meet only where the
// answer shows them, and then computes the percentiles of those groups
// (PostgreSQL's percentile_cont).
type complianceAgg struct {
	names  map[string]store.Agency
	answer complianceSlice
	agName []string // by agency code
	agType []uint16 // by agency code: index into types
	types  []string
	groups map[groupKey]*complianceGroup
	order  []*complianceGroup
	// set and dict code the cells' strings (addCells).
	set  store.ReportInstanceSet
	dict dictionary
}

// groupKey names a group by the codes of its coordinate; -1 is a dimension
// the group does not fix.
type groupKey struct {
	obligation                   uint16
	agency, typ, region, version int32
}

func newComplianceAgg(agencies []store.Agency, answer complianceSlice) *complianceAgg {
	a := &complianceAgg{names: map[string]store.Agency{}, answer: answer, groups: map[groupKey]*complianceGroup{}, dict: dictionary{}}
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

func (a *complianceAgg) group(set *store.ReportInstanceSet, k groupKey) *complianceGroup {
	if g := a.groups[k]; g != nil {
		return g
	}
	g := &complianceGroup{obligation: set.Obligations[k.obligation]}
	if k.agency >= 0 {
		g.agencyName, _ = a.agency(set, uint16(k.agency))
		g.agencyType = a.types[a.agType[k.agency]]
		g.at = append(g.at, pair{"agency", set.Agencies[k.agency]})
	}
	if k.typ >= 0 {
		g.at = append(g.at, pair{"agency_type", a.types[k.typ]})
	}
	if k.region >= 0 {
		g.at = append(g.at, pair{"region", set.Regions[k.region]})
	}
	if k.version >= 0 {
		g.at = append(g.at, pair{"sop_version", set.Versions[k.version]})
	}
	g.keepHours = a.answer.has(g.at)
	a.groups[k] = g
	a.order = append(a.order, g)
	return g
}

// addCells counts the cells (of the obligation only, if not ""). The
// agg's dictionaries are its own: cells carry their strings.
func (a *complianceAgg) addCells(cells []*complianceCell, only string) {
	for _, c := range cells {
		if only != "" && c.obligation != only {
			continue
		}
		r := store.ReportInstance{Obligation: a.dict.code(&a.set.Obligations, c.obligation),
			Version: a.dict.code(&a.set.Versions, c.version), Region: a.dict.code(&a.set.Regions, c.region),
			Agency: a.dict.code(&a.set.Agencies, c.agency)}
		a.addCell(&a.set, r, c)
	}
}

// addCell counts a cell at r's codes.
func (a *complianceAgg) addCell(set *store.ReportInstanceSet, r store.ReportInstance, c *complianceCell) {
	_, typ := a.agency(set, r.Agency)
	o, ag, ty, rg, vs := r.Obligation, int32(r.Agency), int32(typ), int32(r.Region), int32(r.Version)
	for _, k := range [...]groupKey{
		{o, -1, -1, -1, -1},
		{o, ag, -1, -1, -1}, {o, -1, ty, -1, -1}, {o, -1, -1, rg, -1}, {o, -1, -1, -1, vs},
		{o, ag, -1, rg, -1}, {o, -1, ty, rg, -1}, {o, -1, -1, rg, vs},
		{o, ag, -1, -1, vs}, {o, -1, ty, -1, vs},
	} {
		g := a.group(set, k)
		x := &g.row
		x.Due += c.onTime + c.late + c.open + c.pending
		x.OnTime += c.onTime
		x.Late += c.late
		x.Open += c.open
		x.Pending += c.pending
		x.Met += int64(len(c.hours))
		if g.keepHours {
			g.hours = append(g.hours, c.hours...)
		}
	}
}

// dictionary codes strings in the dictionaries of a ReportInstanceSet.
type dictionary map[*[]string]map[string]uint16

func (d dictionary) code(list *[]string, v string) uint16 {
	m := d[list]
	if m == nil {
		m = map[string]uint16{}
		d[list] = m
	}
	c, ok := m[v]
	if !ok {
		c = uint16(len(*list))
		m[v] = c
		*list = append(*list, v)
	}
	return c
}

// complianceParts is how many months of a compliance report are read at
// once: one per core, at least two.
var complianceParts = min(max(2, runtime.GOMAXPROCS(0)), 8)

// mergeCompliance adds up the groups of the parts and computes their
// percentiles.
func mergeCompliance(parts []*complianceAgg) []*complianceGroup {
	merged := map[string]*complianceGroup{}
	var out []*complianceGroup
	for _, a := range parts {
		for _, g := range a.order {
			k := g.obligation + "\x00" + g.at.key("", "")
			m := merged[k]
			if m == nil {
				merged[k] = g
				out = append(out, g)
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
	for _, g := range out {
		_, g.row.MedianHours, g.row.P90Hours = percentiles(g.hours)
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
