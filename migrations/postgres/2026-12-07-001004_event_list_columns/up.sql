-- National scale (issue 13): an event list page read each of its 50 events' topics and hosts
-- from `event_topics` and `event_hosts`, two index probes per event into tables of 5,000+ rows.
-- The event row now carries both as sorted, comma-separated lists (topics have no commas; ids
-- are UUIDs), kept by triggers on the two tables, so no code path can forget them. The tables
-- stay the truth for filters and joins.
ALTER TABLE events ADD COLUMN topic_list TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN host_list TEXT NOT NULL DEFAULT '';

-- Each function locks the event row first and aggregates in a second statement, which sees
-- what a concurrent change committed while it waited (one UPDATE would recompute the list from
-- its own snapshot after the wait, and lose the other's row).
CREATE FUNCTION events_topic_list_of(e TEXT) RETURNS void LANGUAGE sql AS $$
    SELECT 1 FROM events WHERE id = e FOR NO KEY UPDATE;
    UPDATE events SET topic_list = COALESCE(
        (SELECT string_agg(topic, ',' ORDER BY topic) FROM event_topics WHERE event_id = e), '')
    WHERE id = e;
$$;
CREATE FUNCTION events_host_list_of(e TEXT) RETURNS void LANGUAGE sql AS $$
    SELECT 1 FROM events WHERE id = e FOR NO KEY UPDATE;
    UPDATE events SET host_list = COALESCE(
        (SELECT string_agg(organization_id, ',' ORDER BY organization_id) FROM event_hosts WHERE event_id = e), '')
    WHERE id = e;
$$;

CREATE FUNCTION events_topic_list() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM events_topic_list_of(OLD.event_id); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM events_topic_list_of(NEW.event_id); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER event_topics_list AFTER INSERT OR DELETE OR UPDATE ON event_topics
    FOR EACH ROW EXECUTE FUNCTION events_topic_list();

CREATE FUNCTION events_host_list() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM events_host_list_of(OLD.event_id); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM events_host_list_of(NEW.event_id); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER event_hosts_list AFTER INSERT OR DELETE OR UPDATE ON event_hosts
    FOR EACH ROW EXECUTE FUNCTION events_host_list();

UPDATE events SET
    topic_list = COALESCE((SELECT string_agg(topic, ',' ORDER BY topic) FROM event_topics WHERE event_id = events.id), ''),
    host_list = COALESCE(
        (SELECT string_agg(organization_id, ',' ORDER BY organization_id) FROM event_hosts WHERE event_id = events.id), '');
