package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mfshell/mfshell/internal/override"
	"github.com/mfshell/mfshell/manifests"
)

// overrideCookie holds a browser's override token; overrideParam, in a
// page's query, sets it (or clears it, with "clear").
const (
	overrideCookie = "mfshell-override"
	overrideParam  = "mfshell-override"
)

// handleCreateOverride answers POST /api/v1/overrides {"apps": {"catalog":
// "1.5.0-rc1"}, "ttl": "2h"} with a signed link that makes one browser run
// those versions: only published versions, of apps the token may change,
// for at most 24 hours (1 hour by default).
func (s *Server) handleCreateOverride(w http.ResponseWriter, r *http.Request) error {
	if s.Overrides == nil {
		return errorf(http.StatusNotFound, "overrides are off on this server")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req struct {
		Apps map[string]string `json:"apps"`
		TTL  string            `json:"ttl"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if len(req.Apps) == 0 || len(req.Apps) > 20 {
		return errorf(http.StatusBadRequest, `"apps": give 1 to 20 apps, such as {"catalog": "1.5.0-rc1"}`)
	}
	ttl := time.Hour
	if req.TTL != "" {
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 || ttl > override.MaxTTL {
			return errorf(http.StatusBadRequest, fmt.Sprintf(`"ttl" %q: want a duration such as "2h", at most 24h`, req.TTL))
		}
	}
	id := identity(r)
	m := s.snap.Load().record.Manifest
	claims := override.Claims{Apps: map[string]override.App{}, By: id.Name, Expires: s.Now().Add(ttl).Unix()}
	for _, app := range slices.Sorted(maps.Keys(req.Apps)) {
		version := req.Apps[app]
		if !id.Allowed(app) {
			return errorf(http.StatusForbidden, fmt.Sprintf("token %q may not override %q", id.Name, app))
		}
		a, ok := m.Apps[app]
		if !ok {
			return errorf(http.StatusNotFound, "no app "+quote(app))
		}
		o := override.App{Version: version, Styles: []string{}}
		if a.HasBundle() {
			b, err := s.resolveBundle(r.Context(), app, version, false)
			if err != nil {
				return err
			}
			o.Entry, o.Styles, o.Integrity = b.entry, b.styles, b.integrity
		} else if err := manifests.CheckVersion(version); err != nil {
			return errorf(http.StatusBadRequest, fmt.Sprintf("version %q of %s: %v", version, app, err))
		}
		claims.Apps[app] = o
	}
	tok, err := s.Overrides.Sign(claims)
	if err != nil {
		return errorf(http.StatusBadRequest, err.Error())
	}
	s.Logger.Info("override signed", "by", id.Name, "apps", req.Apps, "ttl", ttl)
	writeJSON(w, http.StatusCreated, map[string]any{
		"url":     "/?" + overrideParam + "=" + tok,
		"expires": time.Unix(claims.Expires, 0).UTC().Format(time.RFC3339),
		"apps":    req.Apps,
	})
	return nil
}

// browserOverride is the override a browser carries: a signed one or, on
// a --dev server only, an unsigned dev one.
type browserOverride struct {
	claims *override.Claims // signed
	dev    []devApp         // dev, when claims is nil
}

// pageOverride returns the override a page request carries: from its
// query, which then sets the cookie (or clears it, with "clear"), or from
// its cookie. A token that does not verify, or has expired, is ignored
// and its cookie cleared; so is a dev override that is not valid for m,
// and any dev override unless the server runs with Dev.
func (s *Server) pageOverride(w http.ResponseWriter, r *http.Request, m *manifests.Manifest) *browserOverride {
	if s.Overrides == nil && !s.Dev {
		return nil
	}
	tok, fromQuery := "", false
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		tok, fromQuery = q.Get(overrideParam), q.Has(overrideParam)
	}
	if !fromQuery {
		c, err := r.Cookie(overrideCookie)
		if err != nil {
			return nil
		}
		tok = c.Value
	}
	if tok != "clear" {
		if o := s.readOverride(tok, fromQuery, m); o != nil {
			if fromQuery && o.claims != nil {
				setOverrideCookie(w, r, tok, int(o.claims.Expires-s.Now().Unix()))
			} else if fromQuery {
				s.Logger.Info("dev override set", "apps", devOverrideValue(o.dev))
				setOverrideCookie(w, r, devCookieValue(o.dev), int(override.MaxTTL/time.Second))
			}
			return o
		}
	}
	setOverrideCookie(w, r, "", -1)
	return nil
}

// cookieOverride returns the override of a request's cookie, if it is
// valid (the public manifest: cookies only, none set).
func (s *Server) cookieOverride(r *http.Request, m *manifests.Manifest) *browserOverride {
	if s.Overrides == nil && !s.Dev || !hasCookie(r, overrideCookie) {
		return nil
	}
	c, err := r.Cookie(overrideCookie)
	if err != nil {
		return nil
	}
	return s.readOverride(c.Value, false, m)
}

// readOverride returns the override of v, from a link (fromQuery) or a
// cookie, or nil if it is none: a signed token that verifies now or, on a
// --dev server, a dev override of apps of m (APP@URL in a link, its
// devCookieValue in a cookie).
func (s *Server) readOverride(v string, fromQuery bool, m *manifests.Manifest) *browserOverride {
	dev := fromQuery && strings.Contains(v, "@") || !fromQuery && strings.HasPrefix(v, devCookiePrefix)
	if !dev {
		if s.Overrides == nil {
			return nil
		}
		c, err := s.Overrides.Verify(v, s.Now())
		if err != nil {
			return nil
		}
		return &browserOverride{claims: &c}
	}
	if !s.Dev {
		return nil
	}
	parse := parseDevCookie
	if fromQuery {
		parse = parseDevOverride
	}
	apps, err := parse(v, m)
	if err != nil {
		// A developer's link that does nothing says why in the log.
		level := slog.LevelDebug
		if fromQuery {
			level = slog.LevelInfo
		}
		s.Logger.Log(context.Background(), level, "dev override refused", "err", err)
		return nil
	}
	return &browserOverride{dev: apps}
}

func setOverrideCookie(w http.ResponseWriter, r *http.Request, tok string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: overrideCookie, Value: tok, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// overridden returns the variant of sn for bucket with the override o
// applied, encoded for this request: overrides are for the few browsers of
// a team, never cached.
func (s *Server) overridden(sn *snapshot, bucket int, o *browserOverride) (*variant, error) {
	if o.claims == nil {
		return s.devOverridden(sn, bucket, o.dev)
	}
	m := resolve(sn.record.Manifest, bucket)
	var names []string
	for app, v := range o.claims.Apps {
		a, ok := m.Apps[app]
		if !ok {
			continue // removed since: nothing to override
		}
		a.Version, a.Entry, a.Styles, a.Integrity = v.Version, v.Entry, v.Styles, v.Integrity
		m.Apps[app] = a
		names = append(names, app+" "+v.Version)
	}
	slices.Sort(names)
	sum := sha256.Sum256([]byte(strings.Join(names, ",")))
	tag := `"` + strconv.FormatInt(sn.revision, 10) + "-o" + base64.RawURLEncoding.EncodeToString(sum[:9]) + `"`
	return s.newVariant(m, tag, overrideBadge("Override: "+strings.Join(names, ", ")), nil, sn.fallbacksOf(sn.record.Manifest))
}

// overrideBadge is the notice a page under an override shows, text, with
// a form that clears it (a form, not a link: the router would take a
// link's click for itself, and the cookie is HttpOnly).
func overrideBadge(text string) string {
	return `<form id="mfshell-override" role="status" method="get" style="position:fixed;bottom:.75rem;right:.75rem;z-index:2147483647;margin:0;padding:.4rem .6rem;background:#fff3bf;color:#1d2330;border:1px solid #e0a800;border-radius:.4rem;font:13px/1.4 system-ui,sans-serif">` +
		html.EscapeString(text) +
		` <button name="` + overrideParam + `" value="clear">Clear</button></form>`
}

// hasCookie reports whether r may carry the cookie name, without parsing
// its cookies: every browser sends its bucket cookie with each manifest
// request, and few an override.
func hasCookie(r *http.Request, name string) bool {
	for _, h := range r.Header["Cookie"] {
		if strings.Contains(h, name+"=") {
			return true
		}
	}
	return false
}
