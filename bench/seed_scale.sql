-- A program-sized dataset for PostgreSQL (issue 13, "National scale stays fast"):
--
--   DATABASE_URL=postgres://…/db roadshow migrate       # the server creates the schema
--   psql -v ON_ERROR_STOP=1 -f bench/seed_scale.sql postgres://…/db
--
-- Defaults: 200,000 businesses, 1,000,000 registrations over 5,000 events (event 1 is a national
-- webinar with 20,000 seats, all taken), 100,000 sent outbox rows, 10,000 audit rows. Smaller
-- sizes: `psql -v businesses=2000 -v registrations=10000 -v events=50 -v webinar_seats=2000 …`.
--
-- Everything derived is kept consistent: seat shards (event_seat_shards.taken = confirmed +
-- attended registrations of that event and shard, shard capacities as `seats::create_shards`
-- splits them), waitlist tickets below events.waitlist_seq, event hosts in the event's state,
-- duplicate keys of businesses (`credits::identity`). Ids are deterministic UUIDs (md5 of a label),
-- so a second run on the same database fails on the primary keys rather than doubling the data.
-- Takes about 1-2 minutes on a 2-core machine at the default size.

\if :{?businesses}
\else
\set businesses 200000
\endif
\if :{?registrations}
\else
\set registrations 1000000
\endif
\if :{?events}
\else
\set events 5000
\endif
\if :{?webinar_seats}
\else
\set webinar_seats 20000
\endif
\if :{?outbox}
\else
\set outbox 100000
\endif
\if :{?audit}
\else
\set audit 10000
\endif

\set ON_ERROR_STOP 1
\timing on
SET synchronous_commit = off;
SET jit = off;
BEGIN;
-- The counter triggers (`crate::rollups`) would append a delta for each of the million rows; the
-- counters are rebuilt from the rows at the end instead, in this transaction.
ALTER TABLE registrations DISABLE TRIGGER registrations_count_insert_delete;
ALTER TABLE outbox DISABLE TRIGGER outbox_count_insert_delete;

