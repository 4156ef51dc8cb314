package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/internal/override"
	"github.com/mfshell/mfshell/internal/tokens"
	"github.com/mfshell/mfshell/manifests"
)

const (
	adminToken = "admin-token-0123456789"
	teamToken  = "team-catalog-token-0123456789"
)

// testServer is a real Server over a file manifest store and a local CDN
// folder, behind httptest.
type testServer struct {
	*Server
	url   string
	cdn   *cdn.Dir
	store *manifests.FileStore
	logs  *bytes.Buffer
}

// newTestServer starts a test server, with opts applied to it before it
// loads.
func newTestServer(t testing.TB, opts ...func(*Server)) *testServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store := manifests.NewFileStore(filepath.Join(dir, "manifest.json"))
	if err := store.Open(ctx); err != nil {
		t.Fatal(err)
	}
	bundles := cdn.NewDir(filepath.Join(dir, "cdn"))
	if err := bundles.Init(ctx); err != nil {
		t.Fatal(err)
	}
	tokensPath := filepath.Join(dir, "tokens.json")
	os.WriteFile(tokensPath, []byte(`[
		{"name": "ops", "token": "`+adminToken+`", "apps": ["*"]},
		{"name": "team-catalog", "sha256": "`+tokens.Digest(teamToken)+`", "apps": ["catalog"]}]`), 0o600)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: logs}, nil))
	tf := tokens.NewFile(tokensPath, logger)
	if err := tf.Load(); err != nil {
		t.Fatal(err)
	}
	s := NewServer(store, bundles, tf)
	s.Logger = logger
	s.Overrides, _ = override.NewSigner(bytes.Repeat([]byte("k"), 32)) // 32 bytes: no error
	s.AccessLog = false
	for _, o := range opts {
		o(s)
	}
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.feed.close()
		hs.Close()
	})
	return &testServer{Server: s, url: hs.URL, cdn: bundles, store: store, logs: logs}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// publish publishes a small bundle of app at version.
