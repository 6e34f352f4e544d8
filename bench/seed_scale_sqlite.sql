-- A program-sized dataset for SQLite, the counterpart of bench/seed_scale.sql (PostgreSQL):
--
--   DATABASE_URL=sqlite:///abs/path/x.db roadshow migrate   # the server creates the schema
--   sqlite3 /abs/path/x.db < bench/seed_scale_sqlite.sql
--
-- Defaults: 200,000 businesses, 1,000,000 registrations over 5,000 events (event 1 is a national
-- webinar with 20,000 seats, all taken), 100,000 sent outbox rows, 10,000 audit rows. Smaller
-- sizes are named parameters of the sqlite3 shell, set before the script runs:
--   sqlite3 -cmd '.parameter set @businesses 2000' -cmd '.parameter set @registrations 10000' \
--           -cmd '.parameter set @events 50' -cmd '.parameter set @webinar_seats 2000' x.db < …
-- (also @outbox, @audit); a parameter not set takes its default (see `seed_params`).
--
-- The same dataset as the PostgreSQL script, row for row, except the ids: SQLite has no md5, so
-- an id is the kind and the number in UUID form, seed_id('event', 7) =
-- 5eed0004-0000-4000-8000-000000000007 (kinds: org 1, staff 2, venue 3, event 4, business 5,
-- registration 6, outbox 7, audit 8). The webinar is 5eed0004-0000-4000-8000-000000000001. Times
-- are whole seconds, written as the server writes them (`YYYY-MM-DD HH:MM:SS`, UTC). Also
-- different: manage_token_hash is the SHA3 of `seed-manage-k` (the shell has no SHA-256), so where
-- `seed-manage-k` is registration k's manage token on PostgreSQL, no seeded registration has a
-- usable one here; and outbox.message_id ends `@roadshow>`, as the server writes it.
--
-- Everything derived is kept consistent: seat shards (event_seat_shards.taken = confirmed +
-- attended registrations of that event and shard, shard capacities as `seats::create_shards`
-- splits them), waitlist tickets up to events.waitlist_seq, event hosts in the event's state,
-- duplicate keys of businesses (`credits::identity`), the event search index (its triggers fire),
-- and the report and outbox counters (registration_counts, outbox_counts) rebuilt from the rows
-- with the delta tables empty. A second run on the same database fails on the primary keys and
-- changes nothing. Needs a migrated file that no server has open, and sqlite3 3.39 or newer.
-- Takes under a minute on a 2-core machine at the default size (44-56 s, 1.5 GB of memory at the
-- peak); the file is then 1,009 MB.

.bail on
.headers on
.mode list
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
-- The million rows' indexes stay in memory while they are built (up to 1 GB; not temp_store,
-- whose change would drop the shell's parameters).
PRAGMA cache_size = -1048576;
PRAGMA temp.cache_size = -1048576;
-- As the server has it: a row pointing at nothing fails the load.
PRAGMA foreign_keys = ON;
.timer on
BEGIN IMMEDIATE;

