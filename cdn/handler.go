package cdn

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mfshell/mfshell/internal/negotiate"
)

// DefaultCacheSize is a new Handler's CacheSize: 64 MiB.
const DefaultCacheSize = 64 << 20

const (
	// minGzipSize is the size under which a file is sent as is: gzip saves
	// too little on a few hundred bytes to pay for its header and work.
	minGzipSize = 1 << 10
	// maxCachedSize is the size above which a file is streamed from the
	// store as is, never held in memory whole.
	maxCachedSize = 8 << 20
	// assetCacheSize bounds the asset manifests kept parsed, by JSON size.
	assetCacheSize = 32 << 20
)

// Handler is the CDN origin: it serves GET and HEAD of NAME/VER/FILE from a
// store (mount it with http.StripPrefix). A Handler is safe for concurrent
// use.
//
// Responses carry Cache-Control "public, max-age=31536000, immutable", an
// ETag made of the file's integrity (with "-gz" for the gzip variant),
// Access-Control-Allow-Origin "*" (bundles are loaded cross-origin with
// integrity) and X-Content-Type-Options "nosniff". If-None-Match and Range
// are honoured. Files up to 8 MiB are read once and their bytes kept in
// memory; compressible ones of 1 KiB or more are sent gzipped to clients
// that accept it, compressed once and kept too. Larger files are streamed
// from the store as they are.
//
// Malformed paths (traversal, encoded slashes, backslashes, control
// characters, hidden segments, invalid names or versions) get 400 without
// touching the store; files of unpublished versions and files not in the
// version's asset manifest get 404; methods other than GET and HEAD get 405.
type Handler struct {
	// CacheSize bounds, in bytes, the response bodies kept in memory
	// (files as they are, and gzipped), least recently used out first.
	// Zero turns the cache and gzip off: every file is streamed from the
	// store as it is. Set it before serving.
	CacheSize int64

	store  Store
	logger *slog.Logger
	assets *lru[*cachedAsset] // by "NAME/VER"
	bodies *lru[[]byte]       // by ETag: identical files share an entry
}

// cachedAsset is a version's asset manifest, parsed, and its own bytes and
// ETag, to serve it too.
type cachedAsset struct {
	m    *AssetManifest
	raw  []byte
	etag string
}

// NewHandler returns the origin handler for the bundles in s. It logs
// failures of the store to logger, if not nil.
func NewHandler(s Store, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		CacheSize: DefaultCacheSize,
		store:     s,
		logger:    logger,
		assets:    newLRU[*cachedAsset](),
		bodies:    newLRU[[]byte](),
	}
}

// ServeHTTP serves one request for NAME/VER/FILE.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key, err := originKey(r.URL.Path, r.URL.RawPath)
	if err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	app, rest, _ := strings.Cut(key, "/")
	version, name, _ := strings.Cut(rest, "/")
	asset, err := h.asset(r.Context(), key[:len(app)+1+len(version)], app, version)
	if err != nil {
		h.fail(w, r, err)
		return
	}

	var etag string
	var size int64
	if name == AssetManifestName {
		etag, size = asset.etag, int64(len(asset.raw))
	} else {
		f, ok := asset.m.Files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag, size = `"`+f.Integrity+`"`, f.Size
	}
	ctype, compressible := contentType(name)
	cached := size <= min(maxCachedSize, h.CacheSize)
	gz := false
	hdr := w.Header()
	if compressible && cached && size >= minGzipSize {
		hdr.Set("Vary", "Accept-Encoding")
		if negotiate.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
			gz = true
			etag = etag[:len(etag)-1] + `-gz"`
		}
	}
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("Etag", etag)
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Answer revalidations before opening anything.
	if negotiate.NoneMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", ctype)

	if !cached {
		obj, err := h.store.Open(r.Context(), key)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		defer obj.Close()
		// The store's own body, unwrapped: for a Dir it is an *os.File,
		// which net/http sends with sendfile(2). ServeContent handles Range,
		// the other conditional headers and HEAD; the zero time leaves out
		// Last-Modified, which the ETag makes useless.
		http.ServeContent(w, r, name, time.Time{}, obj.ReadSeekCloser)
		return
	}

	data := asset.raw
	if name != AssetManifestName || gz {
		if data, err = h.body(r.Context(), key, etag, size, gz); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if gz {
		hdr.Set("Content-Encoding", "gzip")
	}
	if r.Header.Get("Range") != "" || r.Header.Get("If-Match") != "" || r.Header.Get("If-Unmodified-Since") != "" {
		// Rare requests, left to ServeContent. (With Content-Encoding set,
		// it sends a whole gzipped body chunked, without Content-Length.)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
		return
	}
	// A plain GET, nearly every request: written directly, since
	// ServeContent would copy the bytes through one more buffer.
	hdr.Set("Content-Length", strconv.Itoa(len(data)))
	hdr.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data) // an error here is the client gone; nothing to do
	}
}

