-- Data for the pgbench ceilings (bench/run.sh). Applied to a scratch database that `roadshow
-- migrate` has just created, so the tables, indexes and constraints are the service's own.
--
-- pgb-spread-1 … pgb-spread-1000: the spread workload (3 seat shards each, as an event of 100 seats
--   gets from seats::shard_count; capacities large enough never to fill during a run).
-- pgb-naive: one event whose seats are ONE counter row (the naive single-row design).
-- pgb-sharded: one event with 16 seat shards (what a 5,000-seat event gets).
INSERT INTO events (id, kind, title, description, starts_at, ends_at, time_zone, capacity, status, join_url,
                    created_at, updated_at, published_at)
SELECT id, 'webinar', 'pgbench ' || id, 'ceiling', now() AT TIME ZONE 'UTC' + interval '30 days',
       now() AT TIME ZONE 'UTC' + interval '30 days 1 hour', 'America/Chicago', 100000000, 'published',
       'https://webinar.example.com/j/' || id, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC',
       now() AT TIME ZONE 'UTC'
FROM (SELECT 'pgb-spread-' || g AS id FROM generate_series(1, 1000) g
      UNION ALL SELECT 'pgb-naive' UNION ALL SELECT 'pgb-sharded') ids;

INSERT INTO event_seat_shards (event_id, shard, capacity, taken)
SELECT 'pgb-spread-' || g, s, 10000000, 0 FROM generate_series(1, 1000) g, generate_series(0, 2) s;
INSERT INTO event_seat_shards (event_id, shard, capacity, taken) VALUES ('pgb-naive', 0, 100000000, 0);
INSERT INTO event_seat_shards (event_id, shard, capacity, taken)
SELECT 'pgb-sharded', s, 10000000, 0 FROM generate_series(0, 15) s;
ANALYZE;
