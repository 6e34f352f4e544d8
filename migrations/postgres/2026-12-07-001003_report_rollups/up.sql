-- National scale (issue 13): the state and organization reports read one row per (host
-- organization, state) instead of adding up every event. `crate::reports::rollup` keeps them:
--
-- * `report_counts`: the figures per key, summed over the events' recorded contributions. The key
--   `('', state)` covers every event (admins); `(organization, state)` the events it hosts. The
--   state is the event's own, or its venue's; '' for national webinars.
-- * `report_event_facts`: each event's contribution as it was recorded (its status, times,
--   capacity, state, hosts, folded registration counts and booking counts, and the instant the
--   phase flags were taken at); `valid_from`/`valid_until` bound the instants at which its
--   "upcoming" and "ended" flags stay what they were (NULL: unbounded).
-- * `report_dirty`: events whose facts may differ from what is recorded, appended by the triggers
--   below (a row per change, never an update of a shared row).
--
-- Registrations need no trigger here: their counter deltas (`registration_count_deltas`) name
-- the event already. The scheduler folds all three; a reader adds the rows and corrects them
-- for the events that changed since (dirty, unfolded deltas, or a start or end that has passed),
-- so a report is exact at every moment.

CREATE TABLE report_counts (
    org_id TEXT NOT NULL,
    state TEXT NOT NULL,
    events_draft BIGINT NOT NULL,
    events_published BIGINT NOT NULL,
    events_cancelled BIGINT NOT NULL,
    events_completed BIGINT NOT NULL,
    regs_confirmed BIGINT NOT NULL,
    regs_waitlisted BIGINT NOT NULL,
    regs_cancelled BIGINT NOT NULL,
    regs_attended BIGINT NOT NULL,
    sessions_booked BIGINT NOT NULL,
    sessions_cancelled BIGINT NOT NULL,
    sessions_attended BIGINT NOT NULL,
    sessions_no_show BIGINT NOT NULL,
    ended_attended BIGINT NOT NULL,
    ended_no_show BIGINT NOT NULL,
    upcoming_events BIGINT NOT NULL,
    upcoming_capacity BIGINT NOT NULL,
    upcoming_confirmed BIGINT NOT NULL,
    upcoming_waitlisted BIGINT NOT NULL,
    upcoming_seats_left BIGINT NOT NULL,
    PRIMARY KEY (org_id, state)
);

CREATE TABLE report_event_facts (
    event_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    hosts TEXT NOT NULL,
    status TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    valid_from TIMESTAMP,
    valid_until TIMESTAMP,
    regs_confirmed BIGINT NOT NULL,
    regs_waitlisted BIGINT NOT NULL,
    regs_cancelled BIGINT NOT NULL,
    regs_attended BIGINT NOT NULL,
    sessions_booked BIGINT NOT NULL,
    sessions_cancelled BIGINT NOT NULL,
    sessions_attended BIGINT NOT NULL,
    sessions_no_show BIGINT NOT NULL
);
CREATE INDEX report_event_facts_valid_until_idx ON report_event_facts (valid_until);
CREATE INDEX report_event_facts_valid_from_idx ON report_event_facts (valid_from);

CREATE TABLE report_dirty (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL
);

-- An event that comes to a venue holds the venue row FOR SHARE until it commits, so a venue
-- moving to another state waits for it (and then marks it), or it waits for the venue (and the
-- fold reads the new state). Without this, each could miss the other under READ COMMITTED and
-- the event would stay counted in the old state.
CREATE FUNCTION report_dirty_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO report_dirty (event_id) VALUES (OLD.id);
    ELSE
        INSERT INTO report_dirty (event_id) VALUES (NEW.id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.venue_id IS NOT NULL THEN
        PERFORM 1 FROM venues WHERE id = NEW.venue_id FOR SHARE;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_report_insert_delete AFTER INSERT OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION report_dirty_event();
CREATE TRIGGER events_report_update AFTER UPDATE OF status, capacity, starts_at, ends_at, state_code, venue_id ON events
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.capacity IS DISTINCT FROM NEW.capacity
        OR OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.ends_at IS DISTINCT FROM NEW.ends_at
        OR OLD.state_code IS DISTINCT FROM NEW.state_code OR OLD.venue_id IS DISTINCT FROM NEW.venue_id)
    EXECUTE FUNCTION report_dirty_event();

-- Hosts, bookings: the row names the event (both sides of an update that moves it).
CREATE FUNCTION report_dirty_event_of() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.event_id IS NOT NULL THEN
        INSERT INTO report_dirty (event_id) VALUES (OLD.event_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.event_id IS NOT NULL THEN
        INSERT INTO report_dirty (event_id) VALUES (NEW.event_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER event_hosts_report AFTER INSERT OR DELETE OR UPDATE ON event_hosts
    FOR EACH ROW EXECUTE FUNCTION report_dirty_event_of();
CREATE TRIGGER expert_bookings_report_insert_delete AFTER INSERT OR DELETE ON expert_bookings
    FOR EACH ROW EXECUTE FUNCTION report_dirty_event_of();
CREATE TRIGGER expert_bookings_report_update AFTER UPDATE OF status, event_id ON expert_bookings
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.event_id IS DISTINCT FROM NEW.event_id)
    EXECUTE FUNCTION report_dirty_event_of();

-- A venue that moves to another state moves its events (found by this index).
CREATE INDEX events_venue_idx ON events (venue_id);
CREATE FUNCTION report_dirty_venue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_dirty (event_id) SELECT id FROM events WHERE venue_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER venues_report_update AFTER UPDATE OF state_code ON venues
    FOR EACH ROW WHEN (OLD.state_code IS DISTINCT FROM NEW.state_code)
    EXECUTE FUNCTION report_dirty_venue();

-- Every event there is, to be recorded by the first fold.
INSERT INTO report_dirty (event_id) SELECT id FROM events ORDER BY id;
