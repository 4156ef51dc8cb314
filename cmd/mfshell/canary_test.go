package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mfshell/mfshell/manifests"
)

// TestCanaryCommands drives canary, promote and abort against a real
// server with the demo, whose catalog has 1.1.0 published but not live.
func TestCanaryCommands(t *testing.T) {
	url, _, token := startServer(t)
	admin := map[string]string{"MFSHELL_SERVER": url, "MFSHELL_TOKEN": token}

	// catalogFor returns the catalog version the public manifest gives a
	// browser in bucket.
	catalogFor := func(t *testing.T, bucket string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/_mfshell/manifest.json", nil)
		req.AddCookie(&http.Cookie{Name: "mfshell-bucket", Value: bucket})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m struct {
			Apps map[string]struct{ Version string }
		}
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m.Apps["catalog"].Version
	}
	canaryOf := func(t *testing.T) *manifests.Canary {
		t.Helper()
		r := mfshell(t, admin, "apps", "--json")
		var m manifests.Manifest
		decodeJSON(t, r.stdout, &m)
		return m.Apps["catalog"].Canary
	}

	runScript(t, admin, []step{
		{
			name:    "percent out of range",
			args:    []string{"canary", "catalog", "1.1.0", "--percent", "100"},
			code:    2,
			errLine: "canary: --percent 100: want 1 to 99",
		},
		{
			name:    "promote without a canary",
			args:    []string{"promote", "catalog"},
			code:    1,
			errLine: "promote catalog: it has no canary (live version 1.0.0)",
		},
		{
			name:    "a canary of an unpublished version",
			args:    []string{"canary", "catalog", "9.9.9", "--percent", "10"},
			code:    1,
			errLine: "not published",
			check: func(t *testing.T, r result) {
				if c := canaryOf(t); c != nil {
					t.Fatalf("a refused canary was stored: %+v", c)
				}
			},
		},
		{
			name:   "start",
			args:   []string{"canary", "catalog", "1.1.0", "--percent", "10", "--reason", "try the new grid"},
			stdout: []string{"catalog", "1.1.0"},
			check: func(t *testing.T, r result) {
				if c := canaryOf(t); c == nil || c.Version != "1.1.0" || c.Percent != 10 || c.Integrity["catalog.js"] == "" {
					t.Fatalf("canary after start: %+v", c)
				}
				if got := catalogFor(t, "9"); got != "1.1.0" {
					t.Errorf("bucket 9 gets catalog %s, want the canary 1.1.0", got)
				}
				if got := catalogFor(t, "10"); got != "1.0.0" {
					t.Errorf("bucket 10 gets catalog %s, want the live 1.0.0", got)
				}
			},
		},
		{
			name: "abort",
			args: []string{"abort", "catalog", "--reason", "grid broken on Safari"},
			check: func(t *testing.T, r result) {
				if c := canaryOf(t); c != nil {
					t.Fatalf("canary after abort: %+v", c)
				}
				if got := catalogFor(t, "9"); got != "1.0.0" {
					t.Errorf("bucket 9 gets catalog %s after the abort, want 1.0.0", got)
				}
			},
		},
		{
			name:   "abort again changes nothing",
			args:   []string{"abort", "catalog"},
			stdout: []string{"catalog: no change"},
		},
		{
			name: "start again, then promote",
			args: []string{"canary", "catalog", "1.1.0", "--percent", "50"},
		},
		{
			name: "promote",
			args: []string{"promote", "catalog", "--reason", "looks good"},
			check: func(t *testing.T, r result) {
				if c := canaryOf(t); c != nil {
					t.Fatalf("canary after promote: %+v", c)
				}
				for _, b := range []string{"0", "99"} {
					if got := catalogFor(t, b); got != "1.1.0" {
						t.Errorf("bucket %s gets catalog %s after the promotion, want 1.1.0", b, got)
					}
				}
			},
		},
		{
			name:   "the history tells who did what and why",
			args:   []string{"history", "--app", "catalog", "--limit", "5"},
			stdout: []string{"looks good", "grid broken on Safari", "try the new grid"},
		},
	})
}

// TestOverrideCommand prints a link with the CLI and opens it as a browser
// would: that browser runs the other version, with a badge.
func TestOverrideCommand(t *testing.T) {
	url, _, token := startServer(t)
	admin := map[string]string{"MFSHELL_SERVER": url, "MFSHELL_TOKEN": token}
	var link string
	runScript(t, admin, []step{
		{name: "odd arguments", args: []string{"override", "catalog"}, code: 2, errLine: "want APP VERSION pairs"},
		{name: "ttl over a day", args: []string{"override", "catalog", "1.1.0", "--ttl", "25h"}, code: 2, errLine: "at most 24h"},
		{name: "unpublished", args: []string{"override", "catalog", "7.0.0"}, code: 1, errLine: "not published"},
		{
			name:   "link",
			args:   []string{"override", "catalog", "1.1.0", "--ttl", "2h"},
			stdout: []string{url + "/?mfshell-override=", "it works until"},
			check: func(t *testing.T, r result) {
				link, _, _ = strings.Cut(r.stdout, "\n")
			},
		},
	})
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), "Override: catalog 1.1.0") || !strings.Contains(string(body), "/cdn/catalog/1.1.0/") {
		t.Fatalf("the page of the link: %s", body)
	}
}
