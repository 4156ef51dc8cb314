package cdn

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/scope")

// checkScope checks that ScopeCSS rewrites in to want for catalog-app, and
// that rewriting want again changes nothing.
func checkScope(t *testing.T, in, want string) {
	t.Helper()
	got, err := ScopeCSS([]byte(in), "catalog-app")
	if err != nil {
		t.Errorf("ScopeCSS(%q): %v", in, err)
		return
	}
	if string(got) != want {
		t.Errorf("ScopeCSS(%q)\n got %q\nwant %q", in, got, want)
		return
	}
	again, err := ScopeCSS(got, "catalog-app")
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("ScopeCSS(%q) = %q, %v; want it unchanged", got, again, err)
	}
}

func TestScopeCSSSelectors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"class", ".card{}", "catalog-app .card{}\n"},
		{"list", "h1, .x > p{}", "catalog-app h1,catalog-app .x>p{}\n"},
		{"white space", "a  b\n\tc {}", "catalog-app a b c{}\n"},
		{"combinators", "a + b, a ~ b, a || b {}", "catalog-app a+b,catalog-app a~b,catalog-app a||b{}\n"},
		{"universal", "*{}", "catalog-app *{}\n"},
		{"box sizing", "*, *::before, *::after {}", "catalog-app *,catalog-app *::before,catalog-app *::after{}\n"},
		{"pseudo-element", "::selection{}", "catalog-app ::selection{}\n"},
		{"functional pseudo", "a:is(.x,.y)::before{}", "catalog-app a:is(.x,.y)::before{}\n"},
		{"function kept as written", "a:is(.x, /* c */ .y) {}", "catalog-app a:is(.x, /* c */ .y){}\n"},
		{"nth of", "li:nth-child(2n + 1 of .x){}", "catalog-app li:nth-child(2n + 1 of .x){}\n"},
		{"attribute", `a[href$=".pdf" i]{}`, `catalog-app a[href$=".pdf" i]{}` + "\n"},
		{"attribute with braces", `[data-x="a,b{}"] p, [data-y='}'] {}`, `catalog-app [data-x="a,b{}"] p,catalog-app [data-y='}']{}` + "\n"},
		{"escaped comma", `.a\,b, .c{}`, `catalog-app .a\,b,catalog-app .c{}` + "\n"},
		{"escapes", `.\31 0\%, #\31 23{}`, `catalog-app .\31 0\%,catalog-app #\31 23{}` + "\n"},
		{"comments", ".a/* x */.b, /* y */ .c /* z */ > .d {}", "catalog-app .a.b,catalog-app .c>.d{}\n"},
		{"comment between tokens", "./**/a:/**/hover{}", "catalog-app .a:hover{}\n"},
		{"open escape before a space", `.x\31/**/ .y{}`, `catalog-app .x\31  .y{}` + "\n"},
		{"namespaces", "svg|a, *|b, |c, *|*{}", "catalog-app svg|a,catalog-app *|b,catalog-app |c,catalog-app *|*{}\n"},

		{":root", ":root{--a:1}", "catalog-app{--a:1}\n"},
		{"html", "html{}", "catalog-app{}\n"},
		{"body", "body { margin: 0 }", "catalog-app{ margin: 0 }\n"},
		{"html body", "html body .x{}", "catalog-app .x{}\n"},
		{"html > body", "html > body > .x{}", "catalog-app>.x{}\n"},
		{"body class", "body.dark .x{}", "catalog-app.dark .x{}\n"},
		{"classes merged", "html.js body.dark .x{}", "catalog-app.js.dark .x{}\n"},
		{"root attribute", "html[data-theme=dark] .x{}", "catalog-app[data-theme=dark] .x{}\n"},
		{":root:has", ":root:has(.x) p{}", "catalog-app:has(.x) p{}\n"},
		{"class then :root", ".dark:root{}", "catalog-app.dark{}\n"},
		{"*:root", "*:root{}", "catalog-app{}\n"},
		{"upper case", "HTML BODY{}", "catalog-app{}\n"},
		{"escaped html", `\68tml .x{}`, "catalog-app .x{}\n"},
		{"root pseudo-element", ":root::-webkit-scrollbar{}", "catalog-app::-webkit-scrollbar{}\n"},
		{"top-level &", "& .x{}", "catalog-app .x{}\n"},
		{":host", ":host{}", "catalog-app{}\n"},
		{":host()", ":host(.active) p{}", "catalog-app.active p{}\n"},
		{":host() and more", ":host([open]):hover{}", "catalog-app[open]:hover{}\n"},
		{":host() with a type", ":host(div.active){}", "catalog-app:is(div.active){}\n"},
		{":host() complex", ":host(.a ~ .b){}", "catalog-app:is(.a ~ .b){}\n"},
		{":host() open escape", `:host(.x\31) p{}`, `catalog-app.x\31  p{}` + "\n"},
		{":host-context()", ":host-context(.dark) p{}", "catalog-app:is(.dark,.dark *) p{}\n"},
		{"root deeper", ".x :root{}", "catalog-app .x :root{}\n"},
		{"root with a type", "div:root{}", "catalog-app div:root{}\n"},
		{"root inside :is", ":is(html) .x{}", "catalog-app :is(html) .x{}\n"},
		{"root sibling", "body + p{}", "catalog-app catalog-app+p{}\n"},

		{"already scoped", "catalog-app .x{}", "catalog-app .x{}\n"},
		{"the element", "catalog-app{}", "catalog-app{}\n"},
		{"the element with more", "catalog-app.dark > p{}", "catalog-app.dark>p{}\n"},
		{"the element's sibling", "catalog-app ~ p{}", "catalog-app catalog-app~p{}\n"},
		{"the element in upper case", `CATALOG-APP > p, catalog\-app .x{}`, "catalog-app>p,catalog-app .x{}\n"},
		{"another element", "catalog-apps .x{}", "catalog-app catalog-apps .x{}\n"},

		{"dropped: empty in list", "a,{} .b{}", "catalog-app .b{}\n"},
		{"dropped: leading comma", ",a{}", ""},
		{"dropped: trailing combinator", "a > {}", ""},
		{"dropped: leading combinator", "> a{}", ""},
		{"dropped: semicolon", "a; .b{} .c{}", "catalog-app .c{}\n"},
		{"dropped: number", ".5a{} .b{}", "catalog-app .b{}\n"},
		{"dropped: two types", "a/**/b{}", ""},
		{"dropped: string", `"a"{}`, ""},
		{"dropped: type after class", ".a*{}", ""},
		{"dropped: empty :host()", ":host(){}", ""},
		{"dropped: u+a (a unicode-range token to the lexer)", "u+a{} .b{}", "catalog-app .b{}\n"},
		{"dropped: no block", ".a{} .b", "catalog-app .a{}\n"},
		{"dropped: &div", "&div{}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkScope(t, tt.in, tt.want) })
	}
}

