package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/layout"
)

// composedServer is a server whose layout holds header-app and footer-app,
// with catalog routed at /catalog; each app's fragment comes from a real
// fragment server on loopback, which behaves as kinds[app] says.
func composedServer(t *testing.T, kinds map[string]string) (*testServer, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	frag := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		app := r.Header.Get("Mfshell-App")
		switch kinds[app] {
		case "hang":
			<-r.Context().Done()
			return
		case "fail":
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case "huge":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(strings.Repeat("<p>x</p>", 200_000)))
			return
		case "trigger":
			w.Header().Set("Mfshell-Trigger", `{"cart:count": {"n": 3}}`)
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<p class=%q>%s %s at %s</p></main>", app, app, r.Header.Get("Mfshell-Version"), r.URL.Query().Get("path"))
	}))
	t.Cleanup(frag.Close)
	lay, err := layout.Parse([]byte(`<!doctype html><title>Shop</title><header-app></header-app><main id="mfshell-stage"></main><footer-app></footer-app>`))
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(s *Server) {
		s.Layout = lay
		s.FragmentTimeout = 300 * time.Millisecond
	})
	for _, a := range []struct{ name, route, isolation string }{{"header", "", "shadow"}, {"footer", "", "scoped"}, {"catalog", "/catalog", "shadow"}} {
		ts.publish(t, a.name, "1.0.0")
		body := fmt.Sprintf(`{"version":"1.0.0","route":%q,"isolation":%q,"fragment":%q}`, a.route, a.isolation, frag.URL+"/"+a.name)
		if res := ts.do(t, "PUT", "/api/v1/apps/"+a.name, adminToken, body); res.status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", a.name, res.status, res.body)
		}
	}
	return ts, &calls
}

// TestComposedPage checks a page with three fragments: each inlined into
// its element (a declarative shadow root with the app's stylesheet under
// shadow isolation), its stray end tag dropped.
func TestComposedPage(t *testing.T) {
	ts, calls := composedServer(t, map[string]string{})
	res := ts.do(t, "GET", "/catalog/items/12", "", "")
	if res.status != http.StatusOK {
		t.Fatalf("page: %d", res.status)
	}
	page := string(res.body)
	if calls.Load() != 3 {
		t.Errorf("%d fragment requests, want 3", calls.Load())
	}
	for _, want := range []string{
		`<header-app><template shadowrootmode="open"><link rel="stylesheet" href="/cdn/header/1.0.0/main.css" integrity="sha384-`,
		`<p class="header">header 1.0.0 at /catalog/items/12</p></template></header-app>`,
		`<main id="mfshell-stage"><catalog-app><template shadowrootmode="open"><link rel="stylesheet" href="/cdn/catalog/1.0.0/main.css"`,
		`<p class="catalog">catalog 1.0.0 at /catalog/items/12</p></template></catalog-app></main>`,
		// scoped: inlined as it is, its scoped stylesheet linked in the head
		`<footer-app><p class="footer">footer 1.0.0 at /catalog/items/12</p></footer-app>`,
		`<link rel="stylesheet" href="/cdn/footer/1.0.0/main.scoped.css" integrity="sha384-`,
		`<title>catalog · Shop</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s\n%s", want, page)
		}
	}
	// Each stylesheet link has its own file's integrity (the scoped copy's, not the original's).
	for _, f := range []struct{ app, file string }{{"header", "main.css"}, {"catalog", "main.css"}, {"footer", "main.scoped.css"}} {
		am, err := cdn.ReadAssetManifest(context.Background(), ts.cdn, f.app, "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`href="/cdn/%s/1.0.0/%s" integrity="%s"`, f.app, f.file, am.Files[f.file].Integrity)
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "mfshell-trigger") || strings.Contains(page, "PLACEHOLDER") {
		t.Errorf("page has a trigger or a placeholder:\n%s", page)
	}
	if n := len(res.body); res.header.Get("Content-Length") != fmt.Sprint(n) {
		t.Errorf("Content-Length %s, body %d bytes", res.header.Get("Content-Length"), n)
	}
}

// TestComposedPageFailures checks that a hanging fragment is cut at the
// budget with the page sent, and that failed and oversized ones leave
// their element empty for the browser; a trigger reaches the page.
func TestComposedPageFailures(t *testing.T) {
	ts, _ := composedServer(t, map[string]string{"header": "hang", "footer": "huge", "catalog": "trigger"})
	start := time.Now()
	res := ts.do(t, "GET", "/catalog", "", "")
	took := time.Since(start)
	page := string(res.body)
	if res.status != http.StatusOK {
		t.Fatalf("page: %d", res.status)
	}
	for _, want := range []string{
		`<header-app></header-app>`,
		`<footer-app></footer-app>`,
		`<p class="catalog">catalog 1.0.0 at /catalog</p>`,
		`<script type="application/json" id="mfshell-trigger">[{"cart:count":{"n":3}}]</script></body>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s\n%s", want, page)
		}
	}
	t.Logf("page with a hanging fragment sent after %v (budget 300ms)", took)
	metrics := string(ts.do(t, "GET", "/metrics", "", "").body)
	for _, want := range []string{
		`mfshell_fragments_total{app="header",result="timeout"} 1`,
		`mfshell_fragments_total{app="footer",result="too_large"} 1`,
		`mfshell_fragments_total{app="catalog",result="ok"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestFragmentEndpoint checks GET /_mfshell/fragment/NAME, which the
// runtime uses on client-side navigation.
func TestFragmentEndpoint(t *testing.T) {
	ts, _ := composedServer(t, map[string]string{"header": "fail", "footer": "hang", "catalog": "trigger"})
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/_mfshell/fragment/catalog?path=/catalog/x", 200, `<p class="catalog">catalog 1.0.0 at /catalog/x</p>`},
		{"/_mfshell/fragment/header?path=/", 502, ""},
		{"/_mfshell/fragment/footer?path=/", 504, ""},
		{"/_mfshell/fragment/nope?path=/", 404, ""},
		{"/_mfshell/fragment/catalog", 400, ""},
		{"/_mfshell/fragment/catalog?path=catalog", 400, ""},
	} {
		res := ts.do(t, "GET", tc.path, "", "")
		if res.status != tc.status || tc.body != "" && string(res.body) != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, res.status, res.body, tc.status, tc.body)
		}
		if tc.status == 200 {
			if h := res.header.Get("Mfshell-Trigger"); h != `{"cart:count":{"n":3}}` {
				t.Errorf("Mfshell-Trigger %q", h)
			}
			if res.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
				t.Errorf("headers %v", res.header)
			}
		}
	}
}
