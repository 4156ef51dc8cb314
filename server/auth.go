package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/mfshell/mfshell/internal/tokens"
)

// TokenSource gives the tokens in force now; *tokens.File re-reads its
// file when it changes.
type TokenSource interface {
	Set() *tokens.Set
}

type identityKey struct{}

// authenticate requires a valid bearer token and puts its identity in the
// request's context. Scopes are checked by each handler, which knows the app.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
				token, ok = auth[7:], true
			}
		}
		if !ok || token == "" {
			writeError(w, r, s.Logger, errorf(http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer TOKEN"))
			return
		}
		id, ok := s.Tokens.Set().Lookup(strings.TrimSpace(token))
		if !ok {
			s.metrics.authFailures.Inc()
			writeError(w, r, s.Logger, errorf(http.StatusUnauthorized, "invalid token"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

// identity returns the identity that authenticate put in the context.
func identity(r *http.Request) tokens.Identity {
	id, _ := r.Context().Value(identityKey{}).(tokens.Identity)
	return id
}

// allow returns a 403 error unless the request's identity may change app.
func allow(r *http.Request, app string) error {
	id := identity(r)
	if id.Allowed(app) {
		return nil
	}
	return errorf(http.StatusForbidden, "token "+quote(id.Name)+" may not change app "+quote(app))
}

func quote(s string) string { return `"` + s + `"` }