func TestScopeCSSAtRules(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"@media", "@media (min-width: 40rem) { .a { color: red } }", "@media (min-width: 40rem){\ncatalog-app .a{ color: red }\n}\n"},
		{"@media nested", "@media print{@media (color){html{}}}", "@media print{\n@media (color){\ncatalog-app{}\n}\n}\n"},
		{"@supports", "@supports (display: grid) and (not (display: inline-grid)) { .a{} }", "@supports (display: grid) and (not (display: inline-grid)){\ncatalog-app .a{}\n}\n"},
		{"@layer block", "@layer base { html { color: red } }", "@layer base{\ncatalog-app{ color: red }\n}\n"},
		{"@layer anonymous", "@layer{.a{}}", "@layer{\ncatalog-app .a{}\n}\n"},
		{"@layer statement", "@layer a, b;", "@layer a, b;\n"},
		{"@container", "@container card (min-width: 30em){.a{}}", "@container card (min-width: 30em){\ncatalog-app .a{}\n}\n"},
		{"@-moz-document", "@-moz-document url-prefix(){.a{}}", "@-moz-document url-prefix(){\ncatalog-app .a{}\n}\n"},
		{"@starting-style", "@starting-style{.a{opacity:0}}", "@starting-style{\ncatalog-app .a{opacity:0}\n}\n"},
		{"upper-case at-rule", "@MEDIA print{.a{}}", "@MEDIA print{\ncatalog-app .a{}\n}\n"},
		{"unknown with rules", "@foo bar{.a{}}", "@foo bar{\ncatalog-app .a{}\n}\n"},
		{"unknown without", "@foo{color:red}", "@foo{color:red}\n"},
		{"declaration in a group", "@media x{color:red;.a{}}", "@media x{\ncatalog-app .a{}\n}\n"},
		{"rule like a declaration in a group", "@media x{a:hover{color:red}}", "@media x{\ncatalog-app a:hover{color:red}\n}\n"},
		{"rule ended by ; in a group", "@media x{.a; .b{}}", "@media x{\ncatalog-app .b{}\n}\n"},

		{"@keyframes", "@keyframes spin{from{transform:rotate(0)}to{transform:rotate(1turn)}}", "@keyframes spin{from{transform:rotate(0)}to{transform:rotate(1turn)}}\n"},
		{"@-webkit-keyframes", "@-webkit-keyframes spin { 0% { opacity: 0 } }", "@-webkit-keyframes spin { 0% { opacity: 0 } }\n"},
		{"@keyframes in @media", "@media x{@keyframes k{50%{top:0}}}", "@media x{\n@keyframes k{50%{top:0}}\n}\n"},
		{"@font-face", "@font-face{font-family:X;src:url(x.woff2) format('woff2')}", "@font-face{font-family:X;src:url(x.woff2) format('woff2')}\n"},
		{"@property", "@property --x{syntax:'<length>';inherits:false;initial-value:0}", "@property --x{syntax:'<length>';inherits:false;initial-value:0}\n"},
		{"@counter-style", "@counter-style thumbs{system:cyclic;symbols:\"👍\"}", "@counter-style thumbs{system:cyclic;symbols:\"👍\"}\n"},
		{"@page", "@page :first{margin:1in;@top-left{content:'x'}}", "@page :first{margin:1in;@top-left{content:'x'}}\n"},
		{"@font-feature-values", "@font-feature-values Font One{@styleset{nice-style:12}}", "@font-feature-values Font One{@styleset{nice-style:12}}\n"},
		{"@import", `@import url("x.css") layer(base) screen;`, `@import url("x.css") layer(base) screen;` + "\n"},
		{"@import at the end", `@import "x.css"`, `@import "x.css";` + "\n"},
		{"@charset", `@charset "utf-8"; .a{}`, `@charset "utf-8";` + "\ncatalog-app .a{}\n"},
		{"@namespace", "@namespace svg url(http://www.w3.org/2000/svg);", "@namespace svg url(http://www.w3.org/2000/svg);\n"},

		{"@scope", "@scope (.card) to (.content) { img { border: 0 } }", "@scope (catalog-app .card) to (.content){ img { border: 0 } }\n"},
		{"@scope alone", "@scope{p{}}", "@scope (catalog-app){p{}}\n"},
		{"@scope to", "@scope to (.x){p{}}", "@scope (catalog-app) to (.x){p{}}\n"},
		{"@scope :root", "@scope (:root, .a){p{}}", "@scope (catalog-app,catalog-app .a){p{}}\n"},
		{"@scope dropped", "@scope .x{p{}}", ""},
		{"@scope dropped: to()", "@scope (.a) to(.b){p{}}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkScope(t, tt.in, tt.want) })
	}
}

