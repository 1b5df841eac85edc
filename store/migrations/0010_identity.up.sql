-- Accounts at an external identity provider ("oidc:<name>" or "ldap"), each
-- linked to one Quire account. The provider's subject, not the email, finds
-- the account at the next sign-in: an address can change or be reassigned.
CREATE TABLE user_identities (
    provider      TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    last_login_at TEXT    NOT NULL,
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider)
);

-- A workspace's rules from directory groups: a member of group_name gets the
-- role in the workspace, or a place in the team. Exactly one of the two.
CREATE TABLE group_rules (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    group_name   TEXT    NOT NULL,
    role         TEXT    CHECK (role IN ('admin', 'member')),
    team_id      INTEGER REFERENCES teams (id) ON DELETE CASCADE,
    created_at   TEXT    NOT NULL,
    CHECK ((role IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX group_rules_unique ON group_rules (workspace_id, group_name, coalesce(role, ''), coalesce(team_id, 0));

-- Memberships that group rules made: only these do the rules change or
-- remove; a membership an admin made by hand stays as it is.
ALTER TABLE workspace_memberships ADD COLUMN managed INTEGER NOT NULL DEFAULT 0 CHECK (managed IN (0, 1));
ALTER TABLE team_memberships ADD COLUMN managed INTEGER NOT NULL DEFAULT 0 CHECK (managed IN (0, 1));