-- The counter triggers (`crate::rollups`) would append a delta for each of the million rows, and
-- SQLite cannot disable a trigger: they are dropped here and created again below, after the
-- load, with the counters rebuilt from the rows (a trigger's place in the schema changes
-- nothing). The text below is migration 2026-12-07-001001_rollups; `seed_saved_schema` keeps
-- what the database had, and the load fails if the two differ (a later migration changed them:
-- update this script). A failed check stops the load at its line ("CHECK constraint failed:
-- seed_check"), nothing written.
CREATE TEMP TABLE seed_saved_schema AS
SELECT type, name, tbl_name, sql FROM sqlite_schema
WHERE name IN ('registrations_count_insert', 'registrations_count_delete', 'registrations_count_update',
               'outbox_count_insert', 'outbox_count_delete', 'outbox_count_update');
CREATE TEMP TABLE seed_check (what TEXT NOT NULL, ok INTEGER NOT NULL CONSTRAINT seed_check CHECK (ok = 1));
INSERT INTO seed_check SELECT 'the counter triggers are there', count(*) = 6 FROM seed_saved_schema;
DROP TRIGGER registrations_count_insert;
DROP TRIGGER registrations_count_delete;
DROP TRIGGER registrations_count_update;
DROP TRIGGER outbox_count_insert;
DROP TRIGGER outbox_count_delete;
DROP TRIGGER outbox_count_update;

-- The sizes; t0 (now, whole seconds) as Unix seconds. Every time below is Unix seconds until it
-- is written with datetime(…, 'unixepoch'), the server's format.
CREATE TEMP TABLE seed_params AS
SELECT CAST(strftime('%s', 'now') AS INTEGER) AS t0,
       coalesce(@businesses, 200000) AS businesses, coalesce(@registrations, 1000000) AS registrations,
       coalesce(@events, 5000) AS events, coalesce(@webinar_seats, 20000) AS webinar_seats,
       coalesce(@outbox, 100000) AS outbox, coalesce(@audit, 10000) AS audit;
INSERT INTO seed_check SELECT 'sizes: more than 5 businesses, more than 1 event', businesses > 5 AND events > 1
FROM seed_params;

-- 1, 2, 3, … as far as the largest size (instead of generate_series).
CREATE TEMP TABLE seed_numbers (n INTEGER PRIMARY KEY);
WITH RECURSIVE c(n) AS (
    SELECT 1 UNION ALL SELECT n + 1 FROM c
    WHERE n < (SELECT max(businesses, registrations, events, outbox, audit, 64) FROM seed_params)
)
INSERT INTO seed_numbers (n) SELECT n FROM c;

-- The labels PostgreSQL picks from arrays, by n % 8 and n % 6.
CREATE TEMP TABLE seed_words (i INTEGER PRIMARY KEY, word TEXT, about TEXT, topic TEXT);
INSERT INTO seed_words VALUES
    (0, 'Financing', 'loans and credit', 'analytics'),
    (1, 'Export', 'selling abroad', 'e-commerce'),
    (2, 'Hiring', 'your first employee', 'community'),
    (3, 'Marketing', 'reaching customers online', 'advertising'),
    (4, 'Taxes', 'quarterly taxes', 'messaging'),
    (5, 'Digital', 'websites and payments', 'content'),
    (6, 'Grants', 'public grants', 'page-setup'),
    (7, 'Cybersecurity', 'protecting your shop', 'privacy');
CREATE TEMP TABLE seed_industries (i INTEGER PRIMARY KEY, industry TEXT);
INSERT INTO seed_industries VALUES
    (0, 'retail'), (1, 'restaurants'), (2, 'construction'), (3, 'beauty'), (4, 'services'), (5, 'manufacturing');

-- The states in a fixed order (1..51).
CREATE TEMP TABLE seed_states AS
SELECT row_number() OVER (ORDER BY code) AS n, code, time_zone FROM states;

-- Organizations: one national chamber (no states: national), one chamber per state, five
-- federations covering eleven states each (the fifth, seven).
INSERT INTO organizations (id, name, kind, created_at, updated_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 1, 0), 'Seed National Chamber', 'national_chamber',
       datetime(t0 - 400 * 86400, 'unixepoch'), datetime(t0 - 400 * 86400, 'unixepoch')
FROM seed_params;
INSERT INTO organizations (id, name, kind, created_at, updated_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 1, s.n), 'Seed ' || s.code || ' Chamber of Commerce', 'local_chamber',
       datetime(p.t0 - 400 * 86400, 'unixepoch'), datetime(p.t0 - 400 * 86400, 'unixepoch')
FROM seed_states s, seed_params p;
INSERT INTO organization_states (organization_id, state_code)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 1, n), code FROM seed_states;
INSERT INTO organizations (id, name, kind, created_at, updated_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 1, 100 + f.n), 'Seed Federation ' || f.n, 'federation',
       datetime(p.t0 - 400 * 86400, 'unixepoch'), datetime(p.t0 - 400 * 86400, 'unixepoch')
