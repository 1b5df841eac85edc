package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"unicode"
)

// Keyword search: FTS5's BM25 over chunk text, in the scope's documents.
//
// FTS5 scores every row an expression matches before ORDER BY … LIMIT keeps
// the best, and the scope check reads each matching chunk's row, several
// times the cost of scoring it. A question with a few common words matches a
// large share of the corpus (three words of a 100k-chunk corpus: 12,000
// chunks, 50 ms), so two things keep the work near the size of the answer:
//
//   - the rarest words choose the candidates (as Elasticsearch's common terms
//     query does): when the words together match more than keywordBudget
//     chunks, the rarest ones whose matches fit the budget must match, and
//     the commoner words only add to those chunks' scores (every word's BM25
//     contribution is its own, so a chunk's score is the same as in the
//     plain OR). When every word is common, all of them must match.
//   - the scope is checked after ranking when it can be: see ranked.

// keywordBudget is how many matching chunks a keyword search scores: past
// it, the commonest words no longer bring in candidates of their own (a
// variable so tests can reach it with a small corpus).
var keywordBudget = 4000

// KeywordSearch ranks the scope's chunks by BM25 against the words of text.
// text is never FTS syntax: every word becomes a quoted term (see ftsTerms),
// and a chunk matching any of them qualifies, ranked by how well it matches
// — unless the words are common enough to match more than keywordBudget
// chunks together: then chunks containing only the commoner ones do not
// qualify (see above). Hits come without snippets (see Snippets).
func (s *Store) KeywordSearch(ctx context.Context, wsID string, scope *SearchScope, text string, k int) ([]ChunkHit, error) {
	terms := ftsTerms(text)
	if scope == nil || len(scope.DocumentIDs) == 0 || k <= 0 || len(terms) == 0 {
		return nil, nil
	}
	rare, common, err := s.splitTerms(ctx, terms)
	if err != nil {
		return nil, err
	}
	var best []scored
	switch {
	case len(common) == 0:
		best, err = s.ranked(ctx, wsID, scope, ftsOr(rare), k)
	case len(rare) == 0:
		best, err = s.ranked(ctx, wsID, scope, strings.Join(common, " AND "), k)
	default:
		// Chunks with a rare word and a common one, scored in full, and
		// chunks by their rare words alone: a chunk of the second list that
		// has a common word too is in the first with its full (higher)
		// score, so the best of both, by chunk, is the exact top k.
		var both, alone []scored
		if both, err = s.ranked(ctx, wsID, scope, "("+ftsOr(rare)+") AND ("+ftsOr(common)+")", k); err != nil {
			return nil, err
		}
		if alone, err = s.ranked(ctx, wsID, scope, ftsOr(rare), k); err != nil {
			return nil, err
		}
		best = bestOf(k, both, alone)
	}
	if err != nil {
		return nil, err
	}
	return s.keywordHits(ctx, wsID, best)
}

// PhraseSearch is KeywordSearch for chunks that contain the words of text in
// a row, as typed (up to stemming and case): what "exact words" promises.
func (s *Store) PhraseSearch(ctx context.Context, wsID string, scope *SearchScope, text string, k int) ([]ChunkHit, error) {
	q := ftsPhrase(text)
	if scope == nil || len(scope.DocumentIDs) == 0 || k <= 0 || q == "" {
		return nil, nil
	}
	best, err := s.ranked(ctx, wsID, scope, q, k)
	if err != nil {
		return nil, err
	}
	return s.keywordHits(ctx, wsID, best)
}

