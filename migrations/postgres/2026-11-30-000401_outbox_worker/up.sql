-- Outbox delivery and marketing opt-out.

-- One-click unsubscribe keys (RFC 8058). Each follow-up email carries its own random token; only the
-- hash is kept. Using one unsubscribes the business from marketing mail (businesses.unsubscribed_at).
CREATE TABLE unsubscribe_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX unsubscribe_tokens_business_idx ON unsubscribe_tokens (business_id);

-- The scheduler asks "has this registration had this kind of email yet?".
CREATE INDEX outbox_registration_idx ON outbox (registration_id, template);
-- Admin listing, newest first, optionally by status.
CREATE INDEX outbox_listing_idx ON outbox (status, created_at, id);
CREATE INDEX outbox_created_idx ON outbox (created_at, id);
