-- A search's scope (the ready documents a viewer may see, store.SearchScope)
-- costs ~10 ms per 10,000 documents to compute, on every query. It is kept in
-- memory instead, tagged with its workspace's version: these triggers bump
-- the version in the same transaction as any write to the rows the scope is
-- computed from, so a scope read at version v is exactly the scope of every
-- snapshot that still reads v. No signal after the commit is needed, and a
-- write from any client (the sqlite3 shell included) invalidates it too.
--
-- An UPDATE OF trigger fires whenever the column is SET, changed or not
-- (UpdateDocument sets status = coalesce(?, status) on every progress
-- step), hence the WHEN clauses. The triggers only UPDATE: while a
-- workspace is deleted, its version row may go first (cascade), and the
-- documents deleted after it then bump nothing.
CREATE TABLE search_scope_versions (
    workspace_id TEXT    PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO search_scope_versions (workspace_id) SELECT id FROM workspaces;

CREATE TRIGGER search_scope_workspace_ai AFTER INSERT ON workspaces BEGIN
    INSERT OR IGNORE INTO search_scope_versions (workspace_id) VALUES (NEW.id);
END;

-- documents: which are ready, their chunk counts, who uploaded them.
CREATE TRIGGER search_scope_documents_ai AFTER INSERT ON documents BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = NEW.workspace_id;
END;
CREATE TRIGGER search_scope_documents_ad AFTER DELETE ON documents BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = OLD.workspace_id;
END;
CREATE TRIGGER search_scope_documents_au AFTER UPDATE OF workspace_id, status, chunk_count, uploaded_by ON documents
WHEN OLD.workspace_id IS NOT NEW.workspace_id OR OLD.status IS NOT NEW.status
    OR OLD.chunk_count IS NOT NEW.chunk_count OR OLD.uploaded_by IS NOT NEW.uploaded_by BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id IN (OLD.workspace_id, NEW.workspace_id);
END;

-- knowledge bases: who may see them and which documents they hold.
CREATE TRIGGER search_scope_kbs_ai AFTER INSERT ON knowledge_bases BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = NEW.workspace_id;
END;
CREATE TRIGGER search_scope_kbs_ad AFTER DELETE ON knowledge_bases BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = OLD.workspace_id;
END;
CREATE TRIGGER search_scope_kbs_au AFTER UPDATE OF id, workspace_id, shared_with_workspace, created_by ON knowledge_bases
WHEN OLD.id IS NOT NEW.id OR OLD.workspace_id IS NOT NEW.workspace_id
    OR OLD.shared_with_workspace IS NOT NEW.shared_with_workspace OR OLD.created_by IS NOT NEW.created_by BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id IN (OLD.workspace_id, NEW.workspace_id);
END;
CREATE TRIGGER search_scope_kb_documents_ai AFTER INSERT ON knowledge_base_documents BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = NEW.workspace_id;
END;
CREATE TRIGGER search_scope_kb_documents_ad AFTER DELETE ON knowledge_base_documents BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = OLD.workspace_id;
END;
CREATE TRIGGER search_scope_kb_documents_au AFTER UPDATE ON knowledge_base_documents BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id IN (OLD.workspace_id, NEW.workspace_id);
END;
CREATE TRIGGER search_scope_kb_teams_ai AFTER INSERT ON knowledge_base_team_access BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = NEW.workspace_id;
END;
CREATE TRIGGER search_scope_kb_teams_ad AFTER DELETE ON knowledge_base_team_access BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = OLD.workspace_id;
END;
CREATE TRIGGER search_scope_kb_teams_au AFTER UPDATE ON knowledge_base_team_access BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id IN (OLD.workspace_id, NEW.workspace_id);
END;

-- teams: who is in the teams a knowledge base is shared with.
CREATE TRIGGER search_scope_team_members_ai AFTER INSERT ON team_memberships BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = NEW.workspace_id;
END;
CREATE TRIGGER search_scope_team_members_ad AFTER DELETE ON team_memberships BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id = OLD.workspace_id;
END;
CREATE TRIGGER search_scope_team_members_au AFTER UPDATE ON team_memberships BEGIN
    UPDATE search_scope_versions SET version = version + 1 WHERE workspace_id IN (OLD.workspace_id, NEW.workspace_id);
END;
