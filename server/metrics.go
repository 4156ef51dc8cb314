package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	revision     prometheus.Gauge
	writes       *prometheus.CounterVec
	authFailures prometheus.Counter
	sseClients   prometheus.Gauge
	pollErrors   prometheus.Counter
	beacons      *beaconMetrics
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfshell_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mfshell_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests (until the handler returns; streams excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mfshell_manifest_revision",
			Help: "Revision of the manifest this server serves.",
		}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfshell_manifest_writes_total",
			Help: "Manifest writes through the API by result (committed, unchanged, refused, failed).",
		}, []string{"result"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mfshell_auth_failures_total",
			Help: "API requests refused for an invalid token.",
		}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mfshell_events_clients",
			Help: "Open change-feed (SSE) connections.",
		}),
		pollErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mfshell_manifest_poll_errors_total",
			Help: "Polls of the manifest store that failed (the last revision read stays served).",
		}),
	}
	m.beacons = newBeaconMetrics(m.registry)
	m.registry.MustRegister(m.requests, m.duration, m.revision, m.writes, m.authFailures, m.sseClients, m.pollErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// routeMetrics are one route's metrics, with the counters of its common
// outcomes fetched once instead of looked up by label on every request.
type routeMetrics struct {
	m      *metrics
	route  string
	hist   prometheus.Observer
	get200 prometheus.Counter
	get304 prometheus.Counter
}

func (m *metrics) route(route string) *routeMetrics {
	return &routeMetrics{
		m: m, route: route,
		hist:   m.duration.WithLabelValues(route),
		get200: m.requests.WithLabelValues(route, "GET", "200"),
		get304: m.requests.WithLabelValues(route, "GET", "304"),
	}
}

// observe counts one request and its duration.
func (rm *routeMetrics) observe(method string, code int, d time.Duration) {
	rm.hist.Observe(d.Seconds())
	switch {
	case method == "GET" && code == 200:
		rm.get200.Inc()
	case method == "GET" && code == 304:
		rm.get304.Inc()
	default:
		rm.m.requests.WithLabelValues(rm.route, method, strconv.Itoa(code)).Inc()
	}
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times a route's requests, and logs them when the
// access log is on. route is the label, fixed when the route is registered.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	rm := s.metrics.route(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		if route == "events" { // a stream: its duration is the client's stay
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		} else {
			rm.observe(r.Method, sw.status, d)
		}
		if s.AccessLog {
			s.logAccess(r, sw.status, d)
		}
	})
}

func (s *Server) logAccess(r *http.Request, status int, d time.Duration) {
	s.Logger.Info("access", "method", r.Method, "path", r.URL.Path, "status", status,
		"ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
}
