package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/manifests"
)

// step is one run of the CLI in a script, and what it must do.
type step struct {
	name    string
	args    []string
	vars    map[string]string // the environment; nil means the server and its admin token
	code    int               // the exit status
	stdout  []string          // substrings of stdout
	errLine string            // a substring of the error line, when code > 0
	check   func(t *testing.T, r result)
}

// runScript runs the steps in order, each as a subtest; later steps rely
// on the state the earlier ones leave.
func runScript(t *testing.T, defaultVars map[string]string, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			vars := s.vars
			if vars == nil {
				vars = defaultVars
			}
			r := mfshell(t, vars, s.args...)
			if got := r.code(); got != s.code {
				t.Fatalf("mfshell %s: exit code %d, want %d\nerror: %s\nstdout:\n%s\nstderr:\n%s",
					strings.Join(s.args, " "), got, s.code, r.errLine(), r.stdout, r.stderr)
			}
			for _, want := range s.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("mfshell %s: stdout lacks %q; got:\n%s", strings.Join(s.args, " "), want, r.stdout)
				}
			}
			if s.code != 0 {
				line := r.errLine()
				if !strings.Contains(line, s.errLine) {
					t.Errorf("mfshell %s: error line\n  %s\nwant it to contain\n  %s", strings.Join(s.args, " "), line, s.errLine)
				}
				if strings.Contains(line, "\n") {
					t.Errorf("mfshell %s: error is not one line: %q", strings.Join(s.args, " "), line)
				}
			}
			if s.check != nil {
				s.check(t, r)
			}
		})
	}
}

// decodeJSON parses a command's --json output into v.
func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
}

