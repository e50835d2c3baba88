package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// The statistics by country of exploitation read the same cases as the
// other case statistics (StatisticsCases), in a query of their own, an
// index-only scan of cases_report_idx too (which migration 0022 widened
// with the countries).
const qStatisticsCountries = `
	SELECT id, opened_at, closed_at,
		screening_outcome = 'presumed_victim',
		officer_concern AND screening_outcome = 'not_indicated',
		region, exploitation_countries
	FROM cases
	WHERE opened_at < $2 AND (closed_at IS NULL OR closed_at >= $1) AND ($3 = '' OR region = $3)`

// StatisticsCountries returns the cases the statistics of a period count,
// as StatisticsCases does, with each case's countries of exploitation in
// place of its types of exploitation: Exploitations lists the distinct
// lists of countries and each case's Exploitation is its list's index
// there. Sex, age band, citizenship and closure reason are not read: each
// dictionary holds one empty value, which every case has.
func (s *Store) StatisticsCountries(ctx context.Context, f StatisticsFilter) (*ReportCaseSet, error) {
	out := &ReportCaseSet{Sexes: []string{""}, AgeBands: []string{""}, Citizenships: []string{""}, ClosureReasons: []string{""}}
	reg := newInterner(&out.Regions)
	var rawCountries []string
	countries := newInterner(&rawCountries)
	index := map[[16]byte]int{}
	oids := []uint32{pgtype.UUIDOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.BoolOID, pgtype.BoolOID,
		pgtype.TextOID, pgtype.TextArrayOID}
	err := s.rawQuery(ctx, qStatisticsCountries, []any{f.From, f.To, f.Region}, oids, func(v [][]byte) error {
		index[[16]byte(v[0])] = len(out.Cases)
		out.Cases = append(out.Cases, ReportCase{OpenedAt: rawMicros(v[1]), ClosedAt: rawMicros(v[2]), Presumed: rawBool(v[3]),
			Concern: rawBool(v[4]), Region: reg.code(v[5]), Exploitation: countries.code(v[6])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statistics by country: %w", err)
	}
	for _, raw := range rawCountries {
		var list []string
		if err := pgTypes.Scan(pgtype.TextArrayOID, pgtype.BinaryFormatCode, []byte(raw), &list); err != nil {
			return nil, fmt.Errorf("statistics by country: countries: %w", err)
		}
		out.Exploitations = append(out.Exploitations, list)
	}
	oids = []uint32{pgtype.UUIDOID, pgtype.BoolOID, pgtype.TimestamptzOID}
	err = s.rawQuery(ctx, qStatisticsIdentified, []any{f.From, f.To}, oids, func(v [][]byte) error {
		if i, ok := index[[16]byte(v[0])]; ok { // not among the cases: another region
			out.Identified = append(out.Identified, ReportIdentified{Case: i, Conclusive: rawBool(v[1]), At: rawMicros(v[2])})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statistics by country: identification: %w", err)
	}
	return out, nil
}
