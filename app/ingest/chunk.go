package ingest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ChunkOptions control Chunks. Zero fields take the defaults; a negative
// OverlapTokens or MinTokens disables overlap or merging.
type ChunkOptions struct {
	TargetTokens  int // preferred chunk size (default 512)
	OverlapTokens int // tail of the previous chunk repeated at the start of the next, same section only (default 64)
	MinTokens     int // chunks smaller than this are merged into a neighbour (default 64)
	MaxTokens     int // hard cap, e.g. the embedding model's context (default 2×TargetTokens)
}

// Chunk is a piece of a document sized for embedding. Section headings are
// not part of Content (except those of small sections merged into a
// chunk); prepending Heading to the text that is embedded usually improves
// retrieval.
type Chunk struct {
	Index   int    // 0-based position in the document
	Content string // text to embed and show; starts with Overlap bytes from the previous chunk
	Page    int    // page or slide where the chunk starts; 0 if the format has no pages
	Heading string // heading path of the section where the chunk starts
	Tokens  int    // EstimateTokens(Content)
	Overlap int    // length in bytes of the prefix repeated from the previous chunk
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.TargetTokens <= 0 {
		o.TargetTokens = 512
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 2 * o.TargetTokens
	}
	o.TargetTokens = min(o.TargetTokens, o.MaxTokens)
	if o.OverlapTokens == 0 {
		o.OverlapTokens = 64
	}
	if o.MinTokens == 0 {
		o.MinTokens = 64
	}
	// Overlap beyond half a chunk would repeat more than it adds.
	o.OverlapTokens = max(0, min(o.OverlapTokens, o.TargetTokens/2))
	o.MinTokens = max(0, min(o.MinTokens, o.TargetTokens/2))
	return o
}

// Chunks splits a parsed document into chunks of at most TargetTokens
// (merged chunks may reach MaxTokens, never more). It splits on section
// boundaries first, then paragraphs, lines, sentences and words, never inside
// a word unless a single "word" is longer than a chunk. Each chunk after the
// first in a section starts with the tail of the previous one (whole words,
// from a sentence start when possible). Chunks under MinTokens are merged
// into a neighbour on the same page; when that crosses a section boundary
// the merged section's heading is kept inline. The result is deterministic.
func Chunks(p *Parsed, opt ChunkOptions) []Chunk {
	if p == nil {
		return nil
	}
	opt = opt.withDefaults()
	var drafts []draft
	for i, s := range p.Sections {
		drafts = append(drafts, chunkSection(i, s, opt)...)
	}
	drafts = mergeSmall(drafts, opt)

	out := make([]Chunk, 0, len(drafts))
	for _, d := range drafts {
		out = append(out, Chunk{
			Index:   len(out),
			Content: d.content,
			Page:    d.page,
			Heading: d.heading,
			Tokens:  d.tokens,
			Overlap: d.overlap,
		})
	}
	return out
}

// piece is an unsplittable unit with the separator that precedes it.
type piece struct {
	sep    string // "", " ", "\n" or "\n\n"
	text   string
	tokens int
}

// draft is a chunk under construction.
type draft struct {
	section  int // index of the section it starts in
	page     int
	heading  string
	content  string
	tokens   int    // EstimateTokens(content)
	own      int    // EstimateTokens(content[overlap:])
	overlap  int    // bytes of content repeated from the previous draft
	firstSep string // separator before the first own piece
}

// chunkSection packs a section's pieces greedily into drafts of at most
// TargetTokens, each starting with an overlap from its predecessor.
func chunkSection(idx int, s Section, opt ChunkOptions) []draft {
	var (
		out      []draft
		b        strings.Builder
		tokens   int // upper bound of EstimateTokens(b.String()): the estimate is additive
		overlap  int
		firstSep string
	)
	emit := func() {
		content := b.String()
		out = append(out, draft{section: idx, page: s.Page, heading: s.Heading,
			content: content, tokens: EstimateTokens(content), own: EstimateTokens(content[overlap:]),
			overlap: overlap, firstSep: firstSep})
	}
	for _, p := range splitPieces(s.Text, opt.TargetTokens) {
		if b.Len() > overlap && tokens+p.tokens > opt.TargetTokens {
			emit()
			tail := overlapTail(b.String(), min(opt.OverlapTokens, opt.TargetTokens-p.tokens))
			b.Reset()
			b.WriteString(tail)
			tokens, overlap = EstimateTokens(tail), len(tail)
		}
		if b.Len() == overlap {
			firstSep = p.sep // first own piece of this draft
		}
		if b.Len() > 0 {
			b.WriteString(p.sep)
		}
		b.WriteString(p.text)
		tokens += p.tokens
	}
	if b.Len() > overlap {
		emit()
	}
	return out
}