// TestCLI drives a real server through the CLI: publish, release, list,
// roll back, and the errors an operator meets on the way.
func TestCLI(t *testing.T) {
	url, data, token := startServer(t)
	admin := map[string]string{"MFSHELL_SERVER": url, "MFSHELL_TOKEN": token}
	cdnDir := filepath.Join(data, "cdn")
	dist := t.TempDir()
	writeFiles(t, dist, map[string]string{
		"main.js":  "export function mount() {}\nexport function unmount() {}\n",
		"main.css": ":host { color: teal }\n",
	})
	publishedJS := filepath.Join(cdnDir, "shop", "1.0.0", "main.js")

	// appVersion returns the live version of app, read through the CLI.
	appVersion := func(t *testing.T, app string) string {
		t.Helper()
		r := mfshell(t, admin, "apps", "--json")
		if r.err != nil {
			t.Fatalf("apps --json: %v", r.err)
		}
		var m manifests.Manifest
		decodeJSON(t, r.stdout, &m)
		return m.Apps[app].Version
	}

	runScript(t, admin, []step{
		{
			name:   "publish",
			args:   []string{"publish", "--app", "shop", "--version", "1.0.0", "--cdn", "file://" + cdnDir, dist},
			stdout: []string{"published shop@1.0.0: 2 files, 78 B, entry main.js (+1 scoped stylesheet)\n", "release it with: mfshell release shop 1.0.0\n"},
			check: func(t *testing.T, r result) {
				if _, err := os.Stat(filepath.Join(cdnDir, "shop", "1.0.0", cdn.AssetManifestName)); err != nil {
					t.Errorf("no asset manifest in the CDN folder: %v", err)
				}
				if r.stderr != "" {
					t.Errorf("a small publish printed progress: %q", r.stderr)
				}
				// Edited after publishing: the next step must not store it.
				writeFiles(t, dist, map[string]string{"main.js": "export const changed = true\n"})
			},
		},
		{
			name:    "publish the same version again",
			args:    []string{"publish", "--app", "shop", "--version", "1.0.0", "--cdn", cdnDir, dist},
			code:    1,
			errLine: "mfshell: publish shop@1.0.0: version 1.0.0 of shop is already published in " + cdnDir + ", and versions are immutable",
			check: func(t *testing.T, r result) {
				got, err := os.ReadFile(publishedJS)
				if err != nil {
					t.Fatal(err)
				}
				if want := "export function mount() {}\nexport function unmount() {}\n"; string(got) != want {
					t.Errorf("published main.js changed to %q, want %q", got, want)
				}
			},
		},
		{
			name: "publish --json, flags after the folder",
			args: []string{"publish", dist, "--app", "shop", "--version", "1.0.1", "--cdn", cdnDir, "--json"},
			check: func(t *testing.T, r result) {
				var m cdn.AssetManifest
				decodeJSON(t, r.stdout, &m)
				if m.App != "shop" || m.Version != "1.0.1" || m.Entry != "main.js" || !slices.Equal(m.Styles, []string{"main.css"}) || len(m.Files) != 3 || m.Files["main.scoped.css"].Integrity == "" {
					t.Errorf("asset manifest %+v, want shop@1.0.1 with entry main.js, styles [main.css] and 3 files (main.scoped.css too)", m)
				}
			},
		},
		{
			name:   "release a new app creates it",
			args:   []string{"release", "shop", "1.0.0", "--reason", "first shop"},
			stdout: []string{"shop: created at version \"1.0.0\", route \"/shop\" (revision 2)\n"},
		},
		{
			name: "release --json",
			args: []string{"release", "shop", "1.0.1", "--json"},
			check: func(t *testing.T, r result) {
				var res writeResult
				decodeJSON(t, r.stdout, &res)
				if res.Revision != 3 || !res.Changed || res.Summary != `shop: version "1.0.0" → "1.0.1"` {
					t.Errorf("got %+v, want revision 3, changed, summary shop: version \"1.0.0\" → \"1.0.1\"", res)
				}
			},
		},
		{
			name:   "release the live version",
			args:   []string{"release", "shop", "1.0.1"},
			stdout: []string{"shop: no change (revision 3)\n"},
		},
		{
			name: "apps",
			args: []string{"apps"},
			check: func(t *testing.T, r result) {
				for _, re := range []string{
					`(?m)^APP\s+VERSION\s+ROUTE\s+FORMAT\s+ISOLATION\s+CANARY$`,
					`(?m)^shop\s+1\.0\.1\s+/shop\s+module\s+shadow\s+-$`,
					`(?m)^catalog\s+1\.0\.0\s+/catalog\s+module\s+shadow\s+-$`,
					`(?m)^\(revision 3\)$`,
				} {
					if !regexp.MustCompile(re).MatchString(r.stdout) {
						t.Errorf("apps output does not match %s:\n%s", re, r.stdout)
					}
				}
			},
		},
		{
			name: "apps --json",
			args: []string{"apps", "--json"},
			check: func(t *testing.T, r result) {
				var m manifests.Manifest
				decodeJSON(t, r.stdout, &m)
				if m.Revision != 3 || m.Apps["shop"].Version != "1.0.1" {
					t.Errorf("got revision %d, shop %+v; want revision 3, shop at 1.0.1", m.Revision, m.Apps["shop"])
				}
			},
		},
		{
			name: "history",
			args: []string{"history"},
			check: func(t *testing.T, r result) {
				for _, re := range []string{
					`(?m)^REVISION\s+TIME\s+ACTOR\s+SUMMARY\s+REASON$`,
					`(?m)^3\s+\S+ \S+ \S+\s+admin\s+shop: version "1\.0\.0" → "1\.0\.1"\s+-$`,
					`(?m)^2\s+\S+ \S+ \S+\s+admin\s+shop: created\s+first shop$`,
					`(?m)^1\s+\S+ \S+ \S+\s+mfshell\s+.*catalog: created.*demo apps seeded on first run$`,
				} {
					if !regexp.MustCompile(re).MatchString(r.stdout) {
						t.Errorf("history output does not match %s:\n%s", re, r.stdout)
					}
				}
			},
		},
		{
			name: "history --app --limit --json",
			args: []string{"history", "--app", "shop", "--limit", "1", "--json"},
			check: func(t *testing.T, r result) {
				var h struct {
					Revisions []struct {
						Revision int64  `json:"revision"`
						Actor    string `json:"actor"`
					} `json:"revisions"`
				}
				decodeJSON(t, r.stdout, &h)
				if len(h.Revisions) != 1 || h.Revisions[0].Revision != 3 || h.Revisions[0].Actor != "admin" {
					t.Errorf("got %+v, want revision 3 by admin only", h.Revisions)
				}
			},
		},
		{
			name: "versions marks the live one",
			args: []string{"versions", "shop"},
			check: func(t *testing.T, r result) {
				for _, re := range []string{`(?m)^VERSION\s+PUBLISHED$`, `(?m)^1\.0\.1 \(live\)\s+\d{4}-`, `(?m)^1\.0\.0\s+\d{4}-`} {
					if !regexp.MustCompile(re).MatchString(r.stdout) {
						t.Errorf("versions output does not match %s:\n%s", re, r.stdout)
					}
				}
			},
		},
		{
			name: "versions --json",
			args: []string{"versions", "--json", "shop"},
			check: func(t *testing.T, r result) {
				var v struct {
					Live     string `json:"live"`
					Versions []struct {
						Version string `json:"version"`
					} `json:"versions"`
				}
				decodeJSON(t, r.stdout, &v)
				if v.Live != "1.0.1" || len(v.Versions) != 2 {
					t.Errorf("got %+v, want live 1.0.1 of 2 versions", v)
				}
			},
		},
		{
			name:   "rollback",
			args:   []string{"rollback", "2", "--reason", "bad release"},
			stdout: []string{"rollback to revision 2: shop: version \"1.0.1\" → \"1.0.0\" (revision 4)\n"},
		},
		{
			name: "rollback --json to where it is",
			args: []string{"rollback", "--json", "2"},
			check: func(t *testing.T, r result) {
				var res writeResult
				decodeJSON(t, r.stdout, &res)
				if res.Revision != 4 || res.Changed {
					t.Errorf("got %+v, want revision 4, unchanged", res)
				}
			},
		},
		{
			name:    "release of an unpublished version",
			args:    []string{"release", "catalog", "9.9.9"},
			code:    1,
			errLine: `mfshell: release catalog 9.9.9: 409: version 9.9.9 of catalog is not published on the CDN: publish it first, or release with "force": true`,
		},
		{
			name:    "forced release of an unpublished new app",
			args:    []string{"release", "ghost", "1.0.0", "--force"},
			code:    1,
			errLine: "mfshell: release ghost 1.0.0: 400: apps.ghost.entry: is required for a bundle",
		},
		{
			name:    "stale --if-match",
			args:    []string{"release", "shop", "1.0.1", "--if-match", "3"},
			code:    1,
			errLine: "mfshell: release shop 1.0.1: 412: store is at revision 4, not 3",
			check: func(t *testing.T, r result) {
				if v := appVersion(t, "shop"); v != "1.0.0" {
					t.Errorf("after a refused release, shop is at %q, want 1.0.0", v)
				}
			},
		},
		{
			name:   "fresh --if-match",
			args:   []string{"release", "shop", "1.0.1", "--if-match", `"4"`},
			stdout: []string{"shop: version \"1.0.0\" → \"1.0.1\" (revision 5)\n"},
		},
		{
			name:    "wrong token",
			args:    []string{"release", "shop", "1.0.0"},
			vars:    map[string]string{"MFSHELL_SERVER": url, "MFSHELL_TOKEN": "not-the-token"},
			code:    1,
			errLine: "mfshell: release shop 1.0.0: 401: invalid token (the token from MFSHELL_TOKEN)",
		},
		{
			name:    "no token",
			args:    []string{"apps"},
			vars:    map[string]string{"MFSHELL_SERVER": url},
			code:    1,
			errLine: "mfshell: no token: set MFSHELL_TOKEN or pass --token-file (a first run of mfshell serve writes mfshell-data/admin.token)",
		},
		{
			name:   "--token-file",
			args:   []string{"apps", "--token-file", filepath.Join(data, "admin.token")},
			vars:   map[string]string{"MFSHELL_SERVER": url},
			stdout: []string{"(revision 5)\n"},
		},
		{
			name:    "missing --token-file",
			args:    []string{"apps", "--token-file", filepath.Join(data, "nope.token")},
			code:    1,
			errLine: "mfshell: read token: open " + filepath.Join(data, "nope.token") + ": no such file or directory",
		},
		{
			name: "refused writes changed nothing",
			args: []string{"history", "--json", "--limit", "1"},
			check: func(t *testing.T, r result) {
				var h struct {
					Revisions []struct {
						Revision int64 `json:"revision"`
					} `json:"revisions"`
				}
				decodeJSON(t, r.stdout, &h)
				if len(h.Revisions) != 1 || h.Revisions[0].Revision != 5 {
					t.Errorf("latest revisions %+v, want 5", h.Revisions)
				}
			},
		},
	})
}

