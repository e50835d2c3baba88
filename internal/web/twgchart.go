package web

import (
	"strconv"
	"strings"
)

// The TWG's charts are SVG drawn by the server (templates/twg_parts.html,
// "twgchart"), not by a JavaScript library: the pages' CSP allows no
// inline style, which SVG-writing libraries use for their sizes and
// colours, while here every size is an attribute (x, y, width, height)
// and every colour a class of static/twg.css; the charts need no script,
// weigh a few kilobytes, and draw exactly the numbers of the table beside
// each — the one place screen readers read them from.
//
// Bars are horizontal (one row per month, service or obligation), so that
// labels stay readable at 360 px. A withheld ("suppressed") count is never
// drawn as zero or left out: when the bar's total is published, the
// withheld parts together fill the rest of it, hatched; when the total is
// withheld too, the hatching runs to the end of the axis, and the bar's
// value says "suppressed".

type twgChart struct {
	ID, Title, Desc string
	Width, Height   int
	Rows            []twgChartRow
	Legend          []twgLegend
	// Hatched: some bar is hatched (the legend explains the hatching).
	Hatched bool
}

type twgLegend struct {
	Class, Label string
}

type twgChartRow struct {
	Label, LabelY string
	Bars          []twgChartBar
}

type twgChartBar struct {
	// Name labels the bar left of it (bars of one row told apart).
	Title, Name        string
	Y, H               string
	Segs               []twgSeg
	Hatch              *twgSeg
	Text, TextX, TextY string
}

type twgSeg struct {
	X, W, Class string
	// Unknown: the whole bar is withheld, so the hatching runs to the end
	// of the axis (drawn lighter, with a dashed edge: an extent unknown,
	// not a large value).
	Unknown bool
}

// twgBarInput is one bar: stacked parts (with their classes) and the total.
type twgBarInput struct {
	// Name is the bar's series (in its tooltip); Short, when set, is
	// written left of the bar.
	Name, Short string
	Parts       []twgCell
	Classes     []string
	Names       []string
	Total       twgCell
}

type twgRowInput struct {
	Label string
	Bars  []twgBarInput
}

const (
	chartWidth  = 340
	chartValueW = 72
	chartBarH   = 12
	chartLabelW = 58 // labels left of the bars (months), or bar names
	// chartLabelMax is how many characters of a label above its bars the
	// chart shows (the table and the bar's tooltip have it whole).
	chartLabelMax = 52
)

func cellNumber(c twgCell) (float64, bool) {
	if c.Suppressed || c.None || c.Value == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(c.Value, 64)
	return v, err == nil
}

