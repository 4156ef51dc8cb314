package cdn

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

// ScopeCSS rewrites a stylesheet so that every rule applies only inside the
// element named element (e.g. "catalog-app"). Publish writes its result as
// X.scoped.css beside every X.css, for apps whose isolation is "scoped".
// It is safe for concurrent use.
//
// # Selectors
//
// Every complex selector of every style rule, at the top of the sheet or
// inside @media, @supports, @layer, @container, @document, @starting-style
// (and unknown at-rules that hold rules), gets the element as its first
// compound: ".card" becomes "catalog-app .card", "h1, .x > p" becomes
// "catalog-app h1,catalog-app .x>p". Leading compounds that stand for the
// page become the element itself:
//
//	:root, html, body, &       catalog-app          (html body .x → catalog-app .x)
//	body.dark, :root:has(.x)   catalog-app.dark, catalog-app:has(.x)
//	:host                      catalog-app
//	:host(.active)             catalog-app.active   (a compound without a type)
//	:host(div.active)          catalog-app:is(div.active)
//	:host-context(.dark)       catalog-app:is(.dark,.dark *)
//
// Such a compound loses its type selector, so its specificity may drop
// (":root" counts as a class, "catalog-app" as a type). Only leading
// compounds are mapped: ":root" deeper in a selector, or inside :is(), is
// kept and then matches nothing. A selector that already starts with the
// element is kept (with the name as given: CATALOG-APP becomes
// catalog-app), unless a sibling combinator follows the element
// ("catalog-app ~ p"), which would reach outside: that one is prefixed
// like any other. Selectors are written minified, without comments.
//
// Rules nested in a style rule (CSS nesting) stay relative to it: the
// block, declarations and nested rules, is copied byte for byte. The one
// exception is a nested rule whose selector could match outside its parent,
// like ":not(&)", "body:has(&)", or "& + p" under a rule for the element
// itself: it is dropped.
//
// At-rules whose bodies hold no selectors (@keyframes, @font-face,
// @property, @counter-style, @page, @font-feature-values, @function, ...)
// and statements (@import, @charset, @namespace, @layer a, b;) are copied
// unchanged; their names (of keyframes, fonts, layers) stay global, and a
// sheet loaded by @import is not scoped. @scope gets the element as the
// start of its scope, "@scope (.card)" becoming "@scope (catalog-app
// .card)" and "@scope" alone "@scope (catalog-app)"; its body only applies
// inside that scope and is copied unchanged.
//
// The output has one rule or statement per line; comments outside blocks
// are dropped.
//
// # Malformed input
//
// ScopeCSS never panics. It returns an error, listing every problem (up to
// 20) with its line and column, if the stylesheet is broken at the level of
// tokens and blocks, where a browser might see blocks end elsewhere than
// ScopeCSS does and so apply a rule unscoped: invalid UTF-8; a comment,
// string or url() not closed; a line break in a string; a malformed url();
// a block, bracket or parenthesis still open at the end; a "}" that closes
// nothing; a backslash before a line break (or the end) outside a string;
// an escaped "url(", which the tokenizer reads differently from browsers.
//
// In a stylesheet without such problems, ScopeCSS drops, as a browser
// would, what it cannot scope and a browser could not use, and never emits
// it unscoped: a style rule whose selector it does not understand (a
// browser drops nearly all of them too), a declaration outside any style
// rule, a selector without a block at the end of the sheet or of a group.
//
// It returns an error if element is not a lower-case custom element name.
func ScopeCSS(src []byte, element string) ([]byte, error) {
	if err := checkElement(element); err != nil {
		return nil, err
	}
	s := &scoper{element: element}
	if err := s.load(src); err != nil {
		return nil, err
	}
	s.out = make([]byte, 0, len(s.src)+len(s.src)/4)
	s.sheet()
	return s.out, nil
}

// checkElement returns nil if name is usable as a custom element name in a
// selector: a lower-case ASCII letter, then letters, digits and hyphens,
// with at least one hyphen.
func checkElement(name string) error {
	ok := name != "" && name[0] >= 'a' && name[0] <= 'z' && strings.Contains(name, "-")
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("element %q: must be a lower-case letter, then letters, digits and hyphens, with a hyphen", name)
	}
	return nil
}

// scoper holds one run of ScopeCSS: the input as tokens and the output.
type scoper struct {
	element string
	src     []byte  // preprocessed input
	toks    []token // all of src, comments and white space included
	match   []int   // for an opening token, the index of its closing one; else -1
	out     []byte
}

// token is one token of src.
type token struct {
	tt         css.TokenType
	start, end int // offsets in src
}

