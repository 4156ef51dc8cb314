// Package cdn stores, publishes and serves app bundles: immutable, versioned
// sets of files (JavaScript, CSS, fonts, images) that the shell loads from
// {cdn}NAME/VER/FILE.
//
// # Layout
//
// Every object in a [Store] has a key NAME/VER/PATH, where NAME is an app
// name, VER a version and PATH a clean relative path inside the bundle. A
// published version holds the bundle's files and one more,
// NAME/VER/mfshell.json ([AssetManifestName]), the [AssetManifest]: the
// entry, the stylesheets, and the size and SRI integrity (sha384) of every
// file. The asset manifest is what makes a version published: it is written
// last, and a store treats a version without one as if none of its files
// existed. [Dir] keeps objects on the local disk as ROOT/NAME/VER/PATH, and
// [S3] in a bucket as PREFIX/NAME/VER/PATH.
//
// # Publishing and atomicity
//
// [Publish] walks a folder without ever leaving it, checks every path,
// hashes every file and hands the files to [Store.CreateVersion], which makes
// the version visible whole or not at all. Versions are immutable: of several
// publishers of one NAME/VER, in one process or several, exactly one wins
// and the others get [ErrExist]; the files served are all the winner's. Dir
// stages a version in ROOT/.staging/RANDOM/, fsyncs it, and renames the
// folder to ROOT/NAME/VER with RENAME_NOREPLACE.
//
// S3 has no rename: an S3 store first claims the version by creating
// NAME/VER/.claim.json (a copy of the asset manifest) only if that key is
// free (If-None-Match: *), then writes every file and last the asset
// manifest, each only if its key is free, with its Content-Type, an
// immutable Cache-Control, a SHA-256 checksum the server verifies, and its
// integrity in the object's metadata, and deletes the claim. The claim lets
// exactly one publisher go on, with any publisher of the very same asset
// manifest (a retry). A file's key taken by the same bytes counts as
// written, so publishing the same files again completes a publish
// interrupted before its asset manifest; taken by other bytes, it means
// ErrExist. Files that an interrupted publish leaves behind are never
// served: the origin handler serves only the files a published version's
// asset manifest lists.
//
// # Serving
//
// [NewHandler] returns the origin handler for GET and HEAD of NAME/VER/FILE.
// Bundles never change, so responses are cacheable for a year and marked
// immutable, and so is everything the handler keeps in memory: each
// version's asset manifest, parsed, and the bytes it sends, as they are or
// gzipped (text files, compressed once), in caches bounded by size. The
// ETag is the file's integrity from the asset manifest, so a request for a
// missing file or a matching If-None-Match never reaches the store.
//
// A sketch of the whole flow:
//
//	store := cdn.NewDir("data/cdn")
//	if err := store.Init(ctx); err != nil { ... }
//	m, err := cdn.Publish(ctx, store, "dist", cdn.PublishOptions{App: "catalog", Version: "1.2.0"})
//	mux.Handle("/cdn/", http.StripPrefix("/cdn/", cdn.NewHandler(store, logger)))
package cdn

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mfshell/mfshell/manifests"
)

// AssetManifestName is the file written last into every published version:
// NAME/VER/mfshell.json. A bundle may not contain a file of that name at its top.
const AssetManifestName = "mfshell.json"

// Limits on what a version may hold.
const (
	maxFiles         = 10000
	maxPathLen       = 512 // bytes, a whole path inside a bundle
	maxSegmentLen    = 255 // bytes, one path segment (NAME_MAX)
	maxAssetManifest = 16 << 20
)

// Errors a Store, Publish or ReadAssetManifest returns; callers branch on
// them with errors.Is.
var (
	// ErrNotExist means an object or version does not exist, or is not
	// (fully) published yet.
	ErrNotExist = errors.New("does not exist")
	// ErrExist means a version is already published, or was published by
	// someone else while this publish was under way.
	ErrExist = errors.New("version already exists")
	// ErrUnavailable means the store cannot be reached or failed (an S3
	// outage); trying again later may work.
	ErrUnavailable = errors.New("CDN store unavailable")
)