func TestScopeCSSNesting(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"relative", ".a { color: red; & .b {} .c & {} }", "catalog-app .a{ color: red; & .b {} .c & {} }\n"},
		{"compound", ".a{&:hover{}&.b{}}", "catalog-app .a{&:hover{}&.b{}}\n"},
		{"combinator first", ".a{> .b{} + .c{}}", "catalog-app .a{> .b{} + .c{}}\n"},
		{"type first", ".a{a:hover{color:red}div{}}", "catalog-app .a{a:hover{color:red}div{}}\n"},
		{"deeper", ".a{.b{.c &{}}}", "catalog-app .a{.b{.c &{}}}\n"},
		{"in @media", ".a{@media (x){color:red;.b{}}}", "catalog-app .a{@media (x){color:red;.b{}}}\n"},
		{"@scope inside", ".a{@scope (.b){p{}}}", "catalog-app .a{@scope (.b){p{}}}\n"},
		{"root then descendants", ":root{& p{} > p{}}", "catalog-app{& p{} > p{}}\n"},
		{"sibling of a descendant", ".a{& + p{}}", "catalog-app .a{& + p{}}\n"},
		{"custom property with braces", ".a{--x:{a:b};color:red}", "catalog-app .a{--x:{a:b};color:red}\n"},

		{"dropped: :not(&)", ".a{color:red;:not(&){color:blue}}", "catalog-app .a{color:red;}\n"},
		{"dropped: :has(&)", ".a{body:has(&){color:red}}", "catalog-app .a{}\n"},
		{"dropped: sibling of the element", ":root{& + p{} color:red}", "catalog-app{ color:red}\n"},
		{"dropped: relative sibling of the element", "body{~ p{}}", "catalog-app{}\n"},
		{"dropped: in @media", ".a{@media (x){:not(&){}}}", "catalog-app .a{@media (x){}}\n"},
		{"dropped: @scope", ".a{@scope (:not(&)){p{}}}", "catalog-app .a{}\n"},
		{"dropped: deeper", ".a{.b{:not(&){}}}", "catalog-app .a{.b{}}\n"},
		{"dropped: column", ".a{& || td{}}", "catalog-app .a{}\n"},
		{"dropped: invalid", ".a{&div{}}", "catalog-app .a{}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkScope(t, tt.in, tt.want) })
	}
}