FROM seed_numbers f, seed_params p WHERE f.n <= 5;
INSERT INTO organization_states (organization_id, state_code)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 1, 100 + 1 + (n - 1) / 11), code FROM seed_states WHERE n <= 55;

-- One admin (the author of the audit rows and events; no token: `roadshow create-admin` makes one).
INSERT INTO staff_users (id, email, name, role, organization_id, created_at, updated_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 2, 0), 'seed-admin@roadshow.example', 'Seed Admin', 'admin', NULL,
       datetime(t0 - 400 * 86400, 'unixepoch'), datetime(t0 - 400 * 86400, 'unixepoch')
FROM seed_params;
-- An organizer per state chamber.
INSERT INTO staff_users (id, email, name, role, organization_id, created_at, updated_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 2, s.n), 'seed-organizer-' || lower(s.code) || '@roadshow.example',
       'Seed Organizer ' || s.code, 'organizer', printf('5eed%04x-0000-4000-8000-%012x', 1, s.n),
       datetime(p.t0 - 400 * 86400, 'unixepoch'), datetime(p.t0 - 400 * 86400, 'unixepoch')
FROM seed_states s, seed_params p;

-- Four venues per state, owned by its chamber.
INSERT INTO venues (id, name, address, city, state_code, time_zone, organization_id, created_at, updated_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 3, (s.n - 1) * 4 + v.n), 'Seed Hall ' || s.code || ' ' || v.n,
       v.n || ' Main Street', 'Seedville ' || v.n, s.code, s.time_zone, printf('5eed%04x-0000-4000-8000-%012x', 1, s.n),
       datetime(p.t0 - 400 * 86400, 'unixepoch'), datetime(p.t0 - 400 * 86400, 'unixepoch')
FROM seed_states s, seed_numbers v, seed_params p WHERE v.n <= 4;

