DROP TRIGGER resources_fts_delete;
DROP TRIGGER resources_fts_update;
DROP TRIGGER resources_fts_insert;
DROP TABLE resources_fts;
DROP TABLE event_resources;
DROP TABLE resource_states;
DROP TABLE resource_topics;
DROP TABLE resources;
