package cdn

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newStore returns a Dir store in a fresh temporary directory.
func newStore(tb testing.TB) *Dir {
	tb.Helper()
	d := NewDir(filepath.Join(tb.TempDir(), "cdn"))
	if err := d.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return d
}

// writeTree writes files (path: content, slash-separated) under a new
// temporary folder and returns it.
func writeTree(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for p, content := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// sri computes the integrity of data independently of the package.
func sri(data []byte) string {
	sum := sha512.Sum384(data)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path    string
		wantErr string // "" means accepted
	}{
		{"main.js", ""},
		{"chunks/a-1f3e.js", ""},
		{"assets/fonts/Inter Var.woff2", ""},
		{"é/ü.css", ""},
		{"a..b.js", ""},
		{"a./b", ""},
		{strings.Repeat("a", maxSegmentLen), ""},
		{"", "must not be empty"},
		{"/main.js", "must be relative"},
		{"../main.js", `".." segment`},
		{"a/../b", `".." segment`},
		{"a/..", `".." segment`},
		{"./a", `"." segment`},
		{"a/./b", `"." segment`},
		{"a//b", "empty segment"},
		{"a/", "empty segment"},
		{".env", "hidden"},
		{"a/.git/config", "hidden"},
		{"a\\b", "backslash"},
		{"..\\a", "backslash"},
		{"a\x00b", "control character"},
		{"a\nb", "control character"},
		{"a\x7fb", "control character"},
		{"a?b", `'?'`},
		{"a#b", `'#'`},
		{"100%.png", `'%'`},
		{"a%2fb", `'%'`},
		{"\xff.js", "UTF-8"},
		{strings.Repeat("a", maxSegmentLen+1), "segments must be at most"},
		{strings.Repeat("a/", maxPathLen/2) + "a", "at most 512 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := checkPath(tt.path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkPath(%q) = %v, want nil", tt.path, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("checkPath(%q) = nil, want error containing %q", tt.path, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("checkPath(%q) = %q, want error containing %q", tt.path, err, tt.wantErr)
			}
		})
	}
}

func TestOriginKey(t *testing.T) {
	tests := []struct {
		path, rawPath string
		ok            bool
	}{
		{"catalog/1.0.0/main.js", "", true},
		{"catalog/1.0.0/chunks/a.js", "", true},
		{"catalog/1.0.0/mfshell.json", "", true},
		{"catalog/v_2/Inter Var.woff2", "catalog/v_2/Inter%20Var.woff2", true},
		{"catalog/1.0.0/a.js", "catalog/1.0.0/%61.js", true},
		{"catalog/1.0.0", "", false},
		{"catalog/1.0.0/", "", false},
		{"catalog", "", false},
		{"", "", false},
		{"/catalog/1.0.0/main.js", "", false},
		{"catalog//1.0.0/main.js", "", false},
		{"catalog/1.0.0/../../etc/passwd", "", false},
		{"catalog/1.0.0/../x.js", "catalog/1.0.0/%2e%2e/x.js", false},
		{"../catalog/1.0.0/main.js", "", false},
		{"catalog/../1.0.0/main.js", "", false},
		{"catalog/1.0.0/a/b.js", "catalog/1.0.0/a%2fb.js", false},
		{"catalog/1.0.0/a/b.js", "catalog/1.0.0/a%2Fb.js", false},
		{"catalog/1.0.0/a\\..\\b.js", "", false},
		{"catalog/1.0.0/a\x00.js", "", false},
		{"catalog/1.0.0/.env", "", false},
		{"catalog/1.0.0/a/.hidden/b.js", "", false},
		{".staging/x/main.js", "", false},
		{"Catalog/1.0.0/main.js", "", false},
		{"catalog/1..0/main.js", "", false},
		{"catalog/.1/main.js", "", false},
		{"catalog/1.0.0/./main.js", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path+"|"+tt.rawPath, func(t *testing.T) {
			key, err := originKey(tt.path, tt.rawPath)
			if (err == nil) != tt.ok {
				t.Fatalf("originKey(%q, %q) = %q, %v; want ok=%v", tt.path, tt.rawPath, key, err, tt.ok)
			}
			if tt.ok && key != tt.path {
				t.Errorf("originKey(%q, %q) = %q, want %q", tt.path, tt.rawPath, key, tt.path)
			}
		})
	}
}

