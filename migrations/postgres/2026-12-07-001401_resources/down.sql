DROP TABLE event_resources;
DROP TABLE resource_states;
DROP TABLE resource_topics;
DROP TABLE resources;
