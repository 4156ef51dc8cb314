package cdn

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// testClient leaves Accept-Encoding and the response body alone, so tests
// see exactly what the handler sends.
var testClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// newTestServer serves store's origin handler under /cdn/, as the server
// mounts it.
func newTestServer(tb testing.TB, store Store) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.StripPrefix("/cdn/", NewHandler(store, nil)))
	tb.Cleanup(srv.Close)
	return srv
}

// get sends a GET with the given headers and returns the response and body.
func get(tb testing.TB, url string, header map[string]string) (*http.Response, string) {
	tb.Helper()
	return do(tb, http.MethodGet, url, header)
}

func do(tb testing.TB, method, url string, header map[string]string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := testClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, string(body)
}

// rawGet sends target byte for byte as the request target, bypassing any
// cleaning or escaping by the client.
func rawGet(tb testing.TB, srv *httptest.Server, target string) int {
	tb.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: cdn.test\r\nConnection: close\r\n\r\n", target); err != nil {
		tb.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// jsBundle returns n bytes of plausible, deterministic JavaScript.
func jsBundle(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "export function component%d(props) {\n  const state%d = useState(%d);\n  return h(\"div\", {class: \"c%d\", onClick: () => state%d.set(props.v * %d)}, props.children);\n}\n", i, i, i*7, i%13, i, i%5)
	}
	return b.String()[:n]
}

// testBundle is a published version in a Dir with one file of each kind
// the handler treats differently.
func testBundle(tb testing.TB) (*Dir, map[string]string) {
	tb.Helper()
	store := newStore(tb)
	return store, publishTestBundle(tb, store)
}

