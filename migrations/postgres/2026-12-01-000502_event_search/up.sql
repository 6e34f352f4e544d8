-- The `q=` search of the event lists (src/events/queries.rs, `search_condition`): words of the
-- title and description, matched by prefix. The 'simple' configuration lower-cases and does no
-- stemming and has no stop words, so any word (a town, a brand, "how") can be found. The query
-- must use exactly this expression for PostgreSQL to use the index. Built-in: needs no extension
-- (pg_trgm would need a superuser to CREATE EXTENSION).
CREATE INDEX events_search_idx ON events USING GIN (to_tsvector('simple', title || ' ' || description));
