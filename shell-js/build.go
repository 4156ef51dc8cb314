// Package shelljs builds the browser runtime from its TypeScript sources,
// which are embedded in the binary, with esbuild's Go API: one minified ES
// module whose file name carries a hash of its content, and a source map
// beside it. It builds the admin page's script and stylesheet the same way.
//
//	rt, err := shelljs.Build()
//	// serve rt.Script.Content at "/_mfshell/" + rt.Script.Name
package shelljs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/tdewolff/minify/v2"
	mincss "github.com/tdewolff/minify/v2/css"
)

// sources are the runtime's (src/) and the admin page's (admin/).
//
//go:embed src admin
var sources embed.FS

// Entry is the runtime's entry module inside the embedded sources.
const Entry = "src/index.ts"

// AdminEntry and AdminStyle are the admin page's entry module and its
// stylesheet inside the embedded sources.
const (
	AdminEntry = "admin/main.ts"
	AdminStyle = "admin/admin.css"
)

// Asset is one built file.
type Asset struct {
	Name    string // file name, such as "shell.3FZ6QK2B.js"
	Content []byte
	Gzip    []byte // Content compressed once, at gzip -9
	ETag    string // strong ETag from a hash of Content
	// ETagHeader is ETag as a header value, shared by every response.
	ETagHeader []string
}

// Runtime is the built runtime.
type Runtime struct {
	Script    Asset // the ES module
	SourceMap Asset // its source map, named Script.Name + ".map"
	Integrity string
	// CSS is the stylesheet that goes with the script, minified: the admin
	// page's (BuildAdmin); nil for the runtime, which has none.
	CSS []byte
}

// Build bundles and minifies the embedded runtime. It fails only if the
// sources do not compile, which the tests rule out.
func Build() (*Runtime, error) {
	return build(sources, Entry, "shell", mangled)
}

// BuildAdmin bundles and minifies the admin page's script, admin.HASH.js,
// with the runtime's options except that no property is renamed, and
// minifies its stylesheet into CSS, which the page inlines in a style
// element.
func BuildAdmin() (*Runtime, error) {
	return buildAdmin(sources)
}

func buildAdmin(fsys fs.FS) (*Runtime, error) {
	rt, err := build(fsys, AdminEntry, "admin", nil)
	if err != nil {
		return nil, err
	}
	css, err := fs.ReadFile(fsys, AdminStyle)
	if err != nil {
		return nil, fmt.Errorf("build admin: %w", err)
	}
	m := minify.New()
	m.AddFunc("text/css", mincss.Minify)
	if rt.CSS, err = m.Bytes("text/css", css); err != nil {
		return nil, fmt.Errorf("build admin: minify %s: %w", AdminStyle, err)
	}
	if rt.CSS == nil {
		rt.CSS = []byte{} // an empty stylesheet is still the admin's
	}
	// Inlined in <style>, it must not end that element.
	if bytes.Contains(bytes.ToLower(rt.CSS), []byte("</style")) {
		return nil, fmt.Errorf("build admin: %s contains </style", AdminStyle)
	}
	return rt, nil
}

// mangled are the runtime's own properties, which esbuild renames to short
// names (together about 130 bytes of gzip). Only names that no object from
// outside has may be listed: DOM and JS built-ins (find, all, mark, define,
// set, name), the manifest's JSON (apps, styles, fallback, base), app
// lifecycles (mount, unmount) and window.mfshell. build refuses a name
// that mfshell.d.ts declares; the e2e suite runs on the result.
var mangled = []string{
	// Shell (start and stop also of Router and the feed), and the Delegate
	// of the elements
	"byName", "router", "feed", "api", "routed", "cls", "uq", "running", "opts", "start", "stop",
	"connected", "disconnected", "defineAll", "show", "update",
	// App, its Impl and Options
	"state", "res", "pfx", "el", "want", "se", "reg", "impl", "live", "props", "root", "sr", "ph",
	"sheets", "doc", "retry", "sync", "life", "share", "portal", "query", "legacy", "booted",
	"loadTimeout", "lifecycleTimeout",
	// Res
	"snap", "added", "count", "release", "restore",
	// Router
	"owns", "go", "click",
}

// member matches a member of an interface in a .d.ts file: `  name?: T`,
// `  readonly name: T`, `  name(args): T`.
var member = regexp.MustCompile(`(?m)^\s+(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*[:(]`)