// TestCLIErrors covers the mistakes that need no server: usage, offline
// validation, and a server that is not running.
func TestCLIErrors(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	vars := map[string]string{"MFSHELL_SERVER": closed, "MFSHELL_TOKEN": "secret"}
	dist := t.TempDir()
	writeFiles(t, dist, map[string]string{"main.js": "export function mount() {}\n"})

	runScript(t, vars, []step{
		{name: "typo", args: []string{"relase", "shop", "1.0.0"}, code: 2, errLine: `mfshell: unknown command "relase"; did you mean "release"?`},
		{name: "no command", args: []string{}, code: 2, errLine: "mfshell: no command given"},
		{name: "missing version", args: []string{"release", "shop"}, code: 2, errLine: `mfshell: release: missing argument VERSION (run "mfshell release -h" for help)`},
		{name: "missing app and version", args: []string{"release"}, code: 2, errLine: "mfshell: release: missing arguments APP VERSION"},
		{name: "extra argument", args: []string{"apps", "shop"}, code: 2, errLine: "mfshell: apps: unexpected argument shop"},
		{name: "bad app name", args: []string{"release", "Shop", "1.0.0"}, code: 2, errLine: `mfshell: release: app "Shop": `},
		{name: "bad revision", args: []string{"rollback", "latest"}, code: 2, errLine: `mfshell: rollback: revision "latest": want a revision number such as 7`},
		{name: "bad --if-match", args: []string{"release", "shop", "1.0.0", "--if-match", "W/1"}, code: 2, errLine: `mfshell: --if-match "W/1": want a revision such as 7`},
		{name: "bad --limit", args: []string{"history", "--limit", "0"}, code: 2, errLine: "mfshell: history: --limit 0: want 1 to 1000"},
		{name: "bad --server", args: []string{"apps", "--server", "127.0.0.1:8080"}, code: 2, errLine: `mfshell: --server "127.0.0.1:8080": want a base URL such as http://127.0.0.1:8080`},
		{name: "unknown flag", args: []string{"release", "shop", "1.0.0", "--forse"}, code: 2, errLine: "flag provided but not defined: -forse"},
		{name: "help flag", args: []string{"history", "-h"}, code: 2, check: func(t *testing.T, r result) {
			if !strings.Contains(r.stderr, "Usage: mfshell history") {
				t.Errorf("no usage on stderr:\n%s", r.stderr)
			}
		}},
		{name: "publish without --version", args: []string{"publish", "--app", "shop", dist}, code: 2, errLine: "mfshell: publish: missing --version VER"},
		{name: "publish without a folder", args: []string{"publish", "--app", "shop", "--version", "1.0.0"}, code: 2, errLine: "mfshell: publish: missing argument DIR"},
		{name: "publish to a bad bucket name", args: []string{"publish", "--app", "shop", "--version", "1.0.0", "--cdn", "s3://Bucket/cdn", dist}, code: 2, errLine: `mfshell: --cdn: "s3://Bucket/cdn": bucket "Bucket": want 3 to 63 lower-case letters, digits, dots and hyphens`},
		{name: "publish a bad version", args: []string{"publish", "--app", "shop", "--version", "../1", dist}, code: 2, errLine: `mfshell: publish: --version "../1": `},
		{
			name:    "server not running",
			args:    []string{"release", "shop", "1.0.0"},
			code:    1,
			errLine: "mfshell: release shop 1.0.0: cannot reach the server at " + closed + ": connection refused; is mfshell serve running?",
		},
		{
			name:    "server not running, from MFSHELL_SERVER with a final slash",
			args:    []string{"apps"},
			vars:    map[string]string{"MFSHELL_SERVER": closed + "/", "MFSHELL_TOKEN": "secret"},
			code:    1,
			errLine: "mfshell: apps: cannot reach the server at " + closed + ": connection refused; is mfshell serve running?",
		},
		{name: "manifest without subcommand", args: []string{"manifest"}, code: 2, errLine: "mfshell: manifest: missing subcommand"},
		{name: "manifest typo", args: []string{"manifest", "validat", "x.json"}, code: 2, errLine: `mfshell: manifest: unknown subcommand "validat"`},
		{name: "validate without a file", args: []string{"manifest", "validate"}, code: 2, errLine: "mfshell: manifest validate: missing argument FILE"},
		{
			name:   "validate a good manifest",
			args:   []string{"manifest", "validate", "testdata/manifest-good.json"},
			stdout: []string{"testdata/manifest-good.json: valid (2 apps, revision 3)\n"},
		},
		{
			name:    "validate a bad manifest",
			args:    []string{"manifest", "validate", "testdata/manifest-bad.json"},
			code:    1,
			errLine: "mfshell: manifest validate testdata/manifest-bad.json: invalid: 3 problems",
			check: func(t *testing.T, r result) {
				want := `apps.cart.integrity: has no value for the entry "cart.js"` + "\n" +
					`apps.catalog.isolation: must be "shadow", "scoped" or "none", got "iframe"` + "\n" +
					`apps.catalog.route: must start with "/", got "catalog"` + "\n"
				if r.stdout != want {
					t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
				}
			},
		},
		{
			name:    "validate --json",
			args:    []string{"manifest", "validate", "testdata/manifest-bad.json", "--json"},
			code:    1,
			errLine: "invalid: 3 problems",
			check: func(t *testing.T, r result) {
				var res struct {
					Valid    bool                `json:"valid"`
					Problems []manifests.Problem `json:"problems"`
				}
				decodeJSON(t, r.stdout, &res)
				if res.Valid || len(res.Problems) != 3 || res.Problems[2].Field != "apps.catalog.route" {
					t.Errorf("got %+v, want 3 problems, the last at apps.catalog.route", res)
				}
			},
		},
		{name: "validate a missing file", args: []string{"manifest", "validate", "testdata/nope.json"}, code: 1, errLine: "mfshell: manifest validate: open testdata/nope.json: no such file or directory"},
	})
}

