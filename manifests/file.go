package manifests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mfshell/mfshell/internal/atomicfile"
)

// FileStore keeps a manifest's history on a local disk: one file per
// revision in a history folder beside the manifest file, named by revision
// number. The history file is the commit point: it is created with a hard
// link, which fails if another writer took that revision, so commits are
// compare-and-swap even across processes. The manifest file itself is a
// copy of the latest revision for people and tools to read; it is replaced
// atomically after each commit and repaired on Open after a crash.
//
// FileStore is safe for concurrent use.
type FileStore struct {
	path string // the manifest file
	dir  string // the history folder

	// mu serializes commits and guards cur.
	mu  sync.Mutex
	cur *Record
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store for the manifest file at path, whose history
// lives in the folder path without ".json" plus ".history". It does no I/O;
// call Open.
func NewFileStore(path string) *FileStore {
	return &FileStore{
		path: path,
		dir:  strings.TrimSuffix(path, ".json") + ".history",
	}
}

// Path returns the manifest file's path.
func (s *FileStore) Path() string { return s.path }

// Open creates the folders if needed, removes temporary files left by a
// crash, loads the latest revision and brings the manifest file up to date
// with it. If the history is empty and a manifest file exists (written by
// hand, say), it is validated and imported as revision 1.
func (s *FileStore) Open(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("open manifest store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(); err != nil {
		return fmt.Errorf("open manifest store %s: %w", s.path, err)
	}
	if s.cur.Revision == 0 {
		return s.importFile()
	}
	return s.refreshCopy(false)
}

// importFile commits an existing manifest file as revision 1. s.mu is held.
func (s *FileStore) importFile() error {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", s.path, err)
	}
	m, err := Decode(data)
	if err != nil {
		return fmt.Errorf("import %s: %w", s.path, err)
	}
	m.Revision = 1
	rec := &Record{
		Revision: 1, Time: time.Now().UTC(), Actor: "mfshell",
		Reason:  "imported from " + filepath.Base(s.path),
		Changes: Diff(nil, m.Apps), Manifest: m,
	}
	return s.commitLocked(rec)
}

// load finds the latest revision on disk and reads it into s.cur, removing
// temporary files of interrupted writes. s.mu is held.
func (s *FileStore) load() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var latest int64
	for _, e := range entries {
		name := e.Name()
		if atomicfile.IsTemp(name) {
			// Left by a crash before its link: never committed.
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if n, ok := parseRecordName(name); ok && n > latest {
			latest = n
		}
	}
	if latest == 0 {
		s.cur = &Record{Manifest: New("")}
		return nil
	}
	rec, err := s.read(latest)
	if err != nil {
		return err
	}
	s.cur = rec
	return nil
}

// Current returns the latest record. The caller must not modify it.
func (s *FileStore) Current(ctx context.Context) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil, errors.New("manifest store is not open")
	}
	return s.cur, nil
}

// Commit makes rec the latest revision; see [Store].
func (s *FileStore) Commit(ctx context.Context, rec *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return errors.New("manifest store is not open")
	}
	return s.commitLocked(rec)
}

// commitLocked writes rec's history file, then the manifest copy. s.mu is held.
func (s *FileStore) commitLocked(rec *Record) error {
	if rec.Revision != s.cur.Revision+1 || rec.Manifest.Revision != rec.Revision {
		return fmt.Errorf("commit revision %d on %d: %w", rec.Revision, s.cur.Revision, ErrConflict)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("commit revision %d: %w", rec.Revision, err)
	}
	err = atomicfile.Create(s.recordPath(rec.Revision), append(data, '\n'), 0o644)
	if errors.Is(err, fs.ErrExist) {
		// Another process committed this revision: catch up with it.
		if lerr := s.load(); lerr != nil {
			return fmt.Errorf("commit revision %d: reload: %w", rec.Revision, lerr)
		}
		return fmt.Errorf("commit revision %d: %w", rec.Revision, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("commit revision %d: %w", rec.Revision, err)
	}
	s.cur = rec
	return s.refreshCopy(true)
}

// refreshCopy rewrites the manifest file from s.cur if it differs (or
// always, if force). s.mu is held.
func (s *FileStore) refreshCopy(force bool) error {
	data, err := json.MarshalIndent(s.cur.Manifest, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if !force {
		if old, err := os.ReadFile(s.path); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	if err := atomicfile.Write(s.path, data, 0o644); err != nil {
		return fmt.Errorf("revision %d is committed, but updating its copy failed: %w", s.cur.Revision, err)
	}
	return nil
}

// Get returns the record of one revision, or ErrNotExist.
func (s *FileStore) Get(ctx context.Context, revision int64) (*Record, error) {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil {
		return nil, errors.New("manifest store is not open")
	}
	if revision == cur.Revision {
		return cur, nil
	}
	if revision < 1 || revision > cur.Revision {
		return nil, fmt.Errorf("revision %d: %w", revision, ErrNotExist)
	}
	return s.read(revision)
}

// History returns records older than before, newest first; see [Store].
func (s *FileStore) History(ctx context.Context, before int64, limit int) ([]*Record, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, err
	}
	top := cur.Revision
	if before > 0 && before-1 < top {
		top = before - 1
	}
	var out []*Record
	for rev := top; rev >= 1 && len(out) < limit; rev-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := s.Get(ctx, rev)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// read decodes one history file, checking the manifest in it strictly.
func (s *FileStore) read(revision int64) (*Record, error) {
	data, err := os.ReadFile(s.recordPath(revision))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("revision %d: %w", revision, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("read revision %d: %w", revision, err)
	}
	rec, err := decodeRecord(data)
	if err != nil {
		return nil, fmt.Errorf("read revision %d from %s: %w", revision, s.recordPath(revision), err)
	}
	if rec.Revision != revision {
		return nil, fmt.Errorf("read revision %d: file holds revision %d", revision, rec.Revision)
	}
	return rec, nil
}

// decodeRecord parses a stored record, validating its manifest.
func decodeRecord(data []byte) (*Record, error) {
	var w struct {
		Record
		Manifest json.RawMessage `json:"manifest"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	m, err := Decode(w.Manifest)
	if err != nil {
		return nil, err
	}
	rec := w.Record
	rec.Manifest = m
	return &rec, nil
}

func (s *FileStore) recordPath(revision int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.json", revision))
}

// parseRecordName returns the revision of a history file name.
func parseRecordName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, ".json")
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n > 0
}

// Ping reports whether the store's folder is reachable.
func (s *FileStore) Ping(ctx context.Context) error {
	if _, err := os.Stat(s.dir); err != nil {
		return fmt.Errorf("manifest store: %w", err)
	}
	return nil
}
