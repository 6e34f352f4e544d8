-- pgbench: the bare SQL transaction of one POST /api/v1/events/{id}/registrations that gets a seat
-- (no Idempotency-Key, a webinar, so no venue lookup), statement for statement as the service
-- sends it: src/registrations/queries.rs `register`: the business upsert under the attendee
-- address's shared advisory lock (`upsert_business`), seats.rs `take_seat`, the registration, its
-- hourly mail count, its rendered email, the attendee's marketing consent (like examples/loadgen,
-- half give it and half refuse, which also drops the address's queued marketing mail) and the
-- webhook messages to the event's hosts' endpoints (none here) in one statement as `insert_both`
-- sends them (with mail=0: the registration, then the consent statements). The email is a
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
\set lock_key random(1, 1000000000000000000)
\set consent random(0, 1)
BEGIN;
SELECT * FROM events WHERE id = (CASE WHEN :spread = 1 THEN 'pgb-spread-' || :e::text ELSE :event::text END) AND status <> 'draft' LIMIT 1 FOR KEY SHARE \gset ev_
WITH l AS (SELECT pg_advisory_xact_lock_shared(:lock_key)) INSERT INTO businesses (id, email, name, state_code, industry, employees, website, created_at, updated_at) SELECT gen_random_uuid()::text, 'owner-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'Bench Shop', 'TX', 'retail', '1-9', NULL, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' FROM states, l WHERE code = 'TX' ON CONFLICT (email) DO UPDATE SET email = businesses.email RETURNING id \gset b_
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
WITH r AS (INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, waitlist_ticket, seat_shard, manage_token_hash, created_at, updated_at, confirmed_at, business_name_given, business_state_given, industry_given, employees_given, website_given) VALUES ('r-' || :client_id::text || '-' || :n::text, :ev_id, :b_id, 'Attendee', 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'confirmed', NULL, :shard, md5(random()::text) || md5(random()::text), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', 'Bench Shop', 'TX', 'retail', '1-9', NULL) RETURNING id), c AS (INSERT INTO mail_counts (recipient, window_start, sent) SELECT 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', date_trunc('hour', now() AT TIME ZONE 'UTC'), 1 FROM r WHERE 20::integer IS NOT NULL ON CONFLICT (recipient, window_start) DO UPDATE SET sent = mail_counts.sent + 1 RETURNING sent), k AS (INSERT INTO email_consents (email, marketing_consent, unsubscribed_at, updated_at) SELECT 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', :consent = 1, CASE WHEN :consent = 1 THEN NULL ELSE now() AT TIME ZONE 'UTC' END, now() AT TIME ZONE 'UTC' FROM r ON CONFLICT (email) DO UPDATE SET marketing_consent = excluded.marketing_consent, unsubscribed_at = CASE WHEN excluded.marketing_consent THEN NULL ELSE COALESCE(email_consents.unsubscribed_at, excluded.unsubscribed_at) END, updated_at = excluded.updated_at RETURNING 1), u AS (UPDATE outbox SET status = 'dropped', last_error = 'not sent: the address unsubscribed' WHERE :consent = 0 AND registration_id IN (SELECT id FROM registrations WHERE attendee_email = 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com') AND recipient = 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com' AND category = 'marketing' AND status = 'pending' RETURNING 1), w AS (INSERT INTO webhook_deliveries (id, endpoint_id, event_type, object_id, payload, status, attempts, next_attempt_at, created_at) SELECT gen_random_uuid()::text, e.id, 'registration.created', r.id, '{}', 'pending', 0, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' FROM r, webhook_endpoints e JOIN event_hosts h ON h.organization_id = e.organization_id WHERE h.event_id = :ev_id AND e.active AND e.event_types LIKE '%|registration.created|%' RETURNING 1) INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, headers, message_id, status, attempts, next_attempt_at, registration_id, business_id, event_id, created_at) SELECT gen_random_uuid()::text, 'registration_confirmed:' || 'r-' || :client_id::text || '-' || :n::text, 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'registration_confirmed', 'transactional', 'You''re registered: pgbench event', body_text, body_html, ics, '{}', '<' || gen_random_uuid()::text || '@roadshow>', CASE WHEN (SELECT sent FROM c) > 20 THEN 'suppressed' ELSE 'pending' END, 0, now() AT TIME ZONE 'UTC', r.id, :b_id, :ev_id, now() AT TIME ZONE 'UTC' FROM pgb_mail, r ON CONFLICT (dedupe_key) DO NOTHING RETURNING id;
\else
INSERT INTO registrations (id, event_id, business_id, attendee_name, attendee_email, status, waitlist_ticket, seat_shard, manage_token_hash, created_at, updated_at, confirmed_at, business_name_given, business_state_given, industry_given, employees_given, website_given) VALUES ('r-' || :client_id::text || '-' || :n::text, :ev_id, :b_id, 'Attendee', 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', 'confirmed', NULL, :shard, md5(random()::text) || md5(random()::text), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', 'Bench Shop', 'TX', 'retail', '1-9', NULL) RETURNING id;
\endif
\if :mail = 0
INSERT INTO email_consents (email, marketing_consent, unsubscribed_at, updated_at) VALUES ('attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com', :consent = 1, CASE WHEN :consent = 1 THEN NULL ELSE now() AT TIME ZONE 'UTC' END, now() AT TIME ZONE 'UTC') ON CONFLICT (email) DO UPDATE SET marketing_consent = excluded.marketing_consent, unsubscribed_at = CASE WHEN excluded.marketing_consent THEN NULL ELSE COALESCE(email_consents.unsubscribed_at, excluded.unsubscribed_at) END, updated_at = excluded.updated_at;
\if :consent = 0
UPDATE outbox SET status = 'dropped', last_error = 'not sent: the address unsubscribed' WHERE registration_id IN (SELECT id FROM registrations WHERE attendee_email = 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com') AND recipient = 'attendee-' || :client_id::text || '-' || :n::text || '@bench.example.com' AND category = 'marketing' AND status = 'pending';
\endif
\endif
END;
