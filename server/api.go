package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/manifests"
)

// writeResult is the answer to every successful write.
type writeResult struct {
	Revision int64              `json:"revision"`
	Changed  bool               `json:"changed"`
	Summary  string             `json:"summary"`
	App      *manifests.App     `json:"app,omitempty"`
	Changes  []manifests.Change `json:"changes"`
	// DryRun says that nothing was written: Revision is the one the write
	// would have made.
	DryRun bool `json:"dryRun,omitempty"`
}

// handleGetManifest returns the full manifest, canaries and fragments
// included, with the revision as ETag.
func (s *Server) handleGetManifest(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.Manifests.Current(r.Context())
	if err != nil {
		return err
	}
	m := rec.Manifest.Clone()
	m.CDN = s.CDNURL
	w.Header().Set("ETag", `"`+strconv.FormatInt(rec.Revision, 10)+`"`)
	writeJSON(w, http.StatusOK, m)
	return nil
}

// handlePutApp creates or replaces an app's entry. When the version is
// published, its entry, styles and integrity come from its asset manifest.
func (s *Server) handlePutApp(w http.ResponseWriter, r *http.Request) error {
	name, body, err := appWrite(w, r)
	if err != nil {
		return err
	}
	app, force, err := manifests.DecodeApp(name, body)
	if err != nil {
		return err
	}
	if app.HasBundle() {
		b, err := s.resolveBundle(r.Context(), name, app.Version, force)
		if err != nil {
			return err
		}
		if b != nil {
			app.Entry = orDefault(app.Entry, b.entry)
			if len(app.Styles) == 0 {
				app.Styles = b.styles
			}
			app.Integrity = b.integrity
		}
	}
	if app.Canary != nil {
		if err := s.resolveCanary(r.Context(), name, app, app.Canary, force); err != nil {
			return err
		}
	}
	created := false
	rec, changed, err := s.apply(r, func(m *manifests.Manifest) error {
		_, exists := m.Apps[name]
		created = !exists
		m.Apps[name] = app
		return nil
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created && changed {
		status = http.StatusCreated
	}
	return s.writeResult(w, r, status, rec, changed, name)
}

// handlePatchApp changes some fields of an app: a release is
// {"version": "1.5.0"}. A new version's files come from its asset manifest.
func (s *Server) handlePatchApp(w http.ResponseWriter, r *http.Request) error {
	name, body, err := appWrite(w, r)
	if err != nil {
		return err
	}
	p, err := manifests.DecodePatch(body)
	if err != nil {
		return err
	}
	if p.IsEmpty() {
		return errorf(http.StatusBadRequest, "empty change: give at least one field, such as {\"version\": \"1.5.0\"}")
	}
	// The CDN is read before the edit, not inside it: the edit may run
	// several times, and a published version never changes.
	var release *bundle
	if p.Version != nil {
		if release, err = s.resolveBundle(r.Context(), name, *p.Version, p.Force); err != nil {
			return err
		}
	}
	var canary *manifests.Canary
	if p.Canary.Value != nil {
		c := *p.Canary.Value
		canary = &c
	}
	rec, changed, err := s.apply(r, func(m *manifests.Manifest) error {
		cur, ok := m.Apps[name]
		if !ok {
			return errorf(http.StatusNotFound, "no app "+quote(name)+": create it with PUT first")
		}
		live := cur.Version
		if p.Version != nil {
			live = *p.Version
		}
		if canary != nil && canary.Version == live {
			return errorf(http.StatusBadRequest, fmt.Sprintf("canary %s of %s is its live version: a canary is for another version", live, name))
		}
		next := p.Apply(cur)
		if release == nil && p.Version != nil && *p.Version != cur.Version && next.HasBundle() && p.Integrity == nil {
			// The old version's hashes would not match the new files.
			return errorf(http.StatusBadRequest, fmt.Sprintf("version %s of %s is not published, so a forced release must give its entry, styles and integrity", *p.Version, name))
		}
		if release != nil && next.HasBundle() {
			if p.Entry == nil {
				next.Entry = release.entry
			}
			if p.Styles == nil {
				next.Styles = release.styles
			}
			if p.Integrity == nil {
				next.Integrity = release.integrity
			}
		}
		if canary != nil && next.Canary != nil {
			c := *canary
			if err := s.resolveCanary(r.Context(), name, next, &c, p.Force); err != nil {
				return err
			}
			next.Canary = &c
		}
		m.Apps[name] = next
		return nil
	})
	if err != nil {
		return err
	}
	return s.writeResult(w, r, http.StatusOK, rec, changed, name)
}

// handleDeleteApp removes an app.
func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request) error {
	name, err := writableApp(r)
	if err != nil {
		return err
	}
	rec, changed, err := s.apply(r, removeApp(name))
	if err != nil {
		return err
	}
	return s.writeResult(w, r, http.StatusOK, rec, changed, "")
}

// removeApp is the edit that removes app name; it fails with 404 if the
// manifest has no such app.
func removeApp(name string) func(*manifests.Manifest) error {
	return func(m *manifests.Manifest) error {
		if _, ok := m.Apps[name]; !ok {
			return errorf(http.StatusNotFound, "no app "+quote(name))
		}
		delete(m.Apps, name)
		return nil
	}
}

// handleVersions lists the versions of an app published on the CDN.
func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) error {
	name, err := appName(r)
	if err != nil {
		return err
	}
	versions, err := s.CDN.Versions(r.Context(), name)
	if err != nil {
		return err
	}
	rec, err := s.Manifests.Current(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		App      string          `json:"app"`
		Live     string          `json:"live,omitempty"`
		Versions []cdn.Published `json:"versions"`
	}{App: name, Versions: versions}
	if a, ok := rec.Manifest.Apps[name]; ok {
		out.Live = a.Version
	}
	if out.Versions == nil {
		out.Versions = []cdn.Published{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// historyEntry is a revision as the history lists it, without its manifest.
type historyEntry struct {
	Revision int64              `json:"revision"`
	Time     string             `json:"time"`
	Actor    string             `json:"actor"`
	Reason   string             `json:"reason"`
	Summary  string             `json:"summary"`
	Changes  []manifests.Change `json:"changes"`
}

// handleHistory lists revisions, newest first: ?app=NAME filters,
// ?before=N and ?limit=N page.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) error {
	q := manifests.Query{App: r.URL.Query().Get("app")}
	if q.App != "" {
		if err := manifests.CheckName(q.App); err != nil {
			return errorf(http.StatusBadRequest, "app: "+err.Error())
		}
	}
	var err error
	if q.Before, err = queryInt(r, "before", 0, 1<<62); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50, 1000)
	if err != nil {
		return err
	}
	q.Limit = int(limit)
	recs, err := manifests.History(r.Context(), s.Manifests, q)
	if err != nil {
		return err
	}
	out := struct {
		Revisions []historyEntry `json:"revisions"`
	}{Revisions: make([]historyEntry, 0, len(recs))}
	for _, rec := range recs {
		out.Revisions = append(out.Revisions, entryOf(rec))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func entryOf(rec *manifests.Record) historyEntry {
	return historyEntry{
		Revision: rec.Revision, Time: rec.Time.Format("2006-01-02T15:04:05.000Z07:00"),
		Actor: rec.Actor, Reason: rec.Reason, Summary: manifests.Summary(rec.Changes), Changes: rec.Changes,
	}
}

// handleRevision returns one revision with its whole manifest.
func (s *Server) handleRevision(w http.ResponseWriter, r *http.Request) error {
	rev, err := strconv.ParseInt(mux.Vars(r)["revision"], 10, 64)
	if err != nil || rev < 1 {
		return errorf(http.StatusBadRequest, "revision must be a positive integer, got "+quote(mux.Vars(r)["revision"]))
	}
	rec, err := s.Manifests.Get(r.Context(), rev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// handleRollback makes a new revision whose apps are those of an old one.
// It changes every app, so it takes an admin token.
func (s *Server) handleRollback(w http.ResponseWriter, r *http.Request) error {
	if id := identity(r); !id.Admin() {
		return errorf(http.StatusForbidden, "token "+quote(id.Name)+" may not roll back: a rollback changes every app and needs an admin token")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Revision int64 `json:"revision"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.Revision < 1 {
		return errorf(http.StatusBadRequest, "revision: must be a positive integer")
	}
	old, err := s.Manifests.Get(r.Context(), req.Revision)
	if errors.Is(err, manifests.ErrNotExist) {
		return errorf(http.StatusNotFound, fmt.Sprintf("revision %d does not exist", req.Revision))
	}
	if err != nil {
		return err
	}
	rec, changed, err := s.apply(r, manifests.Rollback(old.Manifest))
	if err != nil {
		return err
	}
	return s.writeResult(w, r, http.StatusOK, rec, changed, "")
}

// apply runs a manifest edit for the request: actor from its token, reason
// from Mfshell-Reason, condition from If-Match. It logs the change to the
// audit log and serves the new revision.
func (s *Server) apply(r *http.Request, change func(*manifests.Manifest) error) (*manifests.Record, bool, error) {
	ifRev, err := parseIfMatch(r.Header.Get("If-Match"))
	if err != nil {
		s.metrics.writes.WithLabelValues("refused").Inc()
		return nil, false, err
	}
	id := identity(r)
	dry := isDryRun(r)
	if !dry {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	rec, changed, err := manifests.Apply(r.Context(), s.Manifests, manifests.Edit{
		Actor:      id.Name,
		Reason:     r.Header.Get("Mfshell-Reason"),
		IfRevision: ifRev,
		Change:     change,
		Now:        s.Now,
		DryRun:     dry,
	})
	if dry {
		return rec, changed, err // nothing written: no metrics, no log
	}
	switch {
	case err == nil && !changed:
		s.metrics.writes.WithLabelValues("unchanged").Inc()
		return rec, false, nil
	case err == nil:
		s.metrics.writes.WithLabelValues("committed").Inc()
	case isClientError(err):
		s.metrics.writes.WithLabelValues("refused").Inc()
		return nil, false, err
	default:
		s.metrics.writes.WithLabelValues("failed").Inc()
		return nil, false, err
	}
	s.Logger.Info("manifest changed", "revision", rec.Revision, "actor", rec.Actor, "reason", rec.Reason,
		"change", manifests.Summary(rec.Changes), "method", r.Method, "path", r.URL.Path)
	if err := s.serveRecord(rec); err != nil {
		s.Logger.Error("serve new revision", "revision", rec.Revision, "err", err)
	}
	return rec, true, nil
}

// isDryRun reports whether a write asks only what it would change
// (?dry-run): the answer is the revision it would make, with its changes,
// and nothing is written. The admin page's confirmations show it.
func isDryRun(r *http.Request) bool {
	v, ok := r.URL.Query()["dry-run"]
	return ok && (len(v) == 0 || v[0] == "" || v[0] == "1" || v[0] == "true")
}

func isClientError(err error) bool {
	var e *Error
	var ve *manifests.ValidationError
	return errors.As(err, &e) && e.Status < 500 || errors.As(err, &ve) || errors.Is(err, manifests.ErrConflict)
}

func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, status int, rec *manifests.Record, changed bool, app string) error {
	res := writeResult{Revision: rec.Revision, Changed: changed, Summary: "no change", Changes: []manifests.Change{}, DryRun: isDryRun(r)}
	if changed {
		res.Summary, res.Changes = manifests.Summary(rec.Changes), rec.Changes
	}
	if res.DryRun {
		status = http.StatusOK // nothing was created
	}
	if a, ok := rec.Manifest.Apps[app]; ok && app != "" {
		res.App = &a
	}
	w.Header().Set("ETag", `"`+strconv.FormatInt(rec.Revision, 10)+`"`)
	writeJSON(w, status, res)
	return nil
}

// bundle is what a published version contributes to an app entry.
type bundle struct {
	entry     string
	styles    []string
	integrity map[string]string
}

// resolveBundle reads the asset manifest of app@version. It returns nil
// without error for an unpublished version when force is set, and a 409
// otherwise.
func (s *Server) resolveBundle(ctx context.Context, app, version string, force bool) (*bundle, error) {
	if err := manifests.CheckVersion(version); err != nil {
		return nil, &manifests.ValidationError{Problems: []manifests.Problem{{Field: "apps." + app + ".version", Message: err.Error()}}}
	}
	am, err := cdn.ReadAssetManifest(ctx, s.CDN, app, version)
	switch {
	case errors.Is(err, cdn.ErrNotExist) && force:
		return nil, nil
	case errors.Is(err, cdn.ErrNotExist):
		return nil, errorf(http.StatusConflict, fmt.Sprintf("version %s of %s is not published on the CDN: publish it first, or release with \"force\": true", version, app))
	case err != nil:
		return nil, fmt.Errorf("read asset manifest of %s@%s: %w", app, version, err)
	}
	b := &bundle{entry: am.Entry, styles: slices.Clone(am.Styles), integrity: am.LoadedIntegrity()}
	if b.styles == nil {
		b.styles = []string{}
	}
	return b, nil
}

// resolveCanary fills a canary's files from its asset manifest.
func (s *Server) resolveCanary(ctx context.Context, app string, a manifests.App, c *manifests.Canary, force bool) error {
	if !a.HasBundle() {
		return nil
	}
	b, err := s.resolveBundle(ctx, app, c.Version, force)
	if err != nil || b == nil {
		return err
	}
	c.Entry, c.Styles, c.Integrity = orDefault(c.Entry, b.entry), b.styles, b.integrity
	return nil
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// appName returns the {name} of the path, checked.
func appName(r *http.Request) (string, error) {
	name := mux.Vars(r)["name"]
	if err := manifests.CheckName(name); err != nil {
		return "", errorf(http.StatusBadRequest, fmt.Sprintf("bad app name %.60q: %v", name, err))
	}
	return name, nil
}

// writableApp returns the {name} of the path, checked, if the request's
// token may change that app.
func writableApp(r *http.Request) (string, error) {
	name, err := appName(r)
	if err != nil {
		return "", err
	}
	return name, allow(r, name)
}

// appWrite checks the app of a write request and reads its body.
func appWrite(w http.ResponseWriter, r *http.Request) (string, []byte, error) {
	name, err := writableApp(r)
	if err != nil {
		return "", nil, err
	}
	body, err := readBody(w, r)
	return name, body, err
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
}

// decodeJSON decodes a small request body strictly.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "bad request body: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "bad request body: trailing data after the JSON value")
	}
	return nil
}

// parseIfMatch reads If-Match: "REVISION". It returns 0 when the header is
// absent.
func parseIfMatch(h string) (*int64, error) {
	if h == "" {
		return nil, nil
	}
	h = strings.TrimSpace(h)
	unq, ok := strings.CutPrefix(h, `"`)
	if ok {
		unq, ok = strings.CutSuffix(unq, `"`)
	}
	if !ok || unq == "" || len(unq) > 19 || strings.TrimLeft(unq, "0123456789") != "" {
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf(`If-Match must be a quoted revision such as "7", got %.40q`, h))
	}
	n, err := strconv.ParseInt(unq, 10, 64)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, fmt.Sprintf(`If-Match must be a quoted revision such as "7", got %.40q`, h))
	}
	return &n, nil
}

// queryInt reads an optional integer query parameter within [0, max].
func queryInt(r *http.Request, key string, def, max int64) (int64, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, errorf(http.StatusBadRequest, fmt.Sprintf("%s must be an integer between 0 and %d, got %.30q", key, max, v))
	}
	return n, nil
}
