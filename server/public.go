package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mfshell/mfshell/internal/negotiate"
	"github.com/mfshell/mfshell/manifests"
)

// publicManifest is what browsers see: one version per app, and nothing
// internal (fragment URLs, canary settings).
type publicManifest struct {
	Schema   int                  `json:"schema"`
	Revision int64                `json:"revision"`
	CDN      string               `json:"cdn"`
	Apps     map[string]publicApp `json:"apps"`
}

type publicApp struct {
	Version   string            `json:"version"`
	Route     string            `json:"route"`
	Entry     string            `json:"entry,omitempty"`
	Styles    []string          `json:"styles"`
	Format    string            `json:"format"`
	Isolation string            `json:"isolation"`
	Template  string            `json:"template,omitempty"`
	Integrity map[string]string `json:"integrity"`
	// Base is where the app's files are when not on the CDN: a dev
	// server's folder, under a dev override.
	Base string `json:"base,omitempty"`
	// Fallback is the version to mount when this one fails in the
	// browser: the previous live version (the live one, for a browser on
	// a canary or an override).
	Fallback *publicFallback `json:"fallback,omitempty"`
}

// publicFallback is a known-good version of an app and its files.
type publicFallback struct {
	Version   string            `json:"version"`
	Entry     string            `json:"entry,omitempty"`
	Styles    []string          `json:"styles"`
	Integrity map[string]string `json:"integrity"`
}

// snapshot is one revision as browsers see it: its public manifest and
// shell pages, encoded once and served from memory until the next
// revision. With canaries, browsers see different versions: a browser's
// bucket (0..99, its mfshell-bucket cookie) gets the canary of every app
// whose percent is above the bucket. The distinct percents cut the
// buckets into ranges that all see the same thing, so a revision has one
// variant per range, all encoded up front: one without canaries.
type snapshot struct {
	revision int64
	record   *manifests.Record
	// cuts are the distinct canary percents, ascending; variants[i] is for
	// the buckets from cuts[i-1] (0 for i = 0) up to cuts[i] (100 for the
	// last): variants[len(cuts)] is the stable one, no canary.
	cuts     []int
	variants []*variant
	// fallbacks are the previous live versions of the apps that have one.
	fallbacks map[string]manifests.App
}

// variant is the public manifest, import map and pages of a revision for
// a range of buckets.
type variant struct {
	manifest  *encodedJSON
	importMap *encodedJSON
	pages     *pages
	// sources are origins the pages' CSP must also allow: the dev servers
	// of a dev override.
	sources []string
}

// encodedJSON is a JSON document encoded for responses, as is and
// gzipped, with its ETag and header values built once.
type encodedJSON struct {
	json, gzip                  []byte
	etag                        string
	etagHdr, lenHdr, gzipLenHdr []string
}

func encodeJSON(data []byte, etag string) *encodedJSON {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // the level is valid
	zw.Write(data)
	zw.Close()
	return &encodedJSON{
		json: data, gzip: gz.Bytes(), etag: etag,
		etagHdr:    []string{etag},
		lenHdr:     []string{strconv.Itoa(len(data))},
		gzipLenHdr: []string{strconv.Itoa(gz.Len())},
	}
}

// serve writes e from memory: ETag and no-cache (browsers revalidate
// every time, and get a 304 while nothing changed), Vary on the cookies
// that choose a browser's variant, gzip when asked for. It returns the
// status it wrote.
func (e *encodedJSON) serve(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	h["Content-Type"] = hdrJSON
	h["Vary"] = hdrVaryAE
	h["Etag"] = e.etagHdr
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && negotiate.NoneMatch(inm[0], e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body, length := e.json, e.lenHdr
	if len(body) > 1024 && negotiate.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, length = e.gzip, e.gzipLenHdr
		h["Content-Encoding"] = hdrGzip
	}
	h["Content-Length"] = length
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return http.StatusOK
}

// forBucket returns the variant for bucket; a bucket out of 0..99 (none
// known) gets the stable one.
func (sn *snapshot) forBucket(bucket int) *variant {
	if bucket < 0 || bucket > 99 {
		return sn.variants[len(sn.cuts)]
	}
	i := 0
	for i < len(sn.cuts) && bucket >= sn.cuts[i] {
		i++
	}
	return sn.variants[i]
}

// newSnapshot encodes a revision for browsers: its public manifest and
// shell pages, for each range of buckets.
func (s *Server) newSnapshot(rec *manifests.Record) (*snapshot, error) {
	m := rec.Manifest
	sn := &snapshot{revision: m.Revision, record: rec, fallbacks: s.fallbacksFor(rec)}
	for _, a := range m.Apps {
		if a.Canary != nil && !slices.Contains(sn.cuts, a.Canary.Percent) {
			sn.cuts = append(sn.cuts, a.Canary.Percent)
		}
	}
	slices.Sort(sn.cuts)
	for i := range len(sn.cuts) + 1 {
		bucket := 0 // the first bucket of range i
		if i > 0 {
			bucket = sn.cuts[i-1]
		}
		tag := strconv.FormatInt(m.Revision, 10)
		if len(sn.cuts) > 0 {
			tag += "-" + strconv.Itoa(i)
		}
		v, err := s.newVariant(resolve(m, bucket), `"`+tag+`"`, "", nil, sn.fallbacksOf(m))
		if err != nil {
			return nil, err
		}
		sn.variants = append(sn.variants, v)
	}
	return sn, nil
}

