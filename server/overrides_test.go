package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mfshell/mfshell/internal/override"
)

// overrideLink asks for an override and returns its token.
func overrideLink(t *testing.T, ts *testServer, token, body string) string {
	t.Helper()
	res := ts.do(t, "POST", "/api/v1/overrides", token, body)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /api/v1/overrides %s: %d %s", body, res.status, res.body)
	}
	var out struct{ URL, Expires string }
	if err := json.Unmarshal(res.body, &out); err != nil {
		t.Fatal(err)
	}
	tok, ok := strings.CutPrefix(out.URL, "/?"+overrideParam+"=")
	exp, err := time.Parse(time.RFC3339, out.Expires)
	if !ok || err != nil || time.Until(exp) < 90*time.Minute || time.Until(exp) > 2*time.Hour {
		t.Fatalf("override answer %s", res.body)
	}
	return tok
}

func catalogVersion(t *testing.T, ts *testServer, headers ...string) (string, string) {
	t.Helper()
	res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", headers...)
	var m publicManifest
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("manifest: %d %s", res.status, res.body)
	}
	return m.Apps["catalog"].Version, res.header.Get("ETag")
}

func TestOverrides(t *testing.T) {
	ts := canaryServer(t) // catalog 1.0.0 (canary 1.1.0 at 10%), home 1.0.0
	tok := overrideLink(t, ts, teamToken, `{"apps":{"catalog":"1.1.0"},"ttl":"2h"}`)

	// The link sets an HttpOnly cookie and the page runs the override,
	// with a badge that can clear it.
	res := ts.do(t, "GET", "/catalog?"+overrideParam+"="+tok, "", "", "Cookie", bucketCookie+"=50")
	var set *http.Cookie
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == overrideCookie {
			set = c
		}
	}
	if res.status != 200 || set == nil || set.Value != tok || !set.HttpOnly || set.MaxAge < 3600 {
		t.Fatalf("the link: %d, cookie %+v", res.status, set)
	}
	body := string(res.body)
	if !strings.Contains(body, `rel="modulepreload" href="/cdn/catalog/1.1.0/main.js"`) || !strings.Contains(body, `Override: catalog 1.1.0`) || !strings.Contains(body, `name="mfshell-override" value="clear"`) {
		t.Fatalf("the page under the override: %s", body)
	}

	// With the cookie: the manifest and pages of that browser only.
	cookie := []string{"Cookie", bucketCookie + "=50; " + overrideCookie + "=" + tok}
	if v, etag := catalogVersion(t, ts, cookie...); v != "1.1.0" || !strings.Contains(etag, "-o") {
		t.Fatalf("manifest with the override: %s %s", v, etag)
	}
	if v, _ := catalogVersion(t, ts, "Cookie", bucketCookie+"=50"); v != "1.0.0" {
		t.Fatalf("manifest of another browser: %s", v)
	}
	if res := ts.do(t, "GET", "/", "", "", cookie...); !strings.Contains(string(res.body), "Override: catalog 1.1.0") {
		t.Fatal("another page of the same browser has no badge")
	}

	// Clear: the cookie goes, the page is the stable one.
	res = ts.do(t, "GET", "/catalog?"+overrideParam+"=clear", "", "", cookie...)
	if c := res.header.Get("Set-Cookie"); !strings.HasPrefix(c, overrideCookie+"=;") || !strings.Contains(c, "Max-Age=0") || strings.Contains(string(res.body), "Override:") {
		t.Fatalf("clear: Set-Cookie %q", c)
	}

	// A tampered, expired or foreign token is ignored, and its cookie cleared.
	expired, _ := ts.Overrides.Sign(override.Claims{Apps: map[string]override.App{"catalog": {Version: "1.1.0"}}, Expires: time.Now().Add(-time.Minute).Unix()})
	other, _ := override.NewSigner([]byte(strings.Repeat("z", 32)))
	foreign, _ := other.Sign(override.Claims{Apps: map[string]override.App{"catalog": {Version: "1.1.0"}}, Expires: time.Now().Add(time.Hour).Unix()})
	for name, bad := range map[string]string{"tampered": tok[:len(tok)-2] + "AA", "expired": expired, "foreign": foreign, "junk": "%%%"} {
		if v, _ := catalogVersion(t, ts, "Cookie", bucketCookie+"=50; "+overrideCookie+"="+bad); v != "1.0.0" {
			t.Errorf("%s cookie: manifest gives catalog %s", name, v)
		}
		res := ts.do(t, "GET", "/catalog", "", "", "Cookie", bucketCookie+"=50; "+overrideCookie+"="+bad)
		if c := res.header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") || strings.Contains(string(res.body), "Override:") {
			t.Errorf("%s cookie: page Set-Cookie %q", name, c)
		}
	}
}

// TestOverrideRequests sends requests for overrides the API must refuse.
func TestOverrideRequests(t *testing.T) {
	ts := canaryServer(t)
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"another team's app", teamToken, `{"apps":{"home":"2.0.0"}}`, 403, "may not override"},
		{"unpublished", adminToken, `{"apps":{"catalog":"9.9.9"}}`, 409, "not published"},
		{"unknown app", adminToken, `{"apps":{"nope":"1.0.0"}}`, 404, "no app"},
		{"over 24 h", adminToken, `{"apps":{"catalog":"1.1.0"},"ttl":"25h"}`, 400, "at most 24h"},
		{"zero ttl", adminToken, `{"apps":{"catalog":"1.1.0"},"ttl":"0s"}`, 400, "ttl"},
		{"no apps", adminToken, `{"apps":{}}`, 400, "apps"},
		{"unknown field", adminToken, `{"apps":{"catalog":"1.1.0"},"colour":1}`, 400, "colour"},
		{"no token", "", `{"apps":{"catalog":"1.1.0"}}`, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, "POST", "/api/v1/overrides", tc.token, tc.body)
			if res.status != tc.status || !strings.Contains(string(res.body), tc.want) {
				t.Fatalf("got %d %s, want %d with %q", res.status, res.body, tc.status, tc.want)
			}
		})
	}
}
