package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tdewolff/minify/v2"
	mincss "github.com/tdewolff/minify/v2/css"
	minhtml "github.com/tdewolff/minify/v2/html"
	minjson "github.com/tdewolff/minify/v2/json"

	"github.com/mfshell/mfshell/internal/negotiate"
	"github.com/mfshell/mfshell/manifests"
	shelljs "github.com/mfshell/mfshell/shell-js"
)

// The shell page is rendered and minified once per revision and per route,
// with a placeholder where the per-request nonce goes; a request only
// writes the parts and a fresh nonce.
const noncePlaceholder = "MFSHELLNONCEPLACEHOLDER"

// page is one rendered shell page, split around its nonce placeholders.
type page struct {
	parts [][]byte
	size  int
}

// pages are the shell pages of one revision.
type pages struct {
	byApp    map[string]*page // the page whose route belongs to each routed app
	notFound *page
	routes   []route // longest first
}

type route struct {
	prefix string
	app    string
}

// match returns the app that owns path: the longest route that equals path
// or is a prefix of it followed by "/". The route "/" owns only "/", so a
// home page never swallows every mistyped path.
func (p *pages) match(path string) (string, bool) {
	for _, r := range p.routes {
		if path == r.prefix || r.prefix != "/" && strings.HasPrefix(path, r.prefix) && path[len(r.prefix)] == '/' {
			return r.app, true
		}
	}
	return "", false
}

// pageData is what the page template needs.
type pageData struct {
	title     string
	manifest  []byte // the public manifest JSON, with <, > and & escaped
	importMap []byte
	preload   string // URL of the routed module's entry, or ""
	preloadSR string
	styles    []string // URLs of the routed app's stylesheets, as the runtime fetches them
	badge     string   // HTML shown at the top of the body, or ""
	script    string   // the runtime's URL
	scriptSRI string
	nav       []route
}

// renderPages renders the shell pages of a revision; bases gives the
// folder of the files of apps not on the CDN (see newVariant).
func (s *Server) renderPages(m *manifests.Manifest, publicJSON []byte, badge string, bases map[string]string) (*pages, error) {
	ps := &pages{byApp: map[string]*page{}}
	var nav []route
	im := map[string]map[string]string{"integrity": {}}
	for _, name := range m.Names() {
		a := m.Apps[name]
		if a.Route != "" {
			ps.routes = append(ps.routes, route{prefix: a.Route, app: name})
			nav = append(nav, route{prefix: a.Route, app: name})
		}
		if a.Format == manifests.FormatModule {
			for file, sri := range a.Integrity {
				if strings.HasSuffix(file, ".js") || strings.HasSuffix(file, ".mjs") {
					im["integrity"][s.fileURL(bases, name, a.Version, file)] = sri
				}
			}
		}
	}
	slices.SortFunc(ps.routes, func(a, b route) int { return len(b.prefix) - len(a.prefix) })
	slices.SortFunc(nav, func(a, b route) int { return strings.Compare(a.prefix, b.prefix) })
	importMap, err := json.Marshal(im)
	if err != nil {
		return nil, err
	}
	base := pageData{
		manifest:  publicJSON,
		importMap: importMap,
		script:    "/_mfshell/" + s.runtime.Script.Name,
		scriptSRI: s.runtime.Integrity,
		nav:       nav,
		badge:     badge,
	}
	for _, r := range ps.routes {
		d := base
		a := m.Apps[r.app]
		d.title = r.app
		if a.Format == manifests.FormatModule && a.Entry != "" {
			d.preload, d.preloadSR = s.fileURL(bases, r.app, a.Version, a.Entry), a.Integrity[a.Entry]
		}
		for _, f := range a.Styles {
			if a.Isolation == manifests.IsolationScoped {
				f = strings.TrimSuffix(f, ".css") + ".scoped.css"
			}
			d.styles = append(d.styles, s.fileURL(bases, r.app, a.Version, f))
		}
		if ps.byApp[r.app], err = renderPage(d); err != nil {
			return nil, err
		}
	}
	d := base
	d.title = "Not found"
	if ps.notFound, err = renderPage(d); err != nil {
		return nil, err
	}
	return ps, nil
}

