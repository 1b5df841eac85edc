package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"quire/store/vecindex"
)

// The vector index: vec0 stays the durable store of vectors, and each
// (workspace, model, dimension) that is searched gets an in-memory
// vecindex.Index, loaded in the background on its first search (searches use
// vec0 until it is ready) and kept in step with every committed vector write:
// a transaction that writes or deletes vectors (vtx) applies its changes to
// the loaded indexes while it commits, under the lock fast-path searches
// hold, so no search sees the database and the index disagree. An index
// still loading queues the changes committed meanwhile and replays them over
// what it read. Nothing of the index is on disk: after a crash it is loaded
// again from vec0.

// VectorIndexOptions bound the memory of the vector indexes.
type VectorIndexOptions struct {
	// MaxBytes caps the memory of all indexes together; 0 turns them off.
	// An index that would not fit is not loaded (or dropped when it grows
	// past the cap): its searches use vec0, slower but with the same results.
	MaxBytes int64
	// Idle drops an index not searched for this long (0: never).
	Idle time.Duration
}

// DefaultVectorIndex is what a store opens with: 4 GiB holds about a
// million 768-dimensional vectors.
var DefaultVectorIndex = VectorIndexOptions{MaxBytes: 4 << 30, Idle: 30 * time.Minute}

// refusedRetry is how long an index refused for the cap stays refused
// before a search tries to load it again (memory may have been freed).
const refusedRetry = time.Minute

type vecKey struct {
	ws, model string
	dim       int
}

type vecState int

const (
	vecLoading vecState = iota
	vecReady
	vecRefused
)

type vecEntry struct {
	key      vecKey
	state    vecState
	ix       *vecindex.Index
	pending  []vecChange // committed while loading, replayed when loaded
	bytes    int64       // counted against the cap: reserved while loading, measured when ready
	since    time.Time   // when refused
	lastUsed atomic.Int64
	timer    *time.Timer
}

// vecChange is one committed vector write: chunk seq of workspace ws loses
// its vector in every model, and gets vec of model when vec is not nil.
type vecChange struct {
	ws, doc, model string
	seq            int64
	vec            []float32
}

// vecLog collects a transaction's vector writes.
type vecLog struct{ changes []vecChange }

// add records c, with a copy of its vector: an index still loading keeps it
// past the transaction, and the caller may reuse its buffer.
func (vl *vecLog) add(c vecChange) {
	c.vec = slices.Clone(c.vec)
	vl.changes = append(vl.changes, c)
}

type vecIndexes struct {
	// mu: fast-path searches hold it shared while they scan; commits of
	// vector writes hold it exclusively from COMMIT to the last change applied.
	mu      sync.RWMutex
	opts    VectorIndexOptions
	entries map[vecKey]*vecEntry
	total   int64
	closed  bool
	stop    context.Context // cancelled by close: loads give up
	cancel  context.CancelFunc
	loads   sync.WaitGroup
	load    func(*vecEntry) // Store.loadVecIndex (the indexes do not hold the store)
}

func newVecIndexes(opts VectorIndexOptions) *vecIndexes {
	stop, cancel := context.WithCancel(context.Background())
	return &vecIndexes{opts: opts, entries: map[vecKey]*vecEntry{}, stop: stop, cancel: cancel}
}

// SetVectorIndex replaces the limits of the vector indexes and drops every
// loaded one (they reload under the new limits on their next search).
func (s *Store) SetVectorIndex(opts VectorIndexOptions) {
	x := s.vx
	x.mu.Lock()
	defer x.mu.Unlock()
	x.opts = opts
	x.dropLocked(func(vecKey) bool { return true })
}

// VectorIndexStats describe the loaded indexes.
type VectorIndexStats struct {
	Indexes, Loading int
	Vectors          int
	Bytes            int64 // memory held, including reservations of loads
	MaxBytes         int64
	Kernel           string // the int8 scan kernel: "avx2" or "go"
}

// VectorIndexStats reports the indexes' memory.
func (s *Store) VectorIndexStats() VectorIndexStats {
	x := s.vx
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := VectorIndexStats{Bytes: x.total, MaxBytes: x.opts.MaxBytes, Kernel: vecindex.Kernel()}
	for _, e := range x.entries {
		switch e.state {
		case vecReady:
			st.Indexes++
			st.Vectors += e.ix.Len()
		case vecLoading:
			st.Loading++
		}
	}
	return st
}

