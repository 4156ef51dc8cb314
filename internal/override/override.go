// Package override signs and checks override tokens: a server-signed
// promise that one browser may run other versions of some apps than the
// manifest says, until a time. The token carries each version's files and
// integrity as they were published when it was signed, so checking it
// needs nothing but the key.
//
// A token is base64url(claims JSON) "." base64url(HMAC-SHA256(key, claims
// JSON)). Replicas that share the key accept each other's tokens.
package override

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mfshell/mfshell/internal/atomicfile"
)

// MaxTokenBytes bounds a token, so that it fits in a cookie.
const MaxTokenBytes = 3 << 10

// MaxTTL is the longest an override may last.
const MaxTTL = 24 * time.Hour

// App is the version of one app an override gives, with its files.
type App struct {
	Version   string            `json:"version"`
	Entry     string            `json:"entry,omitempty"`
	Styles    []string          `json:"styles"`
	Integrity map[string]string `json:"integrity"`
}

// Claims is what a token says.
type Claims struct {
	Apps map[string]App `json:"apps"`
	// Expires is the Unix time after which the token is refused.
	Expires int64 `json:"exp"`
	// By is who asked for it (a token's name), for logs.
	By string `json:"by"`
}

// Signer signs and checks tokens with one key.
type Signer struct{ key []byte }

// NewSigner returns a signer with key, which must be at least 32 bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("override key: %d bytes, want at least 32", len(key))
	}
	return &Signer{key: bytes.Clone(key)}, nil
}

// LoadKey reads the key at path, first creating it (32 random bytes, mode
// 0600, created atomically so that replicas starting together agree) if
// create is set and there is none.
func LoadKey(path string, create bool) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		fresh := make([]byte, 32)
		rand.Read(fresh)
		if err := atomicfile.Create(path, fresh, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create override key %s: %w", path, err)
		}
		key, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("override key: %w", err)
	}
	return key, nil
}

// Sign returns the token of c.
func (s *Signer) Sign(c Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
	if len(tok) > MaxTokenBytes {
		return "", fmt.Errorf("override token of %d bytes: at most %d (fewer apps or files)", len(tok), MaxTokenBytes)
	}
	return tok, nil
}

// Verify returns the claims of tok if s signed it and it has not expired
// at now.
func (s *Signer) Verify(tok string, now time.Time) (Claims, error) {
	var c Claims
	if len(tok) > MaxTokenBytes {
		return c, errors.New("override token too long")
	}
	p, m, ok := strings.Cut(tok, ".")
	if !ok {
		return c, errors.New("override token malformed")
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil {
		return c, errors.New("override token malformed")
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return c, errors.New("override token not signed by this server")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || len(c.Apps) == 0 {
		return Claims{}, errors.New("override token malformed")
	}
	if now.Unix() >= c.Expires {
		return Claims{}, errors.New("override token expired")
	}
	return c, nil
}

func (s *Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(payload)
	return h.Sum(nil)
}