func (ts *testServer) publish(t testing.TB, app, version string) *cdn.AssetManifest {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.js"), []byte("export function mount(){} // "+app+"@"+version), 0o644)
	os.WriteFile(filepath.Join(dir, "main.css"), []byte(".x{color:red} /* "+version+" */"), 0o644)
	am, err := cdn.Publish(context.Background(), ts.cdn, dir, cdn.PublishOptions{App: app, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	return am
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
	return v
}

// do sends a request with an optional token and headers (name, value pairs).
func (ts *testServer) do(t testing.TB, method, path, token, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func (ts *testServer) revision(t *testing.T) int64 {
	t.Helper()
	rec, err := ts.store.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rec.Revision
}

func TestReleaseFlow(t *testing.T) {
	ts := newTestServer(t)
	am := ts.publish(t, "catalog", "1.0.0")
	ts.publish(t, "catalog", "1.1.0")

	res := ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0"}`, "Mfshell-Reason", "first release")
	if res.status != http.StatusCreated {
		t.Fatalf("PUT: got %d %s, want 201", res.status, res.body)
	}
	if res.header.Get("ETag") != `"1"` {
		t.Fatalf("PUT: ETag %q, want \"1\"", res.header.Get("ETag"))
	}
	rec, _ := ts.store.Current(context.Background())
	app := rec.Manifest.Apps["catalog"]
	if app.Entry != "main.js" || app.Route != "/catalog" || app.Integrity["main.js"] != am.Files["main.js"].Integrity || len(app.Styles) != 1 {
		t.Fatalf("entry after PUT: %+v", app)
	}

	res = ts.do(t, "PATCH", "/api/v1/apps/catalog", teamToken, `{"version":"1.1.0"}`, "Mfshell-Reason", "new list", "If-Match", `"1"`)
	if res.status != http.StatusOK || res.json(t)["revision"] != 2.0 {
		t.Fatalf("PATCH: got %d %s", res.status, res.body)
	}

	res = ts.do(t, "GET", "/api/v1/history", adminToken, "")
	var h struct{ Revisions []historyEntry }
	json.Unmarshal(res.body, &h)
	if len(h.Revisions) != 2 || h.Revisions[0].Actor != "team-catalog" || h.Revisions[0].Reason != "new list" ||
		h.Revisions[0].Summary != `catalog: version "1.0.0" → "1.1.0"` || h.Revisions[1].Actor != "ops" {
		t.Fatalf("history: %s", res.body)
	}

	res = ts.do(t, "POST", "/api/v1/rollback", adminToken, `{"revision":1}`)
	if res.status != http.StatusOK || res.json(t)["revision"] != 3.0 {
		t.Fatalf("rollback: got %d %s", res.status, res.body)
	}
	res = ts.do(t, "GET", "/api/v1/manifest", adminToken, "")
	var m manifests.Manifest
	json.Unmarshal(res.body, &m)
	if m.Revision != 3 || m.Apps["catalog"].Version != "1.0.0" || res.header.Get("ETag") != `"3"` {
		t.Fatalf("manifest after rollback: revision %d, version %q, ETag %q", m.Revision, m.Apps["catalog"].Version, res.header.Get("ETag"))
	}

	res = ts.do(t, "GET", "/api/v1/apps/catalog/versions", teamToken, "")
	var v struct {
		Live     string
		Versions []cdn.Published
	}
	json.Unmarshal(res.body, &v)
	if v.Live != "1.0.0" || len(v.Versions) != 2 {
		t.Fatalf("versions: %s", res.body)
	}

	res = ts.do(t, "GET", "/api/v1/history/2", adminToken, "")
	if res.status != 200 || !strings.Contains(string(res.body), `"manifest"`) {
		t.Fatalf("history/2: got %d %s", res.status, res.body)
	}

	res = ts.do(t, "DELETE", "/api/v1/apps/catalog", adminToken, "")
	if res.status != 200 || ts.revision(t) != 4 {
		t.Fatalf("DELETE: got %d %s", res.status, res.body)
	}
	if res := ts.do(t, "DELETE", "/api/v1/apps/catalog", adminToken, ""); res.status != 404 {
		t.Fatalf("second DELETE: got %d, want 404", res.status)
	}
}

// TestBadInput sends each kind of bad request and checks the status, that
// the error is JSON naming the problem, and that nothing changed.
func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	ts.publish(t, "catalog", "1.0.0")
	ts.publish(t, "cart", "1.0.0")
	if res := ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0"}`); res.status != 201 {
		t.Fatalf("setup: %d %s", res.status, res.body)
	}
	if res := ts.do(t, "PUT", "/api/v1/apps/cart", adminToken, `{"version":"1.0.0"}`); res.status != 201 {
		t.Fatalf("setup: %d %s", res.status, res.body)
	}
	big := `{"template":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	tests := []struct {
		name, method, path, token, body string
		headers                         []string
		status                          int
		want                            string
	}{
		{"malformed JSON", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":`, nil, 400, "malformed JSON"},
		{"unknown field", "PATCH", "/api/v1/apps/catalog", adminToken, `{"verison":"1.0.0"}`, nil, 400, `unknown field "verison"`},
		{"unknown app field in PUT", "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0","colour":"red"}`, nil, 400, `unknown field "colour"`},
		{"empty patch", "PATCH", "/api/v1/apps/catalog", adminToken, `{}`, nil, 400, "empty change"},
		{"dot-dot version", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"../1"}`, nil, 400, "apps.catalog.version"},
		{"slash version", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"1/2"}`, nil, 400, "apps.catalog.version"},
		{"long version", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"` + strings.Repeat("1", 65) + `"}`, nil, 400, "at most 64"},
		{"upper-case name", "PUT", "/api/v1/apps/Catalog", adminToken, `{"version":"1.0.0"}`, nil, 400, "bad app name"},
		{"dot-dot name", "PUT", "/api/v1/apps/..", adminToken, `{"version":"1.0.0"}`, nil, 400, "bad app name"},
		{"long name", "PUT", "/api/v1/apps/" + strings.Repeat("a", 41), adminToken, `{"version":"1.0.0"}`, nil, 400, "at most 40"},
		{"bad route", "PATCH", "/api/v1/apps/catalog", adminToken, `{"route":"catalog"}`, nil, 400, `apps.catalog.route: must start with "/"`},
		{"taken route", "PATCH", "/api/v1/apps/cart", adminToken, `{"route":"/catalog"}`, nil, 400, "already the route"},
		{"body over 1 MiB", "PATCH", "/api/v1/apps/catalog", adminToken, big, nil, 413, "larger than 1 MiB"},
		{"no token", "PATCH", "/api/v1/apps/catalog", "", `{"version":"1.0.0"}`, nil, 401, "missing bearer token"},
		{"wrong token", "PATCH", "/api/v1/apps/catalog", "nope-nope-nope-nope", `{"version":"1.0.0"}`, nil, 401, "invalid token"},
		{"team token on another app", "PATCH", "/api/v1/apps/cart", teamToken, `{"template":"x"}`, nil, 403, `token "team-catalog" may not change app "cart"`},
		{"team token rollback", "POST", "/api/v1/rollback", teamToken, `{"revision":1}`, nil, 403, "needs an admin token"},
		{"stale If-Match", "PATCH", "/api/v1/apps/catalog", adminToken, `{"template":"x"}`, []string{"If-Match", `"1"`}, 412, "store is at revision 2, not 1"},
		{"malformed If-Match", "PATCH", "/api/v1/apps/catalog", adminToken, `{"template":"x"}`, []string{"If-Match", `2`}, 400, "If-Match must be a quoted revision"},
		{"unpublished version", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"9.9.9"}`, nil, 409, "is not published"},
		{"forced without files", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"9.9.9","force":true}`, nil, 400, "must give its entry, styles and integrity"},
		{"forced without integrity", "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"9.9.9","force":true,"entry":"x.js","styles":[],"integrity":{}}`, nil, 400, `has no value for the entry "x.js"`},
		{"rollback to missing revision", "POST", "/api/v1/rollback", adminToken, `{"revision":99}`, nil, 404, "revision 99 does not exist"},
		{"rollback bad body", "POST", "/api/v1/rollback", adminToken, `{"rev":1}`, nil, 400, `unknown field "rev"`},
		{"patch missing app", "PATCH", "/api/v1/apps/nope", adminToken, `{"template":"x"}`, nil, 404, `no app "nope"`},
		{"long reason", "PATCH", "/api/v1/apps/catalog", adminToken, `{"template":"x"}`, []string{"Mfshell-Reason", strings.Repeat("r", 501)}, 400, "reason: must be at most 500"},
		{"bad history limit", "GET", "/api/v1/history?limit=-1", adminToken, "", nil, 400, "limit must be"},
		{"unknown endpoint", "GET", "/api/v1/nope", adminToken, "", nil, 404, "no such API endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.revision(t)
			beforeFile, _ := os.ReadFile(ts.store.Path())
			res := ts.do(t, tt.method, tt.path, tt.token, tt.body, tt.headers...)
			if tt.status == 0 { // the router may clean the path: anything but success
				if res.status < 400 {
					t.Fatalf("got %d, want an error", res.status)
				}
			} else {
				if res.status != tt.status {
					t.Fatalf("got %d %s, want %d", res.status, res.body, tt.status)
				}
				if msg, _ := res.json(t)["error"].(string); !strings.Contains(msg, tt.want) && !strings.Contains(string(res.body), tt.want) {
					t.Fatalf("got error %s, want it to contain %q", res.body, tt.want)
				}
			}
			afterFile, _ := os.ReadFile(ts.store.Path())
			if after := ts.revision(t); after != before || !bytes.Equal(beforeFile, afterFile) {
				t.Fatalf("a refused request changed the manifest: revision %d → %d", before, after)
			}
		})
	}
}

