package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestKeywordSearchCommonWords checks the two shortcuts of keyword search
// against a plain ranking of every match joined with its chunk row: ranking
// before the scope check (whole workspace, a knowledge base, and a
// neighbouring workspace whose chunks match far better and must never
// show), and common words that only add to the scores of chunks with a
// rare one (or, when every word is common, chunks with all of them).
func TestKeywordSearchCommonWords(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	r := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(r, 1.1, 1, 399)
	word := func(i int) string { return fmt.Sprintf("w%dx", i) }
	text := func(n int) string {
		var b []string
		for range n {
			b = append(b, word(int(zipf.Uint64())))
		}
		return strings.Join(b, " ")
	}
	for d := range 20 {
		var kbs []*KnowledgeBase
		if d%5 == 0 {
			kbs = append(kbs, f.shared)
		}
		doc := f.doc(t, fmt.Sprintf("d%d.txt", d), f.owner, kbs...)
		var in []ChunkInput
		for i := range 25 {
			in = append(in, ChunkInput{Index: i, Content: text(12 + r.IntN(30)), Tokens: 30})
		}
		if err := s.WriteChunks(ctx, ws, doc.ID, "", in); err != nil {
			t.Fatal(err)
		}
		setReady(t, s, ws, doc.ID, len(in), "")
	}
	// The neighbour: fewer chunks, each made of the commonest words.
	other, err := s.CreateWorkspace(ctx, f.owner.ID, "Neighbour")
	if err != nil {
		t.Fatal(err)
	}
	od, _, err := s.CreateDocument(ctx, other.ID, NewDocument{Name: "theirs.txt", UploadedBy: f.owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	var theirs []ChunkInput
	for i := range 60 {
		theirs = append(theirs, ChunkInput{Index: i, Content: strings.Repeat(word(i%8)+" "+word(8+i%40)+" "+word(50+i%300)+" ", 3), Tokens: 9})
	}
	if err := s.WriteChunks(ctx, other.ID, od.ID, "", theirs); err != nil {
		t.Fatal(err)
	}
	setReady(t, s, other.ID, od.ID, len(theirs), "")

	whole, _ := s.SearchScope(ctx, ws, f.viewer(f.owner), nil)
	kb, _ := s.SearchScope(ctx, ws, f.viewer(f.owner), []string{f.shared.ID})
	// plain: every match of q in scope, best first, joined with its row.
	plain := func(sc *SearchScope, q string) []scored {
		out, err := s.scoredRows(ctx, `SELECT f.rowid, bm25(document_chunks_fts, 1.0, 0.5) AS r FROM document_chunks_fts f JOIN document_chunks c ON c.seq = f.rowid
			WHERE document_chunks_fts MATCH ? AND c.workspace_id = ? AND c.document_id IN (SELECT value FROM json_each(?)) ORDER BY r, f.rowid`, q, ws, jsonIDs(sc.DocumentIDs))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	matching := func(q string) map[int64]bool {
		all, err := s.scoredRows(ctx, `SELECT rowid, 0 FROM document_chunks_fts WHERE document_chunks_fts MATCH ?`, q)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]bool{}
		for _, c := range all {
			m[c.seq] = true
		}
		return m
	}
	count := func(term string) int { return len(matching(term)) }

	queries := [][]int{{0, 1}, {0, 1, 2}, {1, 37}, {0, 120}, {2, 5, 250}, {3, 9, 60}, {0}, {7}, {399, 0}}
	for range 20 {
		queries = append(queries, []int{r.IntN(10), r.IntN(40), 40 + r.IntN(300)})
	}
	old := keywordBudget
	t.Cleanup(func() { keywordBudget = old })
	for _, budget := range []int{1 << 30, 60} {
		keywordBudget = budget
		for _, words := range queries {
			var names []string
			for _, w := range words {
				names = append(names, word(w))
			}
			query := strings.Join(names, " ")
			terms := ftsTerms(query)
			// The rule, from counts of the whole index: the rarest words
			// whose matches fit the budget must match; none fitting, all must.
			slices.SortStableFunc(terms, func(a, b string) int { return count(a) - count(b) })
			total := 0
			for _, tm := range terms {
				total += count(tm)
			}
			eligible := matching(ftsOr(terms))
			if len(terms) > 1 && total > budget {
				var rare []string
				for n := 0; len(rare) < len(terms) && n+count(terms[len(rare)]) <= budget; {
					n += count(terms[len(rare)])
					rare = append(rare, terms[len(rare)])
				}
				if len(rare) > 0 {
					eligible = matching(ftsOr(rare))
				} else {
					eligible = matching(strings.Join(terms, " AND "))
				}
			}
			for name, sc := range map[string]*SearchScope{"workspace": whole, "knowledge base": kb} {
				var want []scored
				for _, c := range plain(sc, ftsOr(terms)) {
					if eligible[c.seq] {
						want = append(want, c)
					}
				}
				want = want[:min(10, len(want))]
				hits, err := s.KeywordSearch(ctx, ws, sc, query, 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(hits) != len(want) {
					t.Errorf("budget %d, %s, %q: %d hits, want %d", budget, name, query, len(hits), len(want))
					continue
				}
				for i, h := range hits {
					if !sc.has(h.DocumentID) {
						t.Fatalf("budget %d, %s, %q: hit %d is out of scope: %+v", budget, name, query, i, h.Chunk)
					}
					// Scores tie often in a small vocabulary: compare scores, and
					// chunks only where the score is not shared.
					if d := h.Score - want[i].score; d > 1e-9 || d < -1e-9 {
						t.Errorf("budget %d, %s, %q: hit %d scores %v, want %v", budget, name, query, i, h.Score, want[i].score)
					}
				}
			}
		}
	}
}