-- Events. Event 1: the national webinar, published, in 20 days, webinar_seats seats. Events
-- 2..N: every 5th a webinar (national, hosted by the national chamber), the others roadshow
-- stops at a venue (hosted by that state's chamber, every 3rd co-hosted by its federation).
-- Half are in the past (completed), a few cancelled (their registrations too), the rest
-- published and ahead.
-- Stops have 200 seats, except every 7th (150: these fill up and keep a waitlist).
CREATE TEMP TABLE seed_events AS
SELECT x.*, min(max(x.capacity / 32, 1), 16) AS shards
FROM (
    SELECT e.n AS n,
           printf('5eed%04x-0000-4000-8000-%012x', 4, e.n) AS id,
           CASE WHEN e.n = 1 OR e.n % 5 = 0 THEN 'webinar' ELSE 'roadshow_stop' END AS kind,
           CASE WHEN e.n = 1 THEN p.webinar_seats WHEN e.n % 7 = 0 THEN 150 ELSE 200 END AS capacity,
           CASE WHEN e.n = 1 THEN 'published'
                WHEN e.n % 2 = 0 THEN 'completed'
                WHEN e.n % 97 = 0 THEN 'cancelled'
                ELSE 'published' END AS status,
           CASE WHEN e.n = 1 THEN p.t0 + 20 * 86400
                WHEN e.n % 2 = 0 THEN p.t0 - (e.n % 360 + 1) * 86400 + (e.n % 9) * 3600
                ELSE p.t0 + (e.n % 180 + 1) * 86400 + (e.n % 9) * 3600 END AS starts,
           1 + (e.n * 7) % 51 AS state_n,
           1 + (e.n * 13) % 4 AS venue_n
    FROM seed_numbers e, seed_params p
    WHERE e.n <= p.events
) x;

-- In order of n: the search trigger numbers search_rowid in insertion order.
INSERT INTO events (id, kind, title, description, starts_at, ends_at, time_zone, capacity,
                    registration_opens_at, registration_closes_at, status, venue_id, join_url, state_code,
                    waitlist_seq, revision, created_by, created_at, updated_at, published_at, cancelled_at)
SELECT e.id, e.kind,
       CASE WHEN e.n = 1 THEN 'National Small Business Webinar'
            ELSE w.word || CASE WHEN e.kind = 'webinar' THEN ' webinar ' ELSE ' roadshow in ' || s.code || ' ' END || e.n END,
       'Seeded event ' || e.n || ' about ' || w.about,
       datetime(e.starts, 'unixepoch'),
       datetime(e.starts + CASE WHEN e.kind = 'webinar' THEN 3600 ELSE 4 * 3600 END, 'unixepoch'),
       CASE WHEN e.kind = 'webinar' THEN 'America/New_York' ELSE s.time_zone END,
       e.capacity, NULL, NULL, e.status,
       CASE WHEN e.kind = 'roadshow_stop' THEN printf('5eed%04x-0000-4000-8000-%012x', 3, (e.state_n - 1) * 4 + e.venue_n) END,
       CASE WHEN e.kind = 'webinar' THEN 'https://webinar.example.com/j/' || e.n END,
       CASE WHEN e.kind = 'roadshow_stop' THEN s.code END,
       0, 0, printf('5eed%04x-0000-4000-8000-%012x', 2, 0),
       datetime(e.starts - 60 * 86400, 'unixepoch'), datetime(e.starts - 60 * 86400, 'unixepoch'),
       datetime(e.starts - 59 * 86400, 'unixepoch'),
       CASE WHEN e.status = 'cancelled' THEN datetime(e.starts - 10 * 86400, 'unixepoch') END
FROM seed_events e
JOIN seed_states s ON s.n = e.state_n
JOIN seed_words w ON w.i = e.n % 8
ORDER BY e.n;

INSERT INTO event_hosts (event_id, organization_id)
SELECT id, CASE WHEN kind = 'webinar' THEN printf('5eed%04x-0000-4000-8000-%012x', 1, 0)
                ELSE printf('5eed%04x-0000-4000-8000-%012x', 1, state_n) END
FROM seed_events;
INSERT INTO event_hosts (event_id, organization_id)
SELECT id, printf('5eed%04x-0000-4000-8000-%012x', 1, 100 + 1 + (state_n - 1) / 11)
FROM seed_events WHERE kind = 'roadshow_stop' AND n % 3 = 0;

INSERT INTO event_topics (event_id, topic)
SELECT e.id, w.topic FROM seed_events e JOIN seed_words w ON w.i = e.n % 8;

-- Seat shards as `registrations::seats::create_shards` makes them (taken is set below).
INSERT INTO event_seat_shards (event_id, shard, capacity, taken)
SELECT e.id, sh.n - 1, e.capacity / e.shards + CASE WHEN sh.n - 1 < e.capacity % e.shards THEN 1 ELSE 0 END, 0
FROM seed_events e JOIN seed_numbers sh ON sh.n <= e.shards
ORDER BY e.n, sh.n;

-- Businesses. Businesses 1..5 hold exactly 50 registrations each (export and erasure at scale).
INSERT INTO businesses (id, email, name, state_code, industry, employees, website, created_at, updated_at,
                        deleted_at, ein, name_key, site_key, merged_into)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 5, b.n), 'owner-' || b.n || '@seed-shop.example', 'Seed Shop ' || b.n, s.code,
       i.industry,
       CASE b.n % 4 WHEN 0 THEN '1' WHEN 1 THEN '2-9' WHEN 2 THEN '10-49' ELSE '50-249' END,
       CASE WHEN b.n % 3 = 0 THEN 'https://shop' || b.n || '.example' END,
       datetime(p.t0 - 300 * 86400 + b.n * 60, 'unixepoch'), datetime(p.t0 - 300 * 86400 + b.n * 60, 'unixepoch'),
       NULL, NULL, 'seed shop ' || b.n || '|' || s.code,
       CASE WHEN b.n % 3 = 0 THEN 'shop' || b.n || '.example|' || s.code END, NULL
FROM seed_params p
JOIN seed_numbers b ON b.n <= p.businesses
JOIN seed_states s ON s.n = 1 + b.n % 51
JOIN seed_industries i ON i.i = b.n % 6
ORDER BY b.n;

