-- Every registration (and every other state change that emails someone) inserts an outbox row in
-- its own transaction, so each index and foreign key on `outbox` is paid for on the hot path. Keep
-- what a query needs, and make indexes partial where their queries only look at some rows.

-- The Message-ID is made from the row id (`<id@…>`): unique by construction, no index needed.
ALTER TABLE outbox DROP CONSTRAINT outbox_message_id_key;

-- The outbox is a log of messages. Each foreign key cost a lookup (and a key-share lock) of the
-- referenced row on every insert; those rows are never deleted (privacy erasure blanks a business
-- and its registrations in place and keeps their ids), and `mail::notify` only ever writes ids of
-- rows its own transaction has just read or written.
ALTER TABLE outbox
    DROP CONSTRAINT outbox_registration_id_fkey,
    DROP CONSTRAINT outbox_business_id_fkey,
    DROP CONSTRAINT outbox_event_id_fkey;

-- The worker claims pending rows only.
DROP INDEX outbox_due_idx;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';

-- Admin listing by status: pending rows are few and found through outbox_due_idx; the others get
-- their index entry when the worker settles them, not in the registration's transaction.
DROP INDEX outbox_listing_idx;
CREATE INDEX outbox_listing_idx ON outbox (status, created_at, id) WHERE status <> 'pending';
