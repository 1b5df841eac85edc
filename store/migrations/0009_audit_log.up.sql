-- The audit log: who did what, append-only. Each row carries the hash of the
-- row before it (prev_hash) and its own hash over a canonical encoding of its
-- fields and prev_hash (store/audit.go), so an edited, deleted or reordered row
-- breaks the chain that `quire audit verify` walks. Actors and workspaces are
-- kept by value without foreign keys: the record of what a deleted account did
-- in a deleted workspace must outlive both.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY, -- assigned as the previous id + 1, so a gap is a deleted row
    at             TEXT    NOT NULL,
    actor_user_id  INTEGER,             -- NULL: nobody signed in (a failed login, the CLI, housekeeping)
    actor_token_id INTEGER,             -- the API key (or session) used, when known
    actor_email    TEXT    NOT NULL DEFAULT '',
    actor_kind     TEXT    NOT NULL DEFAULT '', -- session, api_key, cli, system, anonymous
    workspace_id   TEXT,                -- NULL: an instance event, never shown to workspace admins
    action         TEXT    NOT NULL,
    target_type    TEXT    NOT NULL DEFAULT '',
    target_id      TEXT    NOT NULL DEFAULT '',
    target_label   TEXT    NOT NULL DEFAULT '',
    address        TEXT    NOT NULL DEFAULT '',
    outcome        TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    details        TEXT    NOT NULL DEFAULT '{}',
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, id);

-- Where the chain starts after pruning: the last pruned row's id and hash.
-- The first kept row must follow it, and an audit.pruned row in the chain must
-- name the same id and hash, so the anchor cannot be rewritten on its own.
CREATE TABLE audit_anchor (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT    NOT NULL
);

-- Quire itself never changes a row, and deletes only what pruning anchored
-- first. Someone with the database file can drop these triggers; the chain is
-- what catches them then.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.id > coalesce((SELECT last_id FROM audit_anchor WHERE singleton = 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only; only rows before the retention anchor are pruned');
END;
