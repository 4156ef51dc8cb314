// Package demo holds the demo apps that mfshell serve publishes into its
// local CDN on first run, so that a fresh install has a working site to
// click through: a welcome page, a catalog, a cart and a leaky legacy app,
// each showing one thing the shell does (shadow DOM and scoped styles, events
// and the shared store between apps, teardown of what an app leaves behind).
//
// # Contents
//
// [FS] holds one folder per bundle, apps/NAME/VERSION/, with plain
// hand-written files and no build step: the entry script (the only top-level
// .js file) and the stylesheets (the top-level .css files). Every folder
// there is meant to be published. [Apps] lists the version of each app to
// make live, with its manifest settings. Some bundles are published but not
// live: catalog 1.1.0 waits for a first release by the user,
//
//	mfshell release catalog 1.1.0
//
// # Seeding
//
// A sketch of what serve does on first run:
//
//	bundles, _ := fs.Glob(demo.FS(), "apps/*/*") // apps/NAME/VERSION
//	for _, dir := range bundles {
//		sub, _ := fs.Sub(demo.FS(), dir)
//		// publish sub as NAME/VERSION
//	}
//	for _, a := range demo.Apps() {
//		// manifest entry a.Name: a.Version, a.Route, a.Format, a.Isolation, a.Template
//	}
package demo

import (
	"embed"
	"io/fs"
)

//go:embed apps
var files embed.FS

// App is one demo app: its manifest settings and its files.
type App struct {
	Name      string // e.g. "home"
	Version   string // the live version, e.g. "1.0.0"
	Route     string // e.g. "/" for home, "/catalog", ...
	Format    string // "module" or "script"
	Isolation string // "shadow", "scoped" or "none"
	Template  string // for the legacy script app, e.g. `<div id="legacy-root"></div>`; "" otherwise
	Dir       string // folder inside FS() holding its bundle files, e.g. "apps/home/1.0.0"
}

// Apps lists the demo apps in a fixed order, each at the version to make
// live. It returns a new slice on every call.
func Apps() []App {
	return []App{
		{Name: "home", Version: "1.0.0", Route: "/", Format: "module", Isolation: "shadow", Dir: "apps/home/1.0.0"},
		{Name: "catalog", Version: "1.0.0", Route: "/catalog", Format: "module", Isolation: "shadow", Dir: "apps/catalog/1.0.0"},
		{Name: "cart", Version: "1.0.0", Route: "/cart", Format: "module", Isolation: "scoped", Dir: "apps/cart/1.0.0"},
		{
			Name: "legacy", Version: "1.0.0", Route: "/legacy", Format: "script", Isolation: "none",
			Template: `<div id="legacy-root"></div>`, Dir: "apps/legacy/1.0.0",
		},
	}
}

// FS returns the embedded files: one folder apps/NAME/VERSION per bundle,
// including versions that [Apps] does not make live. It is read-only and
// safe for concurrent use.
func FS() fs.FS {
	return files
}