// AssetManifest describes one published version: NAME/VER/mfshell.json.
type AssetManifest struct {
	App     string          `json:"app"`
	Version string          `json:"version"`
	Entry   string          `json:"entry"`  // the file the shell loads first
	Styles  []string        `json:"styles"` // the stylesheets the shell loads, sorted
	Files   map[string]File `json:"files"`  // every file of the bundle by path
}

// File is what the asset manifest records about one file of a bundle.
type File struct {
	Size int64 `json:"size"`
	// Integrity is the Subresource Integrity value: "sha384-" and the
	// standard base64 of the file's SHA-384 digest.
	Integrity string `json:"integrity"`
}

// Store is where bundles live: a local directory ([Dir]) or a bucket. Its
// methods are safe for concurrent use, also by several processes sharing one
// store.
type Store interface {
	// Open returns the object at key, "NAME/VER/PATH". It returns an error
	// satisfying errors.Is(err, ErrNotExist) if there is no such object, if
	// NAME/VER is not (fully) published, or if key is not a valid key.
	// The caller closes the object.
	Open(ctx context.Context, key string) (*Object, error)

	// Versions returns the published versions of app (those with an asset
	// manifest), newest first. An app with none gives an empty slice.
	Versions(ctx context.Context, app string) ([]Published, error)

	// CreateVersion stores files under app/version/ and then asset as the
	// version's asset manifest, atomically: when it returns, the version is
	// visible whole or not at all. It returns an error satisfying
	// errors.Is(err, ErrExist) if the version is already published or
	// another publisher of it wins a race; the published version, if any,
	// is then entirely the winner's.
	CreateVersion(ctx context.Context, app, version string, files []Upload, asset []byte) error
}

// Object is an open object of a store. Close it when done.
type Object struct {
	io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}

// Published is one published version of an app.
type Published struct {
	Version string    `json:"version"`
	Time    time.Time `json:"time"` // when it was published
}

// Upload is one file given to [Store.CreateVersion].
type Upload struct {
	Path        string // inside the bundle, e.g. "chunks/a.js"
	Size        int64  // the exact number of bytes Open's body yields
	ContentType string
	// Open returns the file's content. A store may call it more than once
	// (to retry) and may seek the body, so it must be seekable.
	Open func() (io.ReadSeekCloser, error)
}

// LoadedIntegrity returns the integrity of every file the shell may load
// from the version: its scripts (.js, .mjs, chunks included) and
// stylesheets. It is what the version manifest carries to browsers.
func (m *AssetManifest) LoadedIntegrity() map[string]string {
	out := map[string]string{}
	for p, f := range m.Files {
		switch path.Ext(p) {
		case ".js", ".mjs", ".css":
			out[p] = f.Integrity
		}
	}
	return out
}

// ReadAssetManifest reads and checks the asset manifest of app@version. It
// returns an error satisfying errors.Is(err, ErrNotExist) if the version is
// not published, and a descriptive error if the manifest is malformed.
func ReadAssetManifest(ctx context.Context, s Store, app, version string) (*AssetManifest, error) {
	m, _, err := readAssetManifest(ctx, s, app, version)
	return m, err
}

// readAssetManifest is ReadAssetManifest that also returns the raw bytes.
func readAssetManifest(ctx context.Context, s Store, app, version string) (*AssetManifest, []byte, error) {
	obj, err := s.Open(ctx, app+"/"+version+"/"+AssetManifestName)
	if err != nil {
		return nil, nil, fmt.Errorf("read asset manifest of %s@%s: %w", app, version, err)
	}
	defer obj.Close()
	raw, err := io.ReadAll(io.LimitReader(obj, maxAssetManifest+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read asset manifest of %s@%s: %w", app, version, err)
	}
	if len(raw) > maxAssetManifest {
		return nil, nil, fmt.Errorf("read asset manifest of %s@%s: larger than %d bytes", app, version, maxAssetManifest)
	}
	m, err := decodeAssetManifest(raw, app, version)
	if err != nil {
		return nil, nil, fmt.Errorf("read asset manifest of %s@%s: %w", app, version, err)
	}
	return m, raw, nil
}

// decodeAssetManifest decodes data strictly and checks it describes a
// bundle of app@version.
func decodeAssetManifest(data []byte, app, version string) (*AssetManifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m AssetManifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode: data after the JSON object")
	}
	if err := m.check(app, version); err != nil {
		return nil, err
	}
	return &m, nil
}

