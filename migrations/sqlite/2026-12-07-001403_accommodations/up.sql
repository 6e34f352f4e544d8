-- Accommodation requests (src/accommodations/): what a registrant or the holder of an expert
-- booking needs to take part. A table of its own, so a registration without one writes nothing
-- more; one request per registration or booking, written in its transaction.
CREATE TABLE accommodation_requests (
    id TEXT PRIMARY KEY NOT NULL,
    registration_id TEXT UNIQUE REFERENCES registrations (id) ON DELETE CASCADE,
    booking_id TEXT UNIQUE REFERENCES expert_bookings (id) ON DELETE CASCADE,
    -- The event of the registration or booking (a booking's never changes; an online session
    -- outside any event has none): who may see the request and which digest it goes in.
    event_id TEXT REFERENCES events (id),
    -- `|wheelchair_access|live_captions|`: the categories, each once, in declaration order.
    categories TEXT NOT NULL CHECK (categories LIKE '|%|'),
    note TEXT,
    -- Raised by each change, so a digest records which version it carried.
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((registration_id IS NULL) <> (booking_id IS NULL))
);
CREATE INDEX accommodation_requests_event ON accommodation_requests (event_id);

-- Which version of a request went to which host organization's digest (one row per request and
-- organization: a co-hosted event's requests go to every host).
CREATE TABLE accommodation_digested (
    request_id TEXT NOT NULL REFERENCES accommodation_requests (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    digest_day TEXT NOT NULL,
    PRIMARY KEY (request_id, organization_id)
);
CREATE INDEX accommodation_digested_org ON accommodation_digested (organization_id);

-- One digest per organization and UTC day: the row is the claim (two schedulers racing for it
-- meet on the primary key, and the second finds it taken).
CREATE TABLE accommodation_digests (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    digest_day TEXT NOT NULL,
    requests INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, digest_day)
);