// checkMangled refuses to rename a property of the public surface,
// src/mfshell.d.ts (JSON of the manifest, props, window.mfshell, event
// details): renamed, the runtime would read or write another name than the
// server, apps and pages use.
func checkMangled(fsys fs.FS, mangle []string) error {
	dts, err := fs.ReadFile(fsys, "src/mfshell.d.ts")
	if err != nil {
		return nil // a test tree without the public types
	}
	public := map[string]bool{}
	for _, m := range member.FindAllSubmatch(dts, -1) {
		public[string(m[1])] = true
	}
	for _, n := range mangle {
		if public[n] {
			return fmt.Errorf("build runtime: property %q is public (mfshell.d.ts) and cannot be mangled", n)
		}
	}
	return nil
}

// build bundles entry from fsys into one file named prefix.HASH.js,
// renaming the properties named in mangle (none if it is empty).
func build(fsys fs.FS, entry, prefix string, mangle []string) (*Runtime, error) {
	mangleProps := ""
	if len(mangle) > 0 {
		if err := checkMangled(fsys, mangle); err != nil {
			return nil, err
		}
		mangleProps = "^(" + strings.Join(mangle, "|") + ")$"
	}
	what := "build " + entry
	if entry == Entry {
		what = "build runtime"
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{entry},
		Bundle:            true,
		Write:             false,
		Outdir:            "out",
		EntryNames:        prefix + ".[hash]",
		Format:            api.FormatESModule,
		Target:            api.ES2022,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		// The runtime's own properties, renamed to short names.
		MangleProps: mangleProps,
		// External: no sourceMappingURL comment in the bytes every page
		// loads; the server sends a SourceMap header instead.
		Sourcemap:     api.SourceMapExternal,
		SourceRoot:    "mfshell://shell-js/",
		LegalComments: api.LegalCommentsNone,
		Charset:       api.CharsetUTF8,
		LogLevel:      api.LogLevelSilent,
		Plugins:       []api.Plugin{embedPlugin(fsys)},
	})
	if len(res.Errors) > 0 {
		var msgs []string
		for _, m := range res.Errors {
			loc := ""
			if m.Location != nil {
				loc = fmt.Sprintf("%s:%d:%d: ", m.Location.File, m.Location.Line, m.Location.Column)
			}
			msgs = append(msgs, loc+m.Text)
		}
		return nil, fmt.Errorf("%s: %s", what, strings.Join(msgs, "; "))
	}
	rt := &Runtime{}
	for _, f := range res.OutputFiles {
		a := newAsset(path.Base(f.Path), f.Contents)
		if strings.HasSuffix(a.Name, ".map") {
			rt.SourceMap = a
		} else {
			rt.Script = a
		}
	}
	if rt.Script.Name == "" || rt.SourceMap.Name == "" {
		return nil, errors.New(what + ": esbuild wrote no script or no source map")
	}
	sum := sha512Sum384(rt.Script.Content)
	rt.Integrity = "sha384-" + base64.StdEncoding.EncodeToString(sum)
	return rt, nil
}

func newAsset(name string, content []byte) Asset {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // the level is valid
	zw.Write(content)
	zw.Close()
	h := sha256.Sum256(content)
	etag := `"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
	return Asset{
		Name:       name,
		Content:    content,
		Gzip:       gz.Bytes(),
		ETag:       etag,
		ETagHeader: []string{etag},
	}
}

// embedPlugin makes esbuild read sources from fsys: relative imports are
// resolved against the importer, trying the .ts extension and index.ts.
func embedPlugin(fsys fs.FS) api.Plugin {
	return api.Plugin{
		Name: "embed",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				p := path.Clean(args.Path)
				if args.Kind != api.ResolveEntryPoint {
					if !strings.HasPrefix(args.Path, "./") && !strings.HasPrefix(args.Path, "../") {
						return api.OnResolveResult{}, fmt.Errorf("import %q: the runtime has no dependencies; only relative imports are allowed", p)
					}
					p = path.Join(path.Dir(args.Importer), args.Path)
				}
				for _, c := range []string{p, p + ".ts", p + "/index.ts"} {
					if st, err := fs.Stat(fsys, c); err == nil && !st.IsDir() {
						return api.OnResolveResult{Path: c, Namespace: "embed"}, nil
					}
				}
				return api.OnResolveResult{}, fmt.Errorf("import %q from %s: not found", args.Path, args.Importer)
			})
			b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: "embed"}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				data, err := fs.ReadFile(fsys, args.Path)
				if err != nil {
					return api.OnLoadResult{}, err
				}
				s := string(data)
				loader := api.LoaderTS
				if strings.HasSuffix(args.Path, ".js") {
					loader = api.LoaderJS
				}
				return api.OnLoadResult{Contents: &s, Loader: loader}, nil
			})
		},
	}
}

func sha512Sum384(b []byte) []byte {
	s := sha512.Sum384(b)
	return s[:]
}
