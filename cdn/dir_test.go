package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary act as a separate publishing process for
// TestPublishRaceProcesses.
func TestMain(m *testing.M) {
	if spec := os.Getenv("MFSHELL_CDN_TEST_PUBLISH"); spec != "" {
		os.Exit(publishProcess(spec))
	}
	os.Exit(m.Run())
}

// publishProcess publishes folder to store, given as "STORE|FOLDER", once
// its standard input is closed (the start signal), and exits 0 if it won,
// 3 if the version existed, 1 on any other error.
func publishProcess(spec string) int {
	root, dir, _ := strings.Cut(spec, "|")
	io.Copy(io.Discard, os.Stdin) // wait for the start signal
	_, err := Publish(context.Background(), NewDir(root), dir, PublishOptions{App: "catalog", Version: "1.0.0"})
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrExist):
		return 3
	default:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
}

func TestDirOpen(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	dir := writeTree(t, map[string]string{"main.js": "m", "lib/a.js": "a"})
	if _, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	// Planted by hand, not by CreateVersion: a version without asset
	// manifest, and hidden files in a published one.
	writeTestFile(t, store.Root, "catalog/2.0.0/main.js", "half")
	writeTestFile(t, store.Root, "catalog/1.0.0/.secret", "s")
	writeTestFile(t, store.Root, "catalog/1.0.0/.dir/x.js", "s")
	writeTestFile(t, filepath.Dir(store.Root), "outside.js", "o")

	if got := readObject(t, store, "catalog/1.0.0/lib/a.js"); string(got) != "a" {
		t.Errorf("lib/a.js = %q, want %q", got, "a")
	}
	readObject(t, store, "catalog/1.0.0/"+AssetManifestName)

	for _, key := range []string{
		"catalog/1.0.0/missing.js",
		"catalog/1.0.0/lib",
		"catalog/1.0.0/main.js/x",
		"catalog/2.0.0/main.js",
		"catalog/2.0.0/" + AssetManifestName,
		"catalog/3.0.0/main.js",
		"other/1.0.0/main.js",
		"catalog/1.0.0/.secret",
		"catalog/1.0.0/.dir/x.js",
		"catalog/1.0.0/../../outside.js",
		"catalog/1.0.0/lib/../main.js",
		"../outside.js",
		".staging/x/main.js",
		"catalog/1.0.0/",
		"catalog/1.0.0",
		"catalog",
		"",
		"/catalog/1.0.0/main.js",
		`catalog/1.0.0/lib\a.js`,
	} {
		obj, err := store.Open(ctx, key)
		if err == nil {
			obj.Close()
		}
		if !errors.Is(err, ErrNotExist) {
			t.Errorf("Open(%q) = %v, want ErrNotExist", key, err)
		}
	}
}

func TestDirVersions(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	got, err := store.Versions(ctx, "catalog")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Versions of an unknown app = %#v, %v; want an empty slice", got, err)
	}
	if _, err := store.Versions(ctx, "../x"); err == nil {
		t.Error("Versions(\"../x\") = nil error, want an invalid name error")
	}

	dir := writeTree(t, map[string]string{"main.js": "m"})
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, v := range []string{"1.0.0", "2.0.0", "1.1.0", "1.1.1"} {
		if _, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: v}); err != nil {
			t.Fatal(err)
		}
		// Date each version explicitly: publishing is faster than the clock.
		at := base.Add(time.Duration(i) * time.Hour)
		if v == "1.1.1" {
			at = base.Add(2 * time.Hour) // same time as 1.1.0
		}
		if err := os.Chtimes(filepath.Join(store.Root, "catalog", v, AssetManifestName), at, at); err != nil {
			t.Fatal(err)
		}
	}
	writeTestFile(t, store.Root, "catalog/9.0.0/main.js", "unpublished")
	writeTestFile(t, store.Root, "catalog/.hidden/"+AssetManifestName, "{}")

	got, err = store.Versions(ctx, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	want := []Published{
		{"1.1.1", base.Add(2 * time.Hour)},
		{"1.1.0", base.Add(2 * time.Hour)},
		{"2.0.0", base.Add(1 * time.Hour)},
		{"1.0.0", base},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Versions =\n%v\nwant\n%v", got, want)
	}
}

