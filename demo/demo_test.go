package demo

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

	// A module entry must export the single-spa lifecycles the shell calls.
	exportMountRE   = regexp.MustCompile(`(?m)^export\s+(async\s+)?function\s+mount\s*\(`)
	exportUnmountRE = regexp.MustCompile(`(?m)^export\s+(async\s+)?function\s+unmount\s*\(`)
	// A classic script must not use module syntax: it would not even parse.
	moduleSyntaxRE = regexp.MustCompile(`(?m)^\s*(import|export)\b`)
	templateIDRE   = regexp.MustCompile(`id="([^"]+)"`)
	// The demo works offline: no file may load anything from the network.
	// The SVG namespace is an identifier, not a fetch.
	remoteURLRE = regexp.MustCompile(`https?://`)
)

const svgNamespace = "http://www.w3.org/2000/svg"

// bundle is what a test knows about one folder apps/NAME/VERSION.
type bundle struct {
	entry  string            // the only top-level .js or .mjs file
	styles []string          // top-level .css files
	text   map[string]string // every file's contents, by name
}

// readBundle reads dir from FS and checks the rules every bundle follows.
func readBundle(t *testing.T, dir string) bundle {
	t.Helper()
	entries, err := fs.ReadDir(FS(), dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	b := bundle{text: map[string]string{}}
	var scripts []string
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("%s/%s: bundles here are flat, found a folder", dir, e.Name())
			continue
		}
		data, err := fs.ReadFile(FS(), path.Join(dir, e.Name()))
		if err != nil {
			t.Fatalf("read %s/%s: %v", dir, e.Name(), err)
		}
		text := string(data)
		b.text[e.Name()] = text
		switch path.Ext(e.Name()) {
		case ".js", ".mjs":
			scripts = append(scripts, e.Name())
		case ".css":
			b.styles = append(b.styles, e.Name())
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s/%s: stylesheet is empty", dir, e.Name())
			}
		}
		if m := remoteURLRE.FindAllStringIndex(strings.ReplaceAll(text, svgNamespace, ""), -1); len(m) > 0 {
			t.Errorf("%s/%s: refers to a remote URL (%d times); demo apps must work offline", dir, e.Name(), len(m))
		}
	}
	if len(scripts) != 1 {
		t.Fatalf("%s: want exactly one top-level .js/.mjs entry, got %q", dir, scripts)
	}
	b.entry = scripts[0]
	return b
}

func TestBundles(t *testing.T) {
	dirs, err := fs.Glob(FS(), "apps/*/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no bundles under apps/")
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			parts := strings.Split(dir, "/")
			if name := parts[1]; !nameRE.MatchString(name) {
				t.Errorf("app name %q does not match %s", name, nameRE)
			}
			if version := parts[2]; !versionRE.MatchString(version) || strings.Contains(version, "..") {
				t.Errorf("version %q does not match %s", version, versionRE)
			}
			readBundle(t, dir)
		})
	}
}

func TestApps(t *testing.T) {
	apps := Apps()
	routes := map[string]string{}
	names := map[string]bool{}
	for _, a := range apps {
		t.Run(a.Name, func(t *testing.T) {
			if !nameRE.MatchString(a.Name) {
				t.Errorf("name %q does not match %s", a.Name, nameRE)
			}
			if !versionRE.MatchString(a.Version) {
				t.Errorf("version %q does not match %s", a.Version, versionRE)
			}
			if names[a.Name] {
				t.Errorf("name %q listed twice", a.Name)
			}
			names[a.Name] = true
			if !strings.HasPrefix(a.Route, "/") {
				t.Errorf("route %q must start with /", a.Route)
			}
			if other, ok := routes[a.Route]; ok {
				t.Errorf("route %q is also %s's", a.Route, other)
			}
			routes[a.Route] = a.Name
			if want := path.Join("apps", a.Name, a.Version); a.Dir != want {
				t.Errorf("dir = %q, want %q", a.Dir, want)
			}
			if a.Isolation != "shadow" && a.Isolation != "scoped" && a.Isolation != "none" {
				t.Errorf("isolation = %q, want shadow, scoped or none", a.Isolation)
			}

			b := readBundle(t, a.Dir)
			src := b.text[b.entry]
			switch a.Format {
			case "module":
				if !exportMountRE.MatchString(src) || !exportUnmountRE.MatchString(src) {
					t.Errorf("%s: a module entry must export function mount and unmount", b.entry)
				}
				if a.Template != "" {
					t.Errorf("template = %q, want none for a module", a.Template)
				}
			case "script":
				if loc := moduleSyntaxRE.FindStringIndex(src); loc != nil {
					t.Errorf("%s: a classic script uses module syntax: %q", b.entry, src[loc[0]:loc[1]])
				}
				m := templateIDRE.FindStringSubmatch(a.Template)
				if m == nil {
					t.Fatalf("template = %q, want an element with an id for the legacy script", a.Template)
				}
				if !strings.Contains(src, "getElementById('"+m[1]+"')") {
					t.Errorf("%s does not render into its template's #%s", b.entry, m[1])
				}
			default:
				t.Errorf("format = %q, want module or script", a.Format)
			}
		})
	}

	// Every app folder in FS belongs to a listed app; otherwise it would be
	// published and never shown.
	folders, err := fs.Glob(FS(), "apps/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if !names[path.Base(f)] {
			t.Errorf("%s: no App lists it", f)
		}
	}
}

func TestAppsReturnsCopy(t *testing.T) {
	a := Apps()
	a[0].Version = "changed"
	if got := Apps()[0].Version; got == "changed" {
		t.Errorf("Apps()[0].Version = %q after a caller changed its copy", got)
	}
}
