package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
)

// /twg/simulate: the recorded history under another SOP version's
// deadlines (reports.Service.Simulate, behind GET /api/v1/reports/simulate),
// beside the deadlines the cases were recorded under. The candidate is a
// loaded version (GET, as the API takes it) or a proposed SOP file
// uploaded here (POST, multipart, at most twgMaxUpload bytes), validated by
// sop.Parse and sop.NewSet as `nrm sop validate` validates one file, its
// problems shown with their line numbers.

// twgMaxUpload bounds an uploaded SOP file (the real ones are ~35 KB).
const twgMaxUpload = 256 << 10

type twgProblem struct {
	Line          int
	Rule, Message string
}

type twgSimData struct {
	F         twgFilter
	Errors    formErrors
	Problems  []twgProblem
	Versions  []string
	Regions   []string
	MaxUpload int // KiB
	// Shown: a simulation is on the page.
	Shown                    bool
	Candidate                string
	Uploaded                 bool
	From, To, TimeZone, AsOf string
	Threshold, ThresholdLess int
	TTLMinutes               int
	Cases                    twgCell
	Skipped                  []twgSummary
	Obligations              []*twgTable
	Chart                    *twgChart
	CSV, Back                string
}

// twgSopRules label the problems of an SOP file by rule (sop.Rule*).
var twgSopRules = map[string]string{
	sop.RuleSyntax:                 "twg.sop.rule.syntax",
	sop.RuleUnknownKey:             "twg.sop.rule.unknown_key",
	sop.RuleDuplicateKey:           "twg.sop.rule.duplicate_key",
	sop.RuleMissingKey:             "twg.sop.rule.missing_key",
	sop.RuleBadValue:               "twg.sop.rule.bad_value",
	sop.RuleBadID:                  "twg.sop.rule.bad_id",
	sop.RuleBadDuration:            "twg.sop.rule.bad_duration",
	sop.RuleMissingTranslation:     "twg.sop.rule.missing_translation",
	sop.RuleUnknownEvent:           "twg.sop.rule.unknown_event",
	sop.RuleUnknownDimension:       "twg.sop.rule.unknown_dimension",
	sop.RuleUnknownStrength:        "twg.sop.rule.unknown_strength",
	sop.RuleUnknownRole:            "twg.sop.rule.unknown_role",
	sop.RuleDuplicateID:            "twg.sop.rule.duplicate_id",
	sop.RuleInconsistentObligation: "twg.sop.rule.inconsistent_obligation",
	sop.RuleCycle:                  "twg.sop.rule.cycle",
	sop.RuleDuplicateVersion:       "twg.sop.rule.duplicate_version",
	sop.RuleMixedSOP:               "twg.sop.rule.mixed_sop",
	sop.RuleAmbiguousEffectiveFrom: "twg.sop.rule.ambiguous_effective_from",
}

func (p *Pages) twgSimChoices(d *twgSimData) {
	all := p.Reports.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		d.Versions = append(d.Versions, all[i].Version)
	}
	d.Regions = p.Cases.Regions
	d.MaxUpload = twgMaxUpload >> 10
	d.TTLMinutes = int(twgCacheTTL / time.Minute)
}

// twgSimulate answers GET /twg/simulate: the form, and with ?sop_version=
// the simulation under that loaded version.
func (p *Pages) twgSimulate(c *fiber.Ctx, pg page) error {
	f := twgFilter{From: clean(c.Query("from")), To: clean(c.Query("to")), Region: clean(c.Query("region")),
		SOPVersion: clean(c.Query("sop_version"))}
	d := &twgSimData{F: f}
	p.twgSimChoices(d)
	pg.Title, pg.Data = "twg.simulate.title", d
	if f.SOPVersion == "" {
		return p.render(c, http.StatusOK, "twg_simulate", pg)
	}
	candidate, ok := p.Reports.SOPs.Get(f.SOPVersion)
	if !ok {
		d.Errors.add("sop_version", "twg.error.sop_version")
	}
	period, _ := p.twgPeriod(f, &d.Errors)
	if len(d.Errors) > 0 {
		return p.render(c, http.StatusUnprocessableEntity, "twg_simulate", pg)
	}
	return p.twgSimulation(c, pg, d, candidate, period, false)
}

