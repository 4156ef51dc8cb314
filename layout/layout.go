// Package layout reads the HTML template that shell pages are made from
// (DESIGN.md, "Layout and server-side fragments"): a document holding
// <main id="mfshell-stage"> for the routed app and any number of <NAME-app>
// elements for apps that are always on the page. The server renders a
// layout once per revision and route, with placeholders for what changes
// per request; Parse refuses, with the reason, a layout it could not use.
package layout

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// StageID is the id of the element the routed app is shown in.
const StageID = "mfshell-stage"

// NavID is the id of the navigation that, left empty in a layout, the
// server fills with a link to each routed app.
const NavID = "mfshell-nav"

// MaxBytes bounds a layout file.
const MaxBytes = 1 << 20

//go:embed default.html
var defaultHTML []byte

// Layout is a parsed layout. It is never changed after Parse: Render works
// on a copy.
type Layout struct {
	doc  *html.Node
	apps []string
}

// Default returns the built-in layout: a navigation bar and the stage.
func Default() *Layout {
	l, err := Parse(defaultHTML)
	if err != nil {
		panic("layout: the built-in layout: " + err.Error()) // ruled out by the tests
	}
	return l
}

// Parse reads a layout. It must be UTF-8 HTML with exactly one element of
// id mfshell-stage in its body, empty, and its <NAME-app> elements (NAME a
// valid app name) empty, outside the stage and outside one another.
func Parse(b []byte) (*Layout, error) {
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxBytes)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	l := &Layout{doc: doc}
	var stages []*html.Node
	var problems []string
	var walk func(n *html.Node, inBody bool, app string)
	walk = func(n *html.Node, inBody bool, app string) {
		if n.Type == html.ElementNode {
			line := describe(n)
			if id(n) == StageID {
				stages = append(stages, n)
				switch {
				case !inBody:
					problems = append(problems, line+": the stage must be in the body")
				case app != "":
					problems = append(problems, line+": the stage is inside <"+app+"-app>")
				case n.FirstChild != nil:
					problems = append(problems, line+": the stage must be empty (the routed app is shown in it)")
				case voidOrRaw(n):
					problems = append(problems, line+": the stage must be an element that can hold others, such as <main>")
				}
			}
			if name, ok := appName(n.Data); ok {
				switch {
				case !inBody:
					problems = append(problems, line+": app elements must be in the body")
				case app != "":
					problems = append(problems, fmt.Sprintf("%s: inside <%s-app>", line, app))
				case inStage(n):
					problems = append(problems, line+": inside the stage, which only the routed app takes")
				case n.FirstChild != nil:
					problems = append(problems, line+": must be empty (the server or the app fills it)")
				case slices.Contains(l.apps, name):
					problems = append(problems, line+": twice in the layout")
				default:
					l.apps = append(l.apps, name)
				}
				app = name
			}
			if n.DataAtom == atom.Body {
				inBody = true
			}
			if n.DataAtom == atom.Template {
				inBody = false // inert: nothing in a <template> is on the page
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inBody, app)
		}
	}
	walk(doc, false, "")
	if len(stages) == 0 {
		problems = append(problems, `no element with id "`+StageID+`": add <main id="`+StageID+`"></main> to the body`)
	} else if len(stages) > 1 {
		problems = append(problems, fmt.Sprintf(`%d elements with id %q: want one`, len(stages), StageID))
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return l, nil
}

// Apps returns the names of the apps whose elements the layout holds, in
// document order.
func (l *Layout) Apps() []string { return slices.Clone(l.apps) }

// Link is an entry of the navigation the server fills.
type Link struct{ Href, Text string }

// Page is what Render puts into a copy of the layout. The HTML strings are
// inserted as they are.
type Page struct {
	// Title, if set, is put before the layout's title: "Title · Layout's title".
	Title string
	// Head is appended to the head, after the layout's own elements.
	Head string
	// BodyStart is inserted at the start of the body, BodyEnd at its end.
	BodyStart, BodyEnd string
	// Nav is the content of an empty element of id mfshell-nav, as links.
	Nav []Link
	// Stage is the content of the stage.
	Stage string
	// App returns the content of the layout's element of app name.
	App func(name string) string
	// Nonce is set as the nonce attribute of the layout's own scripts.
	Nonce string
}

// Render returns the layout's document with p in it.
func (l *Layout) Render(p Page) ([]byte, error) {
	doc := clone(l.doc)
	raw := func(s string) *html.Node { return &html.Node{Type: html.RawNode, Data: s} }
	var elements []*html.Node // collected first: the loop below changes the tree
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode {
			elements = append(elements, n)
		}
	}
	for _, n := range elements {
		switch {
		case n.DataAtom == atom.Head:
			n.AppendChild(raw(p.Head))
		case n.DataAtom == atom.Body:
			n.InsertBefore(raw(p.BodyStart), n.FirstChild)
			n.AppendChild(raw(p.BodyEnd))
		case n.DataAtom == atom.Title && p.Title != "":
			text := p.Title
			if t := textOf(n); t != "" {
				text += " · " + t
			}
			n.FirstChild, n.LastChild = nil, nil
			n.AppendChild(&html.Node{Type: html.TextNode, Data: text})
		case n.DataAtom == atom.Script && p.Nonce != "":
			n.Attr = append(slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "nonce" }), html.Attribute{Key: "nonce", Val: p.Nonce})
		case id(n) == StageID:
			n.AppendChild(raw(p.Stage))
		case id(n) == NavID && n.FirstChild == nil:
			for _, link := range p.Nav {
				a := &html.Node{Type: html.ElementNode, Data: "a", DataAtom: atom.A, Attr: []html.Attribute{{Key: "href", Val: link.Href}}}
				a.AppendChild(&html.Node{Type: html.TextNode, Data: link.Text})
				n.AppendChild(a)
			}
		default:
			if name, ok := appName(n.Data); ok && p.App != nil && !inStage(n) {
				n.AppendChild(raw(p.App(name)))
			}
		}
	}
	var b bytes.Buffer
	if err := html.Render(&b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// appName returns NAME for a tag NAME-app whose NAME is a valid app name
// (lowercase letters, digits and hyphens, starting with a letter).
func appName(tag string) (string, bool) {
	name, ok := strings.CutSuffix(tag, "-app")
	if !ok || name == "" || len(name) > 50 || name[0] < 'a' || name[0] > 'z' {
		return "", false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", false
		}
	}
	return name, true
}

func id(n *html.Node) string {
	for _, a := range n.Attr {
		if a.Key == "id" && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func inStage(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && id(p) == StageID {
			return true
		}
	}
	return false
}

func voidOrRaw(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input, atom.Link, atom.Meta,
		atom.Source, atom.Track, atom.Wbr, atom.Script, atom.Style, atom.Textarea, atom.Title, atom.Template,
		atom.Iframe, atom.Noscript, atom.Xmp, atom.Plaintext, atom.Select, atom.Table:
		return true
	}
	return n.Namespace != ""
}

// describe names an element for an error message.
func describe(n *html.Node) string {
	if i := id(n); i != "" {
		return fmt.Sprintf("<%s id=%q>", n.Data, i)
	}
	return "<" + n.Data + ">"
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// clone returns a deep copy of n.
func clone(n *html.Node) *html.Node {
	c := &html.Node{Type: n.Type, DataAtom: n.DataAtom, Data: n.Data, Namespace: n.Namespace, Attr: slices.Clone(n.Attr)}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		c.AppendChild(clone(ch))
	}
	return c
}
