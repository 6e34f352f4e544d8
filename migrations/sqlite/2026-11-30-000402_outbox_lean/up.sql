-- The same as the PostgreSQL migration: no unique index on message_id (made from the row id), no
-- foreign keys (see there), partial indexes for claiming and listing. SQLite cannot drop a column
-- constraint, so the table is rebuilt (nothing references it).
CREATE TABLE outbox_new (
    id TEXT PRIMARY KEY NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT 'transactional' CHECK (category IN ('transactional', 'marketing')),
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    ics TEXT,
    headers TEXT NOT NULL DEFAULT '{}',
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    locked_by TEXT,
    last_error TEXT,
    registration_id TEXT,
    business_id TEXT,
    event_id TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO outbox_new (id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, headers, message_id, status, attempts, next_attempt_at, locked_until, locked_by, last_error, registration_id, business_id, event_id, created_at, sent_at)
SELECT id, dedupe_key, recipient, template, category, subject, body_text, body_html, ics, headers, message_id, status, attempts, next_attempt_at, locked_until, locked_by, last_error, registration_id, business_id, event_id, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_business_idx ON outbox (business_id);
CREATE INDEX outbox_registration_idx ON outbox (registration_id, template);
CREATE INDEX outbox_created_idx ON outbox (created_at, id);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_listing_idx ON outbox (status, created_at, id) WHERE status <> 'pending';
