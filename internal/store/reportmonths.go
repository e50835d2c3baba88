package store

// The TWG's reports kept by month (migration 0021): a month's figures are
// kept once built, and are good while report_changes lists no time in it.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// ReportMonth is a span of a report — a month, or a day of the month under
// way —, [From, To), the configuration its figures are kept under, and the
// figures.
type ReportMonth struct {
	From, To time.Time
	Config   string
	Data     []byte
}

// The kept figures of the spans asked for that nothing has changed since:
// no change recorded in the span.
const qKeptReportMonths = `
	SELECT m.month_from, m.month_to, m.config, m.data
	FROM report_months m
	JOIN unnest($2::timestamptz[], $3::timestamptz[], $4::text[]) AS k(f, t, c)
	  ON m.month_from = k.f AND m.month_to = k.t AND m.config = k.c
	WHERE m.report = $1
	  AND NOT EXISTS (
		SELECT 1 FROM report_changes c WHERE c.at >= m.month_from AND c.at < m.month_to)`

// The changes of a month that the building transaction sees: they are in
// its figures.
const qTakeReportChanges = `DELETE FROM report_changes WHERE at >= $1 AND at < $2`

// When changes were taken, other kept figures of the same span of time
// (another report, configuration or time zone) may have lost the record of
// a change that concerns them: they are dropped, to be built again.
const qDropOverlappingMonths = `
	DELETE FROM report_months
	WHERE month_from < $2 AND month_to > $1
	  AND NOT (report = $3 AND month_from = $1 AND month_to = $2 AND config = $4)`

const qAsyncCommit = `SET LOCAL synchronous_commit = off`

const qKeepReportMonth = `
	INSERT INTO report_months (report, month_from, month_to, config, data) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (report, month_from, month_to, config) DO UPDATE SET data = EXCLUDED.data, built_at = now()`

// KeptReportMonths returns the kept figures of report for those of spans
// (From, To and Config set) that are still good.
func (s *Store) KeptReportMonths(ctx context.Context, report string, spans []ReportMonth) ([]ReportMonth, error) {
	from, to, config := make([]time.Time, len(spans)), make([]time.Time, len(spans)), make([]string, len(spans))
	for i, m := range spans {
		from[i], to[i], config[i] = m.From, m.To, m.Config
	}
	var out []ReportMonth
	oids := []uint32{pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TextOID, pgtype.ByteaOID}
	err := s.rawQuery(ctx, qKeptReportMonths, []any{report, from, to, config}, oids, func(v [][]byte) error {
		out = append(out, ReportMonth{From: time.UnixMicro(rawMicros(v[0])), To: time.UnixMicro(rawMicros(v[1])),
			Config: string(v[2]), Data: append([]byte(nil), v[3]...)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kept %s months: %w", report, err)
	}
	return out, nil
}

// ErrMonthNotKept says that a month's figures were read but could not be
// kept (another transaction built the same month at the same time): the
// figures handed over are complete and consistent all the same.
var ErrMonthNotKept = errors.New("month read but not kept")

// BuildComplianceMonth hands the instances due in [f.From, f.To) to fn like
// ComplianceMonth, in one repeatable-read transaction that takes the
// month's recorded changes and, when fn's reading is done, keeps what data
// returns as the month's figures of report under config. Every change
// committed after the transaction's snapshot stays recorded, so the month
// is built again after it.
//
// When the figures were read whole but could not be kept, it returns an
// error wrapping ErrMonthNotKept; any other error means fn may have seen
// only part of the month.
func (s *Store) BuildComplianceMonth(ctx context.Context, f ComplianceFilter, report, config string,
	fn func(set *ReportInstanceSet, r ReportInstance), data func() ([]byte, error)) error {
	read := func(query rawQuerier) error { return complianceInstances(f, query, fn) }
	if err := s.buildMonth(ctx, f.From, f.To, report, config, read, data); err != nil {
		return fmt.Errorf("compliance month %s: %w", f.From.Format("2006-01"), err)
	}
	return nil
}

// buildMonth runs read in one repeatable-read transaction that takes the
// recorded changes of [from, to) and, when read is done, keeps what data
// returns as the figures of report under config for that span. When read
// succeeded but the figures could not be kept, the error wraps
// ErrMonthNotKept.
func (s *Store) buildMonth(ctx context.Context, from, to time.Time, report, config string,
	read func(rawQuerier) error, data func() ([]byte, error)) error {
	done := false
	err := s.rawTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		// Kept figures can be built again at any time: a crash that loses
		// this transaction (changes taken and figures kept, together)
		// loses nothing, so its commit need not wait for the disk.
		if _, err := tx.Exec(ctx, qAsyncCommit); err != nil {
			return err
		}
		taken, err := tx.Exec(ctx, qTakeReportChanges, from, to)
		if err != nil {
			return fmt.Errorf("take changes: %w", err)
		}
		if taken.RowsAffected() > 0 {
			if _, err := tx.Exec(ctx, qDropOverlappingMonths, from, to, report, config); err != nil {
				return fmt.Errorf("drop overlapping months: %w", err)
			}
		}
		err = read(func(q string, args []any, oids []uint32, fn func([][]byte) error) error {
			return rawRows(ctx, tx, q, args, oids, fn)
		})
		if err != nil {
			return err
		}
		done = true
		b, err := data()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, qKeepReportMonth, report, from, to, config, b)
		return err
	})
	if err != nil && done {
		return fmt.Errorf("%w: %w", ErrMonthNotKept, err)
	}
	return err
}

// ComplianceMonth hands the instances due in [f.From, f.To) to fn, with the
// dictionaries their codes index (growing as new values arrive; fn holds
// no row beyond its call). The reports read a month that is not kept (the
// current one) with it.
func (s *Store) ComplianceMonth(ctx context.Context, f ComplianceFilter, fn func(set *ReportInstanceSet, r ReportInstance)) error {
	query := func(q string, args []any, oids []uint32, fn func([][]byte) error) error {
		return s.rawQuery(ctx, q, args, oids, fn)
	}
	err := complianceInstances(f, query, fn)
	if err != nil {
		return fmt.Errorf("compliance month %s: %w", f.From.Format("2006-01"), err)
	}
	return nil
}

// Kept figures and recorded changes of months before a cut-off, deleted
// together (KeepMonths).
const (
	qPruneReportMonths  = `DELETE FROM report_months WHERE month_from < $1`
	qPruneReportChanges = `DELETE FROM report_changes WHERE at < $1`
)

// PruneReportMonths deletes the kept figures of the months that start
// before cut and the changes recorded before it, in one transaction.
func (s *Store) PruneReportMonths(ctx context.Context, cut time.Time) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("prune report months: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{qPruneReportMonths, qPruneReportChanges} {
		if _, err := tx.ExecContext(ctx, q, cut); err != nil {
			return fmt.Errorf("prune report months: %w", err)
		}
	}
	return tx.Commit()
}
