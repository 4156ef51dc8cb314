package main

import (
	"bufio"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfshell/mfshell/internal/s3test"
	"github.com/mfshell/mfshell/internal/tokens"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// replicas starts two "mfshell serve" replicas on one bucket of a server
// of the test's own, polling every 50 ms, with one tokens file, and
// returns the server, the replicas' URLs and the admin token.
func replicas(t *testing.T) (srv *s3test.Server, bucket string, urls []string, token string) {
	t.Helper()
	srv, _, bucket = s3test.NewServer(t)
	dir := t.TempDir()
	tokensPath, tokenPath := filepath.Join(dir, "tokens.json"), filepath.Join(dir, "admin.token")
	if _, err := tokens.Bootstrap(tokensPath, tokenPath); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		urls = append(urls, serveArgs(t,
			"--data", t.TempDir(),
			"--manifest", "s3://"+bucket+"/prod/manifest.json",
			"--cdn", "s3://"+bucket+"/cdn",
			"--s3-endpoint", srv.URL,
			"--tokens", tokensPath,
			"--poll", "50ms",
			"--demo=false"))
	}
	return srv, bucket, urls, strings.TrimSpace(string(data))
}

// call makes one API request and returns its status and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// publicManifest returns the revision and apps a replica serves.
func publicManifest(t *testing.T, url string) (revision int64, apps map[string]struct{ Version string }) {
	t.Helper()
	status, body := call(t, "GET", url+"/_mfshell/manifest.json", "", "")
	if status != 200 {
		t.Fatalf("GET %s/_mfshell/manifest.json: %d %s", url, status, body)
	}
	var m struct {
		Revision int64
		Apps     map[string]struct{ Version string }
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m.Revision, m.Apps
}

// eventually waits for cond, for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// forcedApp is the body of a release of an unpublished version, which
// needs no bundle on the CDN: a write that costs the test nothing else.
func forcedApp(version string) string {
	sum := sha512.Sum384([]byte("export function mount(){}" + version))
	sri := "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
	return fmt.Sprintf(`{"version":%q,"entry":"main.js","styles":[],"integrity":{"main.js":%q},"force":true}`, version, sri)
}

func TestReplicasOnS3(t *testing.T) {
	srv, bucket, urls, token := replicas(t)
	a, b := urls[0], urls[1]

	// Publish to the bucket with the CLI, release through replica A: B
	// serves it after a poll.
	dist := t.TempDir()
	writeFiles(t, dist, map[string]string{"main.js": "export function mount(){}\n", "main.css": ".card{color:red}\n"})
	env := map[string]string{"MFSHELL_TOKEN": token}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if r := mfshell(t, env, "publish", "--app", "shop", "--version", v, "--cdn", "s3://"+bucket+"/cdn", "--s3-endpoint", srv.URL, dist); r.err != nil {
			t.Fatalf("publish %s: %v\n%s", v, r.err, r.stderr)
		}
	}
	if r := mfshell(t, env, "release", "shop", "1.0.0", "--server", a); r.err != nil {
		t.Fatalf("release through A: %v\n%s", r.err, r.stderr)
	}
	eventually(t, "B serves shop 1.0.0", func() bool {
		_, apps := publicManifest(t, b)
		return apps["shop"].Version == "1.0.0"
	})
	// The bundle is served from the bucket by either replica.
	if status, body := call(t, "GET", b+"/cdn/shop/1.0.0/main.js", "", ""); status != 200 || body != "export function mount(){}\n" {
		t.Fatalf("GET /cdn/shop/1.0.0/main.js on B: %d %q", status, body)
	}

	// A change-feed client on B sees a release made through A.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b+"/_mfshell/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
	}()
	first := <-events // the revision on connect
	if r := mfshell(t, env, "release", "shop", "1.1.0", "--server", a); r.err != nil {
		t.Fatalf("release 1.1.0 through A: %v\n%s", r.err, r.stderr)
	}
	rev, _ := publicManifest(t, a)
	select {
	case got := <-events:
		if !strings.Contains(got, fmt.Sprint(rev)) {
			t.Fatalf("B's feed sent %s (after %s), want revision %d", got, first, rev)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("B's feed sent nothing for revision %d within 10s", rev)
	}

	// 100 concurrent writes, spread over both replicas: all land.
	start, _ := publicManifest(t, a)
	var wg sync.WaitGroup
	failures := make(chan string, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := urls[i%2] + fmt.Sprintf("/api/v1/apps/w%03d", i)
			if status, body := call(t, "PUT", url, token, forcedApp("1.0.0")); status != http.StatusCreated {
				failures <- fmt.Sprintf("PUT %s: %d %s", url, status, body)
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, u := range urls {
		eventually(t, u+" serves all 100 apps", func() bool {
			rev, apps := publicManifest(t, u)
			n := 0
			for name := range apps {
				if strings.HasPrefix(name, "w") {
					n++
				}
			}
			return rev == start+100 && n == 100
		})
	}
	// The history is whole and ordered: revisions start+100 down to
	// start+1, each adding one of the apps, once.
	status, body := call(t, "GET", b+"/api/v1/history?limit=100", token, "")
	if status != 200 {
		t.Fatalf("history: %d %s", status, body)
	}
	var hist struct {
		Revisions []struct {
			Revision int64
			Changes  []struct{ App, Action string }
		}
	}
	if err := json.Unmarshal([]byte(body), &hist); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, r := range hist.Revisions {
		if want := start + 100 - int64(i); r.Revision != want {
			t.Fatalf("history entry %d is revision %d, want %d", i, r.Revision, want)
		}
		for _, c := range r.Changes {
			if seen[c.App] {
				t.Errorf("app %s added twice", c.App)
			}
			seen[c.App] = true
		}
	}
	if len(hist.Revisions) != 100 || len(seen) != 100 {
		t.Fatalf("history: %d revisions adding %d apps, want 100 and 100:\n%s", len(hist.Revisions), len(seen), body)
	}
}

// TestS3Outage stops the S3 server while writes go on through both
// replicas: reads keep serving the last manifest, readiness and writes
// report the outage, and once S3 is back every acknowledged write is there.
func TestS3Outage(t *testing.T) {
	srv, _, urls, token := replicas(t)

	var mu sync.Mutex
	acked := map[string]bool{}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("o%d-%04d", w, i)
				status, body := call(t, "PUT", urls[w%2]+"/api/v1/apps/"+name, token, forcedApp("1.0.0"))
				switch {
				case status == http.StatusCreated:
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				case status == http.StatusServiceUnavailable && strings.Contains(body, "unavailable"):
				case status == 0 && ctx.Err() != nil:
				default:
					t.Errorf("PUT %s: %d %s", name, status, body)
					return
				}
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	eventually(t, "writes acknowledged before the outage", func() bool { return count() >= 20 })

	srv.Stop()
	for _, u := range urls {
		eventually(t, u+"/readyz fails", func() bool {
			status, _ := call(t, "GET", u+"/readyz", "", "")
			return status == http.StatusServiceUnavailable
		})
		if status, body := call(t, "PUT", u+"/api/v1/apps/during", token, forcedApp("1.0.0")); status != http.StatusServiceUnavailable {
			t.Errorf("a write during the outage: %d %s, want 503", status, body)
		}
		if rev, _ := publicManifest(t, u); rev == 0 {
			t.Errorf("%s serves revision 0 during the outage", u)
		}
	}

	srv.Restart(t)
	for _, u := range urls {
		eventually(t, u+"/readyz recovers", func() bool {
			status, _ := call(t, "GET", u+"/readyz", "", "")
			return status == http.StatusOK
		})
	}
	before := count()
	eventually(t, "writes acknowledged after the outage", func() bool { return count() >= before+20 })
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, u := range urls {
		eventually(t, u+" serves every acknowledged write", func() bool {
			_, apps := publicManifest(t, u)
			for name := range acked {
				if _, ok := apps[name]; !ok {
					return false
				}
			}
			return true
		})
	}
	t.Logf("%d writes acknowledged across the outage, all present on both replicas", len(acked))
}
