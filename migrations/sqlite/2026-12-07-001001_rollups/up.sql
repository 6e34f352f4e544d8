-- National scale (issue 13): counters for the reports and the outbox stats, kept by triggers as
-- appended deltas and folded by the scheduler. See the PostgreSQL migration of the same version.

CREATE TABLE registration_counts (
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (event_id, status)
);
CREATE TABLE registration_count_deltas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    delta INTEGER NOT NULL
);
CREATE INDEX registration_count_deltas_event_idx ON registration_count_deltas (event_id);

CREATE TRIGGER registrations_count_insert AFTER INSERT ON registrations
BEGIN
    INSERT INTO registration_count_deltas (event_id, status, delta) VALUES (NEW.event_id, NEW.status, 1);
END;
CREATE TRIGGER registrations_count_delete AFTER DELETE ON registrations
BEGIN
    INSERT INTO registration_count_deltas (event_id, status, delta) VALUES (OLD.event_id, OLD.status, -1);
END;
CREATE TRIGGER registrations_count_update AFTER UPDATE OF event_id, status ON registrations
    WHEN OLD.event_id IS NOT NEW.event_id OR OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO registration_count_deltas (event_id, status, delta) VALUES (OLD.event_id, OLD.status, -1);
    INSERT INTO registration_count_deltas (event_id, status, delta) VALUES (NEW.event_id, NEW.status, 1);
END;

INSERT INTO registration_counts (event_id, status, n)
SELECT event_id, status, count(*) FROM registrations GROUP BY event_id, status;

CREATE TABLE outbox_counts (
    status TEXT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);
CREATE TABLE outbox_count_deltas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    delta INTEGER NOT NULL
);

CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox
BEGIN
    INSERT INTO outbox_count_deltas (status, delta) VALUES (NEW.status, 1);
END;
CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox
BEGIN
    INSERT INTO outbox_count_deltas (status, delta) VALUES (OLD.status, -1);
END;
CREATE TRIGGER outbox_count_update AFTER UPDATE OF status ON outbox
    WHEN OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO outbox_count_deltas (status, delta) VALUES (OLD.status, -1);
    INSERT INTO outbox_count_deltas (status, delta) VALUES (NEW.status, 1);
END;

INSERT INTO outbox_counts (status, n) SELECT status, count(*) FROM outbox GROUP BY status;
