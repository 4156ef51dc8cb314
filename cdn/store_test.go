package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeKind is one implementation of Store, with what the tests every
// store must pass need to reach around it. Those tests take a storeKind
// and run, through forEachStore, against each of storeKinds.
type storeKind struct {
	name string // how its errors start: "dir store"
	new  func(tb testing.TB) Store
	// another returns a second handle on the storage of s, as another
	// process would open it.
	another func(tb testing.TB, s Store) Store
	// plant writes content at key, relative to the store's root (".."
	// climbs out of it), as a hand or an interrupted publish would,
	// bypassing CreateVersion.
	plant func(tb testing.TB, s Store, key, content string)
	// objects returns every object of the store by key, relative to its root.
	objects func(tb testing.TB, s Store) map[string]string
	// date sets the publish time of app@version; nil if the store cannot.
	date func(tb testing.TB, s Store, app, version string, at time.Time)
	// clean, if set, checks that a failed CreateVersion of app@version
	// left nothing behind at all, not even invisible files.
	clean func(tb testing.TB, s Store, app, version string)
}

// storeKinds are the stores under test.
var storeKinds = []storeKind{dirKind, s3Kind}

// forEachStore runs test as a subtest per store kind.
func forEachStore(t *testing.T, test func(t *testing.T, k storeKind)) {
	for _, k := range storeKinds {
		t.Run(strings.TrimSuffix(k.name, " store"), func(t *testing.T) { test(t, k) })
	}
}

var dirKind = storeKind{
	name:    "dir store",
	new:     func(tb testing.TB) Store { return newStore(tb) },
	another: func(tb testing.TB, s Store) Store { return NewDir(s.(*Dir).Root) },
	plant: func(tb testing.TB, s Store, key, content string) {
		writeTestFile(tb, s.(*Dir).Root, filepath.FromSlash(key), content)
	},
	objects: func(tb testing.TB, s Store) map[string]string { return snapshot(tb, s.(*Dir).Root) },
	date: func(tb testing.TB, s Store, app, version string, at time.Time) {
		if err := os.Chtimes(filepath.Join(s.(*Dir).Root, app, version, AssetManifestName), at, at); err != nil {
			tb.Fatal(err)
		}
	},
	clean: func(tb testing.TB, s Store, app, version string) { assertUnpublished(tb, s.(*Dir), app, version) },
}

// checkUnpublished fails the test if app@version is visible in s, and if
// the store is one that leaves nothing behind, if anything is left of it.
func checkUnpublished(tb testing.TB, k storeKind, s Store, app, version string) {
	tb.Helper()
	ctx := context.Background()
	obj, err := s.Open(ctx, app+"/"+version+"/"+AssetManifestName)
	if err == nil {
		obj.Close()
	}
	if !errors.Is(err, ErrNotExist) {
		tb.Errorf("open the asset manifest of %s@%s: %v, want ErrNotExist", app, version, err)
	}
	if versions, err := s.Versions(ctx, app); err == nil && slices.ContainsFunc(versions, func(p Published) bool { return p.Version == version }) {
		tb.Errorf("Versions(%s) = %v, lists %s", app, versions, version)
	}
	if k.clean != nil {
		k.clean(tb, s, app, version)
	}
}

func TestStoreOpen(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		store := k.new(t)
		dir := writeTree(t, map[string]string{"main.js": "m", "lib/a.js": "a"})
		if _, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
		// Planted, not made by CreateVersion: a version without asset
		// manifest, and hidden files in a published one.
		k.plant(t, store, "catalog/2.0.0/main.js", "half")
		k.plant(t, store, "catalog/1.0.0/.secret", "s")
		k.plant(t, store, "catalog/1.0.0/.dir/x.js", "s")
		k.plant(t, store, "../outside.js", "o")

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
			if err != nil && !strings.HasPrefix(err.Error(), k.name+": open") {
				t.Errorf("Open(%q) = %v, want an error naming the store and the operation", key, err)
			}
		}
	})
}

