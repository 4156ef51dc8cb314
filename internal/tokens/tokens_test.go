package tokens

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret = "0123456789abcdef-ops"

func TestParse(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"clear and digest", `[{"name":"ops","token":"` + secret + `","apps":["*"]},{"name":"team","sha256":"` + Digest("team-secret-0123456") + `","apps":["catalog"]}]`, ""},
		{"rotation under one name", `[{"name":"ops","token":"` + secret + `","apps":["*"]},{"name":"ops","token":"` + secret + `2","apps":["*"]}]`, ""},
		{"not json", `{`, "tokens file:"},
		{"object, not array", `{"name":"ops"}`, "tokens file:"},
		{"unknown field", `[{"name":"ops","token":"` + secret + `","apps":["*"],"admin":true}]`, `unknown field "admin"`},
		{"no name", `[{"token":"` + secret + `","apps":["*"]}]`, "entry 0: name: must not be empty"},
		{"short token", `[{"name":"ops","token":"short","apps":["*"]}]`, "at least 16"},
		{"both", `[{"name":"ops","token":"` + secret + `","sha256":"` + Digest("x") + `","apps":["*"]}]`, "not both"},
		{"neither", `[{"name":"ops","apps":["*"]}]`, "token or sha256 is required"},
		{"bad digest", `[{"name":"ops","sha256":"abc","apps":["*"]}]`, "64 hex digits"},
		{"no apps", `[{"name":"ops","token":"` + secret + `"}]`, "apps: must list"},
		{"bad app", `[{"name":"ops","token":"` + secret + `","apps":["Catalog"]}]`, `apps: "Catalog"`},
		{"duplicate token", `[{"name":"a","token":"` + secret + `","apps":["*"]},{"name":"b","token":"` + secret + `","apps":["*"]}]`, "same token as entry 0"},
		{"trailing", `[] []`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("error reveals a token: %v", err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	s, err := Parse([]byte(`[{"name":"ops","token":"` + secret + `","apps":["*"]},{"name":"team","sha256":"` + Digest("team-secret-0123456") + `","apps":["catalog"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := s.Lookup(secret); !ok || id.Name != "ops" || !id.Admin() || !id.Allowed("cart") {
		t.Fatalf("ops: got %+v, %v", id, ok)
	}
	id, ok := s.Lookup("team-secret-0123456")
	if !ok || id.Name != "team" || id.Admin() || !id.Allowed("catalog") || id.Allowed("cart") {
		t.Fatalf("team: got %+v, %v", id, ok)
	}
	for _, bad := range []string{"", "wrong", secret + " ", Digest("team-secret-0123456")} {
		if _, ok := s.Lookup(bad); ok {
			t.Errorf("Lookup(%q) accepted", bad)
		}
	}
}

func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	write := func(s string) {
		t.Helper()
		// Replace by rename, as editors and config tools do.
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(`[{"name":"ops","token":"` + secret + `","apps":["*"]}]`)
	var logs bytes.Buffer
	f := NewFile(path, slog.New(slog.NewTextHandler(&logs, nil)))
	f.CheckEvery = -1
	if err := f.Load(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Set().Lookup(secret); !ok {
		t.Fatal("ops token not accepted")
	}

	write(`[{"name":"new","token":"fedcba9876543210-new","apps":["*"]}]`)
	if _, ok := f.Set().Lookup("fedcba9876543210-new"); !ok {
		t.Fatal("new token not accepted after the file changed")
	}
	if _, ok := f.Set().Lookup(secret); ok {
		t.Fatal("revoked token still accepted")
	}

	write(`[{"name":"broken"`)
	if _, ok := f.Set().Lookup("fedcba9876543210-new"); !ok {
		t.Fatal("a broken file replaced the last good tokens")
	}
	if !strings.Contains(logs.String(), "tokens file refused") {
		t.Fatalf("no log line says why the file was refused: %s", logs.String())
	}
}

func TestBootstrap(t *testing.T) {
	dir := t.TempDir()
	tokensPath, tokenPath := filepath.Join(dir, "tokens.json"), filepath.Join(dir, "admin.token")
	created, err := Bootstrap(tokensPath, tokenPath)
	if err != nil || !created {
		t.Fatalf("got %v, %v", created, err)
	}
	for _, p := range []string{tokensPath, tokenPath} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v; want 0600", p, st.Mode().Perm(), err)
		}
	}
	token, _ := os.ReadFile(tokenPath)
	data, _ := os.ReadFile(tokensPath)
	if bytes.Contains(data, bytes.TrimSpace(token)) {
		t.Fatal("tokens file holds the token in clear")
	}
	var entries []map[string]any
	json.Unmarshal(data, &entries)
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := s.Lookup(strings.TrimSpace(string(token))); !ok || !id.Admin() {
		t.Fatalf("bootstrap token: got %+v, %v", id, ok)
	}
	if created, err := Bootstrap(tokensPath, tokenPath); err != nil || created {
		t.Fatalf("second Bootstrap: got %v, %v; want false, nil", created, err)
	}
}

// FuzzParse checks that Parse never panics, that its errors never echo a
// token, and that every clear token it accepts looks up to its entry.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"name":"ops","token":"` + secret + `","apps":["*"]}]`))
	f.Add([]byte(`[{"name":"t","sha256":"` + Digest("x") + `","apps":["a","b"]}]`))
	f.Add([]byte(`[{"name":"","token":"","apps":[]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		var wire []wireEntry
		if err := json.Unmarshal(data, &wire); err != nil {
			t.Fatalf("Parse accepted what json rejects: %v", err)
		}
		for _, w := range wire {
			if w.Token == "" {
				continue
			}
			if id, ok := s.Lookup(w.Token); !ok || id.Name != w.Name {
				t.Fatalf("token of %q: got %+v, %v", w.Name, id, ok)
			}
		}
	})
}
