package ingest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestEstimateTokens(t *testing.T) {
	tests := map[string]int{
		"":                     0,
		"   \n\t":              0,
		"a":                    1,
		"the":                  1,
		"four":                 1,
		"quick":                2,
		"The quick brown fox":  6,
		"internationalization": 5,
		"日本語":                  3,
		"日本語のテキスト":             8,
		"hello日本":              4,
		"naïve café":           3,
	}
	for in, want := range tests {
		if got := EstimateTokens(in); got != want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", in, got, want)
		}
	}
}

// words returns the sentence "w0 w1 ... " with n numbered words.
func words(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s%d", prefix, i)
	}
	return b.String()
}

func TestChunksBoundsOverlapCoverage(t *testing.T) {
	var paras []string
	for i := range 30 {
		// Sentences of varied length, grouped in paragraphs.
		paras = append(paras, words(fmt.Sprintf("p%dw", i), 10+i*7)+". "+words(fmt.Sprintf("p%dx", i), 15)+".")
	}
	p := &Parsed{Sections: []Section{
		{Heading: "Intro", Page: 1, Text: strings.Join(paras[:20], "\n\n")},
		{Heading: "Intro › More", Page: 3, Text: strings.Join(paras[20:], "\n\n")},
	}}
	opt := ChunkOptions{TargetTokens: 100, OverlapTokens: 20, MinTokens: 10, MaxTokens: 150}
	chunks := Chunks(p, opt)
	if len(chunks) < 10 {
		t.Fatalf("only %d chunks", len(chunks))
	}
	var own []string // chunk text without the overlap, in order
	for i, c := range chunks {
		if c.Index != i {
			t.Errorf("chunk %d has Index %d", i, c.Index)
		}
		if strings.TrimSpace(c.Content) == "" {
			t.Errorf("chunk %d is empty", i)
		}
		if c.Tokens != EstimateTokens(c.Content) || c.Tokens > opt.TargetTokens {
			t.Errorf("chunk %d: %d tokens (estimate %d), target %d", i, c.Tokens, EstimateTokens(c.Content), opt.TargetTokens)
		}
		if c.Tokens < opt.MinTokens {
			t.Errorf("chunk %d: only %d tokens", i, c.Tokens)
		}
		if c.Overlap > 0 {
			prev := chunks[i-1]
			if prev.Heading != c.Heading {
				t.Errorf("chunk %d overlaps across sections", i)
			}
			if !strings.HasSuffix(prev.Content, c.Content[:c.Overlap]) {
				t.Errorf("chunk %d overlap %q is not the tail of chunk %d", i, c.Content[:c.Overlap], i-1)
			}
			if EstimateTokens(c.Content[:c.Overlap]) > opt.OverlapTokens {
				t.Errorf("chunk %d overlap too long", i)
			}
		}
		own = append(own, c.Content[c.Overlap:])
		wantPage, wantHeading := 1, "Intro"
		if strings.Contains(c.Content[c.Overlap:], "p20w0 ") || c.Page == 3 {
			wantPage, wantHeading = 3, "Intro › More"
		}
		if c.Page != wantPage || c.Heading != wantHeading {
			t.Errorf("chunk %d: page %d heading %q, want %d %q", i, c.Page, c.Heading, wantPage, wantHeading)
		}
	}
	overlaps := 0
	for _, c := range chunks {
		if c.Overlap > 0 {
			overlaps++
		}
	}
	if overlaps < len(chunks)/2 {
		t.Errorf("only %d of %d chunks have overlap", overlaps, len(chunks))
	}
	// Every word appears, in order, exactly once outside the overlaps.
	var all []string
	for _, s := range p.Sections {
		all = append(all, strings.Fields(s.Text)...)
	}
	if got := strings.Fields(strings.Join(own, " ")); !reflect.DeepEqual(got, all) {
		t.Fatalf("text not covered exactly: %d words, want %d", len(got), len(all))
	}
	// No word is split: every chunk word is an input word.
	set := map[string]bool{}
	for _, w := range all {
		set[w] = true
	}
	for i, c := range chunks {
		for _, w := range strings.Fields(c.Content) {
			if !set[w] {
				t.Fatalf("chunk %d has split word %q", i, w)
			}
		}
	}
	if !reflect.DeepEqual(chunks, Chunks(p, opt)) {
		t.Fatal("not deterministic")
	}
}

