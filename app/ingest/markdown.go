package ingest

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// parseMD splits Markdown into sections at its top-level headings. goldmark
// finds the headings (so a "# comment" inside a fenced code block is not one);
// section bodies are kept as the original Markdown source, which both people
// and LLMs read well and which keeps code blocks, lists and links intact.
func parseMD(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	src, err := readAll(KindMD, r, size, lim.MaxTextBytes)
	if err != nil {
		return nil, err
	}
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	title, src := frontMatter(src)

	doc := goldmark.DefaultParser().Parse(text.NewReader(src))
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	c := newCollector(ctx, KindMD, lim)
	var path [6]string
	pos := 0 // start of the current section body in src
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		h, ok := n.(*ast.Heading)
		if !ok || h.Lines().Len() == 0 || h.Level < 1 || h.Level > 6 {
			continue
		}
		start, end := headingSpan(src, h)
		if start < pos {
			continue // overlapping spans never happen for siblings; be safe
		}
		if err := c.text(string(src[pos:start])); err != nil {
			return nil, err
		}
		name := oneLine(inlineText(h, src))
		if name == "" {
			pos = start
			continue
		}
		if title == "" && h.Level == 1 {
			title = name
		}
		path[h.Level-1] = name
		clear(path[h.Level:])
		c.section(joinPath(path[:h.Level]), 0)
		pos = end
	}
	if err := c.text(string(src[pos:])); err != nil {
		return nil, err
	}
	return &Parsed{Title: title, Sections: c.sections()}, nil
}

// headingSpan returns the byte range of a heading's lines in src, including
// the "#" markers or a setext underline.
func headingSpan(src []byte, h *ast.Heading) (start, end int) {
	lines := h.Lines()
	start = lines.At(0).Start
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	end = lineEnd(src, lines.At(lines.Len()-1).Stop)
	// A setext heading is followed by a line of only '=' or '-'.
	if next := lineEnd(src, end); next > end {
		if u := strings.TrimSpace(string(src[end:next])); u != "" && strings.Trim(u, "=") == "" || u != "" && strings.Trim(u, "-") == "" {
			end = next
		}
	}
	return start, end
}

// lineEnd returns the offset just after the newline ending the line at i.
func lineEnd(src []byte, i int) int {
	if i >= len(src) {
		return len(src)
	}
	if j := bytes.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(src)
}

// inlineText concatenates the literal text below n (emphasis markers and
// link targets dropped).
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := n.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(src))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		case *ast.AutoLink:
			b.Write(t.Label(src))
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// frontMatter strips a leading YAML front-matter block and returns its
// title: value, if any. Without this goldmark would read the block as a
// thematic break plus a setext heading.
func frontMatter(src []byte) (string, []byte) {
	if !bytes.HasPrefix(src, []byte("---\n")) {
		return "", src
	}
	end := bytes.Index(src[4:], []byte("\n---\n"))
	if end < 0 {
		return "", src
	}
	block, rest := src[4:4+end], src[4+end+5:]
	for line := range strings.SplitSeq(string(block), "\n") {
		if v, ok := strings.CutPrefix(line, "title:"); ok {
			return oneLine(strings.Trim(strings.TrimSpace(v), `"'`)), rest
		}
	}
	return "", rest
}

// joinPath joins the non-empty levels of a heading path.
func joinPath(levels []string) string {
	var parts []string
	for _, l := range levels {
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, HeadingSep)
}