func TestForcedRelease(t *testing.T) {
	ts := newTestServer(t)
	ts.publish(t, "catalog", "1.0.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0"}`)
	sri := "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"
	res := ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"2.0.0","force":true,"entry":"x.js","styles":[],"integrity":{"x.js":"`+sri+`"}}`)
	if res.status != 200 {
		t.Fatalf("got %d %s", res.status, res.body)
	}
}

func TestPublicManifest(t *testing.T) {
	ts := newTestServer(t)
	ts.publish(t, "catalog", "1.0.0")
	ts.publish(t, "catalog", "1.1.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken,
		`{"version":"1.0.0","template":"`+strings.Repeat("<p>long enough to be compressed</p>", 50)+`","fragment":"http://catalog.internal:9000/f","canary":{"version":"1.1.0","percent":10}}`)

	res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "")
	// No bucket cookie: the stable variant of revision 1, the last of two.
	if res.status != 200 || res.header.Get("Cache-Control") != "no-cache" || res.header.Get("ETag") != `"1-1"` {
		t.Fatalf("got %d, headers %v", res.status, res.header)
	}
	body := string(res.body)
	if strings.Contains(body, "catalog.internal") || strings.Contains(body, "canary") {
		t.Fatalf("public manifest leaks internal fields: %s", body)
	}
	if !strings.Contains(body, `"version":"1.0.0"`) || !strings.Contains(body, `"integrity":{`) {
		t.Fatalf("public manifest: %s", body)
	}
	if res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", "If-None-Match", `"1-1"`); res.status != 304 || len(res.body) != 0 {
		t.Fatalf("If-None-Match: got %d", res.status)
	}
	res = ts.do(t, "GET", "/_mfshell/manifest.json", "", "", "Accept-Encoding", "gzip")
	if res.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: got Content-Encoding %q", res.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(res.body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != body {
		t.Fatal("gzip body differs from the plain one")
	}
}

