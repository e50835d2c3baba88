package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/country"
	"github.com/nrm-tm/nrm/internal/reports"
)

// The TWG's pages (docs/web.md): /twg, the dashboard of the SOP compliance
// report and the anonymised statistics, and /twg/simulate (twgsim.go).
// They call reports.Service — the service behind GET /api/v1/reports/* —
// with the filters the API takes, never the store: every figure is one the
// API publishes for the same query, after its disclosure control, and
// nothing on them reaches a case or a person. For the TWG role only; other
// roles get the 403 page.
//
// The compliance report has no month dimension: the chart by month is the
// report of each month of the period (what the API answers for
// from=to=that month), for periods of up to twgMaxMonths months.
//
// Building the reports of a 100,000-case history takes seconds (mostly
// PostgreSQL's), so answers are kept and refreshed in the background
// (twgcache.go); the page states the time its figures are as of.

const (
	// twgMaxMonths bounds the months of the compliance chart by month:
	// each is a report of its own.
	twgMaxMonths = 24
	// twgParallel is how many reports one page builds at once.
	twgParallel = 2
)

func (p *Pages) mountTWG(r fiber.Router) {
	r.Get("/twg", p.signedIn(p.twgOnly(p.twgDashboard)))
	r.Get("/twg/compliance/:obligation/:dimension.csv", p.signedIn(p.twgOnly(p.twgComplianceCSV)))
	r.Get("/twg/statistics/:table.csv", p.signedIn(p.twgOnly(p.twgStatisticsCSV)))
	r.Get("/twg/simulate.csv", p.signedIn(p.twgOnly(p.twgSimulateCSV)))
	r.Get("/twg/simulate", p.signedIn(p.twgOnly(p.twgSimulate)))
	r.Post("/twg/simulate", p.signedIn(p.twgOnly(p.twgSimulateUpload)))
}

// twgOnly answers the TWG's pages for the TWG role, the 403 page in words
// for the others (as the API's routes answer 403).
func (p *Pages) twgOnly(h func(c *fiber.Ctx, pg page) error) func(c *fiber.Ctx, pg page) error {
	return func(c *fiber.Ctx, pg page) error {
		if !pg.User.Is(auth.TWG) {
			return p.render(c, http.StatusForbidden, "error", page{Lang: pg.Lang, Title: "error.title", User: pg.User, CSRF: pg.CSRF,
				Data: "twg.forbidden"})
		}
		if p.Reports == nil || p.Reports.Store == nil || p.Reports.SOPs == nil {
			return p.errorPage(c, errors.New("twg: reports are not configured"))
		}
		return h(c, pg)
	}
}

// twgFilter is what the filter form says (as typed), the API's query
// parameters: from, to, region, agency (an agency ID), sop_version and
// obligation.
type twgFilter struct {
	From, To, Region, Agency, SOPVersion, Obligation string
}

func twgFilterOf(c *fiber.Ctx) twgFilter {
	return twgFilter{From: clean(c.Query("from")), To: clean(c.Query("to")), Region: clean(c.Query("region")),
		Agency: clean(c.Query("agency")), SOPVersion: clean(c.Query("sop_version")), Obligation: clean(c.Query("obligation"))}
}