func TestDirInit(t *testing.T) {
	ctx := context.Background()
	store := NewDir(filepath.Join(t.TempDir(), "a", "cdn"))
	if err := store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(store.Root, stagingDir)
	writeTestFile(t, staging, "stale/main.js", "old")
	writeTestFile(t, staging, "fresh/main.js", "new")
	old := time.Now().Add(-staleStaging - time.Hour)
	if err := os.Chtimes(filepath.Join(staging, "stale"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(staging, "stale")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale staging folder: stat = %v, want removed", err)
	}
	if _, err := os.Stat(filepath.Join(staging, "fresh", "main.js")); err != nil {
		t.Errorf("fresh staging folder (maybe a publish under way): %v, want kept", err)
	}
}

func TestDirCreateVersionFails(t *testing.T) {
	ctx := context.Background()
	failing := Upload{Path: "b.js", Size: 1, Open: func() (io.ReadSeekCloser, error) {
		return nil, errors.New("disk on fire")
	}}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		app     string
		files   []Upload
		asset   []byte
		wantErr string
	}{
		{"upload fails", ctx, "catalog", []Upload{bytesUpload("a.js", "a"), failing}, []byte("{}"), `file "b.js": disk on fire`},
		{"short upload", ctx, "catalog", []Upload{{Path: "a.js", Size: 5, Open: bytesUpload("a.js", "abc").Open}}, []byte("{}"), `file "a.js": got 3 bytes, want 5`},
		{"long upload", ctx, "catalog", []Upload{{Path: "a.js", Size: 2, Open: bytesUpload("a.js", "abc").Open}}, []byte("{}"), `file "a.js": got 3 bytes, want 2`},
		{"file over folder", ctx, "catalog", []Upload{bytesUpload("a", "a"), bytesUpload("a/b.js", "b")}, []byte("{}"), `file "a/b.js"`},
		{"canceled", canceled, "catalog", []Upload{bytesUpload("a.js", "a")}, []byte("{}"), "context canceled"},
		{"no files", ctx, "catalog", nil, []byte("{}"), "no files"},
		{"no asset manifest", ctx, "catalog", []Upload{bytesUpload("a.js", "a")}, nil, "empty asset manifest"},
		{"reserved", ctx, "catalog", []Upload{bytesUpload(AssetManifestName, "a")}, []byte("{}"), "reserved"},
		{"twice", ctx, "catalog", []Upload{bytesUpload("a.js", "a"), bytesUpload("a.js", "a")}, []byte("{}"), "given twice"},
		{"bad path", ctx, "catalog", []Upload{bytesUpload("../a.js", "a")}, []byte("{}"), `file "../a.js": must not contain a ".." segment`},
		{"bad app", ctx, "../x", []Upload{bytesUpload("a.js", "a")}, []byte("{}"), `app name "../x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t)
			err := store.CreateVersion(tt.ctx, tt.app, "1.0.0", tt.files, tt.asset)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CreateVersion = %v, want error containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "dir store: create ") {
				t.Errorf("error %q does not name the store and the operation", err)
			}
			assertUnpublished(t, store, "catalog", "1.0.0")
		})
	}
}

// raceFolders writes n folders with different content for the same version
// and returns them.
func raceFolders(tb testing.TB, n int) []string {
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = writeTree(tb, map[string]string{
			"main.js":                          fmt.Sprintf("export const publisher = %d;\n", i),
			"main.css":                         fmt.Sprintf(".p%d {}\n", i),
			"lib/shared.js":                    strings.Repeat(fmt.Sprintf("// %d\n", i), 1000*(i+1)),
			fmt.Sprintf("only-%d/file.txt", i): "mine",
		})
	}
	return dirs
}

// checkWinner checks that the origin handler serves exactly the files of
// folder dirs[winner] as catalog@1.0.0, and that no staging folder is left.
func checkWinner(t *testing.T, store *Dir, dirs []string, winner int) {
	t.Helper()
	srv := newTestServer(t, store)
	want := snapshot(t, dirs[winner])
	for _, dir := range dirs {
		for p := range snapshot(t, dir) {
			res, body := get(t, srv.URL+"/cdn/catalog/1.0.0/"+p, nil)
			content, ok := want[p]
			switch {
			case ok && (res.StatusCode != 200 || body != content):
				t.Errorf("%s: %d %q, want the winner's (%d) content %q", p, res.StatusCode, body, winner, content)
			case !ok && res.StatusCode != 404:
				t.Errorf("%s: %d, want 404: not a file of the winner (%d)", p, res.StatusCode, winner)
			}
		}
	}
	if got := snapshot(t, filepath.Join(store.Root, stagingDir)); len(got) != 0 {
		t.Errorf("staging holds %v after the race, want it empty", got)
	}
}

func TestPublishRace(t *testing.T) {
	store := newStore(t)
	dirs := raceFolders(t, 8)
	errs := make([]error, len(dirs))
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, dir := range dirs {
		wg.Go(func() {
			start.Wait()
			_, errs[i] = Publish(context.Background(), store, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
		})
	}
	start.Done()
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("publishers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ErrExist):
			t.Errorf("publisher %d: %v, want ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no publisher succeeded")
	}
	checkWinner(t, store, dirs, winner)
}

func TestPublishRaceProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(t)
	dirs := raceFolders(t, 4)
	cmds := make([]*exec.Cmd, len(dirs))
	starts := make([]io.WriteCloser, len(dirs))
	for i, dir := range dirs {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "MFSHELL_CDN_TEST_PUBLISH="+store.Root+"|"+dir)
		cmd.Stderr = os.Stderr
		if starts[i], err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for _, w := range starts {
		w.Close() // go
	}
	winner := -1
	for i, cmd := range cmds {
		err := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("processes %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case errors.As(err, &exit) && exit.ExitCode() == 3:
			// lost the race, as all but one must
		default:
			t.Errorf("process %d: %v, want success or ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no process succeeded")
	}
	checkWinner(t, store, dirs, winner)
}
