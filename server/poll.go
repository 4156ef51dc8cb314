package server

import (
	"context"
	"time"
)

// poll reads the store's latest revision every s.Poll until ctx ends, so
// that changes written by other replicas (or other processes on one file
// store) reach this server's pages through the change feed. A failed read
// keeps the revision served: pages go on working on the last manifest
// known, /readyz reports the store's state, and the next poll recovers.
// Failures are logged when they start and when they end, not every poll.
func (s *Server) poll(ctx context.Context) {
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, max(s.Poll, 5*time.Second))
		err := s.refresh(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			s.metrics.pollErrors.Inc()
			s.Logger.Warn("manifest store unreachable; serving the last revision read", "revision", s.snap.Load().revision, "err", err)
		case err != nil:
			s.metrics.pollErrors.Inc()
		case failing:
			failing = false
			s.Logger.Info("manifest store reachable again", "revision", s.snap.Load().revision)
		}
	}
}
