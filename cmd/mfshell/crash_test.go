package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrashDuringWriteStorm runs the real binary, kills it with SIGKILL in
// the middle of concurrent writes, restarts it on the same data, and checks
// that every write the server acknowledged is there, at its revision.
func TestCrashDuringWriteStorm(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	var acked []ack
	for round := range 3 {
		p := startBinary(t, bin, data)
		st := startStorm(p.url, readToken(t, data), round)
		st.wait(40) // kill once the storm is well under way
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.cmd.Wait()
		acked = append(acked, st.stop()...)
	}
	checkAcked(t, bin, data, acked)
}

// TestShutdownDuringWriteStorm sends SIGTERM in the middle of concurrent
// writes: the server must finish the writes in flight (their answers come
// after the signal, and none is a server error), exit with status 0, and
// have every acknowledged write after a restart.
func TestShutdownDuringWriteStorm(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	p := startBinary(t, bin, data)
	st := startStorm(p.url, readToken(t, data), 0)
	st.wait(40)
	st.signalled.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("mfshell serve after SIGTERM: %v, want exit status 0", err)
	}
	acked := st.stop()
	after := 0
	for _, a := range acked {
		if a.afterSignal {
			after++
		}
	}
	// Writers queue on the server's write lock, so writes are always in
	// flight: some must have been answered after the signal.
	if after == 0 {
		t.Error("no write was answered after SIGTERM: the writes in flight were cut")
	}
	if st.serverErrors.Load() > 0 {
		t.Errorf("%d writes got a server error during the shutdown", st.serverErrors.Load())
	}
	t.Logf("%d writes acknowledged, %d of them after SIGTERM", len(acked), after)
	checkAcked(t, bin, data, acked)
}

// ack is a write the server acknowledged.
type ack struct {
	revision    int64
	app         string
	template    string
	afterSignal bool // answered after the test signalled the server
}

// storm is eight writers changing the templates of the demo apps as fast
// as the server answers, until the server stops answering or stop.
type storm struct {
	mu           sync.Mutex
	acked        []ack
	wg           sync.WaitGroup
	done         chan struct{}
	n            chan struct{}
	signalled    atomic.Bool
	serverErrors atomic.Int64
}

func startStorm(url, token string, round int) *storm {
	st := &storm{done: make(chan struct{}), n: make(chan struct{}, 1000)}
	for g := range 8 {
		st.wg.Go(func() {
			app := []string{"home", "catalog", "cart", "legacy"}[g%4]
			for i := 0; ; i++ {
				select {
				case <-st.done:
					return
				default:
				}
				tmpl := fmt.Sprintf("<p>round %d writer %d write %d</p>", round, g, i)
				rev, status, err := patchTemplate(url, token, app, tmpl)
				if status >= 500 {
					st.serverErrors.Add(1)
				}
				if err != nil {
					return // the server went away mid-request: not acknowledged
				}
				st.mu.Lock()
				st.acked = append(st.acked, ack{rev, app, tmpl, st.signalled.Load()})
				st.mu.Unlock()
				select {
				case st.n <- struct{}{}:
				default:
				}
			}
		})
	}
	return st
}

// wait returns once n writes have been acknowledged.
func (st *storm) wait(n int) {
	for range n {
		<-st.n
	}
}

// stop ends the writers and returns what was acknowledged.
func (st *storm) stop() []ack {
	close(st.done)
	st.wg.Wait()
	return st.acked
}

// checkAcked restarts the binary on data and checks that every
// acknowledged write is there, at its revision, and the history has no gap.
func checkAcked(t *testing.T, bin, data string, acked []ack) {
	t.Helper()
	p := startBinary(t, bin, data)
	token := readToken(t, data)
	defer p.stop()
	for _, a := range acked {
		var rec struct {
			Revision int64
			Manifest struct {
				Apps map[string]struct{ Template string }
			}
		}
		getJSON(t, p.url+fmt.Sprintf("/api/v1/history/%d", a.revision), token, &rec)
		if got := rec.Manifest.Apps[a.app].Template; got != a.template {
			t.Fatalf("acknowledged revision %d: %s has template %q, want %q", a.revision, a.app, got, a.template)
		}
	}
	var h struct{ Revisions []struct{ Revision int64 } }
	getJSON(t, p.url+"/api/v1/history?limit=1000", token, &h)
	for i, r := range h.Revisions {
		if want := h.Revisions[0].Revision - int64(i); r.Revision != want {
			t.Fatalf("history has a gap: position %d is revision %d, want %d", i, r.Revision, want)
		}
	}
	t.Logf("%d acknowledged writes, all present; latest revision %d", len(acked), h.Revisions[0].Revision)
}

// buildBinary builds mfshell into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mfshell")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type process struct {
	cmd *exec.Cmd
	url string
}

func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
}

// startBinary starts "mfshell serve" on a free port and waits for the line
// that gives its URL.
func startBinary(t *testing.T, bin, data string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--access-log=false")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logs
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("mfshell serve log:\n%s", b)
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "mfshell serving "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			cmd.Wait()
			t.Fatal("mfshell serve exited before serving")
		}
		return &process{cmd: cmd, url: u}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("mfshell serve did not start within 30s")
	}
	return nil
}

func readToken(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// patchTemplate changes an app's template and returns the acknowledged
// revision, or the status and an error.
func patchTemplate(url, token, app, tmpl string) (int64, int, error) {
	body, _ := json.Marshal(map[string]string{"template": tmpl})
	req, _ := http.NewRequest("PATCH", url+"/api/v1/apps/"+app, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, res.StatusCode, err
	}
	if res.StatusCode != 200 {
		return 0, res.StatusCode, fmt.Errorf("status %d: %s", res.StatusCode, data)
	}
	var r struct{ Revision int64 }
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, res.StatusCode, err
	}
	return r.Revision, res.StatusCode, nil
}

func getJSON(t *testing.T, url, token string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
