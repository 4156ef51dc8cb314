// Package server is mfshell's HTTP side: the public manifest and its
// change feed, the ops API, the local CDN origin, health and metrics.
//
// One [Server] owns the router, the stores, the logger and the metrics.
// Routes are registered in one place, [Server.routes], which reads like the
// endpoint table of the design. Handlers return errors to one writer,
// writeError, which maps them to statuses.
//
//	s := server.NewServer(manifestStore, cdnStore, tokenFile)
//	s.Addr = "127.0.0.1:8080"
//	if err := s.Open(ctx); err != nil { ... }
//	defer s.Close(ctx)
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/fragments"
	"github.com/mfshell/mfshell/internal/override"
	"github.com/mfshell/mfshell/layout"
	"github.com/mfshell/mfshell/manifests"
	shelljs "github.com/mfshell/mfshell/shell-js"
)

// MaxBodyBytes bounds API request bodies.
const MaxBodyBytes = 1 << 20

// Server serves mfshell over HTTP. Set its exported fields between
// NewServer and Open. It is safe for concurrent use once open.
type Server struct {
	// Addr is the address to listen on, such as "127.0.0.1:8080"; port 0
	// picks a free port (see URL).
	Addr string
	// Manifests is the manifest store.
	Manifests manifests.Store
	// CDN is the bundle store.
	CDN cdn.Store
	// CDNURL is the base URL of bundles as browsers see it; "/cdn/" when
	// this server is the origin.
	CDNURL string
	// ServeCDN mounts the CDN origin handler at /cdn/.
	ServeCDN bool
	// Tokens authenticates the ops API.
	Tokens TokenSource
	// Logger receives access, audit and error logs.
	Logger *slog.Logger
	// AccessLog logs every request at level Info.
	AccessLog bool
	// Heartbeat is the interval of change-feed heartbeats.
	Heartbeat time.Duration
	// Poll is how often the manifest store is read for changes made by
	// other replicas or processes; 0 turns polling off (a server that is
	// the store's only writer learns of its own writes without it).
	Poll time.Duration
	// Now is the clock recorded in revisions and that overrides expire by.
	Now func() time.Time
	// Overrides signs and checks override tokens; nil turns overrides off.
	Overrides *override.Signer
	// Dev also accepts unsigned dev overrides (?mfshell-override=APP@URL):
	// a link then makes a browser run code from any URL in the shell. For a
	// developer's machine, never in production.
	Dev bool
	// Layout is the template of shell pages; the built-in one if nil.
	Layout *layout.Layout
	// FragmentTimeout is the time budget of the fragments of one page
	// (fragments.DefaultBudget if zero); ForwardHeaders names the page
	// request's headers passed on to fragment servers.
	FragmentTimeout time.Duration
	ForwardHeaders  []string

	metrics *metrics
	// The manifest and the runtime are served ahead of the router.
	hotManifest, hotRuntime *routeMetrics
	runtimePath             string
	sourceMapHdr            []string
	feed                    *feed
	runtime                 *shelljs.Runtime
	ln                      net.Listener
	http                    *http.Server
	stopPoll                context.CancelFunc
	router                  *mux.Router

	// The admin page's script and stylesheet, and the page around them.
	admin       *shelljs.Runtime
	adminPage   *adminPage
	adminMapHdr []string

	// writeMu serializes this server's manifest writes. Compare-and-swap
	// alone never loses a write, but concurrent writers in one process would
	// mostly lose races and recompute; queueing them costs nothing and keeps
	// the retries for writers in other processes or replicas.
	writeMu sync.Mutex

	// fragments fetches apps' server-rendered fragments for pages.
	fragments *fragments.Fetcher

	// guard counts mount outcomes and aborts failing canaries.
	guard guard

	// snapMu serializes changes of snap; readers load snap without it.
	snapMu sync.Mutex
	snap   atomic.Pointer[snapshot]
}

