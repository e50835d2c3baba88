package store

// The statistics of one month, read and kept like the compliance report's
// (reportmonths.go, migration 0025): only what counts in the month, so that
// reading a month costs what happened in it, not every case open during it.

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The cases with something counted in [$1, $2): opened in it, closed in
// it, or among the positively identified in it ($4) — three disjoint
// parts, each read by its own index.
const qStatisticsMonthCases = `
	SELECT ` + statisticsCaseColumns + ` FROM cases
	WHERE opened_at >= $1 AND opened_at < $2 AND ($3 = '' OR region = $3)
	UNION ALL
	SELECT ` + statisticsCaseColumns + ` FROM cases
	WHERE closed_at >= $1 AND closed_at < $2 AND NOT (opened_at >= $1 AND opened_at < $2) AND ($3 = '' OR region = $3)
	UNION ALL
	SELECT ` + statisticsCaseColumns + ` FROM cases
	WHERE id = ANY($4::uuid[]) AND NOT (opened_at >= $1 AND opened_at < $2)
	  AND (closed_at IS NULL OR NOT (closed_at >= $1 AND closed_at < $2)) AND ($3 = '' OR region = $3)`

// The referrals with an attempt sent in [$1, $2), and those created in it
// that no provider was ever found for (their first sending is their
// creation). The two parts are disjoint.
const qStatisticsMonthReferrals = `
	SELECT id, service, status, accepted_at IS NOT NULL, redirections, attempt, sent_at, region
	FROM referrals
	WHERE id IN (SELECT referral_id FROM referral_attempts WHERE sent_at >= $1 AND sent_at < $2) AND ($3 = '' OR region = $3)
	UNION ALL
	SELECT id, service, status, accepted_at IS NOT NULL, redirections, attempt, sent_at, region
	FROM referrals
	WHERE attempt = 0 AND sent_at >= $1 AND sent_at < $2 AND ($3 = '' OR region = $3)`

// Every attempt of those referrals, also those sent after the month: a
// referral's answer times count in the month it was first sent.
const qStatisticsMonthAttempts = `
	SELECT referral_id, attempt, agency_id, COALESCE(answer, ''), answer IN ('accepted', 'declined') AND answered_at IS NOT NULL,
		sent_at, COALESCE((EXTRACT(EPOCH FROM (answered_at - sent_at)) / 3600)::float8, 0)
	FROM referral_attempts WHERE referral_id = ANY($1::uuid[])`

// StatisticsMonth returns what the statistics count in [f.From, f.To) (a
// month): the cases opened, closed or positively identified in it, with
// those decisions, and the referrals with an attempt sent in it or created
// in it without a provider, with all their attempts. It reads them in one
// snapshot.
func (s *Store) StatisticsMonth(ctx context.Context, f StatisticsFilter) (*ReportCaseSet, *ReportReferralSet, error) {
	var cases *ReportCaseSet
	var refs *ReportReferralSet
	err := s.rawTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		cases, refs, err = statisticsMonth(f, func(q string, args []any, oids []uint32, fn func([][]byte) error) error {
			return rawRows(ctx, tx, q, args, oids, fn)
		})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("statistics month %s: %w", f.From.Format("2006-01"), err)
	}
	return cases, refs, nil
}

// BuildStatisticsMonth is StatisticsMonth keeping what data makes of the
// month's sets as its figures of report under config, in the transaction
// that read them (BuildComplianceMonth says how). On an error wrapping
// ErrMonthNotKept, the sets are complete all the same.
func (s *Store) BuildStatisticsMonth(ctx context.Context, f StatisticsFilter, report, config string,
	data func(*ReportCaseSet, *ReportReferralSet) ([]byte, error)) (*ReportCaseSet, *ReportReferralSet, error) {
	var cases *ReportCaseSet
	var refs *ReportReferralSet
	read := func(query rawQuerier) error {
		var err error
		cases, refs, err = statisticsMonth(f, query)
		return err
	}
	err := s.buildMonth(ctx, f.From, f.To, report, config, read, func() ([]byte, error) { return data(cases, refs) })
	if err != nil {
		return cases, refs, fmt.Errorf("statistics month %s: %w", f.From.Format("2006-01"), err)
	}
	return cases, refs, nil
}

func statisticsMonth(f StatisticsFilter, query rawQuerier) (*ReportCaseSet, *ReportReferralSet, error) {
	var identified []identifiedRow
	var ids [][16]byte
	oids := []uint32{pgtype.UUIDOID, pgtype.BoolOID, pgtype.TimestamptzOID}
	err := query(qStatisticsIdentified, []any{f.From, f.To}, oids, func(v [][]byte) error {
		id := [16]byte(v[0])
		identified = append(identified, identifiedRow{id: id, conclusive: rawBool(v[1]), at: rawMicros(v[2])})
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("identification statistics: %w", err)
	}
	r := newCaseSetReader()
	err = query(qStatisticsMonthCases, []any{f.From, f.To, f.Region, ids}, caseSetOIDs, r.row)
	if err != nil {
		return nil, nil, fmt.Errorf("case statistics: %w", err)
	}
	cases, err := r.finish(identified)
	if err != nil {
		return nil, nil, err
	}
	refs := newReferralSetReader()
	if err := query(qStatisticsMonthReferrals, []any{f.From, f.To, f.Region}, referralOIDs, refs.referral); err != nil {
		return nil, nil, fmt.Errorf("referral statistics: %w", err)
	}
	refIDs := make([][16]byte, 0, len(refs.index))
	for id := range refs.index {
		refIDs = append(refIDs, id)
	}
	if err := query(qStatisticsMonthAttempts, []any{refIDs}, attemptOIDs, refs.attempt); err != nil {
		return nil, nil, fmt.Errorf("referral attempts: %w", err)
	}
	return cases, refs.out, nil
}
