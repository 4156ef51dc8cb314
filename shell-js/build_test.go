package shelljs

import (
	"crypto/sha512"
	"encoding/base64"
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
	rt, err := build(fsys, "src/index.ts", "t", nil)
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
		_, err := build(fstest.MapFS{"src/index.ts": {Data: []byte(src)}}, "src/index.ts", "t", nil)
		if err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func TestBuildAdmin(t *testing.T) {
	rt, err := BuildAdmin()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^admin\.[A-Z0-9]+\.js$`).MatchString(rt.Script.Name) {
		t.Errorf("script name %q, want admin.HASH.js", rt.Script.Name)
	}
	if rt.SourceMap.Name != rt.Script.Name+".map" || len(rt.SourceMap.Content) == 0 {
		t.Errorf("source map %q (%d bytes), want %q", rt.SourceMap.Name, len(rt.SourceMap.Content), rt.Script.Name+".map")
	}
	if strings.Contains(string(rt.Script.Content), "sourceMappingURL") {
		t.Errorf("the script carries a sourceMappingURL comment; the server sends a SourceMap header")
	}
	sum := sha512.Sum384(rt.Script.Content)
	if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); rt.Integrity != want {
		t.Errorf("integrity %q, want %q", rt.Integrity, want)
	}
	if rt.CSS == nil {
		t.Error("no stylesheet")
	}
	shell, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	if shell.Script.Name == rt.Script.Name || shell.CSS != nil {
		t.Errorf("runtime %s (CSS %q), admin %s", shell.Script.Name, shell.CSS, rt.Script.Name)
	}
	t.Logf("admin: %d bytes minified, %d gzip -9; %d bytes of CSS", len(rt.Script.Content), len(rt.Script.Gzip), len(rt.CSS))
}

// TestBuildAdminOptions checks that the admin script keeps its property
// names (only the runtime's are mangled), that it may import from the
// runtime's sources, and that its stylesheet is minified and refused if it
// would end the style element it is inlined in.
func TestBuildAdminOptions(t *testing.T) {
	fsys := fstest.MapFS{
		"src/math.ts":     {Data: []byte(`export const twice = (n: number): number => n * 2;`)},
		"admin/main.ts":   {Data: []byte(`import { twice } from "../src/math"; const o = { byName: twice(2), router: 1 }; console.log(o.byName, o.router);`)},
		"admin/admin.css": {Data: []byte("/* comment */\nmain  {\n  color : #ff0000 ;\n}\n")},
	}
	rt, err := buildAdmin(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if js := string(rt.Script.Content); !strings.Contains(js, "byName") || !strings.Contains(js, "router") || !strings.Contains(js, "*2") {
		t.Errorf("admin script renamed properties or lacks the import: %s", js)
	}
	if css := string(rt.CSS); css != "main{color:red}" {
		t.Errorf("CSS %q, want main{color:red}", css)
	}
	fsys["admin/admin.css"] = &fstest.MapFile{Data: []byte(`main::after { content: "</STYLE><script>" }`)}
	if _, err := buildAdmin(fsys); err == nil || !strings.Contains(err.Error(), "</style") {
		t.Errorf("a stylesheet with </style: got %v", err)
	}
	delete(fsys, "admin/admin.css")
	if _, err := buildAdmin(fsys); err == nil {
		t.Error("no stylesheet: got no error")
	}
}
