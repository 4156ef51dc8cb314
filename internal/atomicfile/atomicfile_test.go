package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	for _, data := range []string{"one", "two"} {
		if err := Write(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != data {
			t.Fatalf("got %q, want %q", got, data)
		}
	}
	assertNoTemp(t, filepath.Dir(path))
}

// TestCreateRace has 16 goroutines create one path: exactly one wins, and
// the file holds the winner's bytes whole.
func TestCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rev")
	var wg sync.WaitGroup
	results := make([]error, 16)
	for i := range results {
		wg.Go(func() { results[i] = Create(path, []byte{byte('a' + i)}, 0o644) })
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created the file", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("writer %d: got %v, want fs.ErrExist", i, err)
		}
	}
	if got, _ := os.ReadFile(path); winner < 0 || string(got) != string(rune('a'+winner)) {
		t.Fatalf("file holds %q, winner %d", got, winner)
	}
	assertNoTemp(t, filepath.Dir(path))
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}
