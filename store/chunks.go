package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Chunk vectors live in vec0 virtual tables, one per embedding dimension,
// created on first use (a migration cannot know which models an instance will
// run):
//
//	CREATE VIRTUAL TABLE chunk_vec_<dim> USING vec0(
//	    workspace_id    text partition key,   -- every KNN query names one workspace
//	    embedding       float[<dim>] distance_metric=cosine,
//	    document_id     text,                 -- metadata: filterable inside the KNN scan
//	    embedding_model text                  -- metadata: retrieval never mixes models
//	)
//
// The rowid is document_chunks.seq, which is also the FTS rowid, so a vector,
// its FTS row and its chunk are one number apart from nothing. vec0 knows no
// foreign keys: every path that deletes chunks deletes their vectors in the
// same transaction (deleteChunks), and PurgeOrphanVectors sweeps up after
// cascades that bypass it (deleting a whole workspace or user).
const vecTablePrefix = "chunk_vec_"

func vecTable(dim int) string { return vecTablePrefix + strconv.Itoa(dim) }

// MaxKNN is vec0's largest k.
const MaxKNN = 4096

// Chunk is a stored piece of a document.
type Chunk struct {
	Seq            int64 // rowid shared with the FTS index and the vectors
	ID             string
	DocumentID     string
	Index          int
	Content        string
	Page           int // 0 when the format has no pages
	Heading        string
	Tokens         int
	EmbeddingModel string // model of the chunk's vector; "" when it has none yet
	CreatedAt      time.Time
}

// ChunkInput is a chunk to write, with its vector when one was computed.
type ChunkInput struct {
	Index   int
	Content string
	Page    int
	Heading string
	Tokens  int
	Vector  []float32 // nil: keyword search only until an embed task adds it
}

const chunkCols = `c.seq, c.id, c.document_id, c.chunk_index, c.content, coalesce(c.page_number, 0), c.section_heading, c.token_count, c.embedding_model, c.created_at`

func scanChunk(row interface{ Scan(...any) error }) (*Chunk, error) {
	var c Chunk
	var created string
	if err := row.Scan(&c.Seq, &c.ID, &c.DocumentID, &c.Index, &c.Content, &c.Page, &c.Heading, &c.Tokens, &c.EmbeddingModel, &created); err != nil {
		return nil, notFound(err)
	}
	c.CreatedAt = parseTime(created)
	return &c, nil
}

// WriteChunks stores a batch of a document's chunks with their vectors in one
// transaction: chunk rows, FTS rows (by trigger) and vectors commit together
// or not at all. It is idempotent: a chunk index that exists already is
// updated in place (keeping its id and seq, so citations stay valid) and its
// vector replaced, so re-running a batch after a crash duplicates nothing.
// model names the model that made the vectors. ErrNotFound when the document
// is gone (deleted while it was being processed).
func (s *Store) WriteChunks(ctx context.Context, wsID, docID, model string, batch []ChunkInput) error {
	dim, err := batchDim(batch, model)
	if err != nil {
		return err
	}
	return s.vtx(ctx, func(tx *sql.Tx, vl *vecLog) error {
		if err := requireDocument(ctx, tx, wsID, docID); err != nil {
			return err
		}
		vw, err := newVecWriter(ctx, tx, vl, dim)
		if err != nil {
			return err
		}
		defer vw.close()
		up, err := tx.PrepareContext(ctx, `INSERT INTO document_chunks (id, workspace_id, document_id, chunk_index, content, page_number,
			section_heading, token_count, embedding_model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (document_id, chunk_index) DO UPDATE SET content = excluded.content, page_number = excluded.page_number,
			section_heading = excluded.section_heading, token_count = excluded.token_count, embedding_model = excluded.embedding_model
			RETURNING seq`)
		if err != nil {
			return err
		}
		defer up.Close()
		ts := now()
		for _, c := range batch {
			m := ""
			if c.Vector != nil {
				m = model
			}
			var seq int64
			if err := up.QueryRowContext(ctx, uuid.NewString(), wsID, docID, c.Index, c.Content, nullInt(int64(c.Page)),
				c.Heading, c.Tokens, m, ts).Scan(&seq); err != nil {
				return err
			}
			if err := vw.put(ctx, seq, wsID, docID, model, c.Vector); err != nil {
				return err
			}
		}
		return nil
	})
}

// ChunkVector is a vector for an existing chunk, by index.
type ChunkVector struct {
	Index  int
	Vector []float32
}