// mergeSmall folds drafts under MinTokens into the previous draft (or the
// previous draft, when it is the small one, into this one) as long as the
// result stays within MaxTokens and both are on the same page.
func mergeSmall(drafts []draft, opt ChunkOptions) []draft {
	if opt.MinTokens <= 0 {
		return drafts
	}
	var out []draft
	for _, d := range drafts {
		if n := len(out); n > 0 {
			last := &out[n-1]
			// Never across a page or slide: a chunk is cited by the page it
			// starts on, so page 2's text merged into page 1 would be cited "p. 1".
			if d.page == last.page && (d.own < opt.MinTokens || last.tokens < opt.MinTokens) {
				own := d.content[d.overlap:]
				sep := "\n\n"
				if d.section == last.section {
					sep = d.firstSep // "" when a long word was cut between the two
				}
				if d.section != last.section && d.heading != "" && d.heading != last.heading {
					// Keep the merged section's heading visible in the text.
					own = lastHeading(d.heading) + "\n\n" + own
				}
				merged := last.content + sep + own
				if tokens := EstimateTokens(merged); tokens <= opt.MaxTokens {
					last.content, last.tokens, last.section = merged, tokens, d.section
					last.own = EstimateTokens(merged[last.overlap:])
					continue
				}
			}
		}
		out = append(out, d)
	}
	return out
}

func lastHeading(path string) string {
	if i := strings.LastIndex(path, HeadingSep); i >= 0 {
		return path[i+len(HeadingSep):]
	}
	return path
}

// splitPieces cuts text into pieces of at most target tokens, preferring
// the coarsest boundary that works: paragraphs, then lines, then sentences,
// then words; only a single word longer than target is cut between runes.
func splitPieces(text string, target int) []piece {
	var out []piece
	add := func(sep, t string, tokens int) {
		out = append(out, piece{sep: sep, text: t, tokens: tokens})
	}
	for i, para := range strings.Split(text, "\n\n") {
		sep := sepIf(i, "\n\n", "")
		if n := EstimateTokens(para); n <= target {
			add(sep, para, n)
			continue
		}
		for j, line := range strings.Split(para, "\n") {
			lsep := sepIf(j, "\n", sep)
			if n := EstimateTokens(line); n <= target {
				add(lsep, line, n)
				continue
			}
			for k, sent := range sentences(line) {
				ssep := sepIf(k, " ", lsep)
				if n := EstimateTokens(sent); n <= target {
					add(ssep, sent, n)
					continue
				}
				for m, word := range strings.Fields(sent) {
					wsep := sepIf(m, " ", ssep)
					for n, part := range splitWord(word, target) {
						add(sepIf(n, "", wsep), part, EstimateTokens(part))
					}
				}
			}
		}
	}
	// Drop empty pieces, moving their separator to the next one.
	kept := out[:0]
	for _, p := range out {
		if strings.TrimSpace(p.text) == "" {
			continue
		}
		if len(kept) == 0 {
			p.sep = ""
		}
		kept = append(kept, p)
	}
	return kept
}

func sepIf(i int, inner, first string) string {
	if i == 0 {
		return first
	}
	return inner
}

// sentences splits a line after sentence-ending punctuation followed by a
// space (or after CJK full stops), keeping the punctuation.
func sentences(line string) []string {
	var out []string
	start := 0
	for i, r := range line {
		end := -1
		switch r {
		case '.', '!', '?':
			if next := i + 1; next < len(line) && line[next] == ' ' {
				end = next
			}
		case '。', '！', '？':
			end = i + utf8.RuneLen(r)
		}
		if end > start {
			if s := strings.TrimSpace(line[start:end]); s != "" {
				out = append(out, s)
			}
			start = end
		}
	}
	if s := strings.TrimSpace(line[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// splitWord cuts a word into parts of at most target tokens. Words are
// whole unless they alone exceed the target (a URL or base64 blob); CJK text
// has no spaces, so its "words" are cut at character boundaries too.
func splitWord(word string, target int) []string {
	if EstimateTokens(word) <= target {
		return []string{word}
	}
	var out []string
	start, tokens, run := 0, 0, 0
	for i, r := range word {
		cost := 0
		if isCJK(r) {
			cost, run = 1, 0
		} else {
			if run%4 == 0 {
				cost = 1
			}
			run++
		}
		if tokens+cost > target && i > start {
			out = append(out, word[start:i])
			start, tokens = i, 0
			if !isCJK(r) {
				run, cost = 1, 1
			}
		}
		tokens += cost
	}
	return append(out, word[start:])
}

// overlapTail returns the end of s worth at most budget tokens, starting
// at a word boundary, and at a sentence start if one leaves at least a
// third of the budget.
func overlapTail(s string, budget int) string {
	if budget <= 0 {
		return ""
	}
	// Walk words backwards; the estimate is additive over words.
	best, tokens := len(s), 0
	sentence, sentenceTokens := -1, 0
	for end := len(s); end > 0; {
		for end > 0 && isSpaceByte(s, end) {
			_, n := utf8.DecodeLastRuneInString(s[:end])
			end -= n
		}
		start := end
		for start > 0 && !isSpaceByte(s, start) {
			_, n := utf8.DecodeLastRuneInString(s[:start])
			start -= n
		}
		if end == 0 {
			break
		}
		t := EstimateTokens(s[start:end])
		if tokens+t > budget {
			break
		}
		tokens += t
		best = start
		// Remember the earliest word that follows a sentence end.
		if prev := strings.TrimRightFunc(s[:start], unicode.IsSpace); strings.HasSuffix(prev, ".") ||
			strings.HasSuffix(prev, "!") || strings.HasSuffix(prev, "?") {
			sentence, sentenceTokens = start, tokens
		}
		end = start
	}
	if sentence > best && sentenceTokens*3 >= budget {
		best = sentence
	}
	return s[best:]
}

// isSpaceByte reports whether the rune ending at s[:i] is white space.
func isSpaceByte(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}
