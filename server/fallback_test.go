package server

import (
	"context"
	"encoding/json"
	"testing"
)

// fallbackOf returns app's version and fallback in the public manifest a
// browser in bucket gets, from h.
func fallbackOf(t *testing.T, ts *testServer, app, bucket string) (string, *publicFallback) {
	t.Helper()
	res := ts.do(t, "GET", "/_mfshell/manifest.json", "", "", "Cookie", bucketCookie+"="+bucket)
	var m publicManifest
	if err := json.Unmarshal(res.body, &m); err != nil {
		t.Fatalf("manifest: %d %s", res.status, res.body)
	}
	a := m.Apps[app]
	return a.Version, a.Fallback
}

func TestFallback(t *testing.T) {
	ts := newTestServer(t)
	published := map[string]string{} // version → main.js integrity
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		published[v] = ts.publish(t, "catalog", v).Files["main.js"].Integrity
	}
	ts.publish(t, "home", "1.0.0")
	step := func(t *testing.T, method, path, body string) {
		t.Helper()
		if res := ts.do(t, method, path, adminToken, body); res.status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.status, res.body)
		}
	}
	want := func(t *testing.T, bucket, version, fallback string) {
		t.Helper()
		v, f := fallbackOf(t, ts, "catalog", bucket)
		switch {
		case v != version:
			t.Fatalf("bucket %s: catalog %s, want %s", bucket, v, version)
		case fallback == "" && f != nil:
			t.Fatalf("bucket %s: fallback %+v, want none", bucket, f)
		case fallback != "" && (f == nil || f.Version != fallback || f.Entry != "main.js" || f.Integrity["main.js"] != published[fallback]):
			t.Fatalf("bucket %s: fallback %+v, want %s with its files", bucket, f, fallback)
		}
	}

	step(t, "PUT", "/api/v1/apps/catalog", `{"version":"1.0.0"}`)
	want(t, "50", "1.0.0", "") // nothing was live before
	step(t, "PATCH", "/api/v1/apps/catalog", `{"version":"1.1.0"}`)
	want(t, "50", "1.1.0", "1.0.0")
	step(t, "PUT", "/api/v1/apps/home", `{"version":"1.0.0","route":"/"}`) // another app changes
	want(t, "50", "1.1.0", "1.0.0")
	step(t, "PATCH", "/api/v1/apps/catalog", `{"version":"1.2.0"}`)
	want(t, "50", "1.2.0", "1.1.0")

	// A canary falls back to the live version; the others keep theirs.
	step(t, "PATCH", "/api/v1/apps/catalog", `{"canary":{"version":"1.0.0","percent":10}}`)
	want(t, "5", "1.0.0", "1.2.0")
	want(t, "50", "1.2.0", "1.1.0")

	// A server that starts on this store finds the fallback in the history.
	fresh := NewServer(ts.store, ts.cdn, ts.Tokens)
	if err := fresh.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	sn := fresh.snap.Load()
	if f := sn.fallbacksOf(sn.record.Manifest)("catalog", sn.record.Manifest.Apps["catalog"]); f == nil || f.Version != "1.1.0" {
		t.Fatalf("after a restart: fallback %+v, want 1.1.0", f)
	}
}
