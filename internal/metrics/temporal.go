package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// Temporal returns the handler to set as client.Options.MetricsHandler: the
// SDK's counters, gauges and timers become Prometheus metrics of this
// registry, created on first use with the SDK's tag keys as labels.
//
// Names follow the SDK's Prometheus convention (its tally contrib's
// NewPrometheusNamingScope), so Temporal's published SDK dashboards work:
// a "temporal_" prefix, "_total" on counters and "_seconds" on timers,
// which are histograms (temporal_request_total,
// temporal_workflow_task_execution_latency_seconds_bucket, …).
func (r *Registry) Temporal() client.MetricsHandler {
	return &sdkHandler{m: r.temporal}
}

// sdkBuckets are the buckets of the SDK's timers in seconds: RPCs and tasks
// take milliseconds, long polls a minute, schedule-to-start and end-to-end
// latencies may take much longer.
var sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600}

// droppedTags are never labels, should an SDK version start sending them:
// one series per workflow or activity would grow without bound, and a
// workflow ID names a case.
var droppedTags = map[string]bool{"workflow_id": true, "run_id": true, "activity_id": true, "workflow_run_id": true}

// perProcessQueue is the prefix of the SDK's worker-command task queue,
// which ends in a random ID per client: folded so each restart does not
// start new series.
const perProcessQueue = "temporal-sys/worker-commands/"

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

func (k sdkKind) String() string {
	return [...]string{"counter", "gauge", "timer"}[k]
}

// sdkMetrics holds the SDK's metric vectors. The SDK may use one name with
// different tag keys (a tag added on one code path only); Prometheus vectors
// have fixed label names, so there is one vector per name and sorted key
// set, and the collector hands them all to the registry, which merges them
// into one family per name. It is an unchecked collector (it describes
// nothing): the metrics are not known before the SDK uses them.
type sdkMetrics struct {
	mu    sync.RWMutex
	vecs  map[string]prometheus.Collector // by kind, name and label keys
	kinds map[string]sdkKind              // Prometheus name → the kind that owns it
	// order keeps the vectors in creation order for a stable exposition.
	order []prometheus.Collector
}

func newSDKMetrics() *sdkMetrics {
	return &sdkMetrics{vecs: map[string]prometheus.Collector{}, kinds: map[string]sdkKind{}}
}

// Describe sends nothing: an unchecked collector.
func (m *sdkMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect collects every vector made so far.
func (m *sdkMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.RLock()
	vecs := slices.Clone(m.order)
	m.mu.RUnlock()
	for _, v := range vecs {
		v.Collect(ch)
	}
}

// vec returns the vector of a kind, SDK name and label keys, making it on
// first use.
func (m *sdkMetrics) vec(kind sdkKind, sdkName string, keys []string, keyID string) prometheus.Collector {
	id := kind.String() + "\x00" + sdkName + "\x00" + keyID
	m.mu.RLock()
	v, ok := m.vecs[id]
	m.mu.RUnlock()
	if ok {
		return v
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.vecs[id]; ok {
		return v
	}
	name := promName(kind, sdkName)
	// One Prometheus name has one type: a name another kind already owns
	// gets the kind as a suffix instead of failing the scrape.
	if owner, taken := m.kinds[name]; taken && owner != kind {
		name += "_" + kind.String()
	}
	m.kinds[name] = kind
	help := "Temporal SDK " + kind.String() + " " + sdkName + "."
	switch kind {
	case sdkCounter:
		v = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, keys)
	case sdkGauge:
		v = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, keys)
	default:
		v = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: sdkBuckets}, keys)
	}
	m.vecs[id] = v
	m.order = append(m.order, v)
	return v
}

// promName makes an SDK name a valid Prometheus name in the SDK's convention.
func promName(kind sdkKind, sdkName string) string {
	name := sanitize(sdkName)
	if !strings.HasPrefix(name, "temporal_") {
		name = "temporal_" + name
	}
	switch {
	case kind == sdkCounter && !strings.HasSuffix(name, "_total"):
		name += "_total"
	case kind == sdkTimer && !strings.HasSuffix(name, "_seconds"):
		name += "_seconds"
	}
	return name
}

// sanitize keeps [a-zA-Z0-9_] and replaces anything else with '_'; a name
// may not start with a digit, and names starting "__" are reserved.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	if strings.HasPrefix(out, "__") {
		out = "x" + out
	}
	return out
}

// sdkHandler is the SDK's handler with a set of tags. It is immutable:
// WithTags returns a new one, so it is safe for concurrent use.
type sdkHandler struct {
	m    *sdkMetrics
	tags map[string]string
	// keys and values are tags in label form, sorted by key; keyID joins keys.
	keys, values []string
	keyID        string
}

// WithTags returns a handler with the tags added (a new value replaces an old one).
func (h *sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range tags {
		merged[k] = v
	}
	n := &sdkHandler{m: h.m, tags: merged}
	labels := map[string]string{}
	for k, v := range merged {
		k = sanitize(k)
		if k == "le" || k == "quantile" { // reserved by histograms and summaries
			k += "_tag"
		}
		if droppedTags[k] || v == "" {
			// An empty value is no label in Prometheus: keeping it would
			// make two series that the server cannot tell apart.
			continue
		}
		if k == "task_queue" && strings.HasPrefix(v, perProcessQueue) {
			v = perProcessQueue + "*"
		}
		labels[k] = strings.ToValidUTF8(v, string(utf8.RuneError))
	}
	n.keys = slices.Sorted(maps.Keys(labels))
	for _, k := range n.keys {
		n.values = append(n.values, labels[k])
	}
	n.keyID = strings.Join(n.keys, ",")
	return n
}

// Counter returns the counter of the name with this handler's tags.
func (h *sdkHandler) Counter(name string) client.MetricsCounter {
	c := h.m.vec(sdkCounter, name, h.keys, h.keyID).(*prometheus.CounterVec).WithLabelValues(h.values...)
	return sdkCounterFunc(func(d int64) {
		if d > 0 { // a Prometheus counter panics when it would decrease
			c.Add(float64(d))
		}
	})
}

// Gauge returns the gauge of the name with this handler's tags.
func (h *sdkHandler) Gauge(name string) client.MetricsGauge {
	g := h.m.vec(sdkGauge, name, h.keys, h.keyID).(*prometheus.GaugeVec).WithLabelValues(h.values...)
	return sdkGaugeFunc(g.Set)
}

// Timer returns the timer (a histogram in seconds) of the name with this handler's tags.
func (h *sdkHandler) Timer(name string) client.MetricsTimer {
	o := h.m.vec(sdkTimer, name, h.keys, h.keyID).(*prometheus.HistogramVec).WithLabelValues(h.values...)
	return sdkTimerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type sdkCounterFunc func(int64)

func (f sdkCounterFunc) Inc(d int64) { f(d) }

type sdkGaugeFunc func(float64)

func (f sdkGaugeFunc) Update(v float64) { f(v) }

type sdkTimerFunc func(time.Duration)

func (f sdkTimerFunc) Record(d time.Duration) { f(d) }
