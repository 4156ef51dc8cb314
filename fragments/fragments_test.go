package fragments

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fragmentServer is a real fragment server on loopback, counting the
// connections it accepts.
type fragmentServer struct {
	*httptest.Server
	conns atomic.Int64
}

func newFragmentServer(t *testing.T, h http.HandlerFunc) *fragmentServer {
	t.Helper()
	fs := &fragmentServer{}
	fs.Server = httptest.NewUnstartedServer(h)
	fs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			fs.conns.Add(1)
		}
	}
	fs.Start()
	t.Cleanup(fs.Close)
	return fs
}

func newFetcher(t *testing.T, o Options) (*Fetcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	f, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f, reg
}

func pageRequest(headers ...string) *http.Request {
	r := httptest.NewRequest("GET", "/catalog/items/12", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// TestFetchInParallel proves that the fragments of a page are requested
// at once: each fragment server answers only once all three requests are
// in, so a fetch one after the other would time out.
func TestFetchInParallel(t *testing.T) {
	var inFlight atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	h := func(w http.ResponseWriter, r *http.Request) {
		if inFlight.Add(1) == 3 {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<p>%s</p>", r.Header.Get("Mfshell-App"))
	}
	srv := newFragmentServer(t, h)
	f, reg := newFetcher(t, Options{Budget: 10 * time.Second})
	var targets []Target
	for _, app := range []string{"header", "catalog", "footer"} {
		targets = append(targets, Target{App: app, Version: "1.0.0", URL: srv.URL + "/" + app})
	}
	res := f.Fetch(context.Background(), pageRequest(), "/catalog", targets)
	for i, r := range res {
		if r.Err != nil || string(r.HTML) != "<p>"+targets[i].App+"</p>" {
			t.Errorf("%s: %q, %v", targets[i].App, r.HTML, r.Err)
		}
	}
	if got := inFlight.Load(); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if n := testutil.ToFloat64(f.results.WithLabelValues("catalog", "ok")); n != 1 {
		t.Errorf("mfshell_fragments_total{app=catalog,result=ok} = %v", n)
	}
	if n, _ := testutil.GatherAndCount(reg, "mfshell_fragment_seconds"); n != 3 {
		t.Errorf("%d mfshell_fragment_seconds series, want 3", n)
	}
}

// TestFetchFailures checks each way a fragment fails: the others arrive,
// the failed ones have an error and no HTML, and a hanging one is cut at
// the budget (its request cancelled).
func TestFetchFailures(t *testing.T) {
	hangingCancelled := make(chan struct{})
	srv := newFragmentServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, "/") {
		case "ok":
			w.Write([]byte("<p>fine</p>"))
		case "hang":
			<-r.Context().Done()
			close(hangingCancelled)
		case "fail":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "huge":
			w.Header().Set("Content-Type", "text/html")
			chunk := strings.Repeat("x", 64<<10)
			for i := 0; i < 20; i++ { // 1.25 MiB
				if _, err := w.Write([]byte(chunk)); err != nil {
					return
				}
			}
		case "json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{}`))
		case "redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	})
	f, _ := newFetcher(t, Options{Budget: 300 * time.Millisecond})
	kinds := []string{"ok", "hang", "fail", "huge", "json", "redirect", "closed"}
	var targets []Target
	for _, k := range kinds {
		u := srv.URL + "/" + k
		if k == "closed" {
			u = "http://127.0.0.1:1/nothing-listens-here"
		}
		targets = append(targets, Target{App: k, Version: "1", URL: u})
	}
	res := f.Fetch(context.Background(), pageRequest(), "/", targets)
	want := map[string]string{
		"ok": "", "hang": "timeout", "fail": "error", "huge": "too_large", "json": "error", "redirect": "error", "closed": "error",
	}
	for i, k := range kinds {
		r := res[i]
		if got := resultLabel(r.Err); want[k] == "" && got != "ok" || want[k] != "" && got != want[k] {
			t.Errorf("%s: result %s (%v), want %s", k, got, r.Err, want[k])
		}
		if r.Err != nil && r.HTML != nil {
			t.Errorf("%s: HTML with an error", k)
		}
		if n := testutil.ToFloat64(f.results.WithLabelValues(k, resultLabel(r.Err))); n != 1 {
			t.Errorf("%s: counted %v times", k, n)
		}
	}
	if !errors.Is(res[1].Err, ErrTimeout) {
		t.Errorf("hang: %v, want ErrTimeout", res[1].Err)
	}
	select {
	case <-hangingCancelled:
	case <-time.After(5 * time.Second):
		t.Error("the hanging request was never cancelled")
	}
}

// TestFetchHeaders checks what a fragment server is told: the app, its
// version, the path, Accept-Language and the forwarded headers only.
func TestFetchHeaders(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := newFragmentServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("ok"))
	})
	f, _ := newFetcher(t, Options{Forward: []string{"x-tenant"}})
	page := pageRequest("Cookie", "session=secret", "Authorization", "Bearer secret", "Accept-Language", "fr-FR", "X-Tenant", "acme", "X-Other", "no")
	res := f.Fetch(context.Background(), page, "/catalog/items/12", []Target{{App: "catalog", Version: "1.2.0", URL: srv.URL + "/fragment?v=2"}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	r := <-got
	for h, want := range map[string]string{
		"Mfshell-App": "catalog", "Mfshell-Version": "1.2.0", "Accept-Language": "fr-FR", "X-Tenant": "acme",
		"Cookie": "", "Authorization": "", "X-Other": "",
	} {
		if v := r.Header.Get(h); v != want {
			t.Errorf("%s: %q, want %q", h, v, want)
		}
	}
	if p, v := r.URL.Query().Get("path"), r.URL.Query().Get("v"); p != "/catalog/items/12" || v != "2" {
		t.Errorf("query %q", r.URL.RawQuery)
	}

	// Named, cookies and authorization are forwarded.
	f, _ = newFetcher(t, Options{Forward: []string{"Cookie", "authorization"}})
	f.Fetch(context.Background(), page, "/", []Target{{App: "catalog", Version: "1", URL: srv.URL}})
	r = <-got
	if r.Header.Get("Cookie") != "session=secret" || r.Header.Get("Authorization") != "Bearer secret" {
		t.Errorf("named headers not forwarded: %v", r.Header)
	}
}

// TestFetchReusesConnections checks that successive pages reuse the
// connection to a fragment server.
func TestFetchReusesConnections(t *testing.T) {
	srv := newFragmentServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<b>x</b>")) })
	f, _ := newFetcher(t, Options{})
	for range 20 {
		if res := f.Fetch(context.Background(), pageRequest(), "/", []Target{{App: "a", Version: "1", URL: srv.URL}}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential pages, want 1", n)
	}
}

// TestFetchTrigger checks that a valid Mfshell-Trigger comes back compacted
// and an invalid one is dropped with the fragment kept.
func TestFetchTrigger(t *testing.T) {
	srv := newFragmentServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/good" {
			w.Header().Set(TriggerHeader, `{ "cart:added" : {"sku": "A1", "name": "Thé"} }`)
		} else {
			w.Header().Set(TriggerHeader, `["not", "an object"]`)
		}
		w.Write([]byte("<p>x</p>"))
	})
	f, _ := newFetcher(t, Options{})
	res := f.Fetch(context.Background(), pageRequest(), "/", []Target{{App: "a", Version: "1", URL: srv.URL + "/good"}, {App: "b", Version: "1", URL: srv.URL + "/bad"}})
	if res[0].Err != nil || res[0].Trigger != `{"cart:added":{"sku":"A1","name":"Th\u00e9"}}` {
		t.Errorf("good: %q, %v", res[0].Trigger, res[0].Err)
	}
	if res[1].Err != nil || res[1].Trigger != "" || string(res[1].HTML) != "<p>x</p>" {
		t.Errorf("bad: %q %q, %v", res[1].HTML, res[1].Trigger, res[1].Err)
	}
}

func TestNewRefusesHeaders(t *testing.T) {
	for _, h := range []string{"", "X Tenant", "x-tenant:", "Host", "connection", "Mfshell-App", "accept-language", "é"} {
		if _, err := New(Options{Forward: []string{h}}); err == nil {
			t.Errorf("%q: accepted", h)
		}
	}
	if _, err := New(Options{Forward: []string{"X-Tenant", "Cookie"}}); err != nil {
		t.Error(err)
	}
}

// TestFetchCanceled checks that fragments still on their way when the
// page's own request ends are counted as canceled, not as timeouts.
func TestFetchCanceled(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := newFragmentServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	f, _ := newFetcher(t, Options{Budget: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived // the fragment request is on its way: the page's client goes
		cancel()
	}()
	res := f.Fetch(ctx, pageRequest(), "/", []Target{{App: "a", Version: "1", URL: srv.URL}})
	if !errors.Is(res[0].Err, ErrCanceled) {
		t.Errorf("%v, want ErrCanceled", res[0].Err)
	}
	if n := testutil.ToFloat64(f.results.WithLabelValues("a", "canceled")); n != 1 {
		t.Errorf("counted %v canceled", n)
	}
}