// twgSimulateUpload answers POST /twg/simulate: a proposed SOP file,
// validated, then simulated.
func (p *Pages) twgSimulateUpload(c *fiber.Ctx, pg page) error {
	f := twgFilter{From: clean(c.FormValue("from")), To: clean(c.FormValue("to")), Region: clean(c.FormValue("region"))}
	d := &twgSimData{F: f}
	p.twgSimChoices(d)
	pg.Title, pg.Data = "twg.simulate.title", d
	period, _ := p.twgPeriod(f, &d.Errors)
	for i := range d.Errors { // the upload form's own period fields
		d.Errors[i].Field = "up-" + d.Errors[i].Field
	}
	data, msg := readUpload(c, "sop_file")
	if msg != "" {
		d.Errors = append(formErrors{{Field: "sop_file", Msg: msg, Args: map[string]any{"Count": twgMaxUpload >> 10}}}, d.Errors...)
		return p.render(c, http.StatusUnprocessableEntity, "twg_simulate", pg)
	}
	candidate, err := sop.Parse("proposed.yaml", data)
	if err == nil {
		_, err = sop.NewSet(candidate)
	}
	if err != nil {
		var se *sop.Error
		if !errors.As(err, &se) {
			return p.errorPage(c, err)
		}
		t := p.msgs.translator(pg.Lang)
		for _, pr := range se.Problems {
			rule := pr.Rule
			if id, ok := twgSopRules[pr.Rule]; ok {
				rule = t.T(id)
			}
			d.Problems = append(d.Problems, twgProblem{Line: pr.Line, Rule: rule, Message: pr.Message})
		}
		d.Errors = append(formErrors{{Field: "sop_file", Msg: "twg.error.sop_invalid", Args: map[string]any{"Count": len(se.Problems)}}}, d.Errors...)
		return p.render(c, http.StatusUnprocessableEntity, "twg_simulate", pg)
	}
	if len(d.Errors) > 0 {
		return p.render(c, http.StatusUnprocessableEntity, "twg_simulate", pg)
	}
	return p.twgSimulation(c, pg, d, candidate, period, true)
}

// readUpload reads a form's file, at most twgMaxUpload bytes; msg is the
// field's error message ID when there is none or it is too large.
func readUpload(c *fiber.Ctx, field string) ([]byte, string) {
	fh, err := c.FormFile(field)
	if err != nil || fh.Size == 0 {
		return nil, "twg.error.sop_file"
	}
	if fh.Size > twgMaxUpload {
		return nil, "twg.error.sop_size"
	}
	file, err := fh.Open()
	if err != nil {
		return nil, "twg.error.sop_file"
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, twgMaxUpload+1))
	if err != nil || len(data) == 0 {
		return nil, "twg.error.sop_file"
	}
	if len(data) > twgMaxUpload {
		return nil, "twg.error.sop_size"
	}
	return data, ""
}

// twgSimulation runs (or reuses) the simulation and shows it.
func (p *Pages) twgSimulation(c *fiber.Ctx, pg page, d *twgSimData, candidate *sop.SOP, period reports.Period, uploaded bool) error {
	key := twgKey("simulate", period, d.F.Region, candidate.Version, candidate.Hash)
	v, err := twgCacheOf(p.Reports).get(c.UserContext(), key, func(ctx context.Context) (any, error) {
		return p.Reports.Simulate(ctx, candidate, reports.SimulateQuery{Period: period, Region: d.F.Region})
	})
	if err != nil {
		if twgInputError(&d.Errors, err) {
			return p.render(c, http.StatusUnprocessableEntity, "twg_simulate", pg)
		}
		return p.errorPage(c, err)
	}
	sim := v.(*reports.Simulation)
	b := p.twgBuilder(pg.Lang, twgFilter{Region: d.F.Region, SOPVersion: candidate.Version}, period)
	d.Shown, d.Uploaded, d.Candidate = true, uploaded, candidate.Version
	d.From, d.To, d.TimeZone = sim.Period.From, sim.Period.To, sim.Period.TimeZone
	d.AsOf = sim.AsOf.In(period.From.Location()).Format(dateLayouts[pg.Lang] + " 15:04")
	if f, err := time.Parse(time.DateOnly, sim.Period.From); err == nil {
		d.From = f.Format(dateLayouts[pg.Lang])
	}
	if t, err := time.Parse(time.DateOnly, sim.Period.To); err == nil {
		d.To = t.Format(dateLayouts[pg.Lang])
	}
	d.Threshold, d.ThresholdLess = sim.Threshold, sim.Threshold-1
	d.Cases = b.valueCell(sim.Cases)
	var versions []string
	for v := range sim.Skipped {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		d.Skipped = append(d.Skipped, twgSummary{Label: v, Cell: b.valueCell(sim.Skipped[v])})
	}
	d.F.From, d.F.To = period.From.Format("2006-01"), period.To.AddDate(0, 0, -1).Format("2006-01")
	d.Obligations, d.Chart = b.simulation(sim, candidate.Version)
	if !uploaded {
		q := url.Values{"sop_version": {candidate.Version}, "from": {d.F.From}, "to": {d.F.To}}
		if d.F.Region != "" {
			q.Set("region", d.F.Region)
		}
		d.CSV = "/twg/simulate.csv?" + q.Encode()
	}
	return p.render(c, http.StatusOK, "twg_simulate", pg)
}

// valueCell is a count published outside a table (null when withheld).
func (b *twgBuild) valueCell(v reports.Value) twgCell {
	if !v.Valid {
		return twgCell{Text: b.t.T("twg.suppressed"), Value: twgSuppressed, Suppressed: true}
	}
	return twgCell{Text: b.number(reports.KindCount, v.V), Value: v.String()}
}

