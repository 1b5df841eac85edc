DROP INDEX documents_search_scope;