func TestStoreVersions(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		store := k.new(t)
		got, err := store.Versions(ctx, "catalog")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("Versions of an unknown app = %#v, %v; want an empty slice", got, err)
		}
		if _, err := store.Versions(ctx, "../x"); err == nil {
			t.Error("Versions(\"../x\") = nil error, want an invalid name error")
		}

		dir := writeTree(t, map[string]string{"main.js": "m"})
		start := time.Now()
		base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		for i, v := range []string{"1.0.0", "2.0.0", "1.1.0", "1.1.1"} {
			if _, err := Publish(ctx, store, dir, PublishOptions{App: "catalog", Version: v}); err != nil {
				t.Fatal(err)
			}
			if k.date == nil {
				continue
			}
			// Date each version explicitly: publishing is faster than the clock.
			at := base.Add(time.Duration(i) * time.Hour)
			if v == "1.1.1" {
				at = base.Add(2 * time.Hour) // same time as 1.1.0
			}
			k.date(t, store, "catalog", v, at)
		}
		end := time.Now()
		k.plant(t, store, "catalog/9.0.0/main.js", "unpublished")
		k.plant(t, store, "catalog/.hidden/"+AssetManifestName, "{}")
		k.plant(t, store, "catalogue/1.0.0/"+AssetManifestName, "{}")

		got, err = store.Versions(ctx, "catalog")
		if err != nil {
			t.Fatal(err)
		}
		if k.date != nil {
			want := []Published{
				{"1.1.1", base.Add(2 * time.Hour)},
				{"1.1.0", base.Add(2 * time.Hour)},
				{"2.0.0", base.Add(1 * time.Hour)},
				{"1.0.0", base},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Versions =\n%v\nwant\n%v", got, want)
			}
			return
		}
		// Undated: the right versions, newest first, then by version, at
		// times within the publishes (to the second, as S3 dates).
		var names []string
		for i, p := range got {
			names = append(names, p.Version)
			if p.Time.Before(start.Truncate(time.Second)) || p.Time.After(end) || p.Time.Location() != time.UTC {
				t.Errorf("%s published at %v, want a UTC time between %v and %v", p.Version, p.Time, start, end)
			}
			if i > 0 && (p.Time.After(got[i-1].Time) || p.Time.Equal(got[i-1].Time) && p.Version > got[i-1].Version) {
				t.Errorf("Versions = %v, not newest first and then by version descending", got)
			}
		}
		if slices.Sort(names); !slices.Equal(names, []string{"1.0.0", "1.1.0", "1.1.1", "2.0.0"}) {
			t.Errorf("Versions lists %v, want the 4 published", names)
		}
	})
}

func TestStoreCreateVersionFails(t *testing.T) {
	ctx := context.Background()
	failing := Upload{Path: "b.js", Size: 1, Open: func() (io.ReadSeekCloser, error) {
		return nil, errors.New("disk on fire")
	}}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		app      string
		files    []Upload
		asset    []byte
		wantErr  string
		mayWrite bool // the store may have written files before failing
	}{
		{"upload fails", ctx, "catalog", []Upload{bytesUpload("a.js", "a"), failing}, []byte("{}"), `file "b.js": disk on fire`, true},
		{"short upload", ctx, "catalog", []Upload{{Path: "a.js", Size: 5, Open: bytesUpload("a.js", "abc").Open}}, []byte("{}"), `file "a.js": got 3 bytes, want 5`, false},
		{"long upload", ctx, "catalog", []Upload{{Path: "a.js", Size: 2, Open: bytesUpload("a.js", "abc").Open}}, []byte("{}"), `file "a.js": got 3 bytes, want 2`, false},
		{"file over folder", ctx, "catalog", []Upload{bytesUpload("a", "a"), bytesUpload("a/b.js", "b")}, []byte("{}"), `file "a/b.js"`, false},
		{"canceled", canceled, "catalog", []Upload{bytesUpload("a.js", "a")}, []byte("{}"), "context canceled", false},
		{"no files", ctx, "catalog", nil, []byte("{}"), "no files", false},
		{"no asset manifest", ctx, "catalog", []Upload{bytesUpload("a.js", "a")}, nil, "empty asset manifest", false},
		{"reserved", ctx, "catalog", []Upload{bytesUpload(AssetManifestName, "a")}, []byte("{}"), "reserved", false},
		{"twice", ctx, "catalog", []Upload{bytesUpload("a.js", "a"), bytesUpload("a.js", "a")}, []byte("{}"), "given twice", false},
		{"bad path", ctx, "catalog", []Upload{bytesUpload("../a.js", "a")}, []byte("{}"), `file "../a.js": must not contain a ".." segment`, false},
		{"bad app", ctx, "../x", []Upload{bytesUpload("a.js", "a")}, []byte("{}"), `app name "../x"`, false},
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				store := k.new(t)
				err := store.CreateVersion(tt.ctx, tt.app, "1.0.0", tt.files, tt.asset)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CreateVersion = %v, want error containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), k.name+": create ") {
					t.Errorf("error %q does not name the store and the operation", err)
				}
				checkUnpublished(t, k, store, "catalog", "1.0.0")
				if got := k.objects(t, store); !tt.mayWrite && len(got) != 0 {
					t.Errorf("store holds %v, want nothing written", slices.Sorted(maps.Keys(got)))
				}
			})
		}
	})
}

