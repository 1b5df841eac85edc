package store

import (
	"context"
	"html"
	"strings"
	"unicode"

	"quire/store/vecindex"
)

// ChunkHit is a chunk found by a search, with its document's name.
type ChunkHit struct {
	Chunk
	DocumentName string
	DocumentMIME string // the document's mime_type: its kind says whether a page is a page or a slide
	// Score: cosine similarity (1 - distance) for vector hits, the negated
	// BM25 rank for keyword hits; higher is better in both.
	Score   float64
	Snippet Snippet // the passage with the query's words marked; keyword hits only
}

// VectorSearch finds the k chunks nearest to vec among the scope's documents,
// using only vectors made by model (retrieval never mixes models).
//
// The fast path is the in-memory index of (workspace, model, dimension)
// (vectorindex.go): it scans only the slots of the scope's documents. Until
// that index is loaded, or when the memory cap refuses it, vec0 answers:
//
// Filtering: the workspace is the vec0 partition key, so other tenants'
// vectors are never even scanned, and the model is a metadata column
// filtered during the scan. The document restriction (visible, ready, in the
// chosen knowledge bases) is applied in one of two ways, both exact:
//   - few documents (≤ inListMax): a metadata `document_id IN (...)` filter
//     inside the KNN scan. vec0 tests IN by comparing each row with every
//     listed id, so its cost grows with the list;
//   - many documents: over-fetch the partition's nearest neighbours (k scaled
//     by how much of the workspace the scope covers, at most MaxKNN) and
//     filter in Go. The first k survivors are the true top k; when fewer
//     than k survive and more rows exist, it falls back to the IN filter.
func (s *Store) VectorSearch(ctx context.Context, wsID string, scope *SearchScope, model string, vec []float32, k int) ([]ChunkHit, error) {
	if scope == nil || len(scope.DocumentIDs) == 0 || k <= 0 || model == "" {
		return nil, nil
	}
	k = min(k, MaxKNN)
	if ix, ok := s.vx.search(wsID, model, vec, scope.DocumentIDs, k); ok {
		return s.indexHits(ctx, wsID, scope, model, ix)
	}
	return s.vec0Search(ctx, wsID, scope, model, vec, k)
}

// vec0Search is VectorSearch through vec0 (the durable store).
func (s *Store) vec0Search(ctx context.Context, wsID string, scope *SearchScope, model string, vec []float32, k int) ([]ChunkHit, error) {
	dims, err := vecTables(ctx, s.r)
	if err != nil {
		return nil, err
	}
	found := false
	for _, d := range dims {
		found = found || d == len(vec)
	}
	if !found {
		return nil, nil // no document has vectors of this dimension yet
	}
	table, blob := vecTable(len(vec)), vecBlob(vec)
	type nn struct {
		seq  int64
		dist float64
	}
	knn := func(kk int, filterDocs bool) ([]nn, int, error) {
		q := `SELECT rowid, distance, document_id FROM ` + table + ` WHERE embedding MATCH ? AND k = ? AND workspace_id = ? AND embedding_model = ?`
		args := []any{blob, kk, wsID, model}
		if filterDocs {
			q += ` AND document_id IN (SELECT value FROM json_each(?))`
			args = append(args, jsonIDs(scope.DocumentIDs))
		}
		rows, err := s.r.QueryContext(ctx, q+` ORDER BY distance`, args...)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var out []nn
		n := 0
		for rows.Next() {
			var r nn
			var doc string
			if err := rows.Scan(&r.seq, &r.dist, &doc); err != nil {
				return nil, 0, err
			}
			n++
			if scope.has(doc) && len(out) < k {
				out = append(out, r)
			}
		}
		return out, n, rows.Err()
	}
	var hits []nn
	if len(scope.DocumentIDs) <= inListMax {
		hits, _, err = knn(k, true)
	} else {
		over := k * 2
		if scope.Chunks > 0 && scope.WorkspaceChunks > scope.Chunks {
			over = k * 2 * (scope.WorkspaceChunks + scope.Chunks - 1) / scope.Chunks
		}
		over = min(max(over, k), MaxKNN)
		var scanned int
		hits, scanned, err = knn(over, false)
		if err == nil && len(hits) < k && scanned == over {
			hits, _, err = knn(k, true)
		}
	}
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	seqs := make([]int64, len(hits))
	score := make(map[int64]float64, len(hits))
	for i, h := range hits {
		seqs[i] = h.seq
		score[h.seq] = 1 - h.dist
	}
	return s.checkedHits(ctx, wsID, scope, model, seqs, score)
}

