ALTER TABLE chat_sessions DROP COLUMN agent_mode;
ALTER TABLE messages DROP COLUMN steps;
