DROP TABLE message_feedback;
DROP INDEX messages_children;
ALTER TABLE chat_sessions DROP COLUMN current_leaf_id;