// load preprocesses src as the CSS syntax says (CR LF, CR and FF become LF,
// NUL becomes U+FFFD, a leading BOM goes), tokenizes it with the tdewolff
// lexer, pairs brackets as a browser does, and reports every problem that
// would make a browser and this rewriter see different blocks.
func (s *scoper) load(src []byte) error {
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		line, col := position(src, off)
		return fmt.Errorf("line %d, column %d: invalid UTF-8", line, col)
	}
	// One spare byte: the lexer puts a NUL after the input.
	buf := make([]byte, 0, len(src)+1)
	for len(src) > 0 {
		i := bytes.IndexAny(src, "\r\f\x00")
		if i < 0 {
			buf = append(buf, src...)
			break
		}
		buf = append(buf, src[:i]...)
		switch src[i] {
		case '\r':
			buf = append(buf, '\n')
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
		case '\f':
			buf = append(buf, '\n')
		case 0:
			buf = append(buf, "\uFFFD"...)
		}
		src = src[i+1:]
	}
	s.src = buf

	type problemAt struct {
		off int
		msg string
	}
	var problems []problemAt
	problem := func(off int, format string, args ...any) {
		problems = append(problems, problemAt{off, fmt.Sprintf(format, args...)})
	}
	l := css.NewLexer(parse.NewInputBytes(s.src))
	s.toks = make([]token, 0, len(s.src)/2+16) // CSS has about one token in three bytes
	for pos := 0; ; {
		tt, data := l.Next()
		if tt == css.ErrorToken {
			if err := l.Err(); err != io.EOF {
				return fmt.Errorf("read: %w", err)
			}
			if pos != len(s.src) {
				line, col := position(s.src, pos)
				return fmt.Errorf("line %d, column %d: tokenizer stopped early", line, col)
			}
			break
		}
		t := token{tt, pos, pos + len(data)}
		pos = t.end
		switch tt {
		case css.CommentToken:
			if len(data) < 4 || !bytes.HasSuffix(data, []byte("*/")) {
				problem(t.start, "comment not closed")
			}
		case css.StringToken:
			if !stringClosed(data) {
				problem(t.start, "string not closed")
			}
		case css.BadStringToken:
			problem(t.start, "line break in a string (escape it as \\a)")
		case css.URLToken:
			// The lexer takes u\\rl( for url( too; a browser does not.
			if !bytes.EqualFold(data[:4], []byte("url(")) {
				problem(t.start, "escaped url( is not supported")
			} else if !urlClosed(data) {
				problem(t.start, "url( not closed")
			}
		case css.BadURLToken:
			problem(t.start, "malformed url()")
		case css.FunctionToken:
			if bytes.IndexByte(data, '\\') >= 0 && identValue(data[:len(data)-1]) == "url" {
				problem(t.start, "escaped url( is not supported")
			}
		case css.DelimToken:
			if data[0] == '\\' {
				problem(t.start, "backslash before a line break or the end, outside a string")
			}
		}
		s.toks = append(s.toks, t)
	}

	// Pair brackets. As in a browser, a closing token that does not match
	// the innermost open one is an ordinary token, except a "}" with
	// nothing open, which would swallow the next rule.
	s.match = make([]int, len(s.toks))
	var open []int
	for i, t := range s.toks {
		s.match[i] = -1
		switch t.tt {
		case css.LeftBraceToken, css.LeftParenthesisToken, css.LeftBracketToken, css.FunctionToken:
			open = append(open, i)
		case css.RightBraceToken, css.RightParenthesisToken, css.RightBracketToken:
			if len(open) > 0 && closes(s.toks[open[len(open)-1]].tt, t.tt) {
				o := open[len(open)-1]
				open = open[:len(open)-1]
				s.match[o], s.match[i] = i, o
			} else if len(open) == 0 && t.tt == css.RightBraceToken {
				problem(t.start, "\"}\" closes nothing")
			}
		}
	}
	for _, o := range open {
		problem(s.toks[o].start, "%q not closed", s.src[s.toks[o].end-1:s.toks[o].end])
	}
	slices.SortStableFunc(problems, func(a, b problemAt) int { return a.off - b.off })
	var errs []error
	for _, p := range problems[:min(len(problems), maxProblems)] {
		line, col := position(s.src, p.off)
		errs = append(errs, fmt.Errorf("line %d, column %d: %s", line, col, p.msg))
	}
	if len(problems) > maxProblems {
		errs = append(errs, fmt.Errorf("and %d more problems", len(problems)-maxProblems))
	}
	return errors.Join(errs...)
}

// closes reports whether the token type closer closes opener.
func closes(opener, closer css.TokenType) bool {
	switch opener {
	case css.LeftBraceToken:
		return closer == css.RightBraceToken
	case css.LeftBracketToken:
		return closer == css.RightBracketToken
	default:
		return closer == css.RightParenthesisToken
	}
}

// position returns the line and column (in characters), both from 1, of
// offset off in src.
func position(src []byte, off int) (line, col int) {
	before := src[:off]
	nl := bytes.LastIndexByte(before, '\n')
	return bytes.Count(before, []byte("\n")) + 1, utf8.RuneCount(before[nl+1:]) + 1
}

// stringClosed reports whether the string token data ends with its quote.
func stringClosed(data []byte) bool {
	for i := 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++ // escaped: a quote, a backslash or a line break
		case data[0]:
			return i == len(data)-1
		}
	}
	return false
}