// SetChunkVectors replaces the vectors of existing chunks (embedding that
// waited for the model server, or a re-index with a new model) without
// touching their text or FTS rows. Chunks that no longer exist are skipped.
func (s *Store) SetChunkVectors(ctx context.Context, wsID, docID, model string, vecs []ChunkVector) error {
	in := make([]ChunkInput, len(vecs))
	for i, v := range vecs {
		in[i].Vector = v.Vector
	}
	dim, err := batchDim(in, model)
	if err != nil {
		return err
	}
	return s.vtx(ctx, func(tx *sql.Tx, vl *vecLog) error {
		if err := requireDocument(ctx, tx, wsID, docID); err != nil {
			return err
		}
		vw, err := newVecWriter(ctx, tx, vl, dim)
		if err != nil {
			return err
		}
		defer vw.close()
		for _, v := range vecs {
			var seq int64
			err := tx.QueryRowContext(ctx, `UPDATE document_chunks SET embedding_model = ? WHERE workspace_id = ? AND document_id = ? AND chunk_index = ? RETURNING seq`,
				model, wsID, docID, v.Index).Scan(&seq)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return err
			}
			if err := vw.put(ctx, seq, wsID, docID, model, v.Vector); err != nil {
				return err
			}
		}
		return nil
	})
}

// batchDim checks that a batch's vectors share one dimension and returns it
// (0 when the batch has no vectors).
func batchDim(batch []ChunkInput, model string) (int, error) {
	dim := 0
	for _, c := range batch {
		if c.Vector == nil {
			continue
		}
		if dim == 0 {
			dim = len(c.Vector)
		}
		if len(c.Vector) != dim || dim == 0 {
			return 0, fmt.Errorf("store: vectors of one batch differ in dimension (%d and %d)", dim, len(c.Vector))
		}
	}
	if dim > 0 && model == "" {
		return 0, fmt.Errorf("store: vectors without the name of the model that made them")
	}
	return dim, nil
}

func requireDocument(ctx context.Context, tx *sql.Tx, wsID, docID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM documents WHERE workspace_id = ? AND id = ?`, wsID, docID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// vecWriter replaces the vector of a chunk inside a transaction: it deletes
// the rowid from every vector table (the chunk may have had a vector of
// another model or dimension, and SQLite may reuse the seq of a deleted chunk
// whose orphaned vector a cascade left behind) and inserts the new one.
type vecWriter struct {
	del []*sql.Stmt
	ins *sql.Stmt
	log *vecLog // the same changes, for the in-memory indexes
}

func newVecWriter(ctx context.Context, tx *sql.Tx, vl *vecLog, dim int) (*vecWriter, error) {
	if dim > 0 {
		if err := ensureVecTable(ctx, tx, dim); err != nil {
			return nil, err
		}
	}
	tables, err := vecTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	vw := &vecWriter{log: vl}
	for _, t := range tables {
		// Deleting through vec0 costs even when the rowid is absent (the
		// common case), so the rowids shadow table is asked first.
		st, err := tx.PrepareContext(ctx, `DELETE FROM `+vecTable(t)+` WHERE rowid = ?1 AND EXISTS (SELECT 1 FROM `+vecTable(t)+`_rowids WHERE rowid = ?1)`)
		if err != nil {
			vw.close()
			return nil, err
		}
		vw.del = append(vw.del, st)
	}
	if dim > 0 {
		if vw.ins, err = tx.PrepareContext(ctx, `INSERT INTO `+vecTable(dim)+` (rowid, workspace_id, embedding, document_id, embedding_model) VALUES (?, ?, ?, ?, ?)`); err != nil {
			vw.close()
			return nil, err
		}
	}
	return vw, nil
}

func (vw *vecWriter) put(ctx context.Context, seq int64, wsID, docID, model string, vec []float32) error {
	for _, st := range vw.del {
		if _, err := st.ExecContext(ctx, seq); err != nil {
			return err
		}
	}
	vw.log.add(vecChange{ws: wsID, doc: docID, model: model, seq: seq, vec: vec})
	if vec == nil {
		return nil
	}
	_, err := vw.ins.ExecContext(ctx, seq, wsID, vecBlob(vec), docID, model)
	return err
}

func (vw *vecWriter) close() {
	for _, st := range vw.del {
		st.Close()
	}
	if vw.ins != nil {
		vw.ins.Close()
	}
}

func ensureVecTable(ctx context.Context, tx *sql.Tx, dim int) error {
	if dim <= 0 || dim > 8192 {
		return fmt.Errorf("store: embedding dimension %d is out of range", dim)
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE VIRTUAL TABLE IF NOT EXISTS %s USING vec0(
		workspace_id text partition key, embedding float[%d] distance_metric=cosine, document_id text, embedding_model text)`, vecTable(dim), dim))
	return err
}

// vecTables lists the dimensions that have a vector table.
func vecTables(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'chunk_vec_[0-9]*'
		AND sql LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	names, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	var dims []int
	for _, n := range names {
		if d, err := strconv.Atoi(strings.TrimPrefix(n, vecTablePrefix)); err == nil {
			dims = append(dims, d)
		}
	}
	return dims, nil
}

