// Command writes measures releases against a running mfshell over HTTP:
// PATCH /api/v1/apps/NAME {"version": V}, alternating two published
// versions so that every request changes the manifest (a new fsynced
// revision).
//
//	writes --url http://127.0.0.1:8080 --token-file data/admin.token \
//	    --app bench --versions 1.0.0,1.0.1 --sequential 200 --concurrent 50
//
// It first sends the releases one after another, each timed from sending
// the request to reading the whole response, and then the concurrent ones,
// all started at once (one connection each), timed the same way and as a
// whole. --url may name several replicas, comma-separated: the sequential
// releases go to the first, the concurrent ones to each in turn. It prints one JSON document on stdout; any status other than 200
// is an error.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "writes:", err)
		os.Exit(1)
	}
}

// stats is a set of latencies in milliseconds, summarised.
type stats struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Min  float64 `json:"min_ms"`
	Max  float64 `json:"max_ms"`
	Wall float64 `json:"wall_ms,omitempty"`
}

func summarise(ms []float64) stats {
	s := slices.Clone(ms)
	slices.Sort(s)
	// Nearest rank: the smallest value with at least p of the values at or below it.
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return stats{N: len(s), P50: rank(0.50), P99: rank(0.99), Min: s[0], Max: s[len(s)-1]}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("writes", flag.ContinueOnError)
	url := fs.String("url", "", "mfshell's base URL, or several replicas' comma-separated")
	tokenFile := fs.String("token-file", "", "file holding an admin token")
	app := fs.String("app", "", "app to release")
	versions := fs.String("versions", "", "two published versions, comma-separated")
	sequential := fs.Int("sequential", 200, "sequential releases")
	concurrent := fs.Int("concurrent", 50, "concurrent releases")
	if err := fs.Parse(args); err != nil {
		return err
	}
	vs := strings.Split(*versions, ",")
	if *url == "" || *tokenFile == "" || *app == "" || len(vs) != 2 {
		return fmt.Errorf("--url, --token-file, --app and --versions A,B are required")
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	token := strings.TrimSpace(string(tok))
	var endpoints []string
	for _, u := range strings.Split(*url, ",") {
		endpoints = append(endpoints, strings.TrimSuffix(u, "/")+"/api/v1/apps/"+*app)
	}

	// release returns the time taken and the revision the server answered.
	release := func(c *http.Client, endpoint, version string) (float64, int, error) {
		body, _ := json.Marshal(map[string]string{"version": version}) // a map of strings always encodes
		req, err := http.NewRequest(http.MethodPatch, endpoint, bytes.NewReader(body))
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Mfshell-Reason", "bench")
		start := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, 0, fmt.Errorf("release %s@%s: %w", *app, version, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		elapsed := time.Since(start)
		if err != nil {
			return 0, 0, fmt.Errorf("release %s@%s: read response: %w", *app, version, err)
		}
		if res.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("release %s@%s: %s: %s", *app, version, res.Status, bytes.TrimSpace(b))
		}
		var r struct {
			Revision int `json:"revision"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return 0, 0, fmt.Errorf("release %s@%s: decode response: %w", *app, version, err)
		}
		return float64(elapsed.Microseconds()) / 1000, r.Revision, nil
	}

	// Sequential: one keep-alive connection, as a deploy script would use.
	seqClient := &http.Client{Timeout: 30 * time.Second}
	seq := make([]float64, 0, *sequential)
	last := 0
	for i := range *sequential {
		ms, rev, err := release(seqClient, endpoints[0], vs[i%2])
		if err != nil {
			return err
		}
		if rev <= last {
			return fmt.Errorf("release %d answered revision %d after %d: not a new revision", i, rev, last)
		}
		last = rev
		seq = append(seq, ms)
	}

	// Concurrent: each request on a connection of its own, all released
	// together.
	conc := make([]float64, *concurrent)
	revs := make([]int, *concurrent)
	errs := make([]error, *concurrent)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range *concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			<-gate
			conc[i], revs[i], errs[i] = release(c, endpoints[i%len(endpoints)], vs[i%2])
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	wall := float64(time.Since(start).Microseconds()) / 1000
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	cs := summarise(conc)
	cs.Wall = wall
	// A release of the version already live changes nothing and answers the
	// current revision; count the revisions the concurrent ones wrote.
	slices.Sort(revs)
	written := 0
	for i, r := range revs {
		if r > last && (i == 0 || r != revs[i-1]) {
			written++
		}
	}

	out := map[string]any{"sequential": summarise(seq), "concurrent": cs, "concurrent_revisions_written": written}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