// urlClosed reports whether the url token data, which starts with "url(",
// ends with its ")", not escaped or inside its string.
func urlClosed(data []byte) bool {
	if len(data) < 5 || data[len(data)-1] != ')' {
		return false
	}
	body := data[4 : len(data)-1]
	if b := bytes.TrimLeft(body, " \t\n"); len(b) > 0 && (b[0] == '"' || b[0] == '\'') {
		for i := 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case b[0]:
				return len(bytes.Trim(b[i+1:], " \t\n")) == 0
			}
		}
		return false
	}
	// Unquoted: the last ")" must not be escaped.
	escaped := false
	for i := len(body) - 1; i >= 0 && body[i] == '\\'; i-- {
		escaped = !escaped
	}
	return !escaped
}

// identValue returns the value of an identifier as written, escapes
// decoded, ASCII letters lower-cased: what CSS compares names by.
func identValue(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return asciiLower(b)
	}
	v := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' || i+1 == len(b) {
			v = append(v, b[i])
			i++
			continue
		}
		i++
		j := i
		for j < len(b) && j-i < 6 && isHex(b[j]) {
			j++
		}
		if j == i {
			_, n := utf8.DecodeRune(b[i:])
			v = append(v, b[i:i+n]...)
			i += n
			continue
		}
		r, _ := strconv.ParseUint(string(b[i:j]), 16, 32)
		if r == 0 || r > utf8.MaxRune || r >= 0xD800 && r <= 0xDFFF {
			r = utf8.RuneError
		}
		v = utf8.AppendRune(v, rune(r))
		i = j
		if i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n') {
			i++
		}
	}
	return asciiLower(v)
}

func asciiLower(b []byte) string {
	out := []byte(nil)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			if out == nil {
				out = append([]byte(nil), b...)
			}
			out[i] = c + 'a' - 'A'
		}
	}
	if out == nil {
		return string(b)
	}
	return string(out)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Token helpers. Indexes run over s.toks; hi is always exclusive.

func (s *scoper) data(i int) []byte { return s.src[s.toks[i].start:s.toks[i].end] }

func (s *scoper) isDelim(i int, c byte) bool {
	return s.toks[i].tt == css.DelimToken && s.src[s.toks[i].start] == c
}

func (s *scoper) isTrivia(i int) bool {
	tt := s.toks[i].tt
	return tt == css.WhitespaceToken || tt == css.CommentToken
}

// after returns the index after the token at i, or after its whole block
// if it opens one.
func (s *scoper) after(i int) int {
	if m := s.match[i]; m > i {
		return m + 1
	}
	return i + 1
}

// skipTrivia returns the first index from i on that is not white space or
// a comment.
func (s *scoper) skipTrivia(i, hi int) int {
	for i < hi && s.isTrivia(i) {
		i++
	}
	return i
}

// trim returns [lo, hi) without white space and comments at either end.
func (s *scoper) trim(lo, hi int) (int, int) {
	lo = s.skipTrivia(lo, hi)
	for hi > lo && s.isTrivia(hi-1) {
		hi--
	}
	return lo, hi
}

// raw returns the source of tokens [lo, hi).
func (s *scoper) raw(lo, hi int) []byte {
	if lo >= hi {
		return nil
	}
	return s.src[s.toks[lo].start:s.toks[hi-1].end]
}

// space writes one space, and one more before it if the output ends in a
// hexadecimal escape that would otherwise take that space as its end.
func (s *scoper) space() {
	if endsInOpenEscape(s.out) {
		s.out = append(s.out, ' ')
	}
	s.out = append(s.out, ' ')
}

// endsInOpenEscape reports whether b ends with a backslash and one to six
// hex digits: an escape that a following white space would end.
func endsInOpenEscape(b []byte) bool {
	n := 0
	for n < len(b) && n < 7 && isHex(b[len(b)-1-n]) {
		n++
	}
	if n == 0 || n > 6 || n == len(b) || b[len(b)-1-n] != '\\' {
		return false
	}
	slashes := 0
	for i := len(b) - 1 - n; i >= 0 && b[i] == '\\'; i-- {
		slashes++
	}
	return slashes%2 == 1
}

// The sheet and its groups.

// sheet rewrites the whole stylesheet. At its top a qualified rule's
// prelude runs to the first "{", semicolons included, as in a browser.
func (s *scoper) sheet() {
	for i, hi := 0, len(s.toks); i < hi; {
		switch s.toks[i].tt {
		case css.WhitespaceToken, css.CommentToken, css.CDOToken, css.CDCToken:
			i++ // browsers ignore <!-- and --> at the top of a sheet
		case css.AtKeywordToken:
			i = s.atRule(i, hi)
		default:
			j := i
			for j < hi && s.toks[j].tt != css.LeftBraceToken {
				j = s.after(j)
			}
			if j == hi {
				return // a prelude without a block: nothing to apply
			}
			s.styleRule(i, j)
			i = s.after(j)
		}
	}
}

// group rewrites the body of a group rule (@media and the like), tokens
// [lo, hi), which browsers parse as a block: declarations (dropped here,
// since they would not apply) and rules.
func (s *scoper) group(lo, hi int) {
	for i := lo; i < hi; {
		switch s.toks[i].tt {
		case css.WhitespaceToken, css.CommentToken, css.SemicolonToken:
			i++
		case css.AtKeywordToken:
			i = s.atRule(i, hi)
		default:
			brace, next := s.blockItem(i, hi)
			if brace >= 0 {
				s.styleRule(i, brace)
			}
			i = next
		}
	}
}

