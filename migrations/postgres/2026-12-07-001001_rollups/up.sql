-- National scale (issue 13): the reports and the outbox stats read counters instead of counting
-- every registration and every email. A trigger on each table appends a signed change to a delta
-- table in the transaction that changes a row (an insert, never an update of a shared row: no
-- lock to queue behind, no lock order to get wrong). The scheduler folds the deltas into one row
-- per (event, status) and per outbox status (`crate::rollups::fold`); readers add the rollup and
-- the deltas not folded yet, so a figure is exact at every moment.

CREATE TABLE registration_counts (
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (event_id, status)
);
CREATE TABLE registration_count_deltas (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    delta INTEGER NOT NULL
);
CREATE INDEX registration_count_deltas_event_idx ON registration_count_deltas (event_id);

CREATE FUNCTION registrations_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO registration_count_deltas (event_id, status, delta) VALUES (OLD.event_id, OLD.status, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO registration_count_deltas (event_id, status, delta) VALUES (NEW.event_id, NEW.status, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER registrations_count_insert_delete AFTER INSERT OR DELETE ON registrations
    FOR EACH ROW EXECUTE FUNCTION registrations_count();
CREATE TRIGGER registrations_count_update AFTER UPDATE OF event_id, status ON registrations
    FOR EACH ROW WHEN (OLD.event_id IS DISTINCT FROM NEW.event_id OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION registrations_count();

INSERT INTO registration_counts (event_id, status, n)
SELECT event_id, status, count(*) FROM registrations GROUP BY event_id, status;

CREATE TABLE outbox_counts (
    status TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
CREATE TABLE outbox_count_deltas (
    id BIGSERIAL PRIMARY KEY,
    status TEXT NOT NULL,
    delta INTEGER NOT NULL
);

CREATE FUNCTION outbox_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO outbox_count_deltas (status, delta) VALUES (OLD.status, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO outbox_count_deltas (status, delta) VALUES (NEW.status, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_count_insert_delete AFTER INSERT OR DELETE ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_count();
CREATE TRIGGER outbox_count_update AFTER UPDATE OF status ON outbox
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION outbox_count();

INSERT INTO outbox_counts (status, n) SELECT status, count(*) FROM outbox GROUP BY status;
