package cdn

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkHandler serves a 20 KB JavaScript bundle over loopback HTTP,
// side by side: a bare net/http handler writing the bytes from memory (the
// floor), the origin handler without gzip (from its cache, and with the
// cache off, streamed from the store), with gzip (compressed once, cached),
// a revalidation (304), and a handler that gzips on every request (the
// baseline that caching the compressed bytes beats).
//
//	go test ./cdn -run '^$' -bench BenchmarkHandler -benchmem
func BenchmarkHandler(b *testing.B) {
	ctx := context.Background()
	store := newStore(b)
	js := jsBundle(20000)
	dir := writeTree(b, map[string]string{"main.js": js})
	m, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	etag := `"` + m.Files["main.js"].Integrity + `"`
	const key = "catalog/1.0.0/main.js"

	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(js)))
		io.WriteString(w, js)
	})
	perRequest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obj, err := store.Open(r.Context(), key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer obj.Close()
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		io.Copy(zw, obj)
		zw.Close()
	})
	mux := http.NewServeMux()
	mux.Handle("/bare/", bare)
	mux.Handle("/per-request/", perRequest)
	mux.Handle("/cdn/", http.StripPrefix("/cdn/", NewHandler(store, nil)))
	uncached := NewHandler(store, nil)
	uncached.CacheSize = 0
	mux.Handle("/uncached/", http.StripPrefix("/uncached/", uncached))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}}

	for _, bb := range []struct {
		name, path string
		header     map[string]string
		status     int
	}{
		{"bare-memory", "/bare/main.js", nil, 200},
		{"identity", "/cdn/" + key, nil, 200},
		{"identity-uncached", "/uncached/" + key, nil, 200},
		{"gzip-cached", "/cdn/" + key, map[string]string{"Accept-Encoding": "gzip"}, 200},
		{"not-modified", "/cdn/" + key, map[string]string{"If-None-Match": etag}, 304},
		{"gzip-per-request", "/per-request/main.js", map[string]string{"Accept-Encoding": "gzip"}, 200},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				req, err := http.NewRequest(http.MethodGet, srv.URL+bb.path, nil)
				if err != nil {
					b.Fatal(err)
				}
				for k, v := range bb.header {
					req.Header.Set(k, v)
				}
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != bb.status {
					b.Fatalf("GET %s: %d, %v", bb.path, res.StatusCode, err)
				}
			}
			b.ReportMetric(float64(n), "body-B/op")
		})
	}
}