// blockItem parses the item starting at i inside a block that ends at hi
// the way browsers do (CSS Syntax, "consume a block's contents"): first as
// a declaration, and if that fails, as a rule that ends at ";". It returns
// the index of the rule's "{", or -1 for a declaration or nothing, and the
// index where the next item starts.
func (s *scoper) blockItem(i, hi int) (brace, next int) {
	if tt := s.toks[i].tt; tt == css.IdentToken || tt == css.CustomPropertyNameToken {
		if k := s.skipTrivia(i+1, hi); k < hi && s.toks[k].tt == css.ColonToken {
			end, block := k+1, false
			for ; end < hi && s.toks[end].tt != css.SemicolonToken; end = s.after(end) {
				block = block || s.toks[end].tt == css.LeftBraceToken
			}
			// A value holding a {} block is no declaration, except for a
			// custom property; browsers then read the item as a rule.
			if !block || tt == css.CustomPropertyNameToken {
				return -1, end
			}
		}
	}
	for j := i; j < hi; j = s.after(j) {
		switch s.toks[j].tt {
		case css.SemicolonToken:
			return -1, j + 1
		case css.LeftBraceToken:
			return j, s.after(j)
		}
	}
	return -1, hi
}

// at-rule kinds, by what their blocks hold.
const (
	atUnknown  = iota
	atGroup    // rules, rewritten: @media, @supports, ...
	atVerbatim // no selectors: @keyframes, @font-face, ...
	atScope
)

// atKind returns the kind of the at-rule named name (lower-case, escapes
// decoded, without "@" and any vendor prefix).
func atKind(name string) int {
	switch name {
	case "media", "supports", "layer", "container", "document", "starting-style":
		return atGroup
	case "scope":
		return atScope
	case "keyframes", "font-face", "property", "counter-style", "page", "font-feature-values",
		"font-palette-values", "view-transition", "position-try", "color-profile", "viewport",
		"function", "charset", "import", "namespace":
		return atVerbatim
	}
	return atUnknown
}

// atName returns the name of the at-keyword token at i for atKind.
func (s *scoper) atName(i int) string {
	name := identValue(s.data(i)[1:])
	if len(name) > 1 && name[0] == '-' && name[1] != '-' {
		if j := strings.IndexByte(name[1:], '-'); j >= 0 {
			name = name[j+2:] // -webkit-keyframes
		}
	}
	return name
}

// atRuleEnd returns, for the at-rule at i in a list that ends at hi, the
// index of its "{" or ";" (or hi).
func (s *scoper) atRuleEnd(i, hi int) int {
	j := i + 1
	for j < hi && s.toks[j].tt != css.LeftBraceToken && s.toks[j].tt != css.SemicolonToken {
		j = s.after(j)
	}
	return j
}

// atRule writes the at-rule at i, in a sheet or group that ends at hi, and
// returns the index after it.
func (s *scoper) atRule(i, hi int) int {
	j := s.atRuleEnd(i, hi)
	if j == hi || s.toks[j].tt == css.SemicolonToken {
		// A statement (@import, @layer a, b;), kept as written. At the end
		// of its block it gets the ";" a browser would assume.
		if j < hi {
			s.out = append(s.out, s.raw(i, j+1)...)
		} else {
			_, e := s.trim(i, j)
			s.out = append(s.out, s.raw(i, e)...)
			s.out = append(s.out, ';')
		}
		s.out = append(s.out, '\n')
		return j + 1
	}
	lo, hi2 := j+1, s.match[j]
	kind := atKind(s.atName(i))
	if kind == atUnknown {
		// Unknown: if it holds blocks it may hold rules, and is scoped like
		// @media; if not, it holds declarations at most, kept as they are.
		kind = atVerbatim
		for k := lo; k < hi2; k = s.after(k) {
			if s.toks[k].tt == css.LeftBraceToken {
				kind = atGroup
				break
			}
		}
	}
	switch kind {
	case atVerbatim:
		s.out = append(s.out, s.raw(i, hi2+1)...)
		s.out = append(s.out, '\n')
	case atGroup:
		s.out = append(s.out, s.data(i)...)
		if p0, p1 := s.trim(i+1, j); p0 < p1 {
			s.space()
			s.out = append(s.out, s.raw(p0, p1)...)
		}
		s.out = append(s.out, "{\n"...)
		s.group(lo, hi2)
		s.out = append(s.out, "}\n"...)
	case atScope:
		s.scopeRule(i, j)
	}
	return hi2 + 1
}