func TestStorePublish(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		store := k.new(t)
		files := map[string]string{
			"main.js":            "export function mount() {}\n",
			"main.css":           "body { color: red }\n",
			"a.css":              ".a {}\n",
			"chunks/lazy.js":     "export default 1\n",
			"chunks/deep/x.css":  ".x {}\n",
			"assets/logo.png":    "\x89PNG\r\n\x1a\n",
			"assets/empty.txt":   "",
			".DS_Store":          "junk",
			".git/HEAD":          "ref: refs/heads/main\n",
			"assets/.hidden.txt": "skipped",
		}
		dir := writeTree(t, files)
		var calls [][2]int64
		m, err := Publish(ctx, store, dir, PublishOptions{
			App:      "catalog",
			Version:  "1.2.0",
			Progress: func(done, total int64) { calls = append(calls, [2]int64{done, total}) },
		})
		if err != nil {
			t.Fatal(err)
		}

		published := []string{"main.js", "main.css", "a.css", "chunks/lazy.js", "chunks/deep/x.css", "assets/logo.png", "assets/empty.txt"}
		want := &AssetManifest{
			App:     "catalog",
			Version: "1.2.0",
			Entry:   "main.js",
			Styles:  []string{"a.css", "main.css"},
			Files:   map[string]File{},
		}
		var total int64
		for _, p := range published {
			want.Files[p] = File{Size: int64(len(files[p])), Integrity: sri([]byte(files[p]))}
			total += int64(len(files[p]))
		}
		// Every stylesheet gets its scoped copy beside it.
		scoped := map[string]string{
			"main.scoped.css":          "catalog-app{ color: red }\n",
			"a.scoped.css":             "catalog-app .a{}\n",
			"chunks/deep/x.scoped.css": "catalog-app .x{}\n",
		}
		for p, data := range scoped {
			want.Files[p] = File{Size: int64(len(data)), Integrity: sri([]byte(data))}
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("Publish returned\n%+v\nwant\n%+v", m, want)
		}
		got, err := ReadAssetManifest(ctx, store, "catalog", "1.2.0")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ReadAssetManifest =\n%+v\nwant\n%+v", got, want)
		}
		for _, p := range published {
			if data := readObject(t, store, "catalog/1.2.0/"+p); string(data) != files[p] {
				t.Errorf("%s = %q, want %q", p, data, files[p])
			}
		}
		for p, data := range scoped {
			if got := readObject(t, store, "catalog/1.2.0/"+p); string(got) != data {
				t.Errorf("%s = %q, want %q", p, got, data)
			}
		}
		// Hidden files are skipped: neither in the store nor in the manifest.
		var stored []string
		for key := range k.objects(t, store) {
			if p, ok := strings.CutPrefix(key, "catalog/1.2.0/"); ok {
				stored = append(stored, p)
			}
		}
		if wantStored := slices.Concat(published, slices.Collect(maps.Keys(scoped)), []string{AssetManifestName}); len(stored) != len(wantStored) {
			t.Errorf("stored files %v, want %v", slices.Sorted(slices.Values(stored)), slices.Sorted(slices.Values(wantStored)))
		}

		if len(calls) == 0 {
			t.Fatal("Progress never called")
		}
		for i, c := range calls {
			if c[1] != total {
				t.Errorf("call %d: total = %d, want %d", i, c[1], total)
			}
			if i > 0 && c[0] < calls[i-1][0] {
				t.Errorf("call %d: done went back from %d to %d", i, calls[i-1][0], c[0])
			}
		}
		if calls[0][0] != 0 || calls[len(calls)-1][0] != total {
			t.Errorf("progress went from %d to %d, want 0 to %d", calls[0][0], calls[len(calls)-1][0], total)
		}

		versions, err := store.Versions(ctx, "catalog")
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) != 1 || versions[0].Version != "1.2.0" || versions[0].Time.IsZero() {
			t.Errorf("Versions = %+v, want 1.2.0 with its time", versions)
		}
	})
}

