package server

// Dev overrides: on a --dev server only, ?mfshell-override=APP@URL[,…]
// makes one browser load APP from a developer's dev server instead of the
// CDN, unsigned and unchecked, so that a local build runs inside the real
// shell. Anyone who gets a browser to open such a link runs their code in
// the shell: never in production.

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mfshell/mfshell/manifests"
)

const (
	// devCookiePrefix starts the cookie value of a dev override, which no
	// signed token does (a token is base64url with one ".").
	devCookiePrefix = "dev:"
	// maxDevOverrideBytes bounds a dev override as the link gives it, so
	// that its cookie (base64url, 4/3 of it) fits in a browser's 4 KiB.
	maxDevOverrideBytes = 2048
	// maxDevApps bounds the apps of one dev override.
	maxDevApps = 20
	// devVersion is the version the public manifest gives an app under a
	// dev override.
	devVersion = "dev"
)

// devApp is one app of a dev override: the URL of its entry on a dev
// server, split into the folder its files are loaded from and the entry's
// file name.
type devApp struct {
	app    string
	origin string // "http://localhost:5173"
	base   string // "http://localhost:5173/src/"
	entry  string // "main.js"
}

// url is the URL of the app's entry.
func (d devApp) url() string { return d.base + d.entry }

// parseDevOverride returns the apps of v, a dev override as a link gives
// it: APP@URL, comma-separated, each APP an app of m that has a bundle (at
// most once) and each URL a plain absolute http(s) URL of a file (see
// parseDevURL). The apps are sorted by name.
func parseDevOverride(v string, m *manifests.Manifest) ([]devApp, error) {
	if len(v) > maxDevOverrideBytes {
		return nil, fmt.Errorf("dev override of %d bytes: at most %d", len(v), maxDevOverrideBytes)
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxDevApps {
		return nil, fmt.Errorf("dev override of %d apps: at most %d", len(parts), maxDevApps)
	}
	apps := make([]devApp, 0, len(parts))
	for _, p := range parts {
		name, raw, ok := strings.Cut(p, "@")
		if !ok {
			return nil, fmt.Errorf("%q: want APP@URL, such as catalog@http://localhost:5173/src/main.js", p)
		}
		a, ok := m.Apps[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("no app %q", name)
		case !a.HasBundle():
			return nil, fmt.Errorf("app %q has no bundle to load from a dev server", name)
		case slices.ContainsFunc(apps, func(d devApp) bool { return d.app == name }):
			return nil, fmt.Errorf("app %q given twice", name)
		}
		d, err := parseDevURL(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d.app = name
		apps = append(apps, d)
	}
	slices.SortFunc(apps, func(a, b devApp) int { return strings.Compare(a.app, b.app) })
	if n := len(devOverrideValue(apps)); n > maxDevOverrideBytes {
		return nil, fmt.Errorf("dev override of %d bytes once escaped: at most %d", n, maxDevOverrideBytes)
	}
	return apps, nil
}

// parseDevURL splits raw, the URL of an entry on a dev server. It takes
// only an absolute http or https URL of a file, without credentials,
// query, fragment or dot segments, whose host is a DNS name or an IP
// address and whose path has only the characters of RFC 3986: its origin
// goes into the page's CSP header and its URL into the page as they are.
func parseDevURL(raw string) (devApp, error) {
	const want = "want the http(s) URL of a file, such as http://localhost:5173/src/main.js"
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.Host == "":
		return devApp{}, errors.New(want)
	case u.User != nil:
		return devApp{}, errors.New("credentials in the URL")
	case strings.ContainsAny(raw, "?#"):
		return devApp{}, errors.New("a query or fragment in the URL")
	case !validHost(u.Hostname(), u.Port(), u.Host):
		return devApp{}, errors.New("want a host name or IP address, and a port of digits")
	}
	p := u.EscapedPath()
	i := strings.LastIndexByte(p, '/')
	if i < 0 || i == len(p)-1 {
		return devApp{}, errors.New(want)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		// Browsers take "%2e" for "." in a path too.
		if d, _ := url.PathUnescape(seg); seg == "" || d == "." || d == ".." {
			return devApp{}, errors.New("empty or dot segments in the URL's path")
		}
	}
	for _, c := range p {
		if !isPathChar(c) {
			return devApp{}, fmt.Errorf("character %q in the URL's path", c)
		}
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	return devApp{origin: origin, base: origin + p[:i+1], entry: p[i+1:]}, nil
}

// validHost reports whether host (u.Hostname) is a DNS name or an IP
// address, port (u.Port) a port number or none, and hostport (u.Host)
// nothing more.
func validHost(host, port, hostport string) bool {
	if host == "" || strings.HasSuffix(hostport, ":") {
		return false
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return false
	}
	ipv6 := strings.HasPrefix(hostport, "[")
	for _, c := range strings.ToLower(host) {
		ok := c >= '0' && c <= '9' || c == '.' ||
			!ipv6 && (c >= 'a' && c <= 'z' || c == '-') ||
			ipv6 && (c >= 'a' && c <= 'f' || c == ':')
		if !ok {
			return false
		}
	}
	return !strings.ContainsFunc(port, func(c rune) bool { return c < '0' || c > '9' })
}

// isPathChar reports whether c may be in a dev URL's path as it is: the
// unreserved characters, "%" of an escape, "/" and the sub-delimiters
// of RFC 3986 but ",", which separates apps.
func isPathChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.ContainsRune("-._~%/!$&'()*+;=:@", c)
}

// devOverrideValue is the dev override of apps as a link gives it; apps
// from parseDevOverride give the same apps back.
func devOverrideValue(apps []devApp) string {
	parts := make([]string, len(apps))
	for i, d := range apps {
		parts[i] = d.app + "@" + d.url()
	}
	return strings.Join(parts, ",")
}

// devCookieValue is the cookie value that keeps the dev override apps:
// base64url, so that any URL is a valid cookie value.
func devCookieValue(apps []devApp) string {
	return devCookiePrefix + base64.RawURLEncoding.EncodeToString([]byte(devOverrideValue(apps)))
}

// parseDevCookie returns the apps of a dev override's cookie value.
func parseDevCookie(v string, m *manifests.Manifest) ([]devApp, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, devCookiePrefix))
	if err != nil {
		return nil, errors.New("dev override cookie malformed")
	}
	return parseDevOverride(string(raw), m)
}

