package manifests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors a Store or Apply returns; callers branch on them with errors.Is.
var (
	// ErrConflict means the store is no longer at the revision a commit was
	// computed from: another writer got there first.
	ErrConflict = errors.New("revision conflict")
	// ErrNotExist means a revision that was asked for does not exist.
	ErrNotExist = errors.New("revision does not exist")
	// ErrUnavailable means the store cannot be reached; nothing was written.
	ErrUnavailable = errors.New("manifest store unavailable")
)

// MaxReasonLen bounds the reason recorded with a revision.
const MaxReasonLen = 500

// Record is one revision as kept in the history: the manifest it produced
// and who changed what, when and why.
type Record struct {
	Revision int64     `json:"revision"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Changes  []Change  `json:"changes"`
	Manifest *Manifest `json:"manifest"`
}

// Store keeps every revision of a manifest. Implementations are safe for
// concurrent use.
type Store interface {
	// Current returns the latest record. An empty store returns revision 0
	// with an empty manifest and no error.
	Current(ctx context.Context) (*Record, error)
	// Commit stores rec, whose Revision must be one more than the latest, and
	// makes it the latest. It returns ErrConflict, having written nothing, if
	// the latest revision is no longer rec.Revision-1. When Commit returns nil
	// the record is durable.
	Commit(ctx context.Context, rec *Record) error
	// Get returns the record of one revision, or ErrNotExist.
	Get(ctx context.Context, revision int64) (*Record, error)
	// History returns up to limit records older than revision before (all
	// when before is 0), newest first.
	History(ctx context.Context, before int64, limit int) ([]*Record, error)
}

// Edit describes one change to apply to the latest manifest.
type Edit struct {
	Actor  string
	Reason string
	// IfRevision, when set, makes the edit conditional: it applies only to
	// that revision (0: an empty store) and fails with ErrConflict
	// otherwise, without retry.
	IfRevision *int64
	// Change modifies m, a private copy of the latest manifest. An error
	// from Change aborts the edit and is returned as is; nothing is written.
	// Change may run several times when other writers commit concurrently.
	Change func(m *Manifest) error
	// Now returns the time recorded in the revision; time.Now if nil.
	Now func() time.Time
	// DryRun makes Apply check the edit and return the revision it would
	// commit, without committing it.
	DryRun bool
}

// MaxAttempts bounds how often Apply re-runs an edit that keeps losing races.
// After each lost race Apply pauses for a random time, up to 1 ms at first
// and doubling up to 50 ms, so that writers spread out instead of colliding
// again.
const MaxAttempts = 100

// Apply applies e to the latest revision of s and commits the result as the
// next revision, re-reading and re-applying on conflict so that no
// concurrent write is lost. It returns the committed record, or the latest
// one unchanged (changed=false) when the edit changes nothing. Errors:
// ErrConflict when e.IfRevision is set and stale, a *ValidationError when
// the result is invalid, the error of e.Change, or the store's error.
func Apply(ctx context.Context, s Store, e Edit) (rec *Record, changed bool, err error) {
	if err := checkReason(e.Reason); err != nil {
		return nil, false, err
	}
	now := e.Now
	if now == nil {
		now = time.Now
	}
	for attempt := 1; ; attempt++ {
		cur, err := s.Current(ctx)
		if err != nil {
			return nil, false, err
		}
		if e.IfRevision != nil && cur.Revision != *e.IfRevision {
			return nil, false, fmt.Errorf("store is at revision %d, not %d: %w", cur.Revision, *e.IfRevision, ErrConflict)
		}
		next := cur.Manifest.Clone()
		if err := e.Change(next); err != nil {
			return nil, false, err
		}
		next.Schema = SchemaVersion
		next.Revision = cur.Revision + 1
		if err := Validate(next); err != nil {
			return nil, false, err
		}
		changes := Diff(cur.Manifest.Apps, next.Apps)
		if len(changes) == 0 && next.CDN == cur.Manifest.CDN {
			return cur, false, nil
		}
		rec := &Record{
			Revision: next.Revision,
			Time:     now().UTC(),
			Actor:    e.Actor,
			Reason:   e.Reason,
			Changes:  changes,
			Manifest: next,
		}
		if e.DryRun {
			return rec, true, nil
		}
		err = s.Commit(ctx, rec)
		switch {
		case err == nil:
			return rec, true, nil
		case !errors.Is(err, ErrConflict):
			return nil, false, err
		case e.IfRevision != nil:
			return nil, false, err
		case attempt >= MaxAttempts:
			return nil, false, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if err := wait(ctx, backoff(attempt)); err != nil {
			return nil, false, err
		}
	}
}

// Bounds of the pause between attempts of Apply.
const (
	minBackoff = time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// backoff returns the pause after the attempt-th conflict: a random time
// up to a limit that doubles from minBackoff to maxBackoff ("full
// jitter"), so that writers that collided spread out and the first of
// them tries again soon.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 8 {
		d = min(minBackoff<<(attempt-1), maxBackoff)
	}
	return rand.N(d + 1)
}

// wait pauses for d, or returns ctx's error if ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func checkReason(reason string) error {
	var ps problems
	switch {
	case len(reason) > MaxReasonLen:
		ps.add("reason", "must be at most %d characters, got %d", MaxReasonLen, len(reason))
	case !utf8.ValidString(reason):
		ps.add("reason", "must be valid UTF-8")
	case strings.ContainsFunc(reason, func(r rune) bool { return r < 0x20 && r != '\t' }):
		ps.add("reason", "must be one line without control characters")
	}
	return ps.err()
}

// Query selects records from a history.
type Query struct {
	App    string // only revisions that changed this app, if set
	Before int64  // only revisions older than this, if above 0
	Limit  int    // at most this many; 50 if 0
}

// History returns the records matching q from s, newest first, paging
// through the store as needed.
func History(ctx context.Context, s Store, q Query) ([]*Record, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var out []*Record
	before := q.Before
	for len(out) < q.Limit {
		page, err := s.History(ctx, before, max(q.Limit, 100))
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if q.App == "" || touches(r, q.App) {
				out = append(out, r)
				if len(out) == q.Limit {
					break
				}
			}
		}
		if len(page) == 0 || page[len(page)-1].Revision <= 1 {
			break
		}
		before = page[len(page)-1].Revision
	}
	return out, nil
}

func touches(r *Record, app string) bool {
	for _, c := range r.Changes {
		if c.App == app {
			return true
		}
	}
	return false
}

// Rollback returns an Edit change that sets the apps to those of old, a
// revision's manifest, as a new revision.
func Rollback(old *Manifest) func(m *Manifest) error {
	return func(m *Manifest) error {
		m.Apps = old.Clone().Apps
		return nil
	}
}
