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
	}
	m.registry.MustRegister(m.requests, m.duration, m.revision, m.writes, m.authFailures, m.sseClients,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
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
	hist := s.metrics.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		if route != "events" {
			hist.Observe(d.Seconds())
		}
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		if s.AccessLog {
			s.Logger.Info("access", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
		}
	})
}
