package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// canaryServer has catalog at 1.0.0 with a canary of 1.1.0 for 10% of
// browsers, and home at 1.0.0 with a canary of 2.0.0 for 50%; opts as
// for newTestServer.
func canaryServer(t testing.TB, opts ...func(*Server)) *testServer {
	t.Helper()
	ts := newTestServer(t, opts...)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		ts.publish(t, "catalog", v)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		ts.publish(t, "home", v)
	}
	for _, c := range []struct{ app, body string }{
		{"catalog", `{"version":"1.0.0","canary":{"version":"1.1.0","percent":10}}`},
		{"home", `{"version":"1.0.0","route":"/","canary":{"version":"2.0.0","percent":50}}`},
	} {
		if res := ts.do(t, "PUT", "/api/v1/apps/"+c.app, adminToken, c.body); res.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", c.app, res.status, res.body)
		}
	}
	return ts
}

func bucketHeader(b string) []string { return []string{"Cookie", bucketCookie + "=" + b} }

// TestCanaryManifestPerBucket checks the public manifest of every bucket:
// flat, with the canary of each app whose percent is above the bucket, and
// an ETag of its own per variant.
func TestCanaryManifestPerBucket(t *testing.T) {
	ts := canaryServer(t)
	etags := map[string]string{} // ETag → the versions it stands for
	for b := range 100 {
		res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", bucketHeader(strconv.Itoa(b))...)
		if res.status != 200 || res.header.Get("Cache-Control") != "no-cache" || !strings.Contains(res.header.Get("Vary"), "Cookie") {
			t.Fatalf("bucket %d: %d, headers %v", b, res.status, res.header)
		}
		var m publicManifest
		if err := json.Unmarshal(res.body, &m); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"catalog": "1.0.0", "home": "1.0.0"}
		if b < 10 {
			want["catalog"] = "1.1.0"
		}
		if b < 50 {
			want["home"] = "2.0.0"
		}
		for app, v := range want {
			if got := m.Apps[app]; got.Version != v || got.Integrity["main.js"] == "" {
				t.Errorf("bucket %d: %s at %q, want %s with its integrity", b, app, got.Version, v)
			}
		}
		if strings.Contains(string(res.body), "canary") || strings.Contains(string(res.body), "percent") {
			t.Fatalf("bucket %d: the public manifest shows the canary: %s", b, res.body)
		}
		key := want["catalog"] + " " + want["home"]
		etag := res.header.Get("ETag")
		if prev, ok := etags[etag]; ok && prev != key {
			t.Fatalf("ETag %s stands for %s and for %s", etag, prev, key)
		}
		etags[etag] = key
		// A cache keyed on the ETag alone could hand this browser's
		// manifest to another only if their versions are the same.
		if r := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", "Cookie", bucketCookie+"="+strconv.Itoa(b), "If-None-Match", etag); r.status != http.StatusNotModified {
			t.Fatalf("bucket %d: revalidation with its own ETag: %d", b, r.status)
		}
	}
	if len(etags) != 3 {
		t.Fatalf("%d ETags, want 3 (buckets 0-9, 10-49, 50-99): %v", len(etags), etags)
	}
	// No cookie, or a malformed one: the stable versions.
	for _, c := range []string{"", "abc", "100", "-1", "05", "1.5", " 3"} {
		var h []string
		if c != "" {
			h = bucketHeader(c)
		}
		res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", h...)
		var m publicManifest
		if err := json.Unmarshal(res.body, &m); err != nil || res.status != 200 {
			t.Fatalf("cookie %q: %d %s", c, res.status, res.body)
		}
		if m.Apps["catalog"].Version != "1.0.0" || m.Apps["home"].Version != "1.0.0" {
			t.Errorf("cookie %q: got catalog %s, home %s; want the stable 1.0.0 and 1.0.0", c, m.Apps["catalog"].Version, m.Apps["home"].Version)
		}
	}
}

