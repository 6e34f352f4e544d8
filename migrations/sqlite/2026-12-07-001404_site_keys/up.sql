-- Keys the public pages sign their forms with (src/site/csrf.rs): one row per purpose, made on first
-- use by whichever process needs it first, so every process behind a load balancer signs alike.
CREATE TABLE site_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
