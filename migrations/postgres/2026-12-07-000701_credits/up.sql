-- The advertising-credit pool (src/credits/). Amounts are integer cents. The database keeps the
-- money honest by itself: at most one active grant per business (a partial unique index), granted
-- cents never above the pool or a reserve and grants never above the maximum (CHECKs on the
-- counters every grant updates), and an append-only ledger (triggers refuse UPDATE and DELETE).

-- One business across contact emails: an optional EIN (unique), and the keys that flag likely
-- duplicates (normalised name + state, website domain + state). A merged business keeps its row
-- (its contact address still finds it) and points at the survivor.
ALTER TABLE businesses ADD COLUMN ein TEXT;
ALTER TABLE businesses ADD COLUMN name_key TEXT;
ALTER TABLE businesses ADD COLUMN site_key TEXT;
ALTER TABLE businesses ADD COLUMN merged_into TEXT REFERENCES businesses (id);
CREATE UNIQUE INDEX businesses_ein ON businesses (ein) WHERE ein IS NOT NULL;
CREATE INDEX businesses_name_key ON businesses (name_key) WHERE merged_into IS NULL;
CREATE INDEX businesses_site_key ON businesses (site_key) WHERE merged_into IS NULL;

CREATE TABLE credit_pool (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    currency TEXT NOT NULL,
    total_cents BIGINT NOT NULL CHECK (total_cents > 0),
    grant_cents BIGINT NOT NULL CHECK (grant_cents > 0),
    max_grants INTEGER NOT NULL CHECK (max_grants > 0),
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    granted_cents BIGINT NOT NULL DEFAULT 0,
    grant_count INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    CHECK (granted_cents >= 0 AND granted_cents <= total_cents),
    CHECK (grant_count >= 0 AND grant_count <= max_grants)
);
INSERT INTO credit_pool (id, currency, total_cents, grant_cents, max_grants, updated_at)
VALUES (1, 'USD', 1000000000, 5000, 200000, now() AT TIME ZONE 'UTC');

-- A share of the pool: `national` (webinars, online sessions, and stops in states without an
-- open reserve of their own) or a state code. The shares add up to the pool's total. A released
-- state reserve keeps what it granted; its state's later grants draw on `national`.
CREATE TABLE credit_reserves (
    reserve TEXT PRIMARY KEY NOT NULL,
    share_cents BIGINT NOT NULL,
    granted_cents BIGINT NOT NULL DEFAULT 0,
    grant_count INTEGER NOT NULL DEFAULT 0,
    released_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    CHECK (granted_cents >= 0 AND granted_cents <= share_cents),
    CHECK (grant_count >= 0)
);
INSERT INTO credit_reserves (reserve, share_cents, updated_at) VALUES ('national', 1000000000, now() AT TIME ZONE 'UTC');

CREATE TABLE credit_grants (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- active, revoked or declined.
    status TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    reserve TEXT NOT NULL REFERENCES credit_reserves (reserve),
    -- check_in, expert_session, webinar or admin.
    source TEXT NOT NULL,
    registration_id TEXT REFERENCES registrations (id),
    booking_id TEXT REFERENCES expert_bookings (id),
    event_id TEXT REFERENCES events (id),
    -- The business's state when granted (reports by state).
    state_code TEXT,
    voucher_hash TEXT NOT NULL UNIQUE,
    voucher_prefix TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    granted_by TEXT REFERENCES staff_users (id),
    ended_at TIMESTAMP,
    end_reason TEXT,
    ended_by TEXT REFERENCES staff_users (id),
    redeemed_at TIMESTAMP,
    redeemed_by TEXT REFERENCES staff_users (id)
);
CREATE UNIQUE INDEX credit_grants_one_active ON credit_grants (business_id) WHERE status = 'active';
CREATE INDEX credit_grants_business ON credit_grants (business_id);
CREATE INDEX credit_grants_event ON credit_grants (event_id);
CREATE INDEX credit_grants_granted_at ON credit_grants (granted_at);

CREATE TABLE credit_ledger (
    seq BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    -- grant, revoke, decline, regrant, merge, pool, reserve, release.
    kind TEXT NOT NULL,
    reserve TEXT,
    grant_id TEXT,
    business_id TEXT,
    granted_delta_cents BIGINT NOT NULL DEFAULT 0,
    count_delta INTEGER NOT NULL DEFAULT 0,
    share_delta_cents BIGINT NOT NULL DEFAULT 0,
    total_delta_cents BIGINT NOT NULL DEFAULT 0,
    actor_id TEXT,
    note TEXT
);
CREATE INDEX credit_ledger_at ON credit_ledger (at);

CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_ledger is append-only';
END $$;
CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();

-- The opening entries: the pool's total and the national reserve's share.
INSERT INTO credit_ledger (at, kind, total_delta_cents, note) VALUES (now() AT TIME ZONE 'UTC', 'pool', 1000000000, 'opening total');
INSERT INTO credit_ledger (at, kind, reserve, share_delta_cents, note)
VALUES (now() AT TIME ZONE 'UTC', 'reserve', 'national', 1000000000, 'opening share');

-- A privacy link may now show a new voucher code.
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_kind_check;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_kind_check
    CHECK (kind IN ('export', 'erase', 'update_business', 'marketing', 'links', 'voucher'));