// check reports every problem of m, each with its location.
func (m *AssetManifest) check(app, version string) error {
	var errs []error
	if m.App != app {
		errs = append(errs, fmt.Errorf("app: got %q, want %q", m.App, app))
	}
	if m.Version != version {
		errs = append(errs, fmt.Errorf("version: got %q, want %q", m.Version, version))
	}
	if len(m.Files) == 0 {
		errs = append(errs, errors.New("files: must not be empty"))
	}
	if len(m.Files) > maxFiles {
		errs = append(errs, fmt.Errorf("files: more than %d", maxFiles))
	}
	for _, p := range slices.Sorted(maps.Keys(m.Files)) {
		f := m.Files[p]
		if err := checkPath(p); err != nil {
			errs = append(errs, fmt.Errorf("files[%q]: %w", p, err))
		}
		if p == AssetManifestName {
			errs = append(errs, fmt.Errorf("files[%q]: reserved name", p))
		}
		if f.Size < 0 {
			errs = append(errs, fmt.Errorf("files[%q].size: must not be negative", p))
		}
		if err := checkIntegrity(f.Integrity); err != nil {
			errs = append(errs, fmt.Errorf("files[%q].integrity: %w", p, err))
		}
	}
	if _, ok := m.Files[m.Entry]; !ok {
		errs = append(errs, fmt.Errorf("entry: %q is not in files", m.Entry))
	}
	for i, s := range m.Styles {
		if _, ok := m.Files[s]; !ok {
			errs = append(errs, fmt.Errorf("styles[%d]: %q is not in files", i, s))
		}
		if slices.Index(m.Styles, s) < i {
			errs = append(errs, fmt.Errorf("styles[%d]: %q is listed twice", i, s))
		}
	}
	return errors.Join(errs...)
}

// integrity returns the SRI value of a SHA-384 digest.
func integrity(sum [sha512.Size384]byte) string {
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// checkIntegrity returns nil if s is "sha384-" and the base64 of 48 bytes.
func checkIntegrity(s string) error {
	b64, ok := strings.CutPrefix(s, "sha384-")
	if !ok {
		return fmt.Errorf("must start with \"sha384-\", got %q", s)
	}
	sum, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sum) != sha512.Size384 {
		return fmt.Errorf("must be \"sha384-\" and the base64 of 48 bytes, got %q", s)
	}
	return nil
}

// checkPath returns nil if p is acceptable as the path of a file inside a
// bundle, and otherwise an error that says why not. An acceptable path is
// clean, relative and slash-separated, has no empty, ".", ".." or hidden
// (dot-first) segment, no backslash, no control character, and none of
// '?', '#' and '%', which would change the meaning of the URL the path is
// served at.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("must not be empty")
	case len(p) > maxPathLen:
		return fmt.Errorf("must be at most %d bytes long, got %d", maxPathLen, len(p))
	case !utf8.ValidString(p):
		return errors.New("must be valid UTF-8")
	case p[0] == '/':
		return errors.New("must be relative, not start with \"/\"")
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("must not contain control character %q", rune(c))
		case c == '\\':
			return errors.New("must not contain a backslash")
		case c == '?' || c == '#' || c == '%':
			return fmt.Errorf("must not contain %q, which changes the meaning of a URL", rune(c))
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "":
			return errors.New("must not contain an empty segment (\"//\" or a trailing \"/\")")
		case seg == "." || seg == "..":
			return fmt.Errorf("must not contain a %q segment", seg)
		case seg[0] == '.':
			return fmt.Errorf("must not contain a hidden (dot-first) segment, got %q", seg)
		case len(seg) > maxSegmentLen:
			return fmt.Errorf("segments must be at most %d bytes long, got %d", maxSegmentLen, len(seg))
		}
	}
	return nil
}

