package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mfshell/mfshell/manifests"
)

// devManifest has a module app, a script app and an html app (no bundle).
func devManifest() *manifests.Manifest {
	m := manifests.New("/cdn/")
	m.Apps["catalog"] = manifests.App{Version: "1.0.0", Route: "/catalog", Entry: "main.js", Format: manifests.FormatModule}
	m.Apps["legacy"] = manifests.App{Version: "1.0.0", Route: "/legacy", Entry: "legacy.js", Format: manifests.FormatScript}
	m.Apps["page"] = manifests.App{Version: "1.0.0", Route: "/page", Format: manifests.FormatHTML}
	return m
}

func TestParseDevOverride(t *testing.T) {
	m := devManifest()
	for _, tc := range []struct {
		name, in string
		want     []devApp // nil: refused
		err      string   // in the error, when refused
	}{
		{name: "one app", in: "catalog@http://localhost:5173/src/main.js",
			want: []devApp{{"catalog", "http://localhost:5173", "http://localhost:5173/src/", "main.js"}}},
		{name: "https, IPv6, no port", in: "catalog@https://[::1]/main.js",
			want: []devApp{{"catalog", "https://[::1]", "https://[::1]/", "main.js"}}},
		{name: "several, sorted", in: "legacy@http://127.0.0.1:8081/legacy.js,catalog@http://localhost:5173/main.js",
			want: []devApp{
				{"catalog", "http://localhost:5173", "http://localhost:5173/", "main.js"},
				{"legacy", "http://127.0.0.1:8081", "http://127.0.0.1:8081/", "legacy.js"},
			}},
		{name: "scheme and host lower-cased, path kept", in: "catalog@HTTP://LocalHost:5173/Src/Main.js",
			want: []devApp{{"catalog", "http://localhost:5173", "http://localhost:5173/Src/", "Main.js"}}},
		{name: "escapes kept", in: "catalog@http://localhost:5173/my%20app/main.js",
			want: []devApp{{"catalog", "http://localhost:5173", "http://localhost:5173/my%20app/", "main.js"}}},

		{name: "unknown app", in: "nope@http://localhost:5173/main.js", err: `no app "nope"`},
		{name: "app without a bundle", in: "page@http://localhost:5173/main.js", err: "no bundle"},
		{name: "no URL", in: "catalog", err: "want APP@URL"},
		{name: "empty", in: "", err: "want APP@URL"},
		{name: "trailing comma", in: "catalog@http://localhost:5173/main.js,", err: "want APP@URL"},
		{name: "javascript:", in: "catalog@javascript:alert(1)//main.js", err: "want the http(s) URL"},
		{name: "data:", in: "catalog@data:text/javascript;base64,YWxlcnQoMSk=", err: "want"},
		{name: "file:", in: "catalog@file:///home/me/main.js", err: "want the http(s) URL"},
		{name: "ftp:", in: "catalog@ftp://localhost/main.js", err: "want the http(s) URL"},
		{name: "scheme-relative", in: "catalog@//localhost:5173/main.js", err: "want the http(s) URL"},
		{name: "relative", in: "catalog@/src/main.js", err: "want the http(s) URL"},
		{name: "credentials", in: "catalog@http://me:secret@localhost:5173/main.js", err: "credentials"},
		{name: "user only", in: "catalog@http://me@localhost:5173/main.js", err: "credentials"},
		{name: "no path", in: "catalog@http://localhost:5173", err: "want the http(s) URL"},
		{name: "root path", in: "catalog@http://localhost:5173/", err: "want the http(s) URL"},
		{name: "a folder", in: "catalog@http://localhost:5173/src/", err: "want the http(s) URL"},
		{name: "query", in: "catalog@http://localhost:5173/main.js?v=1", err: "query"},
		{name: "empty query", in: "catalog@http://localhost:5173/main.js?", err: "query"},
		{name: "fragment", in: "catalog@http://localhost:5173/main.js#x", err: "fragment"},
		{name: "dot-dot", in: "catalog@http://localhost:5173/src/../main.js", err: "dot segments"},
		{name: "dot", in: "catalog@http://localhost:5173/./main.js", err: "dot segments"},
		{name: "escaped dot-dot", in: "catalog@http://localhost:5173/%2E%2e/main.js", err: "dot segments"},
		{name: "empty segment", in: "catalog@http://localhost:5173//main.js", err: "dot segments"},
		{name: "brackets in the path", in: "catalog@http://localhost:5173/a[1]/main.js", err: "character"},
		{name: "CSP in the host", in: "catalog@http://localhost;script-src%20*/main.js", err: "want"},
		{name: "quote in the host", in: "catalog@http://local'host/main.js", err: "host"},
		{name: "non-ASCII host", in: "catalog@http://bücher.example/main.js", err: "host"},
		{name: "port too big", in: "catalog@http://localhost:99999/main.js", err: "host"},
		{name: "empty port", in: "catalog@http://localhost:/main.js", err: "host"},
		{name: "IPv6 zone", in: "catalog@http://[fe80::1%25eth0]:5173/main.js", err: "host"},
		{name: "too long", in: "catalog@http://localhost:5173/" + strings.Repeat("a", maxDevOverrideBytes) + ".js", err: "bytes"},
		{name: "too many apps", in: strings.Repeat("catalog@http://localhost:5173/main.js,", maxDevApps) + "legacy@http://localhost:5173/l.js", err: "apps: at most"},
		{name: "duplicate", in: "catalog@http://localhost:5173/main.js,catalog@http://localhost:5174/main.js", err: "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDevOverride(tc.in, m)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %+v; want %+v", got, tc.want)
				}
			}
			// Its cookie keeps the same apps, in a valid cookie value.
			cookie := devCookieValue(got)
			if c := (&http.Cookie{Name: overrideCookie, Value: cookie}); c.Valid() != nil || c.String() != overrideCookie+"="+cookie {
				t.Fatalf("cookie value %q is not cookie-safe", cookie)
			}
			back, err := parseDevCookie(cookie, m)
			if err != nil || devOverrideValue(back) != devOverrideValue(got) {
				t.Fatalf("cookie %q reads back as %+v, %v", cookie, back, err)
			}
		})
	}
	if _, err := parseDevCookie("dev:!!!", m); err == nil {
		t.Error("a cookie that is not base64url accepted")
	}
}

