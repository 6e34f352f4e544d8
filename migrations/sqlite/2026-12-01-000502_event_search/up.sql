-- The `q=` search of the event lists (src/events/queries.rs, `search_condition`): an FTS5 index of
-- each event's title and description, kept in step by the triggers below. Its content stays in
-- `events` (external content), so the text is stored once.
--
-- FTS5 keys its rows by an integer. `events` has a text primary key, so its rowid is not stable:
-- VACUUM may renumber it. The index is therefore keyed by `search_rowid`, a number given to each
-- event once, when it is inserted, and never changed.
ALTER TABLE events ADD COLUMN search_rowid INTEGER;
UPDATE events SET search_rowid = rowid;
CREATE UNIQUE INDEX events_search_rowid_idx ON events (search_rowid);

CREATE VIRTUAL TABLE events_fts USING fts5(
    title,
    description,
    content = 'events',
    content_rowid = 'search_rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO events_fts (events_fts) VALUES ('rebuild');

CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
    UPDATE events SET search_rowid = (SELECT coalesce(max(search_rowid), 0) + 1 FROM events)
     WHERE id = new.id;
    INSERT INTO events_fts (rowid, title, description)
        SELECT search_rowid, title, description FROM events WHERE id = new.id;
END;

CREATE TRIGGER events_fts_update AFTER UPDATE OF title, description ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, title, description)
        VALUES ('delete', old.search_rowid, old.title, old.description);
    INSERT INTO events_fts (rowid, title, description) VALUES (new.search_rowid, new.title, new.description);
END;

CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_fts (events_fts, rowid, title, description)
        VALUES ('delete', old.search_rowid, old.title, old.description);
END;
