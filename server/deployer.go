package server

// The import-map-deployer API: the requests that the CI scripts of
// single-spa's import-map-deployer send, under /api/v1/import-map-deployer/,
// mapped onto mfshell releases with mfshell's tokens, validation, history
// and compare-and-swap, so that a pipeline built for that tool switches by
// changing its base URL and its password:
//
//	PATCH  services?env=ENV  {"service": "catalog", "url": "https://shell.example/cdn/catalog/1.1.0/main.js"}
//	DELETE services/NAME?env=ENV
//	PATCH  import-map.json?env=ENV  {"imports": {"catalog": URL, "home": URL}}
//	GET    import-map.json?env=ENV
//	GET    environments
//	GET    health (no authentication, as in the tool)
//
// Writes answer the live import map after the write, as the tool does
// ({"imports": …, "integrity": …}), and mfshell's "revision" and
// "changed" besides. Differences from the tool, each refused with a clear
// error rather than done differently:
//
//   - A service is an mfshell app of format module that exists already
//     (create it with PUT /api/v1/apps/NAME); names are mfshell's.
//   - A URL must be that of the entry of a published version of that app
//     on this server's CDN (see parseBundleURL): a release is a version,
//     whose files, styles and integrity come from its asset manifest. So
//     ?skip_url_check is accepted and ignored (mfshell checks its CDN
//     store, not the network), and so is ?packageDirLevel: mfshell's
//     "NAME/" import is always the version's folder.
//   - One server has one manifest, environment "default": ?env= anything
//     else is refused (deploy to that environment's own server).
//   - An "integrity" given with a URL is checked against the published
//     file's, never stored: mfshell computes integrity from the CDN.
//   - DELETE of an app that does not exist is a 404, as DELETE
//     /api/v1/apps/NAME.
//
// Authentication: mfshell's bearer tokens, or HTTP basic auth whose
// password is an mfshell token and whose username is ignored (the history
// names the token), as the tool's clients send it (IMD_USERNAME,
// IMD_PASSWORD). A token of a team may change only its apps, as for PATCH
// /api/v1/apps/NAME.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/manifests"
)

// deployerPrefix is where the import-map-deployer API is.
const deployerPrefix = "/api/v1/import-map-deployer"

// Bounds of one request of the deployer API.
const (
	maxBundleURLLen  = 2048 // bytes of a URL
	maxDeployImports = 1000 // entries of "imports", and of "integrity"
	maxDeployLookups = 100  // distinct versions whose asset manifest is read
)

// deployerRoutes registers the import-map-deployer API on r. Call it before
// the /api/v1 subrouter, which would take these paths: its routes have
// their own middleware, basic auth then mfshell's bearer tokens.
func (s *Server) deployerRoutes(r *mux.Router) {
	r.Handle(deployerPrefix+"/health", s.instrument("api.imd.health", getOnly(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "mfshell's import-map-deployer API is running"})
	})))
	d := r.PathPrefix(deployerPrefix).Subrouter()
	d.Use(s.basicAuth, s.authenticate)
	route := func(path, name string, byMethod map[string]handlerFunc) {
		d.Handle(path, s.instrument(name, s.handle(methods(byMethod))))
	}
	route("/services", "api.imd.services", map[string]handlerFunc{"PATCH": s.handleDeployService})
	route("/services/{name}", "api.imd.service", map[string]handlerFunc{"DELETE": s.handleUndeployService})
	route("/import-map.json", "api.imd.importmap", map[string]handlerFunc{"GET": s.handleDeployerImportMap, "PATCH": s.handlePatchImportMap})
	route("/environments", "api.imd.environments", map[string]handlerFunc{"GET": s.handleDeployerEnvironments})
	d.NotFoundHandler = s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "no such import-map-deployer endpoint: "+r.Method+" "+r.URL.Path+
			": there are PATCH services, DELETE services/NAME, GET and PATCH import-map.json, GET environments and GET health")
	})
}