// TestDevOverrideNeedsDev checks that only a server with Dev takes a dev
// override, from a link or a cookie.
func TestDevOverrideNeedsDev(t *testing.T) {
	m := devManifest()
	link := "catalog@http://localhost:5173/main.js"
	apps, err := parseDevOverride(link, m)
	if err != nil {
		t.Fatal(err)
	}
	cookie := devCookieValue(apps)
	for _, dev := range []bool{false, true} {
		s := NewServer(nil, nil, nil)
		s.Dev = dev
		for _, v := range []struct {
			value     string
			fromQuery bool
		}{{link, true}, {cookie, false}} {
			o := s.readOverride(v.value, v.fromQuery, m)
			if got := o != nil && o.claims == nil && len(o.dev) == 1; got != dev {
				t.Errorf("Dev %v, %q: override %+v", dev, v.value, o)
			}
		}
		// A link's value in a cookie, or a cookie's in a link, is neither.
		if o := s.readOverride(link, false, m); o != nil {
			t.Errorf("Dev %v: a link's value accepted from a cookie", dev)
		}
		if o := s.readOverride(cookie, true, m); o != nil {
			t.Errorf("Dev %v: a cookie's value accepted from a link", dev)
		}
	}
}

// overrideCookieOf returns the mfshell-override cookie a response sets.
func overrideCookieOf(res response) *http.Cookie {
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == overrideCookie {
			return c
		}
	}
	return nil
}

