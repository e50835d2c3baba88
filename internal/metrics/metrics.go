// Package metrics exposes NRM's Prometheus metrics: HTTP latency by route
// template, gauges of the read model computed at scrape time, the Temporal
// SDK's metrics, and the Go runtime and process collectors.
//
// Labels carry codes only — route templates, methods, statuses, stages,
// obligation and service IDs, agency types, workflow and activity types —
// never a case, person, referral or workflow ID, which would both grow
// the series without bound and leak who is in the system.
//
// Each System has its own Registry (not Prometheus' global one), so tests
// may run several in one process.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpBuckets are the latency buckets of the API in seconds: most requests
// take milliseconds; the TWG's reports over a national history take
// seconds; the server's write timeout is 60 s.
var httpBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// maxScrapesInFlight bounds concurrent scrapes of one process: each one
// queries PostgreSQL, and a further scraper is answered 503.
const maxScrapesInFlight = 4

// unmatchedRoute labels requests that matched no route (404s of unknown
// paths): the concrete path would put anything a client sends into labels.
const unmatchedRoute = "unmatched"

// Registry holds one process's metrics.
type Registry struct {
	reg      *prometheus.Registry
	http     *prometheus.HistogramVec
	temporal *sdkMetrics
	handler  http.Handler
}

// New makes a registry with the Go, process and build collectors, the HTTP
// histogram and the (still empty) Temporal SDK metrics.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nrm_http_request_duration_seconds",
			Help:    "Duration of HTTP requests to the API by method, route template and status.",
			Buckets: httpBuckets,
		}, []string{"method", "route", "status"}),
		temporal: newSDKMetrics(),
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		r.http,
		r.temporal,
	)
	r.handler = promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		// A failing collector costs its own metrics, not the whole scrape.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapesInFlight,
	})
	return r
}

// Register adds a collector (the read-model gauges, a test's own).
func (r *Registry) Register(c prometheus.Collector) error { return r.reg.Register(c) }

// Gatherer exposes the registry, for tests and other exposition paths.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the text exposition (and OpenMetrics or gzip when the
// scraper asks). It does no authentication: the caller decides who may see it.
func (r *Registry) Handler() http.Handler { return r.handler }

// HTTP is the Fiber middleware that observes every request's duration.
// Install it first, so that the status it records is the one the client
// got, after the error handler ran.
func (r *Registry) HTTP() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			// An error no inner middleware answered: Fiber's error handler will.
			status = fiber.StatusInternalServerError
			var fe *fiber.Error
			if errors.As(err, &fe) {
				status = fe.Code
			}
		}
		r.http.WithLabelValues(method(c), routeTemplate(c), strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		return err
	}
}

// method is the request's method as a string of its own: unless the app
// is Immutable, Fiber's strings point into buffers that the next request
// reuses, and a label value is kept for the life of the process.
func method(c *fiber.Ctx) string {
	m := c.Method()
	for _, known := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPatch, fiber.MethodPut, fiber.MethodDelete,
		fiber.MethodHead, fiber.MethodOptions} {
		if m == known {
			return known
		}
	}
	return strings.Clone(m)
}

// routeTemplate is the path of the route that answered (/api/v1/cases/:id),
// never the concrete path. Middleware mounted with Use has the path "/";
// when nothing more specific matched, the request was unmatched.
func routeTemplate(c *fiber.Ctx) string {
	if rt := c.Route(); rt != nil && rt.Path != "/" && rt.Path != "" {
		return rt.Path
	}
	return unmatchedRoute
}
