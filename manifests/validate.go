package manifests

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on the size of a manifest's parts. They keep a manifest small
// enough to inline in every page and to fit the API's 1 MiB bodies.
const (
	MaxApps          = 500
	MaxRouteLen      = 256
	MaxPathLen       = 512
	MaxStyles        = 100
	MaxIntegrity     = 2000
	MaxTemplateBytes = 16 << 10
	MaxURLLen        = 2048
)

// Problem is one thing wrong with a manifest, at a field such as
// "apps.catalog.route".
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// ValidationError lists every problem found in a manifest or a request body,
// sorted by field. Callers map it to "400 Bad Request".
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// problems collects Problems; err returns nil when there are none.
type problems []Problem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b Problem) int { return strings.Compare(a.Field, b.Field) })
	return &ValidationError{Problems: sorted}
}

// Validate checks every rule of the manifest schema and returns a
// *ValidationError naming each problem, or nil.
func Validate(m *Manifest) error {
	var ps problems
	validateManifest(&ps, m)
	return ps.err()
}

// ValidateApp checks one app entry as [Validate] would inside a manifest.
func ValidateApp(name string, a App) error {
	var ps problems
	validateApp(&ps, "apps."+name, name, a)
	return ps.err()
}

func validateManifest(ps *problems, m *Manifest) {
	if m.Schema != SchemaVersion {
		ps.add("schema", "must be %d, got %d", SchemaVersion, m.Schema)
	}
	if m.Revision < 0 {
		ps.add("revision", "must not be negative, got %d", m.Revision)
	}
	if len(m.CDN) > MaxURLLen {
		ps.add("cdn", "must be at most %d characters, got %d", MaxURLLen, len(m.CDN))
	} else if m.CDN != "" && !strings.HasPrefix(m.CDN, "/") && !isHTTPURL(m.CDN) {
		ps.add("cdn", "must be a path starting with \"/\" or an http(s) URL, got %q", m.CDN)
	}
	if m.Apps == nil {
		ps.add("apps", "must be an object")
		return
	}
	if len(m.Apps) > MaxApps {
		ps.add("apps", "must hold at most %d apps, got %d", MaxApps, len(m.Apps))
	}
	routes := map[string]string{}
	for _, name := range m.Names() {
		a := m.Apps[name]
		validateApp(ps, "apps."+name, name, a)
		if a.Route == "" {
			continue
		}
		if other, ok := routes[a.Route]; ok {
			ps.add("apps."+name+".route", "%q is already the route of app %q", a.Route, other)
			continue
		}
		routes[a.Route] = name
	}
}

func validateApp(ps *problems, at, name string, a App) {
	if err := CheckName(name); err != nil {
		ps.add(at, "bad app name: %v", err)
	}
	if err := CheckVersion(a.Version); err != nil {
		ps.add(at+".version", "%v", err)
	}
	if err := checkRoute(a.Route); err != nil {
		ps.add(at+".route", "%v", err)
	}
	switch a.Format {
	case FormatModule, FormatScript, FormatHTML:
	default:
		ps.add(at+".format", "must be %q, %q or %q, got %q", FormatModule, FormatScript, FormatHTML, a.Format)
	}
	switch a.Isolation {
	case IsolationShadow, IsolationScoped, IsolationNone:
	default:
		ps.add(at+".isolation", "must be %q, %q or %q, got %q", IsolationShadow, IsolationScoped, IsolationNone, a.Isolation)
	}
	if len(a.Template) > MaxTemplateBytes {
		ps.add(at+".template", "must be at most %d bytes, got %d", MaxTemplateBytes, len(a.Template))
	} else if !utf8.ValidString(a.Template) {
		ps.add(at+".template", "must be valid UTF-8")
	}
	if a.Fragment != "" {
		if err := checkHTTPURL(a.Fragment); err != nil {
			ps.add(at+".fragment", "%v", err)
		}
	}
	if a.Format == FormatHTML {
		if a.Fragment == "" {
			ps.add(at+".fragment", "is required for format %q", FormatHTML)
		}
		if a.Entry != "" || len(a.Styles) > 0 || len(a.Integrity) > 0 {
			ps.add(at, "format %q has no bundle: entry, styles and integrity must be empty", FormatHTML)
		}
	} else {
		validateBundle(ps, at, a.Entry, a.Styles, a.Integrity)
	}
	if c := a.Canary; c != nil {
		at := at + ".canary"
		if err := CheckVersion(c.Version); err != nil {
			ps.add(at+".version", "%v", err)
		} else if c.Version == a.Version {
			ps.add(at+".version", "must differ from the live version %q", a.Version)
		}
		if c.Percent < 1 || c.Percent > 99 {
			ps.add(at+".percent", "must be between 1 and 99, got %d", c.Percent)
		}
		if !(c.MaxErrorRate >= 0 && c.MaxErrorRate <= 1) {
			ps.add(at+".maxErrorRate", "must be between 0 and 1, got %v", c.MaxErrorRate)
		}
		if c.MinMounts < 0 || c.MinMounts > 1_000_000_000 {
			ps.add(at+".minMounts", "must be between 0 and 1000000000, got %d", c.MinMounts)
		}
		if a.Format != FormatHTML {
			validateBundle(ps, at, c.Entry, c.Styles, c.Integrity)
		}
	}
}