// publishTestBundle publishes the files of testBundle to store as
// catalog@1.0.0 and returns them.
func publishTestBundle(tb testing.TB, store Store) map[string]string {
	tb.Helper()
	png := make([]byte, 3000)
	for i := range png {
		png[i] = byte(i * 7919 >> 3)
	}
	files := map[string]string{
		"main.js":          jsBundle(20000),
		"main.css":         strings.Repeat(".card { margin: 0 auto; color: #333 }\n", 60),
		"small.js":         "export const x = 1;\n",
		"logo.png":         string(png),
		"data.json":        `{"items": [` + strings.Repeat(`{"id": 1, "name": "item"},`, 100) + `{}]}`,
		"fonts/a.woff2":    string(png),
		"x.no-such-ext":    strings.Repeat("data ", 400),
		"chunks/lazy.mjs":  jsBundle(5000),
		"Inter Var.woff2":  "font " + string(png[:100]),
		"deep/er/path.svg": strings.Repeat(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`, 40),
	}
	if _, err := Publish(context.Background(), store, writeTree(tb, files), PublishOptions{App: "catalog", Version: "1.0.0", Entry: "main.js"}); err != nil {
		tb.Fatal(err)
	}
	return files
}

func TestHandler(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		store := k.new(t)
		testHandler(t, store, publishTestBundle(t, store))
	})
}

func testHandler(t *testing.T, store Store, files map[string]string) {
	srv := newTestServer(t, store)
	base := srv.URL + "/cdn/catalog/1.0.0/"

	tests := []struct {
		name, wantType string
		gzip           bool // sent gzipped to a client that accepts it
	}{
		{"main.js", "text/javascript; charset=utf-8", true},
		{"chunks/lazy.mjs", "text/javascript; charset=utf-8", true},
		{"main.css", "text/css; charset=utf-8", true},
		{"data.json", "application/json", true},
		{"deep/er/path.svg", "image/svg+xml", true},
		{"small.js", "text/javascript; charset=utf-8", false},
		{"logo.png", "image/png", false},
		{"fonts/a.woff2", "font/woff2", false},
		{"Inter Var.woff2", "font/woff2", false},
		{"x.no-such-ext", "application/octet-stream", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := files[tt.name]
			etag := `"` + sri([]byte(content)) + `"`
			res, body := get(t, base+tt.name, nil)
			if res.StatusCode != 200 || body != content {
				t.Fatalf("GET: %d, %d bytes; want 200 and the file's %d bytes", res.StatusCode, len(body), len(content))
			}
			wantHeader := map[string]string{
				"Content-Type":                tt.wantType,
				"Cache-Control":               "public, max-age=31536000, immutable",
				"Etag":                        etag,
				"Access-Control-Allow-Origin": "*",
				"X-Content-Type-Options":      "nosniff",
				"Content-Length":              fmt.Sprint(len(content)),
				"Content-Encoding":            "",
				"Last-Modified":               "",
			}
			if tt.gzip {
				wantHeader["Vary"] = "Accept-Encoding"
			}
			checkHeader(t, "GET", res, wantHeader)

			// HEAD: the same headers, no body.
			res, body = do(t, http.MethodHead, base+tt.name, nil)
			if res.StatusCode != 200 || body != "" {
				t.Errorf("HEAD: %d with %d bytes, want 200 and no body", res.StatusCode, len(body))
			}
			checkHeader(t, "HEAD", res, wantHeader)

			// Revalidation, strong or weak.
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
				res, body = get(t, base+tt.name, map[string]string{"If-None-Match": inm})
				if res.StatusCode != http.StatusNotModified || body != "" {
					t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and no body", inm, res.StatusCode, len(body))
				}
				checkHeader(t, "304", res, map[string]string{"Etag": etag, "Cache-Control": "public, max-age=31536000, immutable"})
			}
			res, _ = get(t, base+tt.name, map[string]string{"If-None-Match": `"other"`})
			if res.StatusCode != 200 {
				t.Errorf("If-None-Match another ETag: %d, want 200", res.StatusCode)
			}

			for _, ae := range []string{"", "gzip"} {
				res, body = get(t, base+tt.name, map[string]string{"If-Match": `"other"`, "Accept-Encoding": ae})
				if res.StatusCode != http.StatusPreconditionFailed || body != "" {
					t.Errorf("If-Match another ETag, Accept-Encoding %q: %d with %d bytes, want 412", ae, res.StatusCode, len(body))
				}
			}

			// Range.
			res, body = get(t, base+tt.name, map[string]string{"Range": "bytes=2-9"})
			if res.StatusCode != http.StatusPartialContent || body != content[2:10] {
				t.Errorf("Range bytes=2-9: %d %q, want 206 %q", res.StatusCode, body, content[2:10])
			}
			checkHeader(t, "206", res, map[string]string{"Content-Range": fmt.Sprintf("bytes 2-9/%d", len(content))})

			// gzip, twice: compressed on the first request, cached for the second.
			for range 2 {
				res, body = get(t, base+tt.name, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
				if res.StatusCode != 200 {
					t.Fatalf("GET gzip: %d", res.StatusCode)
				}
				if !tt.gzip {
					if body != content {
						t.Errorf("GET gzip: body differs from the file, want it sent as is")
					}
					checkHeader(t, "GET gzip", res, map[string]string{"Content-Encoding": "", "Etag": etag})
					continue
				}
				checkHeader(t, "GET gzip", res, map[string]string{
					"Content-Encoding": "gzip",
					"Vary":             "Accept-Encoding",
					"Content-Type":     tt.wantType,
					"Etag":             etag[:len(etag)-1] + `-gz"`,
					"Content-Length":   fmt.Sprint(len(body)),
				})
				if got := gunzip(t, body); got != content {
					t.Errorf("GET gzip: decompressed body differs from the file")
				}
				if len(body) >= len(content) {
					t.Errorf("GET gzip: %d bytes, not smaller than the file's %d", len(body), len(content))
				}
			}
			if tt.gzip {
				gzEtag := etag[:len(etag)-1] + `-gz"`
				// Range over the gzipped bytes, as RFC 9110 defines it.
				res, body = get(t, base+tt.name, map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-1"})
				if res.StatusCode != http.StatusPartialContent || body != "\x1f\x8b" || res.Header.Get("Content-Length") != "2" {
					t.Errorf("Range bytes=0-1 of the gzip variant: %d %q, Content-Length %q; want 206 with the gzip magic", res.StatusCode, body, res.Header.Get("Content-Length"))
				}
				res, _ = get(t, base+tt.name, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": gzEtag})
				if res.StatusCode != http.StatusNotModified {
					t.Errorf("If-None-Match of the gzip variant: %d, want 304", res.StatusCode)
				}
				res, _ = get(t, base+tt.name, map[string]string{"If-None-Match": gzEtag})
				if res.StatusCode != 200 {
					t.Errorf("If-None-Match of the gzip variant, without Accept-Encoding: %d, want 200", res.StatusCode)
				}
			}
		})
	}
}

