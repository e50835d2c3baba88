package store

// The SQL of the TWG's reports (package reports) and of the synthetic data
// generator (package synthetic). The reports read the read model only —
// cases, obligations, case_events, referrals, referral_attempts and
// agencies — and never the persons table: no report can carry identity.
// Migration 0009 holds the indexes these queries use.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// MetByEvent says that Event meets Obligation in SOP version SOPVersion.
// The compliance query uses it to find the event that met a breached
// obligation late. SOPVersion "*" applies to versions not listed otherwise.
type MetByEvent struct {
	SOPVersion, Obligation, Event string
}

// ComplianceFilter selects obligation instances by due time.
type ComplianceFilter struct {
	From, To time.Time // due_at in [From, To)
	Region   string
	AgencyID *uuid.UUID
	// SOPVersion and Obligation narrow the report; "" means all.
	SOPVersion, Obligation string
	MetBy                  []MetByEvent
	// KnownVersions are the versions MetBy lists; others use "*".
	KnownVersions []string
	// AsOf: instances not met and due after it are pending.
	AsOf time.Time
	// Obligations and Versions are the expected IDs, without duplicates:
	// rows carry their positions (smaller than the text).
	Obligations, Versions []string
}

// ReportInstanceSet holds the dictionaries of the obligation instances of a
// compliance report: each instance's strings are indexes into them.
type ReportInstanceSet struct {
	Obligations, Versions, Regions []string
	// Agencies are agency IDs; "" when no agency owns the instance.
	Agencies []string
}

// ReportInstance is one obligation instance: its outcome (1 met on time,
// 2 met late, 3 breached and still open, 4 pending) and, when met, the
// hours from its start to its meeting.
type ReportInstance struct {
	Obligation, Version, Region, Agency uint16
	Outcome                             uint8
	Met                                 bool
	Hours                               float64
}

// The instances due in the period, classified (Outcome: 1 met on time,
// 2 met late, 3 breached and still open — or overdue —, 4 pending; see
// package reports for the definitions) with the hours to meet. Obligation
// and version IDs travel as positions in the lists the caller passes (the
// SOP's), or as text when not in them: a third less to send and decode.
//
// A breached instance of a case is met late by the first event after its
// start that its SOP version lists in met_by: one index-only probe of
// case_events_case_at_idx per breached instance, in a scalar subquery that
// PostgreSQL evaluates only for those rows, once (the subquery x is fenced
// by OFFSET 0, so met_at is not recomputed where it is used). A provider's
// answer to a referral is never met late: the referral workflow expires the
// attempt at its due time and sends the referral to the next provider,
// whose answer belongs to its own attempt.
//
// The reports read one month at a time (package reports keeps the months
// that are over), so the case's region is joined: a month's instances are
// a small share of the cases.
const qComplianceInstances = `
	WITH met_by AS MATERIALIZED (
		SELECT m.sop_version, m.obligation, array_agg(m.event) AS events
		FROM unnest($1::text[], $2::text[], $3::text[]) AS m(sop_version, obligation, event)
		GROUP BY 1, 2
	)
	SELECT x.oc, CASE WHEN x.oc IS NULL THEN x.obligation END, x.vc, CASE WHEN x.vc IS NULL THEN x.sop_version END,
		x.case_id, x.owner_agency_id,
		CASE WHEN x.met_at IS NULL THEN CASE WHEN x.due_at <= $10 THEN 3 ELSE 4 END
		     WHEN x.met_at <= x.due_at THEN 1 ELSE 2 END,
		(EXTRACT(EPOCH FROM (x.met_at - x.starts_at)) / 3600)::float8, c.region
	FROM (
		SELECT array_position($11::text[], o.obligation) AS oc, o.obligation,
			array_position($12::text[], o.sop_version) AS vc, o.sop_version,
			o.case_id, o.owner_agency_id, o.starts_at, o.due_at,
			CASE WHEN o.status = 'met' THEN o.met_at
			     WHEN o.status = 'breached' AND o.id NOT LIKE 'referral-%' THEN (
				SELECT e.at FROM case_events e
				WHERE e.case_id = o.case_id AND e.at >= o.starts_at AND e.type = ANY (mb.events)
				ORDER BY e.at LIMIT 1)
			END AS met_at
		FROM obligations o
		LEFT JOIN met_by mb ON mb.obligation = o.obligation
			AND mb.sop_version = CASE WHEN o.sop_version = ANY ($4::text[]) THEN o.sop_version ELSE '*' END
		WHERE o.kind = 'deadline' AND o.status IN ('pending', 'met', 'breached')
		  AND o.due_at >= $5 AND o.due_at < $6
		  AND ($7::uuid IS NULL OR o.owner_agency_id = $7::uuid)
		  AND ($8 = '' OR o.sop_version = $8)
		  AND ($9 = '' OR o.obligation = $9)
		OFFSET 0
	) x
	JOIN cases c ON c.id = x.case_id`

