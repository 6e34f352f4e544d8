-- pgbench: the bare SQL transaction of one POST /api/v1/events/{id}/registrations that gets a seat
-- (no Idempotency-Key, a webinar, so no venue lookup), statement for statement as the service
-- sends it: src/registrations/queries.rs `register` with seats.rs `take_seat`, then the
-- registration and its rendered email in one statement as `insert_both` sends them. The email is a
-- real rendered one (bench/pgbench_setup.sql `pgb_mail`: text/HTML/ICS of 759/2,007/567
-- characters). When every shard with room is locked, the same look for room and blocking second
-- try as take_seat. Run with -M prepared (the service uses prepared statements too) and:
--   -D spread=1 -D naive=0 -D event=x            spread over pgb-spread-1 … pgb-spread-1000
--   -D spread=0 -D naive=1 -D event=pgb-naive    one hot event, seats on ONE counter row (naive)
--   -D spread=0 -D naive=0 -D event=pgb-sharded  one hot event, 16 shards, FOR UPDATE SKIP LOCKED
--   -D mail=0 inserts the registration without its email (the outbox's cost: compare with mail=1)
-- Data: bench/pgbench_setup.sql. Driver: bench/run.sh.
\set e random(1, 1000)
\set n random(1, 1000000000000000)
BEGIN;
SELECT * FROM events WHERE id = (CASE WHEN :spread = 1 THEN 'pgb-spread-' || :e::text ELSE :event::text END) AND status <> 'draft' LIMIT 1 FOR KEY SHARE \gset ev_
INSERT INTO businesses (id, email, name, state_code, industry, employees, website, marketing_consent, created_at, updated_at) SELECT gen_random_uuid()::text, 'owner-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'Bench Shop', 'TX', 'retail', '1-9', NULL, COALESCE(true, FALSE), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' FROM states WHERE code = 'TX' ON CONFLICT (email) DO UPDATE SET name = excluded.name, state_code = excluded.state_code, industry = COALESCE(excluded.industry, businesses.industry), employees = COALESCE(excluded.employees, businesses.employees), website = COALESCE(excluded.website, businesses.website), marketing_consent = COALESCE(true, businesses.marketing_consent), deleted_at = NULL, updated_at = excluded.updated_at RETURNING id \gset b_
\if :naive
UPDATE event_seat_shards SET taken = taken + 1 WHERE event_id = :ev_id AND shard = 0 AND taken < capacity RETURNING shard \gset
\else
\set shard -1
UPDATE event_seat_shards SET taken = taken + 1 WHERE event_id = :ev_id AND taken < capacity AND shard = (SELECT shard FROM event_seat_shards WHERE event_id = :ev_id AND taken < capacity ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING shard \aset
\if :shard < 0
SELECT count(*) FROM event_seat_shards WHERE event_id = :ev_id AND taken < capacity;
UPDATE event_seat_shards SET taken = taken + 1 WHERE event_id = :ev_id AND taken < capacity AND shard = (SELECT shard FROM event_seat_shards WHERE event_id = :ev_id AND taken < capacity ORDER BY shard LIMIT 1 FOR UPDATE) RETURNING shard \gset
\endif
\endif
\if :mail
WITH r AS (INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, waitlist_ticket, seat_shard, manage_token_hash, created_at, updated_at, confirmed_at) VALUES ('r-' || :client_id::text || '-' || :n::text, :ev_id, :b_id, 'Attendee', 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'confirmed', NULL, :shard, md5(random()::text) || md5(random()::text), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') RETURNING id) INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, headers, message_id, status, attempts, next_attempt_at, registration_id, business_id, event_id, created_at) SELECT gen_random_uuid()::text, 'registration_confirmed:' || 'r-' || :client_id::text || '-' || :n::text, 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'registration_confirmed', 'transactional', 'You''re registered: pgbench event', body_text, body_html, ics, '{}', '<' || gen_random_uuid()::text || '@roadshow>', 'pending', 0, now() AT TIME ZONE 'UTC', r.id, :b_id, :ev_id, now() AT TIME ZONE 'UTC' FROM pgb_mail, r ON CONFLICT (dedupe_key) DO NOTHING RETURNING id;
\else
INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, waitlist_ticket, seat_shard, manage_token_hash, created_at, updated_at, confirmed_at) VALUES ('r-' || :client_id::text || '-' || :n::text, :ev_id, :b_id, 'Attendee', 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'confirmed', NULL, :shard, md5(random()::text) || md5(random()::text), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') RETURNING id;
\endif
END;