// TestPublishProgress checks that a large upload reports its progress on
// stderr, a line at every tenth when stderr is not a terminal.
func TestPublishProgress(t *testing.T) {
	dist := t.TempDir()
	writeFiles(t, dist, map[string]string{
		"main.js":   "export function mount() {}\n",
		"big.wasm":  strings.Repeat("x", 3<<20),
		"chunk.css": "p {}\n",
	})
	r := mfshell(t, nil, "publish", "--app", "big", "--version", "1.0.0", "--cdn", t.TempDir(), dist)
	if r.err != nil {
		t.Fatalf("publish: %v", r.err)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) < 2 || len(lines) > 11 {
		t.Fatalf("got %d progress lines, want 2 to 11:\n%s", len(lines), r.stderr)
	}
	if want := "publishing big@1.0.0:   0% (0 B of 3.0 MiB)"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := "publishing big@1.0.0: 100% (3.0 MiB of 3.0 MiB)"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	if !strings.Contains(r.stdout, "published big@1.0.0: 3 files, 3.0 MiB, entry main.js (+1 scoped stylesheet)\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// TestProgressLineTerminal checks the terminal form: one line rewritten
// with \r, ended by a newline.
func TestProgressLineTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progressLine{w: &buf, tty: true, label: "publishing a@1", last: -1}
	const total = 2 << 20
	for _, done := range []int64{0, 1000, total / 2, total / 2, total} {
		p.update(done, total)
	}
	p.end() // already ended by the update to 100%
	want := "\rpublishing a@1:   0% (0 B of 2.0 MiB)" +
		"\rpublishing a@1:  50% (1.0 MiB of 2.0 MiB)" +
		"\rpublishing a@1: 100% (2.0 MiB of 2.0 MiB)\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
}

// TestPublishDefaultCDN checks the default store: mfshell-data/cdn in the
// current folder, which must exist, and MFSHELL_CDN.
func TestPublishDefaultCDN(t *testing.T) {
	dist := t.TempDir()
	writeFiles(t, dist, map[string]string{"main.js": "export function mount() {}\n"})
	t.Chdir(t.TempDir())

	r := mfshell(t, nil, "publish", "--app", "shop", "--version", "1.0.0", dist)
	if want := "mfshell: publish: the CDN folder mfshell-data/cdn does not exist"; !strings.Contains(r.errLine(), want) || r.code() != 1 {
		t.Errorf("without mfshell-data: exit code %d, error %q; want 1, %q", r.code(), r.errLine(), want)
	}
	if err := os.MkdirAll(filepath.Join("mfshell-data", "cdn"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := mfshell(t, nil, "publish", "--app", "shop", "--version", "1.0.0", dist); r.err != nil {
		t.Errorf("with mfshell-data/cdn: %v", r.err)
	}
	if _, err := os.Stat(filepath.Join("mfshell-data", "cdn", "shop", "1.0.0", "main.js")); err != nil {
		t.Errorf("not published into mfshell-data/cdn: %v", err)
	}

	env := t.TempDir()
	if r := mfshell(t, map[string]string{"MFSHELL_CDN": "file://" + env}, "publish", "--app", "shop", "--version", "1.0.0", dist); r.err != nil {
		t.Errorf("with MFSHELL_CDN: %v", r.err)
	}
	if _, err := os.Stat(filepath.Join(env, "shop", "1.0.0", "main.js")); err != nil {
		t.Errorf("not published into MFSHELL_CDN: %v", err)
	}
}

func TestFormatSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {42189, "41.2 KiB"}, {3 << 20, "3.0 MiB"}, {5 << 30, "5.0 GiB"},
	} {
		if got := formatSize(tc.n); got != tc.want {
			t.Errorf("formatSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
