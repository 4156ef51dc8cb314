package fragments

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseTrigger(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{``, ``, ``},
		{`{"cart:added": {"sku": "A1"}}`, `{"cart:added":{"sku":"A1"}}`, ``},
		{`{"b": 1, "a": [1.50, null]}`, `{"a":[1.50,null],"b":1}`, ``},
		{`{"x": "</script><b>"}`, `{"x":"\u003c/script\u003e\u003cb\u003e"}`, ``},
		{`{"café": "😀"}`, `{"caf\u00e9":"\ud83d\ude00"}`, ``},
		{`[1]`, ``, `JSON object`},
		{`null`, ``, `JSON object`},
		{`{}`, ``, `1 to 16 events`},
		{`{"a":1} {"b":2}`, ``, `JSON object`},
		{`{"a":1`, ``, `JSON object`},
		{`{"":1}`, ``, `1 to 100 bytes`},
		{`{"a\u0007":1}`, ``, `control character`},
		{`{"` + strings.Repeat("e", 101) + `":1}`, ``, `1 to 100 bytes`},
		{`{"a":"` + strings.Repeat("x", MaxTriggerBytes) + `"}`, ``, `larger than`},
		{"{\"a\":\"\xff\"}", ``, `not UTF-8`},
	} {
		got, err := ParseTrigger(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTrigger(%.40q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTrigger(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	many := map[string]int{}
	for i := range 17 {
		many[strings.Repeat("e", i+1)] = i
	}
	b, _ := json.Marshal(many)
	if _, err := ParseTrigger(string(b)); err == nil {
		t.Error("17 events accepted")
	}
}

func FuzzParseTrigger(f *testing.F) {
	for _, s := range []string{`{"cart:added":{"sku":"A1"}}`, `{"é":"😀"}`, `{"a":1e999}`, `{"a":"\ud800"}`, `[]`, `{`, `{"a":1,"a":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ParseTrigger(in)
		if err != nil || in == "" {
			return
		}
		for i := 0; i < len(out); i++ {
			if out[i] >= 0x80 || out[i] < ' ' {
				t.Fatalf("%q: byte %#x in %q", in, out[i], out)
			}
		}
		decode := func(s string) (v map[string]any, err error) {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber() // 1e999 is JSON, though no float64
			return v, dec.Decode(&v)
		}
		a, err := decode(in)
		if err != nil {
			t.Fatalf("%q accepted, but not JSON: %v", in, err)
		}
		if b, err := decode(out); err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q became %q (%v): %v != %v", in, out, err, a, b)
		}
		if again, err := ParseTrigger(out); err != nil || again != out {
			t.Fatalf("%q: not stable: %q, %v", out, again, err)
		}
	})
}
