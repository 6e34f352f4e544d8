DROP TRIGGER events_fts_delete;
DROP TRIGGER events_fts_update;
DROP TRIGGER events_fts_insert;
DROP TABLE events_fts;
DROP INDEX events_search_rowid_idx;
ALTER TABLE events DROP COLUMN search_rowid;