// splitTerms divides terms into the rare ones, which choose a search's
// candidates, and the common rest (nil when all of them together match at
// most keywordBudget chunks). Counting stops at the budget, so it costs at
// most a budget of index entries per term.
func (s *Store) splitTerms(ctx context.Context, terms []string) (rare, common []string, err error) {
	if len(terms) == 1 {
		return terms, nil, nil
	}
	type counted struct {
		term string
		n    int
	}
	cs := make([]counted, len(terms))
	total := 0
	for i, t := range terms {
		cs[i].term = t
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM document_chunks_fts WHERE document_chunks_fts MATCH ? LIMIT ?)`,
			t, keywordBudget+1).Scan(&cs[i].n); err != nil {
			return nil, nil, err
		}
		total += cs[i].n
	}
	if total <= keywordBudget {
		return terms, nil, nil
	}
	slices.SortStableFunc(cs, func(a, b counted) int { return cmp.Compare(a.n, b.n) })
	sum := 0
	for _, c := range cs {
		if common == nil && sum+c.n <= keywordBudget {
			sum += c.n
			rare = append(rare, c.term)
		} else {
			common = append(common, c.term)
		}
	}
	return rare, common, nil
}

// scored is a chunk ranked by a keyword search: its seq and negated BM25.
type scored struct {
	seq   int64
	score float64
}

// bestOf merges ranked lists by chunk, keeping each chunk's highest score,
// and returns the k best.
func bestOf(k int, lists ...[]scored) []scored {
	top := map[int64]float64{}
	for _, l := range lists {
		for _, c := range l {
			if sc, ok := top[c.seq]; !ok || c.score > sc {
				top[c.seq] = c.score
			}
		}
	}
	out := make([]scored, 0, len(top))
	for seq, sc := range top {
		out = append(out, scored{seq, sc})
	}
	slices.SortFunc(out, func(a, b scored) int { return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.seq, b.seq)) })
	return out[:min(k, len(out))]
}

// maxOverfetch bounds the matches ranked before the scope is checked.
const maxOverfetch = 1000

// ranked returns the k chunks of the scope matching the FTS query q with the
// best BM25, best first. An appliance's corpus is mostly one workspace's, so
// first the best matches of the whole index are ranked without reading chunk
// rows (k scaled by how much of the workspace the scope covers), and only
// those are checked against the scope; the first k in scope are the answer.
// When fewer than k are and more matches exist, the ranking is redone joined
// with the chunk rows, which checks every match.
func (s *Store) ranked(ctx context.Context, wsID string, scope *SearchScope, q string, k int) ([]scored, error) {
	// bm25 weights: content counts twice as much as the section heading.
	const rank = `bm25(document_chunks_fts, 1.0, 0.5)`
	over := k * 2
	if scope.Chunks > 0 && scope.WorkspaceChunks > scope.Chunks {
		over = k * 2 * ((scope.WorkspaceChunks + scope.Chunks - 1) / scope.Chunks)
	}
	if over <= maxOverfetch {
		all, err := s.scoredRows(ctx, `SELECT rowid, `+rank+` AS r FROM document_chunks_fts WHERE document_chunks_fts MATCH ? ORDER BY r LIMIT ?`, q, over)
		if err != nil {
			return nil, err
		}
		in, err := s.inScope(ctx, wsID, scope, all)
		if err != nil {
			return nil, err
		}
		if len(in) >= k || len(all) < over {
			return in[:min(k, len(in))], nil
		}
	}
	return s.scoredRows(ctx, `SELECT f.rowid, `+rank+` AS r FROM document_chunks_fts f JOIN document_chunks c ON c.seq = f.rowid
		WHERE document_chunks_fts MATCH ? AND c.workspace_id = ? AND c.document_id IN (SELECT value FROM json_each(?))
		ORDER BY r LIMIT ?`, q, wsID, scope.idsJSON(), k)
}

// scoredRows runs a ranking query of (rowid, bm25) rows.
func (s *Store) scoredRows(ctx context.Context, query string, args ...any) ([]scored, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []scored
	for rows.Next() {
		var c scored
		if err := rows.Scan(&c.seq, &c.score); err != nil {
			return nil, err
		}
		c.score = -c.score
		out = append(out, c)
	}
	return out, rows.Err()
}

// inScope keeps, in order, the ranked chunks that are the workspace's and in
// the scope's documents.
func (s *Store) inScope(ctx context.Context, wsID string, scope *SearchScope, ranked []scored) ([]scored, error) {
	if len(ranked) == 0 {
		return nil, nil
	}
	seqs := make([]int64, len(ranked))
	for i, c := range ranked {
		seqs[i] = c.seq
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, document_id FROM document_chunks WHERE workspace_id = ? AND seq IN (SELECT value FROM json_each(?))`,
		wsID, jsonIDs(seqs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ok := map[int64]bool{}
	for rows.Next() {
		var seq int64
		var doc string
		if err := rows.Scan(&seq, &doc); err != nil {
			return nil, err
		}
		ok[seq] = scope.has(doc)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ranked, func(c scored) bool { return !ok[c.seq] }), nil
}

// keywordHits loads ranked chunks. They come without snippets: a caller
// asks Snippets (or PhraseSnippets) for the few hits it keeps, since a
// snippet re-reads its chunk and seeks every term in the index.
func (s *Store) keywordHits(ctx context.Context, wsID string, best []scored) ([]ChunkHit, error) {
	if len(best) == 0 {
		return nil, nil
	}
	seqs := make([]int64, len(best))
	score := make(map[int64]float64, len(best))
	for i, c := range best {
		seqs[i] = c.seq
		score[c.seq] = c.score
	}
	out, err := s.chunkHits(ctx, wsID, seqs)
	for i := range out {
		out[i].Score = score[out[i].Seq]
	}
	return out, err
}

// ftsQuery is the FTS5 query of chunks sharing any of the words of text
// (ftsTerms OR-ed): a question in plain words finds passages sharing some of
// them; BM25 ranks those sharing more, and rarer, words first.
func ftsQuery(text string) string { return ftsOr(ftsTerms(text)) }

func ftsOr(terms []string) string { return strings.Join(terms, " OR ") }

// ftsTerms turns what a person typed into FTS5 terms that can never be FTS
// syntax: each whitespace-separated word becomes a quoted phrase of its
// letter-and-digit runs ("INV-2024-07" → "inv 2024 07", matching those tokens
// in a row). Quotes, operators (AND, NOT, NEAR), prefixes (*), column
// filters (:) and parentheses all end up as separators or plain words.
// English function words are left out when other words remain: a passage
// sharing only "for the" with a question is no match ("the of" still
// searches for itself).
func ftsTerms(text string) []string {
	const maxTerms = 32
	var terms, stop []string
	seen := map[string]bool{}
	for _, word := range strings.Fields(text) {
		tokens := strings.FieldsFunc(strings.ToLower(word), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) })
		if len(tokens) == 0 {
			continue
		}
		t := `"` + strings.Join(tokens, " ") + `"`
		switch {
		case seen[t]:
		case len(tokens) == 1 && stopWords[tokens[0]]:
			seen[t] = true
			stop = append(stop, t)
		default:
			seen[t] = true
			terms = append(terms, t)
		}
		if len(terms) == maxTerms {
			break
		}
	}
	if len(terms) == 0 {
		terms = stop[:min(len(stop), maxTerms)]
	}
	return terms
}

// stopWords are the English words too common to say that a passage is about
// a question.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about all am an and any are as at be been being but by can could did do does
		for from had has have he her his how i if in into is it its me my of on or our she should so some than that
		the their them then there these they this those to us was we were what when where which who whom why will
		with would you your`) {
		m[w] = true
	}
	return m
}()

// ftsPhrase turns what a person typed into one FTS5 phrase of its letter and
// digit runs ("Refund-policy, 2024" → "refund policy 2024"), matching them
// only in that order and next to each other; like ftsQuery it can never be
// FTS syntax. Text without letters or digits gives "", which matches nothing.
func ftsPhrase(text string) string {
	const maxTokens = 32
	tokens := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) })
	if len(tokens) == 0 {
		return ""
	}
	return `"` + strings.Join(tokens[:min(len(tokens), maxTokens)], " ") + `"`
}