// basicAuth lets a request authenticate with HTTP basic auth, as
// import-map-deployer's clients do: the password is an mfshell token,
// passed on as a bearer token to authenticate; the username is ignored.
// Every 401 also carries a Basic challenge, for clients that send their
// credentials only when challenged.
func (s *Server) basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = basicChallenge{w}
		auth := r.Header.Get("Authorization")
		if len(auth) >= 6 && strings.EqualFold(auth[:6], "basic ") {
			_, password, ok := r.BasicAuth()
			switch {
			case !ok:
				writeError(w, r, s.Logger, errorf(http.StatusUnauthorized, "malformed basic auth: want base64 of USERNAME:TOKEN"))
				return
			case password == "":
				writeError(w, r, s.Logger, errorf(http.StatusUnauthorized, "basic auth without a password: the password must be an mfshell token"))
				return
			}
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+password)
		} else if auth == "" {
			writeError(w, r, s.Logger, errorf(http.StatusUnauthorized, "missing credentials: send Authorization: Bearer TOKEN, or basic auth with an mfshell token as the password"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// basicChallenge adds a Basic challenge to a 401 response.
type basicChallenge struct{ http.ResponseWriter }

func (w basicChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		w.Header().Add("WWW-Authenticate", `Basic realm="mfshell", charset="UTF-8"`)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w basicChallenge) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkEnv refuses an environment other than the one this server has.
func checkEnv(r *http.Request) error {
	for _, env := range r.URL.Query()["env"] {
		if env != "" && env != "default" {
			return errorf(http.StatusBadRequest, fmt.Sprintf("env %.40q: this mfshell server has one manifest, environment \"default\": deploy to the mfshell server of %.40q, or leave env out", env, env))
		}
	}
	return nil
}

// withReason returns r with reason as its Mfshell-Reason unless it has one.
func withReason(r *http.Request, reason string) *http.Request {
	if r.Header.Get("Mfshell-Reason") != "" {
		return r
	}
	r = r.Clone(r.Context())
	r.Header.Set("Mfshell-Reason", reason)
	return r
}

// deployerAnswer is the answer to a write: the live import map after it,
// as import-map-deployer answers, and mfshell's revision.
type deployerAnswer struct {
	importMap
	Revision int64 `json:"revision"`
	Changed  bool  `json:"changed"`
}

// deploy applies change, with reason unless the request gives one, and
// answers as the tool does: the live import map after the write.
func (s *Server) deploy(w http.ResponseWriter, r *http.Request, reason string, change func(*manifests.Manifest) error) error {
	rec, changed, err := s.apply(withReason(r, reason), change)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+strconv.FormatInt(rec.Revision, 10)+`"`)
	writeJSON(w, http.StatusOK, deployerAnswer{importMap: s.stableImportMap(rec.Manifest), Revision: rec.Revision, Changed: changed})
	return nil
}

// handleDeployerImportMap answers GET import-map.json with the live import
// map: every app at its live version, canaries and overrides aside, with
// the revision as ETag (for If-Match). Its JSON is that of
// /_mfshell/importmap.json, so it can be sent back by PATCH import-map.json.
func (s *Server) handleDeployerImportMap(w http.ResponseWriter, r *http.Request) error {
	if err := checkEnv(r); err != nil {
		return err
	}
	rec, err := s.Manifests.Current(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+strconv.FormatInt(rec.Revision, 10)+`"`)
	writeJSON(w, http.StatusOK, s.stableImportMap(rec.Manifest))
	return nil
}

// handleDeployerEnvironments answers GET environments: the one there is.
func (s *Server) handleDeployerEnvironments(w http.ResponseWriter, r *http.Request) error {
	type environment struct {
		Name      string   `json:"name"`
		Aliases   []string `json:"aliases"`
		IsDefault bool     `json:"isDefault"`
	}
	writeJSON(w, http.StatusOK, map[string][]environment{"environments": {{Name: "default", Aliases: []string{}, IsDefault: true}}})
	return nil
}

// checkService refuses a service name that is not an mfshell app name, or
// that of an app the request's token may not change.
func checkService(r *http.Request, name string) error {
	if err := manifests.CheckName(name); err != nil {
		return errorf(http.StatusBadRequest, fmt.Sprintf("service %.60q is not an mfshell app name: %v", name, err))
	}
	return allow(r, name)
}

// handleDeployService answers PATCH services {"service": NAME, "url": URL}:
// a release of the version whose entry URL is, as PATCH /api/v1/apps/NAME
// {"version": VERSION} would do it.
func (s *Server) handleDeployService(w http.ResponseWriter, r *http.Request) error {
	if err := checkEnv(r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Service   *string `json:"service"`
		URL       *string `json:"url"`
		Integrity *string `json:"integrity"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	switch {
	case req.Service == nil:
		return errorf(http.StatusBadRequest, `"service" is missing: send {"service": "NAME", "url": "URL of its entry on the CDN"}`)
	case req.URL == nil:
		return errorf(http.StatusBadRequest, `"url" is missing: send {"service": "NAME", "url": "URL of its entry on the CDN"}`)
	}
	name := *req.Service
	if err := checkService(r, name); err != nil {
		return err
	}
	if p := appProblem(s.snap.Load().record.Manifest, name); p != nil {
		return p
	}
	ams := &assetManifests{s: s}
	rel, err := s.releaseOf(r, name, *req.URL, ams)
	if err != nil {
		return err
	}
	if req.Integrity != nil && *req.Integrity != rel.entrySRI {
		return errorf(http.StatusBadRequest, fmt.Sprintf("integrity %.120q is not that of %s as published (%s): leave it out, mfshell takes it from the CDN", *req.Integrity, *req.URL, rel.entrySRI))
	}
	return s.deploy(w, r, "import-map-deployer: PATCH services", func(m *manifests.Manifest) error {
		return problemsError(releaseApps(m, []*release{rel}))
	})
}

// handleUndeployService answers DELETE services/NAME (URI-encoded, as the
// tool's clients send it): the app's removal, as DELETE /api/v1/apps/NAME.
func (s *Server) handleUndeployService(w http.ResponseWriter, r *http.Request) error {
	if err := checkEnv(r); err != nil {
		return err
	}
	name, err := url.PathUnescape(mux.Vars(r)["name"])
	if err != nil {
		return errorf(http.StatusBadRequest, fmt.Sprintf("service %.60q: malformed URI encoding", mux.Vars(r)["name"]))
	}
	if err := checkService(r, name); err != nil {
		return err
	}
	return s.deploy(w, r, "import-map-deployer: DELETE services/"+name, removeApp(name))
}

// handlePatchImportMap answers PATCH import-map.json {"imports": {NAME:
// URL, …}, "integrity": {URL: SRI, …}}: a release of each app, as PATCH
// services, all in one revision, or nothing at all if any entry is bad:
// the error then lists every problem.
//
// An import "NAME/" (import-map-deployer writes one beside each service,
// and a client may send back the map it read) is accepted and changes
// nothing if its URL is the folder of NAME's version after this request
// (mfshell writes that import itself); any other is refused, since
// mfshell's import map cannot point it elsewhere. "integrity" entries are
// checked against the CDN (a URL of a published file, its integrity) and
// change nothing. "scopes" must be absent or empty: mfshell's import map
// has none.
func (s *Server) handlePatchImportMap(w http.ResponseWriter, r *http.Request) error {
	if err := checkEnv(r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Imports   map[string]json.RawMessage `json:"imports"`
		Scopes    map[string]json.RawMessage `json:"scopes"`
		Integrity map[string]json.RawMessage `json:"integrity"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	switch {
	case len(req.Scopes) > 0:
		return errorf(http.StatusBadRequest, `"scopes": mfshell's import map has no scopes; send "imports" only`)
	case len(req.Imports) == 0:
		return errorf(http.StatusBadRequest, `"imports" is missing or empty: send {"imports": {"NAME": "URL of its entry on the CDN"}}`)
	case len(req.Imports) > maxDeployImports || len(req.Integrity) > maxDeployImports:
		return errorf(http.StatusBadRequest, fmt.Sprintf(`"imports" and "integrity" may have at most %d entries each`, maxDeployImports))
	}
	// The token's scope first: a team token may not name another team's
	// app, even to leave it as it is.
	id := identity(r)
	var forbidden []string
	for _, key := range slices.Sorted(maps.Keys(req.Imports)) {
		name := strings.TrimSuffix(key, "/")
		if manifests.CheckName(name) == nil && !id.Allowed(name) && !slices.Contains(forbidden, name) {
			forbidden = append(forbidden, name)
		}
	}
	if len(forbidden) > 0 {
		return errorf(http.StatusForbidden, "token "+quote(id.Name)+" may not change app "+strings.Join(forbidden, ", "))
	}

	live := s.snap.Load().record.Manifest
	ams := &assetManifests{s: s}
	var pre []deployProblem  // problems found before the edit
	bad := map[string]bool{} // apps whose import has a problem
	var rels []*release
	folders := map[string]string{} // NAME → the URL of import "NAME/"
	for _, key := range slices.Sorted(maps.Keys(req.Imports)) {
		field := fmt.Sprintf("imports[%.60q]", key)
		var u string
		if err := json.Unmarshal(req.Imports[key], &u); err != nil {
			pre = append(pre, deployProblem{http.StatusBadRequest, field, "must be a string, the URL of the entry of a published version"})
			continue
		}
		name, folder := strings.CutSuffix(key, "/")
		if err := manifests.CheckName(name); err != nil {
			pre = append(pre, deployProblem{http.StatusBadRequest, field, fmt.Sprintf("not an mfshell app name (%v): mfshell's import map has its apps only", err)})
			continue
		}
		if folder {
			folders[name] = u
			continue
		}
		if p := appProblem(live, name); p != nil {
			pre, bad[name] = append(pre, deployProblem{p.Status, field, p.Message}), true
			continue
		}
		rel, err := s.releaseOf(r, name, u, ams)
		var e *Error
		switch {
		case errors.As(err, &e):
			pre, bad[name] = append(pre, deployProblem{e.Status, field, e.Message}), true
		case err != nil:
			return err
		default:
			rel.field = field
			rels = append(rels, rel)
		}
	}
	for _, u := range slices.Sorted(maps.Keys(req.Integrity)) {
		field := fmt.Sprintf("integrity[%.200q]", u)
		var sri string
		if err := json.Unmarshal(req.Integrity[u], &sri); err != nil {
			pre = append(pre, deployProblem{http.StatusBadRequest, field, "must be a string, such as \"sha384-…\""})
			continue
		}
		msg, err := s.checkIntegrity(r, u, sri, ams)
		if err != nil {
			return err
		}
		if msg != "" {
			pre = append(pre, deployProblem{http.StatusBadRequest, field, msg})
		}
	}

	return s.deploy(w, r, "import-map-deployer: PATCH import-map.json", func(m *manifests.Manifest) error {
		ps := append(slices.Clone(pre), releaseApps(m, rels)...)
		for _, name := range slices.Sorted(maps.Keys(folders)) {
			if bad[name] {
				continue // one problem per app is enough
			}
			field := fmt.Sprintf("imports[%.60q]", name+"/")
			if p := appProblem(m, name); p != nil {
				ps = append(ps, deployProblem{p.Status, field, p.Message})
				continue
			}
			a := m.Apps[name]
			want := s.bundleURL(name, a.Version, "")
			app, version, file, err := parseBundleURL(folders[name], s.CDNURL, r.Host)
			if err != nil || app != name || version != a.Version || file != "" {
				ps = append(ps, deployProblem{http.StatusBadRequest, field, fmt.Sprintf(
					"%.200q is not the folder of %s@%s, %s: mfshell writes this import itself; leave it out, or give that folder", folders[name], name, a.Version, want)})
			}
		}
		return problemsError(ps)
	})
}

// release is a version of an app to make live, and its files.
type release struct {
	app, version string
	b            *bundle
	entrySRI     string // the integrity of the entry
	field        string // where the request gave it: "" for PATCH services
}

// releaseOf checks that u, from a client, is the URL of the entry of a
// published version of app on this server's CDN, and returns that release.
// Its errors for the client are *Error.
func (s *Server) releaseOf(r *http.Request, app, u string, ams *assetManifests) (*release, error) {
	uApp, version, file, err := parseBundleURL(u, s.CDNURL, r.Host)
	switch {
	case err != nil:
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf("url %.200q %v", u, err))
	case file == "":
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf("url %.200q is a folder: give the URL of the entry of %s@%s", u, uApp, version))
	case uApp != app:
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf("url %.200q is a file of app %q, not of %q", u, uApp, app))
	}
	am, err := ams.get(r.Context(), app, version)
	if err != nil {
		return nil, err
	}
	if file != am.Entry {
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf("url %.200q names %s, which is not the entry of %s@%s: its entry is %s", u, file, app, version, s.bundleURL(app, version, am.Entry)))
	}
	b := &bundle{entry: am.Entry, styles: slices.Clone(am.Styles), integrity: am.LoadedIntegrity()}
	if b.styles == nil {
		b.styles = []string{}
	}
	return &release{app: app, version: version, b: b, entrySRI: am.Files[am.Entry].Integrity}, nil
}

