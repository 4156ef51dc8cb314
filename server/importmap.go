package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mfshell/mfshell/internal/negotiate"
	"github.com/mfshell/mfshell/manifests"
)

// importMap is the live manifest as a standard import map, for pages that
// use native import maps, SystemJS or single-spa's root config with
// mfshell as their import-map server (GET /_mfshell/importmap.json):
//
//	{"imports": {"catalog": "/cdn/catalog/1.0.0/main.js", "catalog/": "/cdn/catalog/1.0.0/"},
//	 "integrity": {"/cdn/catalog/1.0.0/main.js": "sha384-…", "/cdn/catalog/1.0.0/chunk-a.js": "sha384-…"}}
//
// Only module apps are in it: script apps are classic scripts and html
// apps have no bundle. Each module app has two imports: its name, the URL
// of its entry, and its name with a trailing slash, the folder of its
// version, as import-map-deployer writes them (packageDirLevel 1), so that
// "catalog/chunk.js" resolves into the live version too. The integrity
// section has every JavaScript file (.js, .mjs) of each app's version, so
// that chunks a page imports are checked as well as the entry. URLs are
// as browsers load them: under the server's CDN URL, or a dev server's
// folder under a dev override (whose files have no integrity).
type importMap struct {
	Imports   map[string]string `json:"imports"`
	Integrity map[string]string `json:"integrity"`
}

// importMapOfApps returns the import map of the apps of a public manifest
// (one resolved for some browsers).
func (s *Server) importMapOfApps(apps map[string]publicApp) importMap {
	im := importMap{Imports: map[string]string{}, Integrity: map[string]string{}}
	for name, a := range apps {
		if a.Format != manifests.FormatModule || a.Entry == "" {
			continue
		}
		dir := a.Base
		if dir == "" {
			dir = s.bundleURL(name, a.Version, "")
		}
		im.Imports[name] = dir + a.Entry
		im.Imports[name+"/"] = dir
		for file, sri := range a.Integrity {
			if sri != "" && (path.Ext(file) == ".js" || path.Ext(file) == ".mjs") {
				im.Integrity[dir+file] = sri
			}
		}
	}
	return im
}

// stableImportMap returns the import map of m as browsers on no canary
// see it: every app at its live version.
func (s *Server) stableImportMap(m *manifests.Manifest) importMap {
	apps := make(map[string]publicApp, len(m.Apps))
	for name, a := range m.Apps {
		apps[name] = publicApp{Version: a.Version, Entry: a.Entry, Format: a.Format, Integrity: a.Integrity}
	}
	return s.importMapOfApps(apps)
}

// importMapOfVariant returns the import map of a variant, from its public
// manifest: the import map is exactly what the variant's browsers run.
func (s *Server) importMapOfVariant(v *variant) (importMap, error) {
	var pub publicManifest
	if err := json.Unmarshal(v.json, &pub); err != nil {
		return importMap{}, fmt.Errorf("decode public manifest: %w", err)
	}
	return s.importMapOfApps(pub.Apps), nil
}

// encodedImportMap is an import map encoded for responses, as is and
// gzipped, with its ETag and header values built once.
type encodedImportMap struct {
	json, gzip                  []byte
	etag                        string
	etagHdr, lenHdr, gzipLenHdr []string
}

// encodeImportMap encodes the import map of v. Its ETag is the variant's
// with an "im-" prefix: it changes when the variant does.
func (s *Server) encodeImportMap(v *variant) (*encodedImportMap, error) {
	im, err := s.importMapOfVariant(v)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(im)
	if err != nil {
		return nil, fmt.Errorf("encode import map: %w", err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // the level is valid
	zw.Write(data)
	zw.Close()
	etag := `"im-` + strings.Trim(v.etag, `"`) + `"`
	return &encodedImportMap{
		json: data, gzip: gz.Bytes(), etag: etag,
		etagHdr:    []string{etag},
		lenHdr:     []string{strconv.Itoa(len(data))},
		gzipLenHdr: []string{strconv.Itoa(gz.Len())},
	}, nil
}

// importMaps serves GET /_mfshell/importmap.json. It keeps the import maps
// of the served snapshot's variants, encoded once per variant when first
// asked for after a change of revision; a browser under an override gets
// its own, encoded for the request, as for the public manifest.
type importMaps struct {
	s     *Server
	mu    sync.Mutex // serializes encoding a new snapshot's import maps
	cache atomic.Pointer[importMapCache]
}

// importMapCache is the import maps of one snapshot: maps[i] is that of
// sn.variants[i].
type importMapCache struct {
	sn   *snapshot
	maps []*encodedImportMap
}

// importMapHandler returns the handler of GET /_mfshell/importmap.json.
func (s *Server) importMapHandler() http.HandlerFunc {
	return (&importMaps{s: s}).serveHTTP
}

// forSnapshot returns the import maps of sn, encoding them if they are not
// yet.
func (ims *importMaps) forSnapshot(sn *snapshot) (*importMapCache, error) {
	if c := ims.cache.Load(); c != nil && c.sn == sn {
		return c, nil
	}
	ims.mu.Lock()
	defer ims.mu.Unlock()
	if c := ims.cache.Load(); c != nil && c.sn == sn {
		return c, nil
	}
	c := &importMapCache{sn: sn}
	for _, v := range sn.variants {
		e, err := ims.s.encodeImportMap(v)
		if err != nil {
			return nil, err
		}
		c.maps = append(c.maps, e)
	}
	// A slow request may encode an older snapshot after a newer one: keep
	// the newer.
	if old := ims.cache.Load(); old == nil || old.sn.revision <= sn.revision {
		ims.cache.Store(c)
	}
	return c, nil
}

// hdrAnyOrigin lets pages of other origins fetch the import map: it is
// public, and browsers send no cookies with a request answered with "*".
var hdrAnyOrigin = []string{"*"}

// serveHTTP serves the import map of the request's browser: that of its
// canary bucket (mfshell-bucket cookie) and of its override cookie, with
// an ETag, no-cache (browsers revalidate every time and get a 304 while
// nothing changed) and Vary: Cookie, like the public manifest.
func (ims *importMaps) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s := ims.s
	sn := s.snap.Load()
	c, err := ims.forSnapshot(sn)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	i := 0
	if len(sn.variants) > 1 {
		v := sn.forBucket(bucketOf(r))
		for i < len(sn.variants)-1 && sn.variants[i] != v {
			i++
		}
	}
	enc := c.maps[i]
	if s.Overrides != nil || s.Dev {
		if o := s.cookieOverride(r, sn.record.Manifest); o != nil {
			v, err := s.overridden(sn, bucketOf(r), o)
			var oenc *encodedImportMap
			if err == nil {
				oenc, err = s.encodeImportMap(v)
			}
			if err == nil {
				enc = oenc
			} else {
				s.Logger.Error("override", "err", err)
			}
		}
	}
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	h["Content-Type"] = hdrJSON
	h["Vary"] = hdrVaryAE
	h["Etag"] = enc.etagHdr
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && negotiate.NoneMatch(inm[0], enc.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, length := enc.json, enc.lenHdr
	if len(body) > 1024 && negotiate.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, length = enc.gzip, enc.gzipLenHdr
		h["Content-Encoding"] = hdrGzip
	}
	h["Content-Length"] = length
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