-- Deterministic ids: seed_id('event', 7) = md5 of 'seed-event-7' as a UUID.
CREATE FUNCTION pg_temp.seed_id(kind TEXT, n BIGINT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE AS $$ SELECT md5('seed-' || kind || '-' || n)::uuid::text $$;

CREATE TEMP TABLE seed_params AS
SELECT (now() AT TIME ZONE 'UTC')::timestamp(6) AS t0,
       :businesses::bigint AS businesses, :registrations::bigint AS registrations,
       :events::int AS events, :webinar_seats::int AS webinar_seats,
       :outbox::bigint AS outbox, :audit::bigint AS audit;

-- The states in a fixed order (1..51).
CREATE TEMP TABLE seed_states AS
SELECT row_number() OVER (ORDER BY code)::int AS n, code, time_zone FROM states;

-- Organizations: one national chamber (no states: national), one chamber per state, five
-- federations covering ten states each.
INSERT INTO organizations (id, name, kind, created_at, updated_at)
SELECT pg_temp.seed_id('org', 0), 'Seed National Chamber', 'national_chamber', t0 - interval '400 days', t0 - interval '400 days'
FROM seed_params;
INSERT INTO organizations (id, name, kind, created_at, updated_at)
SELECT pg_temp.seed_id('org', s.n), 'Seed ' || s.code || ' Chamber of Commerce', 'local_chamber',
       p.t0 - interval '400 days', p.t0 - interval '400 days'
FROM seed_states s, seed_params p;
INSERT INTO organization_states (organization_id, state_code)
SELECT pg_temp.seed_id('org', n), code FROM seed_states;
INSERT INTO organizations (id, name, kind, created_at, updated_at)
SELECT pg_temp.seed_id('org', 100 + f), 'Seed Federation ' || f, 'federation', t0 - interval '400 days', t0 - interval '400 days'
FROM generate_series(1, 5) f, seed_params;
INSERT INTO organization_states (organization_id, state_code)
SELECT pg_temp.seed_id('org', 100 + 1 + (n - 1) / 11), code FROM seed_states WHERE n <= 55;

-- One admin (the author of the audit rows and events; no token: `roadshow create-admin` makes one).
INSERT INTO staff_users (id, email, name, role, organization_id, created_at, updated_at)
SELECT pg_temp.seed_id('staff', 0), 'seed-admin@roadshow.example', 'Seed Admin', 'admin', NULL, t0 - interval '400 days', t0 - interval '400 days'
FROM seed_params;
-- An organizer per state chamber.
INSERT INTO staff_users (id, email, name, role, organization_id, created_at, updated_at)
SELECT pg_temp.seed_id('staff', s.n), 'seed-organizer-' || lower(s.code) || '@roadshow.example', 'Seed Organizer ' || s.code,
       'organizer', pg_temp.seed_id('org', s.n), p.t0 - interval '400 days', p.t0 - interval '400 days'
FROM seed_states s, seed_params p;

-- Four venues per state, owned by its chamber.
INSERT INTO venues (id, name, address, city, state_code, time_zone, organization_id, created_at, updated_at)
SELECT pg_temp.seed_id('venue', (s.n - 1) * 4 + v), 'Seed Hall ' || s.code || ' ' || v, v || ' Main Street', 'Seedville ' || v,
       s.code, s.time_zone, pg_temp.seed_id('org', s.n), p.t0 - interval '400 days', p.t0 - interval '400 days'
FROM seed_states s, generate_series(1, 4) v, seed_params p;

-- Events. Event 1: the national webinar, published, in 20 days, webinar_seats seats. Events
-- 2..N: every 5th a webinar (national, hosted by the national chamber), the others roadshow
-- stops at a venue (hosted by that state's chamber, every 3rd co-hosted by its federation).
-- Half are in the past (completed), a few cancelled (their registrations too), the rest
-- published and ahead.
-- Stops have 200 seats, except every 7th (150: these fill up and keep a waitlist).
CREATE TEMP TABLE seed_events AS
SELECT e AS n,
       pg_temp.seed_id('event', e) AS id,
       CASE WHEN e = 1 OR e % 5 = 0 THEN 'webinar' ELSE 'roadshow_stop' END AS kind,
       CASE WHEN e = 1 THEN p.webinar_seats WHEN e % 7 = 0 THEN 150 ELSE 200 END AS capacity,
       CASE WHEN e = 1 THEN 'published'
            WHEN e % 2 = 0 THEN 'completed'
            WHEN e % 97 = 0 THEN 'cancelled'
            ELSE 'published' END AS status,
       CASE WHEN e = 1 THEN p.t0 + interval '20 days'
            WHEN e % 2 = 0 THEN p.t0 - (e % 360 + 1) * interval '1 day' + (e % 9) * interval '1 hour'
            ELSE p.t0 + (e % 180 + 1) * interval '1 day' + (e % 9) * interval '1 hour' END AS starts_at,
       1 + (e * 7) % 51 AS state_n,
       1 + (e * 13) % 4 AS venue_n
FROM generate_series(1, :events) e, seed_params p;

INSERT INTO events (id, kind, title, description, starts_at, ends_at, time_zone, capacity,
                    registration_opens_at, registration_closes_at, status, venue_id, join_url, state_code,
                    waitlist_seq, revision, created_by, created_at, updated_at, published_at, cancelled_at)
SELECT e.id, e.kind,
       CASE WHEN e.n = 1 THEN 'National Small Business Webinar'
            ELSE (ARRAY['Financing', 'Export', 'Hiring', 'Marketing', 'Taxes', 'Digital', 'Grants', 'Cybersecurity'])[1 + e.n % 8]
                 || CASE WHEN e.kind = 'webinar' THEN ' webinar ' ELSE ' roadshow in ' || s.code || ' ' END || e.n END,
       'Seeded event ' || e.n || ' about ' || (ARRAY['loans and credit', 'selling abroad', 'your first employee', 'reaching customers online', 'quarterly taxes', 'websites and payments', 'public grants', 'protecting your shop'])[1 + e.n % 8],
       e.starts_at,
       e.starts_at + CASE WHEN e.kind = 'webinar' THEN interval '1 hour' ELSE interval '4 hours' END,
       CASE WHEN e.kind = 'webinar' THEN 'America/New_York' ELSE s.time_zone END,
       e.capacity, NULL, NULL, e.status,
       CASE WHEN e.kind = 'roadshow_stop' THEN pg_temp.seed_id('venue', (e.state_n - 1) * 4 + e.venue_n) END,
       CASE WHEN e.kind = 'webinar' THEN 'https://webinar.example.com/j/' || e.n END,
       CASE WHEN e.kind = 'roadshow_stop' THEN s.code END,
       0, 0, pg_temp.seed_id('staff', 0),
       e.starts_at - interval '60 days', e.starts_at - interval '60 days',
       e.starts_at - interval '59 days',
       CASE WHEN e.status = 'cancelled' THEN e.starts_at - interval '10 days' END
FROM seed_events e JOIN seed_states s ON s.n = e.state_n;

INSERT INTO event_hosts (event_id, organization_id)
SELECT id, CASE WHEN kind = 'webinar' THEN pg_temp.seed_id('org', 0) ELSE pg_temp.seed_id('org', state_n) END
FROM seed_events;
INSERT INTO event_hosts (event_id, organization_id)
SELECT id, pg_temp.seed_id('org', 100 + 1 + (state_n - 1) / 11)
FROM seed_events WHERE kind = 'roadshow_stop' AND n % 3 = 0;

INSERT INTO event_topics (event_id, topic)
SELECT id, (ARRAY['analytics', 'e-commerce', 'community', 'advertising', 'messaging', 'content', 'page-setup', 'privacy'])[1 + n % 8]
FROM seed_events;

-- Seat shards as `registrations::seats::create_shards` makes them (taken is set below).
INSERT INTO event_seat_shards (event_id, shard, capacity, taken)
SELECT e.id, sh, e.capacity / c.n + CASE WHEN sh < e.capacity % c.n THEN 1 ELSE 0 END, 0
FROM seed_events e
CROSS JOIN LATERAL (SELECT least(greatest(e.capacity / 32, 1), 16) AS n) c
CROSS JOIN LATERAL generate_series(0, c.n - 1) sh;

-- Businesses. Businesses 1..5 hold exactly 50 registrations each (export and erasure at scale).
INSERT INTO businesses (id, email, name, state_code, industry, employees, website, created_at, updated_at,
                        deleted_at, ein, name_key, site_key, merged_into)
SELECT pg_temp.seed_id('business', b), 'owner-' || b || '@seed-shop.example', 'Seed Shop ' || b, s.code,
       (ARRAY['retail', 'restaurants', 'construction', 'beauty', 'services', 'manufacturing'])[1 + b % 6],
       (ARRAY['1', '2-9', '10-49', '50-249'])[1 + b % 4],
       CASE WHEN b % 3 = 0 THEN 'https://shop' || b || '.example' END,
       p.t0 - interval '300 days' + b * interval '1 minute', p.t0 - interval '300 days' + b * interval '1 minute',
       NULL, NULL, 'seed shop ' || b || '|' || s.code,
       CASE WHEN b % 3 = 0 THEN 'shop' || b || '.example|' || s.code END, NULL
FROM generate_series(1, :businesses) b
JOIN seed_states s ON s.n = 1 + b % 51
CROSS JOIN seed_params p;

-- Registrations: 1..webinar_seats for the webinar (all confirmed: it is full), the rest spread
-- round robin over events 2..N. Registration k (k = webinar_seats + 1 ..) goes to event
-- 2 + (k - webinar_seats - 1) % (N - 1); the first 250 of them belong to businesses 1..5 (50 each,
-- in 50 different events), the others to business 6 + k % (businesses - 5).
CREATE TEMP TABLE seed_regs AS
SELECT k,
       CASE WHEN k <= p.webinar_seats THEN 1 ELSE 2 + ((k - p.webinar_seats - 1) % (p.events - 1))::int END AS event_n,
       CASE WHEN k > p.webinar_seats AND k <= p.webinar_seats + 250 THEN 1 + (k - p.webinar_seats - 1) / 50
            ELSE 6 + k % (p.businesses - 5) END AS business_n,
       -- One in ten cancels.
       k % 10 = 3 AND k > p.webinar_seats AS cancelled
FROM generate_series(1, :registrations) k, seed_params p;

-- Per event, the active registrations in order: the first `capacity` hold a seat (round robin
-- over the shards, which fills each shard exactly up to its capacity), the rest are waitlisted.
CREATE TEMP TABLE seed_regs2 AS
SELECT r.k, r.event_n, r.business_n, e.id AS event_id, e.status AS event_status, e.starts_at, e.capacity,
       least(greatest(e.capacity / 32, 1), 16) AS shards,
       CASE WHEN r.cancelled THEN NULL
            ELSE row_number() OVER (PARTITION BY r.event_n, r.cancelled ORDER BY r.k) END AS rank
FROM seed_regs r JOIN seed_events e ON e.n = r.event_n;

INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, waitlist_ticket,
                           seat_shard, manage_token_hash, calendar_sequence, created_at, updated_at, confirmed_at,
                           cancelled_at, checked_in_at, business_name_given, business_state_given, industry_given,
                           employees_given, website_given)
SELECT pg_temp.seed_id('registration', r.k), r.event_id, pg_temp.seed_id('business', r.business_n),
       'Attendee ' || r.k, 'attendee-' || r.k || '@seed-shop.example',
       st.status,
       CASE WHEN st.status = 'waitlisted' THEN r.rank - r.capacity END,
       CASE WHEN st.status IN ('confirmed', 'attended') THEN ((r.rank - 1) % r.shards)::int END,
       encode(sha256(('seed-manage-' || r.k)::bytea), 'hex'),
       0, c.created_at, c.created_at,
       CASE WHEN st.status IN ('confirmed', 'attended') THEN c.created_at END,
       CASE WHEN st.status = 'cancelled' THEN c.created_at + interval '1 day' END,
       CASE WHEN st.status = 'attended' THEN r.starts_at + interval '10 minutes' END,
       'Seed Shop ' || r.business_n, NULL, NULL, NULL, NULL
FROM seed_regs2 r
CROSS JOIN LATERAL (SELECT r.starts_at - interval '50 days' + (r.k % 100000) * interval '40 seconds' AS created_at) c
CROSS JOIN LATERAL (
    SELECT CASE WHEN r.rank IS NULL THEN 'cancelled'
                WHEN r.rank > r.capacity THEN CASE WHEN r.event_status IN ('completed', 'cancelled') THEN 'cancelled' ELSE 'waitlisted' END
                WHEN r.event_status = 'cancelled' THEN 'cancelled'
                WHEN r.event_status = 'completed' AND r.k % 5 <> 0 THEN 'attended'
                ELSE 'confirmed' END AS status
) st;

-- Derived data: taken seats per shard, the next waitlist ticket per event.
UPDATE event_seat_shards s SET taken = t.n
FROM (SELECT event_id, seat_shard, count(*)::int AS n FROM registrations
      WHERE status IN ('confirmed', 'attended') GROUP BY event_id, seat_shard) t
WHERE s.event_id = t.event_id AND s.shard = t.seat_shard;
UPDATE events e SET waitlist_seq = w.m
FROM (SELECT event_id, max(waitlist_ticket) AS m FROM registrations WHERE waitlist_ticket IS NOT NULL GROUP BY event_id) w
WHERE e.id = w.event_id;

-- Sent confirmations of registrations 1..outbox (the webinar's first).
INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, headers,
                    message_id, status, attempts, next_attempt_at, locked_until, locked_by, last_error,
                    registration_id, business_id, event_id, created_at, sent_at)
SELECT pg_temp.seed_id('outbox', r.k), 'registration_confirmed:' || r.id, r.attendee_email, 'registration_confirmed',
       'transactional', 'You are registered', 'Seeded confirmation ' || r.k || E'\nSee you there.',
       '<p>Seeded confirmation ' || r.k || '</p>', NULL, '{}',
       '<' || pg_temp.seed_id('outbox', r.k) || '@roadshow.example>', 'sent', 1, r.created_at, NULL, NULL, NULL,
       r.id, r.business_id, r.event_id, r.created_at, r.created_at + interval '5 seconds'
FROM (SELECT k, id, attendee_email, business_id, event_id, created_at FROM registrations
      JOIN generate_series(1, :outbox) k ON id = pg_temp.seed_id('registration', k)) r;

-- Audit trail: staff edits of events.
INSERT INTO audit_log (id, actor_user_id, action, object_type, object_id, changes, created_at)
SELECT pg_temp.seed_id('audit', a), pg_temp.seed_id('staff', 0), 'update', 'event',
       pg_temp.seed_id('event', 1 + a % p.events), '{"fields":["title","description"]}',
       p.t0 - interval '100 days' + a * interval '10 minutes'
FROM generate_series(1, :audit) a, seed_params p;

-- The report and outbox counters, from the rows. (The per-state and per-organization report
-- counters are recorded by `roadshow fold-counters`, which bench/scale.sh runs next: the events'
-- and hosts' own triggers marked every event.)
DELETE FROM registration_counts;
DELETE FROM registration_count_deltas;
INSERT INTO registration_counts (event_id, status, n)
SELECT event_id, status, count(*) FROM registrations GROUP BY event_id, status;
DELETE FROM outbox_counts;
DELETE FROM outbox_count_deltas;
INSERT INTO outbox_counts (status, n) SELECT status, count(*) FROM outbox GROUP BY status;
ALTER TABLE registrations ENABLE TRIGGER registrations_count_insert_delete;
ALTER TABLE outbox ENABLE TRIGGER outbox_count_insert_delete;

COMMIT;
ANALYZE;

SELECT (SELECT count(*) FROM businesses) AS businesses, (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM registrations) AS registrations, (SELECT count(*) FROM outbox) AS outbox,
       (SELECT count(*) FROM audit_log) AS audit;
-- Consistency: no shard over capacity, taken = seated registrations, counters = rows (must print 0, 0, 0).
SELECT (SELECT count(*) FROM event_seat_shards WHERE taken > capacity) AS shards_over,
       (SELECT count(*) FROM event_seat_shards s
        WHERE s.taken <> (SELECT count(*) FROM registrations r WHERE r.event_id = s.event_id
                          AND r.seat_shard = s.shard AND r.status IN ('confirmed', 'attended'))) AS shards_off,
       (SELECT count(*) FROM (SELECT event_id, status, count(*) AS n FROM registrations GROUP BY event_id, status) c
        FULL JOIN registration_counts k USING (event_id, status) WHERE c.n IS DISTINCT FROM k.n) AS counts_off;