// scopeRule writes the @scope rule at i whose block opens at brace, with
// the element as (the start of) its scope, or drops it if its prelude is
// not understood.
func (s *scoper) scopeRule(i, brace int) {
	mark := len(s.out)
	p0, p1 := s.trim(i+1, brace)
	s.out = append(s.out, s.data(i)...)
	s.space()
	s.out = append(s.out, '(')
	k := p0
	if k < p1 && s.toks[k].tt == css.LeftParenthesisToken {
		if _, ok := s.writeScopedList(k+1, s.match[k]); !ok {
			s.out = s.out[:mark]
			return
		}
		k = s.skipTrivia(s.after(k), p1)
	} else {
		s.out = append(s.out, s.element...)
	}
	s.out = append(s.out, ')')
	if k < p1 && s.toks[k].tt == css.IdentToken && identValue(s.data(k)) == "to" {
		k = s.skipTrivia(k+1, p1)
		if k == p1 || s.toks[k].tt != css.LeftParenthesisToken {
			s.out = s.out[:mark]
			return
		}
		s.out = append(s.out, " to "...)
		s.out = append(s.out, s.raw(k, s.after(k))...)
		k = s.skipTrivia(s.after(k), p1)
	}
	if k != p1 {
		s.out = s.out[:mark]
		return
	}
	// Rules inside @scope only match elements in the scope: kept as they are.
	s.out = append(s.out, s.raw(brace, s.after(brace))...)
	s.out = append(s.out, '\n')
}

// styleRule writes the top-level style rule whose prelude is [i, brace):
// its selectors scoped and its block as written, less any nested rule that
// could reach outside. A rule whose selector is not understood is dropped.
func (s *scoper) styleRule(i, brace int) {
	mark := len(s.out)
	strict, ok := s.writeScopedList(i, brace)
	if !ok {
		s.out = s.out[:mark]
		return
	}
	s.out = append(s.out, '{')
	s.writeBlock(brace, strict)
	s.out = append(s.out, "}\n"...)
}

// writeBlock writes the contents of the style rule block opening at brace
// as written, except nested rules whose selectors could match
// outside the rule's subjects. strict says whether those subjects are
// strictly inside the element (not the element itself).
func (s *scoper) writeBlock(brace int, strict bool) {
	var drops [][2]int
	s.checkBlock(brace+1, s.match[brace], strict, &drops)
	pos := s.toks[brace].end
	for _, d := range drops {
		s.out = append(s.out, s.src[pos:d[0]]...)
		pos = d[1]
	}
	s.out = append(s.out, s.src[pos:s.toks[s.match[brace]].start]...)
}

// checkBlock walks the contents [lo, hi) of a style rule's block and
// appends to drops the byte spans of the nested rules and @scope rules that
// could match outside the rule's subjects, strictly inside the element if
// strict.
func (s *scoper) checkBlock(lo, hi int, strict bool, drops *[][2]int) {
	for i := lo; i < hi; {
		switch s.toks[i].tt {
		case css.WhitespaceToken, css.CommentToken, css.SemicolonToken:
			i++
		case css.AtKeywordToken:
			j := s.atRuleEnd(i, hi)
			if j == hi || s.toks[j].tt == css.SemicolonToken {
				i = j + 1
				continue
			}
			switch atKind(s.atName(i)) {
			case atVerbatim:
				// No selectors inside, and not valid nested anyway.
			case atScope:
				// Its body only matches inside its scope root, which must
				// be inside the rule's subjects.
				if p0, p1 := s.trim(i+1, j); p0 < p1 && s.toks[p0].tt == css.LeftParenthesisToken {
					if ok, _ := s.nestedConfined(p0+1, s.match[p0], strict); !ok {
						*drops = append(*drops, [2]int{s.toks[i].start, s.toks[s.match[j]].end})
					}
				}
			default:
				s.checkBlock(j+1, s.match[j], strict, drops)
			}
			i = s.after(j)
		default:
			brace, next := s.blockItem(i, hi)
			if brace >= 0 {
				if ok, childStrict := s.nestedConfined(i, brace, strict); ok {
					s.checkBlock(brace+1, s.match[brace], childStrict, drops)
				} else {
					*drops = append(*drops, [2]int{s.toks[i].start, s.toks[s.match[brace]].end})
				}
			}
			i = next
		}
	}
}

// Selectors.

// simple is one simple selector of a compound: tokens [lo, hi).
type simple struct {
	kind   int
	lo, hi int
	name   string // type and pseudo-class names, lower-case, without ':' or '('
	ns     bool   // a type selector with a namespace prefix
	fn     bool   // a functional pseudo-class
	tok    int    // the index of the name's (or function's) token
}

// simple kinds
const (
	selType  = iota // div, *, ns|div
	selOther        // #id, .class, [attr], ::pseudo-element
	selPseudoClass
	selNesting // &
)

type compound []simple

// complexSel is one complex selector: compounds joined by combinators, and
// for a nested rule, maybe a combinator before the first.
type complexSel struct {
	lead      byte // 0, '>', '+' or '~'
	compounds []compound
	combs     []byte // between compounds: ' ', '>', '+', '~', or '|' for "||"
	lo, hi    int    // its tokens
}

// parseList parses the selector list [lo, hi) into complex selectors, and
// reports whether all of them are understood. relative allows a leading
// combinator (nested rules).
func (s *scoper) parseList(lo, hi int, relative bool) ([]complexSel, bool) {
	var list []complexSel
	start := lo
	for i := lo; ; i = s.after(i) {
		if i < hi && s.toks[i].tt != css.CommaToken {
			continue
		}
		c, ok := s.parseComplex(start, i, relative)
		if !ok {
			return nil, false
		}
		list = append(list, c)
		if i >= hi {
			return list, true
		}
		start = i + 1
	}
}