func TestScopeCSSDeclarations(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"url", ".a{background:url(data:image/png;base64,iVBOR==) no-repeat}", "catalog-app .a{background:url(data:image/png;base64,iVBOR==) no-repeat}\n"},
		{"quoted url", `.a{background:url( "a b.png" )}`, `catalog-app .a{background:url( "a b.png" )}` + "\n"},
		{"braces in strings", `.a{content:"}{"}.b{content:'\'}'}`, `catalog-app .a{content:"}{"}` + "\n" + `catalog-app .b{content:'\'}'}` + "\n"},
		{"important", ".a{color:red !important}", "catalog-app .a{color:red !important}\n"},
		{"custom properties", ".a{--x: { a: b }; --y:[1,2]; --z: }", "catalog-app .a{--x: { a: b }; --y:[1,2]; --z: }\n"},
		{"grid areas", `.a{grid-template-areas:"a b" "c d"}`, `catalog-app .a{grid-template-areas:"a b" "c d"}` + "\n"},
		{"calc", ".a{width:calc(100% - (2 * var(--gap, 1px)))}", "catalog-app .a{width:calc(100% - (2 * var(--gap, 1px)))}\n"},
		{"comments kept in blocks", ".a{/* }} */color:red}", "catalog-app .a{/* }} */color:red}\n"},
		{"string line continuation", ".a{content:\"a\\\nb\"}", "catalog-app .a{content:\"a\\\nb\"}\n"},

		{"empty", "", ""},
		{"only comments", "/* a */ /* b */", ""},
		{"CDO and CDC", "<!-- .a{} -->", "catalog-app .a{}\n"},
		{"BOM", "\uFEFF.a{}", "catalog-app .a{}\n"},
		{"CR LF", ".a{x:1}\r\n.b{\r\n}", "catalog-app .a{x:1}\ncatalog-app .b{\n}\n"},
		{"NUL", ".a{content:\"\x00\"}", "catalog-app .a{content:\"\uFFFD\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkScope(t, tt.in, tt.want) })
	}
}

func TestScopeCSSErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"block not closed", ".a{} .b{", `line 1, column 8: "{" not closed`},
		{"paren not closed", ".a{width:calc(1px}", `line 1, column 10: "(" not closed`},
		{"stray }", ".a{}\n}.b{}", `line 2, column 1: "}" closes nothing`},
		{"line break in a string", ".a{content:\"x\n\"}", "line 1, column 12: line break in a string"},
		{"comment not closed", ".a{} /* x", "line 1, column 6: comment not closed"},
		{"string not closed", `.a{content:"x`, "line 1, column 12: string not closed"},
		{"url not closed", ".a{background:url(x", "line 1, column 15: url( not closed"},
		{"url with its string not closed", `.a{background:url("x)`, "line 1, column 15: url( not closed"},
		{"bad url", ".a{background:url(a b)}", "line 1, column 15: malformed url()"},
		{"escaped url", `.a{x:\75rl({)}`, "line 1, column 6: escaped url( is not supported"},
		{"backslash line break", ".a{x:a\\\n}", "line 1, column 7: backslash before a line break"},
		{"backslash at the end", ".a{x:a\\", "line 1, column 7: backslash before a line break or the end"},
		{"url with an escaped backslash", `.a{x:u\\rl({)}`, "line 1, column 6: escaped url( is not supported"},
		{"invalid UTF-8", ".a{}\n.b\xff{}", "line 2, column 3: invalid UTF-8"},
		{"every problem, in order", ".a{background:url(a b)}\n.b{}}\n.c{x:\\75rl(x)}", "line 1, column 15: malformed url()\nline 2, column 5: \"}\" closes nothing\nline 3, column 6: escaped url("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScopeCSS([]byte(tt.in), "catalog-app")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ScopeCSS(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, element := range []string{"", "catalog", "Catalog-app", "1-app", "catalog_app", "catalog-app,body", "-app"} {
		if _, err := ScopeCSS([]byte(".a{}"), element); err == nil {
			t.Errorf("ScopeCSS(.a{}, %q) succeeded, want an error for the element name", element)
		}
	}
}

// TestScopeCSSGolden rewrites each testdata/scope/X.css and compares it
// with X.scoped.css. go test ./cdn -run TestScopeCSSGolden -update
// rewrites the expected files.
func TestScopeCSSGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "scope", "*.css"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, scopedSuffix) {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ScopeCSS(src, "catalog-app")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".css") + scopedSuffix
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := 0; i < max(len(gl), len(wl)); i++ {
					if i >= len(gl) || i >= len(wl) || gl[i] != wl[i] {
						t.Fatalf("ScopeCSS(%s) differs from %s (run with -update to accept) from line %d:\n got %q\nwant %q", in, golden, i+1, strings.Join(gl[i:min(i+3, len(gl))], "\n"), strings.Join(wl[i:min(i+3, len(wl))], "\n"))
					}
				}
			}
			checkScopedOutput(t, got, "catalog-app")
		})
	}
	if n == 0 {
		t.Fatal("no golden inputs in testdata/scope")
	}
}

