package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mfshell/mfshell/internal/atomicfile"
)

// File is a tokens file that is re-read when it changes, so that a token
// can be added or revoked without a restart. A change that does not parse
// is logged and ignored: the last good set stays in force.
//
// File is safe for concurrent use.
type File struct {
	Path   string
	Logger *slog.Logger
	// CheckEvery is the least time between two looks at the file: 1 s if
	// 0, every call if negative.
	CheckEvery time.Duration
	Now        func() time.Time

	// mu guards the fields below.
	mu      sync.Mutex
	set     *Set
	stamp   stamp     // of the file the set was read from, or last refused
	checked time.Time // when the file was last looked at
}

// stamp identifies a version of the file without reading it.
type stamp struct {
	size  int64
	mtime time.Time
	ino   any
}

// NewFile returns a File for path. It does no I/O; call Load.
func NewFile(path string, logger *slog.Logger) *File {
	return &File{Path: path, Logger: logger, Now: time.Now}
}

// Load reads the file, failing if it is missing or does not parse.
func (f *File) Load() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	set, err := readSet(f.Path)
	if err != nil {
		return err
	}
	f.set, f.stamp, f.checked = set, stampOf(st), f.Now()
	return nil
}

// Set returns the current token set, re-reading the file first if it
// changed since it was last read.
func (f *File) Set() *Set {
	f.mu.Lock()
	defer f.mu.Unlock()
	every := f.CheckEvery
	if every == 0 {
		every = time.Second
	}
	now := f.Now()
	if every > 0 && now.Sub(f.checked) < every {
		return f.set
	}
	f.checked = now
	st, err := os.Stat(f.Path)
	if err != nil {
		f.Logger.Error("tokens file unreadable; keeping the last good tokens", "path", f.Path, "err", err)
		return f.set
	}
	if s := stampOf(st); s != f.stamp {
		f.stamp = s // refuse a bad version once, not on every request
		set, err := readSet(f.Path)
		if err != nil {
			f.Logger.Error("tokens file refused; keeping the last good tokens", "path", f.Path, "err", err)
			return f.set
		}
		f.set = set
		f.Logger.Info("tokens file reloaded", "path", f.Path, "entries", set.Len())
	}
	return f.set
}

func readSet(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	set, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

func stampOf(st fs.FileInfo) stamp {
	return stamp{size: st.Size(), mtime: st.ModTime(), ino: inode(st)}
}

// Bootstrap makes a first admin token when tokensPath does not exist: it
// writes the token alone to tokenPath and its digest to tokensPath, both
// readable by the owner only. It reports whether it created them.
func Bootstrap(tokensPath, tokenPath string) (bool, error) {
	if _, err := os.Stat(tokensPath); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	token := New()
	data, err := json.MarshalIndent([]wireEntry{{Name: "admin", SHA256: Digest(token), Apps: []string{"*"}}}, "", "  ")
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(tokenPath), 0o700); err != nil {
		return false, err
	}
	if err := atomicfile.Write(tokenPath, []byte(token+"\n"), 0o600); err != nil {
		return false, err
	}
	if err := atomicfile.Create(tokensPath, append(data, '\n'), 0o600); err != nil {
		return false, err
	}
	return true, nil
}
