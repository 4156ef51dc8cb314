package manifests

import (
	"errors"
	"fmt"
)

// MaxNameLen and MaxVersionLen bound app names and versions.
const (
	MaxNameLen    = 40
	MaxVersionLen = 64
)

// CheckName returns nil if name is a valid app name (^[a-z][a-z0-9-]{0,39}$),
// and otherwise an error that says why not. Its custom element is NAME-app.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("must be at most %d characters, got %d", MaxNameLen, len(name))
	case name[0] < 'a' || name[0] > 'z':
		return fmt.Errorf("must start with a lower-case letter a-z, got %q", name)
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("may contain only a-z, 0-9 and '-', got %q at position %d", rune(c), i)
		}
	}
	return nil
}

// CheckVersion returns nil if v is a valid version
// (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ and no ".."), and otherwise an error that
// says why not. Valid versions are safe as one path segment.
func CheckVersion(v string) error {
	switch {
	case v == "":
		return errors.New("must not be empty")
	case len(v) > MaxVersionLen:
		return fmt.Errorf("must be at most %d characters, got %d", MaxVersionLen, len(v))
	case !isAlnum(v[0]):
		return fmt.Errorf("must start with a letter or digit, got %q", v)
	}
	for i := 1; i < len(v); i++ {
		c := v[i]
		if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("may contain only A-Z, a-z, 0-9, '.', '_' and '-', got %q at position %d", rune(c), i)
		}
		if c == '.' && v[i-1] == '.' {
			return fmt.Errorf("must not contain \"..\", got %q", v)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
