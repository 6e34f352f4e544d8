-- Webhooks for partners (src/webhooks/): an organization's endpoints, and the deliveries written
-- in the transaction of the change they report, sent by the background worker.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL,
    -- `|registration.created|event.cancelled|`: the types it receives.
    event_types TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- The signing secret (`whsec_…`). Kept, not hashed: signing needs it. Shown once.
    secret TEXT NOT NULL,
    -- After a rotation the old secret also signs until this instant (an overlap for receivers).
    previous_secret TEXT,
    previous_until TIMESTAMP,
    created_by TEXT REFERENCES staff_users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (organization_id);

CREATE TABLE webhook_deliveries (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    -- The object the message is about (a registration, event, booking or grant): messages about
    -- one object reach an endpoint in the order they were written.
    object_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- pending, delivered, failed (gave up), skipped (the endpoint was disabled).
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_object ON webhook_deliveries (endpoint_id, object_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq);