func TestDevOverrides(t *testing.T) {
	// catalog 1.0.0 (canary 1.1.0 at 10%), home 1.0.0 (canary 2.0.0 at
	// 50%); bucket 5 is in both canaries.
	ts := canaryServer(t, func(s *Server) { s.Dev = true })
	const devURL = "http://127.0.0.1:5173/src/main.js"
	bucket := bucketCookie + "=5"
	link := "/catalog?" + overrideParam + "=" + url.QueryEscape("catalog@"+devURL)

	// The link sets the HttpOnly cookie; the page preloads the dev entry,
	// its CSP allows the dev server, its badge says what runs.
	res := ts.do(t, "GET", link, "", "", "Cookie", bucket)
	set := overrideCookieOf(res)
	if res.status != 200 || set == nil || !strings.HasPrefix(set.Value, devCookiePrefix) || !set.HttpOnly ||
		set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.MaxAge < 3600 {
		t.Fatalf("the link: %d, cookie %+v", res.status, set)
	}
	body := string(res.body)
	for _, want := range []string{
		`rel="modulepreload" href="` + devURL + `"`,
		`"base":"http://127.0.0.1:5173/src/"`,
		`"` + devURL + `":""`, // the import map
		"Unsigned dev override: catalog from " + devURL,
		`name="mfshell-override" value="clear"`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the page under the dev override has no %s: %s", want, body)
		}
	}
	csp := res.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src", "style-src", "img-src", "font-src", "connect-src"} {
		if !strings.Contains(csp, d+" 'self'") || !strings.Contains(directive(csp, d), " http://127.0.0.1:5173") {
			t.Errorf("CSP %s has no dev origin: %s", d, csp)
		}
	}
	if !strings.Contains(directive(csp, "connect-src"), " ws://127.0.0.1:5173") || strings.Contains(directive(csp, "script-src"), "5173") {
		t.Errorf("CSP: %s", csp)
	}

	// The manifest of that browser: the dev entry, unchecked, no fallback;
	// the rest as the bucket has it. Headers as for any variant.
	cookie := []string{"Cookie", bucket + "; " + overrideCookie + "=" + set.Value}
	res = ts.do(t, "GET", "/_mfshell/manifest.json", "", "", cookie...)
	var m publicManifest
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("manifest: %d %s", res.status, res.body)
	}
	c, h := m.Apps["catalog"], m.Apps["home"]
	if c.Version != "dev" || c.Base != "http://127.0.0.1:5173/src/" || c.Entry != "main.js" || c.Integrity["main.js"] != "" ||
		len(c.Integrity) != 1 || c.Styles == nil || len(c.Styles) != 0 || c.Fallback != nil || c.Route != "/catalog" || c.Format != "module" {
		t.Fatalf("the dev entry: %+v", c)
	}
	if !strings.Contains(string(res.body), `"styles":[]`) || strings.Count(string(res.body), `"base"`) != 1 {
		t.Fatalf("manifest: %s", res.body)
	}
	if h.Version != "2.0.0" || h.Fallback == nil || h.Fallback.Version != "1.0.0" || h.Base != "" {
		t.Fatalf("home under the dev override: %+v", h)
	}
	etag := res.header.Get("ETag")
	if res.header.Get("Cache-Control") != "no-cache" || res.header.Get("Vary") != "Accept-Encoding, Cookie" || !strings.Contains(etag, "-d") {
		t.Fatalf("manifest headers: %v", res.header)
	}
	if res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", append(cookie, "If-None-Match", etag)...); res.status != http.StatusNotModified {
		t.Fatalf("revalidation: %d", res.status)
	}
	// Another browser in the same bucket: its own variant.
	if v, other := catalogVersion(t, ts, "Cookie", bucket); v != "1.1.0" || other == etag {
		t.Fatalf("another browser: catalog %s, ETag %s", v, other)
	}
	// Another page of the same browser keeps it.
	if res := ts.do(t, "GET", "/", "", "", cookie...); !strings.Contains(string(res.body), "Unsigned dev override") ||
		!strings.Contains(res.header.Get("Content-Security-Policy"), "5173") {
		t.Fatal("another page of the same browser has no badge or CSP origin")
	}

	// Clear ends it.
	res = ts.do(t, "GET", "/catalog?"+overrideParam+"=clear", "", "", cookie...)
	if c := overrideCookieOf(res); c == nil || c.MaxAge >= 0 || hasBadge(res) ||
		strings.Contains(res.header.Get("Content-Security-Policy"), "5173") {
		t.Fatalf("clear: cookie %+v, CSP %s", c, res.header.Get("Content-Security-Policy"))
	}

	// An invalid link is ignored and clears the cookie, like a bad token.
	res = ts.do(t, "GET", "/catalog?"+overrideParam+"="+url.QueryEscape("catalog@javascript:alert(1)//x.js"), "", "", cookie...)
	if c := overrideCookieOf(res); c == nil || c.MaxAge >= 0 || hasBadge(res) {
		t.Fatalf("an invalid link: cookie %+v", c)
	}

	// The URL is escaped in the badge.
	res = ts.do(t, "GET", "/catalog?"+overrideParam+"="+url.QueryEscape("catalog@http://127.0.0.1:5173/a&b/it's.js"), "", "", "Cookie", bucket)
	if body := string(res.body); !hasBadge(res) || strings.Contains(body, "a&b/it's") {
		t.Fatalf("badge with & and ': %s", body)
	}

	// Signed overrides work as ever on a --dev server.
	tok := overrideLink(t, ts, teamToken, `{"apps":{"catalog":"1.1.0"},"ttl":"2h"}`)
	res = ts.do(t, "GET", "/catalog?"+overrideParam+"="+tok, "", "", "Cookie", bucketCookie+"=50")
	if c := overrideCookieOf(res); c == nil || c.Value != tok || !strings.Contains(string(res.body), "Override: catalog 1.1.0") {
		t.Fatalf("a signed link on a --dev server: cookie %+v", c)
	}
}

