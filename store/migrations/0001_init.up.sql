-- The whole Quire data model (the HyperSaaS models plus what the appliance needs).
-- Conventions: UUID text keys for workspaces, chats, messages, KBs, documents and chunks;
-- integer keys for the rest; Stripe ids for Stripe objects. Timestamps are RFC 3339 UTC text.
-- Money is integer micro-units (1 USD = 1,000,000). Every row of workspace data carries
-- workspace_id and is deleted with its workspace.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name           TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL,
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

-- Login sessions (cookie or bearer) and personal API keys; only the SHA-256 of a token is kept.
CREATE TABLE auth_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('session', 'api_key')),
    name         TEXT    NOT NULL DEFAULT '',
    token_hash   BLOB    NOT NULL UNIQUE,
    workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, kind);

-- Single-use mailed tokens: email verification and password reset.
CREATE TABLE email_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    token_hash BLOB    NOT NULL UNIQUE,
    expires_at TEXT    NOT NULL,
    used_at    TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Every mail the instance sent or would have sent (without SMTP this is where links are read).
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    to_addr    TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0 CHECK (sent IN (0, 1)),
    error      TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL
);

-- Instance settings changed at run time by the admin (JSON values).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE workspaces (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    plan       TEXT    NOT NULL DEFAULT 'self_hosted',
    seat_limit INTEGER,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX workspaces_owner ON workspaces (owner_id);

CREATE TABLE workspace_memberships (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at   TEXT    NOT NULL,
    UNIQUE (workspace_id, user_id)
);
CREATE INDEX workspace_memberships_user ON workspace_memberships (user_id);
-- Exactly one owner membership per workspace.
CREATE UNIQUE INDEX workspace_memberships_one_owner ON workspace_memberships (workspace_id) WHERE role = 'owner';

CREATE TABLE teams (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    owner_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_memberships (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    team_id      INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT    NOT NULL,
    UNIQUE (team_id, user_id)
);
CREATE INDEX team_memberships_user ON team_memberships (workspace_id, user_id);

CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL COLLATE NOCASE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    team_id      INTEGER REFERENCES teams (id) ON DELETE SET NULL,
    inviter_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    expires_at   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    responded_at TEXT
);
CREATE INDEX invitations_workspace ON invitations (workspace_id, status);
CREATE INDEX invitations_email ON invitations (email, status);

CREATE TABLE folders (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id    INTEGER REFERENCES folders (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
CREATE INDEX folders_owner ON folders (workspace_id, user_id);

CREATE TABLE knowledge_bases (
    id                    TEXT    PRIMARY KEY,
    workspace_id          TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                  TEXT    NOT NULL,
    description           TEXT    NOT NULL DEFAULT '',
    shared_with_workspace INTEGER NOT NULL DEFAULT 1 CHECK (shared_with_workspace IN (0, 1)),
    created_by            INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
);
CREATE INDEX knowledge_bases_workspace ON knowledge_bases (workspace_id);

CREATE TABLE knowledge_base_team_access (
    id                INTEGER PRIMARY KEY,
    workspace_id      TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    knowledge_base_id TEXT    NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    team_id           INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    created_at        TEXT    NOT NULL,
    UNIQUE (knowledge_base_id, team_id)
);

CREATE TABLE documents (
    id                TEXT    PRIMARY KEY,
    workspace_id      TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    original_filename TEXT    NOT NULL DEFAULT '',
    mime_type         TEXT    NOT NULL DEFAULT '',
    file_size         INTEGER NOT NULL DEFAULT 0,
    sha256            TEXT    NOT NULL DEFAULT '',
    storage_path      TEXT    NOT NULL DEFAULT '',
    source_url        TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    progress          INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    processing_error  TEXT    NOT NULL DEFAULT '',
    chunk_count       INTEGER NOT NULL DEFAULT 0,
    embedding_model   TEXT    NOT NULL DEFAULT '',
    uploaded_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
);
CREATE INDEX documents_workspace ON documents (workspace_id, status, created_at);

CREATE TABLE knowledge_base_documents (
    id                INTEGER PRIMARY KEY,
    workspace_id      TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    knowledge_base_id TEXT    NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    document_id       TEXT    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    created_at        TEXT    NOT NULL,
    UNIQUE (knowledge_base_id, document_id)
);
CREATE INDEX knowledge_base_documents_document ON knowledge_base_documents (document_id);

-- seq is the integer rowid shared with the FTS index and the vec0 tables.
CREATE TABLE document_chunks (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    workspace_id    TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    document_id     TEXT    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index     INTEGER NOT NULL,
    content         TEXT    NOT NULL,
    page_number     INTEGER,
    section_heading TEXT    NOT NULL DEFAULT '',
    token_count     INTEGER NOT NULL DEFAULT 0,
    embedding_model TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    UNIQUE (document_id, chunk_index)
);
CREATE INDEX document_chunks_workspace ON document_chunks (workspace_id);

-- Keyword search (BM25) over chunks, kept in step with document_chunks by triggers.
CREATE VIRTUAL TABLE document_chunks_fts USING fts5 (
    content, section_heading,
    content = 'document_chunks', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER document_chunks_ai AFTER INSERT ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (rowid, content, section_heading) VALUES (new.seq, new.content, new.section_heading);
END;
CREATE TRIGGER document_chunks_ad AFTER DELETE ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, content, section_heading) VALUES ('delete', old.seq, old.content, old.section_heading);
END;
CREATE TRIGGER document_chunks_au AFTER UPDATE OF content, section_heading ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, content, section_heading) VALUES ('delete', old.seq, old.content, old.section_heading);
    INSERT INTO document_chunks_fts (rowid, content, section_heading) VALUES (new.seq, new.content, new.section_heading);
END;

-- The durable job queue of the in-process runner.
CREATE TABLE document_processing_tasks (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    REFERENCES workspaces (id) ON DELETE CASCADE,
    document_id  TEXT    REFERENCES documents (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL DEFAULT 'ingest' CHECK (kind IN ('ingest', 'embed', 'reindex')),
    status       TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress     INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_after    TEXT    NOT NULL,
    locked_by    TEXT    NOT NULL DEFAULT '',
    locked_at    TEXT,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE INDEX document_processing_tasks_due ON document_processing_tasks (status, run_after);
CREATE INDEX document_processing_tasks_document ON document_processing_tasks (document_id);

CREATE TABLE chat_sessions (
    id            TEXT    PRIMARY KEY,
    workspace_id  TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folder_id     INTEGER REFERENCES folders (id) ON DELETE SET NULL,
    name          TEXT    NOT NULL DEFAULT '',
    model         TEXT    NOT NULL DEFAULT '',
    system_prompt TEXT    NOT NULL DEFAULT '',
    temperature   REAL,
    top_p         REAL,
    max_tokens    INTEGER,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    public_id     TEXT UNIQUE,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX chat_sessions_owner ON chat_sessions (workspace_id, user_id, updated_at);

CREATE TABLE messages (
    id              TEXT    PRIMARY KEY,
    workspace_id    TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    chat_session_id TEXT    NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    parent_id       TEXT REFERENCES messages (id) ON DELETE SET NULL,
    role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT    NOT NULL DEFAULT '',
    sequence_number INTEGER NOT NULL,
    model           TEXT    NOT NULL DEFAULT '',
    citations       TEXT    NOT NULL DEFAULT '[]',
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL DEFAULT 'complete' CHECK (status IN ('pending', 'streaming', 'complete', 'stopped', 'failed')),
    error           TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    UNIQUE (chat_session_id, sequence_number)
);

CREATE TABLE chat_session_shares (
    id              INTEGER PRIMARY KEY,
    workspace_id    TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    chat_session_id TEXT    NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT    NOT NULL,
    UNIQUE (chat_session_id, user_id)
);
CREATE INDEX chat_session_shares_user ON chat_session_shares (workspace_id, user_id);

CREATE TABLE chat_session_knowledge_bases (
    id                INTEGER PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    chat_session_id   TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    knowledge_base_id TEXT NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    created_at        TEXT NOT NULL,
    UNIQUE (chat_session_id, knowledge_base_id)
);

-- One row per AI call (chat, title, embedding).
CREATE TABLE ai_usage (
    id              INTEGER PRIMARY KEY,
    workspace_id    TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    chat_session_id TEXT REFERENCES chat_sessions (id) ON DELETE SET NULL,
    message_id      TEXT REFERENCES messages (id) ON DELETE SET NULL,
    document_id     TEXT REFERENCES documents (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('chat', 'title', 'embedding')),
    model           TEXT    NOT NULL,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    cost_micros     INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL
);
CREATE INDEX ai_usage_workspace ON ai_usage (workspace_id, created_at);
CREATE INDEX ai_usage_user ON ai_usage (user_id, created_at);

CREATE TABLE user_costs (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    total_cost_micros INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT    NOT NULL
);

CREATE TABLE workspace_costs (
    workspace_id  TEXT    PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    total_cost_micros INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT    NOT NULL
);

-- Stripe mirror, kept in sync by webhooks and `quire stripe sync`.
CREATE TABLE stripe_users (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    customer_id TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL
);

CREATE TABLE products (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    metadata    TEXT    NOT NULL DEFAULT '{}',
    stripe_updated INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE prices (
    id                 TEXT    PRIMARY KEY,
    product_id         TEXT    NOT NULL REFERENCES products (id),
    active             INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    currency           TEXT    NOT NULL,
    unit_amount        INTEGER NOT NULL DEFAULT 0,
    type               TEXT    NOT NULL DEFAULT 'recurring',
    interval           TEXT    NOT NULL DEFAULT '',
    interval_count     INTEGER NOT NULL DEFAULT 1,
    trial_period_days  INTEGER,
    metadata           TEXT    NOT NULL DEFAULT '{}',
    stripe_updated     INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
);
CREATE INDEX prices_product ON prices (product_id);

CREATE TABLE subscriptions (
    id                   TEXT    PRIMARY KEY,
    workspace_id         TEXT REFERENCES workspaces (id) ON DELETE SET NULL,
    customer_id          TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    current_period_start TEXT,
    current_period_end   TEXT,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
    trial_end            TEXT,
    stripe_updated       INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
);
CREATE INDEX subscriptions_workspace ON subscriptions (workspace_id, status);

CREATE TABLE subscription_items (
    id              TEXT    PRIMARY KEY,
    subscription_id TEXT    NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    price_id        TEXT    NOT NULL REFERENCES prices (id),
    quantity        INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT    NOT NULL
);
CREATE INDEX subscription_items_subscription ON subscription_items (subscription_id);

CREATE TABLE features (
    id         TEXT    PRIMARY KEY,
    lookup_key TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    metadata   TEXT    NOT NULL DEFAULT '{}',
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE product_features (
    id         TEXT    PRIMARY KEY,
    product_id TEXT    NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    feature_id TEXT    NOT NULL REFERENCES features (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    UNIQUE (product_id, feature_id)
);

-- Webhook idempotency: an event id is processed once.
CREATE TABLE stripe_events (
    id           TEXT    PRIMARY KEY,
    type         TEXT    NOT NULL,
    created      INTEGER NOT NULL,
    processed_at TEXT    NOT NULL
);