func (f ComplianceFilter) args() []any {
	var vs, os, es []string
	for _, m := range f.MetBy {
		vs, os, es = append(vs, m.SOPVersion), append(os, m.Obligation), append(es, m.Event)
	}
	known := f.KnownVersions
	if known == nil {
		known = []string{}
	}
	return []any{Strings(vs), Strings(os), Strings(es), Strings(known), f.From, f.To, f.AgencyID,
		f.SOPVersion, f.Obligation, f.AsOf, Strings(nonNil(f.Obligations)), Strings(nonNil(f.Versions))}
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

var sqlTxOptionsReadOnly = sql.TxOptions{ReadOnly: true}

// Report transactions sort and hash in memory, and do not start parallel
// workers: on the small machines NRM runs on, starting them costs more
// than they save on these queries.
const (
	qReportWorkMem  = `SET LOCAL work_mem = '64MB'`
	qReportParallel = `SET LOCAL max_parallel_workers_per_gather = 0`
)

// inReportTx runs a report query in a read-only transaction with enough
// work memory for its sorts.
func (s *Store) inReportTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, &sqlTxOptionsReadOnly)
	if err != nil {
		return fmt.Errorf("begin report: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{qReportWorkMem, qReportParallel} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("report settings: %w", err)
		}
	}
	return fn(tx)
}

// rawQuerier runs a report query (rawRows) in a transaction.
type rawQuerier func(q string, args []any, oids []uint32, fn func([][]byte) error) error

// complianceInstances hands the obligation instances due in [f.From, f.To)
// to fn, with the dictionaries their codes index (growing as new values
// arrive), read by query.
func complianceInstances(f ComplianceFilter, query rawQuerier, fn func(*ReportInstanceSet, ReportInstance)) error {
	// The dictionaries start with the expected IDs, in order, so that a
	// position is a code (the lists hold no duplicates: ComplianceFilter).
	out := &ReportInstanceSet{}
	obl, ver, reg := newInterner(&out.Obligations), newInterner(&out.Versions), newInterner(&out.Regions)
	for _, o := range f.Obligations {
		obl.code([]byte(o))
	}
	for _, v := range f.Versions {
		ver.code([]byte(v))
	}
	oids := []uint32{pgtype.Int4OID, pgtype.TextOID, pgtype.Int4OID, pgtype.TextOID, pgtype.UUIDOID, pgtype.UUIDOID,
		pgtype.Int4OID, pgtype.Float8OID, pgtype.TextOID}
	agencies := map[[16]byte]uint16{}
	agency := func(b []byte) uint16 {
		var id [16]byte
		copy(id[:], b) // NULL: the zero ID, listed as ""
		c, ok := agencies[id]
		if !ok {
			c = uint16(len(out.Agencies))
			agencies[id] = c
			if b == nil {
				out.Agencies = append(out.Agencies, "")
			} else {
				out.Agencies = append(out.Agencies, uuid.UUID(id).String())
			}
		}
		return c
	}
	code := func(pos, text []byte, in *interner) uint16 {
		if pos != nil {
			return uint16(rawInt4(pos) - 1) // positions count from 1, and the dictionary starts with the list
		}
		return in.code(text)
	}
	return query(qComplianceInstances, f.args(), oids, func(v [][]byte) error {
		r := ReportInstance{Obligation: code(v[0], v[1], obl), Version: code(v[2], v[3], ver), Region: reg.code(v[8]),
			Agency: agency(v[5]), Outcome: uint8(rawInt4(v[6]))}
		if v[7] != nil {
			r.Met, r.Hours = true, rawFloat8(v[7])
		}
		fn(out, r)
		return nil
	})
}