var twgSimMeasures = []string{"instances", "met_on_time", "met_late", "breached_open", "pending", "share_on_time", "median_hours", "p90_hours"}

// simulation builds one table per obligation — its measures under the
// recorded and the proposed deadlines side by side — and the chart of all.
func (b *twgBuild) simulation(sim *reports.Simulation, version string) ([]*twgTable, *twgChart) {
	t := sim.Table
	if t == nil {
		return nil, nil
	}
	recorded, proposed := b.t.T("twg.sim.recorded"), b.t.T("twg.sim.proposed", map[string]any{"Version": version})
	var tables []*twgTable
	var rows []twgRowInput
	for i := 0; i+1 < len(t.Rows); i += 2 {
		rec, cand := t.Rows[i], t.Rows[i+1]
		label := b.p.twgObligationLabel(rec.Key, b.lang)
		tb := &twgTable{ID: "twg-sim-" + rec.Key, Caption: label, KeyLabel: b.t.T("twg.sim.measure"), Header: "measure",
			Columns: []twgColumn{{Name: "recorded", Label: recorded}, {Name: "candidate", Label: proposed}}}
		for _, m := range twgSimMeasures {
			tb.Rows = append(tb.Rows, twgRow{Key: m, Label: b.t.T(twgColumnLabels[m]), Cells: []twgCell{b.cell(t, rec, m), b.cell(t, cand, m)}})
		}
		tables = append(tables, tb)
		bar := func(r *reports.Row, name, short string) twgBarInput {
			var ps []twgCell
			for _, m := range twgComplianceParts {
				ps = append(ps, b.cell(t, r, m))
			}
			return twgBarInput{Name: name, Short: short, Parts: ps, Classes: []string{"twg-s1", "twg-s2", "twg-s3", "twg-s4"},
				Names: b.names(twgComplianceParts), Total: b.cell(t, r, "instances")}
		}
		rows = append(rows, twgRowInput{Label: label, Bars: []twgBarInput{bar(rec, recorded, b.t.T("twg.sim.recorded.short")), bar(cand, proposed, version)}})
	}
	return tables, b.chart("twg-chart-sim", b.t.T("twg.sim.chart", map[string]any{"Version": version}), rows, 0, b.complianceLegend())
}

// twgSimulateCSV answers GET /twg/simulate.csv?sop_version=: the
// simulation under a loaded version, one line per obligation and version.
func (p *Pages) twgSimulateCSV(c *fiber.Ctx, pg page) error {
	f := twgFilter{From: clean(c.Query("from")), To: clean(c.Query("to")), Region: clean(c.Query("region")),
		SOPVersion: clean(c.Query("sop_version"))}
	d := &twgSimData{F: f}
	p.twgSimChoices(d)
	pg.Title, pg.Data = "twg.simulate.title", d
	candidate, ok := p.Reports.SOPs.Get(f.SOPVersion)
	if !ok {
		d.Errors.add("sop_version", "twg.error.sop_version")
	}
	period, _ := p.twgPeriod(f, &d.Errors)
	if len(d.Errors) > 0 {
		return p.render(c, http.StatusUnprocessableEntity, "twg_simulate", pg)
	}
	v, err := twgCacheOf(p.Reports).get(c.UserContext(), twgKey("simulate", period, f.Region, candidate.Version, candidate.Hash), func(ctx context.Context) (any, error) {
		return p.Reports.Simulate(ctx, candidate, reports.SimulateQuery{Period: period, Region: f.Region})
	})
	if err != nil {
		return p.errorPage(c, err)
	}
	sim := v.(*reports.Simulation)
	b := p.twgBuilder(pg.Lang, f, period)
	out := &twgTable{Header: "obligation", Columns: []twgColumn{{Name: "version"}}}
	for _, m := range twgSimMeasures {
		out.Columns = append(out.Columns, twgColumn{Name: m})
	}
	if t := sim.Table; t != nil {
		for _, r := range t.Rows {
			row := twgRow{Key: r.Key, Cells: []twgCell{{Value: csvSafe(r.Attr("version"))}}}
			for _, m := range twgSimMeasures {
				row.Cells = append(row.Cells, b.cell(t, r, m))
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return twgSendCSV(c, fmt.Sprintf("nrm-simulation-%s-%s-%s.csv", candidate.Version, sim.Period.From, sim.Period.To), out,
		fmt.Sprintf("NRM SOP simulation under %s, %s to %s (%s), as of %s; cases replayed: %s", candidate.Version, sim.Period.From,
			sim.Period.To, sim.Period.TimeZone, sim.AsOf.Format(time.RFC3339), b.valueCell(sim.Cases).Value),
		"filters: "+twgFiltersText(twgFilter{Region: f.Region}),
		twgThresholdText(sim.Threshold))
}
