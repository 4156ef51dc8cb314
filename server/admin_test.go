package server

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestAdminPage checks the admin page: its headers, a strict CSP whose
// nonce is the one of its style and script elements and new per response,
// and the script it loads, served immutable with the page's integrity.
func TestAdminPage(t *testing.T) {
	ts := newTestServer(t)
	scriptRE := regexp.MustCompile(`<script type="module" src="(/_mfshell/admin\.[A-Z0-9]+\.js)" integrity="(sha384-[A-Za-z0-9+/=]+)" nonce="([A-Za-z0-9_-]+)"></script>`)
	var nonces []string
	var script, integrity string
	for range 2 {
		res := ts.do(t, "GET", "/_mfshell/admin/", "", "")
		if res.status != http.StatusOK {
			t.Fatalf("GET /_mfshell/admin/: %d %s", res.status, res.body)
		}
		for name, want := range map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"Content-Length":         strconv.Itoa(len(res.body)),
		} {
			if got := res.header.Get(name); got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
		body := string(res.body)
		m := scriptRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no admin script in %s", body)
		}
		nonce := m[3]
		script, integrity = m[1], m[2]
		nonces = append(nonces, nonce)
		wantCSP := "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
			"'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
		if csp := res.header.Get("Content-Security-Policy"); csp != wantCSP {
			t.Errorf("CSP %q, want %q", csp, wantCSP)
		}
		want := `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
			`<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">` +
			`<title>mfshell admin</title><style nonce="` + nonce + `">` + string(ts.admin.CSS) + `</style>` +
			m[0] + `</head><body><main id="mfshell-admin"></main>` +
			`<noscript>The admin page needs JavaScript.</noscript></body></html>`
		if body != want {
			t.Errorf("page\n%s\nwant\n%s", body, want)
		}
	}
	if nonces[0] == nonces[1] || len(nonces[0]) < 22 {
		t.Errorf("nonces %q: want a new one of 128 bits at least per response", nonces)
	}
	if script != "/_mfshell/"+ts.admin.Script.Name {
		t.Errorf("script %s, want the built %s", script, ts.admin.Script.Name)
	}

	head := ts.do(t, "HEAD", "/_mfshell/admin/", "", "")
	if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Security-Policy") == "" {
		t.Errorf("HEAD: %d, %d bytes, headers %v", head.status, len(head.body), head.header)
	}

	js := ts.do(t, "GET", script, "", "")
	sum := sha512.Sum384(js.body)
	if js.status != http.StatusOK || "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) != integrity {
		t.Fatalf("GET %s: %d, its integrity is not the page's %s", script, js.status, integrity)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/javascript; charset=utf-8",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff",
		"Sourcemap":              script + ".map",
		"Etag":                   ts.admin.Script.ETag,
	} {
		if got := js.header.Get(name); got != want {
			t.Errorf("script: %s %q, want %q", name, got, want)
		}
	}
	if r := ts.do(t, "GET", script, "", "", "If-None-Match", ts.admin.Script.ETag); r.status != http.StatusNotModified {
		t.Errorf("revalidation of the script: %d", r.status)
	}
	sm := ts.do(t, "GET", script+".map", "", "")
	var m struct{ Version int }
	if sm.status != http.StatusOK || sm.header.Get("Content-Type") != "application/json" || json.Unmarshal(sm.body, &m) != nil || m.Version != 3 {
		t.Errorf("source map: %d %q %.80s", sm.status, sm.header.Get("Content-Type"), sm.body)
	}

	for path, want := range map[string]string{
		"/_mfshell/admin":       "/_mfshell/admin/",
		"/_mfshell/admin?app=x": "/_mfshell/admin/?app=x",
	} {
		r := ts.do(t, "GET", path, "", "")
		if r.status != http.StatusMovedPermanently || r.header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 301 to %s", path, r.status, r.header.Get("Location"), want)
		}
	}

	metrics := string(ts.do(t, "GET", "/metrics", "", "").body)
	for _, want := range []string{
		`mfshell_http_requests_total{code="200",method="GET",route="admin"} 2`,
		`mfshell_http_requests_total{code="301",method="GET",route="admin"} 2`,
		`mfshell_http_requests_total{code="200",method="GET",route="admin.script"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAPIToken(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		token, want string
	}{
		{adminToken, `{"name":"ops","apps":["*"]}`},
		{teamToken, `{"name":"team-catalog","apps":["catalog"]}`},
	} {
		res := ts.do(t, "GET", "/api/v1/token", tc.token, "")
		if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != tc.want ||
			res.header.Get("Content-Type") != "application/json" || res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET /api/v1/token: %d %s %v, want %s", res.status, res.body, res.header, tc.want)
		}
	}
	res := ts.do(t, "GET", "/api/v1/token", "", "")
	if res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
		t.Errorf("without a token: %d %s", res.status, res.body)
	}
	ts.do(t, "GET", "/api/v1/stats", adminToken, "")
	metrics := string(ts.do(t, "GET", "/metrics", "", "").body)
	for _, want := range []string{
		`mfshell_http_requests_total{code="200",method="GET",route="api.token"} 2`,
		`mfshell_http_requests_total{code="200",method="GET",route="api.stats"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestAPIStats posts beacons and reads the counts that the canary guard
// keeps of them.
func TestAPIStats(t *testing.T) {
	ts := canaryServer(t) // catalog 1.0.0, canary 1.1.0; home 1.0.0, canary 2.0.0
	res := ts.do(t, "GET", "/api/v1/stats", teamToken, "")
	if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != `{"apps":{}}` {
		t.Fatalf("before any beacon: %d %s", res.status, res.body)
	}
	for _, b := range []string{
		`{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":40}`,
		`{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":41}`,
		`{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":42}`,
		`{"app":"catalog","version":"1.0.0","outcome":"error"}`,
		`{"app":"catalog","version":"1.1.0","outcome":"mounted","ms":50}`,
		`{"app":"catalog","version":"1.1.0","outcome":"fallback","ms":50}`,
		`{"app":"catalog","version":"1.1.0","outcome":"error"}`,
		`{"app":"home","version":"2.0.0","outcome":"mounted","ms":10}`,
		`{"app":"home","version":"1.0.0","outcome":"unmounted","cleaned":{"listeners":1}}`, // not a mount
		`{"app":"catalog","version":"6.6.6","outcome":"error"}`,                            // unknown: dropped
	} {
		if r := ts.do(t, "POST", "/_mfshell/beacon", "", b, "Content-Type", "text/plain"); r.status != http.StatusNoContent {
			t.Fatalf("beacon %s: %d %s", b, r.status, r.body)
		}
	}
	want := stats{Apps: map[string]map[string]mountStats{
		"catalog": {"1.0.0": {Mounts: 4, Failed: 1}, "1.1.0": {Mounts: 3, Failed: 2}},
		"home":    {"2.0.0": {Mounts: 1, Failed: 0}},
	}}
	for _, token := range []string{adminToken, teamToken} {
		res := ts.do(t, "GET", "/api/v1/stats", token, "")
		var got stats
		if res.status != http.StatusOK || json.Unmarshal(res.body, &got) != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GET /api/v1/stats: %d %s, want %+v", res.status, res.body, want)
		}
	}
	res = ts.do(t, "GET", "/api/v1/stats", adminToken, "")
	if !strings.Contains(string(res.body), `"1.1.0":{"mounts":3,"failed":2}`) {
		t.Errorf("JSON shape: %s", res.body)
	}
}

// TestAPIStatsConcurrent reads the counts while beacons come in; run with
// -race.
func TestAPIStatsConcurrent(t *testing.T) {
	ts := canaryServer(t)
	h := ts.Server.Handler()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range each {
				outcome := "mounted"
				if j%5 == 0 {
					outcome = "error"
				}
				body := fmt.Sprintf(`{"app":"catalog","version":"1.%d.0","outcome":%q}`, i%2, outcome)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", "/_mfshell/beacon", strings.NewReader(body)))
				if w.Code != http.StatusNoContent {
					t.Errorf("beacon: %d", w.Code)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				req := httptest.NewRequest("GET", "/api/v1/stats", nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					t.Errorf("stats: %d", w.Code)
				}
			}
		}()
	}
	wg.Wait()
	var got stats
	json.Unmarshal(ts.do(t, "GET", "/api/v1/stats", adminToken, "").body, &got)
	per := mountStats{Mounts: writers / 2 * each, Failed: writers / 2 * each / 5}
	if c := got.Apps["catalog"]; c["1.0.0"] != per || c["1.1.0"] != per {
		t.Errorf("counts %+v, want %+v for each version", got.Apps, per)
	}
}

