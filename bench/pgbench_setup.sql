-- Data for the pgbench ceilings (bench/run.sh). Applied to a scratch database that `roadshow
-- migrate` has just created, so the tables, indexes and constraints are the service's own.
--
-- pgb-spread-1 … pgb-spread-1000: the spread workload (3 seat shards each, as an event of 100 seats
--   gets from seats::shard_count; capacities large enough never to fill during a run).
-- pgb-naive: one event whose seats are ONE counter row (the naive single-row design).
-- pgb-sharded: one event with 16 seat shards (what a 5,000-seat event gets).
-- pgb_mail: one email as the service renders it (a webinar confirmation with its invite), which the
--   script's outbox insert copies, so that PostgreSQL compresses and logs what it does for the
--   service (filler text such as repeat('x', n) compresses to almost nothing and flatters the
--   ceiling).
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
CREATE TABLE pgb_mail (body_text TEXT NOT NULL, body_html TEXT NOT NULL, ics TEXT NOT NULL);
INSERT INTO pgb_mail VALUES ($mail$Hello Attendee 2,

Your seat is confirmed. We look forward to seeing you.

spread webinar 838
Starts: Thursday, December 31, 2026 at 12:19 AM CST (America/Chicago)
Ends:   Thursday, December 31, 2026 at 1:19 AM CST (America/Chicago)
Where:  Online, join at https://webinar.example.com/j/838

The attached invitation adds the event to your calendar; it updates itself if anything changes.

Manage your registration: http://127.0.0.1:18090/manage/79aef346-29bc-4c2b-a8cc-2eaee220588b?token=rsm_qoJfW7lZNUjRu9iJxPYIJEoIOJ4CqzB5xaOm47c9Uvc
Add to your calendar: http://127.0.0.1:18090/manage/79aef346-29bc-4c2b-a8cc-2eaee220588b/calendar.ics?token=rsm_qoJfW7lZNUjRu9iJxPYIJEoIOJ4CqzB5xaOm47c9Uvc

--
You receive this because you registered for a Roadshow event.$mail$,
$mail$<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>You&#x27;re registered: spread webinar 838</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;font-family:Helvetica,Arial,sans-serif;color:#1f2933;">
<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;">
<p style="font-size:13px;color:#52606d;margin:0 0 16px 0;">Roadshow for small businesses</p>
<p>Hello Attendee 2,</p>
<p>Your seat is confirmed. We look forward to seeing you.</p>
<table role="presentation" style="border-collapse:collapse;margin:16px 0;">
<tr><td colspan="2" style="font-size:18px;font-weight:bold;padding:0 0 8px 0;">spread webinar 838</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#52606d;">Starts</td><td>Thursday, December 31, 2026 at 12:19 AM CST (America&#x2f;Chicago)</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#52606d;">Ends</td><td>Thursday, December 31, 2026 at 1:19 AM CST (America&#x2f;Chicago)</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#52606d;">Where</td><td>Online: <a href="https:&#x2f;&#x2f;webinar.example.com&#x2f;j&#x2f;838" style="color:#0b69a3;">https:&#x2f;&#x2f;webinar.example.com&#x2f;j&#x2f;838</a></td></tr>
</table><p>The attached invitation adds the event to your calendar; it updates itself if anything changes.</p>
<p><a href="http:&#x2f;&#x2f;127.0.0.1:18090&#x2f;manage&#x2f;79aef346-29bc-4c2b-a8cc-2eaee220588b?token=rsm_qoJfW7lZNUjRu9iJxPYIJEoIOJ4CqzB5xaOm47c9Uvc" style="color:#0b69a3;">Manage your registration</a> · <a href="http:&#x2f;&#x2f;127.0.0.1:18090&#x2f;manage&#x2f;79aef346-29bc-4c2b-a8cc-2eaee220588b&#x2f;calendar.ics?token=rsm_qoJfW7lZNUjRu9iJxPYIJEoIOJ4CqzB5xaOm47c9Uvc" style="color:#0b69a3;">Add to your calendar</a></p>
<hr style="border:none;border-top:1px solid #e4e7eb;margin:24px 0;">
<p style="font-size:12px;color:#7b8794;">
You receive this because you registered for a Roadshow event.</p>
</div>
</body>
</html>$mail$,
$mail$BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Roadshow//Roadshow invites//EN
CALSCALE:GREGORIAN
METHOD:REQUEST
BEGIN:VEVENT
UID:registration-79aef346-29bc-4c2b-a8cc-2eaee220588b@roadshow
SEQUENCE:0
DTSTAMP:20261130T162119Z
DTSTART:20261231T061916Z
DTEND:20261231T071916Z
SUMMARY:spread webinar 838
DESCRIPTION:Benchmark event created by examples/loadgen.rs\n\nJoin online: 
 https://webinar.example.com/j/838
LOCATION:Online: https://webinar.example.com/j/838
URL:https://webinar.example.com/j/838
STATUS:CONFIRMED
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR$mail$);
ANALYZE;
