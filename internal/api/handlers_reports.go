package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/reports"
)

// The TWG's reports (docs/architecture.md#read-model-and-reports,
// docs/disclosure-control.md): anonymised, small cells withheld,
// the export k-anonymous. Every route is for the TWG role only; none reads
// identity data, so none is audited as an identity read.
//
// Query parameters: from, to (YYYY-MM-DD or YYYY-MM, widened to whole
// months in the SOP's time zone; default the last twelve months), region,
// and format=csv for CSV (default JSON). The compliance report also takes
// agency (an agency ID), sop_version and obligation; the simulation
// sop_version (required: the candidate version).

// reportFormat reads ?format=; only json and csv exist.
func reportFormat(c *fiber.Ctx) (string, error) {
	switch f := strings.ToLower(c.Query("format")); f {
	case "", "json":
		return "json", nil
	case "csv":
		return "csv", nil
	}
	return "", &cases.ValidationError{Errors: []cases.FieldError{{Field: "format", Rule: "oneof", Message: "must be one of: json csv"}}}
}

// reportError turns a report's input error into a 422.
func reportError(err error) error {
	var ie *reports.InputError
	if errors.As(err, &ie) {
		return &cases.ValidationError{Errors: []cases.FieldError{{Field: ie.Field, Rule: ie.Rule, Message: ie.Message}}}
	}
	return err
}

// reportService returns Deps.Reports; a server built without it (tests of
// other parts) answers 503 rather than failing on a nil pointer.
func (s *Server) reportService() (*reports.Service, error) {
	rs := s.deps.Reports
	if rs == nil || rs.Store == nil || rs.SOPs == nil {
		return nil, newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "reports are not configured on this server")
	}
	return rs, nil
}

// reportPeriod reads from and to.
func reportPeriod(c *fiber.Ctx, rs *reports.Service) (reports.Period, error) {
	p, err := rs.Period(c.Query("from"), c.Query("to"))
	return p, reportError(err)
}

// sendCSV answers a report as a CSV attachment.
func sendCSV(c *fiber.Ctx, name string, p reports.PeriodJSON, write func(*bytes.Buffer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="nrm-%s-%s-%s.csv"`, name, p.From, p.To))
	return c.Send(buf.Bytes())
}

// csvReport is what every report can write as CSV.
type csvReport interface{ WriteCSV(io.Writer) error }

// report answers one report route: it checks the service, the format and
// the period, then builds the report with build and answers JSON or CSV
// (named name in the file name).
func (s *Server) report(c *fiber.Ctx, name string,
	build func(rs *reports.Service, p reports.Period) (csvReport, reports.PeriodJSON, error)) error {
	rs, err := s.reportService()
	if err != nil {
		return err
	}
	format, err := reportFormat(c)
	if err != nil {
		return err
	}
	period, err := reportPeriod(c, rs)
	if err != nil {
		return err
	}
	rep, p, err := build(rs, period)
	if err != nil {
		return reportError(err)
	}
	if format == "csv" {
		return sendCSV(c, name, p, func(b *bytes.Buffer) error { return rep.WriteCSV(b) })
	}
	return c.JSON(rep)
}

// complianceReport answers GET /api/v1/reports/compliance.
func (s *Server) complianceReport(c *fiber.Ctx) error {
	return s.report(c, "compliance", func(rs *reports.Service, p reports.Period) (csvReport, reports.PeriodJSON, error) {
		rep, err := rs.Compliance(c.UserContext(), reports.ComplianceQuery{Period: p, Region: c.Query("region"),
			Agency: c.Query("agency"), SOPVersion: c.Query("sop_version"), Obligation: c.Query("obligation")})
		if err != nil {
			return nil, reports.PeriodJSON{}, err
		}
		return rep, rep.Period, nil
	})
}

// statisticsReport answers GET /api/v1/reports/statistics.
func (s *Server) statisticsReport(c *fiber.Ctx) error {
	return s.report(c, "statistics", func(rs *reports.Service, p reports.Period) (csvReport, reports.PeriodJSON, error) {
		rep, err := rs.Statistics(c.UserContext(), reports.StatisticsQuery{Period: p, Region: c.Query("region")})
		if err != nil {
			return nil, reports.PeriodJSON{}, err
		}
		return rep, rep.Period, nil
	})
}

// simulateReport answers GET /api/v1/reports/simulate?sop_version=: the
// recorded history against the deadlines of another loaded SOP version.
func (s *Server) simulateReport(c *fiber.Ctx) error {
	version := c.Query("sop_version")
	return s.report(c, "simulation-"+version, func(rs *reports.Service, p reports.Period) (csvReport, reports.PeriodJSON, error) {
		candidate, ok := rs.SOPs.Get(version)
		if version == "" || !ok {
			var known []string
			for _, v := range rs.SOPs.All() {
				known = append(known, v.Version)
			}
			return nil, reports.PeriodJSON{}, &reports.InputError{Field: "sop_version", Rule: "sop_version",
				Message: "must be a loaded SOP version: " + strings.Join(known, ", ")}
		}
		sim, err := rs.Simulate(c.UserContext(), candidate, reports.SimulateQuery{Period: p, Region: c.Query("region")})
		if err != nil {
			return nil, reports.PeriodJSON{}, err
		}
		return sim, sim.Period, nil
	})
}

// htcdsExport answers GET /api/v1/exports/htcds: the anonymised,
// k-anonymous export of the cases opened in the period, shaped by HTCDS 2.0,
// with the licence's attribution (the Link header of the export only, not of
// an error answer).
func (s *Server) htcdsExport(c *fiber.Ctx) error {
	return s.report(c, "htcds", func(rs *reports.Service, p reports.Period) (csvReport, reports.PeriodJSON, error) {
		x, err := rs.HTCDS(c.UserContext(), reports.ExportQuery{Period: p, Region: c.Query("region")})
		if err != nil {
			return nil, reports.PeriodJSON{}, err
		}
		c.Set(fiber.HeaderLink, `<https://creativecommons.org/licenses/by/4.0/>; rel="license"`)
		return x, x.Period, nil
	})
}
