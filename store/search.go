package store

import (
	"context"
	"html"
	"strings"

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
			args = append(args, scope.idsJSON())
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

// Snippets returns, for the given chunks of the workspace, the best passage
// with the words of text marked (for vector hits, which have no snippet of
// their own). Chunks that contain none of the words are left out.
func (s *Store) Snippets(ctx context.Context, wsID string, seqs []int64, text string) (map[int64]Snippet, error) {
	return s.snippets(ctx, wsID, seqs, ftsQuery(text))
}

// PhraseSnippets is Snippets marking the words of text only where they
// stand together, as PhraseSearch finds them.
func (s *Store) PhraseSnippets(ctx context.Context, wsID string, seqs []int64, text string) (map[int64]Snippet, error) {
	return s.snippets(ctx, wsID, seqs, ftsPhrase(text))
}

// snippets is Snippets for the FTS query q.
func (s *Store) snippets(ctx context.Context, wsID string, seqs []int64, q string) (map[int64]Snippet, error) {
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