func TestEvents(t *testing.T) {
	ts := newTestServer(t)
	ts.publish(t, "catalog", "1.0.0")
	ts.publish(t, "catalog", "1.1.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0"}`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/_mfshell/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	if got := <-events; got != `{"revision":1}` {
		t.Fatalf("first event: got %q, want revision 1", got)
	}
	ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"1.1.0"}`)
	if got := <-events; got != `{"revision":2}` {
		t.Fatalf("after a release: got %q, want revision 2", got)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t)
	if res := ts.do(t, "GET", "/healthz", "", ""); res.status != 200 {
		t.Fatalf("healthz: %d", res.status)
	}
	if res := ts.do(t, "GET", "/readyz", "", ""); res.status != 200 {
		t.Fatalf("readyz: %d %s", res.status, res.body)
	}
	ts.do(t, "GET", "/api/v1/manifest", "wrong-token", "")
	res := ts.do(t, "GET", "/metrics", "", "")
	for _, want := range []string{"mfshell_manifest_revision 0", "mfshell_auth_failures_total 1", `mfshell_http_requests_total{code="200",method="GET",route="healthz"} 1`, "go_goroutines"} {
		if !strings.Contains(string(res.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Readiness follows the store.
	os.RemoveAll(filepath.Dir(ts.store.Path()))
	if res := ts.do(t, "GET", "/readyz", "", ""); res.status != 503 {
		t.Fatalf("readyz with the store gone: got %d, want 503", res.status)
	}
}

func TestAuditLog(t *testing.T) {
	ts := newTestServer(t)
	ts.publish(t, "catalog", "1.0.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", teamToken, `{"version":"1.0.0"}`, "Mfshell-Reason", "launch")
	logs := ts.logs.String()
	for _, want := range []string{`msg="manifest changed"`, "revision=1", "actor=team-catalog", "reason=launch", `change="catalog: created"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("audit log lacks %s: %s", want, logs)
		}
	}
}

// TestConcurrentWrites sends 50 concurrent releases over HTTP, on one app
// and on 50 apps; none may be lost.
func TestConcurrentWrites(t *testing.T) {
	ts := newTestServer(t)
	for i := range 50 {
		ts.publish(t, fmt.Sprintf("app%d", i), "1.0.0")
	}
	ts.publish(t, "catalog", "1.0.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0"}`)
	var wg sync.WaitGroup
	statuses := make(chan int, 100)
	for i := range 50 {
		wg.Go(func() {
			statuses <- ts.do(t, "PUT", fmt.Sprintf("/api/v1/apps/app%d", i), adminToken, `{"version":"1.0.0"}`).status
		})
		wg.Go(func() {
			statuses <- ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, fmt.Sprintf(`{"template":"<i>%d</i>"}`, i)).status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 && s != 201 {
			t.Fatalf("a write got %d", s)
		}
	}
	// Every PATCH replaced the template, so each made a revision; every
	// PUT created an app.
	rec, _ := ts.store.Current(context.Background())
	if rec.Revision != 101 || len(rec.Manifest.Apps) != 51 {
		t.Fatalf("got revision %d with %d apps, want 101 with 51", rec.Revision, len(rec.Manifest.Apps))
	}
}
