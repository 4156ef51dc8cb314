package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sendBeacons posts n beacons of app@version with outcome.
func sendBeacons(t *testing.T, ts *testServer, app, version, outcome string, n int) {
	t.Helper()
	for range n {
		body := fmt.Sprintf(`{"app":%q,"version":%q,"outcome":%q,"ms":10}`, app, version, outcome)
		if res := ts.do(t, "POST", "/_mfshell/beacon", "", body, "Content-Type", "text/plain;charset=UTF-8"); res.status != 204 {
			t.Fatalf("beacon: %d %s", res.status, res.body)
		}
	}
}

// canaryOfApp returns app's canary version in the ops API, or "".
func canaryOfApp(t *testing.T, ts *testServer, app string) string {
	t.Helper()
	var m struct {
		Apps map[string]struct{ Canary *struct{ Version string } }
	}
	if err := json.Unmarshal(ts.do(t, "GET", "/api/v1/manifest", adminToken, "").body, &m); err != nil {
		t.Fatal(err)
	}
	if c := m.Apps[app].Canary; c != nil {
		return c.Version
	}
	return ""
}

func TestCanaryGuard(t *testing.T) {
	ts := canaryServer(t) // catalog 1.0.0, canary 1.1.0 at 10%
	if res := ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, `{"canary":{"version":"1.1.0","percent":10,"minMounts":20,"maxErrorRate":0.2}}`); res.status != 200 {
		t.Fatalf("PATCH: %d %s", res.status, res.body)
	}
	// The live version fails 1 mount in 10.
	sendBeacons(t, ts, "catalog", "1.0.0", "mounted", 27)
	sendBeacons(t, ts, "catalog", "1.0.0", "error", 3)
	// The canary at 15%: below its limit, it stays.
	sendBeacons(t, ts, "catalog", "1.1.0", "mounted", 17)
	sendBeacons(t, ts, "catalog", "1.1.0", "error", 3)
	if v := canaryOfApp(t, ts, "catalog"); v != "1.1.0" {
		t.Fatalf("a canary within its limit was aborted (%q)", v)
	}
	// Failed fallbacks: at 5 of 22 (22.7%), above 20% and the live 10%,
	// the guard aborts it; the beacons after that name no canary any more.
	sendBeacons(t, ts, "catalog", "1.1.0", "fallback", 5)
	for deadline := time.Now().Add(10 * time.Second); canaryOfApp(t, ts, "catalog") != ""; {
		if time.Now().After(deadline) {
			t.Fatal("the failing canary was not aborted within 10s")
		}
		<-time.After(10 * time.Millisecond)
	}
	var hist struct {
		Revisions []struct{ Actor, Reason string }
	}
	json.Unmarshal(ts.do(t, "GET", "/api/v1/history?limit=1", adminToken, "").body, &hist)
	if len(hist.Revisions) != 1 || hist.Revisions[0].Actor != "canary-guard" || !strings.Contains(hist.Revisions[0].Reason, "5 of 22 mounts failed (22.7%)") || !strings.Contains(hist.Revisions[0].Reason, "3 of 30") {
		t.Fatalf("the guard's revision: %+v", hist.Revisions)
	}
	// Browsers are back on the live version (served once the guard's
	// write has been read back).
	for deadline := time.Now().Add(10 * time.Second); ; {
		v, _ := catalogVersion(t, ts, "Cookie", bucketCookie+"=0")
		if v == "1.0.0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket 0 still gets catalog %s 10s after the abort", v)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// TestCanaryGuardNeedsMounts: without minMounts the guard never acts, and
// a canary that fails no more than the live version stays.
func TestCanaryGuardNeedsMounts(t *testing.T) {
	ts := canaryServer(t)
	sendBeacons(t, ts, "catalog", "1.1.0", "error", 50) // no minMounts set
	if res := ts.do(t, "PATCH", "/api/v1/apps/home", adminToken, `{"canary":{"version":"2.0.0","percent":50,"minMounts":10,"maxErrorRate":0.1}}`); res.status != 200 {
		t.Fatalf("PATCH: %d %s", res.status, res.body)
	}
	sendBeacons(t, ts, "home", "1.0.0", "error", 10) // the live version fails as much
	sendBeacons(t, ts, "home", "2.0.0", "error", 10)
	// The guard decides within each beacon's request: no abort started by
	// then, none can come later.
	if canaryOfApp(t, ts, "catalog") != "1.1.0" || canaryOfApp(t, ts, "home") != "2.0.0" {
		t.Fatal("a canary was aborted without cause")
	}
	if rev := ts.revision(t); rev != 3 {
		t.Fatalf("revision %d, want 3 (two PUTs and one PATCH)", rev)
	}
}
