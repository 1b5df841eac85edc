package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one row of the audit log (migration 0009). Entries are only
// appended (AppendAudit), read (ListAudit, EachAudit), checked (VerifyAudit)
// and pruned from the oldest end (PruneAudit).
type AuditEntry struct {
	ID          int64
	At          time.Time
	UserID      *int64 // the actor's account; nil when nobody was signed in
	TokenID     *int64 // the session or API key the actor used
	Email       string // the actor's address when it happened
	ActorKind   string // session, api_key, cli, system, anonymous
	WorkspaceID string // "" for instance events
	Action      string // dotted: auth.login, document.deleted, passages.read …
	TargetType  string
	TargetID    string
	TargetLabel string
	Address     string // the client's address
	Outcome     string // AuditOK, AuditDenied, AuditFailed
	Details     string // a JSON object
	PrevHash    string
	Hash        string
}

// Outcomes of an audited action.
const (
	AuditOK     = "ok"
	AuditDenied = "denied"
	AuditFailed = "failed"
)

// ActionAuditPruned is the chain's own record of a prune; verification needs
// it to trust the anchor (see audit_anchor in migration 0009).
const ActionAuditPruned = "audit.pruned"

// auditHash is the row's hash: SHA-256 over a JSON array of every field in a
// fixed order, prev_hash last. JSON gives an unambiguous encoding (no field can
// bleed into the next), and the details are hashed as the text stored, so
// verification never depends on re-encoding them the same way.
func auditHash(e *AuditEntry) string {
	raw, _ := json.Marshal([]any{e.ID, formatTime(e.At), e.UserID, e.TokenID, e.Email, e.ActorKind, e.WorkspaceID,
		e.Action, e.TargetType, e.TargetID, e.TargetLabel, e.Address, e.Outcome, e.Details, e.PrevHash})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// chainHead is the id and hash the next row follows: the newest row, else the
// prune anchor, else the start (0, "").
func chainHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, string, error) {
	var id int64
	var hash string
	err := q.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = q.QueryRowContext(ctx, `SELECT last_id, last_hash FROM audit_anchor WHERE singleton = 1`).Scan(&id, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, "", nil
		}
	}
	return id, hash, err
}

// AppendAudit appends entries in order, chaining each to the one before. The
// head is read inside the write transaction, which holds SQLite's write lock
// from BEGIN (immediate), so writers in parallel, or in another process (the
// CLI), still form one linear chain. IDs, PrevHash and Hash are filled in.
func (s *Store) AppendAudit(ctx context.Context, entries []AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, entries) })
}

