-- Agent mode: a reply written by a loop of model calls and tool calls keeps
-- its steps (the assistant's tool calls and the tool results, as a JSON list
-- of messages) with it, so every reader of the reply sees how it was found
-- and a regeneration keeps the older version's steps with that version.
ALTER TABLE messages ADD COLUMN steps TEXT NOT NULL DEFAULT '[]';

-- A chat's agent mode: NULL follows its model (on when the model can call
-- tools), 1 on, 0 off.
ALTER TABLE chat_sessions ADD COLUMN agent_mode INTEGER CHECK (agent_mode IN (0, 1));
