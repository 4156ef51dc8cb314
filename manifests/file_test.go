package manifests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openFileStore(t *testing.T, path string) *FileStore {
	t.Helper()
	s := NewFileStore(path)
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestFileStoreReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.json")
	s := openFileStore(t, path)
	mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
	mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.1.0")})

	s2 := openFileStore(t, path)
	cur, _ := s2.Current(context.Background())
	if cur.Revision != 2 || cur.Manifest.Apps["catalog"].Version != "1.1.0" {
		t.Fatalf("after reopen: got revision %d version %q", cur.Revision, cur.Manifest.Apps["catalog"].Version)
	}
	var copy Manifest
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &copy); err != nil || copy.Revision != 2 {
		t.Fatalf("manifest file: got revision %d, %v; want 2", copy.Revision, err)
	}
}

// TestFileStoreRecovers covers the states a crash can leave: a temporary
// file that was never linked, and a history file whose manifest copy was
// not yet updated.
func TestFileStoreRecovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	s := openFileStore(t, path)
	mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
	mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.1.0")})

	hist := filepath.Join(dir, "manifest.history")
	tmp := filepath.Join(hist, ".tmp-00000000000000000003.json-abcd")
	if err := os.WriteFile(tmp, []byte(`{"revision": 3, "half`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The copy still shows revision 1, as if the crash came between the
	// commit of revision 2 and the update of the copy.
	rec1, _ := s.Get(context.Background(), 1)
	old, _ := json.Marshal(rec1.Manifest)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}

	s2 := openFileStore(t, path)
	if cur, _ := s2.Current(context.Background()); cur.Revision != 2 {
		t.Fatalf("got revision %d, want 2", cur.Revision)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file still there: %v", err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"revision": 2`) {
		t.Fatalf("manifest copy not repaired: %s", data)
	}
}

func TestFileStoreImportsHandWrittenManifest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.json")
	data := `{"schema":1,"cdn":"/cdn/","apps":{"catalog":{"version":"1.0.0","entry":"main.js","integrity":{"main.js":"` + sri + `"}}}}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openFileStore(t, path)
	cur, _ := s.Current(context.Background())
	if cur.Revision != 1 || cur.Manifest.Apps["catalog"].Route != "/catalog" || !strings.HasPrefix(cur.Reason, "imported") {
		t.Fatalf("got %+v", cur)
	}

	bad := filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(bad, []byte(`{"schema":1,"apps":{"Bad":{}}}`), 0o644)
	if err := NewFileStore(bad).Open(context.Background()); err == nil || !strings.Contains(err.Error(), "apps.Bad") {
		t.Fatalf("invalid manifest file: got %v, want an error naming apps.Bad", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(bad), "manifest.history", "00000000000000000001.json")); !os.IsNotExist(err) {
		t.Fatalf("a refused import wrote a revision: %v", err)
	}
}

func TestFileStoreRefusesCorruptHistory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	s := openFileStore(t, path)
	mustApply(t, s, Edit{Actor: "ops", Change: putApp("catalog", "1.0.0")})
	os.WriteFile(filepath.Join(dir, "manifest.history", "00000000000000000001.json"), []byte("{"), 0o644)
	if err := NewFileStore(path).Open(context.Background()); err == nil || !strings.Contains(err.Error(), "read revision 1") {
		t.Fatalf("got %v, want an error naming revision 1", err)
	}
}

// TestFileStoreTwoProcesses shares one folder between two stores, as two
// processes would: neither loses the other's write.
func TestFileStoreTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.json")
	a, b := openFileStore(t, path), openFileStore(t, path)
	mustApply(t, a, Edit{Actor: "a", Change: putApp("catalog", "1.0.0")})
	mustApply(t, b, Edit{Actor: "b", Change: putApp("cart", "1.0.0")}) // b is stale: must catch up, not overwrite
	cur, _ := b.Current(context.Background())
	if cur.Revision != 2 || len(cur.Manifest.Apps) != 2 {
		t.Fatalf("got revision %d with apps %v, want 2 with catalog and cart", cur.Revision, cur.Manifest.Names())
	}
}
