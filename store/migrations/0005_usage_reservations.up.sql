-- Token and credit held for model calls in flight: a call reserves its
-- estimate before it starts and the reservation is replaced by the real usage
-- when it ends, so parallel calls cannot all pass the plan limit. A process that
-- dies mid-call leaves its reservations behind; they stop counting at expires_at.
CREATE TABLE usage_reservations (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    tokens       INTEGER NOT NULL,
    cost_micros  INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL
);
CREATE INDEX usage_reservations_workspace ON usage_reservations (workspace_id, expires_at);