-- Registrations: 1..webinar_seats for the webinar (all confirmed: it is full), the rest spread
-- round robin over events 2..N. Registration k (k = webinar_seats + 1 ..) goes to event
-- 2 + (k - webinar_seats - 1) % (N - 1); the first 250 of them belong to businesses 1..5 (50 each,
-- in 50 different events), the others to business 6 + k % (businesses - 5).
-- Per event, the active registrations in order (rank): the first `capacity` hold a seat (round
-- robin over the shards, which fills each shard exactly up to its capacity), the rest are
-- waitlisted. One in ten cancels.
CREATE TEMP TABLE seed_regs AS
SELECT r.*,
       CASE WHEN r.rank IS NULL THEN 'cancelled'
            WHEN r.rank > r.capacity THEN CASE WHEN r.event_status IN ('completed', 'cancelled') THEN 'cancelled' ELSE 'waitlisted' END
            WHEN r.event_status = 'cancelled' THEN 'cancelled'
            WHEN r.event_status = 'completed' AND r.k % 5 <> 0 THEN 'attended'
            ELSE 'confirmed' END AS status,
       r.starts - 50 * 86400 + (r.k % 100000) * 40 AS created
FROM (
    SELECT g.k, g.event_n, g.business_n, e.id AS event_id, e.status AS event_status, e.starts, e.capacity, e.shards,
           CASE WHEN g.cancelled THEN NULL
                ELSE row_number() OVER (PARTITION BY g.event_n, g.cancelled ORDER BY g.k) END AS rank
    FROM (
        SELECT k.n AS k,
               CASE WHEN k.n <= p.webinar_seats THEN 1 ELSE 2 + (k.n - p.webinar_seats - 1) % (p.events - 1) END AS event_n,
               CASE WHEN k.n > p.webinar_seats AND k.n <= p.webinar_seats + 250 THEN 1 + (k.n - p.webinar_seats - 1) / 50
                    ELSE 6 + k.n % (p.businesses - 5) END AS business_n,
               k.n % 10 = 3 AND k.n > p.webinar_seats AS cancelled
        FROM seed_numbers k, seed_params p
        WHERE k.n <= p.registrations
    ) g
    JOIN seed_events e ON e.n = g.event_n
) r;

-- The shape of a stored manage_token_hash (64 hex digits) but SHA3-256 (the shell's sha3(); there
-- is no SHA-256) of 'seed-manage-k': not the hash of any token the server would take.
INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, waitlist_ticket,
                           seat_shard, manage_token_hash, calendar_sequence, created_at, updated_at, confirmed_at,
                           cancelled_at, checked_in_at, business_name_given, business_state_given, industry_given,
                           employees_given, website_given)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 6, r.k), r.event_id, printf('5eed%04x-0000-4000-8000-%012x', 5, r.business_n),
       'Attendee ' || r.k, 'attendee-' || r.k || '@seed-shop.example',
       r.status,
       CASE WHEN r.status = 'waitlisted' THEN r.rank - r.capacity END,
       CASE WHEN r.status IN ('confirmed', 'attended') THEN (r.rank - 1) % r.shards END,
       lower(hex(sha3('seed-manage-' || r.k, 256))),
       0, datetime(r.created, 'unixepoch'), datetime(r.created, 'unixepoch'),
       CASE WHEN r.status IN ('confirmed', 'attended') THEN datetime(r.created, 'unixepoch') END,
       CASE WHEN r.status = 'cancelled' THEN datetime(r.created + 86400, 'unixepoch') END,
       CASE WHEN r.status = 'attended' THEN datetime(r.starts + 600, 'unixepoch') END,
       'Seed Shop ' || r.business_n, NULL, NULL, NULL, NULL
FROM seed_regs r
ORDER BY r.k;

-- Derived data: taken seats per shard, the last waitlist ticket per event.
UPDATE event_seat_shards SET taken = t.n
FROM (SELECT event_id, seat_shard, count(*) AS n FROM registrations
      WHERE status IN ('confirmed', 'attended') GROUP BY event_id, seat_shard) t
