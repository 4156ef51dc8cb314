package manifests

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// is valid and survives an encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema":1,"revision":3,"cdn":"/cdn/","apps":{}}`))
	f.Add([]byte(`{"schema":1,"apps":{"catalog":{"version":"1.0.0","entry":"main.js","styles":["a.css"],"integrity":{"main.js":"` + sri + `","a.css":"` + sri + `"}}}}`))
	f.Add([]byte(`{"schema":1,"apps":{"h":{"version":"1","route":"","format":"html","fragment":"http://x:9/f"}}}`))
	f.Add([]byte(`{"schema":1,"apps":{"c":{"version":"1","entry":"m.js","integrity":{"m.js":"` + sri + `"},"canary":{"version":"2","percent":5,"entry":"m.js","integrity":{"m.js":"` + sri + `"}}}}}`))
	f.Add([]byte(`{"schema":1,"apps":{"x":{"version":"..","route":"/api"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("Decode error is %T, want *ValidationError: %v", err, err)
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("Decode accepted an invalid manifest: %v", err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, m2)
		}
	})
}

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	dotdotRE  = regexp.MustCompile(`\.\.`)
)

// FuzzNames checks CheckName and CheckVersion against the contract's
// regular expressions.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"catalog", "a-1", "Catalog", "1.4.2", "v_2", "..", "a/b", "", "1..2", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := CheckName(s) == nil, nameRE.MatchString(s); got != want {
			t.Fatalf("CheckName(%q) accepted=%v, want %v", s, got, want)
		}
		if got, want := CheckVersion(s) == nil, versionRE.MatchString(s) && !dotdotRE.MatchString(s); got != want {
			t.Fatalf("CheckVersion(%q) accepted=%v, want %v", s, got, want)
		}
	})
}
