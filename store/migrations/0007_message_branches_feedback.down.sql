DROP TABLE message_feedback;
DROP INDEX messages_children;
ALTER TABLE messages DROP COLUMN chosen_at;
ALTER TABLE chat_sessions DROP COLUMN current_leaf_id;