// splitKey splits key, "NAME/VER/PATH", and checks each part.
func splitKey(key string) (app, version, name string, err error) {
	app, rest, _ := strings.Cut(key, "/")
	version, name, _ = strings.Cut(rest, "/")
	if err := manifests.CheckName(app); err != nil {
		return "", "", "", fmt.Errorf("app name %q: %w", app, err)
	}
	if err := manifests.CheckVersion(version); err != nil {
		return "", "", "", fmt.Errorf("version %q: %w", version, err)
	}
	if err := checkPath(name); err != nil {
		return "", "", "", fmt.Errorf("path %q: %w", name, err)
	}
	return app, version, name, nil
}

// keyError is the error for a key that is not NAME/VER/PATH: no such object
// can exist, so it is an ErrNotExist.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string        { return fmt.Sprintf("invalid key %q: %v", e.key, e.err) }
func (e *keyError) Unwrap() error        { return e.err }
func (e *keyError) Is(target error) bool { return target == ErrNotExist }

// checkUploads checks what CreateVersion is given, for every store.
func checkUploads(app, version string, files []Upload, asset []byte) error {
	if err := manifests.CheckName(app); err != nil {
		return fmt.Errorf("app name %q: %w", app, err)
	}
	if err := manifests.CheckVersion(version); err != nil {
		return fmt.Errorf("version %q: %w", version, err)
	}
	switch {
	case len(files) == 0:
		return errors.New("no files")
	case len(files) > maxFiles:
		return fmt.Errorf("%d files, more than %d", len(files), maxFiles)
	case len(asset) == 0:
		return errors.New("empty asset manifest")
	}
	seen := make(map[string]bool, len(files))
	for _, u := range files {
		switch err := checkPath(u.Path); {
		case err != nil:
			return fmt.Errorf("file %q: %w", u.Path, err)
		case u.Path == AssetManifestName:
			return fmt.Errorf("file %q: reserved for the asset manifest", u.Path)
		case seen[u.Path]:
			return fmt.Errorf("file %q: given twice", u.Path)
		case u.Size < 0:
			return fmt.Errorf("file %q: negative size", u.Path)
		case u.Open == nil:
			return fmt.Errorf("file %q: no Open function", u.Path)
		}
		seen[u.Path] = true
	}
	return nil
}

// contentType returns the Content-Type of a bundle file and reports whether
// it is worth compressing. Web types come from a fixed table, so responses
// do not depend on the machine's MIME database.
func contentType(name string) (ctype string, compressible bool) {
	ext := strings.ToLower(path.Ext(name))
	if ctype, compressible, ok := webType(ext); ok {
		return ctype, compressible
	}
	if t := mime.TypeByExtension(ext); t != "" {
		base, _, _ := strings.Cut(t, ";")
		return t, strings.HasPrefix(base, "text/") || strings.HasSuffix(base, "+json") || strings.HasSuffix(base, "+xml")
	}
	return "application/octet-stream", false
}

// webType is the fixed table of web types: ext is lower-case, with its dot.
func webType(ext string) (ctype string, compressible, ok bool) {
	switch ext {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8", true, true
	case ".css":
		return "text/css; charset=utf-8", true, true
	case ".json", ".map":
		return "application/json", true, true
	case ".html", ".htm":
		return "text/html; charset=utf-8", true, true
	case ".svg":
		return "image/svg+xml", true, true
	case ".txt":
		return "text/plain; charset=utf-8", true, true
	case ".xml":
		return "application/xml", true, true
	case ".wasm":
		return "application/wasm", true, true
	case ".ico":
		return "image/x-icon", true, true
	case ".ttf":
		return "font/ttf", true, true
	case ".otf":
		return "font/otf", true, true
	// Already compressed: gzip would only cost time.
	case ".woff":
		return "font/woff", false, true
	case ".woff2":
		return "font/woff2", false, true
	case ".png":
		return "image/png", false, true
	case ".jpg", ".jpeg":
		return "image/jpeg", false, true
	case ".gif":
		return "image/gif", false, true
	case ".webp":
		return "image/webp", false, true
	case ".avif":
		return "image/avif", false, true
	}
	return "", false, false
}
