package reports

// The compliance report is built month by month. A month that is over is
// built once and kept (store.BuildComplianceMonth, migration 0021) for as
// long as nothing that counts in it changes; the current month is read
// afresh every time. Every month's instances are first added up by cell —
// obligation × SOP version × region × agency, with the times to meet —, and
// the report's breakdowns are then computed from the cells, which gives the
// very figures the instances give: counts add up, and the cells keep every
// time to meet for the percentiles.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/nrm-tm/nrm/internal/store"
)

// keptCompliance names the compliance report's kept months.
const keptCompliance = "compliance"

// KeptMonths is how far back months are kept: older ones are read afresh
// every time, and what was recorded for them is deleted (KeepMonths), so
// that the record of changes does not grow without end.
const KeptMonths = 36

// keepable says whether a month is kept: over by asOf, and not older than
// KeptMonths.
func keepable(m Period, asOf time.Time) bool {
	return !m.To.After(asOf) && m.From.After(asOf.AddDate(0, -KeptMonths, 0))
}

// KeepMonths builds and keeps the compliance figures and the statistics of
// the months of the last two years that are over and not kept, or changed
// since, so that the TWG's reports need not wait for them, and deletes the
// kept figures and the recorded changes of months older than KeptMonths
// and a month (a month built meanwhile is never that old). The worker's housekeeping
// calls it. It returns how many months were built (of both reports).
func (s *Service) KeepMonths(ctx context.Context) (int, error) {
	asOf := s.now()
	loc := s.location()
	now := asOf.In(loc)
	end := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	p := Period{From: end.AddDate(0, -24, 0), To: end}
	built, err := s.complianceMonthsBuilt(ctx, p, s.complianceFilter(store.ComplianceFilter{}, asOf), asOf)
	if err != nil {
		return built, fmt.Errorf("keep report months: %w", err)
	}
	_, stats, err := s.statisticsMonths(ctx, p, asOf)
	built += stats
	if err != nil {
		return built, fmt.Errorf("keep report months: %w", err)
	}
	if err := s.Store.PruneReportMonths(ctx, end.AddDate(0, -KeptMonths-1, 0)); err != nil {
		return built, fmt.Errorf("keep report months: %w", err)
	}
	return built, nil
}

// months splits the period into its calendar months.
func (p Period) months() []Period {
	var out []Period
	for from := p.From; from.Before(p.To); {
		to := from.AddDate(0, 1, 0)
		out = append(out, Period{From: from, To: to})
		from = to
	}
	return out
}

// span is a part of a report's period that is read, and kept, as one: a
// month, or a day of the month under way, so that a request reads afresh
// only the day under way rather than the whole month.
type span struct {
	Period
	// keep: its figures are kept once read.
	keep bool
	// ahead: it has not started yet. Its figures are kept under their own
	// configuration and asked for only while it has not started: until
	// then, no instance in it can be overdue, so they do not depend on
	// the time of the request.
	ahead bool
}

// spans splits the period for reading as of asOf: the months that are
// over whole (kept unless older than KeptMonths), the month under way by
// day — the days that are over kept, the day under way read afresh, and
// the days after it either kept ahead (ahead) or read afresh with the day
// under way —, and a month not started like the days ahead.
func (p Period) spans(asOf time.Time, ahead bool) []span {
	var out []span
	for _, m := range p.months() {
		switch {
		case !m.To.After(asOf):
			out = append(out, span{Period: m, keep: keepable(m, asOf)})
		case m.From.After(asOf):
			out = append(out, span{Period: m, keep: ahead, ahead: ahead})
		default:
			out = append(out, m.days(asOf, ahead)...)
		}
	}
	return out
}

// days splits the month under way at asOf into its days (spans).
func (m Period) days(asOf time.Time, ahead bool) []span {
	var out []span
	for from := m.From; from.Before(m.To); {
		to := from.AddDate(0, 0, 1)
		if to.After(m.To) {
			to = m.To
		}
		d := Period{From: from, To: to}
		switch {
		case !to.After(asOf):
			out = append(out, span{Period: d, keep: true})
		case !from.After(asOf):
			out = append(out, span{Period: d}) // under way
		case ahead:
			out = append(out, span{Period: d, keep: true, ahead: true})
		default: // read with the day under way
			out[len(out)-1].To = m.To
			return out
		}
		from = to
	}
	return out
}