// bundleURL is the URL of a file of a version, as browsers load it.
func (s *Server) bundleURL(app, version, file string) string {
	return s.CDNURL + app + "/" + version + "/" + file
}

// fileURL is the URL of a file of app as browsers load it: under its
// folder in base if it has one (a dev override), else on the CDN.
func (s *Server) fileURL(base map[string]string, app, version, file string) string {
	if b, ok := base[app]; ok {
		return b + file
	}
	return s.bundleURL(app, version, file)
}

// shellCSS styles the page around the apps: the navigation bar and the
// stage. Apps style themselves.
const shellCSS = `
:root{color-scheme:light;--mfshell-accent:#3b5bdb}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f6f7fb}
#mfshell-nav{display:flex;gap:.25rem;align-items:center;padding:.5rem 1rem;background:#1d2330;flex-wrap:wrap}
#mfshell-nav a{color:#dfe4f2;text-decoration:none;padding:.35rem .75rem;border-radius:.4rem;font-weight:500}
#mfshell-nav a:hover,#mfshell-nav a:focus-visible{background:#323a4f;color:#fff}
#mfshell-nav a[aria-current=page]{background:var(--mfshell-accent);color:#fff}
#mfshell-stage{display:block;max-width:72rem;margin:0 auto;padding:1.5rem 1rem}
`

// renderPage writes and minifies one page.
func renderPage(d pageData) (*page, error) {
	var b bytes.Buffer
	esc := html.EscapeString
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8">`)
	b.WriteString(`<meta name="viewport" content="width=device-width,initial-scale=1">`)
	// No favicon request: it would fetch the not-found page on every load.
	b.WriteString(`<link rel="icon" href="data:,">`)
	fmt.Fprintf(&b, `<title>%s · mfshell</title>`, esc(d.title))
	fmt.Fprintf(&b, `<style>%s</style>`, shellCSS)
	fmt.Fprintf(&b, `<script type="importmap" nonce="%s">%s</script>`, noncePlaceholder, d.importMap)
	if d.preload != "" {
		fmt.Fprintf(&b, `<link rel="modulepreload" href="%s" integrity="%s" crossorigin>`, esc(d.preload), esc(d.preloadSR))
	}
	// The runtime fetches stylesheets with fetch() and their integrity; a
	// preload "as fetch" starts that request with the page's, and the
	// runtime's fetch takes its response (and still checks the integrity,
	// which Chromium ignores on such a preload, with a console warning).
	for _, u := range d.styles {
		fmt.Fprintf(&b, `<link rel="preload" as="fetch" href="%s" crossorigin>`, esc(u))
	}
	fmt.Fprintf(&b, `<script type="application/json" id="mfshell-manifest">%s</script>`, d.manifest)
	fmt.Fprintf(&b, `<script type="module" src="%s" integrity="%s" nonce="%s"></script>`, esc(d.script), esc(d.scriptSRI), noncePlaceholder)
	b.WriteString(`</head><body>`)
	b.WriteString(d.badge)
	b.WriteString(`<nav id="mfshell-nav" aria-label="Apps">`)
	for _, r := range d.nav {
		fmt.Fprintf(&b, `<a href="%s">%s</a>`, esc(r.prefix), esc(r.app))
	}
	b.WriteString(`</nav><main id="mfshell-stage"></main>`)
	b.WriteString(`<noscript><p style="padding:1rem">This site needs JavaScript.</p></noscript></body></html>`)

	m := minify.New()
	m.Add("text/html", &minhtml.Minifier{KeepDocumentTags: true, KeepEndTags: true, KeepQuotes: true})
	m.AddFunc("text/css", mincss.Minify)
	m.AddFunc("application/json", minjson.Minify)
	var out bytes.Buffer
	if err := m.Minify("text/html", &out, &b); err != nil {
		return nil, fmt.Errorf("minify shell page: %w", err)
	}
	p := &page{}
	for _, part := range bytes.Split(out.Bytes(), []byte(noncePlaceholder)) {
		p.parts = append(p.parts, part)
		p.size += len(part)
	}
	return p, nil
}

