package cdn

import (
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mfshell/mfshell/manifests"
)

// FuzzOriginPath feeds request paths, as sent (percent-encoded), to the
// origin handler's path parsing. Whatever it accepts must be a clean
// NAME/VER/PATH key with a valid name and version, that resolves inside the
// store's root.
func FuzzOriginPath(f *testing.F) {
	for _, s := range []string{
		"catalog/1.0.0/main.js",
		"catalog/v_2/chunks/a-1f3e.mjs",
		"catalog/1.0.0/mfshell.json",
		"catalog/1.0.0/Inter%20Var.woff2",
		"catalog/1.0.0/../../etc/passwd",
		"catalog/1.0.0/%2e%2e/%2e%2e/etc/passwd",
		"catalog/1.0.0/a%2fb.js",
		"catalog%2F1.0.0%2Fmain.js",
		"catalog/1.0.0/..%5c..%5cx",
		"catalog/1.0.0/a%00.js",
		"catalog/1.0.0/.env",
		".staging/x/main.js",
		"/catalog/1.0.0/main.js",
		"catalog/1.0.0/",
		"catalog/1..0/main.js",
	} {
		f.Add(s)
	}
	root := filepath.Join(f.TempDir(), "cdn")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := url.PathUnescape(raw)
		if err != nil {
			return // net/http rejects such a request before any handler
		}
		key, err := originKey(p, raw)
		if err != nil {
			return
		}
		if key != p {
			t.Fatalf("originKey(%q) = %q, want the decoded path", raw, key)
		}
		if strings.Contains(strings.ToLower(raw), "%2f") {
			t.Errorf("accepted %q, which hides a slash", raw)
		}
		app, rest, _ := strings.Cut(key, "/")
		version, name, _ := strings.Cut(rest, "/")
		if err := manifests.CheckName(app); err != nil {
			t.Errorf("accepted %q with app name %q: %v", raw, app, err)
		}
		if err := manifests.CheckVersion(version); err != nil {
			t.Errorf("accepted %q with version %q: %v", raw, version, err)
		}
		checkBundlePath(t, name)
		if path.Clean(key) != key || !filepath.IsLocal(key) {
			t.Errorf("accepted %q, not clean and local", key)
		}
		if file := filepath.Join(root, filepath.FromSlash(key)); !strings.HasPrefix(file, root+string(filepath.Separator)) {
			t.Errorf("accepted %q, which resolves to %q outside %q", raw, file, root)
		}
	})
}

// FuzzPublishPath feeds paths to the rule for paths inside a bundle.
// Whatever it accepts must be clean, relative, free of "..", hidden
// segments, backslashes and control characters, and survive the trip
// through a URL unchanged.
func FuzzPublishPath(f *testing.F) {
	for _, s := range []string{
		"main.js",
		"chunks/a-1f3e.js",
		"assets/fonts/Inter Var.woff2",
		"é/ü.css",
		"a..b.js",
		"../main.js",
		"a/../b",
		"./a",
		"a//b",
		"a/",
		"/etc/passwd",
		".env",
		"a\\..\\b",
		"a\x00b",
		"a?b#c%d",
		"\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkPath(p) != nil {
			return
		}
		checkBundlePath(t, p)
	})
}

// checkBundlePath checks the properties of an accepted bundle path.
func checkBundlePath(t *testing.T, p string) {
	t.Helper()
	if !fs.ValidPath(p) || p == "." || path.Clean(p) != p || path.IsAbs(p) || !filepath.IsLocal(p) {
		t.Errorf("accepted %q, not a clean relative path", p)
	}
	if len(p) > maxPathLen || !utf8.ValidString(p) {
		t.Errorf("accepted %q, too long or not UTF-8", p)
	}
	if strings.ContainsAny(p, "\\?#%") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Errorf("accepted %q, with a backslash, URL delimiter or control character", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." || strings.HasPrefix(seg, ".") {
			t.Errorf("accepted %q, with segment %q", p, seg)
		}
	}
	u := url.URL{Path: p}
	if back, err := url.PathUnescape(u.EscapedPath()); err != nil || back != p {
		t.Errorf("accepted %q, which comes back from a URL as %q (%v)", p, back, err)
	}
}
