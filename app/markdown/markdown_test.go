package markdown

import (
	"strings"
	"testing"
	"time"
)

func TestMarkdownIsRenderedAndSanitised(t *testing.T) {
	out := string(Render("# Title\n\nSee **this** [2].\n\n```go\nfunc main() {}\n```\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[link](javascript:alert(1))"))
	for _, want := range []string{"<h1", "<strong>this</strong>", `data-cite="2"`, `class="chroma"`, "func"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered HTML lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"<script", "onerror", "javascript:"} {
		if strings.Contains(out, bad) {
			t.Errorf("unsafe %q survived:\n%s", bad, out)
		}
	}
}

// A citation marker inside an image's alt text once became a link inside the
// attribute, breaking out of it: markers are linked in text only.
func TestCitationMarkersOnlyInText(t *testing.T) {
	out := string(Render("![a [1]](x.png) and `arr[2]` and [x [3]](https://example.com) but [4] here"))
	if strings.Count(out, `class="cite"`) != 1 || !strings.Contains(out, `data-cite="4"`) {
		t.Fatalf("want exactly the text marker [4] linked:\n%s", out)
	}
	if !strings.Contains(out, `alt="a [1]"`) {
		t.Errorf("alt text was altered:\n%s", out)
	}
	if strings.Contains(out, `data-cite="1"`) || strings.Contains(out, `data-cite="2"`) || strings.Contains(out, `data-cite="3"`) {
		t.Errorf("marker linked inside an attribute, code or link:\n%s", out)
	}
}

// Inputs that make goldmark super-linear (53 s for 100 KB of "*a_") are shown
// as escaped text instead, so a page view cannot pin a core.
func TestPathologicalMarkdownIsBounded(t *testing.T) {
	bombs := map[string]string{
		"emphasis": strings.Repeat("*a_", 33_000),
		"quotes":   strings.Repeat(">", 100_000),
		"links":    strings.Repeat("[a](", 25_000),
		"long":     strings.Repeat("word ", 30_000) + "[1]",
		"html":     strings.Repeat("*<b>", 1000) + "<script>x</script>",
		"table":    "|a|b|\n|-|-|\n" + strings.Repeat("|x|y|\n", 20_000),
	}
	for name, src := range bombs {
		done := make(chan string, 1)
		go func() { done <- string(Render(src)) }()
		select {
		case out := <-done:
			if strings.Contains(out, "<script") || strings.Contains(out, "<b>") {
				t.Errorf("%s: unescaped HTML in the fallback", name)
			}
			if name == "long" && !strings.Contains(out, `data-cite="1"`) {
				t.Errorf("%s: citation not linked in plain text", name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: rendering did not finish in 10 s", name)
		}
	}
	// Ordinary replies are still Markdown.
	if out := string(Render("**bold** > not a quote\n\n> quote [1]")); !strings.Contains(out, "<strong>") || !strings.Contains(out, "<blockquote>") {
		t.Errorf("ordinary Markdown not rendered: %s", out)
	}
}