// TestDevOverridesOff checks that without Dev a dev override changes
// nothing but clearing the cookie.
func TestDevOverridesOff(t *testing.T) {
	ts := canaryServer(t)
	bucket := bucketCookie + "=50"
	live := ts.do(t, "GET", "/catalog", "", "", "Cookie", bucket)
	res := ts.do(t, "GET", "/catalog?"+overrideParam+"="+url.QueryEscape("catalog@http://127.0.0.1:5173/main.js"), "", "", "Cookie", bucket)
	if c := overrideCookieOf(res); c == nil || c.MaxAge >= 0 || hasBadge(res) ||
		strings.Contains(string(res.body), "5173") || res.header.Get("Content-Security-Policy") == "" ||
		strings.Contains(res.header.Get("Content-Security-Policy"), "5173") {
		t.Fatalf("a dev link without Dev: cookie %+v, CSP %s", c, res.header.Get("Content-Security-Policy"))
	}
	if !strings.Contains(string(res.body), `rel="modulepreload" href="/cdn/catalog/1.0.0/main.js"`) ||
		!strings.Contains(string(live.body), `rel="modulepreload" href="/cdn/catalog/1.0.0/main.js"`) {
		t.Fatalf("the page: %s", res.body)
	}
	apps, err := parseDevOverride("catalog@http://127.0.0.1:5173/main.js", ts.snap.Load().record.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	cookie := bucket + "; " + overrideCookie + "=" + devCookieValue(apps)
	if v, _ := catalogVersion(t, ts, "Cookie", cookie); v != "1.0.0" {
		t.Fatalf("manifest with a dev cookie: catalog %s", v)
	}
	res = ts.do(t, "GET", "/catalog", "", "", "Cookie", cookie)
	if c := overrideCookieOf(res); c == nil || c.MaxAge >= 0 || strings.Contains(string(res.body), "5173") {
		t.Fatalf("a page with a dev cookie: cookie %+v", c)
	}
}

// hasBadge reports whether a page shows an override's badge.
func hasBadge(res response) bool { return strings.Contains(string(res.body), `id="mfshell-override"`) }

// directive returns the value of CSP directive name in csp, with a
// leading space.
func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(d), name); ok {
			return rest
		}
	}
	return ""
}
