package server

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestShellPage(t *testing.T) {
	ts := newTestServer(t)
	am := ts.publish(t, "catalog", "1.0.0")
	ts.publish(t, "home", "1.0.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0","isolation":"scoped"}`)
	ts.do(t, "PUT", "/api/v1/apps/home", adminToken, `{"version":"1.0.0","route":"/"}`)

	nonceRE := regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`)
	tests := []struct {
		path    string
		status  int
		preload string
		style   string // the stylesheet preloaded: the scoped copy under scoped isolation
	}{
		{"/catalog", 200, "/cdn/catalog/1.0.0/main.js", "/cdn/catalog/1.0.0/main.scoped.css"},
		{"/catalog/items/12", 200, "/cdn/catalog/1.0.0/main.js", "/cdn/catalog/1.0.0/main.scoped.css"},
		{"/", 200, "/cdn/home/1.0.0/main.js", "/cdn/home/1.0.0/main.css"},
		{"/catalogue", 404, "", ""},
		{"/nope", 404, "", ""},
		{"/catalog/../etc", 200, "/cdn/catalog/1.0.0/main.js", "/cdn/catalog/1.0.0/main.scoped.css"}, // served as a page, never as a file
	}
	var nonces []string
	for _, tt := range tests {
		res := ts.do(t, "GET", tt.path, "", "")
		if res.status != tt.status {
			t.Fatalf("%s: got %d, want %d", tt.path, res.status, tt.status)
		}
		body := string(res.body)
		csp := res.header.Get("Content-Security-Policy")
		m := nonceRE.FindStringSubmatch(csp)
		if m == nil || strings.Contains(csp, "'unsafe-inline' 'strict") || !strings.Contains(csp, "script-src 'nonce-") {
			t.Fatalf("%s: CSP %q", tt.path, csp)
		}
		nonces = append(nonces, m[1])
		if n := strings.Count(body, `nonce="`+m[1]+`"`); n != 2 {
			t.Errorf("%s: %d elements carry the response's nonce, want 2 (import map, runtime)", tt.path, n)
		}
		if res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.path, res.header.Get("Cache-Control"))
		}
		if tt.preload != "" && !strings.Contains(body, `rel="modulepreload" href="`+tt.preload+`"`) || tt.preload == "" && strings.Contains(body, "modulepreload") {
			t.Errorf("%s: preload of %q wrong in %s", tt.path, tt.preload, body)
		}
		styles := regexp.MustCompile(`<link rel="preload" as="fetch" href="([^"]+)" crossorigin>`).FindAllStringSubmatch(body, -1)
		if tt.style != "" && (len(styles) != 1 || styles[0][1] != tt.style) || tt.style == "" && len(styles) != 0 {
			t.Errorf("%s: stylesheet preloads %q, want %q", tt.path, styles, tt.style)
		}
		mm := regexp.MustCompile(`<script type="application/json" id="mfshell-manifest">(.*?)</script>`).FindStringSubmatch(body)
		var pub publicManifest
		if mm == nil || json.Unmarshal([]byte(mm[1]), &pub) != nil || pub.Apps["catalog"].Version != "1.0.0" {
			t.Fatalf("%s: inline manifest missing or wrong", tt.path)
		}
		im := regexp.MustCompile(`<script type="importmap" nonce="[^"]+">(.*?)</script>`).FindStringSubmatch(body)
		var imap struct{ Integrity map[string]string }
		if im == nil || json.Unmarshal([]byte(im[1]), &imap) != nil || imap.Integrity["/cdn/catalog/1.0.0/main.js"] != am.Files["main.js"].Integrity {
			t.Fatalf("%s: import map lacks the catalog entry's integrity: %v", tt.path, im)
		}
	}
	if nonces[0] == nonces[1] {
		t.Fatal("two responses share a nonce")
	}
}

func TestShellPageEscapes(t *testing.T) {
	ts := newTestServer(t)
	ts.publish(t, "catalog", "1.0.0")
	ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0","template":"</script><script>alert(1)</script>"}`)
	body := string(ts.do(t, "GET", "/catalog", "", "").body)
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("a template broke out of the inline manifest: %s", body)
	}
}

func TestRuntime(t *testing.T) {
	ts := newTestServer(t)
	body := string(ts.do(t, "GET", "/", "", "").body)
	src := regexp.MustCompile(`<script type="module" src="(/_mfshell/shell\.[A-Z0-9]+\.js)" integrity="(sha384-[^"]+)"`).FindStringSubmatch(body)
	if src == nil {
		t.Fatalf("page does not load the runtime: %s", body)
	}
	res := ts.do(t, "GET", src[1], "", "")
	if res.status != 200 || res.header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.HasPrefix(res.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("runtime: %d %v", res.status, res.header)
	}
	if res := ts.do(t, "GET", src[1], "", "", "If-None-Match", res.header.Get("ETag")); res.status != 304 {
		t.Fatalf("runtime revalidation: got %d, want 304", res.status)
	}
	if res := ts.do(t, "GET", src[1], "", "", "Accept-Encoding", "gzip"); res.header.Get("Content-Encoding") != "gzip" {
		t.Fatal("runtime not gzipped")
	}
	if sm := res.header.Get("SourceMap"); sm != src[1]+".map" {
		t.Fatalf("SourceMap header %q, want %q", sm, src[1]+".map")
	}
	if res := ts.do(t, "GET", src[1]+".map", "", ""); res.status != 200 {
		t.Fatalf("source map: got %d", res.status)
	}
	for _, p := range []string{"/_mfshell/shell.AAAA.js", "/_mfshell/nope"} {
		if res := ts.do(t, "GET", p, "", ""); res.status != 404 {
			t.Fatalf("%s: got %d, want 404", p, res.status)
		}
	}
}
