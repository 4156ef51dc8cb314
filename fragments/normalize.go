package fragments

import (
	"bytes"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Normalize returns html as an HTML5 parser reads it in the body of a
// page, serialized again: every element closed, end tags without a start
// dropped, document-level tags (doctype, html, head, body) gone, and
// <plaintext>, which no end tag can close, made a <pre>. The result can be
// inlined into any element, or a declarative shadow root's template,
// without closing it or swallowing what follows.
func Normalize(b []byte) ([]byte, error) {
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(bytes.NewReader(b), ctx)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, n := range nodes {
		unplain(n)
		if err := html.Render(&out, n); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// unplain makes every <plaintext> under n a <pre>: the parser ends a
// plaintext element only at the end of the document.
func unplain(n *html.Node) {
	if n.Type == html.ElementNode && n.DataAtom == atom.Plaintext {
		n.Data, n.DataAtom = "pre", atom.Pre
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		unplain(c)
	}
}