// checkedHits loads the chunk rows of vector hits (vec0's or the index's) and
// keeps those the rows agree with: the vector's metadata (or the index's
// scope) said model and an in-scope document, and a stale vector of a reused
// seq must never surface.
func (s *Store) checkedHits(ctx context.Context, wsID string, scope *SearchScope, model string, seqs []int64, score map[int64]float64) ([]ChunkHit, error) {
	out, err := s.chunkHits(ctx, wsID, seqs)
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, h := range out {
		if h.EmbeddingModel == model && scope.has(h.DocumentID) {
			h.Score = score[h.Seq]
			kept = append(kept, h)
		}
	}
	return kept, nil
}

// indexHits turns the index's hits into chunk hits, checked against the
// chunk rows like vec0's.
func (s *Store) indexHits(ctx context.Context, wsID string, scope *SearchScope, model string, ix []vecindex.Hit) ([]ChunkHit, error) {
	if len(ix) == 0 {
		return nil, nil
	}
	seqs := make([]int64, len(ix))
	score := make(map[int64]float64, len(ix))
	for i, h := range ix {
		seqs[i] = h.Seq
		score[h.Seq] = float64(h.Score)
	}
	return s.checkedHits(ctx, wsID, scope, model, seqs, score)
}

// inListMax is the largest document set filtered inside the vec0 scan; see VectorSearch.
const inListMax = 64

// KeywordSearch ranks the scope's chunks by BM25 against the words of text.
// text is never FTS syntax: every word becomes a quoted term (see ftsQuery),
// and a chunk matching any of them qualifies, ranked by how well it matches.
func (s *Store) KeywordSearch(ctx context.Context, wsID string, scope *SearchScope, text string, k int) ([]ChunkHit, error) {
	return s.matchSearch(ctx, wsID, scope, ftsQuery(text), k)
}

// PhraseSearch is KeywordSearch for chunks that contain the words of text in
// a row, as typed (up to stemming and case): what "exact words" promises.
func (s *Store) PhraseSearch(ctx context.Context, wsID string, scope *SearchScope, text string, k int) ([]ChunkHit, error) {
	return s.matchSearch(ctx, wsID, scope, ftsPhrase(text), k)
}