// WaitVectorIndex waits until no index is loading, and reports whether the
// index of (workspace, model, dim) is ready. Used by quire bench and tests
// to measure the fast path on purpose.
func (s *Store) WaitVectorIndex(wsID, model string, dim int) bool {
	s.vx.loads.Wait()
	s.vx.mu.RLock()
	defer s.vx.mu.RUnlock()
	e := s.vx.entries[vecKey{wsID, model, dim}]
	return e != nil && e.state == vecReady
}

// vtx is tx for transactions that write vectors: fn records them in the log,
// and they reach the in-memory indexes together with the commit.
func (s *Store) vtx(ctx context.Context, fn func(*sql.Tx, *vecLog) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	vl := &vecLog{}
	if err := fn(tx, vl); err != nil {
		_ = tx.Rollback()
		return err
	}
	if len(vl.changes) == 0 {
		return tx.Commit()
	}
	x := s.vx
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := tx.Commit(); err != nil {
		return err
	}
	x.applyLocked(vl.changes)
	return nil
}

func (x *vecIndexes) applyLocked(changes []vecChange) {
	if len(x.entries) == 0 {
		return
	}
	grown := map[*vecEntry]bool{}
	for _, c := range changes {
		for k, e := range x.entries {
			if k.ws != c.ws {
				continue
			}
			switch e.state {
			case vecLoading:
				e.pending = append(e.pending, c)
			case vecReady:
				if e.apply(c) {
					grown[e] = true
				}
			}
		}
	}
	for e := range grown {
		x.total -= e.bytes
		e.bytes = e.ix.Bytes()
		x.total += e.bytes
		if x.total > x.opts.MaxBytes {
			x.refuseLocked(e)
		}
	}
}

// apply makes one committed change in e's index; true when it added a vector.
func (e *vecEntry) apply(c vecChange) bool {
	e.ix.Delete(c.seq)
	if c.vec != nil && e.key.model == c.model && e.key.dim == len(c.vec) {
		return e.ix.Put(c.seq, c.doc, c.vec)
	}
	return false
}

// refuseLocked drops e's index for the cap; its searches use vec0.
func (x *vecIndexes) refuseLocked(e *vecEntry) {
	x.total -= e.bytes
	e.state, e.ix, e.pending, e.bytes, e.since = vecRefused, nil, nil, 0, time.Now()
	if e.timer != nil {
		e.timer.Stop()
	}
}

// dropLocked forgets the indexes whose key matches.
func (x *vecIndexes) dropLocked(match func(vecKey) bool) {
	for k, e := range x.entries {
		if match(k) {
			x.total -= e.bytes
			if e.timer != nil {
				e.timer.Stop()
			}
			delete(x.entries, k)
		}
	}
}

// dropWorkspace forgets a deleted workspace's indexes (its rows went by
// cascade, without passing through vtx).
func (x *vecIndexes) dropWorkspace(wsID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropLocked(func(k vecKey) bool { return k.ws == wsID })
}

func (x *vecIndexes) dropAll() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropLocked(func(vecKey) bool { return true })
}

func (x *vecIndexes) close() {
	x.mu.Lock()
	x.closed = true
	x.dropLocked(func(vecKey) bool { return true })
	x.mu.Unlock()
	x.cancel()
	x.loads.Wait()
}

