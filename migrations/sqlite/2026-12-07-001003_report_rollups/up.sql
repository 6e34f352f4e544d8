-- National scale (issue 13): per (host organization, state) counters for the reports. See the
-- PostgreSQL migration of the same version.

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
    event_id TEXT PRIMARY KEY NOT NULL,
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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL
);

CREATE TRIGGER events_report_insert AFTER INSERT ON events
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (NEW.id);
END;
CREATE TRIGGER events_report_delete AFTER DELETE ON events
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (OLD.id);
END;
CREATE TRIGGER events_report_update AFTER UPDATE OF status, capacity, starts_at, ends_at, state_code, venue_id ON events
    WHEN OLD.status IS NOT NEW.status OR OLD.capacity IS NOT NEW.capacity
        OR OLD.starts_at IS NOT NEW.starts_at OR OLD.ends_at IS NOT NEW.ends_at
        OR OLD.state_code IS NOT NEW.state_code OR OLD.venue_id IS NOT NEW.venue_id
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (NEW.id);
END;

CREATE TRIGGER event_hosts_report_insert AFTER INSERT ON event_hosts
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (NEW.event_id);
END;
CREATE TRIGGER event_hosts_report_delete AFTER DELETE ON event_hosts
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (OLD.event_id);
END;
CREATE TRIGGER event_hosts_report_update AFTER UPDATE ON event_hosts
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (OLD.event_id);
    INSERT INTO report_dirty (event_id) VALUES (NEW.event_id);
END;

CREATE TRIGGER expert_bookings_report_insert AFTER INSERT ON expert_bookings
    WHEN NEW.event_id IS NOT NULL
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (NEW.event_id);
END;
CREATE TRIGGER expert_bookings_report_delete AFTER DELETE ON expert_bookings
    WHEN OLD.event_id IS NOT NULL
BEGIN
    INSERT INTO report_dirty (event_id) VALUES (OLD.event_id);
END;
CREATE TRIGGER expert_bookings_report_update AFTER UPDATE OF status, event_id ON expert_bookings
    WHEN OLD.status IS NOT NEW.status OR OLD.event_id IS NOT NEW.event_id
BEGIN
    INSERT INTO report_dirty (event_id) SELECT OLD.event_id WHERE OLD.event_id IS NOT NULL;
    INSERT INTO report_dirty (event_id) SELECT NEW.event_id WHERE NEW.event_id IS NOT NULL;
END;

CREATE INDEX events_venue_idx ON events (venue_id);
CREATE TRIGGER venues_report_update AFTER UPDATE OF state_code ON venues
    WHEN OLD.state_code IS NOT NEW.state_code
BEGIN
    INSERT INTO report_dirty (event_id) SELECT id FROM events WHERE venue_id = NEW.id;
END;

INSERT INTO report_dirty (event_id) SELECT id FROM events ORDER BY id;
