package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
)

// SearchScope is the set of documents a search may return chunks of: ready
// documents the viewer can see, restricted to the chosen knowledge bases.
// A scope may be shared by concurrent searches (see scopeCache): nothing may
// change it after SearchScope returns it.
type SearchScope struct {
	DocumentIDs     []string
	Chunks          int // chunks of those documents
	WorkspaceChunks int // chunks of every ready document of the workspace (sizes vector over-fetching)
	set             map[string]bool
	json            func() string // DocumentIDs as a JSON array, made once on first use
}

func (sc *SearchScope) has(docID string) bool { return sc.set[docID] }

// idsJSON is DocumentIDs for json_each.
func (sc *SearchScope) idsJSON() string {
	if sc.json == nil {
		return jsonIDs(sc.DocumentIDs)
	}
	return sc.json()
}

// SearchScope works out which documents a search by the viewer covers. With
// kbIDs empty it covers every document the viewer can see (including their
// own uploads that are in no knowledge base); otherwise the documents of
// those knowledge bases, silently ignoring ones the viewer cannot see.
//
// Computing it reads every visible document (10–25 ms per 10,000), so it is
// kept per (workspace, viewer, knowledge bases) with the workspace's scope
// version, which triggers bump in the same transaction as every write the
// scope depends on (migration 0012). A cached scope is returned only while
// the version is unchanged: a committed change (a document ready or deleted,
// access granted or revoked) is seen by the next search, as without a cache.
func (s *Store) SearchScope(ctx context.Context, wsID string, v Viewer, kbIDs []string) (*SearchScope, error) {
	kbs := dedupeStrings(kbIDs)
	key := scopeKey{ws: wsID, user: v.UserID, admin: v.IsAdmin, kbs: jsonIDs(slices.Sorted(slices.Values(kbs)))}
	ver, err := scopeVersion(s.r.QueryRowContext(ctx, scopeVersionSQL, wsID))
	if err != nil {
		return nil, err
	}
	if sc := s.scopes.get(key, ver); sc != nil {
		return sc, nil
	}
	// The version and the scope are read in one snapshot, so the scope is
	// exactly the one of that version.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if ver, err = scopeVersion(tx.QueryRowContext(ctx, scopeVersionSQL, wsID)); err != nil {
		return nil, err
	}
	sc, err := computeScope(ctx, tx, wsID, v, kbs)
	if err != nil {
		return nil, err
	}
	if ver >= 0 {
		s.scopes.put(key, ver, sc)
	}
	return sc, nil
}

const scopeVersionSQL = `SELECT version FROM search_scope_versions WHERE workspace_id = ?`

// scopeVersion scans a workspace's scope version: -1 when it has no version
// row (a deleted workspace), which nothing is cached under.
func scopeVersion(row *sql.Row) (int64, error) {
	var v int64
	switch err := row.Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		return -1, nil
	case err != nil:
		return 0, err
	}
	return v, nil
}

func computeScope(ctx context.Context, tx *sql.Tx, wsID string, v Viewer, kbs []string) (*SearchScope, error) {
	args := append(viewerArgs(wsID, v), sql.Named("kbs", jsonIDs(kbs)), sql.Named("any", boolInt(len(kbs) == 0)))
	rows, err := tx.QueryContext(ctx, `SELECT d.id, d.chunk_count FROM documents d WHERE d.status = 'ready' AND `+docVisibleSQL+`
		AND (:any = 1 OR EXISTS (SELECT 1 FROM knowledge_base_documents kd JOIN knowledge_bases kb ON kb.id = kd.knowledge_base_id
			WHERE kd.document_id = d.id AND kd.knowledge_base_id IN (SELECT value FROM json_each(:kbs)) AND `+kbVisibleSQL+`))
		ORDER BY d.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sc := &SearchScope{DocumentIDs: []string{}, set: map[string]bool{}}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		sc.DocumentIDs = append(sc.DocumentIDs, id)
		sc.set[id] = true
		sc.Chunks += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sc.json = sync.OnceValue(func() string { return jsonIDs(sc.DocumentIDs) })
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE workspace_id = ? AND status = 'ready'`, wsID).
		Scan(&sc.WorkspaceChunks)
	return sc, err
}

type scopeKey struct {
	ws    string
	user  int64
	admin bool
	kbs   string // the chosen knowledge bases, sorted, as JSON
}

type cachedScope struct {
	version int64
	scope   *SearchScope
}

// scopeCache holds computed scopes, at most scopeCacheIDs document ids
// (~100 bytes each) in at most scopeCacheEntries entries, so a large
// workspace searched by many people cannot grow it without bound: over
// either cap, entries are dropped.
type scopeCache struct {
	mu  sync.Mutex
	m   map[scopeKey]cachedScope
	ids int
}

const (
	scopeCacheIDs     = 500_000
	scopeCacheEntries = 4096
)

func (c *scopeCache) get(k scopeKey, version int64) *SearchScope {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.version == version {
		return e.scope
	}
	return nil
}

func (c *scopeCache) put(k scopeKey, version int64, sc *SearchScope) {
	n := len(sc.DocumentIDs)
	if n > scopeCacheIDs {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[scopeKey]cachedScope{}
	}
	if e, ok := c.m[k]; ok {
		if e.version > version {
			return // a search that read a later snapshot got here first
		}
		c.ids -= len(e.scope.DocumentIDs)
		delete(c.m, k)
	}
	// Scopes of older versions of this workspace will never be asked for
	// again, and over the cap any entry goes (map order: arbitrary).
	for ok, e := range c.m {
		full := c.ids+n > scopeCacheIDs || len(c.m) >= scopeCacheEntries
		if !full && (ok.ws != k.ws || e.version >= version) {
			continue
		}
		c.ids -= len(e.scope.DocumentIDs)
		delete(c.m, ok)
	}
	c.m[k] = cachedScope{version, sc}
	c.ids += n
}
