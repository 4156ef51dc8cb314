package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyUsage checks the mistakes verify refuses before it starts a
// browser: all usage errors, exit status 2.
func TestVerifyUsage(t *testing.T) {
	vars := map[string]string{"MFSHELL_SERVER": "http://127.0.0.1:1", "MFSHELL_TOKEN": "t"}
	runScript(t, vars, []step{
		{name: "no app", args: []string{"verify", "--version", "1.0.0"}, code: 2, errLine: "verify: missing --app NAME"},
		{name: "no version", args: []string{"verify", "--app", "catalog"}, code: 2, errLine: "verify: missing --version VER"},
		{name: "positional", args: []string{"verify", "catalog", "1.0.0"}, code: 2, errLine: "verify: unexpected arguments catalog 1.0.0"},
		{name: "bad app", args: []string{"verify", "--app", "Catalog", "--version", "1.0.0"}, code: 2, errLine: `verify: app "Catalog"`},
		{name: "bad against", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--against", "../x"}, code: 2, errLine: `verify: version "../x"`},
		{name: "switches", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--switches", "0"}, code: 2, errLine: "--switches 0: want 1 to 10000"},
		{name: "warmup", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--warmup", "0"}, code: 2, errLine: "--warmup 0: want 1 to 1000"},
		{name: "max diff", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--max-diff", "150%"}, code: 2, errLine: `--max-diff "150%": want a percentage`},
		{name: "heap", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--max-heap-growth", "lots"}, code: 2, errLine: `--max-heap-growth "lots": want a size`},
		{name: "allow", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--allow", "timers,sockets"}, code: 2, errLine: `--allow "sockets": want some of listeners,timers,observers,globals,nodes`},
		{name: "chromium", args: []string{"verify", "--app", "catalog", "--version", "1.0.0", "--chromium", "/nonexistent/chromium"}, code: 2, errLine: `--chromium "/nonexistent/chromium"`},
		{name: "no token", vars: map[string]string{}, args: []string{"verify", "--app", "catalog", "--version", "1.0.0"}, code: 1, errLine: "no token"},
	})
	for in, want := range map[string]int64{"50KiB": 50 << 10, "2MiB": 2 << 20, "51200": 51200, "1.5 KiB": 1536, "10B": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]float64{"0.5%": 0.5, "0.5": 0.5, "0%": 0, " 12 % ": 12} {
		if got, err := parsePercent(in); err != nil || got != want {
			t.Errorf("parsePercent(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestVerify runs verify for real, in Chromium, on the demo apps of a
// fresh server: the legacy script fails with its leaks named (exit status
// 1), catalog 1.1.0 against itself passes, and against the live 1.0.0,
// whose colours differ, fails the visual check. The e2e suite
// (e2e/tests/verify.spec.ts) covers the fixture apps.
func TestVerify(t *testing.T) {
	if _, err := findChromium(os.Getenv("MFSHELL_CHROMIUM")); err != nil {
		t.Fatalf("%v: run `make chromium` (it installs Debian's chromium), or set MFSHELL_CHROMIUM", err)
	}
	url, _, token := startServer(t)
	vars := map[string]string{"MFSHELL_SERVER": url, "MFSHELL_TOKEN": token}
	out := t.TempDir()
	fast := []string{"--switches", "5", "--warmup", "2", "--out", out}
	runScript(t, vars, []step{
		{
			name: "legacy leaks", args: append([]string{"verify", "--app", "legacy", "--version", "1.0.0", "--against", "none"}, fast...),
			code: 1, errLine: "verify legacy 1.0.0: failed, 1 failure (see the report)",
			stdout: []string{"FAIL leaks 2 listeners (window resize, document click), 1 timer, 1 global (legacyState), 1 node (body > div.legacy-toast) per unmount", "Visual: not checked", "\nVerdict: FAIL, 1 failure"},
		},
		{
			name: "catalog against itself", args: append([]string{"verify", "--app", "catalog", "--version", "1.1.0", "--against", "1.1.0", "--json"}, fast...),
			check: func(t *testing.T, r result) {
				var rep struct {
					Pass    bool
					Mounted bool
					Other   string
					Leaks   struct{ Cycles int }
					Visual  struct {
						Diff  struct{ Differing int }
						Files struct{ Version, Against, Diff string }
					}
				}
				decodeJSON(t, r.stdout, &rep)
				if !rep.Pass || !rep.Mounted || rep.Other != "cart" || rep.Leaks.Cycles != 5 || rep.Visual.Diff.Differing != 0 {
					t.Errorf("report: %s", r.stdout)
				}
				for _, f := range []string{rep.Visual.Files.Version, rep.Visual.Files.Against, rep.Visual.Files.Diff} {
					if _, err := os.Stat(f); err != nil || filepath.Dir(f) != out {
						t.Errorf("file %q: %v", f, err)
					}
				}
			},
		},
		{
			name: "catalog against live", args: append([]string{"verify", "--app", "catalog", "--version", "1.1.0", "--other", "home"}, fast...),
			code: 1, errLine: "verify catalog 1.1.0: failed, 1 failure (see the report)",
			stdout: []string{"other app   home, route /", "Visual: against catalog 1.0.0", "FAIL visual:", "catalog-diff.png"},
		},
	})
	if _, err := os.Stat(filepath.Join(out, "catalog-1.0.0.png")); err != nil {
		t.Error(err)
	}
}
