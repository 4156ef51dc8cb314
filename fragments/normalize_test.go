package fragments

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<p>fine</p>`, `<p>fine</p>`},
		{`<div><p>unclosed`, `<div><p>unclosed</p></div>`},
		{`text</main></catalog-app></template></body>after`, `textafter`},
		{`<!doctype html><html><head><title>t</title></head><body><h1>doc</h1></body></html>`, `<title>t</title><h1>doc</h1>`},
		{`<plaintext>swallows <b>all`, `<pre>swallows &lt;b&gt;all</pre>`},
		{`<script>if (a</script>`, `<script>if (a</script>`},
		{`<style>p{color:red}`, `<style>p{color:red}</style>`},
		{`<textarea></textarea><p>`, `<textarea></textarea><p></p>`},
		{`<template><tr><td>x</td></tr></template>`, `<template><tr><td>x</td></tr></template>`},
		{`<svg><circle r="1"/></svg>`, `<svg><circle r="1"></circle></svg>`},
		{`<a href="/x" onclick="y">é &amp; <b>`, `<a href="/x" onclick="y">é &amp; <b></b></a>`},
		{``, ``},
	} {
		got, err := Normalize([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// contained reports whether out, inlined into an element of a page, stays
// inside it: the page's next element is still the element's next sibling,
// in a plain element and in a template (a declarative shadow root).
func contained(t *testing.T, out string) {
	t.Helper()
	for _, wrap := range [][2]string{{`<div id="w">`, `</div>`}, {`<x-app id="w"><template shadowrootmode="open">`, `</template></x-app>`}} {
		doc, err := html.Parse(strings.NewReader(`<!doctype html><html><head></head><body>` + wrap[0] + out + wrap[1] + `<p id="after"></p></body></html>`))
		if err != nil {
			t.Fatal(err)
		}
		var body *html.Node
		for n := range doc.Descendants() {
			if n.Type == html.ElementNode && n.Data == "body" {
				body = n
				break
			}
		}
		var ids []string
		for c := body.FirstChild; c != nil; c = c.NextSibling {
			id := c.Data
			for _, a := range c.Attr {
				if a.Key == "id" {
					id = a.Val
				}
			}
			ids = append(ids, id)
		}
		if strings.Join(ids, ",") != "w,after" {
			t.Fatalf("%s…%s: body's children are %v, want [w after]; normalized: %q", wrap[0], wrap[1], ids, out)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`<p>fine</p>`, `</div></body><p>`, `<plaintext>x`, `<table><tr><td>x`, `<select><option>a`, `<template>`,
		`<svg><foreignObject><p>x</svg>`, `<math><mi>x</math>`, `<form><form></form>`, `<noscript><p>x</noscript>`,
		`<iframe>x</iframe>`, `<xmp>a</xmp>`, `<a><a>`, `<frameset>`, `<!-- x`, `<![CDATA[x]]>`, `<body><div>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Normalize(in)
		if err != nil {
			return
		}
		contained(t, string(out))
	})
}
