// Package markdown renders model-written Markdown to safe HTML, bounded in
// time whatever the input.
package markdown

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"
)

// Assistant replies are Markdown from a model: rendered with goldmark (code
// highlighted by chroma into CSS classes, as the CSP forbids inline styles) and
// then sanitised with bluemonday, because a model can be talked into writing HTML.
var (
	md = goldmark.New(goldmark.WithExtensions(extension.GFM,
		highlighting.NewHighlighting(highlighting.WithFormatOptions(chromahtml.WithClasses(true)))))
	mdPolicy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^[a-zA-Z0-9 _-]+$`)).OnElements("span", "pre", "code", "div")
		p.RequireNoFollowOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		return p
	}()
	citeMarker = regexp.MustCompile(`\[(\d{1,3})\]`)
)

// goldmark is super-linear on some inputs a model can be talked into writing
// (measured: 100 KB of "*a_" takes 53 s, 100 KB of nested ">" 20 s, "[a](" 11 s,
// a table of 10,000 rows 0.45 s)
// and cannot be cancelled, so a reply that could take long is shown as plain
// text instead. Below these bounds the worst case measured is tens of ms.
const (
	mdMaxBytes      = 64 << 10 // longer replies are shown as text
	mdMaxDelimiters = 1000     // emphasis and link openers ('*', '_', '[') per reply
	mdMaxQuoteDepth = 16       // '>' at the start of a line
	mdMaxTableRows  = 1000     // lines starting with '|' (GFM tables are quadratic in rows)
)

// Render turns Markdown into safe HTML with citation markers [n] as
// links to the message's sources.
func Render(src string) template.HTML {
	if !markdownIsCheap(src) {
		return plainText(src)
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return plainText(src)
	}
	return template.HTML(linkCitations(mdPolicy.SanitizeBytes(buf.Bytes())))
}

// markdownIsCheap tells whether goldmark renders src in bounded time.
func markdownIsCheap(src string) bool {
	if len(src) > mdMaxBytes {
		return false
	}
	delims := strings.Count(src, "*") + strings.Count(src, "_") + strings.Count(src, "[")
	if delims > mdMaxDelimiters {
		return false
	}
	rows := 0
	for line := range strings.Lines(src) {
		depth := 0
		for _, r := range line {
			if r == '>' {
				depth++
			} else if r != ' ' && r != '\t' {
				if r == '|' {
					rows++
				}
				break
			}
		}
		if depth > mdMaxQuoteDepth || rows > mdMaxTableRows {
			return false
		}
	}
	return true
}

// plainText shows src escaped, paragraphs kept, citations linked.
func plainText(src string) template.HTML {
	var b strings.Builder
	b.WriteString(`<p class="plain">`)
	b.WriteString(strings.ReplaceAll(template.HTMLEscapeString(src), "\n", "<br>"))
	b.WriteString(`</p>`)
	return template.HTML(linkCitations([]byte(b.String())))
}

// linkCitations turns [n] into a citation link in text only: never inside a
// tag's attributes (an image's alt text "a [1]" must stay text), code or links.
func linkCitations(safe []byte) []byte {
	var out bytes.Buffer
	z := html.NewTokenizer(bytes.NewReader(safe))
	skip := 0 // depth inside <a>, <code>, <pre>
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out.Bytes()
		case html.TextToken:
			raw := z.Raw()
			if skip == 0 {
				raw = citeMarker.ReplaceAll(raw, []byte(`<a class="cite" href="#" data-cite="$1">[$1]</a>`))
			}
			out.Write(raw)
			continue
		case html.StartTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "a", "code", "pre":
				if tt == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			}
		}
		out.Write(z.Raw())
	}
}
