-- A signup under the "approval" policy waits for an instance admin: the
-- account exists (so the address is taken and the admin sees who asked) but is
-- disabled until approved. pending_approval tells such an account apart from
-- one an admin deactivated.
ALTER TABLE users ADD COLUMN pending_approval INTEGER NOT NULL DEFAULT 0 CHECK (pending_approval IN (0, 1));