// vecBlob is vec0's float32 vector format: little-endian, no header.
func vecBlob(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// deleteChunks deletes a document's chunks from index from on, with their
// vectors; the FTS rows go by trigger.
func deleteChunks(ctx context.Context, tx *sql.Tx, vl *vecLog, wsID, docID string, from int) error {
	rows, err := tx.QueryContext(ctx, `SELECT seq FROM document_chunks WHERE workspace_id = ? AND document_id = ? AND chunk_index >= ?`, wsID, docID, from)
	if err != nil {
		return err
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(seqs) > 0 {
		vw, err := newVecWriter(ctx, tx, vl, 0)
		if err != nil {
			return err
		}
		defer vw.close()
		for _, seq := range seqs {
			if err := vw.put(ctx, seq, wsID, "", "", nil); err != nil {
				return err
			}
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM document_chunks WHERE workspace_id = ? AND document_id = ? AND chunk_index >= ?`, wsID, docID, from)
	return err
}

// TrimChunks deletes a document's chunks from index from on (what is left of
// an earlier, longer version after re-chunking), with their vectors.
func (s *Store) TrimChunks(ctx context.Context, wsID, docID string, from int) error {
	return s.vtx(ctx, func(tx *sql.Tx, vl *vecLog) error { return deleteChunks(ctx, tx, vl, wsID, docID, from) })
}

// ListChunks pages through a document's chunks in order; pass the last
// index seen (or -1) as afterIndex.
func (s *Store) ListChunks(ctx context.Context, wsID, docID string, afterIndex, limit int) ([]Chunk, error) {
	return s.queryChunks(ctx, `SELECT `+chunkCols+` FROM document_chunks c WHERE c.workspace_id = ? AND c.document_id = ? AND c.chunk_index > ?
		ORDER BY c.chunk_index LIMIT ?`, wsID, docID, afterIndex, limit)
}

// ChunksWithoutVectors lists up to limit chunks of a document, in order,
// whose vector is missing or was made by a model other than model.
func (s *Store) ChunksWithoutVectors(ctx context.Context, wsID, docID, model string, limit int) ([]Chunk, error) {
	return s.queryChunks(ctx, `SELECT `+chunkCols+` FROM document_chunks c WHERE c.workspace_id = ? AND c.document_id = ? AND c.embedding_model <> ?
		ORDER BY c.chunk_index LIMIT ?`, wsID, docID, model, limit)
}

// GetChunk loads one chunk of the workspace by its id.
func (s *Store) GetChunk(ctx context.Context, wsID, id string) (*Chunk, error) {
	return scanChunk(s.r.QueryRowContext(ctx, `SELECT `+chunkCols+` FROM document_chunks c WHERE c.workspace_id = ? AND c.id = ?`, wsID, id))
}

func (s *Store) queryChunks(ctx context.Context, q string, args ...any) ([]Chunk, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Chunk
	for rows.Next() {
		c, err := scanChunk(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// IndexCounts are a document's rows in each index; after processing all
// three are equal (Vectors counts vectors of any model).
type IndexCounts struct {
	Chunks  int
	FTS     int // rows in the FTS index itself (its docsize table), not its content table
	Vectors int
}

// DocumentIndexCounts counts a document's chunk, FTS and vector rows.
func (s *Store) DocumentIndexCounts(ctx context.Context, wsID, docID string) (IndexCounts, error) {
	var c IndexCounts
	const seqs = `SELECT seq FROM document_chunks WHERE workspace_id = ? AND document_id = ?`
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), (SELECT count(*) FROM document_chunks_fts_docsize WHERE id IN (`+seqs+`))
		FROM document_chunks WHERE workspace_id = ? AND document_id = ?`, wsID, docID, wsID, docID).Scan(&c.Chunks, &c.FTS); err != nil {
		return c, err
	}
	dims, err := vecTables(ctx, s.r)
	if err != nil {
		return c, err
	}
	for _, d := range dims {
		var n int
		// The rowids shadow table maps vec0 rowids to storage: a point lookup
		// per chunk instead of a scan of the vectors.
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+vecTable(d)+`_rowids WHERE rowid IN (`+seqs+`)`, wsID, docID).Scan(&n); err != nil {
			return c, err
		}
		c.Vectors += n
	}
	return c, nil
}

// PurgeOrphanVectors deletes vectors whose chunk no longer exists: cascades
// (a deleted workspace or user) remove chunks without passing through
// deleteChunks. Run it at startup and after deleting a workspace.
func (s *Store) PurgeOrphanVectors(ctx context.Context) (int64, error) {
	var total int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		dims, err := vecTables(ctx, tx)
		if err != nil {
			return err
		}
		for _, d := range dims {
			res, err := tx.ExecContext(ctx, `DELETE FROM `+vecTable(d)+` WHERE rowid IN
				(SELECT rowid FROM `+vecTable(d)+`_rowids WHERE rowid NOT IN (SELECT seq FROM document_chunks))`)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}
