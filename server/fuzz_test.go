package server

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzIfMatch checks that If-Match parsing never panics and accepts exactly
// a quoted revision, 0 (an empty store) included.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{`"7"`, `7`, `""`, `"-1"`, `"0"`, `W/"7"`, `"99999999999999999999"`, ` "12" `, `"1", "2"`, `*`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		rev, err := parseIfMatch(h)
		if h == "" {
			if rev != nil || err != nil {
				t.Fatalf("empty header: got %v, %v", rev, err)
			}
			return
		}
		if err != nil {
			return
		}
		if *rev < 0 {
			t.Fatalf("parseIfMatch(%q) accepted revision %d", h, *rev)
		}
		want := `"` + strconv.FormatInt(*rev, 10) + `"`
		if trimmed := strings.TrimSpace(h); strings.TrimLeft(trimmed[1:], "0") != strings.TrimLeft(want[1:], "0") {
			t.Fatalf("parseIfMatch(%q) = %d, which reads back as %s", h, *rev, want)
		}
	})
}

// FuzzDevOverride checks that any link value is refused or parsed without
// a panic, and that what is accepted is safe to put in the page's CSP
// header, manifest and cookie: apps of the manifest, once each, each an
// http(s) origin of host characters only and a file under it.
func FuzzDevOverride(f *testing.F) {
	m := devManifest()
	for _, s := range []string{
		"catalog@http://localhost:5173/src/main.js",
		"legacy@https://[::1]:8443/l.js,catalog@http://127.0.0.1/a/b/main.js",
		"catalog@http://me@localhost/main.js", "catalog@javascript:alert(1)", "catalog@http://localhost/%2e%2e/x.js",
		"catalog@http://a;b/main.js", "page@http://localhost/x.js", "catalog@http://localhost/a&b/it's.js", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		apps, err := parseDevOverride(in, m)
		if err != nil {
			return
		}
		if len(apps) == 0 || len(apps) > maxDevApps || len(in) > maxDevOverrideBytes {
			t.Fatalf("%q: accepted %d apps", in, len(apps))
		}
		seen := map[string]bool{}
		for _, d := range apps {
			a, ok := m.Apps[d.app]
			if !ok || !a.HasBundle() || seen[d.app] {
				t.Fatalf("%q: accepted app %q", in, d.app)
			}
			seen[d.app] = true
			scheme, host, ok := strings.Cut(d.origin, "://")
			if scheme != "http" && scheme != "https" || !ok || host == "" ||
				strings.ContainsFunc(host, func(c rune) bool { return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789.-:[]", c) }) {
				t.Fatalf("%q: origin %q", in, d.origin)
			}
			if !strings.HasPrefix(d.base, d.origin+"/") || !strings.HasSuffix(d.base, "/") || d.entry == "" ||
				strings.ContainsAny(d.url()[len(d.origin):], ` "<>\,?#`) {
				t.Fatalf("%q: URL %q", in, d.url())
			}
		}
		// The cookie and the link value read back as the same apps.
		fromCookie, err1 := parseDevCookie(devCookieValue(apps), m)
		fromLink, err2 := parseDevOverride(devOverrideValue(apps), m)
		for _, back := range [][]devApp{fromCookie, fromLink} {
			if err1 != nil || err2 != nil || devOverrideValue(back) != devOverrideValue(apps) {
				t.Fatalf("%q: reads back as %q, not %q", in, devOverrideValue(back), devOverrideValue(apps))
			}
		}
	})
}
