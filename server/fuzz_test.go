package server

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzIfMatch checks that If-Match parsing never panics and accepts exactly
// a quoted revision, 0 (an empty store) included.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{`"7"`, `7`, `""`, `"-1"`, `"0"`, `W/"7"`, `"99999999999999999999"`, ` "12" `, `"1", "2"`, `*`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		rev, err := parseIfMatch(h)
		if h == "" {
			if rev != nil || err != nil {
				t.Fatalf("empty header: got %v, %v", rev, err)
			}
			return
		}
		if err != nil {
			return
		}
		if *rev < 0 {
			t.Fatalf("parseIfMatch(%q) accepted revision %d", h, *rev)
		}
		want := `"` + strconv.FormatInt(*rev, 10) + `"`
		if trimmed := strings.TrimSpace(h); strings.TrimLeft(trimmed[1:], "0") != strings.TrimLeft(want[1:], "0") {
			t.Fatalf("parseIfMatch(%q) = %d, which reads back as %s", h, *rev, want)
		}
	})
}
