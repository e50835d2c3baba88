package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/store"
)

const (
	// IdempotencyRetention is how long the response to a POST with an
	// Idempotency-Key is kept for replay: a client retrying within a day
	// gets it; after that the key is forgotten and may be used again.
	IdempotencyRetention = 24 * time.Hour
	// HousekeepingInterval is how often the worker deletes what expired.
	// Ten minutes keeps the rate-limit table to a few windows per key and
	// forgets idempotency keys at most that long after their retention.
	HousekeepingInterval = 10 * time.Minute
	// rateWindowsKept: counters of windows that started more than this long
	// ago are deleted. Two windows, so that a worker whose clock runs a
	// little ahead of the database's never deletes the current one.
	rateWindowsKept = 2 * api.RateWindow
)

// Housekeeper deletes expired rows the API leaves behind: idempotency keys
// older than IdempotencyRetention and ended rate-limit windows. Every worker
// replica runs one; the deletes are idempotent, so they may overlap.
type Housekeeper struct {
	Store *store.Store
	Log   *slog.Logger
	// Attachments deletes from the attachments' backends what must go:
	// chunks of attachments destroyed with their case's identity (those in
	// an object store) and uploads cut off half-way (cases.PurgeAttachments).
	// Nil: none.
	Attachments interface {
		PurgeAttachments(ctx context.Context) (int, error)
	}
	// Reports keeps the TWG's compliance figures of the months that are
	// over (reports.Service.KeepMonths), so that no report waits for them
	// and the record of changes stays short. Nil: none.
	Reports interface {
		KeepMonths(ctx context.Context) (int, error)
	}
	// Interval between passes; HousekeepingInterval when zero.
	Interval time.Duration
	// ReportsAfter: Run's passes keep report months only from this long
	// after it started (ReportsDelay when zero), so that a worker just
	// started — a deployment, a restart — first serves its workflows, and
	// a short-lived one (a test's) builds no month at all.
	ReportsAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Swept counts what one pass deleted.
type Swept struct {
	IdempotencyKeys  int64
	RateLimitWindows int64
	ReportMonths     int // months of the TWG reports built and kept
	Attachments      int
}

// Once runs one pass. It goes on after a failed delete, so that one table's
// trouble does not keep the other from being cleaned, and returns the errors.
func (h *Housekeeper) Once(ctx context.Context) (Swept, error) { return h.pass(ctx, true) }

// ReportsDelay is ReportsAfter's default.
const ReportsDelay = time.Minute

func (h *Housekeeper) pass(ctx context.Context, reports bool) (Swept, error) {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	var out Swept
	var errs []error
	var err error
	if out.IdempotencyKeys, err = h.Store.ExpireIdempotencyKeys(ctx, now.Add(-IdempotencyRetention)); err != nil {
		errs = append(errs, err)
	}
	if out.RateLimitWindows, err = h.Store.ExpireRateWindows(ctx, now.Add(-rateWindowsKept)); err != nil {
		errs = append(errs, err)
	}
	if h.Attachments != nil {
		if out.Attachments, err = h.Attachments.PurgeAttachments(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if h.Reports != nil && reports {
		if out.ReportMonths, err = h.Reports.KeepMonths(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Run passes at once, again when ReportsAfter is over (the first pass that
// keeps report months), and then every Interval until ctx ends. It logs counts
// only: the keys themselves are a user's request keys and hashed addresses.
func (h *Housekeeper) Run(ctx context.Context) {
	interval := h.Interval
	if interval <= 0 {
		interval = HousekeepingInterval
	}
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	reportsAfter := h.ReportsAfter
	if reportsAfter <= 0 {
		reportsAfter = ReportsDelay
	}
	started := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	reportsTimer := time.NewTimer(reportsAfter) // a pass of its own once the delay is over
	defer reportsTimer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-reportsTimer.C:
		}
		swept, err := h.pass(ctx, time.Since(started) >= reportsAfter)
		if err != nil && ctx.Err() == nil {
			log.Warn("housekeeping: deleting expired rows failed; will retry", "error", err)
		}
		if swept.IdempotencyKeys > 0 || swept.RateLimitWindows > 0 || swept.Attachments > 0 {
			log.Info("housekeeping: deleted expired rows", "idempotency_keys", swept.IdempotencyKeys,
				"rate_limit_windows", swept.RateLimitWindows, "attachments", swept.Attachments)
		}
		if swept.ReportMonths > 0 {
			log.Info("housekeeping: built and kept the TWG reports' figures of months", "months", swept.ReportMonths)
		}
		timer.Reset(interval)
	}
}

// startHousekeeping runs a Housekeeper beside the worker until Stop.
func (s *System) startHousekeeping(ctx context.Context) {
	h := &Housekeeper{Store: s.Store, Log: s.Log, Attachments: s.Cases,
		Reports: &reports.Service{Store: s.Store, SOPs: s.SOPs}}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); h.Run(hctx) }()
	s.stops = append(s.stops, func() { cancel(); <-done })
}