// config is the configuration the span's figures are kept under.
func (sp span) config(base string) string {
	if sp.ahead {
		return base + "/ahead"
	}
	return base
}

// keptSpans answers the kept figures of report still good for each span
// (nil where there are none).
func (s *Service) keptSpans(ctx context.Context, report, config string, spans []span) ([][]byte, error) {
	asked := make([]store.ReportMonth, 0, len(spans))
	for _, sp := range spans {
		if sp.keep {
			asked = append(asked, store.ReportMonth{From: sp.From, To: sp.To, Config: sp.config(config)})
		}
	}
	kept, err := s.Store.KeptReportMonths(ctx, report, asked)
	if err != nil {
		return nil, err
	}
	type key struct {
		from, to int64
		config   string
	}
	found := make(map[key][]byte, len(kept))
	for _, k := range kept {
		found[key{k.From.UnixMicro(), k.To.UnixMicro(), k.Config}] = k.Data
	}
	out := make([][]byte, len(spans))
	for i, sp := range spans {
		if sp.keep {
			out[i] = found[key{sp.From.UnixMicro(), sp.To.UnixMicro(), sp.config(config)}]
		}
	}
	return out, nil
}

// complianceCell counts the instances of one obligation, SOP version,
// region and owning agency ("" when none) in a month.
type complianceCell struct {
	obligation, version, region, agency string
	onTime, late, open, pending         int64
	// hours are the times to meet of the met instances (on time or late).
	hours []float64
}

// monthCells adds up a month's instances by cell as the store hands them
// over; codes are those of the store's dictionaries for that month.
type monthCells struct {
	byCode map[[4]uint16]*complianceCell
	cells  []*complianceCell
}

func newMonthCells() *monthCells { return &monthCells{byCode: map[[4]uint16]*complianceCell{}} }

func (m *monthCells) add(set *store.ReportInstanceSet, r store.ReportInstance) {
	k := [4]uint16{r.Obligation, r.Version, r.Region, r.Agency}
	c := m.byCode[k]
	if c == nil {
		c = &complianceCell{obligation: set.Obligations[r.Obligation], version: set.Versions[r.Version],
			region: set.Regions[r.Region], agency: set.Agencies[r.Agency]}
		m.byCode[k] = c
		m.cells = append(m.cells, c)
	}
	switch r.Outcome {
	case 1:
		c.onTime++
	case 2:
		c.late++
	case 3:
		c.open++
	default:
		c.pending++
	}
	if r.Met {
		c.hours = append(c.hours, r.Hours)
	}
}

// complianceMonths returns the cells of every span of the period (spans):
// kept ones where they are still good, the others read — and kept, unless
// under way. Spans are read side by side, complianceParts at a time.
func (s *Service) complianceMonths(ctx context.Context, p Period, f store.ComplianceFilter, asOf time.Time) ([][]*complianceCell, error) {
	out, _, err := s.readComplianceMonths(ctx, p, f, asOf)
	return out, err
}

// complianceMonthsBuilt is complianceMonths answering how many spans it
// read from the instances.
func (s *Service) complianceMonthsBuilt(ctx context.Context, p Period, f store.ComplianceFilter, asOf time.Time) (int, error) {
	_, built, err := s.readComplianceMonths(ctx, p, f, asOf)
	return built, err
}

