// Package manifests holds the version manifest: which version of each
// micro-app is live, where its bundle is, and how the shell runs it.
//
// # Model
//
// A [Manifest] maps app names to [App] entries. Every change is a new
// revision: revision N+1 is computed from revision N by a function (see
// [Apply]) and committed only if the store is still at N, so concurrent
// writers never lose each other's changes. Each revision is kept as a
// [Record] with its time, actor, reason and a summary of the change; a
// rollback is a new revision whose apps equal an older one's.
//
// # Stores
//
// A [Store] keeps the records. [FileStore] keeps them on a local disk, where
// an acknowledged commit survives kill -9 and power loss.
//
// # Validation
//
// [Decode] and [Validate] are strict: unknown fields, bad names, versions,
// routes, formats, isolation modes and oversized fields are reported in one
// [ValidationError] that names every offending field.
package manifests

import (
	"maps"
	"slices"
)

// SchemaVersion is the only manifest schema this package reads and writes.
const SchemaVersion = 1

// Formats of an app's bundle.
const (
	FormatModule = "module" // an ES module exporting single-spa lifecycles
	FormatScript = "script" // a classic script, registering or rendering on execution
	FormatHTML   = "html"   // no bundle: HTML fragments rendered by the team's server
)

// Isolation modes of an app's styles.
const (
	IsolationShadow = "shadow" // styles live in the element's open shadow root
	IsolationScoped = "scoped" // the X.scoped.css copies, confined to NAME-app
	IsolationNone   = "none"   // styles go to the document as they are
)

// Manifest is the version manifest. The zero value is not valid; use [New].
type Manifest struct {
	Schema   int            `json:"schema"`
	Revision int64          `json:"revision"`
	CDN      string         `json:"cdn"`
	Apps     map[string]App `json:"apps"`
}

// App is one micro-app's entry in the manifest.
type App struct {
	Version   string            `json:"version"`
	Route     string            `json:"route"` // "" means not routed; absent means "/NAME"
	Entry     string            `json:"entry"`
	Styles    []string          `json:"styles"`
	Format    string            `json:"format"`
	Isolation string            `json:"isolation"`
	Template  string            `json:"template"`
	Integrity map[string]string `json:"integrity"`
	Canary    *Canary           `json:"canary,omitempty"`
	Fragment  string            `json:"fragment,omitempty"`
}

// Canary is a version served to a percentage of browsers beside the stable
// one. Entry, Styles and Integrity describe the canary's own bundle.
type Canary struct {
	Version      string            `json:"version"`
	Percent      int               `json:"percent"`
	Entry        string            `json:"entry,omitempty"`
	Styles       []string          `json:"styles,omitempty"`
	Integrity    map[string]string `json:"integrity,omitempty"`
	MaxErrorRate float64           `json:"maxErrorRate,omitempty"`
	MinMounts    int               `json:"minMounts,omitempty"`
}

// New returns an empty manifest at revision 0 whose bundles live under cdn.
func New(cdn string) *Manifest {
	return &Manifest{Schema: SchemaVersion, CDN: cdn, Apps: map[string]App{}}
}

// Clone returns a deep copy of m.
func (m *Manifest) Clone() *Manifest {
	c := *m
	c.Apps = make(map[string]App, len(m.Apps))
	for name, a := range m.Apps {
		c.Apps[name] = a.Clone()
	}
	return &c
}

// Names returns the app names in sorted order.
func (m *Manifest) Names() []string {
	return slices.Sorted(maps.Keys(m.Apps))
}

// Clone returns a deep copy of a.
func (a App) Clone() App {
	a.Styles = slices.Clone(a.Styles)
	a.Integrity = maps.Clone(a.Integrity)
	if a.Canary != nil {
		c := *a.Canary
		c.Styles = slices.Clone(c.Styles)
		c.Integrity = maps.Clone(c.Integrity)
		a.Canary = &c
	}
	return a
}

// WithDefaults returns a with the defaults of its optional fields filled in:
// format module, isolation shadow, and non-nil Styles and Integrity so that
// they encode as [] and {}. The route default depends on whether the field
// was present in JSON, so decoding handles it, not WithDefaults.
func (a App) WithDefaults() App {
	if a.Format == "" {
		a.Format = FormatModule
	}
	if a.Isolation == "" {
		a.Isolation = IsolationShadow
	}
	if a.Styles == nil {
		a.Styles = []string{}
	}
	if a.Integrity == nil {
		a.Integrity = map[string]string{}
	}
	return a
}

// HasBundle reports whether the app loads a bundle from the CDN (formats
// module and script) rather than only server-rendered HTML.
func (a App) HasBundle() bool { return a.Format != FormatHTML }
