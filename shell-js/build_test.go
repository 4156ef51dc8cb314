package shelljs

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuild(t *testing.T) {
	rt, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^shell\.[A-Z0-9]+\.js$`).MatchString(rt.Script.Name) {
		t.Errorf("script name %q, want shell.HASH.js", rt.Script.Name)
	}
	if rt.SourceMap.Name != rt.Script.Name+".map" {
		t.Errorf("source map name %q, want %q", rt.SourceMap.Name, rt.Script.Name+".map")
	}
	if strings.Contains(string(rt.Script.Content), "sourceMappingURL") {
		t.Errorf("the script carries a sourceMappingURL comment; the server sends a SourceMap header")
	}
	if !strings.HasPrefix(rt.Integrity, "sha384-") || len(rt.Script.Gzip) == 0 {
		t.Errorf("integrity %q, gzip %d bytes", rt.Integrity, len(rt.Script.Gzip))
	}
	t.Logf("runtime: %d bytes minified, %d gzip -9", len(rt.Script.Content), len(rt.Script.Gzip))
}

func TestBuildResolvesAndRefuses(t *testing.T) {
	fsys := fstest.MapFS{
		"src/index.ts":     {Data: []byte(`import { twice } from "./math"; import { id } from "./lib"; console.log(twice(id(2)));`)},
		"src/math.ts":      {Data: []byte(`export const twice = (n: number): number => n * 2;`)},
		"src/lib/index.ts": {Data: []byte(`export function id<T>(x: T): T { return x }`)},
	}
	rt, err := build(fsys, "src/index.ts", "t")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rt.Script.Content), "*2") {
		t.Errorf("bundle lacks the imported code: %s", rt.Script.Content)
	}
	for name, src := range map[string]string{
		"bare import":  `import x from "react"; x;`,
		"missing file": `import { y } from "./nope"; y;`,
		"syntax error": `let = ;`,
	} {
		_, err := build(fstest.MapFS{"src/index.ts": {Data: []byte(src)}}, "src/index.ts", "t")
		if err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}