// matchSearch ranks the scope's chunks matching the FTS query q by BM25.
func (s *Store) matchSearch(ctx context.Context, wsID string, scope *SearchScope, q string, k int) ([]ChunkHit, error) {
	if scope == nil || len(scope.DocumentIDs) == 0 || k <= 0 || q == "" {
		return nil, nil
	}
	// bm25 weights: content counts twice as much as the section heading.
	rows, err := s.r.QueryContext(ctx, `SELECT f.rowid, -bm25(document_chunks_fts, 1.0, 0.5), snippet(document_chunks_fts, 0, ?, ?, '…', 24)
		FROM document_chunks_fts f JOIN document_chunks c ON c.seq = f.rowid
		WHERE document_chunks_fts MATCH ? AND c.workspace_id = ? AND c.document_id IN (SELECT value FROM json_each(?))
		ORDER BY bm25(document_chunks_fts, 1.0, 0.5) LIMIT ?`, markOpen, markClose, q, wsID, jsonIDs(scope.DocumentIDs), k)
	if err != nil {
		return nil, err
	}
	var seqs []int64
	score := map[int64]float64{}
	snip := map[int64]string{}
	for rows.Next() {
		var seq int64
		var sc float64
		var sn string
		if err := rows.Scan(&seq, &sc, &sn); err != nil {
			rows.Close()
			return nil, err
		}
		seqs = append(seqs, seq)
		score[seq], snip[seq] = sc, sn
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(seqs) == 0 {
		return nil, err
	}
	out, err := s.chunkHits(ctx, wsID, seqs)
	for i := range out {
		out[i].Score = score[out[i].Seq]
		out[i].Snippet = parseSnippet(snip[out[i].Seq])
	}
	return out, err
}

// Snippets returns, for the given chunks of the workspace, the best passage
// with the words of text marked (for vector hits, which have no snippet of
// their own). Chunks that contain none of the words are left out.
func (s *Store) Snippets(ctx context.Context, wsID string, seqs []int64, text string) (map[int64]Snippet, error) {
	q := ftsQuery(text)
	out := map[int64]Snippet{}
	if q == "" || len(seqs) == 0 {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT f.rowid, snippet(document_chunks_fts, 0, ?, ?, '…', 24)
		FROM document_chunks_fts f JOIN document_chunks c ON c.seq = f.rowid
		WHERE document_chunks_fts MATCH ? AND f.rowid IN (SELECT value FROM json_each(?)) AND c.workspace_id = ?`,
		markOpen, markClose, q, jsonIDs(seqs), wsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var sn string
		if err := rows.Scan(&seq, &sn); err != nil {
			return nil, err
		}
		out[seq] = parseSnippet(sn)
	}
	return out, rows.Err()
}

// chunkHits loads chunks by seq, in the order given, with their document names.
func (s *Store) chunkHits(ctx context.Context, wsID string, seqs []int64) ([]ChunkHit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+chunkCols+`, d.name, d.mime_type FROM document_chunks c JOIN documents d ON d.id = c.document_id
		WHERE c.workspace_id = ? AND c.seq IN (SELECT value FROM json_each(?))`, wsID, jsonIDs(seqs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bySeq := make(map[int64]ChunkHit, len(seqs))
	for rows.Next() {
		var h ChunkHit
		var created string
		if err := rows.Scan(&h.Seq, &h.ID, &h.DocumentID, &h.Index, &h.Content, &h.Page, &h.Heading, &h.Tokens, &h.EmbeddingModel, &created,
			&h.DocumentName, &h.DocumentMIME); err != nil {
			return nil, err
		}
		h.CreatedAt = parseTime(created)
		bySeq[h.Seq] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]ChunkHit, 0, len(seqs))
	for _, seq := range seqs {
		if h, ok := bySeq[seq]; ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// ftsQuery turns what a person typed into an FTS5 query that can never be
// FTS syntax: each whitespace-separated word becomes a quoted phrase of its
// letter-and-digit runs ("INV-2024-07" → "inv 2024 07", matching those tokens
// in a row), and the phrases are OR-ed so a question in plain words finds
// passages sharing some of them; BM25 ranks those sharing more, and rarer,
// words first. Quotes, operators (AND, NOT, NEAR), prefixes (*), column
// filters (:) and parentheses all end up as separators or plain words.
// English function words are left out when other words remain: a passage
// sharing only "for the" with a question is no match ("the of" still
// searches for itself).
func ftsQuery(text string) string {
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
	return strings.Join(terms, " OR ")
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

// Marks that snippet() puts around matched words. Control characters cannot
// occur in chunk text (ingest strips them), so they never collide with content.
const (
	markOpen  = "\x02"
	markClose = "\x03"
)

// Snippet is a passage of a chunk with the matched words marked.
type Snippet struct {
	Text  string
	Marks [][2]int // byte ranges of Text to highlight, in order
}

func parseSnippet(raw string) Snippet {
	var sn Snippet
	var b strings.Builder
	start := -1
	for _, r := range raw {
		switch string(r) {
		case markOpen:
			start = b.Len()
		case markClose:
			if start >= 0 && b.Len() > start {
				sn.Marks = append(sn.Marks, [2]int{start, b.Len()})
			}
			start = -1
		default:
			b.WriteRune(r)
		}
	}
	sn.Text = b.String()
	return sn
}

// Marked returns the text with each highlight wrapped in open and close
// (e.g. "**" for Markdown). The text itself is not escaped.
func (sn Snippet) Marked(open, close string) string {
	var b strings.Builder
	last := 0
	for _, m := range sn.Marks {
		b.WriteString(sn.Text[last:m[0]])
		b.WriteString(open)
		b.WriteString(sn.Text[m[0]:m[1]])
		b.WriteString(close)
		last = m[1]
	}
	b.WriteString(sn.Text[last:])
	return b.String()
}

// HTML returns the snippet as HTML: the text escaped, highlights in <mark>.
func (sn Snippet) HTML() string {
	var b strings.Builder
	last := 0
	for _, m := range sn.Marks {
		b.WriteString(html.EscapeString(sn.Text[last:m[0]]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(sn.Text[m[0]:m[1]]))
		b.WriteString("</mark>")
		last = m[1]
	}
	b.WriteString(html.EscapeString(sn.Text[last:]))
	return b.String()
}
