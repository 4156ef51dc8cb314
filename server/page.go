package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tdewolff/minify/v2"
	mincss "github.com/tdewolff/minify/v2/css"
	minhtml "github.com/tdewolff/minify/v2/html"
	minjson "github.com/tdewolff/minify/v2/json"

	"github.com/mfshell/mfshell/fragments"
	"github.com/mfshell/mfshell/internal/negotiate"
	"github.com/mfshell/mfshell/layout"
	"github.com/mfshell/mfshell/manifests"
	shelljs "github.com/mfshell/mfshell/shell-js"
)

// The shell page is rendered from the layout and minified once per
// revision and per route, with placeholders for what changes per request:
// the nonce, the fragments of the apps on the page and the triggers they
// sent. A request only fetches the fragments and writes the parts.
const (
	noncePlaceholder    = "MFSHELLNONCEPLACEHOLDER"
	triggersPlaceholder = "MFSHELLTRIGGERSPLACEHOLDER"
	fragmentMark        = "MFSHELLFRAGMENT" // + app name + placeholderEnd
	placeholderEnd      = "PLACEHOLDER"
)

var placeholders = regexp.MustCompile(`MFSHELL(?:NONCE|TRIGGERS|FRAGMENT[a-z0-9-]+)PLACEHOLDER`)

// page is one rendered shell page: static parts, and between parts[i] and
// parts[i+1], holes[i].
type page struct {
	parts [][]byte
	holes []hole
	size  int // of the parts
	// fetch are the fragments the page needs, of the apps in fetchApps.
	fetch     []fragments.Target
	fetchApps []pageApp
}

// hole is what a request writes into a page: its nonce, an app's
// fragment, or the triggers of its fragments.
type hole struct {
	kind holeKind
	app  int // index in page.fetch, for holeFragment
}

type holeKind uint8

const (
	holeNonce holeKind = iota
	holeFragment
	holeTriggers
)