// FuzzScopeCSS checks that ScopeCSS never panics, and that what it writes
// lexes cleanly, is left as it is by a second run, and scopes every
// top-level style rule to the element.
func FuzzScopeCSS(f *testing.F) {
	for _, s := range []string{
		".card{color:red}",
		"h1, .x > p{margin:0}",
		":root{--a:1} html body .x{} body.dark .x{} :root:has(.x) p{}",
		":host(.active) p{} :host-context(.dark){} :host(div){}",
		"a:is(.x,.y)::before{content:'}'}",
		`[data-x="a,b{}"] p, .a\,b, .\31 0{}`,
		"@media (min-width:1px){.a{}} @supports (x:y){@layer l{html{}}} @layer a, b;",
		"@keyframes k{from{top:0}50%{top:1px}} @font-face{font-family:x;src:url(a.woff2)}",
		".a{color:red;& .b{} .c &{} :not(&){} @media (x){body:has(&){}}}",
		"@scope (.a) to (.b){p{}} @scope{:scope{}}",
		`.a{background:url(data:x;y) ; content:"{"}`,
		"@import 'x.css'; @charset \"utf-8\"; <!-- .a{} -->",
		".x\\31/**/ .y{} :host(.x\\31) p{}",
		".a{--x:{a:b}} @foo{.b{}} @bar{c:d}",
		"@--doCument {0} @-moz-document url-prefix(){.a{}}",
		"-- >A{}",
		"@A{A(0{0}00)}",
		"@sC\\ope{0{}}",
		".a{", "}", "/*", "'", "url(", ".a{x:\\75rl({)})}", "\\\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := ScopeCSS(src, "catalog-app")
		if err != nil {
			if out != nil {
				t.Errorf("ScopeCSS(%q) returned output %q with error %v", src, out, err)
			}
			return
		}
		again, err := ScopeCSS(out, "catalog-app")
		if err != nil {
			t.Fatalf("ScopeCSS(%q) = %q, which it then rejects: %v", src, out, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("ScopeCSS(%q) = %q, and once more %q: not idempotent", src, out, again)
		}
		checkScopedOutput(t, out, "catalog-app")
	})
}

