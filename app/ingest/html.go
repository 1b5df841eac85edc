package ingest

import (
	"bytes"
	"context"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// parseHTML extracts the readable text of a page with golang.org/x/net/html:
// it keeps headings as section boundaries, drops scripts, styles, navigation
// and hidden elements, and prefers <main> (or a lone <article>) over the
// whole <body> so saved web pages lose their menus and footers.
func parseHTML(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	src, err := readAll(KindHTML, r, size, lim.MaxTextBytes)
	if err != nil {
		return nil, err
	}
	// Honour a BOM or <meta charset>; legacy pages are often windows-1252.
	var in io.Reader = bytes.NewReader(src)
	if enc, name, _ := charset.DetermineEncoding(src[:min(len(src), 1024)], "text/html"); name != "utf-8" {
		in = transform.NewReader(in, enc.NewDecoder())
	}
	doc, err := html.Parse(in)
	if err != nil {
		return nil, damaged(KindHTML, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	w := &htmlWalker{c: newCollector(ctx, KindHTML, lim)}
	root := doc
	if m := findMain(doc); m != nil {
		root = m
	}
	if err := w.walk(root, 0); err != nil {
		return nil, err
	}
	title := ""
	if t := find(doc, atom.Title); t != nil {
		title = oneLine(textContent(t))
	}
	if title == "" {
		title = w.firstH1
	}
	return &Parsed{Title: title, Sections: w.c.sections()}, nil
}

type htmlWalker struct {
	c       *collector
	path    [6]string
	firstH1 string
	pre     int // depth inside <pre>
	cells   int // cells written in the current table row
}

// maxHTMLDepth stops pathological nesting; x/net/html already caps the tree
// depth, this keeps our recursion cheap regardless.
const maxHTMLDepth = 512

// dropped elements never contain readable document text.
var dropped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Nav: true, atom.Head: true, atom.Form: true, atom.Button: true, atom.Select: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true, atom.Canvas: true,
	atom.Aside: true, atom.Dialog: true,
}

// blocks start a new paragraph; lines start a new line.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Main: true,
	atom.Blockquote: true, atom.Pre: true, atom.Ul: true, atom.Ol: true, atom.Dl: true,
	atom.Table: true, atom.Figure: true, atom.Figcaption: true, atom.Address: true,
	atom.Hr: true, atom.Details: true, atom.Summary: true, atom.Header: true, atom.Footer: true,
	atom.Caption: true,
}
var lines = map[atom.Atom]bool{atom.Li: true, atom.Dt: true, atom.Dd: true, atom.Tr: true, atom.Br: true}

func (w *htmlWalker) walk(n *html.Node, depth int) error {
	if depth > maxHTMLDepth {
		return nil
	}
	switch n.Type {
	case html.TextNode:
		return w.text(n.Data)
	case html.ElementNode:
		if dropped[n.DataAtom] || hidden(n) {
			return nil
		}
		if lvl := headingLevel(n.DataAtom); lvl > 0 {
			return w.heading(n, lvl)
		}
	case html.DocumentNode:
	default:
		return nil
	}

	a := n.DataAtom
	switch {
	case blocks[a]:
		w.c.paragraph()
	case lines[a]:
		w.c.line()
	case a == atom.Td || a == atom.Th:
		if w.cells > 0 {
			w.c.space()
			if err := w.c.text("|"); err != nil {
				return err
			}
			w.c.space()
		}
		w.cells++
	}
	if a == atom.Tr {
		w.cells = 0
	}
	if a == atom.Pre {
		w.pre++
		defer func() { w.pre-- }()
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if err := w.walk(ch, depth+1); err != nil {
			return err
		}
	}
	switch {
	case blocks[a]:
		w.c.paragraph()
	case lines[a]:
		w.c.line()
	}
	return nil
}

// text writes a text node, collapsing whitespace outside <pre> the way a
// browser renders it.
func (w *htmlWalker) text(s string) error {
	if w.pre > 0 {
		return w.c.text(s)
	}
	if s != "" && isHTMLSpace(s[0]) {
		w.c.space()
	}
	for i, f := range strings.Fields(s) {
		if i > 0 {
			w.c.space()
		}
		if err := w.c.text(f); err != nil {
			return err
		}
	}
	if s != "" && isHTMLSpace(s[len(s)-1]) {
		w.c.space()
	}
	return nil
}

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' }

// heading starts a new section named by the heading path; the heading text
// itself lives in Section.Heading rather than in the body.
func (w *htmlWalker) heading(n *html.Node, lvl int) error {
	name := oneLine(textContent(n))
	if name == "" {
		return nil
	}
	if lvl == 1 && w.firstH1 == "" {
		w.firstH1 = name
	}
	w.path[lvl-1] = name
	clear(w.path[lvl:])
	w.c.section(joinPath(w.path[:lvl]), 0)
	return w.c.ctx.Err()
}

func headingLevel(a atom.Atom) int {
	switch a {
	case atom.H1:
		return 1
	case atom.H2:
		return 2
	case atom.H3:
		return 3
	case atom.H4:
		return 4
	case atom.H5:
		return 5
	case atom.H6:
		return 6
	}
	return 0
}

func hidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if a.Val == "true" {
				return true
			}
		case "style":
			s := strings.ReplaceAll(strings.ToLower(a.Val), " ", "")
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

// findMain returns <main>, else the only <article>, else nil.
func findMain(doc *html.Node) *html.Node {
	if m := find(doc, atom.Main); m != nil {
		return m
	}
	var articles []*html.Node
	visit(doc, 0, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Article {
			articles = append(articles, n)
			return false
		}
		return true
	})
	if len(articles) == 1 {
		return articles[0]
	}
	return nil
}

func find(doc *html.Node, a atom.Atom) *html.Node {
	var found *html.Node
	visit(doc, 0, func(n *html.Node) bool {
		if found == nil && n.Type == html.ElementNode && n.DataAtom == a {
			found = n
		}
		return found == nil
	})
	return found
}

// visit walks the tree depth-first while f returns true, bounded in depth.
func visit(n *html.Node, depth int, f func(*html.Node) bool) {
	if depth > maxHTMLDepth || !f(n) {
		return
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		visit(ch, depth+1, f)
	}
}

func textContent(n *html.Node) string {
	var b strings.Builder
	visit(n, 0, func(n *html.Node) bool {
		if n.Type == html.ElementNode && (dropped[n.DataAtom] || hidden(n)) {
			return false
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		return true
	})
	return b.String()
}
