package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nrm-tm/nrm/internal/store"
)

// ReadModel is what the gauges of the read model are computed from
// (*store.Store).
type ReadModel interface {
	OpenCasesByStage(ctx context.Context) ([]store.StageCount, error)
	BreachedObligations(ctx context.Context) ([]store.ObligationCount, error)
	OverdueObligations(ctx context.Context, asOf time.Time) ([]store.ObligationCount, error)
	WaitingReferrals(ctx context.Context) ([]store.ServiceCount, error)
}

// ScrapeTimeout bounds the read-model queries of one scrape; Prometheus'
// default scrape timeout is 10 s.
const ScrapeTimeout = 5 * time.Second

// OverdueGrace is how long past its due time a pending deadline may wait
// for its workflow's timer before it counts as overdue.
const OverdueGrace = time.Minute

var (
	descOpenCases = prometheus.NewDesc("nrm_open_cases",
		"Cases not closed, by stage.", []string{"stage"}, nil)
	descBreached = prometheus.NewDesc("nrm_obligations_breached",
		"Obligation instances whose deadline was breached, ever (a breach is final, so this only grows: "+
			"use increase() for new breaches), by obligation and owner agency type.",
		[]string{"obligation", "agency_type"}, nil)
	descOverdue = prometheus.NewDesc("nrm_obligations_overdue",
		"Deadlines still pending more than a minute after their due time, by obligation and owner agency type: "+
			"their workflow timers have not fired (workers or Temporal down or behind).",
		[]string{"obligation", "agency_type"}, nil)
	descWaiting = prometheus.NewDesc("nrm_referrals_waiting",
		"Referrals sent and waiting for a provider's answer, by service.", []string{"service"}, nil)
	descScrapeError = prometheus.NewDesc("nrm_scrape_error",
		"1 if a read-model query of this scrape failed or timed out (its gauges are missing), else 0.", nil, nil)
	descScrapeDuration = prometheus.NewDesc("nrm_scrape_duration_seconds",
		"Time the read-model queries of this scrape took.", nil, nil)
)

// RegisterReadModel adds the gauges of the read model, queried at every
// scrape. Every API replica reports the same values: aggregate them with
// max, not sum.
func (r *Registry) RegisterReadModel(src ReadModel, log *slog.Logger) error {
	return r.reg.Register(&readModelCollector{src: src, log: log, timeout: ScrapeTimeout, now: time.Now})
}

// RegisterDB adds the connection-pool statistics of the database handle
// (go_sql_*{db_name="nrm"}).
func (r *Registry) RegisterDB(db *sql.DB) error {
	return r.reg.Register(collectors.NewDBStatsCollector(db, "nrm"))
}

type readModelCollector struct {
	src     ReadModel
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time
}

func (c *readModelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpenCases, descBreached, descOverdue, descWaiting, descScrapeError, descScrapeDuration} {
		ch <- d
	}
}

// Collect runs the queries one after the other under one deadline. A query
// that fails loses its own gauges and sets nrm_scrape_error; the others,
// and every other metric of the process, are still exposed.
func (c *readModelCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	failed := 0.0
	fail := func(err error) {
		failed = 1
		if c.log != nil {
			c.log.Warn("metrics: read-model query failed", "error", err.Error())
		}
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		// Not MustNewConstMetric: a panic in a collector ends the process.
		if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(v), labels...); err == nil {
			ch <- m
		}
	}
	if rows, err := c.src.OpenCasesByStage(ctx); err != nil {
		fail(err)
	} else {
		for _, r := range rows {
			gauge(descOpenCases, r.Count, r.Stage)
		}
	}
	if rows, err := c.src.BreachedObligations(ctx); err != nil {
		fail(err)
	} else {
		for _, r := range rows {
			gauge(descBreached, r.Count, r.Obligation, r.AgencyType)
		}
	}
	if rows, err := c.src.OverdueObligations(ctx, c.now().Add(-OverdueGrace)); err != nil {
		fail(err)
	} else {
		for _, r := range rows {
			gauge(descOverdue, r.Count, r.Obligation, r.AgencyType)
		}
	}
	if rows, err := c.src.WaitingReferrals(ctx); err != nil {
		fail(err)
	} else {
		for _, r := range rows {
			gauge(descWaiting, r.Count, r.Service)
		}
	}
	ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, failed)
	ch <- prometheus.MustNewConstMetric(descScrapeDuration, prometheus.GaugeValue, time.Since(start).Seconds())
}
