package app

import (
	"bytes"
	"html/template"
	"regexp"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	"github.com/yuin/goldmark/extension"
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

// renderMarkdown turns Markdown into safe HTML with citation markers [n] as
// links to the message's sources.
func renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	safe := mdPolicy.SanitizeBytes(buf.Bytes())
	safe = citeMarker.ReplaceAll(safe, []byte(`<a class="cite" href="#" data-cite="$1">[$1]</a>`))
	return template.HTML(safe)
}
