package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer runs "mfshell serve" through run, on port 0 with a fresh
// data folder, the way a user would start it. It returns the server's base
// URL, its data folder and the admin token of its first run. The server is
// stopped, and run waited for, when the test ends.
func startServer(t *testing.T) (url, dataDir, token string) {
	t.Helper()
	dataDir = t.TempDir()
	url = serveArgs(t, "--data", dataDir)
	data, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatalf("read the first-run admin token: %v", err)
	}
	return url, dataDir, strings.TrimSpace(string(data))
}

// serveArgs runs "mfshell serve --addr 127.0.0.1:0 --access-log=false"
// with args through run, and returns the server's base URL once it
// listens. The server is stopped, and run waited for, when the test ends.
func serveArgs(t *testing.T, args ...string) (url string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var logs syncBuffer
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--access-log=false"}, args...)
		runErr = run(ctx, args, strings.NewReader(""), pw, &logs, func(string) string { return "" })
		pw.Close()
	}()

	// Read stdout to its end, so that serve never blocks on a write; the
	// first "mfshell serving URL" line gives the URL.
	urls := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "mfshell serving "); ok {
				u, _, _ := strings.Cut(rest, " ")
				select {
				case urls <- u:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr) // only after a line too long for the scanner
	}()

	t.Cleanup(func() {
		cancel()
		<-done
		<-scanned
		if runErr != nil {
			t.Errorf("serve: %v\nlogs:\n%s", runErr, logs.String())
		}
	})

	select {
	case url = <-urls:
	case <-done:
		t.Fatalf("serve stopped before listening: %v\nlogs:\n%s", runErr, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not print its URL within 30s\nlogs:\n%s", logs.String())
	}
	return url
}

// syncBuffer is a bytes.Buffer safe for concurrent use: serve's logger
// writes to it while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what one run of the CLI did.
type result struct {
	stdout, stderr string
	err            error
}

// code is the process's exit status for the run.
func (r result) code() int {
	if r.err == nil {
		return 0
	}
	return exitCode(r.err)
}

// errLine is the line main prints on stderr for the run's error.
func (r result) errLine() string {
	if r.err == nil {
		return ""
	}
	return "mfshell: " + r.err.Error()
}

// mfshell runs the CLI with args and the environment variables in vars,
// and returns what it printed and its error.
func mfshell(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return vars[k] })
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// writeFiles creates the files under dir, given as path → content.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
