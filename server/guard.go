package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mfshell/mfshell/manifests"
)

// guard keeps the mount outcomes browsers report, per app and version,
// and aborts a canary whose error rate crosses its limit: a canary with
// "minMounts" is aborted by the server itself (a revision by the actor
// canary-guard) once it has at least that many mounts and its share of
// failed ones (error or fallback) is above both its "maxErrorRate" and the
// live version's. Each replica judges by the beacons it receives.
type guard struct {
	mu     sync.Mutex
	counts map[appVersion]*outcomes
}

type appVersion struct{ app, version string }

// outcomes counts mounts: all of them, and the failed ones.
type outcomes struct{ mounts, failed int }

func (o outcomes) rate() float64 {
	if o.mounts == 0 {
		return 0
	}
	return float64(o.failed) / float64(o.mounts)
}

// record counts one mount outcome and returns the counts of app's canary
// and live version as they are now.
func (g *guard) record(app, version, outcome string, live, canary string) (c, l outcomes) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.counts == nil {
		g.counts = map[appVersion]*outcomes{}
	}
	k := appVersion{app, version}
	o := g.counts[k]
	if o == nil {
		o = &outcomes{}
		g.counts[k] = o
	}
	o.mounts++
	if outcome != "mounted" {
		o.failed++
	}
	if p := g.counts[appVersion{app, canary}]; p != nil {
		c = *p
	}
	if p := g.counts[appVersion{app, live}]; p != nil {
		l = *p
	}
	return c, l
}

// watch counts a mount beacon of app at version and aborts app's canary
// if it must go.
func (s *Server) watch(app, version, outcome string) {
	a, ok := s.snap.Load().record.Manifest.Apps[app]
	if !ok || a.Canary == nil {
		s.guard.record(app, version, outcome, "", "")
		return
	}
	cv := a.Canary
	c, l := s.guard.record(app, version, outcome, a.Version, cv.Version)
	if version != cv.Version || cv.MinMounts == 0 || c.mounts < cv.MinMounts || c.rate() <= cv.MaxErrorRate || c.rate() <= l.rate() {
		return
	}
	reason := fmt.Sprintf("canary %s of %s aborted: %d of %d mounts failed (%.1f%%), above its maxErrorRate (%.1f%%) and the live %s (%d of %d, %.1f%%)",
		cv.Version, app, c.failed, c.mounts, 100*c.rate(), 100*cv.MaxErrorRate, a.Version, l.failed, l.mounts, 100*l.rate())
	go s.abortCanary(app, cv.Version, reason)
}

// abortCanary ends app's canary of version, if it is still there, as the
// actor canary-guard.
func (s *Server) abortCanary(app, version, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	rec, changed, err := manifests.Apply(ctx, s.Manifests, manifests.Edit{
		Actor:  "canary-guard",
		Reason: reason,
		Now:    s.Now,
		Change: func(m *manifests.Manifest) error {
			if a, ok := m.Apps[app]; ok && a.Canary != nil && a.Canary.Version == version {
				a.Canary = nil
				m.Apps[app] = a
			}
			return nil
		},
	})
	switch {
	case err != nil:
		s.Logger.Error("canary guard: abort failed", "app", app, "version", version, "err", err)
		return
	case !changed:
		return // aborted already, by this guard, another replica or someone
	}
	s.metrics.writes.WithLabelValues("committed").Inc()
	s.Logger.Warn("manifest changed", "revision", rec.Revision, "actor", rec.Actor, "reason", rec.Reason, "change", manifests.Summary(rec.Changes))
	if err := s.serveRecord(rec); err != nil {
		s.Logger.Error("serve new revision", "revision", rec.Revision, "err", err)
	}
}
