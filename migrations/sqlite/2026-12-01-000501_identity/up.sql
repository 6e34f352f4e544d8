-- The same as the PostgreSQL migration (see there for the reasons).
ALTER TABLE registrations ADD COLUMN business_name_given TEXT;
ALTER TABLE registrations ADD COLUMN business_state_given TEXT;
ALTER TABLE registrations ADD COLUMN industry_given TEXT;
ALTER TABLE registrations ADD COLUMN employees_given TEXT;
ALTER TABLE registrations ADD COLUMN website_given TEXT;

CREATE TABLE email_consents (
    email TEXT PRIMARY KEY NOT NULL,
    marketing_consent BOOLEAN NOT NULL,
    unsubscribed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO email_consents (email, marketing_consent, unsubscribed_at, updated_at)
SELECT email, marketing_consent AND unsubscribed_at IS NULL, unsubscribed_at, updated_at
FROM businesses
WHERE email IS NOT NULL AND (marketing_consent OR unsubscribed_at IS NOT NULL);
ALTER TABLE businesses DROP COLUMN marketing_consent;
ALTER TABLE businesses DROP COLUMN unsubscribed_at;
ALTER TABLE unsubscribe_tokens ADD COLUMN email TEXT;

CREATE TABLE privacy_requests (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('export', 'erase', 'update_business', 'marketing', 'links')),
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'ignored', 'throttled', 'used', 'erased')),
    token_hash TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP,
    expires_at TIMESTAMP,
    used_at TIMESTAMP
);
CREATE INDEX privacy_requests_queued_idx ON privacy_requests (created_at, id) WHERE status = 'queued';
CREATE INDEX privacy_requests_email_idx ON privacy_requests (email);

CREATE TABLE mail_throttle (
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    last_at TIMESTAMP NOT NULL,
    PRIMARY KEY (recipient, kind)
);
CREATE TABLE mail_counts (
    recipient TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    sent INTEGER NOT NULL,
    PRIMARY KEY (recipient, window_start)
);

-- SQLite cannot change a column constraint: the outbox is rebuilt with 'suppressed' allowed.
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
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'dropped', 'suppressed')),
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
CREATE INDEX outbox_recipient_idx ON outbox (recipient) WHERE registration_id IS NULL;

-- Who deactivated a staff user: only an admin reactivates a user an admin deactivated.
ALTER TABLE staff_users ADD COLUMN deactivated_by_admin BOOLEAN NOT NULL DEFAULT FALSE;