// search runs a fast-path search; ok is false when the index is not ready
// (the caller uses vec0), and a missing index starts loading.
func (x *vecIndexes) search(wsID, model string, q []float32, docs []string, k int) (hits []vecindex.Hit, ok bool) {
	key := vecKey{wsID, model, len(q)}
	x.mu.RLock()
	e := x.entries[key]
	if e != nil && e.state == vecReady {
		defer x.mu.RUnlock()
		e.lastUsed.Store(time.Now().UnixNano())
		return e.ix.Search(q, docs, k), true
	}
	wait := e != nil && (e.state == vecLoading || time.Since(e.since) < refusedRetry)
	x.mu.RUnlock()
	if wait {
		return nil, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed || x.opts.MaxBytes <= 0 || x.load == nil {
		return nil, false
	}
	if cur := x.entries[key]; cur != e {
		return nil, false // another search got here first
	}
	// Registered before its snapshot is read: every commit from now on is
	// queued for it, and every earlier one is in the snapshot.
	e = &vecEntry{key: key, state: vecLoading, ix: vecindex.New(len(q))}
	x.entries[key] = e
	x.loads.Add(1)
	go func() {
		defer x.loads.Done()
		x.load(e)
	}()
	return nil, false
}

// loadVecIndex fills a loading entry from vec0 and publishes it.
func (s *Store) loadVecIndex(e *vecEntry) {
	x := s.vx
	ctx := x.stop
	fail := func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.entries[e.key] == e {
			x.refuseLocked(e)
		}
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM document_chunks WHERE workspace_id = ? AND embedding_model = ?`,
		e.key.ws, e.key.model).Scan(&n); err != nil {
		fail()
		return
	}
	est := int64(n) * vecindex.BytesPerVector(e.key.dim)
	x.mu.Lock()
	if x.entries[e.key] != e {
		x.mu.Unlock()
		return
	}
	if x.total+est > x.opts.MaxBytes {
		x.refuseLocked(e)
		x.mu.Unlock()
		return
	}
	e.bytes = est
	x.total += est
	x.mu.Unlock()
	e.ix.Grow(n)

	if err := s.readVectors(ctx, e); err != nil {
		fail()
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.entries[e.key] != e {
		return // dropped while loading (workspace deleted, limits changed)
	}
	for _, c := range e.pending {
		e.apply(c)
	}
	e.state, e.pending = vecReady, nil
	x.total -= e.bytes
	e.bytes = e.ix.Bytes()
	x.total += e.bytes
	if x.total > x.opts.MaxBytes {
		x.refuseLocked(e)
		return
	}
	e.lastUsed.Store(time.Now().UnixNano())
	if idle := x.opts.Idle; idle > 0 {
		e.timer = time.AfterFunc(idle, func() { x.expire(e, idle) })
	}
}

// expire drops e when it has not been searched for idle, else checks again
// when it will have been.
func (x *vecIndexes) expire(e *vecEntry, idle time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.entries[e.key] != e || e.state != vecReady {
		return
	}
	if left := idle - time.Since(time.Unix(0, e.lastUsed.Load())); left > 0 {
		e.timer.Reset(left)
		return
	}
	x.dropLocked(func(k vecKey) bool { return k == e.key })
}

// readVectors reads the vectors of e's key in one read transaction (one
// snapshot). The chunk rows say which chunks have a vector of the model
// (every write sets both together). vec0 stores vectors in blobs of many
// (its vector_chunks shadow table, located by its rowids table); a lookup by
// rowid through vec0 decodes a whole blob for one vector, so the blobs are
// read directly, each once: 50× faster. A blob of the wrong size fails the
// load, and searches stay on vec0.
func (s *Store) readVectors(ctx context.Context, e *vecEntry) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := vecTable(e.key.dim)
	rows, err := tx.QueryContext(ctx, `SELECT c.seq, c.document_id, r.chunk_id, r.chunk_offset FROM document_chunks c JOIN `+t+`_rowids r ON r.rowid = c.seq
		WHERE c.workspace_id = ? AND c.embedding_model = ? ORDER BY r.chunk_id, r.chunk_offset`, e.key.ws, e.key.model)
	if err != nil {
		return err
	}
	type at struct {
		seq           int64
		doc           string
		chunk, offset int64
	}
	var all []at
	for rows.Next() {
		var a at
		if err := rows.Scan(&a.seq, &a.doc, &a.chunk, &a.offset); err != nil {
			rows.Close()
			return err
		}
		all = append(all, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// The blobs are read in one query, in chunk order, into RawBytes: a
	// blob is several MB, and every copy of it is one more pass over memory.
	var ids []int64
	for _, a := range all {
		if len(ids) == 0 || ids[len(ids)-1] != a.chunk {
			ids = append(ids, a.chunk)
		}
	}
	blobs, err := tx.QueryContext(ctx, `SELECT rowid, vectors FROM `+t+`_vector_chunks00 WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY rowid`, jsonIDs(ids))
	if err != nil {
		return err
	}
	defer blobs.Close()
	size := 4 * e.key.dim
	vec := make([]float32, e.key.dim)
	var blob sql.RawBytes
	chunk := int64(-1)
	for i, a := range all {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		for chunk != a.chunk {
			if !blobs.Next() {
				return cmp.Or(blobs.Err(), errors.New("store: a vec0 vector chunk its rowids name is missing"))
			}
			if err := blobs.Scan(&chunk, &blob); err != nil {
				return err
			}
		}
		off := int(a.offset) * size
		if a.offset < 0 || off+size > len(blob) {
			return errors.New("store: a vec0 vector chunk is shorter than its rowids say")
		}
		for i := range vec {
			vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(blob[off+4*i:]))
		}
		e.ix.Put(a.seq, a.doc, vec)
	}
	return nil
}
