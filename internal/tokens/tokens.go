// Package tokens reads the tokens file that says who may change the
// manifest, and checks bearer tokens against it.
//
// The file is a JSON array:
//
//	[{"name": "ops", "token": "SECRET", "apps": ["*"]},
//	 {"name": "team-catalog", "sha256": "HEX", "apps": ["catalog"]}]
//
// "*" grants every app (admin). An entry may give the token's SHA-256 in
// hex instead of the token, so that the file holds no secret. Several
// entries may share a name, which lets a team rotate its token without a
// gap. Tokens are compared in constant time.
package tokens

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/mfshell/mfshell/manifests"
)

// MinTokenLen is the shortest token a file may hold in clear.
const MinTokenLen = 16

// Identity is who a token belongs to.
type Identity struct {
	Name string   // recorded as the actor in the manifest history
	Apps []string // app names, or ["*"] for every app
}

// Admin reports whether the identity may act on every app.
func (id Identity) Admin() bool { return slices.Contains(id.Apps, "*") }

// Allowed reports whether the identity may change app.
func (id Identity) Allowed(app string) bool { return id.Admin() || slices.Contains(id.Apps, app) }

// Set is a parsed tokens file. It is immutable and safe for concurrent use.
type Set struct {
	entries []entry
}

type entry struct {
	id     Identity
	digest [sha256.Size]byte
}

type wireEntry struct {
	Name   string   `json:"name"`
	Token  string   `json:"token,omitempty"`
	SHA256 string   `json:"sha256,omitempty"`
	Apps   []string `json:"apps"`
}

// Parse reads a tokens file strictly. Its error names the entry and field at
// fault, and never includes a token.
func Parse(data []byte) (*Set, error) {
	var wire []wireEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return nil, fmt.Errorf("tokens file: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("tokens file: trailing data after the JSON array")
	}
	var errs []error
	s := &Set{}
	seen := map[[sha256.Size]byte]int{}
	for i, w := range wire {
		at := fmt.Sprintf("tokens file: entry %d", i)
		if w.Name != "" {
			at += fmt.Sprintf(" (%q)", w.Name)
		}
		e, err := w.parse()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		if j, dup := seen[e.digest]; dup {
			errs = append(errs, fmt.Errorf("%s: same token as entry %d", at, j))
			continue
		}
		seen[e.digest] = i
		s.entries = append(s.entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (w wireEntry) parse() (entry, error) {
	e := entry{id: Identity{Name: w.Name, Apps: w.Apps}}
	switch {
	case w.Name == "":
		return e, errors.New("name: must not be empty")
	case len(w.Name) > 64:
		return e, errors.New("name: must be at most 64 characters")
	case strings.ContainsFunc(w.Name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return e, errors.New("name: must be printable")
	}
	switch {
	case w.Token != "" && w.SHA256 != "":
		return e, errors.New("give either token or sha256, not both")
	case w.Token != "":
		if len(w.Token) < MinTokenLen {
			return e, fmt.Errorf("token: must be at least %d characters", MinTokenLen)
		}
		e.digest = sha256.Sum256([]byte(w.Token))
	case w.SHA256 != "":
		d, err := hex.DecodeString(w.SHA256)
		if err != nil || len(d) != sha256.Size {
			return e, errors.New("sha256: must be 64 hex digits")
		}
		copy(e.digest[:], d)
	default:
		return e, errors.New("token or sha256 is required")
	}
	if len(w.Apps) == 0 {
		return e, errors.New(`apps: must list app names, or "*" for all`)
	}
	for _, a := range w.Apps {
		if a == "*" {
			continue
		}
		if err := manifests.CheckName(a); err != nil {
			return e, fmt.Errorf("apps: %q: %v", a, err)
		}
	}
	return e, nil
}

// Lookup returns the identity of token. It compares the token's digest with
// every entry's in constant time, so timing reveals nothing about which
// entry, if any, came close.
func (s *Set) Lookup(token string) (Identity, bool) {
	if s == nil || token == "" {
		return Identity{}, false
	}
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.entries {
		if subtle.ConstantTimeCompare(d[:], s.entries[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, false
	}
	return s.entries[found].id, true
}

// Len returns the number of entries.
func (s *Set) Len() int { return len(s.entries) }

// New returns a random token, 32 bytes in URL-safe base64.
func New() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Digest returns the hex SHA-256 of token, as a tokens file's "sha256".
func Digest(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}
