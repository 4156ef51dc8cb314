package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// maxBeaconBytes bounds a beacon's body (DESIGN.md: at most 1 KiB).
const maxBeaconBytes = 1 << 10

// beacon is what the runtime reports after a mount, a failure or an
// unmount, with navigator.sendBeacon.
type beacon struct {
	App     string   `json:"app"`
	Version string   `json:"version"`
	Outcome string   `json:"outcome"` // mounted, error, fallback or unmounted
	MS      *float64 `json:"ms"`      // how long a mount took, for outcome mounted
	// Cleaned is what teardown released at an unmount.
	Cleaned *struct {
		Listeners, Timers, Observers, Globals, Nodes int
	} `json:"cleaned"`
}

// beaconMetrics are the metrics beacons feed, per app and version.
type beaconMetrics struct {
	mounts  *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	cleaned *prometheus.CounterVec
	dropped *prometheus.CounterVec
}

func newBeaconMetrics(reg prometheus.Registerer) *beaconMetrics {
	m := &beaconMetrics{
		mounts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfshell_app_mounts_total",
			Help: "Mounts reported by browsers, by app, version and outcome (mounted, error, fallback).",
		}, []string{"app", "version", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mfshell_app_mount_seconds",
			Help:    "Time from the start of a mount to the app mounted, reported by browsers.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"app", "version"}),
		cleaned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfshell_app_cleaned_total",
			Help: "What teardown released at unmounts reported by browsers, by app, version and kind: what the app left behind.",
		}, []string{"app", "version", "kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfshell_beacons_dropped_total",
			Help: "Beacons ignored, by reason: malformed, too large, or an app and version the manifest does not have.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.mounts, m.seconds, m.cleaned, m.dropped)
	return m
}

// handleBeacon takes a beacon as sendBeacon sends it (any content type,
// no credentials needed) and counts it, if it names an app and a version
// that the served manifest has (live or canary): labels stay bounded by
// the manifest, whatever browsers send. It answers 204 for a beacon
// counted or dropped as unknown, 400 and 413 for the malformed and the
// oversized ones.
func (s *Server) handleBeacon(w http.ResponseWriter, r *http.Request) {
	m := s.metrics.beacons
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBeaconBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		m.dropped.WithLabelValues("too large").Inc()
		http.Error(w, "beacon larger than 1 KiB", http.StatusRequestEntityTooLarge)
		return
	}
	var b beacon
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		err = dec.Decode(&b)
	}
	if err != nil || !b.valid() {
		m.dropped.WithLabelValues("malformed").Inc()
		http.Error(w, "malformed beacon", http.StatusBadRequest)
		return
	}
	if !s.knownVersion(b.App, b.Version) {
		m.dropped.WithLabelValues("unknown").Inc()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch b.Outcome {
	case "unmounted":
		if c := b.Cleaned; c != nil {
			for kind, n := range map[string]int{"listeners": c.Listeners, "timers": c.Timers, "observers": c.Observers, "globals": c.Globals, "nodes": c.Nodes} {
				if n > 0 {
					m.cleaned.WithLabelValues(b.App, b.Version, kind).Add(float64(n))
				}
			}
		}
	default:
		m.mounts.WithLabelValues(b.App, b.Version, b.Outcome).Inc()
		if b.Outcome == "mounted" && b.MS != nil {
			m.seconds.WithLabelValues(b.App, b.Version).Observe(*b.MS / 1000)
		}
		s.watch(b.App, b.Version, b.Outcome)
	}
	w.WriteHeader(http.StatusNoContent)
}

// valid reports whether b is a beacon the runtime could have sent.
func (b *beacon) valid() bool {
	switch b.Outcome {
	case "mounted", "error", "fallback", "unmounted":
	default:
		return false
	}
	if b.MS != nil && !(*b.MS >= 0 && *b.MS < 3600e3) {
		return false
	}
	if c := b.Cleaned; c != nil {
		for _, n := range []int{c.Listeners, c.Timers, c.Observers, c.Globals, c.Nodes} {
			if n < 0 || n > 1e6 {
				return false
			}
		}
	}
	return b.App != "" && b.Version != ""
}

// knownVersion reports whether the served manifest has app at version:
// live, as its canary, or as its fallback (which browsers mount when the
// live version fails, and later unmount).
func (s *Server) knownVersion(app, version string) bool {
	sn := s.snap.Load()
	a, ok := sn.record.Manifest.Apps[app]
	f, hasFallback := sn.fallbacks[app]
	return ok && (a.Version == version || a.Canary != nil && a.Canary.Version == version || hasFallback && f.Version == version)
}
