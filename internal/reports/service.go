// Package reports builds the Technical Working Group's view of the
// national referral mechanism (docs/architecture.md#read-model-and-reports): the SOP compliance report,
// the anonymised statistics, the HTCDS-shaped export and the SOP what-if
// simulation. Every output is anonymised: it reads the read model only
// (never the persons table), counts are protected by statistical disclosure
// control, and the export is k-anonymous.
//
// # Disclosure control
//
// docs/disclosure-control.md is the design; in short:
//
//   - Counts from 1 to threshold-1 (NRM_SUPPRESSION_THRESHOLD, default 5)
//     are withheld (null in JSON, empty in CSV); zero is always published,
//     so an attacker knows a withheld count is at least 1, and the
//     protection assumes it.
//   - More counts are withheld beside them until no withheld count can be
//     narrowed to fewer than max(2, threshold-1) values by bound
//     propagation over every relation the answer declares (column totals,
//     row totals, nested tables) and every relation between answers to
//     differently filtered requests. Every withheld count gives the same
//     reason: which ones are small is not said.
//   - Totals are published exactly, withheld only as a last complement,
//     never rounded.
//   - Filters: the answer to a filtered request is one slice of a cube
//     protected as a whole — the unfiltered answer and the answer for each
//     value of each filter — so that subtracting one answer from another
//     gives nothing away. The statistics and the simulation take a region;
//     the compliance report one of region, agency and SOP version (two at
//     once are refused), and an obligation.
//   - Shares and times are withheld with any withheld count of their row;
//     times also when fewer than threshold instances underlie them.
//   - The export's case count is stated only where the statistics publish
//     it.
//   - Audit attacks every answer before it leaves and refuses to answer
//     when it can narrow a withheld count too far.
//   - CSV cells of text from data that a spreadsheet would run as a formula
//     (=, +, -, @, tab, carriage return first) get a leading quote; numbers
//     are written as they are.
//
// # Compliance definitions
//
// An obligation instance is a row of the obligations table (one deadline of
// one case, or one provider's answer to a referral).
//
//   - Period: an instance belongs to the period in which it fell due (its
//     due_at), not the one in which it started. Compliance is about
//     deadlines: "of the deadlines that fell in March, how many were kept"
//     is settled once March is over (apart from late meetings), whereas by
//     start time a 90-day deadline started on 31 March would keep March's
//     report open until July. Periods are whole months in the SOP's time
//     zone.
//   - Excluded: protected periods (kind protected: running, ended) and
//     cancelled instances (the case closed or the referral was withdrawn
//     before the due time), which no one could keep or miss.
//   - due: the instances of the period; due = met_on_time + met_late +
//     breached_open + pending.
//   - met_on_time: met, and met_at <= due_at.
//   - met_late: met after due_at. The workflow records a missed deadline as
//     breached and never meets it afterwards (only pending instances are
//     met), so a late meeting is derived from case_events: a breached
//     instance of a case is met late by the first event after its start
//     that its SOP version lists in met_by. A provider's answer to a
//     referral is never met late: the referral workflow expires the attempt
//     at its due time and sends the referral on, and the next provider's
//     answer belongs to the next attempt. A pending instance met after its
//     due time (the event came before the breach timer fired) also counts
//     here.
//   - breached_open: due_at has passed (at the report's as_of time) and no
//     meeting event exists yet; this includes a pending row whose breach
//     the workflow has not recorded yet.
//   - pending: not met and not due yet at as_of.
//   - share_on_time = met_on_time / (met_on_time + met_late + breached_open):
//     the share of the decided instances that were kept.
//   - median_hours, p90_hours: the median and 90th percentile (continuous,
//     as PostgreSQL's percentile_cont) of the time to meet, met_at (or the
//     late meeting event) minus starts_at, over met_on_time and met_late.
//
// By dimension: agency is the agency that owns the instance (the owner
// agency the workflow resolved for the obligation's owner role; for a
// referral, the provider of that attempt), agency_type its type, region the
// case's region (where the person was met), sop_version the version the
// case was opened under.
package reports

import (
	"context"
	"errors"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// Defaults of the disclosure control.
const (
	DefaultThreshold = 5  // cells under it are suppressed
	DefaultK         = 11 // the HTCDS export is k-anonymous for it, as CTDC publishes
	// DefaultMaxSuppressed is the share of export records the k-anonymity
	// may suppress before a coarser generalisation is preferred.
	DefaultMaxSuppressed = 0.05
)

// Service builds the reports.
type Service struct {
	Store *store.Store
	SOPs  *sop.Set
	// Threshold: counts from 1 to Threshold-1 are suppressed (default 5;
	// NRM_SUPPRESSION_THRESHOLD).
	Threshold int
	// K: every combination of the export's quasi-identifiers occurs at
	// least K times (default 11).
	K int
	// MaxSuppressed bounds the share of export records suppressed at a
	// generalisation level before the next, coarser one is tried.
	MaxSuppressed float64
	// Country is the ISO 3166-1 alpha-2 code of the mechanism's country,
	// to which the export generalises regions (default TM).
	Country string
	// RegionCodes maps the NRM's region codes to ISO 3166-2 subdivision
	// codes for the export (default: Turkmenistan's velayats).
	RegionCodes map[string]string
	Now         func() time.Time
}

func (s *Service) threshold() int {
	if s.Threshold <= 0 {
		return DefaultThreshold
	}
	return s.Threshold
}

func (s *Service) k() int {
	if s.K <= 0 {
		return DefaultK
	}
	return s.K
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// active returns the SOP version in effect now, whose calendar gives the
// reports their time zone.
func (s *Service) active() (*sop.SOP, error) {
	if s.SOPs == nil {
		return nil, errors.New("reports: no SOP versions loaded")
	}
	now := s.now()
	if a, err := s.SOPs.Active(now); err == nil {
		return a, nil
	}
	all := s.SOPs.All()
	if len(all) == 0 {
		return nil, errors.New("reports: no SOP versions loaded")
	}
	return all[0], nil
}

func (s *Service) location() *time.Location {
	a, err := s.active()
	if err != nil || a.Calendar.Location == nil {
		return time.UTC
	}
	return a.Calendar.Location
}

// Period parses a report's from and to in the SOP's time zone.
func (s *Service) Period(from, to string) (Period, error) {
	return ParsePeriod(from, to, s.location(), s.now())
}

// Explain returns the EXPLAIN ANALYZE plans of the compliance and statistics
// queries over a period, as the reports run them (for benchmarks and
// operators checking which indexes are used).
func (s *Service) Explain(ctx context.Context, p Period) (map[string]string, error) {
	cf := store.ComplianceFilter{From: p.From, To: p.To, AsOf: s.now()}
	cf.MetBy, cf.KnownVersions = s.metBy()
	cf.Versions = cf.KnownVersions
	for id := range s.obligationOrder() {
		cf.Obligations = append(cf.Obligations, id)
	}
	sf := store.StatisticsFilter{From: p.From, To: p.To, TimeZone: p.From.Location().String()}
	return s.Store.ExplainReports(ctx, cf, sf)
}