// pageApp is an app whose fragment a page inlines.
type pageApp struct {
	name   string
	shadow bool
	// links are the app's stylesheets, linked inside its declarative
	// shadow root so that its server HTML is styled before any script.
	links string
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

// renderPages renders the shell pages of a revision; bases gives the
// folder of the files of apps not on the CDN (see newVariant).
func (s *Server) renderPages(m *manifests.Manifest, publicJSON []byte, badge string, bases map[string]string) (*pages, error) {
	ps := &pages{byApp: map[string]*page{}}
	var nav []layout.Link
	im := map[string]map[string]string{"integrity": {}}
	for _, name := range m.Names() {
		a := m.Apps[name]
		if a.Route != "" {
			ps.routes = append(ps.routes, route{prefix: a.Route, app: name})
			nav = append(nav, layout.Link{Href: a.Route, Text: name})
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
	slices.SortFunc(nav, func(a, b layout.Link) int { return strings.Compare(a.Href, b.Href) })
	importMap, err := json.Marshal(im)
	if err != nil {
		return nil, err
	}
	r := pageRenderer{s: s, m: m, bases: bases, importMap: importMap, manifest: publicJSON, badge: badge, nav: nav}
	for _, rt := range ps.routes {
		if ps.byApp[rt.app], err = r.render(rt.app); err != nil {
			return nil, err
		}
	}
	if ps.notFound, err = r.render(""); err != nil {
		return nil, err
	}
	return ps, nil
}

// pageRenderer renders the pages of one variant of a revision.
type pageRenderer struct {
	s                   *Server
	m                   *manifests.Manifest
	bases               map[string]string
	importMap, manifest []byte
	badge               string
	nav                 []layout.Link
}

// render renders the page of the routed app, or the not-found page for "".
func (r *pageRenderer) render(routed string) (*page, error) {
	s, m, esc := r.s, r.m, html.EscapeString
	lay := s.Layout
	p := &page{}
	var head strings.Builder
	fmt.Fprintf(&head, `<script type="importmap" nonce="%s">%s</script>`, noncePlaceholder, r.importMap)
	// The apps on the page: the routed one and the layout's.
	onPage := lay.Apps()
	if routed != "" {
		onPage = append([]string{routed}, onPage...)
	}
	fill := map[string]string{} // app → its element's content
	for _, name := range onPage {
		a, ok := m.Apps[name]
		if !ok {
			continue
		}
		if a.Format == manifests.FormatModule && a.Entry != "" {
			fmt.Fprintf(&head, `<link rel="modulepreload" href="%s" integrity="%s" crossorigin>`, esc(s.fileURL(r.bases, name, a.Version, a.Entry)), esc(a.Integrity[a.Entry]))
		}
		// The runtime fetches stylesheets with fetch() and their integrity;
		// a preload "as fetch" starts that request with the page's, and the
		// runtime's fetch takes its response (and still checks the
		// integrity, which Chromium ignores on such a preload).
		var links strings.Builder
		for _, f := range a.Styles {
			file := f
			if a.Isolation == manifests.IsolationScoped {
				file = strings.TrimSuffix(f, ".css") + ".scoped.css"
			}
			u := esc(s.fileURL(r.bases, name, a.Version, file))
			fmt.Fprintf(&head, `<link rel="preload" as="fetch" href="%s" crossorigin>`, u)
			fmt.Fprintf(&links, `<link rel="stylesheet" href="%s" integrity="%s" crossorigin>`, u, esc(a.Integrity[file]))
		}
		if a.Fragment == "" || r.bases[name] != "" {
			continue // rendered in the browser only (a dev override's too)
		}
		shadow := a.Isolation != manifests.IsolationScoped && a.Isolation != manifests.IsolationNone
		if a.Isolation == manifests.IsolationScoped {
			// Server HTML of a scoped app is styled before any script: its
			// rules only ever match inside its element.
			head.WriteString(links.String())
		}
		p.fetch = append(p.fetch, fragments.Target{App: name, Version: a.Version, URL: a.Fragment})
		p.fetchApps = append(p.fetchApps, pageApp{name: name, shadow: shadow, links: links.String()})
		fill[name] = fragmentMark + name + placeholderEnd
	}
	fmt.Fprintf(&head, `<script type="application/json" id="mfshell-manifest">%s</script>`, r.manifest)
	fmt.Fprintf(&head, `<script type="module" src="%s" integrity="%s" nonce="%s"></script>`, esc("/_mfshell/"+s.runtime.Script.Name), esc(s.runtime.Integrity), noncePlaceholder)
	title, stage := "Not found", ""
	if routed != "" {
		title, stage = routed, "<"+routed+"-app>"+fill[routed]+"</"+routed+"-app>"
	}
	doc, err := lay.Render(layout.Page{
		Title:     title,
		Head:      head.String(),
		BodyStart: r.badge,
		Nav:       r.nav,
		Stage:     stage,
		App:       func(name string) string { return fill[name] },
		Nonce:     noncePlaceholder,
		BodyEnd:   triggersPlaceholder,
	})
	if err != nil {
		return nil, err
	}
	min := minify.New()
	min.Add("text/html", &minhtml.Minifier{KeepDocumentTags: true, KeepEndTags: true, KeepQuotes: true})
	min.AddFunc("text/css", mincss.Minify)
	min.AddFunc("application/json", minjson.Minify)
	out, err := min.Bytes("text/html", doc)
	if err != nil {
		return nil, fmt.Errorf("minify shell page: %w", err)
	}
	last := 0
	for _, loc := range placeholders.FindAllIndex(out, -1) {
		p.parts = append(p.parts, out[last:loc[0]])
		p.size += loc[0] - last
		switch ph := string(out[loc[0]:loc[1]]); ph {
		case noncePlaceholder:
			p.holes = append(p.holes, hole{kind: holeNonce})
		case triggersPlaceholder:
			p.holes = append(p.holes, hole{kind: holeTriggers})
		default:
			name := strings.TrimSuffix(strings.TrimPrefix(ph, fragmentMark), placeholderEnd)
			i := slices.IndexFunc(p.fetchApps, func(a pageApp) bool { return a.name == name })
			if i < 0 {
				return nil, fmt.Errorf("shell page: a placeholder for %q, which has no fragment", name)
			}
			p.holes = append(p.holes, hole{kind: holeFragment, app: i})
		}
		last = loc[1]
	}
	p.parts = append(p.parts, out[last:])
	p.size += len(out) - last
	return p, nil
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

// handlePage serves the shell page for any path that no other route takes:
// the routed app's page, or the not-found page with status 404. The
// fragments of the apps on the page are fetched first, in parallel, within
// the fragment budget; those that did not arrive are left to the browser.
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
	var got []fragments.Result
	if len(p.fetch) > 0 && r.Method != http.MethodHead {
		got = s.fragments.Fetch(r.Context(), r, r.URL.Path, p.fetch)
	}
	nonce := newNonce()
	fills := make([][]byte, len(p.holes))
	size := p.size
	for i, h := range p.holes {
		switch h.kind {
		case holeNonce:
			fills[i] = []byte(nonce)
		case holeFragment:
			if got != nil {
				fills[i] = inlineFragment(p.fetchApps[h.app], got[h.app])
			}
		case holeTriggers:
			fills[i] = triggersScript(got)
		}
		size += len(fills[i])
	}
	hdr := w.Header()
	hdr["Content-Type"] = []string{"text/html; charset=utf-8"}
	// The nonce is per response: the page must never be served from a cache.
	hdr["Cache-Control"] = []string{"no-store"}
	hdr["Content-Security-Policy"] = []string{s.csp(nonce, v.sources)}
	hdr["X-Content-Type-Options"] = []string{"nosniff"}
	hdr["Referrer-Policy"] = []string{"strict-origin-when-cross-origin"}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	hdr["Content-Length"] = []string{strconv.Itoa(size)}
	w.WriteHeader(status)
	for i, part := range p.parts {
		w.Write(part)
		if i < len(fills) {
			w.Write(fills[i])
		}
	}
}

// inlineFragment is the content of an app's element for its fragment: in
// a declarative shadow root with the app's stylesheets under shadow
// isolation, as it is otherwise; nothing for a fragment that failed, which
// the browser then renders.
func inlineFragment(a pageApp, res fragments.Result) []byte {
	if res.Err != nil {
		return nil
	}
	if !a.shadow {
		return res.HTML
	}
	b := make([]byte, 0, len(res.HTML)+len(a.links)+64)
	b = append(b, `<template shadowrootmode="open">`...)
	b = append(b, a.links...)
	b = append(b, res.HTML...)
	return append(b, `</template>`...)
}

// triggersScript is the element that gives the runtime the Mfshell-Trigger
// events of the page's fragments, in the order of the apps on the page, or
// nothing if they sent none.
func triggersScript(got []fragments.Result) []byte {
	var events []json.RawMessage
	for _, res := range got {
		if res.Err == nil && res.Trigger != "" {
			events = append(events, json.RawMessage(res.Trigger))
		}
	}
	if len(events) == 0 {
		return nil
	}
	data, _ := json.Marshal(events) // valid JSON already; < > & are escaped
	return fmt.Appendf(nil, `<script type="application/json" id="mfshell-trigger">%s</script>`, data)
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