// combinator returns the combinator token i is, or 0.
func (s *scoper) combinator(i int) byte {
	switch t := s.toks[i]; t.tt {
	case css.ColumnToken:
		return '|'
	case css.DelimToken:
		if c := s.src[t.start]; c == '>' || c == '+' || c == '~' {
			return c
		}
	}
	return 0
}

func (s *scoper) parseComplex(lo, hi int, relative bool) (complexSel, bool) {
	c := complexSel{lo: lo, hi: hi}
	i := s.skipTrivia(lo, hi)
	if i == hi {
		return c, false
	}
	if relative {
		if comb := s.combinator(i); comb != 0 && comb != '|' {
			c.lead = comb
			i = s.skipTrivia(i+1, hi)
		}
	}
	for {
		comp, next := s.parseCompound(i, hi)
		if len(comp) == 0 {
			return c, false
		}
		c.compounds = append(c.compounds, comp)
		i = next
		k := s.skipTrivia(i, hi)
		if k == hi {
			return c, true
		}
		sawSpace := false
		for j := i; j < k; j++ {
			sawSpace = sawSpace || s.toks[j].tt == css.WhitespaceToken
		}
		comb := s.combinator(k)
		switch {
		case comb != 0:
			k = s.skipTrivia(k+1, hi)
			if k == hi {
				return c, false
			}
		case sawSpace:
			comb = ' '
		default:
			return c, false
		}
		c.combs = append(c.combs, comb)
		i = k
	}
}

// isName reports whether token i is an identifier or "*".
func (s *scoper) isName(i int) bool {
	tt := s.toks[i].tt
	return tt == css.IdentToken || tt == css.CustomPropertyNameToken || s.isDelim(i, '*')
}

// nextTok returns the first index from i on that is not a comment (white
// space counts: it ends a compound).
func (s *scoper) nextTok(i, hi int) int {
	for i < hi && s.toks[i].tt == css.CommentToken {
		i++
	}
	return i
}

// parseCompound parses the compound selector starting at i and returns it
// and the index after it; an empty compound if there is none.
func (s *scoper) parseCompound(i, hi int) (compound, int) {
	var comp compound
	for i = s.nextTok(i, hi); i < hi; i = s.nextTok(i, hi) {
		t := s.toks[i]
		sel := simple{kind: selOther, lo: i}
		switch {
		case s.isName(i) || s.isDelim(i, '|'):
			if len(comp) > 0 {
				return comp, i // a type selector comes first
			}
			sel.kind = selType
			name := i // ns|name, *|name, |name or name
			if s.isDelim(i, '|') {
				name = s.nextTok(i+1, hi)
				sel.ns = true
			} else if j := s.nextTok(i+1, hi); j < hi && s.isDelim(j, '|') {
				name = s.nextTok(j+1, hi)
				sel.ns = true
			}
			if name == hi || !s.isName(name) {
				return nil, i
			}
			sel.name, sel.tok = "*", name
			if !s.isDelim(name, '*') {
				sel.name = identValue(s.data(name))
			}
			i = name + 1
		case t.tt == css.HashToken:
			i++
		case s.isDelim(i, '.'):
			k := s.nextTok(i+1, hi)
			if k == hi || s.toks[k].tt != css.IdentToken && s.toks[k].tt != css.CustomPropertyNameToken {
				return nil, i
			}
			i = k + 1
		case t.tt == css.LeftBracketToken:
			if s.skipTrivia(i+1, s.match[i]) == s.match[i] {
				return nil, i // []
			}
			i = s.after(i)
		case s.isDelim(i, '&'):
			sel.kind = selNesting
			i++
		case t.tt == css.ColonToken:
			k := s.nextTok(i+1, hi)
			element := k < hi && s.toks[k].tt == css.ColonToken
			if element {
				k = s.nextTok(k+1, hi)
			}
			switch {
			case k == hi:
				return nil, i
			case s.toks[k].tt == css.IdentToken:
				sel.name, sel.tok = identValue(s.data(k)), k
			case s.toks[k].tt == css.FunctionToken:
				d := s.data(k)
				sel.name, sel.fn, sel.tok = identValue(d[:len(d)-1]), true, k
			default:
				return nil, i
			}
			if !element {
				sel.kind = selPseudoClass
			}
			i = s.after(k)
		default:
			return comp, i
		}
		sel.hi = i
		comp = append(comp, sel)
	}
	return comp, i
}

// writeSimple writes a simple selector: its tokens without comments, and
// bracketed or functional parts as written.
func (s *scoper) writeSimple(sel simple) {
	for i := sel.lo; i < sel.hi; i = s.after(i) {
		if s.toks[i].tt != css.CommentToken {
			s.out = append(s.out, s.raw(i, s.after(i))...)
		}
	}
}

func (s *scoper) writeCompound(comp compound) {
	for _, sel := range comp {
		s.writeSimple(sel)
	}
}

