package override

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func signer(t testing.TB, key string) *Signer {
	t.Helper()
	s, err := NewSigner([]byte(strings.Repeat(key, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims() Claims {
	return Claims{
		Apps:    map[string]App{"catalog": {Version: "1.5.0-rc1", Entry: "main.js", Styles: []string{}, Integrity: map[string]string{"main.js": "sha384-x"}}},
		Expires: now.Add(2 * time.Hour).Unix(),
		By:      "team-catalog",
	}
}

func TestSignVerify(t *testing.T) {
	s := signer(t, "k")
	tok, err := s.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok, now)
	if err != nil || c.Apps["catalog"].Version != "1.5.0-rc1" || c.By != "team-catalog" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	payload, mac, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte("1.5.0-rc1"), []byte("6.6.6-evil"), 1)) + "." + mac
	for name, bad := range map[string]string{
		"another key":    func() string { t, _ := signer(t, "z").Sign(claims()); return t }(),
		"forged payload": forged,
		"no mac":         payload,
		"empty mac":      payload + ".",
		"not base64":     "!!!.???",
		"empty":          "",
		"too long":       strings.Repeat("a", MaxTokenBytes+1),
	} {
		if _, err := s.Verify(bad, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := s.Verify(tok, now.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("at its expiry: %v, want expired", err)
	}
	empty := claims()
	empty.Apps = nil
	tok, _ = s.Sign(empty)
	if _, err := s.Verify(tok, now); err == nil {
		t.Error("a token without apps accepted")
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("a short key accepted")
	}
}

// TestLoadKey checks that replicas starting together on one folder end up
// with one key, kept private.
func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "override.key")
	if _, err := LoadKey(path, false); err == nil {
		t.Fatal("a missing key loaded without create")
	}
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadKey(path, true)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ or are short: %x", keys)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi.Mode(), err)
	}
}

// FuzzVerify checks that any cookie value is refused or verified without
// a panic, and that only tokens this signer made are accepted.
func FuzzVerify(f *testing.F) {
	s := signer(f, "k")
	tok, _ := s.Sign(claims())
	for _, seed := range []string{tok, tok + "x", "a.b", ".", "", "e30.AAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := s.Verify(in, now)
		if err == nil && in != tok {
			// Another encoding of the same bytes is possible only with
			// base64 slack bits; it must still carry the signed claims.
			if c.Apps["catalog"].Version != "1.5.0-rc1" {
				t.Fatalf("accepted %q with claims %+v", in, c)
			}
		}
	})
}