// checkScopedOutput checks, independently of ScopeCSS's own parsing, that
// out lexes without bad tokens and that the selectors of every style rule
// at its top or in group rules, and of every @scope, start with element.
func checkScopedOutput(tb testing.TB, out []byte, element string) {
	tb.Helper()
	type tok struct {
		tt   css.TokenType
		data string
	}
	var toks []tok
	l := css.NewLexer(parse.NewInputBytes(bytes.Clone(out)))
	for {
		tt, data := l.Next()
		if tt == css.ErrorToken {
			if l.Err() != io.EOF {
				tb.Fatalf("output %q: lexer: %v", out, l.Err())
			}
			break
		}
		if tt == css.BadStringToken || tt == css.BadURLToken {
			tb.Fatalf("output %q: %s %q", out, tt, data)
		}
		toks = append(toks, tok{tt, string(data)})
	}
	// end returns the index after the block or group opening at i. As in
	// a browser, a closing token that does not match is an ordinary one.
	end := func(i int) int {
		var want []css.TokenType
		for ; i < len(toks); i++ {
			switch toks[i].tt {
			case css.LeftBraceToken:
				want = append(want, css.RightBraceToken)
			case css.LeftBracketToken:
				want = append(want, css.RightBracketToken)
			case css.LeftParenthesisToken, css.FunctionToken:
				want = append(want, css.RightParenthesisToken)
			case want[len(want)-1]:
				want = want[:len(want)-1]
				if len(want) == 0 {
					return i + 1
				}
			}
		}
		tb.Fatalf("output %q: block not closed", out)
		return 0
	}
	groupEnd := func(i int) int {
		switch toks[i].tt {
		case css.LeftParenthesisToken, css.LeftBracketToken, css.FunctionToken:
			return end(i)
		}
		return i + 1
	}
	// next returns the index of the first "{" or ";" from i on, outside
	// groups, or hi.
	next := func(i, hi int) int {
		for i < hi && toks[i].tt != css.LeftBraceToken && toks[i].tt != css.SemicolonToken {
			switch toks[i].tt {
			case css.LeftParenthesisToken, css.LeftBracketToken, css.FunctionToken:
				i = end(i)
			default:
				i++
			}
		}
		return i
	}
	// checkList checks the selector list [lo, hi): each selector must
	// start with the element, and not go to its siblings next.
	checkList := func(what string, lo, hi int) {
		for i := lo; i < hi; i++ {
			for i < hi && (toks[i].tt == css.WhitespaceToken || toks[i].tt == css.CommentToken) {
				i++
			}
			start := i
			if i == hi || toks[i].tt != css.IdentToken || toks[i].data != element {
				tb.Fatalf("output %q: a %s at token %d does not start with %s", out, what, start-lo, element)
			}
			sawSpace := false
			for i++; i < hi && toks[i].tt != css.CommaToken; {
				t := toks[i]
				sibling := t.tt == css.ColumnToken || t.tt == css.DelimToken && (t.data == "+" || t.data == "~")
				switch {
				case sibling:
					tb.Fatalf("output %q: a %s at token %d goes to the siblings of %s", out, what, start-lo, element)
				case t.tt == css.WhitespaceToken:
					sawSpace = true
					i++
					continue
				case sawSpace || t.tt == css.DelimToken && t.data == ">":
					// Past the element's compound: what follows is inside.
					for i < hi && toks[i].tt != css.CommaToken {
						i = groupEnd(i)
					}
					continue
				}
				i = groupEnd(i)
			}
		}
	}
	var walk func(lo, hi int)
	walk = func(lo, hi int) {
		for i := lo; i < hi; {
			switch toks[i].tt {
			case css.WhitespaceToken, css.CommentToken, css.SemicolonToken, css.CDOToken, css.CDCToken:
				i++
				continue
			}
			j := next(i, hi)
			if j == hi || toks[j].tt == css.SemicolonToken {
				if toks[i].tt != css.AtKeywordToken {
					tb.Fatalf("output %q: %q is neither a rule nor an at-rule", out, toks[i].data)
				}
				i = j + 1
				continue
			}
			e := end(j)
			if toks[i].tt != css.AtKeywordToken {
				checkList("selector", i, j)
				i = e
				continue
			}
			name := identValue([]byte(toks[i].data[1:]))           // escapes decoded, as browsers compare names
			if len(name) > 1 && name[0] == '-' && name[1] != '-' { // -webkit-x, not --x
				if k := strings.Index(name[1:], "-"); k >= 0 {
					name = name[k+2:]
				}
			}
			switch name {
			case "media", "supports", "layer", "container", "document", "starting-style":
				walk(j+1, e-1)
			case "scope":
				p := i + 1
				for p < j && toks[p].tt == css.WhitespaceToken {
					p++
				}
				if toks[p].tt != css.LeftParenthesisToken {
					tb.Fatalf("output %q: @scope without a start", out)
				}
				checkList("scope start", p+1, end(p)-1)
			case "keyframes", "font-face", "property", "counter-style", "page", "font-feature-values",
				"font-palette-values", "view-transition", "position-try", "color-profile", "viewport",
				"function", "charset", "import", "namespace":
			default:
				// An unknown at-rule holding rules: a {} block at its top,
				// not one inside a function or parentheses.
				for k := j + 1; k < e-1; k = groupEnd(k) {
					if toks[k].tt == css.LeftBraceToken {
						walk(j+1, e-1)
						break
					}
				}
			}
			i = e
		}
	}
	walk(0, len(toks))
}