// checkIntegrity checks an "integrity" entry of a client's import map: u
// must be a published file on the CDN, and sri its integrity. It returns
// what is wrong, or "".
func (s *Server) checkIntegrity(r *http.Request, u, sri string, ams *assetManifests) (string, error) {
	app, version, file, err := parseBundleURL(u, s.CDNURL, r.Host)
	switch {
	case err != nil:
		return fmt.Sprintf("the URL %v", err), nil
	case file == "":
		return "the URL is a folder, not a file", nil
	}
	am, err := ams.get(r.Context(), app, version)
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Message, nil
	case err != nil:
		return "", err
	}
	f, ok := am.Files[file]
	switch {
	case !ok:
		return fmt.Sprintf("%s@%s has no file %q", app, version, file), nil
	case sri != f.Integrity:
		return fmt.Sprintf("%.120q is not the integrity of the published file, %s: leave it out, mfshell takes it from the CDN", sri, f.Integrity), nil
	}
	return "", nil
}

// assetManifests reads the asset manifests of one request, each once, and
// at most maxDeployLookups of them.
type assetManifests struct {
	s   *Server
	got map[string]*cdn.AssetManifest // by APP@VERSION; nil: not published
}

// get returns the asset manifest of app@version, or a 409 *Error if it is
// not published.
func (a *assetManifests) get(ctx context.Context, app, version string) (*cdn.AssetManifest, error) {
	key := app + "@" + version
	am, ok := a.got[key]
	if !ok {
		if len(a.got) >= maxDeployLookups {
			return nil, errorf(http.StatusBadRequest, fmt.Sprintf("more than %d versions in one request", maxDeployLookups))
		}
		var err error
		am, err = cdn.ReadAssetManifest(ctx, a.s.CDN, app, version)
		switch {
		case errors.Is(err, cdn.ErrNotExist):
			am = nil
		case err != nil:
			return nil, err
		}
		if a.got == nil {
			a.got = map[string]*cdn.AssetManifest{}
		}
		a.got[key] = am
	}
	if am == nil {
		return nil, errorf(http.StatusConflict, fmt.Sprintf("version %s of %s is not published on the CDN: publish it first (mfshell publish), then deploy the URL of its entry", version, app))
	}
	return am, nil
}

