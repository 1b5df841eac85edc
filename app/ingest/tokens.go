package ingest

import (
	"unicode"
	"unicode/utf8"
)

// EstimateTokens approximates how many tokens an embedding model's
// tokenizer produces for s, without the tokenizer (which lives in Ollama).
//
// Each whitespace-separated word counts ⌈runes/4⌉ tokens (at least 1), and
// each Han, Hiragana, Katakana, Hangul or Thai character counts as one token
// on its own, since those scripts are not space-separated and tokenize to
// about one token per character. For English this overestimates BPE and
// WordPiece counts by roughly 10–20%, which is the safe direction for a hard
// context limit. The estimate is additive over whitespace-separated pieces,
// which the chunker relies on.
func EstimateTokens(s string) int {
	tokens, word := 0, 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf { // fast path for ASCII
			if asciiSpace[c] {
				tokens += wordTokens(word)
				word = 0
			} else {
				word++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size - 1
		switch {
		case unicode.IsSpace(r):
			tokens += wordTokens(word)
			word = 0
		case isCJK(r):
			tokens += wordTokens(word) + 1
			word = 0
		default:
			word++
		}
	}
	return tokens + wordTokens(word)
}

var asciiSpace = [utf8.RuneSelf]bool{' ': true, '\n': true, '\t': true, '\r': true, '\v': true, '\f': true}

func wordTokens(runes int) int { return (runes + 3) / 4 }

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai)
}
