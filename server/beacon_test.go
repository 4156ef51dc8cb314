package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBeacons sends beacons as sendBeacon does (text/plain) and reads the
// metrics they feed; malformed, oversized and unknown ones change nothing.
func TestBeacons(t *testing.T) {
	ts := canaryServer(t) // catalog 1.0.0, canary 1.1.0; home 1.0.0, canary 2.0.0
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"mounted", `{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":42.5}`, 204},
		{"mounted, the canary", `{"app":"catalog","version":"1.1.0","outcome":"mounted","ms":120}`, 204},
		{"error", `{"app":"catalog","version":"1.1.0","outcome":"error"}`, 204},
		{"unmounted with leaks", `{"app":"home","version":"1.0.0","outcome":"unmounted","cleaned":{"listeners":12,"timers":2,"observers":0,"globals":1,"nodes":0}}`, 204},
		{"an unknown version is dropped", `{"app":"catalog","version":"6.6.6","outcome":"mounted","ms":1}`, 204},
		{"an unknown app is dropped", `{"app":"nope","version":"1.0.0","outcome":"mounted","ms":1}`, 204},
		{"unknown outcome", `{"app":"catalog","version":"1.0.0","outcome":"exploded"}`, 400},
		{"negative time", `{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":-1}`, 400},
		{"negative count", `{"app":"home","version":"1.0.0","outcome":"unmounted","cleaned":{"listeners":-3}}`, 400},
		{"no app", `{"version":"1.0.0","outcome":"mounted"}`, 400},
		{"not JSON", `app=catalog`, 400},
		{"empty", ``, 400},
		{"over 1 KiB", `{"app":"catalog","version":"1.0.0","outcome":"mounted","pad":"` + strings.Repeat("x", 1100) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, "POST", "/_mfshell/beacon", "", tc.body, "Content-Type", "text/plain;charset=UTF-8")
			if res.status != tc.status {
				t.Fatalf("got %d %s, want %d", res.status, res.body, tc.status)
			}
		})
	}
	if res := ts.do(t, "GET", "/_mfshell/beacon", "", ""); res.status != http.StatusMethodNotAllowed && res.status != http.StatusNotFound {
		t.Fatalf("GET /_mfshell/beacon: %d", res.status)
	}
	metrics := string(ts.do(t, "GET", "/metrics", "", "").body)
	for _, want := range []string{
		`mfshell_app_mounts_total{app="catalog",outcome="mounted",version="1.0.0"} 1`,
		`mfshell_app_mounts_total{app="catalog",outcome="mounted",version="1.1.0"} 1`,
		`mfshell_app_mounts_total{app="catalog",outcome="error",version="1.1.0"} 1`,
		`mfshell_app_mount_seconds_count{app="catalog",version="1.0.0"} 1`,
		`mfshell_app_mount_seconds_sum{app="catalog",version="1.0.0"} 0.0425`,
		`mfshell_app_cleaned_total{app="home",kind="listeners",version="1.0.0"} 12`,
		`mfshell_app_cleaned_total{app="home",kind="globals",version="1.0.0"} 1`,
		`mfshell_beacons_dropped_total{reason="unknown"} 2`,
		`mfshell_beacons_dropped_total{reason="malformed"} 6`,
		`mfshell_beacons_dropped_total{reason="too large"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, never := range []string{`version="6.6.6"`, `app="nope"`, `outcome="exploded"`, `kind="observers"`} {
		if strings.Contains(metrics, never) {
			t.Errorf("metrics have %s", never)
		}
	}
}

// FuzzBeacon checks that any body gets 204, 400 or 413 and never a panic.
func FuzzBeacon(f *testing.F) {
	for _, s := range []string{
		`{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":42.5}`,
		`{"app":"catalog","version":"1.0.0","outcome":"unmounted","cleaned":{"listeners":1}}`,
		`{"app":"catalog","version":"1.0.0","outcome":"mounted","ms":1e400}`,
		`{"app":1}`, `null`, `[]`, `{"cleaned":null}`, ``,
	} {
		f.Add([]byte(s))
	}
	ts := canaryServer(f)
	h := ts.Server.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/_mfshell/beacon", strings.NewReader(string(body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %q: status %d", body, w.Code)
		}
	})
}

// TestBeaconsOfFallbacks checks that a browser's reports about an app's
// fallback version, which it mounts when the live one fails, are counted:
// the fallback outcome against the live version that failed, the unmount
// of the fallback against the fallback's own version.
func TestBeaconsOfFallbacks(t *testing.T) {
	ts := newTestServer(t)
	for _, v := range []string{"1.0.0", "2.0.0"} {
		ts.publish(t, "catalog", v)
	}
	if res := ts.do(t, "PUT", "/api/v1/apps/catalog", adminToken, `{"version":"1.0.0","route":"/catalog"}`); res.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	if res := ts.do(t, "PATCH", "/api/v1/apps/catalog", adminToken, `{"version":"2.0.0"}`); res.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", res.status, res.body)
	}
	for _, body := range []string{
		`{"app":"catalog","version":"2.0.0","outcome":"fallback","ms":80}`,
		`{"app":"catalog","version":"1.0.0","outcome":"unmounted","cleaned":{"listeners":2}}`,
	} {
		if res := ts.do(t, "POST", "/_mfshell/beacon", "", body, "Content-Type", "text/plain"); res.status != http.StatusNoContent {
			t.Fatalf("%s: %d %s", body, res.status, res.body)
		}
	}
	metrics := string(ts.do(t, "GET", "/metrics", "", "").body)
	for _, want := range []string{
		`mfshell_app_mounts_total{app="catalog",outcome="fallback",version="2.0.0"} 1`,
		`mfshell_app_cleaned_total{app="catalog",kind="listeners",version="1.0.0"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `mfshell_beacons_dropped_total{reason="unknown"}`) {
		t.Error("a beacon was dropped as unknown")
	}
}
