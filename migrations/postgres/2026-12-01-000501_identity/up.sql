-- Identity is something you prove (issue 9).
--
-- 1. A registration keeps what its registrant typed about the business; the stored business
--    record changes only through a verified link or staff.
ALTER TABLE registrations
    ADD COLUMN business_name_given TEXT,
    ADD COLUMN business_state_given TEXT,
    ADD COLUMN industry_given TEXT,
    ADD COLUMN employees_given TEXT,
    ADD COLUMN website_given TEXT;

-- 2. Marketing consent belongs to one email address, not to a business.
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
ALTER TABLE businesses DROP COLUMN marketing_consent, DROP COLUMN unsubscribed_at;
-- An unsubscribe link unsubscribes the address it was sent to.
ALTER TABLE unsubscribe_tokens ADD COLUMN email TEXT;

-- 3. Business-wide and person-wide rights go through a single-use link emailed to the address.
--    The request is queued as it comes (the answer never depends on whether the address is known);
--    the background worker decides whether to send a link.
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

-- 4. Per-recipient caps, kept in the database so they hold across processes.
--    mail_throttle: the last time a rate-limited kind of email ("your links", privacy links) went
--    to an address. mail_counts: emails that count against the hourly cap, per address and hour.
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

-- A suppressed email is recorded (admins see it) and never sent.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'dead', 'dropped', 'suppressed'));
-- Emails that belong to no registration (link lists, privacy links) are found by address for
-- export and erasure. Partial, so registration emails (the hot path) never touch it.
CREATE INDEX outbox_recipient_idx ON outbox (recipient) WHERE registration_id IS NULL;

-- Who deactivated a staff user: only an admin reactivates a user an admin deactivated.
ALTER TABLE staff_users ADD COLUMN deactivated_by_admin BOOLEAN NOT NULL DEFAULT FALSE;