func appendAudit(ctx context.Context, tx *sql.Tx, entries []AuditEntry) error {
	id, prev, err := chainHead(ctx, tx)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_log (id, at, actor_user_id, actor_token_id, actor_email, actor_kind,
		workspace_id, action, target_type, target_id, target_label, address, outcome, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range entries {
		e := &entries[i]
		id++
		e.ID, e.PrevHash = id, prev
		if e.At.IsZero() {
			e.At = time.Now()
		}
		e.At = parseTime(formatTime(e.At)) // the stored precision, so the hash is of what is read back
		if e.Details == "" {
			e.Details = "{}"
		}
		if e.Outcome == "" {
			e.Outcome = AuditOK
		}
		e.Hash = auditHash(e)
		if _, err := stmt.ExecContext(ctx, e.ID, formatTime(e.At), e.UserID, e.TokenID, e.Email, e.ActorKind, e.WorkspaceID,
			e.Action, e.TargetType, e.TargetID, e.TargetLabel, e.Address, e.Outcome, e.Details, e.PrevHash, e.Hash); err != nil {
			return err
		}
		prev = e.Hash
	}
	return nil
}

// AuditFilter selects rows of the audit log. Zero fields do not filter.
type AuditFilter struct {
	Workspace     string // only this workspace's rows (never instance rows); "" with AllWorkspaces for every row
	AllWorkspaces bool
	ActorID       int64
	ActorEmail    string
	Action        string // exact, or a prefix when it ends with "."
	TargetID      string
	Since         time.Time
	Until         time.Time
	Before        int64 // the cursor: rows with a smaller id (newest first)
	Limit         int   // 0: no limit (EachAudit)
}

func (f AuditFilter) where() (string, []any) {
	var conds []string
	var args []any
	if !f.AllWorkspaces {
		conds, args = append(conds, "workspace_id = ?"), append(args, f.Workspace)
	}
	if f.ActorID != 0 {
		conds, args = append(conds, "actor_user_id = ?"), append(args, f.ActorID)
	}
	if f.ActorEmail != "" {
		conds, args = append(conds, "actor_email = ?"), append(args, f.ActorEmail)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		conds, args = append(conds, "substr(action, 1, ?) = ?"), append(args, len(prefix)+1, prefix+".")
	} else if f.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, f.Action)
	}
	if f.TargetID != "" {
		conds, args = append(conds, "target_id = ?"), append(args, f.TargetID)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, formatTime(f.Until))
	}
	if f.Before > 0 {
		conds, args = append(conds, "id < ?"), append(args, f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const auditColumns = `id, at, actor_user_id, actor_token_id, actor_email, actor_kind, coalesce(workspace_id, ''), action,
	target_type, target_id, target_label, address, outcome, details, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (AuditEntry, error) {
	var e AuditEntry
	var at string
	err := sc.Scan(&e.ID, &at, &e.UserID, &e.TokenID, &e.Email, &e.ActorKind, &e.WorkspaceID, &e.Action,
		&e.TargetType, &e.TargetID, &e.TargetLabel, &e.Address, &e.Outcome, &e.Details, &e.PrevHash, &e.Hash)
	e.At = parseTime(at)
	return e, err
}

// ListAudit returns up to f.Limit rows, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.EachAudit(ctx, f, func(e *AuditEntry) error { out = append(out, *e); return nil })
	return out, err
}

// EachAudit calls fn for each row f selects, newest first, reading as it goes
// so an export of the whole log is never held in memory.
func (s *Store) EachAudit(ctx context.Context, f AuditFilter, fn func(*AuditEntry) error) error {
	where, args := f.where()
	q := `SELECT ` + auditColumns + ` FROM audit_log` + where + ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditBreak is the first row where the chain does not hold.
type AuditBreak struct {
	ID     int64 // the row (0: the problem is not one row, e.g. the anchor)
	Reason string
}

func (b *AuditBreak) Error() string {
	if b.ID == 0 {
		return b.Reason
	}
	return fmt.Sprintf("row %d: %s", b.ID, b.Reason)
}

// AuditVerified is what a verification walked.
type AuditVerified struct {
	Rows       int64
	FirstID    int64
	LastID     int64
	AnchoredAt int64 // the id the chain starts after (pruned before it); 0 when nothing was pruned
}

// VerifyAudit walks the whole chain, oldest first, and returns the first
// break (an *AuditBreak error): a row whose hash is not that of its fields (it
// was edited), whose prev_hash is not its predecessor's hash or whose id does
// not follow it (a row was deleted, inserted or moved), a chain that does not
// start at its beginning or at the prune anchor, or an anchor that no
// audit.pruned row confirms. Deleting the newest rows leaves a valid shorter
// chain; compare the head it prints with one noted earlier to catch that.
func (s *Store) VerifyAudit(ctx context.Context) (*AuditVerified, error) {
	out := &AuditVerified{}
	var anchorHash string
	err := s.r.QueryRowContext(ctx, `SELECT last_id, last_hash FROM audit_anchor WHERE singleton = 1`).Scan(&out.AnchoredAt, &anchorHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	prevID, prevHash := out.AnchoredAt, anchorHash
	confirmed := out.AnchoredAt == 0
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		switch {
		case e.ID != prevID+1 && out.Rows == 0:
			return out, &AuditBreak{e.ID, fmt.Sprintf("the chain should start at row %d (rows before it are missing)", prevID+1)}
		case e.ID != prevID+1:
			return out, &AuditBreak{e.ID, fmt.Sprintf("follows row %d: rows in between are missing", prevID)}
		case e.PrevHash != prevHash:
			return out, &AuditBreak{e.ID, "its link to the row before does not match (a row before it was changed, removed or replaced)"}
		case auditHash(&e) != e.Hash:
			return out, &AuditBreak{e.ID, "its content does not match its hash (the row was edited)"}
		}
		if e.Action == ActionAuditPruned && !confirmed {
			var d struct {
				ThroughID   int64  `json:"through_id"`
				ThroughHash string `json:"through_hash"`
			}
			confirmed = json.Unmarshal([]byte(e.Details), &d) == nil && d.ThroughID == out.AnchoredAt && d.ThroughHash == anchorHash
		}
		if out.Rows == 0 {
			out.FirstID = e.ID
		}
		out.Rows++
		out.LastID, prevID, prevHash = e.ID, e.ID, e.Hash
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !confirmed {
		return out, &AuditBreak{0, fmt.Sprintf("the chain is anchored after row %d, but no audit.pruned entry records that prune (the anchor was set by hand)", out.AnchoredAt)}
	}
	return out, nil
}

// PruneAudit deletes the rows older than before, keeping the chain
// verifiable: in one transaction it appends the audit.pruned row pruned
// (its details get through_id and through_hash), moves the anchor to the last
// deleted row, then deletes up to it. It returns how many rows went.
func (s *Store) PruneAudit(ctx context.Context, before time.Time, pruned AuditEntry) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var through int64
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log WHERE at < ? ORDER BY id DESC LIMIT 1`, formatTime(before)).Scan(&through, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(cmp.Or(pruned.Details, "{}")), &d); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE id <= ?`, through).Scan(&n); err != nil {
			return err
		}
		d["through_id"], d["through_hash"], d["rows"], d["before"] = through, hash, n, formatTime(before)
		raw, _ := json.Marshal(d)
		pruned.Details, pruned.Action = string(raw), ActionAuditPruned
		if err := appendAudit(ctx, tx, []AuditEntry{pruned}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_anchor (singleton, last_id, last_hash) VALUES (1, ?, ?)
			ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash`, through, hash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM audit_log WHERE id <= ?`, through)
		return err
	})
	return n, err
}
