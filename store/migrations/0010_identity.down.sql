ALTER TABLE team_memberships DROP COLUMN managed;
ALTER TABLE workspace_memberships DROP COLUMN managed;
DROP TABLE group_rules;
DROP TABLE user_identities;