func svgNum(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// chart lays out rows of bars: labels left of the bars (labelW wide) or,
// with labelW 0, above them.
func (b *twgBuild) chart(id, title string, rows []twgRowInput, labelW int, legend []twgLegend) *twgChart {
	ch := &twgChart{ID: id, Title: title, Desc: b.t.T("twg.chart.desc"), Legend: legend, Width: chartWidth}
	maxV := 1.0
	for _, r := range rows {
		for _, bar := range r.Bars {
			v, ok := cellNumber(bar.Total)
			if !ok {
				v = 0
				for _, p := range bar.Parts {
					if x, ok := cellNumber(p); ok {
						v += x
					}
				}
			}
			maxV = max(maxV, v)
		}
	}
	// Named bars (a row of several) take the label column for their names,
	// their row's label going above them.
	above := labelW == 0
	for _, r := range rows {
		for _, bar := range r.Bars {
			if bar.Short != "" {
				above, labelW = true, chartLabelW
			}
		}
	}
	plotX := float64(labelW)
	plotW := float64(chartWidth - labelW - chartValueW)
	y := 4.0
	for _, r := range rows {
		row := twgChartRow{Label: r.Label}
		if rs := []rune(r.Label); len(rs) > chartLabelMax {
			row.Label = string(rs[:chartLabelMax-1]) + "…"
		}
		if above {
			row.LabelY = svgNum(y + 11)
			y += 15
		} else {
			row.LabelY = svgNum(y + 10)
		}
		for _, in := range r.Bars {
			bar := twgChartBar{Y: svgNum(y), H: svgNum(chartBarH), TextY: svgNum(y + 10), Name: in.Short}
			x, known, withheld := plotX, 0.0, false
			var tip []string
			for i, p := range in.Parts {
				tip = append(tip, in.Names[i]+": "+p.Text)
				v, ok := cellNumber(p)
				if !ok {
					withheld = withheld || p.Suppressed
					continue
				}
				known += v
				if w := v / maxV * plotW; w > 0 {
					bar.Segs = append(bar.Segs, twgSeg{X: svgNum(x), W: svgNum(w), Class: in.Classes[i]})
					x += w
				}
			}
			total, totalOK := cellNumber(in.Total)
			switch {
			case !totalOK && in.Total.Suppressed:
				// The whole is withheld: hatched to the end of the axis.
				bar.Hatch = &twgSeg{X: svgNum(x), W: svgNum(max(plotX+plotW-x, 2)), Unknown: true}
				x = plotX + plotW
			case withheld:
				w := max((total-known)/maxV*plotW, 2)
				bar.Hatch = &twgSeg{X: svgNum(x), W: svgNum(w)}
				x += w
			}
			if bar.Hatch != nil {
				ch.Hatched = true
			}
			bar.Text, bar.TextX = in.Total.Text, svgNum(x+4)
			title := r.Label
			if in.Name != "" {
				title += ", " + in.Name
			}
			title += ": " + in.Total.Text
			if len(in.Parts) > 1 {
				title += " (" + strings.Join(tip, "; ") + ")"
			}
			bar.Title = title
			row.Bars = append(row.Bars, bar)
			y += chartBarH + 2
		}
		ch.Rows = append(ch.Rows, row)
		y += 6
	}
	ch.Height = int(y) + 2
	return ch
}

// complianceLegend names the parts of a compliance bar.
func (b *twgBuild) complianceLegend() []twgLegend {
	return []twgLegend{{"twg-s1", b.t.T("twg.col.met_on_time")}, {"twg-s2", b.t.T("twg.col.met_late")},
		{"twg-s3", b.t.T("twg.col.breached_open")}, {"twg-s4", b.t.T("twg.col.pending")}}
}

var twgComplianceParts = []string{"met_on_time", "met_late", "breached_open", "pending"}

// parts picks cells of a table row by column name.
func parts(t *twgTable, r twgRow, cols []string) []twgCell {
	out := make([]twgCell, len(cols))
	for i, c := range cols {
		for j, col := range t.Columns {
			if col.Name == c {
				out[i] = r.Cells[j]
			}
		}
	}
	return out
}

func (b *twgBuild) names(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = b.t.T(twgColumnLabels[c])
	}
	return out
}

// complianceChart draws an obligation's table by month: due instances met
// on time, late, breached and pending, stacked.
func (b *twgBuild) complianceChart(t *twgTable, id string) *twgChart {
	var rows []twgRowInput
	for _, r := range t.Rows {
		rows = append(rows, twgRowInput{Label: r.Label, Bars: []twgBarInput{{
			Parts: parts(t, r, twgComplianceParts), Classes: []string{"twg-s1", "twg-s2", "twg-s3", "twg-s4"},
			Names: b.names(twgComplianceParts), Total: parts(t, r, []string{"due"})[0]}}})
	}
	return b.chart(id, t.Caption, rows, chartLabelW, b.complianceLegend())
}

// caseCharts draws the cases by month, one small chart per measure.
func (b *twgBuild) caseCharts(t *twgTable) []*twgChart {
	var out []*twgChart
	for _, col := range twgCaseColumns {
		var rows []twgRowInput
		for _, r := range t.Rows {
			c := parts(t, r, []string{col})
			rows = append(rows, twgRowInput{Label: r.Label, Bars: []twgBarInput{{Parts: c, Classes: []string{"twg-s5"},
				Names: b.names([]string{col}), Total: c[0]}}})
		}
		out = append(out, b.chart("twg-chart-cases-"+col, b.t.T(twgColumnLabels[col]), rows, chartLabelW, nil))
	}
	return out
}

// referralChart draws the referrals sent and accepted by service.
func (b *twgBuild) referralChart(t *twgTable) *twgChart {
	var rows []twgRowInput
	for _, r := range t.Rows {
		sent, acc := parts(t, r, []string{"sent"}), parts(t, r, []string{"accepted"})
		rows = append(rows, twgRowInput{Label: r.Label, Bars: []twgBarInput{
			{Name: b.t.T("twg.col.sent"), Parts: sent, Classes: []string{"twg-s5"}, Names: b.names([]string{"sent"}), Total: sent[0]},
			{Name: b.t.T("twg.col.accepted"), Parts: acc, Classes: []string{"twg-s1"}, Names: b.names([]string{"accepted"}), Total: acc[0]},
		}})
	}
	return b.chart("twg-chart-referrals", t.Caption, rows, 0,
		[]twgLegend{{"twg-s5", b.t.T("twg.col.sent")}, {"twg-s1", b.t.T("twg.col.accepted")}})
}