// devOverridden returns the variant of sn for bucket with the dev override
// apps applied, for one request: each app's files come from its dev
// server, unchecked (integrity ""), with no fallback, since a developer
// must see their build fail; the page's CSP allows the dev servers.
func (s *Server) devOverridden(sn *snapshot, bucket int, apps []devApp) (*variant, error) {
	m := resolve(sn.record.Manifest, bucket)
	bases := map[string]string{}
	var names, origins []string
	for _, d := range apps {
		a, ok := m.Apps[d.app]
		if !ok {
			continue // removed since: nothing to override
		}
		a.Version, a.Entry, a.Styles, a.Integrity = devVersion, d.entry, []string{}, map[string]string{d.entry: ""}
		m.Apps[d.app] = a
		bases[d.app] = d.base
		names = append(names, d.app+" from "+d.url())
		if !slices.Contains(origins, d.origin) {
			origins = append(origins, d.origin)
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(names, ",")))
	tag := `"` + strconv.FormatInt(sn.revision, 10) + "-d" + base64.RawURLEncoding.EncodeToString(sum[:9]) + `"`
	fallback := sn.fallbacksOf(sn.record.Manifest)
	v, err := s.newVariant(m, tag, overrideBadge("Unsigned dev override: "+strings.Join(names, ", ")), bases,
		func(name string, a manifests.App) *publicFallback {
			if _, dev := bases[name]; dev {
				return nil
			}
			return fallback(name, a)
		})
	if err != nil {
		return nil, err
	}
	v.sources = origins
	return v, nil
}

// wsOrigin returns the WebSocket form of an http(s) origin: a dev
// server's hot reload connects to it.
func wsOrigin(origin string) string {
	if rest, ok := strings.CutPrefix(origin, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(origin, "http://")
}