func checkHeader(tb testing.TB, what string, res *http.Response, want map[string]string) {
	tb.Helper()
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			tb.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func gunzip(tb testing.TB, data string) string {
	tb.Helper()
	zr, err := gzip.NewReader(strings.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}

func TestHandlerAssetManifest(t *testing.T) {
	forEachStore(t, testHandlerAssetManifest)
}

func testHandlerAssetManifest(t *testing.T, k storeKind) {
	store := k.new(t)
	publishTestBundle(t, store)
	srv := newTestServer(t, store)
	res, body := get(t, srv.URL+"/cdn/catalog/1.0.0/"+AssetManifestName, nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", AssetManifestName, res.StatusCode)
	}
	checkHeader(t, "GET", res, map[string]string{"Content-Type": "application/json", "Etag": `"` + sri([]byte(body)) + `"`})
	var got AssetManifest
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want, err := ReadAssetManifest(context.Background(), store, "catalog", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("served asset manifest %+v, want %+v", got, want)
	}
}

func TestHandlerNotFound(t *testing.T) {
	forEachStore(t, testHandlerNotFound)
}

func testHandlerNotFound(t *testing.T, k storeKind) {
	store := k.new(t)
	publishTestBundle(t, store)
	// Files of a version that has no asset manifest are not published.
	k.plant(t, store, "catalog/2.0.0/main.js", "half")
	k.plant(t, store, "catalog/1.0.0/planted.js", "not in the asset manifest")
	srv := newTestServer(t, store)
	for _, p := range []string{
		"catalog/1.0.0/missing.js",
		"catalog/1.0.0/planted.js",
		"catalog/1.0.0/chunks",
		"catalog/2.0.0/main.js",
		"catalog/2.0.0/" + AssetManifestName,
		"catalog/3.0.0/main.js",
		"nobody/1.0.0/main.js",
	} {
		res, _ := get(t, srv.URL+"/cdn/"+p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "" {
			t.Errorf("GET %s: 404 with Cache-Control %q, want none", p, cc)
		}
	}
}

func TestHandlerMethods(t *testing.T) {
	store, _ := testBundle(t)
	srv := newTestServer(t, store)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		res, _ := do(t, m, srv.URL+"/cdn/catalog/1.0.0/main.js", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q; want 405 and Allow \"GET, HEAD\"", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

func TestHandlerMalformed(t *testing.T) {
	store, _ := testBundle(t)
	// A secret beside the store, that no request may reach.
	writeTestFile(t, store.Root, "../secret.js", "secret")
	writeTestFile(t, store.Root, "catalog/1.0.0/.env", "secret")
	srv := newTestServer(t, store)
	tests := []struct {
		target string
		want   int
	}{
		{"/cdn/catalog/1.0.0/main.js", 200}, // the control
		{"/cdn/catalog/1.0.0/../../../secret.js", 400},
		{"/cdn/catalog/1.0.0/chunks/../main.js", 400},
		{"/cdn/../secret.js", 400},
		{"/cdn/catalog/1.0.0/%2e%2e/%2e%2e/%2e%2e/secret.js", 400},
		{"/cdn/catalog/1.0.0/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.js", 400},
		{"/cdn/catalog/1.0.0/chunks%2flazy.mjs", 400},
		{"/cdn/catalog%2F1.0.0%2Fmain.js", 400},
		{"/cdn/catalog/1.0.0/..%5c..%5c..%5csecret.js", 400},
		{"/cdn/catalog/1.0.0/chunks\\lazy.mjs", 400},
		{"/cdn/catalog/1.0.0/main.js%00.png", 400},
		{"/cdn/catalog/1.0.0/.env", 400},
		{"/cdn/catalog/1.0.0/%2eenv", 400},
		{"/cdn/catalog/1.0.0/./main.js", 400},
		{"/cdn/catalog/1.0.0//main.js", 400},
		{"/cdn/catalog/1.0.0/", 400},
		{"/cdn/catalog/1.0.0", 400},
		{"/cdn/catalog/", 400},
		{"/cdn/", 400},
		{"/cdn//catalog/1.0.0/main.js", 400},
		{"/cdn/Catalog/1.0.0/main.js", 400},
		{"/cdn/catalog/1..0/main.js", 400},
		{"/cdn/catalog/.1/main.js", 400},
		{"/cdn/.staging/x/main.js", 400},
		{"/cdn/catalog/1.0.0/main.js/", 400},
		{"/cdn%2fcatalog/1.0.0/main.js", 404}, // not under /cdn/ at all
	}
	for _, tt := range tests {
		if got := rawGet(t, srv, tt.target); got != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.target, got, tt.want)
		}
	}
}

func TestHandlerCacheSize(t *testing.T) {
	store, files := testBundle(t)
	h := NewHandler(store, nil)
	srv := httptest.NewServer(http.StripPrefix("/cdn/", h))
	defer srv.Close()
	gzipOK := map[string]string{"Accept-Encoding": "gzip"}

	h.CacheSize = 0 // cache and gzip off: streamed as is
	res, body := get(t, srv.URL+"/cdn/catalog/1.0.0/main.css", gzipOK)
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || res.Header.Get("Vary") != "" || body != files["main.css"] {
		t.Errorf("with the cache off: %d, Content-Encoding %q, Vary %q; want 200, the file as is", res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}

	// Files larger than the cache are streamed as is; smaller ones cached.
	h.CacheSize = 10000
	for range 2 {
		res, body = get(t, srv.URL+"/cdn/catalog/1.0.0/main.js", gzipOK)
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || body != files["main.js"] {
			t.Errorf("file larger than the cache: %d, Content-Encoding %q; want 200, the file as is", res.StatusCode, res.Header.Get("Content-Encoding"))
		}
		res, body = get(t, srv.URL+"/cdn/catalog/1.0.0/main.css", gzipOK)
		if res.StatusCode != 200 || gunzip(t, body) != files["main.css"] {
			t.Errorf("file smaller than the cache: %d, want 200 and the file gzipped", res.StatusCode)
		}
		get(t, srv.URL+"/cdn/catalog/1.0.0/logo.png", nil)
		get(t, srv.URL+"/cdn/catalog/1.0.0/data.json", gzipOK)
	}
	if h.bodies.cost == 0 || h.bodies.cost > h.CacheSize {
		t.Errorf("cache holds %d bytes, want some and at most %d", h.bodies.cost, h.CacheSize)
	}
}

func TestHandlerCorruptStore(t *testing.T) {
	forEachStore(t, testHandlerCorruptStore)
}

func testHandlerCorruptStore(t *testing.T, k storeKind) {
	store := k.new(t)
	publishTestBundle(t, store)
	var log bytes.Buffer
	srv := httptest.NewServer(http.StripPrefix("/cdn/", NewHandler(store, slog.New(slog.NewTextHandler(&log, nil)))))
	defer srv.Close()
	// The stored file no longer matches the asset manifest.
	k.plant(t, store, "catalog/1.0.0/main.css", "truncated")
	res, body := get(t, srv.URL+"/cdn/catalog/1.0.0/main.css", nil)
	if res.StatusCode != http.StatusInternalServerError || strings.Contains(body, "asset manifest") {
		t.Errorf("GET: %d %q, want 500 with a generic message", res.StatusCode, body)
	}
	if res.Header.Get("Cache-Control") != "" || res.Header.Get("Etag") != "" {
		t.Errorf("500 with Cache-Control %q, ETag %q; want neither", res.Header.Get("Cache-Control"), res.Header.Get("Etag"))
	}
	if !strings.Contains(log.String(), "size differs from the asset manifest") {
		t.Errorf("log = %q, want the cause", log.String())
	}
}

func TestHandlerConcurrent(t *testing.T) {
	store, files := testBundle(t)
	srv := newTestServer(t, store)
	errs := make(chan error, 64)
	for i := range 64 {
		go func() {
			name := []string{"main.js", "main.css", "logo.png", "data.json"}[i%4]
			hdr := map[string]string{}
			if i%2 == 0 {
				hdr["Accept-Encoding"] = "gzip"
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/cdn/catalog/1.0.0/"+name, nil)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			res, err := testClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			var r io.Reader = res.Body
			if res.Header.Get("Content-Encoding") == "gzip" {
				if r, err = gzip.NewReader(res.Body); err != nil {
					errs <- err
					return
				}
			}
			got, err := io.ReadAll(r)
			switch {
			case err != nil:
				errs <- err
			case !bytes.Equal(got, []byte(files[name])):
				errs <- fmt.Errorf("%s: wrong content", name)
			default:
				errs <- nil
			}
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