// NewServer returns a server over the given stores with default options.
// It does no I/O.
func NewServer(m manifests.Store, c cdn.Store, t TokenSource) *Server {
	return &Server{
		Addr:      "127.0.0.1:8080",
		Manifests: m,
		CDN:       c,
		CDNURL:    "/cdn/",
		ServeCDN:  true,
		Tokens:    t,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		AccessLog: true,
		Heartbeat: 25 * time.Second,
		Now:       time.Now,
		metrics:   newMetrics(),
		feed:      newFeed(),
	}
}

// Open loads the latest manifest, then listens on Addr (so that a busy port
// is an error here) and serves in the background until Close.
func (s *Server) Open(ctx context.Context) error {
	if err := s.Load(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	if s.Dev {
		s.Logger.Warn("DEV MODE: unsigned overrides (?mfshell-override=APP@URL) are accepted: any link can make a browser run code from any URL in the shell. Never run with --dev in production.")
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	// Streams would hold Shutdown up until they end; end them.
	s.http.RegisterOnShutdown(s.feed.close)
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopPoll = stop
	if s.Poll > 0 {
		go s.poll(pctx)
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// Handler returns the server's HTTP handler, for tests that drive it
// without a listener. Open must not be called then; call Load instead.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// serveHTTP answers the public manifest itself and gives every other
// request to the router. The manifest is fetched by every page load and
// every change-feed event; gorilla/mux's matching and its two request
// copies cost more than serving it (BENCHMARKS.md).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.router.ServeHTTP(w, r)
		return
	}
	var serve func(http.ResponseWriter, *http.Request) int
	var rm *routeMetrics
	switch r.URL.Path {
	case "/_mfshell/manifest.json":
		serve, rm = s.serveManifest, s.hotManifest
	case s.runtimePath:
		serve, rm = s.serveRuntime, s.hotRuntime
	default:
		s.router.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	code := serve(w, r)
	d := time.Since(start)
	rm.observe(r.Method, code, d)
	if s.AccessLog {
		s.logAccess(r, code, d)
	}
}

// Load reads the latest manifest and builds the routes without listening.
func (s *Server) Load(ctx context.Context) error {
	rt, err := shelljs.Build()
	if err != nil {
		return err
	}
	s.runtime = rt
	s.runtimePath = "/_mfshell/" + rt.Script.Name
	s.sourceMapHdr = []string{"/_mfshell/" + rt.SourceMap.Name}
	s.hotManifest, s.hotRuntime = s.metrics.route("manifest.json"), s.metrics.route("runtime")
	if s.admin, err = shelljs.BuildAdmin(); err != nil {
		return err
	}
	s.adminPage = newAdminPage(s.admin)
	s.adminMapHdr = []string{"/_mfshell/" + s.admin.SourceMap.Name}
	if s.Layout == nil {
		s.Layout = layout.Default() // parsed once, not per page rendered
	}
	if s.fragments == nil {
		f, err := fragments.New(fragments.Options{Budget: s.FragmentTimeout, Forward: s.ForwardHeaders, Registerer: s.metrics.registry})
		if err != nil {
			return err
		}
		s.fragments = f
	}
	if err := s.refresh(ctx); err != nil {
		return fmt.Errorf("load manifest: %w", err)
	}
	s.router = s.routes()
	return nil
}

// URL returns the base URL the server listens on, such as
// "http://127.0.0.1:8080".
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests, ends change-feed streams and waits for
// requests in flight, writes included, until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	s.stopPoll()
	return s.http.Shutdown(ctx)
}

// routes registers every endpoint; it reads like the design's table.
func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.UseEncodedPath() // keep %2F in paths encoded, so that the CDN handler can refuse it
	r.SkipClean(true)  // refuse "..", never redirect it somewhere else

	handle := func(path, name string, h http.HandlerFunc, methods ...string) {
		r.Handle(path, s.instrument(name, h)).Methods(methods...)
	}
	handle("/_mfshell/events", "events", s.handleEvents, "GET")
	handle("/_mfshell/beacon", "beacon", s.handleBeacon, "POST")
	handle("/_mfshell/fragment/{name}", "fragment", s.handleFragment, "GET")
	handle("/_mfshell/importmap.json", "importmap", s.handleImportMap, "GET", "HEAD")
	if s.ServeCDN {
		r.PathPrefix("/cdn/").Handler(s.instrument("cdn", http.StripPrefix("/cdn/", cdn.NewHandler(s.CDN, s.Logger))))
	}

	// Before /api/v1, which would take its paths: it has its own auth chain.
	s.deployerRoutes(r)
	api := r.PathPrefix("/api/v1").Subrouter()
	api.Use(s.authenticate)
	// Each API path is one route whose handler picks the method's handler:
	// gorilla/mux answers 404, not 405, to a wrong method on a subrouter's
	// routes (all but the last whose path matched).
	apiRoute := func(path, name string, byMethod map[string]handlerFunc) {
		api.Handle(path, s.instrument(name, s.handle(methods(byMethod))))
	}
	apiRoute("/token", "api.token", map[string]handlerFunc{"GET": s.handleToken})
	apiRoute("/stats", "api.stats", map[string]handlerFunc{"GET": s.handleStats})
	apiRoute("/manifest", "api.manifest", map[string]handlerFunc{"GET": s.handleGetManifest})
	apiRoute("/apps/{name}", "api.app", map[string]handlerFunc{"PUT": s.handlePutApp, "PATCH": s.handlePatchApp, "DELETE": s.handleDeleteApp})
	apiRoute("/apps/{name}/versions", "api.versions", map[string]handlerFunc{"GET": s.handleVersions})
	apiRoute("/history", "api.history", map[string]handlerFunc{"GET": s.handleHistory})
	apiRoute("/history/{revision}", "api.revision", map[string]handlerFunc{"GET": s.handleRevision})
	apiRoute("/rollback", "api.rollback", map[string]handlerFunc{"POST": s.handleRollback})
	apiRoute("/overrides", "api.overrides", map[string]handlerFunc{"POST": s.handleCreateOverride})
	api.NotFoundHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})

	handle("/healthz", "healthz", s.handleHealthz, "GET", "HEAD")
	handle("/readyz", "readyz", s.handleReadyz, "GET", "HEAD")
	r.Handle("/metrics", s.metrics.handler()).Methods("GET")

	handle("/_mfshell/"+s.runtime.SourceMap.Name, "runtime", s.handleSourceMap, "GET", "HEAD")
	// The admin page; its routes answer 405 to other methods themselves.
	r.Handle(adminPath, s.instrument("admin", getOnly(s.handleAdmin)))
	r.Handle("/_mfshell/admin", s.instrument("admin", getOnly(s.handleAdminRedirect)))
	r.Handle("/_mfshell/"+s.admin.Script.Name, s.instrument("admin.script", getOnly(s.serveAdminScript)))
	r.Handle("/_mfshell/"+s.admin.SourceMap.Name, s.instrument("admin.script", getOnly(s.serveAdminSourceMap)))
	r.PathPrefix("/_mfshell/").Handler(s.instrument("_mfshell", http.NotFoundHandler()))
	r.PathPrefix("/api/").Handler(s.instrument("api", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})))
	// Every other path is a page of the shell.
	r.PathPrefix("/").Handler(s.instrument("page", http.HandlerFunc(s.handlePage))).Methods("GET", "HEAD")
	return r
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h, writing its error through writeError.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.Logger, err)
		}
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// pinger is a store that can check that it is reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// handleReadyz reports ready when the manifest store answers.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := error(nil)
	if p, ok := s.Manifests.(pinger); ok {
		err = p.Ping(ctx)
	} else {
		_, err = s.Manifests.Current(ctx)
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "revision": s.snap.Load().revision})
}
