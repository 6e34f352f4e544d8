-- National scale (issue 13): each event row carries its topics and host ids as
-- comma-separated lists, kept by triggers. See the PostgreSQL migration of the same version.
-- group_concat has no ORDER BY here (sqlite3 shells before 3.44 cannot read one in the schema):
-- the server sorts what it reads.
ALTER TABLE events ADD COLUMN topic_list TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN host_list TEXT NOT NULL DEFAULT '';

CREATE TRIGGER event_topics_list_insert AFTER INSERT ON event_topics
BEGIN
    UPDATE events SET topic_list = COALESCE((SELECT group_concat(topic, ',') FROM event_topics WHERE event_id = NEW.event_id), '') WHERE id = NEW.event_id;
END;
CREATE TRIGGER event_topics_list_delete AFTER DELETE ON event_topics
BEGIN
    UPDATE events SET topic_list = COALESCE((SELECT group_concat(topic, ',') FROM event_topics WHERE event_id = OLD.event_id), '') WHERE id = OLD.event_id;
END;
CREATE TRIGGER event_topics_list_update AFTER UPDATE ON event_topics
BEGIN
    UPDATE events SET topic_list = COALESCE((SELECT group_concat(topic, ',') FROM event_topics WHERE event_id = OLD.event_id), '') WHERE id = OLD.event_id;
    UPDATE events SET topic_list = COALESCE((SELECT group_concat(topic, ',') FROM event_topics WHERE event_id = NEW.event_id), '') WHERE id = NEW.event_id;
END;

CREATE TRIGGER event_hosts_list_insert AFTER INSERT ON event_hosts
BEGIN
    UPDATE events SET host_list = COALESCE((SELECT group_concat(organization_id, ',') FROM event_hosts WHERE event_id = NEW.event_id), '') WHERE id = NEW.event_id;
END;
CREATE TRIGGER event_hosts_list_delete AFTER DELETE ON event_hosts
BEGIN
    UPDATE events SET host_list = COALESCE((SELECT group_concat(organization_id, ',') FROM event_hosts WHERE event_id = OLD.event_id), '') WHERE id = OLD.event_id;
END;
CREATE TRIGGER event_hosts_list_update AFTER UPDATE ON event_hosts
BEGIN
    UPDATE events SET host_list = COALESCE((SELECT group_concat(organization_id, ',') FROM event_hosts WHERE event_id = OLD.event_id), '') WHERE id = OLD.event_id;
    UPDATE events SET host_list = COALESCE((SELECT group_concat(organization_id, ',') FROM event_hosts WHERE event_id = NEW.event_id), '') WHERE id = NEW.event_id;
END;

UPDATE events SET
    topic_list = COALESCE((SELECT group_concat(topic, ',') FROM event_topics WHERE event_id = events.id), ''),
    host_list = COALESCE(
        (SELECT group_concat(organization_id, ',') FROM event_hosts WHERE event_id = events.id), '');