func (s *scoper) writeComb(comb byte) {
	switch comb {
	case ' ':
		s.space()
	case '|':
		s.out = append(s.out, "||"...)
	case '>':
		// After the type selector "--", a ">" would make "-->", which
		// the tokenizer reads as the end of an HTML comment.
		if bytes.HasSuffix(s.out, []byte("--")) {
			s.out = append(s.out, ' ')
		}
		s.out = append(s.out, comb)
	default:
		s.out = append(s.out, comb)
	}
}

// writeRest writes compounds[k:] of c, each after its combinator.
func (s *scoper) writeRest(c complexSel, k int) {
	for ; k < len(c.compounds); k++ {
		s.writeComb(c.combs[k-1])
		s.writeCompound(c.compounds[k])
	}
}

// writeScopedList writes the selector list [lo, hi) scoped to the element,
// and reports whether every selector's subjects are strictly inside the
// element, and whether the list was understood (if not, it may have
// written part of it).
func (s *scoper) writeScopedList(lo, hi int) (strict, ok bool) {
	list, ok := s.parseList(lo, hi, false)
	if !ok {
		return false, false
	}
	strict = true
	for n, c := range list {
		if n > 0 {
			s.out = append(s.out, ',')
		}
		st, ok := s.writeScoped(c)
		if !ok {
			return false, false
		}
		strict = strict && st
	}
	return strict, true
}

// writeScoped writes one complex selector scoped to the element, and
// reports whether its subjects are strictly inside the element.
func (s *scoper) writeScoped(c complexSel) (strict, ok bool) {
	first := c.compounds[0]
	if first[0].kind == selType && !first[0].ns && first[0].name == s.element {
		// Already scoped, unless a sibling of the element is next.
		if len(c.compounds) > 1 && c.combs[0] != ' ' && c.combs[0] != '>' {
			s.out = append(s.out, s.element...)
			s.out = append(s.out, ' ')
		}
		s.out = append(s.out, s.element...) // as written by the element's name
		s.writeCompound(first[1:])
		s.writeRest(c, 1)
		return len(c.compounds) > 1, true
	}
	k := 0
	for k < len(c.compounds) && s.rootLike(c.compounds[k]) && (k == 0 || c.combs[k-1] == ' ' || c.combs[k-1] == '>') {
		k++
	}
	if k == 0 {
		s.out = append(s.out, s.element...)
		s.out = append(s.out, ' ')
		s.writeCompound(first)
		s.writeRest(c, 1)
		return true, true
	}
	if k < len(c.compounds) && c.combs[k-1] != ' ' && c.combs[k-1] != '>' {
		s.out = append(s.out, s.element...)
		s.out = append(s.out, ' ')
	}
	s.out = append(s.out, s.element...)
	for _, comp := range c.compounds[:k] {
		for _, sel := range comp {
			if !s.writeAsElement(sel) {
				return false, false
			}
		}
	}
	s.writeRest(c, k)
	return k < len(c.compounds), true
}

// rootLike reports whether a compound stands for the page: a type of
// html, body or none (or *), and html, body, :root, :host, :host(),
// :host-context() or a top-level & in it.
func (s *scoper) rootLike(comp compound) bool {
	if t := comp[0]; t.kind == selType && (t.ns || t.name != "html" && t.name != "body" && t.name != "*") {
		return false
	}
	for _, sel := range comp {
		switch {
		case sel.kind == selType && sel.name != "*", sel.kind == selNesting:
			return true
		case sel.kind == selPseudoClass && (sel.name == "root" && !sel.fn || sel.name == "host" || sel.name == "host-context" && sel.fn):
			return true
		}
	}
	return false
}

// writeAsElement writes what sel, from a compound that stands for the page,
// adds to the element: nothing for html, body, *, :root, :host and &, the
// argument of :host(), and :is(X,X *) for :host-context(X). It reports
// false for an empty argument.
func (s *scoper) writeAsElement(sel simple) bool {
	switch {
	case sel.kind == selType, sel.kind == selNesting:
		return true
	case sel.kind == selPseudoClass && sel.name == "root" && !sel.fn, sel.kind == selPseudoClass && sel.name == "host" && !sel.fn:
		return true
	case sel.kind == selPseudoClass && sel.fn && (sel.name == "host" || sel.name == "host-context"):
		a0, a1 := s.trim(sel.tok+1, s.match[sel.tok])
		if a0 == a1 {
			return false
		}
		if sel.name == "host" {
			// A compound without a type selector is simply appended;
			// anything else is wrapped, so it cannot change the structure.
			if list, ok := s.parseList(a0, a1, false); ok && len(list) == 1 && len(list[0].compounds) == 1 && list[0].compounds[0][0].kind != selType {
				s.writeCompound(list[0].compounds[0])
				return true
			}
			s.out = append(s.out, ":is("...)
			s.out = append(s.out, s.raw(a0, a1)...)
			s.out = append(s.out, ')')
			return true
		}
		s.out = append(s.out, ":is("...)
		s.out = append(s.out, s.raw(a0, a1)...)
		s.out = append(s.out, ',')
		s.out = append(s.out, s.raw(a0, a1)...)
		s.space()
		s.out = append(s.out, "*)"...)
		return true
	}
	s.writeSimple(sel)
	return true
}

