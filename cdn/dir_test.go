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
	"strings"
	"testing"
	"time"

	"github.com/mfshell/mfshell/internal/s3test"
)

// TestMain lets the test binary act as a separate publishing process for
// TestPublishRaceProcesses, and otherwise starts the S3 server the S3
// store is tested against.
func TestMain(m *testing.M) {
	if spec := os.Getenv("MFSHELL_CDN_TEST_PUBLISH"); spec != "" {
		os.Exit(publishProcess(spec))
	}
	os.Exit(s3test.Main(m))
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
	checkWinner(t, dirKind, store, dirs, winner)
}
