DROP TRIGGER event_hosts_list ON event_hosts;
DROP FUNCTION events_host_list();
DROP TRIGGER event_topics_list ON event_topics;
DROP FUNCTION events_topic_list();
DROP FUNCTION events_host_list_of(TEXT);
DROP FUNCTION events_topic_list_of(TEXT);
ALTER TABLE events DROP COLUMN host_list;
ALTER TABLE events DROP COLUMN topic_list;