// TestCanaryBuckets loads the shell page as 10,000 new browsers: each gets
// a bucket cookie, 10% of them (within a point) the catalog canary, and a
// browser that comes back with its cookie keeps its versions.
func TestCanaryBuckets(t *testing.T) {
	ts := canaryServer(t)
	const browsers = 10000
	canary := 0
	for range browsers {
		res := ts.do(t, "GET", "/catalog", "", "")
		cookies := (&http.Response{Header: res.header}).Cookies()
		if res.status != 200 || len(cookies) != 1 || cookies[0].Name != bucketCookie || !cookies[0].HttpOnly || cookies[0].Path != "/" || cookies[0].MaxAge < 30*24*3600 || cookies[0].SameSite != http.SameSiteLaxMode {
			t.Fatalf("a new browser's page: %d, cookies %+v", res.status, cookies)
		}
		b, err := strconv.Atoi(cookies[0].Value)
		if err != nil || b < 0 || b > 99 {
			t.Fatalf("bucket cookie %q", cookies[0].Value)
		}
		onCanary := strings.Contains(string(res.body), `rel="modulepreload" href="/cdn/catalog/1.1.0/main.js"`)
		if onCanary != (b < 10) {
			t.Fatalf("bucket %d: page preloads the canary: %v", b, onCanary)
		}
		if onCanary {
			canary++
		}
	}
	if pct := float64(canary) * 100 / browsers; pct < 9 || pct > 11 {
		t.Fatalf("%.2f%% of %d browsers got the 10%% canary", pct, browsers)
	}

	// Sticky: the same browser, coming back with its cookie, keeps its
	// bucket, gets no new cookie, and sees the same versions every time.
	for _, b := range []string{"3", "42", "99"} {
		first := ""
		for range 5 {
			res := ts.do(t, "GET", "/catalog", "", "", bucketHeader(b)...)
			if len(res.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("bucket %s: a new cookie for a browser that has one", b)
			}
			im := importMapOf(t, res.body)
			if first == "" {
				first = im
			} else if im != first {
				t.Fatalf("bucket %s: the page changed between two loads: %s, then %s", b, first, im)
			}
		}
	}
	// A malformed cookie is replaced.
	res := ts.do(t, "GET", "/catalog", "", "", bucketHeader("x")...)
	if c := (&http.Response{Header: res.header}).Cookies(); len(c) != 1 || c[0].Name != bucketCookie {
		t.Fatalf("a malformed bucket cookie: cookies %+v, want a new one", c)
	}
}

// importMapOf returns the import map of a shell page (without the tag,
// whose nonce changes with every response).
func importMapOf(t *testing.T, page []byte) string {
	t.Helper()
	s := string(page)
	i := strings.Index(s, `<script type="importmap"`)
	if i < 0 {
		t.Fatalf("no import map in %s", s)
	}
	s = s[i:]
	return s[strings.Index(s, ">")+1 : strings.Index(s, "</script>")]
}

// TestCanaryBadInput sends canaries the API must refuse: each gets a clear
// error and changes nothing.
func TestCanaryBadInput(t *testing.T) {
	ts := canaryServer(t)
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"percent 0", `{"canary":{"version":"1.1.0","percent":0}}`, 400, "percent: must be between 1 and 99"},
		{"percent 100", `{"canary":{"version":"1.1.0","percent":100}}`, 400, "percent: must be between 1 and 99"},
		{"negative percent", `{"canary":{"version":"1.1.0","percent":-5}}`, 400, "percent"},
		{"the live version", `{"canary":{"version":"1.0.0","percent":10}}`, 400, "is its live version"},
		{"the version being released", `{"version":"1.1.0","canary":{"version":"1.1.0","percent":10}}`, 400, "is its live version"},
		{"unpublished", `{"canary":{"version":"9.9.9","percent":10}}`, 409, "not published"},
		{"unknown field", `{"canary":{"version":"1.1.0","percent":10,"colour":"red"}}`, 400, "colour"},
		{"not an object", `{"canary":"1.1.0"}`, 400, "canary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.revision(t)
			res := ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, tc.body)
			if res.status != tc.status || !strings.Contains(string(res.body), tc.want) {
				t.Fatalf("got %d %s, want %d with %q", res.status, res.body, tc.status, tc.want)
			}
			if after := ts.revision(t); after != before {
				t.Fatalf("a refused canary made revision %d", after)
			}
		})
	}
}