// rawQuery runs a report query in a read-only transaction of the pool's
// pgx connection, with results in binary format, and hands each row's raw
// values to fn (valid until fn returns). The reports read hundreds of
// thousands of small rows: decoding them by hand is several times faster
// than database/sql.
//
// oids are the types the caller decodes, column by column; a query whose
// result differs is an error rather than misread numbers.
func (s *Store) rawQuery(ctx context.Context, q string, args []any, oids []uint32, fn func([][]byte) error) error {
	return s.rawTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return rawRows(ctx, tx, q, args, oids, fn)
	})
}

// rawTx runs fn in a transaction of the pool's pgx connection with the
// reports' settings, and commits it when fn succeeds.
func (s *Store) rawTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx", dc)
		}
		tx, err := sc.Conn().BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		for _, q := range []string{qReportWorkMem, qReportParallel} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// rawRows runs q in tx with results in binary format and hands each row's
// raw values to fn, after checking the columns' types against oids.
func rawRows(ctx context.Context, tx pgx.Tx, q string, args []any, oids []uint32, fn func([][]byte) error) error {
	rows, err := tx.Query(ctx, q, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	if len(fields) != len(oids) {
		return fmt.Errorf("report query returns %d columns, want %d", len(fields), len(oids))
	}
	for i, f := range fields {
		if f.DataTypeOID != oids[i] || f.Format != pgx.BinaryFormatCode {
			return fmt.Errorf("report query column %s has type %d (format %d), want %d in binary", f.Name, f.DataTypeOID, f.Format, oids[i])
		}
	}
	for rows.Next() {
		if err := fn(rows.RawValues()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// interner maps the raw bytes of a text value to a dense code.
type interner struct {
	codes map[string]uint16
	dict  *[]string
}

func newInterner(dict *[]string) *interner { return &interner{codes: map[string]uint16{}, dict: dict} }

func (in *interner) code(b []byte) uint16 {
	if c, ok := in.codes[string(b)]; ok {
		return c
	}
	if len(*in.dict) >= math.MaxUint16 {
		// Dictionaries hold codes (regions, services, …), never this many;
		// should one overflow, the rest share one last entry.
		b = []byte("(other)")
		if c, ok := in.codes[string(b)]; ok {
			return c
		}
	}
	c := uint16(len(*in.dict))
	v := string(b)
	in.codes[v] = c
	*in.dict = append(*in.dict, v)
	return c
}

// Binary PostgreSQL values.
func rawInt4(b []byte) int32     { return int32(binary.BigEndian.Uint32(b)) }
func rawFloat8(b []byte) float64 { return math.Float64frombits(binary.BigEndian.Uint64(b)) }
func rawBool(b []byte) bool      { return len(b) == 1 && b[0] != 0 }

// pgEpoch is the zero of PostgreSQL's binary timestamps, in microseconds
// since 1970.
const pgEpoch = 946_684_800_000_000

// rawMicros decodes a binary timestamptz as microseconds since 1970 (UTC);
// NULL is 0.
func rawMicros(b []byte) int64 {
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b)) + pgEpoch
}

// StatisticsFilter selects what the statistics count.
type StatisticsFilter struct {
	From, To time.Time
	TimeZone string // months are counted in it
	Region   string
}

// ReportCaseSet holds what the case statistics count, in compact form: the cases
// a measure of the period can count (opened before its end and not closed
// before its start), with their codes as indexes into the dictionaries, and
// the positive identification decisions taken in the period.
type ReportCaseSet struct {
	Regions, Sexes, AgeBands, Citizenships, ClosureReasons []string
	// Exploitations are the distinct lists of types of exploitation.
	Exploitations [][]string
	Cases         []ReportCase
	Identified    []ReportIdentified
	// ByCountry is the same cases, read in the same pass, with each case's
	// countries of exploitation in place of its types of exploitation: its
	// Exploitations list the distinct lists of countries. Sex, age band,
	// citizenship and closure reason are not kept there: each dictionary
	// holds one empty value, which every case has. Nil in ByCountry itself.
	ByCountry *ReportCaseSet
}

// ReportCase is one case; times are microseconds since 1970 (UTC), and
// ClosedAt is 0 while the case is open.
type ReportCase struct {
	OpenedAt, ClosedAt                                             int64
	Presumed                                                       bool // screening found a presumed victim
	Concern                                                        bool // not indicated, forwarded on an officer's concern
	Region, Sex, AgeBand, Citizenship, ClosureReason, Exploitation uint16
}

// ReportIdentified is a positive preliminary or conclusive decision; Case is
// the index of its case in Cases.
type ReportIdentified struct {
	Case       int
	Conclusive bool
	At         int64 // microseconds since 1970 (UTC)
}

// The cases come from an index-only scan of cases_report_idx; a case closed
// before the period can count for nothing in it.
const qStatisticsCases = `
	SELECT ` + statisticsCaseColumns + ` FROM cases
	WHERE opened_at < $2 AND (closed_at IS NULL OR closed_at >= $1) AND ($3 = '' OR region = $3)`

// statisticsCaseColumns are what the statistics read of a case (caseSetReader).
const statisticsCaseColumns = `id, opened_at, closed_at,
		screening_outcome = 'presumed_victim',
		officer_concern AND screening_outcome = 'not_indicated',
		region, sex, age_band, citizenship, COALESCE(closure_reason, 'unknown'), exploitation, exploitation_countries`

// Positive decisions taken in the period: an index-only scan of case_events_identified_idx.
const qStatisticsIdentified = `
	SELECT case_id, type = 'conclusive_positive', at FROM case_events
	WHERE type IN ('preliminary_positive', 'conclusive_positive') AND at >= $1 AND at < $2`

// StatisticsCases returns what the case statistics of a period count; the
// caller counts (package reports does it in one pass, far cheaper than
// PostgreSQL's grouping sets over one row per counted event).
func (s *Store) StatisticsCases(ctx context.Context, f StatisticsFilter) (*ReportCaseSet, error) {
	r := newCaseSetReader()
	err := s.rawQuery(ctx, qStatisticsCases, []any{f.From, f.To, f.Region}, caseSetOIDs, r.row)
	if err != nil {
		return nil, fmt.Errorf("case statistics: %w", err)
	}
	var identified []identifiedRow
	oids := []uint32{pgtype.UUIDOID, pgtype.BoolOID, pgtype.TimestamptzOID}
	err = s.rawQuery(ctx, qStatisticsIdentified, []any{f.From, f.To}, oids, func(v [][]byte) error {
		identified = append(identified, identifiedRow{id: [16]byte(v[0]), conclusive: rawBool(v[1]), at: rawMicros(v[2])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("identification statistics: %w", err)
	}
	return r.finish(identified)
}

// identifiedRow is a positive decision as read, before its case is found.
type identifiedRow struct {
	id         [16]byte
	conclusive bool
	at         int64
}

// caseSetOIDs are the types of qStatisticsCases' and
// qStatisticsMonthCases' columns.
var caseSetOIDs = []uint32{pgtype.UUIDOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.BoolOID, pgtype.BoolOID,
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextArrayOID, pgtype.TextArrayOID}

// caseSetReader builds a ReportCaseSet from the rows of a case query.
type caseSetReader struct {
	out                         *ReportCaseSet
	reg, sex, band, cit, reason *interner
	rawExpl, rawCountries       []string
	expl, countries             *interner
	byCountry                   []ReportCase
	index                       map[[16]byte]int
}

func newCaseSetReader() *caseSetReader {
	r := &caseSetReader{out: &ReportCaseSet{}, index: map[[16]byte]int{}}
	r.reg, r.sex, r.band = newInterner(&r.out.Regions), newInterner(&r.out.Sexes), newInterner(&r.out.AgeBands)
	r.cit, r.reason = newInterner(&r.out.Citizenships), newInterner(&r.out.ClosureReasons)
	r.expl, r.countries = newInterner(&r.rawExpl), newInterner(&r.rawCountries)
	return r
}

func (r *caseSetReader) row(v [][]byte) error {
	r.index[[16]byte(v[0])] = len(r.out.Cases)
	c := ReportCase{OpenedAt: rawMicros(v[1]), ClosedAt: rawMicros(v[2]), Presumed: rawBool(v[3]),
		Concern: rawBool(v[4]), Region: r.reg.code(v[5])}
	r.byCountry = append(r.byCountry, ReportCase{OpenedAt: c.OpenedAt, ClosedAt: c.ClosedAt, Presumed: c.Presumed,
		Concern: c.Concern, Region: c.Region, Exploitation: r.countries.code(v[11])})
	c.Sex, c.AgeBand, c.Citizenship, c.ClosureReason = r.sex.code(v[6]), r.band.code(v[7]), r.cit.code(v[8]), r.reason.code(v[9])
	c.Exploitation = r.expl.code(v[10])
	r.out.Cases = append(r.out.Cases, c)
	return nil
}

// finish decodes the lists and joins the decisions to their cases; a
// decision of a case not read (another region) is left out.
func (r *caseSetReader) finish(identified []identifiedRow) (*ReportCaseSet, error) {
	out := r.out
	var err error
	if out.Exploitations, err = textArrays(r.rawExpl); err != nil {
		return nil, fmt.Errorf("case statistics: exploitation: %w", err)
	}
	out.ByCountry = &ReportCaseSet{Regions: out.Regions, Sexes: []string{""}, AgeBands: []string{""}, Citizenships: []string{""},
		ClosureReasons: []string{""}, Cases: r.byCountry}
	if out.ByCountry.Exploitations, err = textArrays(r.rawCountries); err != nil {
		return nil, fmt.Errorf("case statistics: countries: %w", err)
	}
	for _, d := range identified {
		if i, ok := r.index[d.id]; ok {
			out.Identified = append(out.Identified, ReportIdentified{Case: i, Conclusive: d.conclusive, At: d.at})
		}
	}
	out.ByCountry.Identified = out.Identified
	return out, nil
}

// textArrays decodes binary text[] values.
func textArrays(raw []string) ([][]string, error) {
	var out [][]string
	for _, r := range raw {
		var list []string
		if err := pgTypes.Scan(pgtype.TextArrayOID, pgtype.BinaryFormatCode, []byte(r), &list); err != nil {
			return nil, err
		}
		out = append(out, list)
	}
	return out, nil
}

// ReportReferralSet holds what the referral statistics of a month count,
// in compact form: the referrals with an attempt sent in it or created in
// it without a provider, and all their attempts. The caller picks the
// referrals first sent in the month (their first attempt's time, or their
// creation when no provider was ever found) and the attempts sent in it;
// joining them here in Go costs less than PostgreSQL's hash joins.
type ReportReferralSet struct {
	Services, Statuses, Answers []string
	// Regions are the referrals' regions (their cases').
	Regions []string
	// Agencies are agency IDs.
	Agencies  []string
	Referrals []ReportReferral
	Attempts  []ReportAttempt
}

// ReportReferral is a referral: its service and status codes, whether a
// provider accepted it, how often it was sent on, how many attempts it had
// and when it was (last) sent, in microseconds since 1970.
type ReportReferral struct {
	Service, Status uint16
	Region          uint16
	Accepted        bool
	Redirections    int32
	Attempts        int32
	SentAt          int64
}

// ReportAttempt is one attempt of one of those referrals (Referral indexes
// Referrals): its number, provider, answer code ("" not answered yet),
// when it was sent and, for accepts and declines (Answered), how long the
// provider took.
type ReportAttempt struct {
	Referral int32
	Attempt  int32
	Agency   uint16
	Answer   uint16
	Answered bool
	SentAt   int64
	Hours    float64
}

// The types of the referral and attempt queries' columns.
var (
	referralOIDs = []uint32{pgtype.UUIDOID, pgtype.TextOID, pgtype.TextOID, pgtype.BoolOID, pgtype.Int4OID, pgtype.Int4OID,
		pgtype.TimestamptzOID, pgtype.TextOID}
	attemptOIDs = []uint32{pgtype.UUIDOID, pgtype.Int4OID, pgtype.UUIDOID, pgtype.TextOID, pgtype.BoolOID, pgtype.TimestamptzOID,
		pgtype.Float8OID}
)

// referralSetReader builds a ReportReferralSet from the rows of a referral
// query and then of an attempt query.
type referralSetReader struct {
	out                         *ReportReferralSet
	svc, status, answer, region *interner
	index                       map[[16]byte]int32
	agencies                    map[[16]byte]uint16
}

func newReferralSetReader() *referralSetReader {
	r := &referralSetReader{out: &ReportReferralSet{}, index: map[[16]byte]int32{}, agencies: map[[16]byte]uint16{}}
	r.svc, r.status, r.answer = newInterner(&r.out.Services), newInterner(&r.out.Statuses), newInterner(&r.out.Answers)
	r.region = newInterner(&r.out.Regions)
	return r
}

func (r *referralSetReader) referral(v [][]byte) error {
	r.index[[16]byte(v[0])] = int32(len(r.out.Referrals))
	r.out.Referrals = append(r.out.Referrals, ReportReferral{Service: r.svc.code(v[1]), Status: r.status.code(v[2]),
		Region: r.region.code(v[7]), Accepted: rawBool(v[3]), Redirections: rawInt4(v[4]), Attempts: rawInt4(v[5]),
		SentAt: rawMicros(v[6])})
	return nil
}

func (r *referralSetReader) attempt(v [][]byte) error {
	ref, ok := r.index[[16]byte(v[0])]
	if !ok {
		return nil // a referral of another region
	}
	id := [16]byte(v[2])
	a, ok := r.agencies[id]
	if !ok {
		a = uint16(len(r.out.Agencies))
		r.agencies[id] = a
		r.out.Agencies = append(r.out.Agencies, uuid.UUID(id).String())
	}
	r.out.Attempts = append(r.out.Attempts, ReportAttempt{Referral: ref, Attempt: rawInt4(v[1]), Agency: a,
		Answer: r.answer.code(v[3]), Answered: rawBool(v[4]), SentAt: rawMicros(v[5]), Hours: rawFloat8(v[6])})
	return nil
}

// ReportExportRow is the anonymised record of one case for the HTCDS export: codes
// and a time only, never a person's identity.
type ReportExportRow struct {
	OpenedAt            time.Time `db:"opened_at"`
	Region              string    `db:"region"`
	Sex                 string    `db:"sex"`
	AgeBand             string    `db:"age_band"`
	Citizenship         string    `db:"citizenship"`
	Exploitation        Strings   `db:"exploitation"`
	ScreeningOutcome    string    `db:"screening_outcome"`
	OfficerConcern      bool      `db:"officer_concern"`
	Stage               string    `db:"stage"`
	ClosureReason       string    `db:"closure_reason"`
	PreliminaryPositive bool      `db:"preliminary_positive"`
	ConclusivePositive  bool      `db:"conclusive_positive"`
	NegativeConfirmed   bool      `db:"negative_confirmed"`

	// The countries of exploitation and of transit (ISO 3166-1 alpha-2).
	ExploitationCountries Strings `db:"exploitation_countries"`
	TransitCountries      Strings `db:"transit_countries"`
}

const qExport = `
	SELECT c.opened_at, c.region, c.sex, c.age_band, c.citizenship, c.exploitation, c.exploitation_countries, c.transit_countries,
		c.screening_outcome,
		c.officer_concern, c.stage, COALESCE(c.closure_reason, '') AS closure_reason,
		EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.type = 'preliminary_positive') AS preliminary_positive,
		EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.type = 'conclusive_positive') AS conclusive_positive,
		EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.type = 'negative_review_confirmed') AS negative_confirmed
	FROM cases c
	WHERE c.opened_at >= $1 AND c.opened_at < $2 AND ($3 = '' OR c.region = $3)`

// ExportRows returns the anonymised records of the cases opened in a period.
func (s *Store) ExportRows(ctx context.Context, f StatisticsFilter) ([]ReportExportRow, error) {
	out := []ReportExportRow{}
	err := s.inReportTx(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &out, qExport, f.From, f.To, f.Region)
	})
	if err != nil {
		return nil, fmt.Errorf("export rows: %w", err)
	}
	return out, nil
}

// ReplayCase is a case whose recorded events a simulation replays.
type ReplayCase struct {
	ID         uuid.UUID
	SOPVersion string
	Child      bool
}

// ReplayEvent is one recorded event, with the codes that scope it.
type ReplayEvent struct {
	Type       string
	At         time.Time
	Seq        int
	ReferralID string
	AgencyID   string
	Service    string
}

// ReplayFilter selects the cases active in a period and the event types
// the replay needs.
type ReplayFilter struct {
	From, To time.Time
	Region   string
	Types    []string
}

const qReplayEvents = `
	SELECT c.id, c.sop_version, c.child, e.type, e.at, e.seq,
		COALESCE(e.data->>'referral_id', ''), COALESCE(e.data->>'agency_id', ''), COALESCE(e.data->>'service', '')
	FROM cases c JOIN case_events e ON e.case_id = c.id
	WHERE c.opened_at < $2 AND (c.closed_at IS NULL OR c.closed_at >= $1)
	  AND ($3 = '' OR c.region = $3) AND e.type = ANY($4::text[])
	ORDER BY c.id`

// ReplayEvents streams the events of the cases open at some time in the
// period, one case at a time.
func (s *Store) ReplayEvents(ctx context.Context, f ReplayFilter, fn func(ReplayCase, []ReplayEvent) error) error {
	var cur ReplayCase
	var events []ReplayEvent
	var versions, types, codes []string
	version, typ, code := newInterner(&versions), newInterner(&types), newInterner(&codes)
	oids := []uint32{pgtype.UUIDOID, pgtype.TextOID, pgtype.BoolOID, pgtype.TextOID, pgtype.TimestamptzOID, pgtype.Int4OID,
		pgtype.TextOID, pgtype.TextOID, pgtype.TextOID}
	err := s.rawQuery(ctx, qReplayEvents, []any{f.From, f.To, f.Region, Strings(f.Types)}, oids, func(v [][]byte) error {
		id := uuid.UUID([16]byte(v[0]))
		if id != cur.ID && len(events) > 0 {
			if err := fn(cur, events); err != nil {
				return err
			}
			events = events[:0]
		}
		cur = ReplayCase{ID: id, SOPVersion: versions[version.code(v[1])], Child: rawBool(v[2])}
		events = append(events, ReplayEvent{Type: types[typ.code(v[3])], At: time.UnixMicro(rawMicros(v[4])), Seq: int(rawInt4(v[5])),
			ReferralID: string(v[6]), AgencyID: string(v[7]), Service: codes[code.code(v[8])]})
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay events: %w", err)
	}
	if len(events) > 0 {
		return fn(cur, events)
	}
	return nil
}

// Plans of the report queries, for the benchmark's record.
const qExplain = `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) `

// ExplainReports runs EXPLAIN ANALYZE on the compliance and statistics
// queries and returns their plans by name.
func (s *Store) ExplainReports(ctx context.Context, cf ComplianceFilter, sf StatisticsFilter) (map[string]string, error) {
	queries := []struct {
		name string
		q    string
		args []any
	}{
		{"compliance", qComplianceInstances, cf.args()},
		{"statistics_cases", qStatisticsCases, []any{sf.From, sf.To, sf.Region}},
		{"statistics_identified", qStatisticsIdentified, []any{sf.From, sf.To}},
		{"statistics_month_cases", qStatisticsMonthCases, []any{sf.From, sf.To, sf.Region, [][16]byte{}}},
		{"statistics_month_referrals", qStatisticsMonthReferrals, []any{sf.From, sf.To, sf.Region}},
		{"statistics_month_attempts", qStatisticsMonthAttempts, []any{[][16]byte{}}},
	}
	out := map[string]string{}
	for _, q := range queries {
		var lines []string
		err := s.inReportTx(ctx, func(tx *sqlx.Tx) error {
			return tx.SelectContext(ctx, &lines, qExplain+q.q, q.args...)
		})
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", q.name, err)
		}
		out[q.name] = strings.Join(lines, "\n")
	}
	return out, nil
}

const qBulkLoad = `SET LOCAL nrm.bulk_load = 'on'`

// ForgetReportMonths deletes every kept report month and recorded change:
// after a bulk load (CopyRows), which records no change, any of them may
// be out of date.
func (s *Store) ForgetReportMonths(ctx context.Context) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("forget report months: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM report_months`, `DELETE FROM report_changes`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("forget report months: %w", err)
		}
	}
	return tx.Commit()
}

// seedTables are the tables the synthetic generator may fill. persons is
// not among them: synthetic data never holds identity rows.
var seedTables = map[string]bool{
	"agencies": true, "users": true, "sop_versions": true, "cases": true, "case_events": true,
	"obligations": true, "referrals": true, "referral_attempts": true,
}

// CopyRows bulk-loads rows into a read-model table with PostgreSQL's COPY
// protocol, in one transaction. Only the tables of synthetic data are
// accepted; persons never is.
func (s *Store) CopyRows(ctx context.Context, table string, columns []string, rows [][]any) (int64, error) {
	if !seedTables[table] {
		return 0, fmt.Errorf("copy rows: table %q is not a read-model table", table)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy into %s: %w", table, err)
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx", dc)
		}
		// A bulk load records no change for the kept report months
		// (migration 0026): ForgetReportMonths drops them all once the
		// load is done.
		return pgx.BeginFunc(ctx, sc.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, qBulkLoad); err != nil {
				return err
			}
			var err error
			n, err = tx.CopyFrom(ctx, pgx.Identifier{table}, slices.Clone(columns), pgx.CopyFromRows(rows))
			return err
		})
	})
	if err != nil {
		return n, fmt.Errorf("copy into %s: %w", table, err)
	}
	return n, nil
}

// AnalyzeReadModel vacuums and analyzes the read model after a bulk load:
// the planner's statistics, and the visibility map that lets the reports
// use index-only scans.
func (s *Store) AnalyzeReadModel(ctx context.Context) error {
	for t := range seedTables {
		if _, err := s.db.ExecContext(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}

// qRealCases counts the cases that did not come from `nrm seed synthetic`.
const qRealCases = `SELECT count(*) FROM cases WHERE number NOT LIKE 'SYN-%'`

// RealCases counts the cases opened through the API: a synthetic history
// must never be mixed into a mechanism's real record, whose reports it
// would falsify.
func (s *Store) RealCases(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, qRealCases); err != nil {
		return 0, fmt.Errorf("count real cases: %w", err)
	}
	return n, nil
}