// handlePage serves the shell page for any path that no other route takes:
// the routed app's page, or the not-found page with status 404.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	sn, bucket := s.snap.Load(), pageBucket(w, r)
	v := sn.forBucket(bucket)
	if o := s.pageOverride(w, r, sn.record.Manifest); o != nil {
		if ov, err := s.overridden(sn, bucket, o); err == nil {
			v = ov
		} else {
			s.Logger.Error("override", "err", err)
		}
	}
	pages := v.pages
	p, status := pages.notFound, http.StatusNotFound
	if app, ok := pages.match(r.URL.Path); ok {
		p, status = pages.byApp[app], http.StatusOK
	}
	nonce := newNonce()
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	// The nonce is per response: the page must never be served from a cache.
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Security-Policy"] = []string{s.csp(nonce, v.sources)}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Referrer-Policy"] = []string{"strict-origin-when-cross-origin"}
	h["Content-Length"] = []string{strconv.Itoa(p.size + (len(p.parts)-1)*len(nonce))}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	for i, part := range p.parts {
		if i > 0 {
			w.Write([]byte(nonce))
		}
		w.Write(part)
	}
}

// csp is the page's Content-Security-Policy: scripts only with the nonce
// (and what they load, through 'strict-dynamic'); styles may be inline,
// because apps and their frameworks insert style elements and attributes.
// Files may also come from the CDN's origin and from dev, the dev
// servers of a dev override, whose hot reload may also open WebSockets.
func (s *Server) csp(nonce string, dev []string) string {
	src := ""
	if o := originOf(s.CDNURL); o != "" {
		src = " " + o
	}
	connect := ""
	for _, o := range dev {
		src += " " + o
		connect += " " + wsOrigin(o)
	}
	return "default-src 'self'" + src +
		"; script-src 'nonce-" + nonce + "' 'strict-dynamic'" +
		"; style-src 'self' 'unsafe-inline'" + src +
		"; img-src 'self' data: blob:" + src +
		"; font-src 'self' data:" + src +
		"; connect-src 'self'" + src + connect +
		"; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
}

// originOf returns the origin of an absolute http(s) URL, or "".
func originOf(u string) string {
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(u, scheme); ok {
			host, _, _ := strings.Cut(rest, "/")
			return scheme + host
		}
	}
	return ""
}

func newNonce() string {
	var b [18]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Header values of runtime responses; never modified.
var (
	hdrJS        = []string{"text/javascript; charset=utf-8"}
	hdrImmutable = []string{"public, max-age=31536000, immutable"}
	hdrNosniff   = []string{"nosniff"}
)

// serveRuntime serves the runtime under its hashed name, cached forever,
// and returns the status it wrote.
func (s *Server) serveRuntime(w http.ResponseWriter, r *http.Request) int {
	w.Header()["Sourcemap"] = s.sourceMapHdr
	return serveAsset(w, r, &s.runtime.Script, hdrJS)
}

// handleSourceMap serves the runtime's source map.
func (s *Server) handleSourceMap(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, &s.runtime.SourceMap, hdrJSON)
}

// serveAsset serves an immutable built file from memory, gzipped when the
// client accepts it.
func serveAsset(w http.ResponseWriter, r *http.Request, a *shelljs.Asset, ctype []string) int {
	h := w.Header()
	h["Content-Type"] = ctype
	h["Cache-Control"] = hdrImmutable
	h["Etag"] = a.ETagHeader
	h["Vary"] = hdrVaryAE
	h["X-Content-Type-Options"] = hdrNosniff
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && negotiate.NoneMatch(inm[0], a.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body := a.Content
	if negotiate.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.Gzip
		h["Content-Encoding"] = hdrGzip
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return http.StatusOK
}