// validateBundle checks the files of a bundle: every file the shell loads
// has an integrity value, so that no bundle runs unchecked.
func validateBundle(ps *problems, at, entry string, styles []string, integrity map[string]string) {
	if entry == "" {
		ps.add(at+".entry", "is required for a bundle")
	} else if err := CheckFilePath(entry); err != nil {
		ps.add(at+".entry", "%v", err)
	} else if _, ok := integrity[entry]; !ok {
		ps.add(at+".integrity", "has no value for the entry %q", entry)
	}
	if len(styles) > MaxStyles {
		ps.add(at+".styles", "must list at most %d files, got %d", MaxStyles, len(styles))
	}
	seen := map[string]bool{}
	for i, s := range styles {
		switch err := CheckFilePath(s); {
		case err != nil:
			ps.add(fmt.Sprintf("%s.styles[%d]", at, i), "%v", err)
		case !strings.HasSuffix(s, ".css"):
			ps.add(fmt.Sprintf("%s.styles[%d]", at, i), "must be a .css file, got %q", s)
		case seen[s]:
			ps.add(fmt.Sprintf("%s.styles[%d]", at, i), "%q is listed twice", s)
		default:
			if _, ok := integrity[s]; !ok {
				ps.add(at+".integrity", "has no value for the stylesheet %q", s)
			}
		}
		seen[s] = true
	}
	if len(integrity) > MaxIntegrity {
		ps.add(at+".integrity", "must hold at most %d files, got %d", MaxIntegrity, len(integrity))
		return
	}
	for _, file := range slices.Sorted(maps.Keys(integrity)) {
		if err := CheckFilePath(file); err != nil {
			ps.add(at+".integrity", "bad file name: %v", err)
		} else if err := CheckSRI(integrity[file]); err != nil {
			ps.add(at+".integrity["+file+"]", "%v", err)
		}
	}
}

// reservedRoutes are the server's own paths, which no app may take.
var reservedRoutes = []string{"/_mfshell", "/api", "/cdn", "/healthz", "/readyz", "/metrics"}

// checkRoute accepts "" (not routed) or a clean absolute URL path.
func checkRoute(r string) error {
	if r == "" {
		return nil
	}
	switch {
	case len(r) > MaxRouteLen:
		return fmt.Errorf("must be at most %d characters, got %d", MaxRouteLen, len(r))
	case r[0] != '/':
		return fmt.Errorf("must start with \"/\", got %q", r)
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(isAlnum(c) || strings.IndexByte("/-._~", c) >= 0) {
			return fmt.Errorf("may contain only letters, digits and \"/-._~\", got %q", r)
		}
	}
	if path.Clean(r) != r {
		return fmt.Errorf("must be a clean path (no trailing \"/\", \"//\", \".\" or \"..\"), got %q", r)
	}
	for _, p := range reservedRoutes {
		if r == p || strings.HasPrefix(r, p+"/") {
			return fmt.Errorf("%q is reserved for the server's own %s/ paths", r, p)
		}
	}
	return nil
}

// CheckFilePath returns nil if p is a clean relative path of a file inside a
// bundle, such as "main.js" or "chunks/a.js", and otherwise says why not.
func CheckFilePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("must not be empty")
	case len(p) > MaxPathLen:
		return fmt.Errorf("must be at most %d characters, got %d", MaxPathLen, len(p))
	case !utf8.ValidString(p):
		return fmt.Errorf("must be valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("must be relative, got %q", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' || r == '?' || r == '#' {
			return fmt.Errorf("must not contain control characters, '\\', '?' or '#', got %q", p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("must be a clean path without empty, \".\" or \"..\" segments, got %q", p)
		}
	}
	return nil
}

// CheckSRI returns nil if s is a sha384 Subresource Integrity value:
// "sha384-" followed by the standard base64 of a 48-byte digest.
func CheckSRI(s string) error {
	b64, ok := strings.CutPrefix(s, "sha384-")
	if !ok {
		return fmt.Errorf("must start with \"sha384-\", got %.80q", s)
	}
	d, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(d) != 48 {
		return fmt.Errorf("must be \"sha384-\" and the base64 of 48 bytes, got %.80q", s)
	}
	return nil
}

func isHTTPURL(s string) bool { return checkHTTPURL(s) == nil }

func checkHTTPURL(s string) error {
	if len(s) > MaxURLLen {
		return fmt.Errorf("must be at most %d characters, got %d", MaxURLLen, len(s))
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("must be an absolute http(s) URL without user info, got %.100q", s)
	}
	return nil
}
