package layout

import (
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"no stage", `<body><header-app></header-app></body>`, `no element with id "mfshell-stage"`},
		{"two stages", `<main id="mfshell-stage"></main><div id="mfshell-stage"></div>`, `2 elements with id`},
		{"stage not empty", `<main id="mfshell-stage"><p>hi</p></main>`, `the stage must be empty`},
		{"stage void", `<body><input id="mfshell-stage"></body>`, `can hold others`},
		{"stage in a template", `<template><main id="mfshell-stage"></main></template>`, `must be in the body`},
		{"stage in an app", `<header-app><main id="mfshell-stage"></main></header-app>`, `inside <header-app>`},
		{"app in the stage", `<main id="mfshell-stage"><header-app></header-app></main>`, `stage must be empty`},
		{"app not empty", `<main id="mfshell-stage"></main><header-app>skeleton</header-app>`, `must be empty`},
		{"app twice", `<main id="mfshell-stage"></main><header-app></header-app><header-app></header-app>`, `twice`},
		{"app in app", `<main id="mfshell-stage"></main><header-app><nav-app></nav-app></header-app>`, `must be empty`},
		{"not UTF-8", "<main id=\"mfshell-stage\"></main>\xff", `not UTF-8`},
		{"too large", `<main id="mfshell-stage"></main>` + strings.Repeat(" ", MaxBytes), `larger than`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Parse: %v, want an error with %q", err, tc.err)
			}
		})
	}
}

func TestParseApps(t *testing.T) {
	l, err := Parse([]byte(`<!doctype html><title>Shop</title><header-app></header-app><main id="mfshell-stage"></main><x-app2></x-app2><footer-app></footer-app><my-button></my-button>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Apps(), ","); got != "header,footer" {
		t.Errorf("Apps() = %s", got)
	}
}

func TestRender(t *testing.T) {
	l, err := Parse([]byte(`<!doctype html><html><head><title>Shop</title><script src="/analytics.js"></script></head>
<body><header-app></header-app><nav id="mfshell-nav"></nav><main id="mfshell-stage"></main><footer-app></footer-app></body></html>`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.Render(Page{
		Title:     "catalog",
		Head:      `<script type="module" src="/rt.js"></script>`,
		BodyStart: `<form id="badge"></form>`,
		Nav:       []Link{{"/catalog", "catalog"}, {"/a&b", "<b>"}},
		Stage:     `<catalog-app>CATALOG</catalog-app>`,
		App:       func(name string) string { return strings.ToUpper(name) },
		Nonce:     "N0NCE",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		`<title>catalog · Shop</title>`,
		`<script src="/analytics.js" nonce="N0NCE"></script><script type="module" src="/rt.js"></script></head>`,
		`<body><form id="badge"></form><header-app>HEADER</header-app>`,
		`<nav id="mfshell-nav"><a href="/catalog">catalog</a><a href="/a&amp;b">&lt;b&gt;</a></nav>`,
		`<main id="mfshell-stage"><catalog-app>CATALOG</catalog-app></main><footer-app>FOOTER</footer-app>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %s:\n%s", want, got)
		}
	}
	// The layout itself is unchanged: a second page has no trace of the first.
	out, _ = l.Render(Page{})
	if strings.Contains(string(out), "CATALOG") || strings.Contains(string(out), "N0NCE") || strings.Contains(string(out), "<a ") {
		t.Errorf("second render has the first's content:\n%s", out)
	}
}

func TestDefault(t *testing.T) {
	l := Default()
	if len(l.Apps()) != 0 {
		t.Errorf("apps in the default layout: %v", l.Apps())
	}
	out, err := l.Render(Page{Title: "home", Nav: []Link{{"/", "home"}}, Stage: "<home-app></home-app>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<title>home · mfshell</title>`, `<nav id="mfshell-nav" aria-label="Apps"><a href="/">home</a></nav>`, `<main id="mfshell-stage"><home-app></home-app></main>`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("default page lacks %s", want)
		}
	}
}
