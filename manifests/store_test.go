package manifests

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testStore runs the conformance suite that every Store must pass. open
// returns a new, empty store.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("empty", func(t *testing.T) {
		s := open(t)
		cur, err := s.Current(ctx)
		if err != nil || cur.Revision != 0 || len(cur.Manifest.Apps) != 0 {
			t.Fatalf("Current: got %+v, %v; want revision 0, no apps", cur, err)
		}
		if _, err := s.Get(ctx, 1); !errors.Is(err, ErrNotExist) {
			t.Fatalf("Get(1): got %v, want ErrNotExist", err)
		}
		if h, err := s.History(ctx, 0, 10); err != nil || len(h) != 0 {
			t.Fatalf("History: got %d records, %v; want none", len(h), err)
		}
	})

	t.Run("apply and read back", func(t *testing.T) {
		s := open(t)
		r1 := mustApply(t, s, Edit{Actor: "ops", Reason: "first", Change: putApp("catalog", "1.0.0")})
		r2 := mustApply(t, s, Edit{Actor: "team", Reason: "second", Change: putApp("catalog", "1.1.0")})
		if r1.Revision != 1 || r2.Revision != 2 {
			t.Fatalf("got revisions %d, %d; want 1, 2", r1.Revision, r2.Revision)
		}
		got, err := s.Get(ctx, 1)
		if err != nil || got.Actor != "ops" || got.Reason != "first" || got.Manifest.Apps["catalog"].Version != "1.0.0" {
			t.Fatalf("Get(1): got %+v, %v", got, err)
		}
		if got.Time.IsZero() || len(got.Changes) != 1 || got.Changes[0].Action != ActionCreate {
			t.Fatalf("Get(1): time %v, changes %+v", got.Time, got.Changes)
		}
		h, err := s.History(ctx, 0, 10)
		if err != nil || len(h) != 2 || h[0].Revision != 2 || h[1].Revision != 1 {
			t.Fatalf("History: got %v, %v; want revisions 2, 1", revisions(h), err)
		}
		if h, _ := s.History(ctx, 2, 10); len(h) != 1 || h[0].Revision != 1 {
			t.Fatalf("History before 2: got %v, want [1]", revisions(h))
		}
	})

	t.Run("stale commit changes nothing", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
		cur, _ := s.Current(ctx)
		stale := &Record{Revision: 1, Actor: "late", Manifest: cur.Manifest.Clone()}
		if err := s.Commit(ctx, stale); !errors.Is(err, ErrConflict) {
			t.Fatalf("Commit of taken revision: got %v, want ErrConflict", err)
		}
		skip := &Record{Revision: 3, Actor: "ahead", Manifest: cur.Manifest.Clone()}
		skip.Manifest.Revision = 3
		if err := s.Commit(ctx, skip); !errors.Is(err, ErrConflict) {
			t.Fatalf("Commit skipping a revision: got %v, want ErrConflict", err)
		}
		_, _, err := Apply(ctx, s, Edit{Actor: "ops", IfRevision: new(int64(7)), Change: putApp("catalog", "2.0.0")})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("Apply with stale IfRevision: got %v, want ErrConflict", err)
		}
		if cur, _ := s.Current(ctx); cur.Revision != 1 || cur.Manifest.Apps["catalog"].Version != "1.0.0" {
			t.Fatalf("after refused writes: got revision %d, version %q", cur.Revision, cur.Manifest.Apps["catalog"].Version)
		}
	})

	t.Run("invalid or failed edit changes nothing", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
		_, _, err := Apply(ctx, s, Edit{Actor: "ops", Change: putApp("catalog", "../etc")})
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("invalid version: got %v, want a ValidationError", err)
		}
		boom := errors.New("boom")
		if _, _, err := Apply(ctx, s, Edit{Actor: "ops", Change: func(*Manifest) error { return boom }}); err != boom {
			t.Fatalf("failing change: got %v, want boom", err)
		}
		if _, _, err := Apply(ctx, s, Edit{Actor: "ops", Reason: strings.Repeat("x", 501), Change: putApp("catalog", "2")}); !errors.As(err, &ve) {
			t.Fatalf("long reason: got %v, want a ValidationError", err)
		}
		if cur, _ := s.Current(ctx); cur.Revision != 1 {
			t.Fatalf("got revision %d, want 1", cur.Revision)
		}
	})

	t.Run("no-op edit makes no revision", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
		rec, changed, err := Apply(ctx, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
		if err != nil || changed || rec.Revision != 1 {
			t.Fatalf("got revision %d changed=%v err=%v; want 1, false, nil", rec.Revision, changed, err)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.1.0")})
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("cart", "3.0.0")})
		old, err := s.Get(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		rec := mustApply(t, s, Edit{Actor: "ops", Reason: "roll back", Change: Rollback(old.Manifest)})
		if rec.Revision != 4 || len(rec.Manifest.Apps) != 1 || rec.Manifest.Apps["catalog"].Version != "1.0.0" {
			t.Fatalf("got revision %d apps %v", rec.Revision, rec.Manifest.Names())
		}
		h, err := History(ctx, s, Query{App: "cart"})
		if err != nil || fmt.Sprint(revisions(h)) != "[4 3]" {
			t.Fatalf("History of cart: got %v, %v; want [4 3]", revisions(h), err)
		}
	})

	t.Run("50 concurrent writers on 50 apps", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() {
				_, _, err := Apply(ctx, s, Edit{Actor: "w", Change: putApp(fmt.Sprintf("app%d", i), "1.0.0")})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		cur, _ := s.Current(ctx)
		if cur.Revision != 50 || len(cur.Manifest.Apps) != 50 {
			t.Fatalf("got revision %d with %d apps, want 50 and 50", cur.Revision, len(cur.Manifest.Apps))
		}
		checkHistory(t, s, 50)
	})

	t.Run("50 concurrent writers on one app", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() {
				_, _, err := Apply(ctx, s, Edit{Actor: "w", Change: func(m *Manifest) error {
					a := m.Apps["catalog"]
					a.Template += fmt.Sprintf("<i>%d</i>", i)
					m.Apps["catalog"] = a
					return nil
				}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		cur, _ := s.Current(ctx)
		if cur.Revision != 51 {
			t.Fatalf("got revision %d, want 51", cur.Revision)
		}
		for i := range 50 {
			if !strings.Contains(cur.Manifest.Apps["catalog"].Template, fmt.Sprintf("<i>%d</i>", i)) {
				t.Errorf("write %d was lost", i)
			}
		}
		checkHistory(t, s, 51)
	})
}

// checkHistory checks that revisions n..1 are all there, in order.
func checkHistory(t *testing.T, s Store, n int64) {
	t.Helper()
	h, err := History(context.Background(), s, Query{Limit: int(n) + 10})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(h)) != n {
		t.Fatalf("history holds %d revisions, want %d", len(h), n)
	}
	for i, r := range h {
		if want := n - int64(i); r.Revision != want || r.Manifest.Revision != want {
			t.Fatalf("history[%d] is revision %d (manifest %d), want %d", i, r.Revision, r.Manifest.Revision, want)
		}
	}
}