// resolve returns m as a browser in bucket sees it: every app whose
// canary's percent is above the bucket at its canary's version.
func resolve(m *manifests.Manifest, bucket int) *manifests.Manifest {
	out := *m
	out.Apps = make(map[string]manifests.App, len(m.Apps))
	for name, a := range m.Apps {
		if c := a.Canary; c != nil && bucket < c.Percent {
			a.Version, a.Entry, a.Styles, a.Integrity = c.Version, c.Entry, c.Styles, c.Integrity
		}
		a.Canary = nil
		out.Apps[name] = a
	}
	return &out
}

// newVariant encodes the public manifest and the pages of m, a
// manifest already resolved for some browsers, with badge (HTML, or "") at
// the top of every page; bases gives the folder of the files of apps not
// on the CDN (a dev override's), fallback each app's fallback for them.
func (s *Server) newVariant(m *manifests.Manifest, etag, badge string, bases map[string]string, fallback func(name string, a manifests.App) *publicFallback) (*variant, error) {
	pub := publicManifest{Schema: m.Schema, Revision: m.Revision, CDN: s.CDNURL, Apps: make(map[string]publicApp, len(m.Apps))}
	for name, a := range m.Apps {
		pub.Apps[name] = publicApp{
			Version: a.Version, Route: a.Route, Entry: a.Entry, Styles: a.Styles, Format: a.Format,
			Isolation: a.Isolation, Template: a.Template, Integrity: a.Integrity,
			Base: bases[name], Fallback: fallback(name, a),
		}
	}
	data, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public manifest: %w", err)
	}
	im, err := json.Marshal(s.importMapOfApps(pub.Apps))
	if err != nil {
		return nil, fmt.Errorf("encode import map: %w", err)
	}
	pages, err := s.renderPages(m, data, badge, bases)
	if err != nil {
		return nil, err
	}
	return &variant{
		pages:    pages,
		manifest: encodeJSON(data, etag),
		// Its ETag changes when the variant's does.
		importMap: encodeJSON(im, `"im-`+strings.Trim(etag, `"`)+`"`),
	}, nil
}

// refresh reads the store's latest revision and, if it is newer than the
// one served, serves it and tells the change feed.
func (s *Server) refresh(ctx context.Context) error {
	rec, err := s.Manifests.Current(ctx)
	if err != nil {
		return err
	}
	return s.serveRecord(rec)
}

// serveRecord makes rec the served revision, unless a newer one is.
func (s *Server) serveRecord(rec *manifests.Record) error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if cur := s.snap.Load(); cur != nil && cur.revision >= rec.Revision {
		return nil
	}
	snap, err := s.newSnapshot(rec)
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	s.metrics.revision.Set(float64(rec.Revision))
	s.feed.publish(rec.Revision)
	return nil
}

// Header values shared by every manifest response; never modified.
var (
	hdrNoCache = []string{"no-cache"}
	hdrJSON    = []string{"application/json"}
	// Cookie: what a browser gets depends on its mfshell-bucket cookie.
	hdrVaryAE = []string{"Accept-Encoding, Cookie"}
	hdrGzip   = []string{"gzip"}
)

// browserVariant returns the variant of the served revision for r's
// browser: that of its canary bucket (mfshell-bucket cookie), or one
// encoded for the request under its override cookie.
func (s *Server) browserVariant(r *http.Request) *variant {
	sn := s.snap.Load()
	v := sn.variants[0]
	if len(sn.variants) > 1 {
		v = sn.forBucket(bucketOf(r))
	}
	if s.Overrides != nil || s.Dev {
		if o := s.cookieOverride(r, sn.record.Manifest); o != nil {
			if ov, err := s.overridden(sn, bucketOf(r), o); err == nil {
				v = ov
			} else {
				s.Logger.Error("override", "err", err)
			}
		}
	}
	return v
}

// serveManifest serves the public manifest of r's browser from memory,
// and returns the status it wrote.
func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request) int {
	return s.browserVariant(r).manifest.serve(w, r)
}

// handleEvents streams the change feed as Server-Sent Events: the current
// revision on connect, then one event per change, and a comment line as a
// heartbeat so that proxies keep the connection open.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	revisions, cancel := s.feed.subscribe()
	defer cancel()
	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\nevent: manifest\ndata: {\"revision\":%d}\n\n", s.snap.Load().revision) {
		return
	}
	heartbeat := time.NewTicker(s.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case rev, ok := <-revisions:
			if !ok {
				return // the server is shutting down
			}
			if !send("event: manifest\ndata: {\"revision\":%d}\n\n", rev) {
				return
			}
		case <-heartbeat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		}
	}
}
