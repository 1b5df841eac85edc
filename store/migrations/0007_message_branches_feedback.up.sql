-- Messages become a tree: an edit or a regeneration is a sibling of the message
-- it replaces, and nothing is deleted. A chat remembers the leaf of the branch
-- its reader last chose; the transcript is the path from the root to it. No
-- foreign key: SQLite cannot drop such a column on the way down, and a leaf
-- that no longer exists falls back to the chat's last message.
ALTER TABLE chat_sessions ADD COLUMN current_leaf_id TEXT;

-- Until now questions had no parent and the transcript was the sequence order:
-- chain every parentless message after the one before it, so an existing
-- transcript stays one branch, and point each chat at its last message.
UPDATE messages SET parent_id = (
    SELECT p.id FROM messages p
    WHERE p.chat_session_id = messages.chat_session_id AND p.sequence_number < messages.sequence_number
    ORDER BY p.sequence_number DESC LIMIT 1)
WHERE parent_id IS NULL;
UPDATE chat_sessions SET current_leaf_id = (
    SELECT id FROM messages WHERE chat_session_id = chat_sessions.id ORDER BY sequence_number DESC LIMIT 1);

CREATE INDEX messages_children ON messages (chat_session_id, parent_id, sequence_number);

-- When a version was last chosen (written, or switched to): coming back to a
-- turn shows, below it, the versions its reader last looked at.
ALTER TABLE messages ADD COLUMN chosen_at TEXT NOT NULL DEFAULT '';
UPDATE messages SET chosen_at = created_at;

-- Thumbs up (1) or down (-1) on an answer, with an optional note: one per
-- user per message, the first signal of answer quality for workspace admins.
CREATE TABLE message_feedback (
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    message_id   TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating       INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    note         TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_feedback_workspace ON message_feedback (workspace_id, updated_at);
