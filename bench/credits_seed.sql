-- Seed for the credit-pool drain (bench/credits.sh): :n confirmed registrations, each of its own
-- business, at published roadshow stops in Texas, as the service would have left them. Applied to
-- a scratch database that `roadshow migrate` has just created (the service's own tables, indexes
-- and constraints), with `psql -v n=200050`.
--
-- - one venue (Austin, TX) and ceil(n / 1000) published stops under way (started an hour ago,
--   so their doors are open for check-in), 1,600 seats each
--   (16 seat shards of 100, as seats::shard_count and create_shards give that capacity);
-- - n businesses (distinct contact emails, names, duplicate keys; states spread over 50 codes),
--   so every check-in may grant;
-- - n confirmed registrations, 1,000 per stop, spread over its 16 shards; the shards' `taken`
--   is then counted from them, so seat counters equal confirmed rows (loadgen checks it);
-- - the confirmation email of every registration in the outbox, already sent (one per
--   registration, as loadgen checks), so the outbox is the size a real program's would be.
-- Ids are UUIDs made from md5 of a name and the row number, so a rerun makes the same ids.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE seed_at AS SELECT (now() AT TIME ZONE 'UTC') - interval '1 day' AS at;

INSERT INTO venues (id, name, address, city, state_code, time_zone, created_at, updated_at)
SELECT md5('credits-venue')::uuid::text, 'Credits Bench Convention Center', '1 Main St', 'Austin', 'TX',
       'America/Chicago', at, at
FROM seed_at;

INSERT INTO events (id, kind, title, description, starts_at, ends_at, time_zone, capacity, status, venue_id,
                    state_code, created_at, updated_at, published_at)
SELECT md5('credits-stop-' || e)::uuid::text, 'roadshow_stop', 'Credits bench stop ' || e,
       'Seeded by bench/credits_seed.sql', at + interval '23 hours',
       at + interval '35 hours', 'America/Chicago', 1600, 'published',
       md5('credits-venue')::uuid::text, 'TX', at, at, at
FROM seed_at, generate_series(1, (:n + 999) / 1000) e;

INSERT INTO event_seat_shards (event_id, shard, capacity, taken)
SELECT md5('credits-stop-' || e)::uuid::text, s, 100, 0
FROM generate_series(1, (:n + 999) / 1000) e, generate_series(0, 15) s;

CREATE TEMP TABLE seed_states AS
SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM states;

INSERT INTO businesses (id, email, name, state_code, industry, employees, created_at, updated_at, name_key)
SELECT md5('credits-business-' || g)::uuid::text, 'owner-' || g || '@credits.bench.example.com',
       'Credits Shop ' || g, st.code, 'retail', '2-9', at + g * interval '1 ms', at + g * interval '1 ms',
       'credits shop ' || g || '|' || st.code
FROM seed_at, generate_series(1, :n) g
JOIN seed_states st ON st.k = g % (SELECT count(*) FROM seed_states);

INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, seat_shard,
                           manage_token_hash, created_at, updated_at, confirmed_at, business_name_given,
                           business_state_given, industry_given, employees_given)
SELECT md5('credits-registration-' || g)::uuid::text, md5('credits-stop-' || ((g - 1) / 1000 + 1))::uuid::text,
       md5('credits-business-' || g)::uuid::text, 'Attendee ' || g, 'attendee-' || g || '@credits.bench.example.com',
       'confirmed', g % 16, encode(sha256(('credits-token-' || g)::bytea), 'hex'),
       at + g * interval '1 ms', at + g * interval '1 ms', at + g * interval '1 ms', 'Credits Shop ' || g, 'TX',
       'retail', '2-9'
FROM seed_at, generate_series(1, :n) g;

UPDATE event_seat_shards s SET taken = r.c
FROM (SELECT event_id, seat_shard, count(*) AS c FROM registrations WHERE status = 'confirmed'
      GROUP BY 1, 2) r
WHERE s.event_id = r.event_id AND s.shard = r.seat_shard;

INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, message_id,
                    status, attempts, next_attempt_at, registration_id, business_id, event_id, created_at, sent_at)
SELECT o.id, 'registration_confirmed:' || r.id, r.attendee_email, 'registration_confirmed', 'transactional',
       'You''re registered: Credits bench stop ' || ((g - 1) / 1000 + 1),
       'Hello ' || r.attendee_name || E',\n\nYour seat is confirmed. We look forward to seeing you.\n\n'
         || 'Manage your registration: http://127.0.0.1/manage/' || r.id,
       '<p>Hello ' || r.attendee_name || ',</p><p>Your seat is confirmed. We look forward to seeing you.</p>'
         || '<p><a href="http://127.0.0.1/manage/' || r.id || '">Manage your registration</a></p>',
       '<' || o.id || '@roadshow>', 'sent', 1, r.created_at, r.id, r.business_id, r.event_id, r.created_at,
       r.created_at
FROM generate_series(1, :n) g
CROSS JOIN LATERAL (SELECT md5('credits-registration-' || g)::uuid::text AS rid,
                           md5('credits-email-' || g)::uuid::text AS id) o
JOIN registrations r ON r.id = o.rid;
COMMIT;
ANALYZE;
