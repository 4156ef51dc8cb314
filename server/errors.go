package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/mfshell/mfshell/cdn"
	"github.com/mfshell/mfshell/manifests"
)

// Error is an error with the HTTP status it maps to and a message that is
// safe to show to the client.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// errorBody is the JSON of every error response.
type errorBody struct {
	Error    string              `json:"error"`
	Problems []manifests.Problem `json:"problems,omitempty"`
}

// writeError maps err to a status and a JSON body. It is the one place
// where errors become statuses. A 500 logs its cause and shows a generic
// message.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	body := errorBody{Error: err.Error()}
	var (
		e   *Error
		ve  *manifests.ValidationError
		mbe *http.MaxBytesError
	)
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &e):
		status = e.Status
	case errors.As(err, &ve):
		status, body.Problems = http.StatusBadRequest, ve.Problems
	case errors.As(err, &mbe):
		status, body.Error = http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB"
	case errors.Is(err, manifests.ErrConflict):
		status = http.StatusPreconditionFailed
	case errors.Is(err, manifests.ErrNotExist), errors.Is(err, cdn.ErrNotExist):
		status = http.StatusNotFound
	case errors.Is(err, manifests.ErrUnavailable), errors.Is(err, cdn.ErrUnavailable):
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusInternalServerError {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body = errorBody{Error: "internal server error"}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mfshell"`)
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil { // only our own response types reach here
		http.Error(w, `{"error":"internal server error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
