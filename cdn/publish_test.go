package cdn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// readObject returns the content of key in s, or fails the test.
func readObject(tb testing.TB, s Store, key string) []byte {
	tb.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		tb.Fatalf("open %s: %v", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		tb.Fatalf("read %s: %v", key, err)
	}
	if int64(len(data)) != obj.Size {
		tb.Errorf("open %s: Size = %d, read %d bytes", key, obj.Size, len(data))
	}
	return data
}

// snapshot returns every file under root, by slash path, with its content.
func snapshot(tb testing.TB, root string) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

func TestPublishEntry(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		entry     string
		wantEntry string
		wantErr   string
	}{
		{"only js", map[string]string{"app.js": "1", "lib/x.js": "2"}, "", "app.js", ""},
		{"only mjs", map[string]string{"app.mjs": "1", "a.css": "2"}, "", "app.mjs", ""},
		{"explicit", map[string]string{"a.js": "1", "b.js": "2"}, "b.js", "b.js", ""},
		{"explicit nested", map[string]string{"lib/x.js": "1"}, "lib/x.js", "lib/x.js", ""},
		{"none", map[string]string{"a.css": "1", "lib/x.js": "2"}, "", "", "no .js or .mjs file at the top of the folder"},
		{"several", map[string]string{"a.js": "1", "b.mjs": "2"}, "", "", "2 .js/.mjs files at the top of the folder (a.js, b.mjs)"},
		{"explicit missing", map[string]string{"a.js": "1"}, "b.js", "", `entry "b.js": no such file`},
		{"explicit traversal", map[string]string{"a.js": "1"}, "../a.js", "", `entry "../a.js": no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t)
			m, err := Publish(context.Background(), store, writeTree(t, tt.files), PublishOptions{App: "catalog", Version: "1.0.0", Entry: tt.entry})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Publish = %v, want error containing %q", err, tt.wantErr)
				}
				assertUnpublished(t, store, "catalog", "1.0.0")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Entry != tt.wantEntry {
				t.Errorf("Entry = %q, want %q", m.Entry, tt.wantEntry)
			}
		})
	}
}

// assertUnpublished fails the test if the store holds anything for
// app@version or anything in staging.
func assertUnpublished(tb testing.TB, store *Dir, app, version string) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(store.Root, app, version)); !errors.Is(err, fs.ErrNotExist) {
		tb.Errorf("%s/%s exists in the store (%v), want nothing written", app, version, err)
	}
	if got := snapshot(tb, filepath.Join(store.Root, stagingDir)); len(got) != 0 {
		tb.Errorf("staging holds %v, want it empty", slices.Sorted(maps.Keys(got)))
	}
}

func TestPublishRefuses(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.js": "secret", "lib/x.js": "x"})
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // adds to a folder holding main.js
		opts    PublishOptions
		wantErr string
	}{
		{
			name:    "bad app name",
			opts:    PublishOptions{App: "Catalog", Version: "1.0.0"},
			wantErr: `publish: invalid app name "Catalog": must start with a lower-case letter`,
		},
		{
			name:    "bad version",
			opts:    PublishOptions{App: "catalog", Version: "1..0"},
			wantErr: `publish catalog: invalid version "1..0": must not contain ".."`,
		},
		{
			name:    "reserved name",
			setup:   func(t *testing.T, dir string) { writeTestFile(t, dir, "mfshell.json", "{}") },
			wantErr: `publish catalog@1.0.0: file "mfshell.json": reserved`,
		},
		{
			name:    "absolute symlink out",
			setup:   func(t *testing.T, dir string) { symlink(t, filepath.Join(outside, "secret.js"), dir, "s.js") },
			wantErr: `publish catalog@1.0.0: file "s.js": symlink to "` + filepath.Join(outside, "secret.js") + `" points outside the folder`,
		},
		{
			name: "relative symlink out",
			setup: func(t *testing.T, dir string) {
				rel, err := filepath.Rel(filepath.Join(dir, "lib"), filepath.Join(outside, "secret.js"))
				if err != nil {
					t.Fatal(err)
				}
				symlink(t, rel, dir, "lib/s.js")
			},
			wantErr: `publish catalog@1.0.0: file "lib/s.js": symlink to "../`,
		},
		{
			name: "symlink out through a symlinked folder",
			setup: func(t *testing.T, dir string) {
				symlink(t, "z/secret.js", dir, "a.js") // walked before z
				symlink(t, outside, dir, "z")
			},
			wantErr: `publish catalog@1.0.0: file "a.js": symlink to "z/secret.js": `,
		},
		{
			name:    "symlink to a folder",
			setup:   func(t *testing.T, dir string) { writeTestFile(t, dir, "lib/a.js", "a"); symlink(t, "lib", dir, "lib2") },
			wantErr: `publish catalog@1.0.0: file "lib2": symlink to "lib": symlinks to folders are not followed`,
		},
		{
			name:    "broken symlink",
			setup:   func(t *testing.T, dir string) { symlink(t, "nowhere.js", dir, "b.js") },
			wantErr: `publish catalog@1.0.0: file "b.js": symlink to "nowhere.js":`,
		},
		{
			name: "fifo",
			setup: func(t *testing.T, dir string) {
				if err := syscall.Mkfifo(filepath.Join(dir, "pipe.js"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: `publish catalog@1.0.0: file "pipe.js": not a regular file`,
		},
		{
			name:    "backslash",
			setup:   func(t *testing.T, dir string) { writeTestFile(t, dir, `a\b.js`, "x") },
			wantErr: `publish catalog@1.0.0: file "a\\b.js": must not contain a backslash`,
		},
		{
			name:    "control character",
			setup:   func(t *testing.T, dir string) { writeTestFile(t, dir, "a\tb.js", "x") },
			wantErr: `publish catalog@1.0.0: file "a\tb.js": must not contain control character '\t'`,
		},
		{
			name:    "url delimiter in a folder",
			setup:   func(t *testing.T, dir string) { writeTestFile(t, dir, "v?1/a.js", "x") },
			wantErr: `publish catalog@1.0.0: folder "v?1": must not contain '?'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t)
			dir := writeTree(t, map[string]string{"main.js": "m"})
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			opts := tt.opts
			if opts.App == "" {
				opts = PublishOptions{App: "catalog", Version: "1.0.0"}
			}
			_, err := Publish(context.Background(), store, dir, opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Publish = %v\nwant error starting %s", err, tt.wantErr)
			}
			assertUnpublished(t, store, opts.App, opts.Version)
		})
	}
}

func writeTestFile(tb testing.TB, dir, name, content string) {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func symlink(tb testing.TB, target, dir, name string) {
	tb.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		tb.Fatal(err)
	}
}

func TestPublishReportsEveryProblem(t *testing.T) {
	store := newStore(t)
	dir := writeTree(t, map[string]string{"main.js": "m", "a?.js": "a", "b/c#.css": "c", "mfshell.json": "{}"})
	_, err := Publish(context.Background(), store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
	want := `publish catalog@1.0.0: file "a?.js": must not contain '?', which changes the meaning of a URL` + "\n" +
		`file "b/c#.css": must not contain '#', which changes the meaning of a URL` + "\n" +
		`file "mfshell.json": reserved for the asset manifest that publish writes`
	if err == nil || err.Error() != want {
		t.Fatalf("Publish = %v\nwant %s", err, want)
	}

	var many = map[string]string{"main.js": "m"}
	for i := range 30 {
		many[fmt.Sprintf("bad%02d?.js", i)] = "x"
	}
	_, err = Publish(context.Background(), store, writeTree(t, many), PublishOptions{App: "catalog", Version: "1.0.0"})
	if err == nil || strings.Count(err.Error(), "\n") != maxProblems || !strings.HasSuffix(err.Error(), "stopped after 20 problems") {
		t.Errorf("Publish with 30 bad paths = %v, want %d of them and a note", err, maxProblems)
	}
	assertUnpublished(t, store, "catalog", "1.0.0")
}

func TestPublishSymlinkInside(t *testing.T) {
	store := newStore(t)
	dir := writeTree(t, map[string]string{"lib/real.js": "real"})
	symlink(t, "lib/real.js", dir, "main.js")
	if _, err := Publish(context.Background(), store, dir, PublishOptions{App: "catalog", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, store, "catalog/1.0.0/main.js"); string(got) != "real" {
		t.Errorf("main.js = %q, want the link's target content %q", got, "real")
	}
}

func TestPublishEmptyFolder(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"empty":       {},
		"only hidden": {".DS_Store": "x", ".git/HEAD": "y"},
	} {
		t.Run(name, func(t *testing.T) {
			store := newStore(t)
			dir := writeTree(t, files)
			if err := os.MkdirAll(filepath.Join(dir, "empty-sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Publish(context.Background(), store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
			if want := "publish catalog@1.0.0: no files in the folder"; err == nil || err.Error() != want {
				t.Fatalf("Publish = %v, want %q", err, want)
			}
			assertUnpublished(t, store, "catalog", "1.0.0")
		})
	}
}

func TestPublishMissingFolder(t *testing.T) {
	store := newStore(t)
	_, err := Publish(context.Background(), store, filepath.Join(t.TempDir(), "nope"), PublishOptions{App: "catalog", Version: "1.0.0"})
	if err == nil || !strings.HasPrefix(err.Error(), "publish catalog@1.0.0: open folder: ") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Publish = %v, want an open folder error wrapping fs.ErrNotExist", err)
	}
}

// bytesUpload returns an upload of content at p.
func bytesUpload(p, content string) Upload {
	return Upload{Path: p, Size: int64(len(content)), Open: func() (io.ReadSeekCloser, error) {
		return nopCloser{strings.NewReader(content)}, nil
	}}
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

func TestPublishBodyRetry(t *testing.T) {
	// A store may read an upload twice (a retry) or seek in it: progress
	// counts each byte once and the digest is still checked.
	content := strings.Repeat("x", 10000)
	dir := writeTree(t, map[string]string{"main.js": content})
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	files, err := scan(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	p := &progress{fn: func(done, total int64) { last = done }, total: files[0].size, seen: make([]int64, 1)}
	b, err := openBody(root, files[0], 0, p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := io.CopyN(io.Discard, b, 4000); err != nil {
		t.Fatal(err)
	}
	if end, err := b.Seek(0, io.SeekEnd); err != nil || end != int64(len(content)) {
		t.Fatalf("Seek(0, SeekEnd) = %d, %v; want %d", end, err, len(content))
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, b); err != nil {
		t.Fatalf("second read: %v", err)
	}
	if buf.String() != content || last != int64(len(content)) {
		t.Errorf("second read gave %d bytes, progress %d; want %d and %d", buf.Len(), last, len(content), len(content))
	}
}
