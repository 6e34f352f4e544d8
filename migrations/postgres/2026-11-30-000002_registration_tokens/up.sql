-- Every email that links to the manage page carries its own random token (hashes only are kept),
-- so later emails (promotion, reminders, change notices) can link without storing any plain token.
-- The token from the 201 response stays in registrations.manage_token_hash.
CREATE TABLE registration_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    registration_id TEXT NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX registration_tokens_registration_idx ON registration_tokens (registration_id);