func TestDecodeAssetManifest(t *testing.T) {
	const good = `{"app":"catalog","version":"1.0.0","entry":"main.js","styles":["main.css"],"files":{` +
		`"main.js":{"size":3,"integrity":"sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"},` +
		`"main.css":{"size":0,"integrity":"sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"}}}`
	if _, err := decodeAssetManifest([]byte(good), "catalog", "1.0.0"); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	tests := []struct {
		name, data, wantErr string
	}{
		{"wrong app", strings.Replace(good, `"catalog"`, `"other"`, 1), `app: got "other"`},
		{"wrong version", strings.Replace(good, `"1.0.0"`, `"2.0.0"`, 1), `version: got "2.0.0"`},
		{"unknown field", strings.Replace(good, `"entry"`, `"extra":1,"entry"`, 1), "unknown field"},
		{"missing entry", strings.Replace(good, `"entry":"main.js"`, `"entry":"app.js"`, 1), `entry: "app.js" is not in files`},
		{"missing style", strings.Replace(good, `["main.css"]`, `["x.css"]`, 1), `styles[0]: "x.css"`},
		{"bad path", strings.Replace(good, `"main.css":{`, `"../main.css":{`, 1), `files["../main.css"]`},
		{"bad integrity", strings.Replace(good, `"sha384-OLB`, `"sha256-OLB`, 1), `files["main.js"].integrity`},
		{"negative size", strings.Replace(good, `"size":3`, `"size":-3`, 1), `files["main.js"].size`},
		{"trailing data", good + "{}", "after the JSON object"},
		{"not json", "nope", "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAssetManifest([]byte(tt.data), "catalog", "1.0.0")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("decodeAssetManifest(%s) = %v, want error containing %q", tt.data, err, tt.wantErr)
			}
		})
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		name         string
		want         string
		compressible bool
	}{
		{"main.js", "text/javascript; charset=utf-8", true},
		{"MAIN.MJS", "text/javascript; charset=utf-8", true},
		{"a.css", "text/css; charset=utf-8", true},
		{"a.json", "application/json", true},
		{"a.js.map", "application/json", true},
		{"a.html", "text/html; charset=utf-8", true},
		{"a.svg", "image/svg+xml", true},
		{"a.png", "image/png", false},
		{"a.jpg", "image/jpeg", false},
		{"a.gif", "image/gif", false},
		{"a.webp", "image/webp", false},
		{"a.avif", "image/avif", false},
		{"a.ico", "image/x-icon", true},
		{"a.woff", "font/woff", false},
		{"a.woff2", "font/woff2", false},
		{"a.ttf", "font/ttf", true},
		{"a.otf", "font/otf", true},
		{"a.wasm", "application/wasm", true},
		{"a.txt", "text/plain; charset=utf-8", true},
		{"a.xml", "application/xml", true},
		{"a.no-such-ext", "application/octet-stream", false},
		{"LICENSE", "application/octet-stream", false},
	}
	for _, tt := range tests {
		ctype, compressible := contentType(tt.name)
		if ctype != tt.want || compressible != tt.compressible {
			t.Errorf("contentType(%q) = %q, %v; want %q, %v", tt.name, ctype, compressible, tt.want, tt.compressible)
		}
	}
}

func TestLRU(t *testing.T) {
	c := newLRU[string]()
	c.add("a", "A", 4, 10)
	c.add("b", "B", 4, 10)
	if _, ok := c.get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.add("c", "C", 4, 10) // evicts b, the least recently used
	if _, ok := c.get("b"); ok {
		t.Error("b still cached, want evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted, want cached", k)
		}
	}
	c.add("huge", "H", 11, 10)
	if _, ok := c.get("huge"); ok {
		t.Error("value costing more than max was cached")
	}
	if c.cost != 8 {
		t.Errorf("cost = %d, want 8", c.cost)
	}
}