// BenchmarkScopeCSS rewrites a stylesheet of about 50 KB: the golden
// design system, repeated.
//
//	go test ./cdn -run '^$' -bench BenchmarkScopeCSS -benchmem
func BenchmarkScopeCSS(b *testing.B) {
	one, err := os.ReadFile(filepath.Join("testdata", "scope", "design-system.css"))
	if err != nil {
		b.Fatal(err)
	}
	src := bytes.Repeat(one, 50000/len(one)+1)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ScopeCSS(src, "catalog-app"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPublishScoped(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	files := map[string]string{
		"main.js":              "export function mount() {}\n",
		"main.css":             ":root { --accent: #a8652b }\nh1, .card > p { color: var(--accent) }\n",
		"chunks/deep/lazy.CSS": "body.dark .x { color: white }\n",
		"theme.css.map":        "{}",
	}
	m, err := Publish(ctx, store, writeTree(t, files), PublishOptions{App: "catalog", Version: "1.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	scoped := map[string]string{
		"main.scoped.css":             "catalog-app{ --accent: #a8652b }\ncatalog-app h1,catalog-app .card>p{ color: var(--accent) }\n",
		"chunks/deep/lazy.scoped.css": "catalog-app.dark .x{ color: white }\n",
	}
	want := &AssetManifest{App: "catalog", Version: "1.2.0", Entry: "main.js", Styles: []string{"main.css"}, Files: map[string]File{}}
	for p, content := range files {
		want.Files[p] = File{Size: int64(len(content)), Integrity: sri([]byte(content))}
	}
	for p, content := range scoped {
		want.Files[p] = File{Size: int64(len(content)), Integrity: sri([]byte(content))}
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Publish returned\n%+v\nwant\n%+v", m, want)
	}
	if got, err := ReadAssetManifest(ctx, store, "catalog", "1.2.0"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadAssetManifest = %+v, %v\nwant %+v", got, err, want)
	}
	if got := m.LoadedIntegrity()["main.scoped.css"]; got != want.Files["main.scoped.css"].Integrity {
		t.Errorf("LoadedIntegrity()[main.scoped.css] = %q, want %q", got, want.Files["main.scoped.css"].Integrity)
	}

	srv := newTestServer(t, store)
	for p, content := range scoped {
		res, body := get(t, srv.URL+"/cdn/catalog/1.2.0/"+p, nil)
		if res.StatusCode != 200 || body != content {
			t.Errorf("GET %s = %d %q, want 200 %q", p, res.StatusCode, body, content)
		}
		checkHeader(t, "GET "+p, res, map[string]string{
			"Content-Type": "text/css; charset=utf-8",
			"Etag":         `"` + sri([]byte(content)) + `"`,
		})
	}
}

func TestPublishScopedRefuses(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string // besides main.js
		wantErr string
	}{
		{
			name:    "reserved suffix",
			files:   map[string]string{"main.css": ".a{}", "theme.scoped.css": ".a{}"},
			wantErr: `publish catalog@1.0.0: file "theme.scoped.css": the suffix ".scoped.css" is reserved for the scoped copies publish writes beside every .css file`,
		},
		{
			name:    "reserved suffix in upper case, deep",
			files:   map[string]string{"a/b/X.SCOPED.CSS": ".a{}"},
			wantErr: `publish catalog@1.0.0: file "a/b/X.SCOPED.CSS": the suffix ".scoped.css" is reserved`,
		},
		{
			name:    "malformed stylesheet",
			files:   map[string]string{"ok.css": ".a{}", "styles/main.css": ".a{}\n.b{ color: red"},
			wantErr: `publish catalog@1.0.0: file "styles/main.css": cannot write its scoped copy: line 2, column 3: "{" not closed`,
		},
		{
			name:    "two stylesheets, one copy",
			files:   map[string]string{"a.css": ".a{}", "a.CSS": ".b{}"},
			wantErr: `publish catalog@1.0.0: file "a.css": its scoped copy "a.scoped.css" would be that of "a.CSS" too`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t)
			files := map[string]string{"main.js": "m"}
			for p, c := range tt.files {
				files[p] = c
			}
			_, err := Publish(context.Background(), store, writeTree(t, files), PublishOptions{App: "catalog", Version: "1.0.0"})
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Publish = %v\nwant an error starting %s", err, tt.wantErr)
			}
			if errors.Is(err, ErrExist) {
				t.Errorf("Publish error %v is ErrExist", err)
			}
			assertUnpublished(t, store, "catalog", "1.0.0")
		})
	}
}