// appProblem returns why the deployer API cannot release app in m, or nil:
// it must exist and be a module app.
func appProblem(m *manifests.Manifest, app string) *Error {
	a, ok := m.Apps[app]
	switch {
	case !ok:
		return errorf(http.StatusNotFound, fmt.Sprintf("no app %q: create it first with PUT /api/v1/apps/%s", app, app))
	case a.Format != manifests.FormatModule:
		return errorf(http.StatusBadRequest, fmt.Sprintf("app %q is a %s app: the import-map deployer API releases module apps only; use PATCH /api/v1/apps/%s", app, a.Format, app))
	}
	return nil
}

// releaseApps makes each release live in m, as PATCH /api/v1/apps/NAME
// {"version": VERSION} does with a published version: the version's entry,
// styles and integrity from its asset manifest, its canary promoted if it
// is that version. It returns the problems of the releases it could not
// make.
func releaseApps(m *manifests.Manifest, rels []*release) []deployProblem {
	var ps []deployProblem
	for _, rel := range rels {
		if p := appProblem(m, rel.app); p != nil {
			ps = append(ps, deployProblem{p.Status, rel.field, p.Message})
			continue
		}
		next := manifests.Patch{Version: &rel.version}.Apply(m.Apps[rel.app])
		next.Entry, next.Styles, next.Integrity = rel.b.entry, slices.Clone(rel.b.styles), maps.Clone(rel.b.integrity)
		m.Apps[rel.app] = next
	}
	return ps
}