func mustApply(t *testing.T, s Store, e Edit) *Record {
	t.Helper()
	rec, _, err := Apply(context.Background(), s, e)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return rec
}

// putApp returns a change that sets app name to a valid entry at version.
func putApp(name, version string) func(m *Manifest) error {
	return func(m *Manifest) error {
		a := validApp()
		a.Version, a.Route = version, "/"+name
		m.Apps[name] = a
		return nil
	}
}

func revisions(rs []*Record) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.Revision)
	}
	return out
}

func TestFileStore(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		s := NewFileStore(filepath.Join(t.TempDir(), "manifest.json"))
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		limit := maxBackoff
		if attempt < 8 {
			limit = min(minBackoff<<(attempt-1), maxBackoff)
		}
		for range 100 {
			if d := backoff(attempt); d < 0 || d > limit {
				t.Fatalf("backoff(%d) = %v, want 0 to %v", attempt, d, limit)
			}
		}
	}
}

// TestApplyStopsWhenContextEnds checks that Apply, losing every race,
// returns the context's error instead of retrying on.
func TestApplyStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &conflictingStore{Store: NewFileStore(filepath.Join(t.TempDir(), "manifest.json")), cancel: cancel, after: 3}
	if err := s.Store.(*FileStore).Open(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err := Apply(ctx, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
	if !errors.Is(err, context.Canceled) || s.commits != 3 {
		t.Fatalf("got %v after %d commits, want context.Canceled after 3", err, s.commits)
	}
}

// conflictingStore is a Store whose commits always conflict; it cancels
// the context at the after-th.
type conflictingStore struct {
	Store
	cancel  func()
	after   int
	commits int
}

func (s *conflictingStore) Commit(ctx context.Context, rec *Record) error {
	s.commits++
	if s.commits == s.after {
		s.cancel()
	}
	return ErrConflict
}
