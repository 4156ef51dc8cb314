package cdn

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mfshell/mfshell/manifests"
)

// PublishOptions says what Publish publishes.
type PublishOptions struct {
	App     string
	Version string
	// Entry is the path of the file the shell loads first. It defaults to
	// the only .js or .mjs file at the top of the folder.
	Entry string
	// Progress, if set, is called as bytes are stored, with the bytes stored
	// so far and the total, starting at 0 and ending at total. Calls are
	// serialized; keep the callback quick.
	Progress func(done, total int64)
}

// Publish uploads every regular file under dir to NAME/VER/ in s, and writes
// the asset manifest last, which it returns.
//
// Nothing outside dir is read: a symlink is followed only if it stays inside
// dir and names a regular file. Hidden files and folders (names starting
// with '.', like .DS_Store or .git) are skipped and not published. Paths
// must be at most 512 bytes long and free of backslashes, control characters
// and the URL delimiters '?', '#' and '%'; the folder must hold at least one
// and at most 10 000 files, and no "mfshell.json" at its top. Every error
// names the path and says why; all bad paths are reported (up to 20), one
// per line.
//
// Beside every stylesheet X.css (at any depth) Publish also stores
// X.scoped.css, the stylesheet rewritten by [ScopeCSS] for the element
// APP-app, with its own entry in the asset manifest's files (Styles keeps
// the original names). It refuses a folder holding a file whose name ends
// in ".scoped.css", and fails, naming the file and the line, if a
// stylesheet cannot be rewritten.
//
// Publish returns an error satisfying errors.Is(err, ErrExist) if the
// version exists already, or is published by someone else meanwhile; in
// every error case nothing is published.
func Publish(ctx context.Context, s Store, dir string, opts PublishOptions) (*AssetManifest, error) {
	if err := manifests.CheckName(opts.App); err != nil {
		return nil, fmt.Errorf("publish: invalid app name %q: %w", opts.App, err)
	}
	if err := manifests.CheckVersion(opts.Version); err != nil {
		return nil, fmt.Errorf("publish %s: invalid version %q: %w", opts.App, opts.Version, err)
	}
	m, err := publish(ctx, s, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("publish %s@%s: %w", opts.App, opts.Version, err)
	}
	return m, nil
}

func publish(ctx context.Context, s Store, dir string, opts PublishOptions) (*AssetManifest, error) {
	// Fail before reading a large folder if the version exists.
	// CreateVersion checks again, atomically.
	obj, err := s.Open(ctx, opts.App+"/"+opts.Version+"/"+AssetManifestName)
	switch {
	case err == nil:
		obj.Close()
		return nil, ErrExist
	case !errors.Is(err, ErrNotExist):
		return nil, err
	}

	// os.Root refuses to resolve anything outside dir, symlinks included.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open folder: %w", err)
	}
	defer root.Close()
	files, err := scan(ctx, root)
	if err != nil {
		return nil, err
	}
	entry, err := chooseEntry(files, opts.Entry)
	if err != nil {
		return nil, err
	}

	m := &AssetManifest{
		App:     opts.App,
		Version: opts.Version,
		Entry:   entry,
		Styles:  []string{},
		Files:   make(map[string]File, len(files)),
	}
	// The one place where the uploads are assembled. Files derived from the
	// folder's (such as X.scoped.css beside X.css) are added here too, with
	// their own entry in m.Files.
	progress := &progress{fn: opts.Progress, seen: make([]int64, len(files))}
	uploads := make([]Upload, 0, len(files))
	for i, f := range files {
		ctype, _ := contentType(f.path)
		uploads = append(uploads, Upload{
			Path:        f.path,
			Size:        f.size,
			ContentType: ctype,
			Open: func() (io.ReadSeekCloser, error) {
				b, err := openBody(root, f, i, progress)
				if err != nil {
					return nil, err
				}
				return b, nil
			},
		})
		m.Files[f.path] = File{Size: f.size, Integrity: integrity(f.sum)}
		if !strings.Contains(f.path, "/") && strings.ToLower(path.Ext(f.path)) == ".css" {
			m.Styles = append(m.Styles, f.path)
		}
		progress.total += f.size
	}
	// Scoped copies, for apps whose isolation is "scoped"; Styles keeps the
	// originals. Held in memory, they are not counted by progress.
	copies, err := scopedCopies(ctx, root, files, opts.App)
	if err != nil {
		return nil, err
	}
	for _, c := range copies {
		uploads = append(uploads, c.upload())
		m.Files[c.path] = File{Size: int64(len(c.data)), Integrity: integrity(c.sum)}
	}
	slices.Sort(m.Styles)

	asset, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode asset manifest: %w", err)
	}
	progress.report(-1, 0)
	if err := s.CreateVersion(ctx, opts.App, opts.Version, uploads, asset); err != nil {
		return nil, err
	}
	return m, nil
}

// bundleFile is a file found in the folder being published.
type bundleFile struct {
	path string
	size int64
	sum  [sha512.Size384]byte
}

