package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mfshell/mfshell/cdn"
)

// publishFiles publishes a bundle of app at version with the given files
// (path → content) and entry.
func (ts *testServer) publishFiles(t testing.TB, app, version, entry string, files map[string]string) *cdn.AssetManifest {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	am, err := cdn.Publish(context.Background(), ts.cdn, dir, cdn.PublishOptions{App: app, Version: version, Entry: entry})
	if err != nil {
		t.Fatal(err)
	}
	return am
}

// getImportMap fetches /_mfshell/importmap.json with headers (name, value
// pairs) and decodes it.
func getImportMap(t *testing.T, ts *testServer, headers ...string) (importMap, response) {
	t.Helper()
	res := ts.do(t, "GET", "/_mfshell/importmap.json", "", "", headers...)
	if res.status != http.StatusOK {
		t.Fatalf("GET /_mfshell/importmap.json: %d %s", res.status, res.body)
	}
	var im importMap
	if err := json.Unmarshal(res.body, &im); err != nil {
		t.Fatalf("import map is not JSON: %v: %s", err, res.body)
	}
	return im, res
}

// TestImportMapPerBucket checks the import map of every bucket: each app
// at the version its browsers run, the integrity of its scripts (only),
// an ETag per variant, no-cache, Vary: Cookie and 304s.
func TestImportMapPerBucket(t *testing.T) {
	ts := canaryServer(t) // catalog 1.0.0 (canary 1.1.0 at 10%), home 1.0.0 (canary 2.0.0 at 50%)
	ams := map[string]map[string]string{}
	for _, av := range [][2]string{{"catalog", "1.0.0"}, {"catalog", "1.1.0"}, {"home", "1.0.0"}, {"home", "2.0.0"}} {
		am, err := cdn.ReadAssetManifest(context.Background(), ts.cdn, av[0], av[1])
		if err != nil {
			t.Fatal(err)
		}
		ams[av[0]+"@"+av[1]] = am.LoadedIntegrity()
	}
	etags := map[string]string{}
	for b := range 100 {
		im, res := getImportMap(t, ts, bucketHeader(strconv.Itoa(b))...)
		h := res.header
		if h.Get("Cache-Control") != "no-cache" || !strings.Contains(h.Get("Vary"), "Cookie") || !strings.Contains(h.Get("Vary"), "Accept-Encoding") ||
			h.Get("Content-Type") != "application/json" || h.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("bucket %d: headers %v", b, h)
		}
		want := map[string]string{"catalog": "1.0.0", "home": "1.0.0"}
		if b < 10 {
			want["catalog"] = "1.1.0"
		}
		if b < 50 {
			want["home"] = "2.0.0"
		}
		if len(im.Imports) != 4 || len(im.Integrity) != 2 {
			t.Fatalf("bucket %d: %s", b, res.body)
		}
		for app, v := range want {
			dir := "/cdn/" + app + "/" + v + "/"
			if im.Imports[app] != dir+"main.js" || im.Imports[app+"/"] != dir {
				t.Fatalf("bucket %d: imports of %s: %q, %q; want %s at %s", b, app, im.Imports[app], im.Imports[app+"/"], app, v)
			}
			if sri := im.Integrity[dir+"main.js"]; sri == "" || sri != ams[app+"@"+v]["main.js"] {
				t.Fatalf("bucket %d: integrity of %smain.js: %q", b, dir, sri)
			}
		}
		etag := h.Get("ETag")
		key := want["catalog"] + " " + want["home"]
		if prev, ok := etags[etag]; ok && prev != key || etag == "" {
			t.Fatalf("ETag %q stands for %s and %s", etag, prev, key)
		}
		etags[etag] = key
		if r := ts.do(t, "GET", "/_mfshell/importmap.json", "", "", "Cookie", bucketCookie+"="+strconv.Itoa(b), "If-None-Match", etag); r.status != http.StatusNotModified || len(r.body) != 0 {
			t.Fatalf("bucket %d: revalidation with its ETag: %d", b, r.status)
		}
	}
	if len(etags) != 3 {
		t.Fatalf("%d ETags, want 3: %v", len(etags), etags)
	}
	// No cookie: the stable versions, and the public manifest's ETag is
	// not the import map's.
	im, res := getImportMap(t, ts)
	if im.Imports["catalog"] != "/cdn/catalog/1.0.0/main.js" || im.Imports["home"] != "/cdn/home/1.0.0/main.js" {
		t.Fatalf("no cookie: %s", res.body)
	}
	if _, etag := catalogVersion(t, ts); etag == res.header.Get("ETag") {
		t.Fatalf("the import map and the manifest share ETag %s", etag)
	}
	// A new revision: a new ETag, and the old one no longer matches.
	old := res.header.Get("ETag")
	ts.publish(t, "catalog", "1.2.0")
	if r := ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"1.2.0"}`); r.status != 200 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/_mfshell/importmap.json", "", "", "If-None-Match", old); r.status != 200 || !strings.Contains(string(r.body), "/cdn/catalog/1.2.0/main.js") {
		t.Fatalf("after a release: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "HEAD", "/_mfshell/importmap.json", "", ""); r.status != 200 || len(r.body) != 0 || r.header.Get("ETag") == "" {
		t.Fatalf("HEAD: %d %v", r.status, r.header)
	}
}

// TestImportMapApps checks what the import map holds of each kind of app:
// a module app's entry, folder and every script (chunks included, not
// stylesheets); no script or html app; URLs under an absolute CDN URL.
func TestImportMapApps(t *testing.T) {
	ts := newTestServer(t, func(s *Server) { s.CDNURL = "https://cdn.example/bundles/" })
	am := ts.publishFiles(t, "catalog", "1.0.0", "index.js", map[string]string{
		"index.js":         "import('./chunks/a.js')",
		"chunks/a.js":      "export const a = 1",
		"chunks/b.mjs":     "export const b = 1",
		"style.css":        ".x{}",
		"img/logo.svg":     "<svg/>",
		"data/config.json": "{}",
	})
	ts.publish(t, "legacy", "1.0.0")
	for _, c := range []struct{ app, body string }{
		{"catalog", `{"version":"1.0.0"}`},
		{"legacy", `{"version":"1.0.0","format":"script"}`},
		{"news", `{"version":"1.0.0","format":"html","fragment":"http://127.0.0.1:1/news"}`},
	} {
		if res := ts.do(t, "PUT", "/api/v1/apps/"+c.app, adminToken, c.body); res.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", c.app, res.status, res.body)
		}
	}
	im, res := getImportMap(t, ts)
	const dir = "https://cdn.example/bundles/catalog/1.0.0/"
	want := importMap{
		Imports: map[string]string{"catalog": dir + "index.js", "catalog/": dir},
		Integrity: map[string]string{
			dir + "index.js":     am.Files["index.js"].Integrity,
			dir + "chunks/a.js":  am.Files["chunks/a.js"].Integrity,
			dir + "chunks/b.mjs": am.Files["chunks/b.mjs"].Integrity,
		},
	}
	got, _ := json.Marshal(im)
	if w, _ := json.Marshal(want); string(got) != string(w) {
		t.Fatalf("import map:\n got %s\nwant %s", got, w)
	}
	if strings.Contains(string(res.body), "legacy") || strings.Contains(string(res.body), "news") {
		t.Fatalf("a script or html app in the import map: %s", res.body)
	}
}

// TestImportMapOverride checks that a browser with an override cookie gets
// the overridden versions in its import map, with an ETag of its own, and
// that an invalid cookie is ignored.
func TestImportMapOverride(t *testing.T) {
	ts := canaryServer(t)
	tok := overrideLink(t, ts, teamToken, `{"apps":{"catalog":"1.1.0"},"ttl":"2h"}`)
	stable, sres := getImportMap(t, ts, "Cookie", bucketCookie+"=50")
	if stable.Imports["catalog"] != "/cdn/catalog/1.0.0/main.js" {
		t.Fatalf("bucket 50 without override: %s", sres.body)
	}
	im, res := getImportMap(t, ts, "Cookie", bucketCookie+"=50; "+overrideCookie+"="+tok)
	if im.Imports["catalog"] != "/cdn/catalog/1.1.0/main.js" || im.Imports["catalog/"] != "/cdn/catalog/1.1.0/" ||
		im.Integrity["/cdn/catalog/1.1.0/main.js"] == "" || im.Integrity["/cdn/catalog/1.0.0/main.js"] != "" ||
		im.Imports["home"] != "/cdn/home/1.0.0/main.js" {
		t.Fatalf("with the override: %s", res.body)
	}
	etag := res.header.Get("ETag")
	if etag == "" || etag == sres.header.Get("ETag") || !strings.Contains(res.header.Get("Vary"), "Cookie") {
		t.Fatalf("override ETag %q, stable %q", etag, sres.header.Get("ETag"))
	}
	if r := ts.do(t, "GET", "/_mfshell/importmap.json", "", "", "Cookie", bucketCookie+"=50; "+overrideCookie+"="+tok, "If-None-Match", etag); r.status != http.StatusNotModified {
		t.Fatalf("override revalidation: %d", r.status)
	}
	// Without the cookie, the override's ETag does not match.
	if r := ts.do(t, "GET", "/_mfshell/importmap.json", "", "", "Cookie", bucketCookie+"=50", "If-None-Match", etag); r.status != http.StatusOK {
		t.Fatalf("the override's ETag matched a browser without it: %d", r.status)
	}
	// A forged token is ignored.
	bad, _ := getImportMap(t, ts, "Cookie", bucketCookie+"=50; "+overrideCookie+"="+tok[:len(tok)-2]+"xx")
	if bad.Imports["catalog"] != "/cdn/catalog/1.0.0/main.js" {
		t.Fatalf("a forged override was applied: %v", bad.Imports)
	}
}

// TestImportMapGzip checks that a large import map is sent gzipped to a
// client that accepts it.
func TestImportMapGzip(t *testing.T) {
	ts := newTestServer(t)
	files := map[string]string{"main.js": "x"}
	for i := range 30 {
		files["chunks/c"+strconv.Itoa(i)+".js"] = "export const c = " + strconv.Itoa(i)
	}
	ts.publishFiles(t, "catalog", "1.0.0", "main.js", files)
	if res := ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0"}`); res.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	res := ts.do(t, "GET", "/_mfshell/importmap.json", "", "", "Accept-Encoding", "gzip")
	if res.status != 200 || res.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %d %v", res.status, res.header)
	}
	im, _ := getImportMap(t, ts)
	if len(im.Integrity) != 31 {
		t.Fatalf("%d integrity entries, want 31", len(im.Integrity))
	}
}

// TestImportMapDevOverride checks that on a --dev server a dev override's
// app is imported from its dev server, without integrity.
func TestImportMapDevOverride(t *testing.T) {
	ts := canaryServer(t, func(s *Server) { s.Dev = true })
	apps, err := parseDevOverride("catalog@http://127.0.0.1:5173/src/main.js", ts.snap.Load().record.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	im, res := getImportMap(t, ts, "Cookie", bucketCookie+"=50; "+overrideCookie+"="+devCookieValue(apps))
	if im.Imports["catalog"] != "http://127.0.0.1:5173/src/main.js" || im.Imports["catalog/"] != "http://127.0.0.1:5173/src/" ||
		im.Imports["home"] != "/cdn/home/1.0.0/main.js" || len(im.Integrity) != 1 {
		t.Fatalf("dev override: %s", res.body)
	}
}
