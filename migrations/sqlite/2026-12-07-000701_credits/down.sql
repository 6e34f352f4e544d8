CREATE TABLE privacy_requests_new (
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
INSERT INTO privacy_requests_new SELECT id, email, kind, payload, status, token_hash, created_at, processed_at, expires_at, used_at
    FROM privacy_requests WHERE kind <> 'voucher';
DROP TABLE privacy_requests;
ALTER TABLE privacy_requests_new RENAME TO privacy_requests;
CREATE INDEX privacy_requests_queued_idx ON privacy_requests (created_at, id) WHERE status = 'queued';
CREATE INDEX privacy_requests_email_idx ON privacy_requests (email);
DROP TABLE credit_ledger;
DROP TABLE credit_grants;
DROP TABLE credit_reserves;
DROP TABLE credit_pool;
DROP INDEX businesses_site_key;
DROP INDEX businesses_name_key;
DROP INDEX businesses_ein;
ALTER TABLE businesses DROP COLUMN merged_into;
ALTER TABLE businesses DROP COLUMN site_key;
ALTER TABLE businesses DROP COLUMN name_key;
ALTER TABLE businesses DROP COLUMN ein;