// scan lists and hashes the files under root, sorted by path. It skips
// hidden names and refuses anything that is not a regular file inside root,
// reporting every such path (up to maxProblems), not only the first.
func scan(ctx context.Context, root *os.Root) ([]bundleFile, error) {
	var files []bundleFile
	var problems []error
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := checkEntry(root, p, d); err != nil {
			problems = append(problems, err)
			switch {
			case len(problems) == maxProblems:
				problems = append(problems, fmt.Errorf("stopped after %d problems", maxProblems))
				return fs.SkipAll
			case d.IsDir():
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if len(files) == maxFiles {
			return fmt.Errorf("file %q: more than %d files", p, maxFiles)
		}
		files = append(files, bundleFile{path: p})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if len(files) == 0 {
		return nil, errors.New("no files in the folder")
	}
	for i := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := hashFile(root, &files[i]); err != nil {
			return nil, fmt.Errorf("file %q: %w", files[i].path, err)
		}
	}
	return files, nil
}

// maxProblems is how many bad paths scan reports before it gives up.
const maxProblems = 20

// checkEntry returns nil if the folder or file d at p may be published, and
// otherwise an error that names p and says why not.
func checkEntry(root *os.Root, p string, d fs.DirEntry) error {
	kind := "file"
	if d.IsDir() {
		kind = "folder"
	}
	if err := checkPath(p); err != nil {
		return fmt.Errorf("%s %q: %w", kind, p, err)
	}
	switch {
	case d.IsDir():
		return nil
	case d.Type()&fs.ModeSymlink != 0:
		if err := checkSymlink(root, p); err != nil {
			return fmt.Errorf("file %q: %w", p, err)
		}
	case !d.Type().IsRegular():
		return fmt.Errorf("file %q: not a regular file (%s)", p, d.Type())
	}
	if p == AssetManifestName {
		return fmt.Errorf("file %q: reserved for the asset manifest that publish writes", p)
	}
	return nil
}

// checkSymlink returns nil if the symlink at p leads to a regular file
// inside root, and otherwise an error that says why not.
func checkSymlink(root *os.Root, p string) error {
	target, err := root.Readlink(p)
	if err != nil {
		return err
	}
	if filepath.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(filepath.FromSlash(p)), target)) {
		return fmt.Errorf("symlink to %q points outside the folder", target)
	}
	fi, err := root.Stat(p)
	if err != nil {
		return fmt.Errorf("symlink to %q: %w", target, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("symlink to %q: symlinks to folders are not followed", target)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("symlink to %q: not a regular file (%s)", target, fi.Mode().Type())
	}
	return nil
}

// hashFile sets f's size and SHA-384 digest from the file's content.
func hashFile(root *os.Root, f *bundleFile) error {
	r, err := openRegular(root, f.path)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha512.New384()
	n, err := io.Copy(h, r)
	if err != nil {
		return err
	}
	f.size = n
	h.Sum(f.sum[:0])
	return nil
}

// openRegular opens name in root and checks it is still a regular file.
func openRegular(root *os.Root, name string) (*os.File, error) {
	r, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := r.Stat()
	if err != nil {
		r.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		r.Close()
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	return r, nil
}

// chooseEntry returns entry if it names one of files, or, if entry is
// empty, the only .js or .mjs file at the top of the folder.
func chooseEntry(files []bundleFile, entry string) (string, error) {
	if entry != "" {
		if !slices.ContainsFunc(files, func(f bundleFile) bool { return f.path == entry }) {
			return "", fmt.Errorf("entry %q: no such file in the folder", entry)
		}
		return entry, nil
	}
	var scripts []string
	for _, f := range files {
		ext := strings.ToLower(path.Ext(f.path))
		if !strings.Contains(f.path, "/") && (ext == ".js" || ext == ".mjs") {
			scripts = append(scripts, f.path)
		}
	}
	switch len(scripts) {
	case 0:
		return "", errors.New("no .js or .mjs file at the top of the folder: set the entry")
	case 1:
		return scripts[0], nil
	default:
		return "", fmt.Errorf("%d .js/.mjs files at the top of the folder (%s): set the entry", len(scripts), strings.Join(scripts, ", "))
	}
}

// progress adds up the bytes stored of every file and reports the sum.
type progress struct {
	fn    func(done, total int64)
	total int64 // set before any report

	mu   sync.Mutex // guards done and seen, and serializes calls to fn
	done int64
	seen []int64 // per file, the furthest offset read: a retry counts once
}

// report records that file i was read up to offset pos, and calls fn if
// that is news. File -1 reports the start.
func (p *progress) report(i int, pos int64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= 0 {
		if pos <= p.seen[i] {
			return
		}
		p.done += pos - p.seen[i]
		p.seen[i] = pos
	}
	p.fn(p.done, p.total)
}

// body is the content of one upload: the file as it was hashed. It reports
// progress, and when read from the start to the end it checks the digest
// as the last byte is read, so that a file edited while publishing fails the
// publish instead of storing bytes that do not match their integrity.
type body struct {
	f        *os.File
	r        *io.SectionReader
	file     bundleFile
	i        int
	progress *progress
	pos      int64
	h        hash.Hash // nil once checked, or while reading is not sequential from 0
}

func openBody(root *os.Root, f bundleFile, i int, p *progress) (*body, error) {
	r, err := openRegular(root, f.path)
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", f.path, err)
	}
	return &body{f: r, r: io.NewSectionReader(r, 0, f.size), file: f, i: i, progress: p, h: sha512.New384()}, nil
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.pos += int64(n)
	b.progress.report(b.i, b.pos)
	if b.h == nil {
		return n, err
	}
	b.h.Write(p[:n])
	if b.pos == b.file.size || err == io.EOF {
		var sum [sha512.Size384]byte
		if b.pos != b.file.size || [sha512.Size384]byte(b.h.Sum(sum[:0])) != b.file.sum {
			return n, fmt.Errorf("file %q: changed while publishing", b.file.path)
		}
		b.h = nil // checked
	}
	return n, err
}

func (b *body) Seek(offset int64, whence int) (int64, error) {
	pos, err := b.r.Seek(offset, whence)
	if err != nil {
		return pos, err
	}
	if pos != b.pos {
		b.h = nil
		if pos == 0 {
			b.h = sha512.New384()
		}
	}
	b.pos = pos
	return pos, nil
}

func (b *body) Close() error { return b.f.Close() }
