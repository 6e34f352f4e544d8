-- National scale (issue 13): an event's registrants are listed oldest first, a page at a time
-- (`registrations::queries::registrants`, keyset on (created_at, id)), and exported whole. By
-- `registrations_event_status_idx` alone, the 20,000 registrants of a national webinar were read
-- and sorted for every page; in this order the page is the next rows of the index.
CREATE INDEX registrations_event_created_idx ON registrations (event_id, created_at, id);