func TestChunksStructure(t *testing.T) {
	t.Run("paragraph boundaries preferred", func(t *testing.T) {
		p := &Parsed{Sections: []Section{{Text: words("a", 40) + "\n\n" + words("b", 40) + "\n\n" + words("c", 40)}}}
		chunks := Chunks(p, ChunkOptions{TargetTokens: 90, OverlapTokens: -1, MinTokens: -1})
		if len(chunks) != 2 || chunks[0].Content != words("a", 40)+"\n\n"+words("b", 40) || chunks[1].Content != words("c", 40) {
			t.Fatalf("%#v", chunks)
		}
	})
	t.Run("sentence boundaries inside a long paragraph", func(t *testing.T) {
		text := words("a", 30) + ". " + words("b", 30) + ". " + words("c", 30) + "."
		chunks := Chunks(&Parsed{Sections: []Section{{Text: text}}}, ChunkOptions{TargetTokens: 70, OverlapTokens: -1, MinTokens: -1})
		if len(chunks) != 2 || !strings.HasSuffix(chunks[0].Content, "b29.") || !strings.HasPrefix(chunks[1].Content, "c0 ") {
			t.Fatalf("%#v", chunks)
		}
	})
	t.Run("overlap starts at a sentence", func(t *testing.T) {
		text := words("a", 30) + ". " + words("b", 8) + ". " + words("c", 60) + "."
		chunks := Chunks(&Parsed{Sections: []Section{{Text: text}}}, ChunkOptions{TargetTokens: 80, OverlapTokens: 20, MinTokens: -1})
		if len(chunks) < 2 || !strings.HasPrefix(chunks[1].Content, "b0 ") {
			t.Fatalf("%#v", chunks)
		}
	})
	t.Run("giant word is cut", func(t *testing.T) {
		blob := strings.Repeat("x", 1000) // 250 tokens, no spaces
		chunks := Chunks(&Parsed{Sections: []Section{{Text: "start " + blob + " end"}}}, ChunkOptions{TargetTokens: 64, MaxTokens: 64, OverlapTokens: -1, MinTokens: -1})
		var joined strings.Builder
		for _, c := range chunks {
			if c.Tokens > 64 {
				t.Fatalf("chunk of %d tokens", c.Tokens)
			}
			joined.WriteString(c.Content)
		}
		if strings.Count(joined.String(), "x") != 1000 {
			t.Fatal("lost characters")
		}
	})
	t.Run("cjk without spaces", func(t *testing.T) {
		text := strings.Repeat("日本語のテキスト。", 50) // 450 characters
		chunks := Chunks(&Parsed{Sections: []Section{{Text: text}}}, ChunkOptions{TargetTokens: 100, OverlapTokens: -1, MinTokens: -1})
		total := ""
		for _, c := range chunks {
			if c.Tokens > 100 {
				t.Fatalf("chunk of %d tokens", c.Tokens)
			}
			total += c.Content
		}
		if strings.ReplaceAll(total, " ", "") != text {
			t.Fatal("CJK text not covered")
		}
	})
	t.Run("tiny sections merge with heading kept", func(t *testing.T) {
		p := &Parsed{Sections: []Section{
			{Heading: "A", Page: 1, Text: words("a", 60)},
			{Heading: "A › B", Page: 1, Text: "Tiny section."},
			{Heading: "C", Page: 2, Text: words("c", 60)},
		}}
		chunks := Chunks(p, ChunkOptions{TargetTokens: 100, MinTokens: 20})
		if len(chunks) != 2 {
			t.Fatalf("%d chunks: %#v", len(chunks), chunks)
		}
		if chunks[0].Heading != "A" || !strings.HasSuffix(chunks[0].Content, "\n\nB\n\nTiny section.") {
			t.Fatalf("%#v", chunks[0])
		}
		if chunks[1].Heading != "C" || chunks[1].Page != 2 {
			t.Fatalf("%#v", chunks[1])
		}
	})
	t.Run("tiny first chunk merges forward", func(t *testing.T) {
		p := &Parsed{Sections: []Section{{Page: 1, Text: "Draft v2"}, {Heading: "Body", Page: 1, Text: words("w", 60)}}}
		chunks := Chunks(p, ChunkOptions{TargetTokens: 100, MinTokens: 20})
		if len(chunks) != 1 || !strings.HasPrefix(chunks[0].Content, "Draft v2\n\nBody\n\nw0 ") {
			t.Fatalf("%#v", chunks)
		}
	})
	t.Run("tiny trailing chunk merges into previous of same section", func(t *testing.T) {
		text := words("a", 70) + ". " + words("b", 3) + "."
		chunks := Chunks(&Parsed{Sections: []Section{{Text: text}}}, ChunkOptions{TargetTokens: 80, OverlapTokens: 10, MinTokens: 10, MaxTokens: 200})
		if len(chunks) != 1 || !strings.HasSuffix(chunks[0].Content, "a69. b0 b1 b2.") || strings.Count(chunks[0].Content, "a69") != 1 {
			t.Fatalf("%#v", chunks)
		}
	})
	t.Run("merge respects MaxTokens", func(t *testing.T) {
		p := &Parsed{Sections: []Section{{Heading: "A", Text: words("a", 99)}, {Heading: "B", Text: "tiny"}}}
		chunks := Chunks(p, ChunkOptions{TargetTokens: 100, MinTokens: 20, MaxTokens: 100})
		if len(chunks) != 2 {
			t.Fatalf("%#v", chunks)
		}
	})
	t.Run("empty input", func(t *testing.T) {
		if c := Chunks(&Parsed{Sections: []Section{{Text: " \n\n "}}}, ChunkOptions{}); len(c) != 0 {
			t.Fatalf("%#v", c)
		}
		if c := Chunks(nil, ChunkOptions{}); c != nil {
			t.Fatal(c)
		}
	})
}

func TestChunkOptionsDefaults(t *testing.T) {
	got := ChunkOptions{}.withDefaults()
	want := ChunkOptions{TargetTokens: 512, OverlapTokens: 64, MinTokens: 64, MaxTokens: 1024}
	if got != want {
		t.Fatalf("%+v", got)
	}
	got = ChunkOptions{TargetTokens: 1000, MaxTokens: 256, OverlapTokens: -1, MinTokens: -5}.withDefaults()
	if got.TargetTokens != 256 || got.OverlapTokens != 0 || got.MinTokens != 0 {
		t.Fatalf("%+v", got)
	}
}