func (s *Service) readComplianceMonths(ctx context.Context, p Period, f store.ComplianceFilter, asOf time.Time) ([][]*complianceCell, int, error) {
	spans := p.spans(asOf, true)
	config := complianceConfig(f)
	kept, err := s.keptSpans(ctx, keptCompliance, config, spans)
	if err != nil {
		return nil, 0, err
	}
	out := make([][]*complianceCell, len(spans))
	var unkept []int
	for i := range spans {
		cells, err := decodeCells(kept[i])
		if kept[i] == nil || err != nil {
			unkept = append(unkept, i)
			continue
		}
		out[i] = cells
	}
	err = sideBySide(unkept, func(i int) error {
		mf := f
		mf.From, mf.To = spans[i].From, spans[i].To
		var err error
		out[i], err = s.readComplianceMonth(ctx, mf, spans[i].config(config), spans[i].keep)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, len(unkept), nil
}

// sideBySide runs read for each of the months at indexes, complianceParts
// at a time, and joins their errors.
func sideBySide(indexes []int, read func(i int) error) error {
	errs := make([]error, len(indexes))
	sem := make(chan struct{}, complianceParts)
	var wg sync.WaitGroup
	for n, i := range indexes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[n] = read(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readComplianceMonth reads a month's instances into cells, keeping them
// when keep is set. A month read whole but not kept (another request built
// it at the same moment) is used all the same; one whose building failed
// otherwise is read again without keeping it.
func (s *Service) readComplianceMonth(ctx context.Context, f store.ComplianceFilter, config string, keep bool) ([]*complianceCell, error) {
	m := newMonthCells()
	if keep {
		err := s.Store.BuildComplianceMonth(ctx, f, keptCompliance, config, m.add, func() ([]byte, error) {
			return encodeCells(m.cells), nil
		})
		if err == nil || errors.Is(err, store.ErrMonthNotKept) {
			return m.cells, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		m = newMonthCells()
	}
	if err := s.Store.ComplianceMonth(ctx, f, m.add); err != nil {
		return nil, err
	}
	return m.cells, nil
}

// complianceConfig fingerprints what a month's figures depend on besides
// the read model: the events that meet each obligation of each version
// (and of versions this server does not hold), and the encoding's version.
func complianceConfig(f store.ComplianceFilter) string {
	entries := make([]string, 0, len(f.MetBy)+len(f.KnownVersions))
	for _, m := range f.MetBy {
		entries = append(entries, "m\x00"+m.SOPVersion+"\x00"+m.Obligation+"\x00"+m.Event)
	}
	for _, v := range f.KnownVersions {
		entries = append(entries, "v\x00"+v)
	}
	slices.Sort(entries)
	h := sha256.New()
	fmt.Fprintf(h, "cells/%d\n", cellsEncoding)
	for _, e := range entries {
		h.Write([]byte(e))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// cellsEncoding is the version of encodeCells' format.
const cellsEncoding = 1

// encodeCells writes cells compactly: their count, then for each its four
// strings (length and bytes), four counts and its times (count, then
// IEEE 754 doubles), integers as unsigned varints.
func encodeCells(cells []*complianceCell) []byte {
	b := binary.AppendUvarint([]byte{cellsEncoding}, uint64(len(cells)))
	for _, c := range cells {
		for _, s := range [...]string{c.obligation, c.version, c.region, c.agency} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		for _, n := range [...]int64{c.onTime, c.late, c.open, c.pending} {
			b = binary.AppendUvarint(b, uint64(n))
		}
		b = binary.AppendUvarint(b, uint64(len(c.hours)))
		for _, h := range c.hours {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h))
		}
	}
	return b
}

var errCells = errors.New("kept month: malformed figures")

// decodeCells reads what encodeCells wrote; anything else is an error (and
// the month is read again).
func decodeCells(b []byte) ([]*complianceCell, error) {
	if len(b) == 0 || b[0] != cellsEncoding {
		return nil, errCells
	}
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	n, ok := next()
	if !ok || n > uint64(len(b)) {
		return nil, errCells
	}
	cells := make([]*complianceCell, 0, n)
	for range n {
		c := &complianceCell{}
		for _, s := range [...]*string{&c.obligation, &c.version, &c.region, &c.agency} {
			l, ok := next()
			if !ok || l > uint64(len(b)) {
				return nil, errCells
			}
			*s, b = string(b[:l]), b[l:]
		}
		for _, x := range [...]*int64{&c.onTime, &c.late, &c.open, &c.pending} {
			v, ok := next()
			if !ok || v > math.MaxInt32 {
				return nil, errCells
			}
			*x = int64(v)
		}
		h, ok := next()
		if !ok || h > uint64(len(b)/8) {
			return nil, errCells
		}
		c.hours = make([]float64, h)
		for i := range c.hours {
			c.hours[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
		}
		b = b[h*8:]
		cells = append(cells, c)
	}
	if len(b) != 0 {
		return nil, errCells
	}
	return cells, nil
}