// nestedConfined reports whether every selector of a nested rule's list
// [lo, hi) can only match elements inside the element, given whether the
// parent rule's subjects are strictly inside it (parentStrict); and whether
// this rule's subjects are.
//
// A nested selector without & (or with a leading combinator) is relative
// to the parent: "& sel". One with & is confined if it has & at the top of
// one of its compounds and, after that compound, goes only down (" ", ">"),
// or sideways ("+", "~") from an element strictly inside.
func (s *scoper) nestedConfined(lo, hi int, parentStrict bool) (ok, strict bool) {
	list, ok := s.parseList(lo, hi, true)
	if !ok {
		return false, false
	}
	strict = true
	for _, c := range list {
		hasAmp := false
		for i := c.lo; i < c.hi; i++ {
			hasAmp = hasAmp || s.isDelim(i, '&')
		}
		var combs []byte
		if c.lead != 0 || !hasAmp {
			lead := c.lead
			if lead == 0 {
				lead = ' '
			}
			combs = append([]byte{lead}, c.combs...)
		} else {
			anchor := -1
			for k, comp := range c.compounds {
				for _, sel := range comp {
					if sel.kind == selNesting && anchor < 0 {
						anchor = k
					}
				}
			}
			if anchor < 0 {
				return false, false // & only inside :not(), :has(), ...
			}
			combs = c.combs[anchor:]
		}
		st := parentStrict
		for _, comb := range combs {
			switch comb {
			case ' ', '>':
				st = true
			case '+', '~':
				if !st {
					return false, false
				}
			default:
				return false, false
			}
		}
		strict = strict && st
	}
	return true, strict
}

// Publishing.

// scopedSuffix replaces ".css" in the name of a stylesheet's scoped copy.
const scopedSuffix = ".scoped.css"

// scopedCopy is the scoped copy of one stylesheet of a bundle.
type scopedCopy struct {
	path string
	data []byte
	sum  [sha512.Size384]byte
}

// upload returns c as an upload.
func (c scopedCopy) upload() Upload {
	ctype, _ := contentType(c.path)
	return Upload{
		Path:        c.path,
		Size:        int64(len(c.data)),
		ContentType: ctype,
		Open: func() (io.ReadSeekCloser, error) {
			return memBody{bytes.NewReader(c.data)}, nil
		},
	}
}

// memBody is an upload's body held in memory.
type memBody struct{ *bytes.Reader }

func (memBody) Close() error { return nil }

// scopedCopies returns, for every stylesheet X.css among files (at any
// depth, ".css" in any case), X.scoped.css: the stylesheet rewritten by
// ScopeCSS for the element APP-app. It refuses files whose names end in
// ".scoped.css", a suffix reserved for these copies, and stylesheets that
// cannot be rewritten; every problem is reported with its file.
func scopedCopies(ctx context.Context, root *os.Root, files []bundleFile, app string) ([]scopedCopy, error) {
	var problems []error
	for _, f := range files {
		if strings.HasSuffix(strings.ToLower(f.path), scopedSuffix) {
			problems = append(problems, fmt.Errorf("file %q: the suffix %q is reserved for the scoped copies publish writes beside every .css file", f.path, scopedSuffix))
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	var copies []scopedCopy
	from := map[string]string{}
	for _, f := range files {
		if !strings.HasSuffix(strings.ToLower(f.path), ".css") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := scopedCopyOf(root, f, app+"-app")
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if other, ok := from[c.path]; ok {
			problems = append(problems, fmt.Errorf("file %q: its scoped copy %q would be that of %q too", f.path, c.path, other))
			continue
		}
		from[c.path] = f.path
		copies = append(copies, c)
	}
	return copies, errors.Join(problems...)
}

// scopedCopyOf reads the stylesheet f, checks it is still what was hashed,
// and rewrites it for element.
func scopedCopyOf(root *os.Root, f bundleFile, element string) (scopedCopy, error) {
	c := scopedCopy{path: f.path[:len(f.path)-len(".css")] + scopedSuffix}
	if err := checkPath(c.path); err != nil {
		return c, fmt.Errorf("file %q: scoped copy %q: %w", f.path, c.path, err)
	}
	r, err := openRegular(root, f.path)
	if err != nil {
		return c, fmt.Errorf("file %q: %w", f.path, err)
	}
	defer r.Close()
	src, err := io.ReadAll(io.LimitReader(r, f.size+1))
	if err != nil {
		return c, fmt.Errorf("file %q: %w", f.path, err)
	}
	if int64(len(src)) != f.size || sha512.Sum384(src) != f.sum {
		return c, fmt.Errorf("file %q: changed while publishing", f.path)
	}
	c.data, err = ScopeCSS(src, element)
	if err != nil {
		// One line per problem, each naming the file.
		var errs []error
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			errs = u.Unwrap()
		} else {
			errs = []error{err}
		}
		for i, e := range errs {
			errs[i] = fmt.Errorf("file %q: cannot write its scoped copy: %w", f.path, e)
		}
		return c, errors.Join(errs...)
	}
	c.sum = sha512.Sum384(c.data)
	return c, nil
}