WHERE event_seat_shards.event_id = t.event_id AND event_seat_shards.shard = t.seat_shard;
UPDATE events SET waitlist_seq = w.m
FROM (SELECT event_id, max(waitlist_ticket) AS m FROM registrations WHERE waitlist_ticket IS NOT NULL GROUP BY event_id) w
WHERE events.id = w.event_id;

-- Sent confirmations of registrations 1..outbox (the webinar's first). message_id as the server
-- writes it (`mail::outbox::message_id`).
INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, headers,
                    message_id, status, attempts, next_attempt_at, locked_until, locked_by, last_error,
                    registration_id, business_id, event_id, created_at, sent_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 7, k.n), 'registration_confirmed:' || r.id, r.attendee_email,
       'registration_confirmed', 'transactional', 'You are registered',
       'Seeded confirmation ' || k.n || char(10) || 'See you there.',
       '<p>Seeded confirmation ' || k.n || '</p>', NULL, '{}',
       '<' || printf('5eed%04x-0000-4000-8000-%012x', 7, k.n) || '@roadshow>', 'sent', 1, r.created_at, NULL, NULL, NULL,
       r.id, r.business_id, r.event_id, r.created_at, datetime(r.created_at, '+5 seconds')
FROM seed_params p
JOIN seed_numbers k ON k.n <= p.outbox
JOIN registrations r ON r.id = printf('5eed%04x-0000-4000-8000-%012x', 6, k.n)
ORDER BY k.n;

-- Audit trail: staff edits of events.
INSERT INTO audit_log (id, actor_user_id, action, object_type, object_id, changes, created_at)
SELECT printf('5eed%04x-0000-4000-8000-%012x', 8, a.n), printf('5eed%04x-0000-4000-8000-%012x', 2, 0), 'update', 'event',
       printf('5eed%04x-0000-4000-8000-%012x', 4, 1 + a.n % p.events), '{"fields":["title","description"]}',
       datetime(p.t0 - 100 * 86400 + a.n * 600, 'unixepoch')
FROM seed_params p JOIN seed_numbers a ON a.n <= p.audit
ORDER BY a.n;

-- The counter triggers again, as migration 2026-12-07-001001_rollups creates them (same text),
-- then the counters from the rows, the delta tables empty.
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
INSERT INTO seed_check
SELECT 'the counter triggers are created again as the migration made them',
       (SELECT count(*) FROM seed_saved_schema o JOIN sqlite_schema n USING (type, name, tbl_name, sql)) = 6;

DELETE FROM registration_counts;
DELETE FROM registration_count_deltas;
INSERT INTO registration_counts (event_id, status, n)
SELECT event_id, status, count(*) FROM registrations GROUP BY event_id, status;
DELETE FROM outbox_counts;
DELETE FROM outbox_count_deltas;
INSERT INTO outbox_counts (status, n) SELECT status, count(*) FROM outbox GROUP BY status;

COMMIT;
ANALYZE;

SELECT (SELECT count(*) FROM businesses) AS businesses, (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM registrations) AS registrations, (SELECT count(*) FROM outbox) AS outbox,
       (SELECT count(*) FROM audit_log) AS audit;
-- Consistency: no shard over capacity, taken = seated registrations, counters = rows (must print 0|0|0).
SELECT (SELECT count(*) FROM event_seat_shards WHERE taken > capacity) AS shards_over,
       (SELECT count(*) FROM event_seat_shards s
        LEFT JOIN (SELECT event_id, seat_shard, count(*) AS n FROM registrations
                   WHERE status IN ('confirmed', 'attended') GROUP BY event_id, seat_shard) t
               ON t.event_id = s.event_id AND t.seat_shard = s.shard
        WHERE s.taken <> coalesce(t.n, 0)) AS shards_off,
       (SELECT count(*) FROM (SELECT event_id, status, count(*) AS n FROM registrations GROUP BY event_id, status) c
        FULL JOIN registration_counts k USING (event_id, status) WHERE c.n IS NOT k.n) AS counts_off;