// deployProblem is one thing wrong with a request of the deployer API, at
// a field of its body, and the status it would have alone.
type deployProblem struct {
	status  int
	field   string
	message string
}

// problemsError returns nil for no problem, one problem as an *Error with
// its own status, and several as a *manifests.ValidationError listing all (400).
func problemsError(ps []deployProblem) error {
	switch len(ps) {
	case 0:
		return nil
	case 1:
		return errorf(ps[0].status, manifests.Problem{Field: ps[0].field, Message: ps[0].message}.String())
	}
	out := make([]manifests.Problem, len(ps))
	for i, p := range ps {
		out[i] = manifests.Problem{Field: p.field, Message: p.message}
	}
	slices.SortStableFunc(out, func(a, b manifests.Problem) int { return strings.Compare(a.Field, b.Field) })
	return &manifests.ValidationError{Problems: out}
}

// parseBundleURL reads raw, an untrusted URL, as that of a file of a
// version on the CDN whose base URL is cdnURL (the server's CDNURL), and
// returns the app, the version and the file's path in the bundle; file is
// "" when raw is the version's folder (".../APP/VERSION/").
//
// When cdnURL is a path ("/cdn/"), raw may be a path under it
// ("/cdn/catalog/1.0.0/main.js") or an http(s) URL of that path on host,
// the host the request was sent to. When cdnURL is absolute
// ("https://cdn.example/bundles/"), raw must be an http(s) URL on its host
// (letter case aside), with its scheme, and a path under its path. Either
// way the path is compared as it is, never decoded or cleaned: raw may not
// hold user info, a query, a fragment, '%', '\\', spaces or control
// characters (the URLs of published files need none), and "." and ".."
// segments are refused.
func parseBundleURL(raw, cdnURL, host string) (app, version, file string, err error) {
	switch {
	case raw == "":
		return "", "", "", errors.New("is empty")
	case len(raw) > maxBundleURLLen:
		return "", "", "", fmt.Errorf("is longer than %d bytes", maxBundleURLLen)
	case !utf8.ValidString(raw):
		return "", "", "", errors.New("is not valid UTF-8")
	case strings.ContainsFunc(raw, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '\\' }):
		return "", "", "", errors.New("must not contain spaces, control characters or backslashes")
	case strings.ContainsAny(raw, "?#"):
		return "", "", "", errors.New("must not have a query or a fragment")
	case strings.Contains(raw, "%"):
		return "", "", "", errors.New("must not be percent-encoded: bundle URLs need no escapes")
	}
	base, err := url.Parse(cdnURL)
	if err != nil {
		return "", "", "", fmt.Errorf("cannot be checked: the server's CDN URL %q is not a URL", cdnURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", errors.New("is not a URL")
	}
	if u.Opaque != "" || u.User != nil || u.Scheme != "" && u.Host == "" {
		return "", "", "", errors.New("must be an http(s) URL without user info, or a path")
	}
	if u.Scheme != "" && !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return "", "", "", errors.New("must be an http or https URL, or a path")
	}
	notOnCDN := fmt.Errorf("is not on this server's CDN, %s", cdnURL)
	switch {
	case base.Host != "": // the CDN is elsewhere: the whole URL
		if u.Host == "" || !strings.EqualFold(u.Host, base.Host) ||
			base.Scheme != "" && u.Scheme != "" && !strings.EqualFold(u.Scheme, base.Scheme) {
			return "", "", "", notOnCDN
		}
	case u.Host != "": // the CDN is on this server, and raw names a host
		if host == "" || !strings.EqualFold(u.Host, host) {
			return "", "", "", fmt.Errorf("is not on this server's CDN, %s on %s", cdnURL, orDefault(host, "this server"))
		}
	}
	rest, ok := strings.CutPrefix(u.Path, base.Path)
	if !ok || base.Path == "" {
		return "", "", "", notOnCDN
	}
	app, rest, _ = strings.Cut(rest, "/")
	version, file, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", "", fmt.Errorf("is not the URL of a published file, %sAPP/VERSION/FILE", cdnURL)
	}
	if err := manifests.CheckName(app); err != nil {
		return "", "", "", fmt.Errorf("names app %.60q, which is not an app name: %v", app, err)
	}
	if err := manifests.CheckVersion(version); err != nil {
		return "", "", "", fmt.Errorf("names version %.70q of %s, which is not a version: %v", version, app, err)
	}
	if file != "" {
		if err := manifests.CheckFilePath(file); err != nil {
			return "", "", "", fmt.Errorf("names file %.100q of %s@%s, which is not a file path: %v", file, app, version, err)
		}
	}
	return app, version, file, nil
}
