package server

import (
	"context"
	"time"

	"github.com/mfshell/mfshell/manifests"
)

// fallbacksFor returns, for rec, the previous live version of each of its
// apps that has one (with a bundle): from the snapshot served before when
// rec follows it directly, from the history otherwise (at start-up, or
// after a poll that skipped revisions).
func (s *Server) fallbacksFor(rec *manifests.Record) map[string]manifests.App {
	out := map[string]manifests.App{}
	m := rec.Manifest
	if prev := s.snap.Load(); prev != nil && rec.Revision == prev.revision+1 {
		for name, a := range m.Apps {
			if p, ok := prev.record.Manifest.Apps[name]; ok && p.Version != a.Version && p.HasBundle() {
				out[name] = p
			} else if f, ok := prev.fallbacks[name]; ok && f.Version != a.Version {
				out[name] = f
			}
		}
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := manifests.History(ctx, s.Manifests, manifests.Query{Before: rec.Revision, Limit: 100})
	if err != nil {
		s.Logger.Warn("fallback versions: history not read; pages get none until the next revision", "err", err)
		return out
	}
	for name, a := range m.Apps {
		for _, r := range recs { // newest first
			if p, ok := r.Manifest.Apps[name]; ok && p.Version != a.Version && p.HasBundle() {
				out[name] = p
				break
			}
		}
	}
	return out
}

// fallbacksOf returns the fallback function of a variant of sn: an app a
// browser gets at another version than the live one (a canary, an
// override) falls back to the live one; any other, to the previous live
// version.
func (sn *snapshot) fallbacksOf(live *manifests.Manifest) func(string, manifests.App) *publicFallback {
	return func(name string, a manifests.App) *publicFallback {
		f, ok := sn.fallbacks[name]
		if l, isLive := live.Apps[name]; isLive && l.Version != a.Version && l.HasBundle() {
			f, ok = l, true
		}
		if !ok || !a.HasBundle() {
			return nil
		}
		styles := f.Styles
		if styles == nil {
			styles = []string{}
		}
		return &publicFallback{Version: f.Version, Entry: f.Entry, Styles: styles, Integrity: f.Integrity}
	}
}
