package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/mfshell/mfshell/fragments"
)

// maxFragmentPath bounds the path a fragment is asked for.
const maxFragmentPath = 2048

// handleFragment serves GET /_mfshell/fragment/NAME?path=P: app NAME's
// fragment for the page at P, from its team's server, as the shell page
// would inline it (same headers, same budget), for the runtime to show an
// html app on client-side navigation. Its Mfshell-Trigger, if valid, is
// passed on. A fragment that fails answers 502, one that takes longer
// than the budget 504.
func (s *Server) handleFragment(w http.ResponseWriter, r *http.Request) {
	name, path := mux.Vars(r)["name"], r.URL.Query().Get("path")
	if !strings.HasPrefix(path, "/") || len(path) > maxFragmentPath {
		http.Error(w, `want ?path= a page's path, such as /catalog/items/12`, http.StatusBadRequest)
		return
	}
	sn := s.snap.Load()
	m := sn.record.Manifest
	a, ok := resolve(m, bucketOf(r)).Apps[name]
	if !ok || a.Fragment == "" {
		http.Error(w, "no app "+name+" with a fragment", http.StatusNotFound)
		return
	}
	version := a.Version
	if o := s.cookieOverride(r, m); o != nil && o.claims != nil {
		if v, ok := o.claims.Apps[name]; ok {
			version = v.Version
		}
	}
	res := s.fragments.Fetch(r.Context(), r, path, []fragments.Target{{App: name, Version: version, URL: a.Fragment}})[0]
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if res.Err != nil {
		status := http.StatusBadGateway
		if errors.Is(res.Err, fragments.ErrTimeout) {
			status = http.StatusGatewayTimeout
		}
		s.Logger.Warn("fragment", "app", name, "path", path, "err", res.Err)
		http.Error(w, "the fragment of "+name+" failed", status)
		return
	}
	if res.Trigger != "" {
		h.Set(fragments.TriggerHeader, res.Trigger)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(res.HTML)
}
