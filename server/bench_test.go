package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchApps is the number of apps in the manifest the benchmarks serve: a
// shell of a good size, whose public manifest is a few KiB (so it is sent
// gzipped to clients that accept it).
const benchApps = 10

// benchRequest sends one request through h and fails unless it gets status.
func benchRequest(tb testing.TB, h http.Handler, method, path, body string, status int, headers ...string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != status {
		tb.Fatalf("%s %s: got %d %s, want %d", method, path, w.Code, w.Body, status)
	}
	return w
}

// BenchmarkPublicManifest serves GET /_mfshell/manifest.json, for a
// manifest of benchApps apps, through the whole handler (router, metrics,
// negotiation) into a recorder: no network, so this is the server's own
// cost per request. Sub-benchmarks: the plain JSON (identity), the gzipped
// bytes (Accept-Encoding: gzip), and a revalidation that gets 304.
//
//	go test ./server -run '^$' -bench BenchmarkPublicManifest -benchmem
func BenchmarkPublicManifest(b *testing.B) {
	ts := newTestServer(b)
	s := ts.Server
	h := s.Handler()
	for i := range benchApps {
		app := fmt.Sprintf("app%d", i)
		ts.publish(b, app, "1.0.0")
		benchRequest(b, h, "PUT", "/api/v1/apps/"+app, `{"version":"1.0.0"}`, http.StatusCreated, "Authorization", "Bearer "+adminToken)
	}
	etag := s.snap.Load().variants[0].manifest.etag
	for _, bb := range []struct {
		name     string
		headers  []string
		status   int
		encoding string
	}{
		{"identity", nil, http.StatusOK, ""},
		{"gzip", []string{"Accept-Encoding", "gzip, deflate, br"}, http.StatusOK, "gzip"},
		{"304", []string{"If-None-Match", etag}, http.StatusNotModified, ""},
	} {
		b.Run(bb.name, func(b *testing.B) {
			// One request, reused: the server must not change it, and a
			// fresh one per iteration would measure httptest.NewRequest.
			req := httptest.NewRequest("GET", "/_mfshell/manifest.json", nil)
			for i := 0; i+1 < len(bb.headers); i += 2 {
				req.Header.Set(bb.headers[i], bb.headers[i+1])
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != bb.status || w.Header().Get("Content-Encoding") != bb.encoding {
				b.Fatalf("got %d with Content-Encoding %q, want %d with %q", w.Code, w.Header().Get("Content-Encoding"), bb.status, bb.encoding)
			}
			size := w.Body.Len()
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != bb.status {
					b.Fatalf("got %d, want %d", w.Code, bb.status)
				}
			}
			b.ReportMetric(float64(size), "body-B/op")
		})
	}
}

// BenchmarkRelease sends a release, PATCH /api/v1/apps/catalog with a
// version, through the whole handler (auth, decoding, CDN lookup of the
// asset manifest, validation, compare-and-swap, the new public manifest),
// alternating between two published versions so that every iteration
// writes a new revision durably (temp file, fsync, rename, fsync of the
// directory) in a temporary directory. ns/op is the release latency on
// this machine's disk, with benchApps apps in the manifest.
//
//	go test ./server -run '^$' -bench BenchmarkRelease -benchmem
func BenchmarkRelease(b *testing.B) {
	ts := newTestServer(b)
	s := ts.Server
	h := s.Handler()
	auth := "Bearer " + adminToken
	for i := range benchApps - 1 {
		app := fmt.Sprintf("app%d", i)
		ts.publish(b, app, "1.0.0")
		benchRequest(b, h, "PUT", "/api/v1/apps/"+app, `{"version":"1.0.0"}`, http.StatusCreated, "Authorization", auth)
	}
	ts.publish(b, "catalog", "1.0.0")
	ts.publish(b, "catalog", "1.1.0")
	benchRequest(b, h, "PUT", "/api/v1/apps/catalog", `{"version":"1.0.0"}`, http.StatusCreated, "Authorization", auth)
	bodies := [2]string{`{"version":"1.1.0"}`, `{"version":"1.0.0"}`}
	start := s.snap.Load().revision
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		benchRequest(b, h, "PATCH", "/api/v1/apps/catalog", bodies[n%2], http.StatusOK,
			"Authorization", auth, "Mfshell-Reason", "benchmark")
		n++
	}
	if got := s.snap.Load().revision - start; got != int64(n) {
		b.Fatalf("%d releases made %d revisions, want one each", n, got)
	}
}
