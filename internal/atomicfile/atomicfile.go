// Package atomicfile writes files so that a reader, or a restart after a crash,
// sees either the old content or the new content in full, never a mix.
//
// The protocol is the classic one: write a temporary file in the same
// directory, fsync it, then rename it over the target (Write) or hard-link it
// to a name that must not exist yet (Create), and fsync the directory so the
// new name itself is durable.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write atomically replaces path with data, with permission perm for a new
// file. When Write returns nil the new content is durable.
func Write(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// Create atomically creates path with data, failing with an error that
// satisfies errors.Is(err, fs.ErrExist) when path already exists. Of several
// concurrent Creates of one path, in this process or others, exactly one
// succeeds. When Create returns nil the file is durable.
func Create(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	// link(2) fails with EEXIST if path exists, and publishes the complete
	// file under its final name in one step.
	lerr := os.Link(tmp, path)
	os.Remove(tmp)
	if lerr != nil {
		if errors.Is(lerr, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("create %s: %w", path, lerr)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory so that names created, renamed or removed in it
// survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether name (a base name) is a temporary file left by an
// interrupted Write or Create, which readers should ignore and may delete.
func IsTemp(name string) bool {
	return len(name) > len(tempPrefix) && name[:len(tempPrefix)] == tempPrefix
}

const tempPrefix = ".tmp-"

// writeTemp writes data to a new temporary file beside path and fsyncs it.
// It returns the temporary file's name; on error nothing is left behind.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("random name: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), tempPrefix+filepath.Base(path)+"-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", path, werr)
	}
	return tmp, nil
}
