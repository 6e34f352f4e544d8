DROP TRIGGER event_hosts_list_update;
DROP TRIGGER event_hosts_list_delete;
DROP TRIGGER event_hosts_list_insert;
DROP TRIGGER event_topics_list_update;
DROP TRIGGER event_topics_list_delete;
DROP TRIGGER event_topics_list_insert;
ALTER TABLE events DROP COLUMN host_list;
ALTER TABLE events DROP COLUMN topic_list;
