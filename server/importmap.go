package server

import (
	"net/http"
	"path"

	"github.com/mfshell/mfshell/manifests"
)

// importMap is the live manifest as a standard import map, for pages that
// use native import maps, SystemJS or single-spa's root config with
// mfshell as their import-map server (GET /_mfshell/importmap.json):
//
//	{"imports": {"catalog": "/cdn/catalog/1.0.0/main.js", "catalog/": "/cdn/catalog/1.0.0/"},
//	 "integrity": {"/cdn/catalog/1.0.0/main.js": "sha384-…", "/cdn/catalog/1.0.0/chunk-a.js": "sha384-…"}}
//
// Only module apps are in it: script apps are classic scripts and html
// apps have no bundle. Each module app has two imports: its name, the URL
// of its entry, and its name with a trailing slash, the folder of its
// version, as import-map-deployer writes them (packageDirLevel 1), so that
// "catalog/chunk.js" resolves into the live version too. The integrity
// section has every JavaScript file (.js, .mjs) of each app's version, so
// that chunks a page imports are checked as well as the entry. URLs are
// as browsers load them: under the server's CDN URL, or a dev server's
// folder under a dev override (whose files have no integrity).
type importMap struct {
	Imports   map[string]string `json:"imports"`
	Integrity map[string]string `json:"integrity"`
}

// importMapOfApps returns the import map of the apps of a public manifest
// (one resolved for some browsers).
func (s *Server) importMapOfApps(apps map[string]publicApp) importMap {
	im := importMap{Imports: map[string]string{}, Integrity: map[string]string{}}
	for name, a := range apps {
		if a.Format != manifests.FormatModule || a.Entry == "" {
			continue
		}
		dir := a.Base
		if dir == "" {
			dir = s.bundleURL(name, a.Version, "")
		}
		im.Imports[name] = dir + a.Entry
		im.Imports[name+"/"] = dir
		for file, sri := range a.Integrity {
			if sri != "" && (path.Ext(file) == ".js" || path.Ext(file) == ".mjs") {
				im.Integrity[dir+file] = sri
			}
		}
	}
	return im
}

// stableImportMap returns the import map of m as browsers on no canary
// see it: every app at its live version.
func (s *Server) stableImportMap(m *manifests.Manifest) importMap {
	apps := make(map[string]publicApp, len(m.Apps))
	for name, a := range m.Apps {
		apps[name] = publicApp{Version: a.Version, Entry: a.Entry, Format: a.Format, Integrity: a.Integrity}
	}
	return s.importMapOfApps(apps)
}

// hdrAnyOrigin lets pages of other origins fetch the import map: it is
// public, and browsers send no cookies with a request answered with "*".
var hdrAnyOrigin = []string{"*"}

// handleImportMap serves the import map of r's browser (GET
// /_mfshell/importmap.json): that of its canary bucket and override
// cookie, like the public manifest, which it is made from.
func (s *Server) handleImportMap(w http.ResponseWriter, r *http.Request) {
	w.Header()["Access-Control-Allow-Origin"] = hdrAnyOrigin
	s.browserVariant(r).importMap.serve(w, r)
}
