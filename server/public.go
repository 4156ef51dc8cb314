package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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
}

// snapshot is one revision's public manifest, encoded once and served from
// memory to every browser until the next revision.
type snapshot struct {
	revision int64
	record   *manifests.Record
	json     []byte
	gzip     []byte
	etag     string
	pages    *pages

	// Header values of the manifest response, built once per revision.
	etagHdr, lenHdr, gzipLenHdr []string
}

// newSnapshot encodes a revision for browsers: its public manifest and
// its shell pages.
func (s *Server) newSnapshot(rec *manifests.Record) (*snapshot, error) {
	m := rec.Manifest
	pub := publicManifest{Schema: m.Schema, Revision: m.Revision, CDN: s.CDNURL, Apps: make(map[string]publicApp, len(m.Apps))}
	for name, a := range m.Apps {
		pub.Apps[name] = publicApp{
			Version: a.Version, Route: a.Route, Entry: a.Entry, Styles: a.Styles, Format: a.Format,
			Isolation: a.Isolation, Template: a.Template, Integrity: a.Integrity,
		}
	}
	data, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public manifest: %w", err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // the level is valid
	zw.Write(data)
	zw.Close()
	pages, err := s.renderPages(m, data)
	if err != nil {
		return nil, err
	}
	return &snapshot{
		pages:      pages,
		revision:   m.Revision,
		record:     rec,
		json:       data,
		gzip:       gz.Bytes(),
		etag:       `"` + strconv.FormatInt(m.Revision, 10) + `"`,
		etagHdr:    []string{`"` + strconv.FormatInt(m.Revision, 10) + `"`},
		lenHdr:     []string{strconv.Itoa(len(data))},
		gzipLenHdr: []string{strconv.Itoa(gz.Len())},
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
	hdrVaryAE  = []string{"Accept-Encoding"}
	hdrGzip    = []string{"gzip"}
)

// serveManifest serves the public manifest from memory: ETag, no-cache
// (browsers revalidate every time, and get a 304 while nothing changed).
// It returns the status it wrote.
func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request) int {
	snap := s.snap.Load()
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	h["Content-Type"] = hdrJSON
	h["Vary"] = hdrVaryAE
	h["Etag"] = snap.etagHdr
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && negotiate.NoneMatch(inm[0], snap.etag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body, length := snap.json, snap.lenHdr
	if len(body) > 1024 && negotiate.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, length = snap.gzip, snap.gzipLenHdr
		h["Content-Encoding"] = hdrGzip
	}
	h["Content-Length"] = length
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return http.StatusOK
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