func TestAdminBadRequests(t *testing.T) {
	ts := newTestServer(t)
	script := "/_mfshell/" + ts.admin.Script.Name
	for _, tc := range []struct {
		method, path, token string
		status              int
	}{
		{"POST", "/_mfshell/admin/", "", 405},
		{"PUT", "/_mfshell/admin/", adminToken, 405},
		{"DELETE", "/_mfshell/admin", "", 405},
		{"POST", script, "", 405},
		{"POST", script + ".map", "", 405},
		{"GET", "/_mfshell/admin/index.html", "", 404},
		{"GET", "/_mfshell/admin/x/", "", 404},
		{"GET", "/_mfshell/admin.AAAAAAAA.js", "", 404},
		{"GET", "/_mfshell/admin.js", "", 404},
		{"POST", "/api/v1/token", adminToken, 405},
		{"DELETE", "/api/v1/token", teamToken, 405},
		{"PUT", "/api/v1/stats", adminToken, 405},
		{"GET", "/api/v1/token", "", 401},
		{"GET", "/api/v1/token", "not-a-token", 401},
		{"GET", "/api/v1/stats", "", 401},
		{"GET", "/api/v1/stats", "not-a-token", 401},
		{"GET", "/api/v1/token/ops", adminToken, 404},
		{"GET", "/api/v1/stats/catalog", adminToken, 404},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.token, func(t *testing.T) {
			res := ts.do(t, tc.method, tc.path, tc.token, "")
			if res.status != tc.status {
				t.Fatalf("got %d %s, want %d", res.status, res.body, tc.status)
			}
			allow := "GET, HEAD"
			if strings.HasPrefix(tc.path, "/api/") {
				allow = "GET"
			}
			if tc.status == 405 && res.header.Get("Allow") != allow {
				t.Errorf("Allow %q, want %q", res.header.Get("Allow"), allow)
			}
		})
	}
}

// TestAPIWrongMethods checks that every API path answers a method it does
// not take with 405 and the methods it takes, not 404.
func TestAPIWrongMethods(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/manifest", "GET"},
		{"POST", "/api/v1/apps/catalog", "DELETE, PATCH, PUT"},
		{"POST", "/api/v1/apps/catalog/versions", "GET"},
		{"POST", "/api/v1/history", "GET"},
		{"DELETE", "/api/v1/history/3", "GET"},
		{"GET", "/api/v1/rollback", "POST"},
		{"GET", "/api/v1/overrides", "POST"},
		{"POST", "/api/v1/token", "GET"},
		{"PUT", "/api/v1/stats", "GET"},
	} {
		res := ts.do(t, tc.method, tc.path, adminToken, "")
		if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", tc.method, tc.path, res.status, res.header.Get("Allow"), tc.allow)
		}
	}
}