// fail answers a request that failed on the store: 404 for ErrNotExist,
// otherwise 500, logging the cause.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	// Headers set for a success must not describe the error page.
	for _, k := range []string{"Cache-Control", "Etag", "Vary", "Content-Encoding", "Content-Type"} {
		w.Header().Del(k)
	}
	if errors.Is(err, ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	h.logger.Error("cdn: serve", "path", r.URL.Path, "err", err)
	http.Error(w, "internal server error", http.StatusInternalServerError)
}

// asset returns the parsed asset manifest of app@version, from the cache
// when it can: published versions never change.
func (h *Handler) asset(ctx context.Context, key, app, version string) (*cachedAsset, error) {
	if a, ok := h.assets.get(key); ok {
		return a, nil
	}
	m, raw, err := readAssetManifest(ctx, h.store, app, version)
	if err != nil {
		return nil, err
	}
	a := &cachedAsset{m: m, raw: raw, etag: `"` + integrity(sha512.Sum384(raw)) + `"`}
	// Clone: key is part of the request's path, which the cache must not pin.
	h.assets.add(strings.Clone(key), a, int64(len(raw)), assetCacheSize)
	return a, nil
}

// body returns the bytes to send for the file at key, of size bytes, whose
// response has ETag etag: the file as it is, or gzipped if gz. It reads (and
// compresses) the file on first use and caches the result.
func (h *Handler) body(ctx context.Context, key, etag string, size int64, gz bool) ([]byte, error) {
	if data, ok := h.bodies.get(etag); ok {
		return data, nil
	}
	obj, err := h.store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	// One byte more than expected, to notice a file longer than recorded.
	data := make([]byte, size+1)
	n, err := io.ReadFull(obj, data)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(n) != size {
		return nil, fmt.Errorf("read %s: size differs from the asset manifest's %d bytes", key, size)
	}
	data = data[:n:n]
	if gz {
		var buf bytes.Buffer
		// Compressed once, served many times: the best ratio is worth it.
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(data); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", key, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", key, err)
		}
		data = bytes.Clone(buf.Bytes()) // no spare capacity held by the cache
	}
	h.bodies.add(strings.Clone(etag), data, int64(len(data)), h.CacheSize)
	return data, nil
}

// originKey returns the store key for a request path as the handler sees
// it, "NAME/VER/FILE", given decoded (path) and as sent (rawPath, empty when
// it is the default encoding of path), or an error saying why the path is
// malformed.
func originKey(path, rawPath string) (string, error) {
	// An encoded slash would decode into a separator the sender hid from
	// any proxy that matched on the raw path.
	if strings.Contains(rawPath, "%2f") || strings.Contains(rawPath, "%2F") {
		return "", errors.New("encoded slash in path")
	}
	if _, _, _, err := splitKey(path); err != nil {
		return "", err
	}
	return path, nil
}
