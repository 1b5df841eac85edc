package app

import (
	"strings"
	"testing"
)

func TestMarkdownIsRenderedAndSanitised(t *testing.T) {
	out := string(renderMarkdown("# Title\n\nSee **this** [2].\n\n```go\nfunc main() {}\n```\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[link](javascript:alert(1))"))
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
