package server

import (
	"html"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mfshell/mfshell/internal/tokens"
	shelljs "github.com/mfshell/mfshell/shell-js"
)

// The admin page, GET /_mfshell/admin/, is one static document: the admin
// stylesheet inlined and the admin script (admin.HASH.js, cached forever),
// both with the response's nonce. The script asks for a token and then
// only uses the ops API, as the CLI does; the page itself needs none.
const adminPath = "/_mfshell/admin/"

// adminPage is the admin page around its two nonces: parts[0], nonce,
// parts[1], nonce, parts[2].
type adminPage struct {
	parts [3]string
	size  int
}

// newAdminPage renders the page of the built admin script and stylesheet.
func newAdminPage(a *shelljs.Runtime) *adminPage {
	p := &adminPage{parts: [3]string{
		`<!doctype html><html lang="en"><head><meta charset="utf-8">` +
			`<meta name="viewport" content="width=device-width,initial-scale=1">` +
			`<link rel="icon" href="data:,"><title>mfshell admin</title><style nonce="`,
		`">` + string(a.CSS) + `</style><script type="module" src="` + html.EscapeString("/_mfshell/"+a.Script.Name) +
			`" integrity="` + html.EscapeString(a.Integrity) + `" nonce="`,
		`"></script></head><body><main id="mfshell-admin"></main>` +
			`<noscript>The admin page needs JavaScript.</noscript></body></html>`,
	}}
	for _, s := range p.parts {
		p.size += len(s)
	}
	return p
}

// adminCSP allows the page's own script and style element, by nonce, and
// requests to this origin (the ops API and the change feed); nothing else,
// inline attributes and handlers included.
func adminCSP(nonce string) string {
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
		"'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// handleAdmin serves the admin page with a fresh nonce.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Security-Policy"] = []string{adminCSP(nonce)}
	h["X-Content-Type-Options"] = hdrNosniff
	h["Referrer-Policy"] = []string{"no-referrer"}
	p := s.adminPage
	h["Content-Length"] = []string{strconv.Itoa(p.size + 2*len(nonce))}
	if r.Method == http.MethodHead {
		return
	}
	w.Write([]byte(p.parts[0] + nonce + p.parts[1] + nonce + p.parts[2]))
}

// handleAdminRedirect sends /_mfshell/admin to the page, /_mfshell/admin/,
// so that the page's relative URLs are the same either way.
func (s *Server) handleAdminRedirect(w http.ResponseWriter, r *http.Request) {
	to := adminPath
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusMovedPermanently)
}

// serveAdminScript serves the admin script under its hashed name, cached
// forever, like the runtime.
func (s *Server) serveAdminScript(w http.ResponseWriter, r *http.Request) {
	w.Header()["Sourcemap"] = s.adminMapHdr
	serveAsset(w, r, &s.admin.Script, hdrJS)
}

// serveAdminSourceMap serves the admin script's source map.
func (s *Server) serveAdminSourceMap(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, &s.admin.SourceMap, hdrJSON)
}

// getOnly answers 405 to any method but GET and HEAD: the catch-all routes
// under /_mfshell/ would otherwise answer 404.
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method "+r.Method+" not allowed on "+r.URL.Path, http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// methods returns a handler that runs the handler of the request's
// method, and answers 405, with Allow, to any other method.
func methods(byMethod map[string]handlerFunc) handlerFunc {
	allow := strings.Join(slices.Sorted(maps.Keys(byMethod)), ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		if h, ok := byMethod[r.Method]; ok {
			return h(w, r)
		}
		w.Header().Set("Allow", allow)
		return errorf(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+": use "+allow)
	}
}

// tokenInfo is the answer of GET /api/v1/token.
type tokenInfo struct {
	Name string   `json:"name"`
	Apps []string `json:"apps"` // the apps the token may change; ["*"] for all
}

// handleToken tells who the request's token is: its name, and the apps it
// may change, or ["*"] for an admin token, which may change every app and
// roll back. Any valid token may ask.
//
//	GET /api/v1/token → {"name": "team-catalog", "apps": ["catalog"]}
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, newTokenInfo(identity(r)))
	return nil
}

func newTokenInfo(id tokens.Identity) tokenInfo {
	apps := []string{"*"}
	if !id.Admin() {
		apps = slices.Sorted(slices.Values(id.Apps))
		if apps == nil {
			apps = []string{}
		}
	}
	return tokenInfo{Name: id.Name, Apps: apps}
}

// stats is the answer of GET /api/v1/stats: per app and version, the
// mounts browsers reported and how many of them failed.
type stats struct {
	Apps map[string]map[string]mountStats `json:"apps"`
}

type mountStats struct {
	Mounts int `json:"mounts"` // every mount reported: mounted, error or fallback
	Failed int `json:"failed"` // those that failed: error or fallback
}

// handleStats returns the mount outcomes that browsers reported in their
// beacons to this server process since it started, per app and version,
// for the versions it has counts of (live, canary or fallback versions
// when their beacons came): the counts the canary guard judges by. Each
// replica counts the beacons of its own browsers, so that behind a load
// balancer an answer is one replica's share, and a restart starts from
// zero. Any valid token may read them.
//
//	GET /api/v1/stats → {"apps": {"catalog": {"1.0.0": {"mounts": 120, "failed": 3}}}}
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, stats{Apps: s.guard.snapshot()})
	return nil
}

// snapshot copies the counts, per app and version.
func (g *guard) snapshot() map[string]map[string]mountStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]map[string]mountStats{}
	for k, o := range g.counts {
		if out[k.app] == nil {
			out[k.app] = map[string]mountStats{}
		}
		out[k.app][k.version] = mountStats{Mounts: o.mounts, Failed: o.failed}
	}
	return out
}