func TestStorePublishExisting(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		store := k.new(t)
		first := writeTree(t, map[string]string{"main.js": "first", "a.css": "a"})
		if _, err := Publish(ctx, store, first, PublishOptions{App: "catalog", Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
		before := k.objects(t, store)

		second := writeTree(t, map[string]string{"main.js": "second", "b.css": "b"})
		_, err := Publish(ctx, store, second, PublishOptions{App: "catalog", Version: "1.0.0"})
		if !errors.Is(err, ErrExist) {
			t.Fatalf("second Publish = %v, want ErrExist", err)
		}
		if want := "publish catalog@1.0.0: version already exists"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if after := k.objects(t, store); !reflect.DeepEqual(after, before) {
			t.Errorf("store changed by a refused publish:\nbefore %v\nafter  %v", before, after)
		}

		// The store refuses too, when asked directly (the race Publish's
		// own check cannot see), also through a handle that has never seen
		// the version.
		for _, s := range []Store{store, k.another(t, store)} {
			err = s.CreateVersion(ctx, "catalog", "1.0.0", []Upload{bytesUpload("main.js", "third"), bytesUpload("c.js", "c")}, []byte("{}"))
			if !errors.Is(err, ErrExist) {
				t.Fatalf("CreateVersion = %v, want ErrExist", err)
			}
			if after := k.objects(t, store); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed by a refused CreateVersion:\nbefore %v\nafter  %v", before, after)
			}
		}
	})
}

// editingStore is a store whose CreateVersion first runs edit: a
// publisher's folder changing between hashing and upload.
type editingStore struct {
	Store
	edit func()
}

func (s editingStore) CreateVersion(ctx context.Context, app, version string, files []Upload, asset []byte) error {
	s.edit()
	return s.Store.CreateVersion(ctx, app, version, files, asset)
}

func TestStorePublishFileChanged(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for name, content := range map[string]string{
			"same size": "export const v = 2;",
			"shorter":   "export",
			"longer":    "export const v = 1; // and more",
		} {
			t.Run(name, func(t *testing.T) {
				store := k.new(t)
				dir := writeTree(t, map[string]string{"main.js": "export const v = 1;", "lib/other.js": "other"})
				s := editingStore{store, func() { writeTestFile(t, dir, "main.js", content) }}
				_, err := Publish(context.Background(), s, dir, PublishOptions{App: "catalog", Version: "1.0.0", Entry: "main.js"})
				if name == "longer" {
					// The first bytes, as hashed, are what is stored: consistent.
					if err != nil {
						t.Fatal(err)
					}
					if got := readObject(t, store, "catalog/1.0.0/main.js"); string(got) != "export const v = 1;" {
						t.Errorf("main.js = %q, want the content that was hashed", got)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), `file "main.js": changed while publishing`) {
					t.Fatalf("Publish = %v, want a changed while publishing error", err)
				}
				checkUnpublished(t, k, store, "catalog", "1.0.0")
			})
		}
	})
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
			"lib/same.js":                      "export const same = true;\n",
			fmt.Sprintf("only-%d/file.txt", i): "mine",
		})
	}
	return dirs
}

// checkWinner checks that the origin handler serves exactly the files of
// folder dirs[winner] as catalog@1.0.0, that every file the asset manifest
// lists matches its integrity, and that no staging or claim is left.
func checkWinner(t *testing.T, k storeKind, store Store, dirs []string, winner int) {
	t.Helper()
	store = k.another(t, store) // no cache from the race
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
	m, err := ReadAssetManifest(context.Background(), store, "catalog", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range m.Files {
		if got := sri(readObject(t, store, "catalog/1.0.0/"+p)); got != f.Integrity {
			t.Errorf("%s: stored bytes have integrity %s, the asset manifest says %s", p, got, f.Integrity)
		}
	}
	// Nor is anything hidden left behind: staging folders, claims.
	for key := range k.objects(t, store) {
		if strings.HasPrefix(key, ".") || strings.Contains(key, "/.") {
			t.Errorf("%s left after the race", key)
		}
	}
}

func TestStorePublishRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		store := k.new(t)
		dirs := raceFolders(t, 8)
		errs := make([]error, len(dirs))
		var start, wg sync.WaitGroup
		start.Add(1)
		for i, dir := range dirs {
			s := k.another(t, store) // as if each publisher were a process of its own
			wg.Go(func() {
				start.Wait()
				_, errs[i] = Publish(context.Background(), s, dir, PublishOptions{App: "catalog", Version: "1.0.0"})
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
		checkWinner(t, k, store, dirs, winner)
	})
}
