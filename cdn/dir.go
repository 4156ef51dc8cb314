package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mfshell/mfshell/internal/atomicfile"
	"github.com/mfshell/mfshell/manifests"
)

// stagingDir, under a Dir's root, holds versions being created, and
// staleStaging is the age after which Init deletes one as abandoned. It is
// long because a publish from the CLI may be under way while a server starts
// on the same directory.
const (
	stagingDir   = ".staging"
	staleStaging = 24 * time.Hour
)

// Dir is the store that keeps bundles in a local directory, as
// ROOT/NAME/VER/PATH. Versions being created are staged in
// ROOT/.staging/RANDOM/ and renamed into place when complete. A Dir is safe
// for concurrent use, and several processes may share one directory on a
// local file system.
type Dir struct {
	Root string // the directory; set it before use
}

var _ Store = (*Dir)(nil)

// NewDir returns the store in directory root. It does no I/O; call Init
// before serving.
func NewDir(root string) *Dir {
	return &Dir{Root: root}
}

// Init creates the root directory if needed, and deletes staging folders
// left by publishes that were interrupted at least a day ago; younger ones
// may belong to a publish still under way in another process.
func (d *Dir) Init(ctx context.Context) error {
	staging := filepath.Join(d.Root, stagingDir)
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return fmt.Errorf("dir store: init: %w", err)
	}
	entries, err := os.ReadDir(staging)
	if err != nil {
		return fmt.Errorf("dir store: init: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile: its publish failed or another Init got it
		}
		if err != nil {
			return fmt.Errorf("dir store: init: %w", err)
		}
		if time.Since(info.ModTime()) < staleStaging {
			continue
		}
		if err := os.RemoveAll(filepath.Join(staging, e.Name())); err != nil {
			return fmt.Errorf("dir store: init: remove stale staging folder: %w", err)
		}
	}
	return nil
}

// Open returns the file at key, "NAME/VER/PATH". It returns an error
// satisfying errors.Is(err, ErrNotExist) if the key is invalid or names a
// hidden file, a folder, a missing file, or a file of a version without an
// asset manifest.
func (d *Dir) Open(ctx context.Context, key string) (*Object, error) {
	app, version, name, err := splitKey(key)
	if err != nil {
		return nil, fmt.Errorf("dir store: open: %w", &keyError{key: key, err: err})
	}
	dir := filepath.Join(d.Root, app, version)
	// CreateVersion renames whole versions into place, so a version with
	// files but no asset manifest was not made by it (say, copied by hand
	// and interrupted); it is not published.
	if name != AssetManifestName {
		if _, err := os.Stat(filepath.Join(dir, AssetManifestName)); err != nil {
			return nil, fmt.Errorf("dir store: open %s: %w", key, notExist(err))
		}
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, fmt.Errorf("dir store: open %s: %w", key, notExist(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dir store: open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("dir store: open %s: not a file: %w", key, ErrNotExist)
	}
	return &Object{ReadSeekCloser: f, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// notExist turns the errors that mean "no such file" into ErrNotExist.
// ENOTDIR is one: "main.js/x" names nothing.
func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotExist
	}
	return err
}

// Versions returns the versions of app that have an asset manifest, newest
// first, dated by their asset manifest. An unknown app has none; an invalid
// app name is an error.
func (d *Dir) Versions(ctx context.Context, app string) ([]Published, error) {
	if err := manifests.CheckName(app); err != nil {
		return nil, fmt.Errorf("dir store: versions: app name %q: %w", app, err)
	}
	entries, err := os.ReadDir(filepath.Join(d.Root, app))
	if errors.Is(err, fs.ErrNotExist) {
		return []Published{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dir store: versions of %s: %w", app, err)
	}
	versions := []Published{}
	for _, e := range entries {
		if !e.IsDir() || manifests.CheckVersion(e.Name()) != nil {
			continue
		}
		fi, err := os.Stat(filepath.Join(d.Root, app, e.Name(), AssetManifestName))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dir store: versions of %s: %w", app, err)
		}
		versions = append(versions, Published{Version: e.Name(), Time: fi.ModTime().UTC()})
	}
	slices.SortFunc(versions, func(a, b Published) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Version, a.Version)
	})
	return versions, nil
}

// CreateVersion copies files into a staging folder, fsyncing each, writes
// asset as the asset manifest last, and renames the folder to
// ROOT/app/version only if that does not exist: of several concurrent
// creators of one version, in this process or others, exactly one succeeds
// and the others get an error satisfying errors.Is(err, ErrExist). On error
// the staging folder is removed and nothing is visible. If an error comes
// after the rename (syncing the directory), the version is visible whole.
func (d *Dir) CreateVersion(ctx context.Context, app, version string, files []Upload, asset []byte) error {
	if err := d.createVersion(ctx, app, version, files, asset); err != nil {
		return fmt.Errorf("dir store: create %s/%s: %w", app, version, err)
	}
	return nil
}

func (d *Dir) createVersion(ctx context.Context, app, version string, files []Upload, asset []byte) (err error) {
	if err := checkUploads(app, version, files, asset); err != nil {
		return err
	}
	parent := filepath.Join(d.Root, app)
	final := filepath.Join(parent, version)
	// Spare the copying if the version exists; the rename decides for real.
	if _, err := os.Lstat(final); err == nil {
		return ErrExist
	}

	if err := os.MkdirAll(filepath.Join(d.Root, stagingDir), 0o755); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(filepath.Join(d.Root, stagingDir), "")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			// Best effort: what is left is removed by a later Init.
			os.RemoveAll(staging)
		}
	}()
	if err := stage(ctx, staging, files, asset); err != nil {
		return err
	}

	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Even when another publisher made the parent, its name may not be
	// durable yet: sync it ourselves before relying on it.
	if err := atomicfile.SyncDir(d.Root); err != nil {
		return err
	}
	if err := renameNoReplace(staging, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExist
		}
		return err
	}
	renamed = true
	return atomicfile.SyncDir(parent)
}

// stage writes files and then asset as the asset manifest into dir, and
// fsyncs every file and folder in it.
func stage(ctx context.Context, dir string, files []Upload, asset []byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	dirs := map[string]bool{".": true}
	for _, u := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if d := path.Dir(u.Path); !dirs[d] {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("file %q: %w", u.Path, err)
			}
			for ; d != "."; d = path.Dir(d) {
				dirs[d] = true
			}
		}
		if err := copyUpload(root, u); err != nil {
			return fmt.Errorf("file %q: %w", u.Path, err)
		}
	}
	if err := writeFile(root, AssetManifestName, asset); err != nil {
		return fmt.Errorf("write asset manifest: %w", err)
	}
	for d := range dirs {
		f, err := root.Open(d)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync folder %q: %w", d, err)
		}
	}
	return nil
}

// copyUpload copies u to a new file in root and fsyncs it.
func copyUpload(root *os.Root, u Upload) (err error) {
	src, err := u.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := root.OpenFile(u.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}()
	n, err := io.Copy(dst, io.LimitReader(src, u.Size+1))
	if err != nil {
		return err
	}
	if n != u.Size {
		return fmt.Errorf("got %d bytes, want %d", n, u.Size)
	}
	return dst.Sync()
}

// writeFile writes data to a new file in root and fsyncs it.
func writeFile(root *os.Root, name string, data []byte) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
