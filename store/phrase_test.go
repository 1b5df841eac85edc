package store

import (
	"context"
	"strings"
	"testing"
)

// "Exact words" must find the words as typed, in a row, never a passage that
// shares one of them; and what a person types is never FTS syntax there either.
func TestPhraseSearch(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	d := f.doc(t, "policy", f.owner, f.shared)
	texts := []string{
		"The travel refund policy covers trains and hotels.",
		"Our policy on refunds for travel is under review.", // same words, not as a phrase
		"Invoice INV-2024-07 was paid; NEAR the end \"quoted\" AND more.",
	}
	var b []ChunkInput
	for i, x := range texts {
		b = append(b, ChunkInput{Index: i, Content: x})
	}
	if err := s.WriteChunks(ctx, ws, d.ID, "", b); err != nil {
		t.Fatal(err)
	}
	setReady(t, s, ws, d.ID, len(texts), "")
	scope, _ := s.SearchScope(ctx, ws, f.viewer(f.owner), nil)
	for _, tc := range []struct {
		q    string
		want []int // chunk indexes found, in any order
	}{
		{"travel refund policy", []int{0}},
		{"Travel REFUND, policy", []int{0}}, // punctuation and case are not words
		{"refund travel", nil},              // both words are in chunk 0, but not in this order
		{"policy", []int{0, 1}},
		{"INV-2024-07", []int{2}},
		{`"quoted" AND`, []int{2}},
		{`NEAR(the end)`, []int{2}},
		{`travel OR hotels`, nil}, // OR is a word here, not an operator
		{`content:travel*`, nil},  // neither a column filter nor a prefix
		{"refund\x00policy\x1b", []int{0}},
		{"   ;;; ", nil},
		{strings.Repeat("travel ", 5000), nil}, // bounded: 32 tokens, no error
	} {
		hits, err := s.PhraseSearch(ctx, ws, scope, tc.q, 5)
		if err != nil {
			t.Errorf("%.40q: %v", tc.q, err)
			continue
		}
		var got []int
		var seqs []int64
		for _, h := range hits {
			seqs = append(seqs, h.Seq)
		}
		snips, err := s.PhraseSnippets(ctx, ws, seqs, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			got = append(got, h.Index)
			if len(snips[h.Seq].Marks) == 0 {
				t.Errorf("%.40q: hit %d has no marked words", tc.q, h.Index)
			}
		}
		if !sameInts(got, tc.want) {
			t.Errorf("%.40q: found chunks %v, want %v", tc.q, got, tc.want)
		}
	}
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[int]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x]--; seen[x] < 0 {
			return false
		}
	}
	return true
}