// query is the filter as a query string ("" when empty), for links.
func (f twgFilter) query() string {
	q := url.Values{}
	for _, kv := range [][2]string{{"from", f.From}, {"to", f.To}, {"region", f.Region}, {"agency", f.Agency},
		{"sop_version", f.SOPVersion}, {"obligation", f.Obligation}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// twgInputError puts a report's input error (the API's 422) on its field.
func twgInputError(errs *formErrors, err error) bool {
	var ie *reports.InputError
	if !errors.As(err, &ie) {
		return false
	}
	if errs.For(ie.Field) != nil {
		return true
	}
	msg := map[string]string{
		"date":        "twg.error.date",
		"before_to":   "twg.error.before_to",
		"max_span":    "twg.error.max_span",
		"one_filter":  "twg.error.one_filter",
		"uuid":        "twg.error.agency",
		"obligation":  "twg.error.obligation",
		"sop_version": "twg.error.sop_version",
	}[ie.Rule]
	if msg == "" {
		msg = "twg.error.other"
	}
	*errs = append(*errs, fieldError{Field: ie.Field, Msg: msg, Args: map[string]any{"Count": reports.MaxMonths}})
	return true
}

// twgPeriod reads the period; the month list is nil when it is longer than
// the chart by month covers.
func (p *Pages) twgPeriod(f twgFilter, errs *formErrors) (reports.Period, []reports.Period) {
	period, err := p.Reports.Period(f.From, f.To)
	if err != nil {
		if !twgInputError(errs, err) {
			errs.add("from", "twg.error.other")
		}
		return period, nil
	}
	var months []reports.Period
	for m := period.From; m.Before(period.To); m = m.AddDate(0, 1, 0) {
		months = append(months, reports.Period{From: m, To: m.AddDate(0, 1, 0)})
	}
	if len(months) > twgMaxMonths {
		months = nil
	}
	return period, months
}

// The answers of one page, built side by side and kept for twgCacheTTL.

type twgAnswers struct {
	compliance *reports.ComplianceReport
	months     []*reports.ComplianceReport // nil: period too long
	statistics *reports.StatisticsReport
}

func (p *Pages) twgAnswers(ctx context.Context, f twgFilter, period reports.Period, months []reports.Period) (*twgAnswers, error) {
	cache := twgCacheOf(p.Reports)
	q := reports.ComplianceQuery{Period: period, Region: f.Region, Agency: f.Agency, SOPVersion: f.SOPVersion, Obligation: f.Obligation}
	out := &twgAnswers{}
	if months != nil {
		out.months = make([]*reports.ComplianceReport, len(months))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, twgParallel)
	)
	run := func(build func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := build(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	compliance := func(q reports.ComplianceQuery) (*reports.ComplianceReport, error) {
		v, err := cache.get(ctx, twgKey("compliance", q.Period, q.Region, q.Agency, q.SOPVersion, q.Obligation), func(ctx context.Context) (any, error) {
			return p.Reports.Compliance(ctx, q)
		})
		if err != nil {
			return nil, err
		}
		return v.(*reports.ComplianceReport), nil
	}
	// The statistics beside the whole period's compliance report, which
	// comes first: a bad filter is refused before the months run into the
	// same refusal.
	run(func() error {
		v, err := cache.get(ctx, twgKey("statistics", period, f.Region), func(ctx context.Context) (any, error) {
			return p.Reports.Statistics(ctx, reports.StatisticsQuery{Period: period, Region: f.Region})
		})
		if err == nil {
			out.statistics = v.(*reports.StatisticsReport)
		}
		return err
	})
	rep, err := compliance(q)
	if err != nil {
		wg.Wait()
		return nil, err
	}
	out.compliance = rep
	for i, m := range months {
		mq := q
		mq.Period = m
		run(func() error {
			rep, err := compliance(mq)
			out.months[i] = rep
			return err
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// The page.

type twgOption struct {
	Value, Label string
}

type twgOptionGroup struct {
	Label   string
	Options []twgOption
}

type twgDashboardData struct {
	F          twgFilter
	Errors     formErrors
	Regions    []string
	Agencies   []twgOptionGroup
	Versions   []string
	Obligation []twgOption
	// Shown: the figures are on the page (no error).
	Shown                    bool
	From, To, TimeZone, AsOf string
	Threshold, ThresholdLess int
	TTLMinutes               int
	MonthsOmitted            bool
	MaxMonths                int
	StatisticsRegionOnly     bool
	Compliance               []*twgObligation
	CaseCharts               []*twgChart
	Cases, Referrals         *twgTable
	// Countries: cases by country of exploitation; ReTrafficking: by month.
	Countries, ReTrafficking   *twgTable
	ReferralChart              *twgChart
	ExportCSV, ExportJSON, Sim string
	Legend                     []twgLegend
}

// twgObligation is one obligation's part of the compliance section.
type twgObligation struct {
	ID, Label  string
	Summary    []twgSummary
	MonthChart *twgChart
	Month      *twgTable
	Tables     []*twgTable // by agency type, region, SOP version
	Agency     *twgTable
}

type twgSummary struct {
	Label string
	Cell  twgCell
}

func (p *Pages) twgDashboard(c *fiber.Ctx, pg page) error {
	f := twgFilterOf(c)
	data := &twgDashboardData{F: f, MaxMonths: twgMaxMonths, TTLMinutes: int(twgCacheTTL / time.Minute)}
	pg.Title = "twg.title"
	pg.Data = data
	if err := p.twgChoices(c, pg.Lang, data); err != nil {
		return p.errorPage(c, err)
	}
	period, months := p.twgPeriod(f, &data.Errors)
	if len(data.Errors) > 0 {
		return p.render(c, http.StatusUnprocessableEntity, "twg", pg)
	}
	ans, err := p.twgAnswers(c.UserContext(), f, period, months)
	if err != nil {
		if twgInputError(&data.Errors, err) {
			return p.render(c, http.StatusUnprocessableEntity, "twg", pg)
		}
		return p.errorPage(c, err)
	}
	b := p.twgBuilder(pg.Lang, f, period)
	b.fill(data, ans, period)
	// The form shows the period the figures cover.
	data.F.From, data.F.To = period.From.Format("2006-01"), period.To.AddDate(0, 0, -1).Format("2006-01")
	return p.render(c, http.StatusOK, "twg", pg)
}

// twgChoices fills the filter form's choices: the regions, the agencies
// by type, the SOP versions and the obligations the report covers.
func (p *Pages) twgChoices(c *fiber.Ctx, lang string, d *twgDashboardData) error {
	d.Regions = p.Cases.Regions
	agencies, err := p.Reports.Agencies(c.UserContext())
	if err != nil {
		return err
	}
	t := p.msgs.translator(lang)
	byType := map[string]*twgOptionGroup{}
	var types []string
	for _, a := range agencies {
		g := byType[a.Type]
		if g == nil {
			g = &twgOptionGroup{Label: twgAgencyType(t, a.Type)}
			byType[a.Type] = g
			types = append(types, a.Type)
		}
		g.Options = append(g.Options, twgOption{Value: a.ID.String(), Label: a.Name})
	}
	slices.SortFunc(types, func(a, b string) int { return strings.Compare(byType[a].Label, byType[b].Label) })
	for _, ty := range types {
		g := byType[ty]
		slices.SortFunc(g.Options, func(a, b twgOption) int { return strings.Compare(a.Label, b.Label) })
		d.Agencies = append(d.Agencies, *g)
	}
	all := p.Reports.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		d.Versions = append(d.Versions, all[i].Version)
	}
	for _, id := range p.twgObligations() {
		d.Obligation = append(d.Obligation, twgOption{Value: id, Label: p.twgObligationLabel(id, lang)})
	}
	return nil
}

// twgObligations lists the obligations the compliance report covers (every
// kind but protected periods), newest version's order first.
func (p *Pages) twgObligations() []string {
	var out []string
	all := p.Reports.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		for _, o := range all[i].Obligations {
			if o.Kind != "protected" && !slices.Contains(out, o.ID) {
				out = append(out, o.ID)
			}
		}
	}
	return out
}

// twgObligationLabel is an obligation's label in the newest loaded version
// that has it.
func (p *Pages) twgObligationLabel(id, lang string) string {
	all := p.Reports.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		if o, ok := all[i].Obligation(id); ok {
			return o.Label.In(lang)
		}
	}
	return id
}

// twgServiceLabel is a service's label in the newest loaded version that
// has it.
func (p *Pages) twgServiceLabel(id, lang string) string {
	all := p.Reports.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		if s, ok := all[i].Service(id); ok {
			return s.Label.In(lang)
		}
	}
	return id
}

// twgAgencyTypes labels the agency types of the directory (and the
// report's "unassigned" and "unknown"); other types show their code.
var twgAgencyTypes = map[string]string{
	"law_enforcement":            "twg.agency_type.law_enforcement",
	"ngo":                        "twg.agency_type.ngo",
	"competent_authority":        "twg.agency_type.competent_authority",
	"legal_service":              "twg.agency_type.legal_service",
	"health":                     "twg.agency_type.health",
	"social_service":             "twg.agency_type.social_service",
	"child_protection":           "twg.agency_type.child_protection",
	"international_organisation": "twg.agency_type.international_organisation",
	"twg":                        "twg.agency_type.twg",
	"administration":             "twg.agency_type.administration",
	"other":                      "twg.agency_type.other",
	"education":                  "twg.agency_type.education",
	"border_service":             "twg.agency_type.border_service",
	"labour_inspection":          "twg.agency_type.labour_inspection",
	"unassigned":                 "twg.agency_type.unassigned",
	"unknown":                    "twg.agency_type.unknown",
}

func twgAgencyType(t *translator, code string) string {
	if id, ok := twgAgencyTypes[code]; ok {
		return t.T(id)
	}
	return code
}

// Tables as the page shows them: every cell keeps the API's value
// (data-value), a withheld one says "suppressed".

type twgTable struct {
	ID, Caption, KeyLabel string
	Columns               []twgColumn
	Rows                  []twgRow
	Total                 *twgRow
	CSV                   string
	// Header: the CSV's first column (the dimension's code).
	Header string
}

type twgColumn struct {
	Name, Label string
}

type twgRow struct {
	Key, Label string
	Cells      []twgCell
}

type twgCell struct {
	// Text is what the page shows; Value the API's (its JSON number), "" when
	// it has none, "suppressed" when withheld.
	Text, Value      string
	Suppressed, None bool
}

const twgSuppressed = "suppressed"

// twgColumnLabels name the report columns the pages show.
var twgColumnLabels = map[string]string{
	"due":                    "twg.col.due",
	"met_on_time":            "twg.col.met_on_time",
	"met_late":               "twg.col.met_late",
	"breached_open":          "twg.col.breached_open",
	"pending":                "twg.col.pending",
	"share_on_time":          "twg.col.share_on_time",
	"median_hours":           "twg.col.median_hours",
	"p90_hours":              "twg.col.ninetieth_hours",
	"opened":                 "twg.col.opened",
	"presumed":               "twg.col.presumed",
	"identified_preliminary": "twg.col.identified_preliminary",
	"identified_conclusive":  "twg.col.identified_conclusive",
	"closed":                 "twg.col.closed",
	"sent":                   "twg.col.sent",
	"accepted":               "twg.col.accepted",
	"redirected":             "twg.col.redirected",
	"unrouted":               "twg.col.unrouted",
	"acceptance_rate":        "twg.col.acceptance_rate",
	"median_answer_hours":    "twg.col.median_answer_hours",
	"p90_answer_hours":       "twg.col.ninetieth_answer_hours",
	"instances":              "twg.col.instances",
	"met":                    "twg.col.met",
	"re_trafficked":          "twg.col.re_trafficked",
	"reopened":               "twg.col.reopened",
	"linked":                 "twg.col.linked",
}

var (
	twgComplianceColumns    = []string{"due", "met_on_time", "met_late", "breached_open", "pending", "share_on_time", "median_hours", "p90_hours"}
	twgCaseColumns          = []string{"opened", "presumed", "identified_preliminary", "identified_conclusive", "closed"}
	twgServiceColumns       = []string{"sent", "accepted", "redirected", "unrouted", "acceptance_rate", "median_answer_hours", "p90_answer_hours"}
	twgReTraffickingColumns = []string{"re_trafficked", "reopened", "linked"}
	// twgComplianceDimensions are the tables of an obligation the page
	// shows openly; the one by agency is folded.
	twgComplianceDimensions = []string{"agency_type", "region", "sop_version"}
	twgDimensionLabels      = map[string]string{
		"month": "twg.dim.month", "agency_type": "twg.dim.agency_type", "agency": "twg.dim.agency", "region": "twg.dim.region",
		"sop_version": "twg.dim.sop_version", "service": "twg.dim.service", "obligation": "twg.dim.obligation",
		"exploitation_country": "twg.dim.exploitation_country",
	}
)

// twgByLabels caption an obligation's table by a dimension.
var twgByLabels = map[string]string{"month": "twg.by.month", "agency_type": "twg.by.agency_type", "agency": "twg.by.agency",
	"region": "twg.by.region", "sop_version": "twg.by.sop_version"}

// twgBuild turns report tables into the page's, in one language.
type twgBuild struct {
	p      *Pages
	lang   string
	t      *translator
	f      twgFilter
	query  string
	period reports.Period
}

func (p *Pages) twgBuilder(lang string, f twgFilter, period reports.Period) *twgBuild {
	eff := f
	eff.From, eff.To = period.From.Format("2006-01"), period.To.AddDate(0, 0, -1).Format("2006-01")
	return &twgBuild{p: p, lang: lang, t: p.msgs.translator(lang), f: f, query: eff.query(), period: period}
}

// kindOf is a report column's kind.
func kindOf(t *reports.Table, col string) string {
	for _, c := range t.Columns {
		if c.Name == col {
			return c.Kind
		}
	}
	return reports.KindCount
}

// withheld says whether a table lists the cell of row (named as the
// report names it) and column as withheld.
func withheld(t *reports.Table, r *reports.Row, col string) bool {
	for _, s := range t.Suppressed {
		if s.Column != col {
			continue
		}
		if r == t.Total {
			if s.Row == "total" {
				return true
			}
			continue
		}
		// Rows that share a key are named with their agency (compliance) or
		// their version (simulation).
		if s.Row == r.Key || (r.Attr("agency_id") != "" && s.Row == r.Key+" ("+r.Attr("agency_id")+")") ||
			(r.Attr("version") != "" && s.Row == r.Key+"/"+r.Attr("version")) {
			return true
		}
	}
	return false
}

// cell is the page's cell of a report's value.
func (b *twgBuild) cell(t *reports.Table, r *reports.Row, col string) twgCell {
	if r == nil {
		return twgCell{None: true, Text: "—"}
	}
	v := r.Get(t, col)
	kind := kindOf(t, col)
	if !v.Valid {
		if kind == reports.KindCount || withheld(t, r, col) {
			return twgCell{Text: b.t.T("twg.suppressed"), Value: twgSuppressed, Suppressed: true}
		}
		return twgCell{Text: "—", None: true}
	}
	return twgCell{Text: b.number(kind, v.V), Value: v.String()}
}

// number writes a value as the page's language does: counts whole,
// shares as percentages, hours with one decimal.
func (b *twgBuild) number(kind string, v float64) string {
	var s string
	switch kind {
	case reports.KindShare:
		s = strconv.FormatFloat(v*100, 'f', 1, 64)
	case reports.KindHours:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if b.lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	if kind == reports.KindShare {
		if b.lang == "en" {
			return s + "%"
		}
		return s + " %"
	}
	return s
}

func (b *twgBuild) columns(cols []string) []twgColumn {
	out := make([]twgColumn, len(cols))
	for i, c := range cols {
		out[i] = twgColumn{Name: c, Label: b.t.T(twgColumnLabels[c])}
	}
	return out
}

// month writes a month key (2026-03) as the page's language does.
func (b *twgBuild) month(key string) string {
	t, err := time.Parse("2006-01", key)
	if err != nil {
		return key
	}
	if b.lang == "en" {
		return t.Format("Jan 2006")
	}
	return t.Format("01.2006")
}

// table is the page's table of a report table's rows and total.
func (b *twgBuild) table(t *reports.Table, id, caption, dim string, cols []string, label func(*reports.Row) string, csv string) *twgTable {
	out := &twgTable{ID: id, Caption: caption, KeyLabel: b.t.T(twgDimensionLabels[dim]), Columns: b.columns(cols), CSV: csv, Header: dim}
	row := func(r *reports.Row, key, lbl string) twgRow {
		x := twgRow{Key: key, Label: lbl}
		for _, c := range cols {
			x.Cells = append(x.Cells, b.cell(t, r, c))
		}
		return x
	}
	for _, r := range t.Rows {
		out.Rows = append(out.Rows, row(r, r.Key, label(r)))
	}
	if t.Total != nil {
		tot := row(t.Total, "total", b.t.T("twg.total"))
		out.Total = &tot
	}
	return out
}

func tableOf(tables []*reports.Table, id string) *reports.Table {
	for _, t := range tables {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func (b *twgBuild) csvLink(path string) string { return path + b.query }

// complianceTable is one obligation's table by a dimension, from the
// whole period's report.
func (b *twgBuild) complianceTable(rep *reports.ComplianceReport, o, label, dim string) *twgTable {
	t := tableOf(rep.Tables, "compliance/"+o+"/"+dim)
	if t == nil {
		return nil
	}
	lbl := func(r *reports.Row) string { return r.Key }
	switch dim {
	case "agency_type":
		lbl = func(r *reports.Row) string { return twgAgencyType(b.t, r.Key) }
	}
	caption := b.t.T(twgByLabels[dim], map[string]any{"Obligation": label})
	return b.table(t, "twg-compliance-"+o+"-"+dim, caption, dim, twgComplianceColumns, lbl, b.csvLink("/twg/compliance/"+o+"/"+dim+".csv"))
}

// complianceMonths is one obligation's table by month: the total row of
// each month's report.
func (b *twgBuild) complianceMonths(months []*reports.ComplianceReport, o, label string) *twgTable {
	caption := b.t.T(twgByLabels["month"], map[string]any{"Obligation": label})
	out := &twgTable{ID: "twg-compliance-" + o + "-month", Caption: caption, KeyLabel: b.t.T("twg.dim.month"),
		Columns: b.columns(twgComplianceColumns), CSV: b.csvLink("/twg/compliance/" + o + "/month.csv"), Header: "month"}
	for _, rep := range months {
		key := rep.Period.From[:7]
		t := tableOf(rep.Tables, "compliance/"+o+"/region")
		x := twgRow{Key: key, Label: b.month(key)}
		for _, c := range twgComplianceColumns {
			if t == nil {
				x.Cells = append(x.Cells, b.cell(nil, nil, c))
			} else {
				x.Cells = append(x.Cells, b.cell(t, t.Total, c))
			}
		}
		out.Rows = append(out.Rows, x)
	}
	return out
}

// fill builds the dashboard's sections from the answers.
func (b *twgBuild) fill(d *twgDashboardData, ans *twgAnswers, period reports.Period) {
	rep := ans.compliance
	d.Shown = true
	d.From, d.To, d.TimeZone = rep.Period.From, rep.Period.To, rep.Period.TimeZone
	d.AsOf = rep.AsOf.In(period.From.Location()).Format("2006-01-02 15:04")
	if dl, ok := dateLayouts[b.lang]; ok {
		d.AsOf = rep.AsOf.In(period.From.Location()).Format(dl + " 15:04")
		if f, err := time.Parse(time.DateOnly, rep.Period.From); err == nil {
			d.From = f.Format(dl)
		}
		if t, err := time.Parse(time.DateOnly, rep.Period.To); err == nil {
			d.To = t.Format(dl)
		}
	}
	d.Threshold, d.ThresholdLess = rep.Threshold, rep.Threshold-1
	d.MonthsOmitted = ans.months == nil
	d.StatisticsRegionOnly = b.f.Agency != "" || b.f.SOPVersion != "" || b.f.Obligation != ""
	d.Legend = b.complianceLegend()
	var obligations []string
	for _, t := range rep.Tables {
		if !slices.Contains(obligations, t.Group) {
			obligations = append(obligations, t.Group)
		}
	}
	for _, o := range obligations {
		label := b.p.twgObligationLabel(o, b.lang)
		ob := &twgObligation{ID: o, Label: label}
		if t := tableOf(rep.Tables, "compliance/"+o+"/region"); t != nil && t.Total != nil {
			for _, c := range []string{"due", "share_on_time", "median_hours", "p90_hours"} {
				ob.Summary = append(ob.Summary, twgSummary{Label: b.t.T(twgColumnLabels[c]), Cell: b.cell(t, t.Total, c)})
			}
		}
		if ans.months != nil {
			ob.Month = b.complianceMonths(ans.months, o, label)
			ob.MonthChart = b.complianceChart(ob.Month, "twg-chart-"+o)
		}
		for _, dim := range twgComplianceDimensions {
			if t := b.complianceTable(rep, o, label, dim); t != nil {
				ob.Tables = append(ob.Tables, t)
			}
		}
		ob.Agency = b.complianceTable(rep, o, label, "agency")
		d.Compliance = append(d.Compliance, ob)
	}
	if st := ans.statistics; st != nil {
		if t := tableOf(st.Tables, "cases/month"); t != nil {
			d.Cases = b.table(t, "twg-cases-month", b.t.T("twg.cases.caption"), "month", twgCaseColumns,
				func(r *reports.Row) string { return b.month(r.Key) }, b.csvLink("/twg/statistics/cases_month.csv"))
			d.CaseCharts = b.caseCharts(d.Cases)
		}
		if t := tableOf(st.Tables, "referrals/service"); t != nil {
			d.Referrals = b.table(t, "twg-referrals-service", b.t.T("twg.referrals.caption"), "service", twgServiceColumns,
				func(r *reports.Row) string { return b.p.twgServiceLabel(r.Key, b.lang) }, b.csvLink("/twg/statistics/referrals_service.csv"))
			d.ReferralChart = b.referralChart(d.Referrals)
		}
		if t := tableOf(st.Tables, "cases/exploitation_country"); t != nil {
			d.Countries = b.table(t, "twg-cases-country", b.t.T("twg.countries.caption"), "exploitation_country", twgCaseColumns,
				func(r *reports.Row) string { return country.Name(r.Key, b.lang) }, b.csvLink("/twg/statistics/cases_country.csv"))
		}
		if t := tableOf(st.Tables, "re_trafficking/month"); t != nil {
			d.ReTrafficking = b.table(t, "twg-re-trafficking-month", b.t.T("twg.re_trafficking.caption"), "month", twgReTraffickingColumns,
				func(r *reports.Row) string { return b.month(r.Key) }, b.csvLink("/twg/statistics/re_trafficking_month.csv"))
		}
	}
	q := url.Values{"from": {period.From.Format("2006-01")}, "to": {period.To.AddDate(0, 0, -1).Format("2006-01")}}
	if b.f.Region != "" {
		q.Set("region", b.f.Region)
	}
	d.ExportJSON = "/api/v1/exports/htcds?" + q.Encode()
	q.Set("format", "csv")
	d.ExportCSV = "/api/v1/exports/htcds?" + q.Encode()
	q.Del("format")
	d.Sim = "/twg/simulate?" + q.Encode()
}

// CSV downloads: each table of the page, with the same filters, as the
// page shows it (a withheld cell says "suppressed").

func (p *Pages) twgComplianceCSV(c *fiber.Ctx, pg page) error {
	o, dim := c.Params("obligation"), c.Params("dimension")
	if !slices.Contains(p.twgObligations(), o) || !slices.Contains([]string{"month", "agency_type", "agency", "region", "sop_version"}, dim) {
		return p.notFound(c)
	}
	f := twgFilterOf(c)
	var errs formErrors
	period, months := p.twgPeriod(f, &errs)
	if len(errs) > 0 {
		return p.twgCSVRefused(c, pg, errs)
	}
	if dim != "month" {
		months = nil
	} else if months == nil {
		errs.add("from", "twg.error.months")
		return p.twgCSVRefused(c, pg, errs)
	}
	ans, err := p.twgAnswers(c.UserContext(), f, period, months)
	if err != nil {
		if twgInputError(&errs, err) {
			return p.twgCSVRefused(c, pg, errs)
		}
		return p.errorPage(c, err)
	}
	b := p.twgBuilder(pg.Lang, f, period)
	label := p.twgObligationLabel(o, "en")
	var t *twgTable
	if dim == "month" {
		t = b.complianceMonths(ans.months, o, label)
	} else {
		t = b.complianceTable(ans.compliance, o, label, dim)
	}
	if t == nil {
		return p.notFound(c)
	}
	rep := ans.compliance
	return twgSendCSV(c, fmt.Sprintf("nrm-compliance-%s-%s-%s-%s.csv", o, dim, rep.Period.From, rep.Period.To), t,
		fmt.Sprintf("NRM SOP compliance, obligation %s by %s, %s to %s (%s), as of %s", o, dim, rep.Period.From, rep.Period.To,
			rep.Period.TimeZone, rep.AsOf.Format(time.RFC3339)),
		"filters: "+twgFiltersText(f),
		twgThresholdText(rep.Threshold))
}

// twgStatisticsCSVTables are the statistics tables the page offers as CSV,
// by the name in their address: the report's table, its key and columns.
var twgStatisticsCSVTables = map[string]struct {
	id, dim string
	cols    []string
}{
	"cases_month":          {"cases/month", "month", twgCaseColumns},
	"referrals_service":    {"referrals/service", "service", twgServiceColumns},
	"cases_country":        {"cases/exploitation_country", "exploitation_country", twgCaseColumns},
	"re_trafficking_month": {"re_trafficking/month", "month", twgReTraffickingColumns},
}

func (p *Pages) twgStatisticsCSV(c *fiber.Ctx, pg page) error {
	name := c.Params("table")
	csvTable, ok := twgStatisticsCSVTables[name]
	if !ok {
		return p.notFound(c)
	}
	f := twgFilterOf(c)
	var errs formErrors
	period, _ := p.twgPeriod(f, &errs)
	if len(errs) > 0 {
		return p.twgCSVRefused(c, pg, errs)
	}
	v, err := twgCacheOf(p.Reports).get(c.UserContext(), twgKey("statistics", period, f.Region), func(ctx context.Context) (any, error) {
		return p.Reports.Statistics(ctx, reports.StatisticsQuery{Period: period, Region: f.Region})
	})
	if err != nil {
		if twgInputError(&errs, err) {
			return p.twgCSVRefused(c, pg, errs)
		}
		return p.errorPage(c, err)
	}
	st := v.(*reports.StatisticsReport)
	b := p.twgBuilder(pg.Lang, f, period)
	rt := tableOf(st.Tables, csvTable.id)
	if rt == nil {
		return p.notFound(c)
	}
	t := b.table(rt, "", "", csvTable.dim, csvTable.cols, func(r *reports.Row) string { return r.Key }, "")
	return twgSendCSV(c, fmt.Sprintf("nrm-statistics-%s-%s-%s.csv", name, st.Period.From, st.Period.To), t,
		fmt.Sprintf("NRM statistics, %s, %s to %s (%s)", name, st.Period.From, st.Period.To, st.Period.TimeZone),
		"filters: "+twgFiltersText(twgFilter{Region: f.Region}),
		twgThresholdText(st.Threshold))
}

// twgCSVRefused answers a CSV asked for with a bad filter: the dashboard
// with the errors, as the form would show them.
func (p *Pages) twgCSVRefused(c *fiber.Ctx, pg page, errs formErrors) error {
	data := &twgDashboardData{F: twgFilterOf(c), Errors: errs, MaxMonths: twgMaxMonths}
	if err := p.twgChoices(c, pg.Lang, data); err != nil {
		return p.errorPage(c, err)
	}
	pg.Title, pg.Data = "twg.title", data
	return p.render(c, http.StatusUnprocessableEntity, "twg", pg)
}

func twgFiltersText(f twgFilter) string {
	var parts []string
	for _, kv := range [][2]string{{"region", f.Region}, {"agency", f.Agency}, {"sop_version", f.SOPVersion}, {"obligation", f.Obligation}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func twgThresholdText(threshold int) string {
	return fmt.Sprintf("Counts from 1 to %d are withheld (\"suppressed\"), and more beside them so that none can be worked out; zero is always published. See docs/disclosure-control.md.",
		threshold-1)
}

// twgSendCSV writes a page table as a CSV attachment: # lines, a header of
// codes, the rows and the total; text that a spreadsheet would run as a
// formula gets a leading quote (as the API's CSV does).
func twgSendCSV(c *fiber.Ctx, name string, t *twgTable, comments ...string) error {
	var b strings.Builder
	for _, line := range comments {
		b.WriteString("# " + strings.NewReplacer("\r", " ", "\n", " ").Replace(line) + "\n")
	}
	header := []string{t.Header}
	for _, col := range t.Columns {
		header = append(header, col.Name)
	}
	rows := [][]string{header}
	add := func(r twgRow) {
		rec := []string{csvSafe(r.Key)}
		for _, cell := range r.Cells {
			rec = append(rec, cell.Value)
		}
		rows = append(rows, rec)
	}
	for _, r := range t.Rows {
		add(r)
	}
	if t.Total != nil {
		add(*t.Total)
	}
	for _, rec := range rows {
		for i, f := range rec {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(f, ",\"\r\n") {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			b.WriteString(f)
		}
		b.WriteString("\r\n")
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.SendString(b.String())
}

// csvSafe quotes text that a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
