-- Foundation schema. Kept in step with the other backend's folder: same tables, same columns,
-- same constraints. Ids are UUID text; times are UTC instants in TIMESTAMP columns.

CREATE TABLE states (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 2),
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('national_chamber', 'federation', 'regional_office', 'local_chamber', 'platform_partner')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

CREATE TABLE organization_states (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    state_code TEXT NOT NULL REFERENCES states (code),
    PRIMARY KEY (organization_id, state_code)
);
CREATE INDEX organization_states_state_idx ON organization_states (state_code);

CREATE TABLE staff_users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'organizer', 'expert')),
    organization_id TEXT REFERENCES organizations (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (role <> 'organizer' OR organization_id IS NOT NULL)
);
CREATE INDEX staff_users_organization_idx ON staff_users (organization_id);

CREATE TABLE staff_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    label TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX staff_tokens_user_idx ON staff_tokens (user_id);

CREATE TABLE venues (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    city TEXT NOT NULL,
    state_code TEXT NOT NULL REFERENCES states (code),
    time_zone TEXT NOT NULL,
    organization_id TEXT REFERENCES organizations (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX venues_state_idx ON venues (state_code);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('roadshow_stop', 'webinar')),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    time_zone TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    registration_opens_at TIMESTAMP,
    registration_closes_at TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'cancelled', 'completed')),
    venue_id TEXT REFERENCES venues (id),
    join_url TEXT,
    state_code TEXT REFERENCES states (code),
    -- Next waitlist ticket; taken under the event row lock so positions are first come, first served.
    waitlist_seq BIGINT NOT NULL DEFAULT 0,
    -- Grows with every change that matters to a calendar (RFC 5545 SEQUENCE).
    revision INTEGER NOT NULL DEFAULT 0,
    created_by TEXT REFERENCES staff_users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    CHECK (ends_at > starts_at),
    CHECK (kind <> 'roadshow_stop' OR venue_id IS NOT NULL),
    CHECK (kind <> 'webinar' OR join_url IS NOT NULL)
);
CREATE INDEX events_listing_idx ON events (status, starts_at, id);
CREATE INDEX events_state_idx ON events (state_code);

CREATE TABLE event_hosts (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (event_id, organization_id)
);
CREATE INDEX event_hosts_organization_idx ON event_hosts (organization_id);

CREATE TABLE event_topics (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    PRIMARY KEY (event_id, topic)
);
CREATE INDEX event_topics_topic_idx ON event_topics (topic);

-- An event's seats are split over a few counter rows so that concurrent registrations for one
-- popular event do not all queue on a single row lock. Sum of capacity = events.capacity.
CREATE TABLE event_seat_shards (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    shard INTEGER NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    taken INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0),
    PRIMARY KEY (event_id, shard),
    CHECK (taken <= capacity)
);

CREATE TABLE businesses (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT UNIQUE,
    name TEXT NOT NULL,
    state_code TEXT REFERENCES states (code),
    industry TEXT,
    employees TEXT,
    website TEXT,
    marketing_consent BOOLEAN NOT NULL DEFAULT FALSE,
    unsubscribed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);

CREATE TABLE registrations (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    attendee_name TEXT,
    attendee_email TEXT,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'attended')),
    -- Waitlist ticket from events.waitlist_seq; the position is the rank among waitlisted tickets.
    waitlist_ticket BIGINT,
    -- Which seat shard holds this registration's seat (confirmed and attended only).
    seat_shard INTEGER,
    manage_token_hash TEXT NOT NULL UNIQUE,
    calendar_sequence INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    checked_in_at TIMESTAMP
);
CREATE UNIQUE INDEX registrations_one_active_per_attendee
    ON registrations (event_id, attendee_email) WHERE status IN ('confirmed', 'waitlisted', 'attended');
CREATE INDEX registrations_event_status_idx ON registrations (event_id, status, waitlist_ticket);
CREATE INDEX registrations_business_idx ON registrations (business_id);
CREATE INDEX registrations_attendee_idx ON registrations (attendee_email);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    registration_id TEXT REFERENCES registrations (id),
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE outbox (
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
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    locked_by TEXT,
    last_error TEXT,
    registration_id TEXT REFERENCES registrations (id),
    business_id TEXT REFERENCES businesses (id),
    event_id TEXT REFERENCES events (id),
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_business_idx ON outbox (business_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    actor_user_id TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    changes TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id);
CREATE INDEX audit_log_created_idx ON audit_log (created_at, id);

CREATE TABLE rate_limits (
    bucket TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

INSERT INTO states (code, name, time_zone) VALUES
    ('AL', 'Alabama', 'America/Chicago'),
    ('AK', 'Alaska', 'America/Anchorage'),
    ('AZ', 'Arizona', 'America/Phoenix'),
    ('AR', 'Arkansas', 'America/Chicago'),
    ('CA', 'California', 'America/Los_Angeles'),
    ('CO', 'Colorado', 'America/Denver'),
    ('CT', 'Connecticut', 'America/New_York'),
    ('DE', 'Delaware', 'America/New_York'),
    ('DC', 'District of Columbia', 'America/New_York'),
    ('FL', 'Florida', 'America/New_York'),
    ('GA', 'Georgia', 'America/New_York'),
    ('HI', 'Hawaii', 'Pacific/Honolulu'),
    ('ID', 'Idaho', 'America/Boise'),
    ('IL', 'Illinois', 'America/Chicago'),
    ('IN', 'Indiana', 'America/Indiana/Indianapolis'),
    ('IA', 'Iowa', 'America/Chicago'),
    ('KS', 'Kansas', 'America/Chicago'),
    ('KY', 'Kentucky', 'America/New_York'),
    ('LA', 'Louisiana', 'America/Chicago'),
    ('ME', 'Maine', 'America/New_York'),
    ('MD', 'Maryland', 'America/New_York'),
    ('MA', 'Massachusetts', 'America/New_York'),
    ('MI', 'Michigan', 'America/Detroit'),
    ('MN', 'Minnesota', 'America/Chicago'),
    ('MS', 'Mississippi', 'America/Chicago'),
    ('MO', 'Missouri', 'America/Chicago'),
    ('MT', 'Montana', 'America/Denver'),
    ('NE', 'Nebraska', 'America/Chicago'),
    ('NV', 'Nevada', 'America/Los_Angeles'),
    ('NH', 'New Hampshire', 'America/New_York'),
    ('NJ', 'New Jersey', 'America/New_York'),
    ('NM', 'New Mexico', 'America/Denver'),
    ('NY', 'New York', 'America/New_York'),
    ('NC', 'North Carolina', 'America/New_York'),
    ('ND', 'North Dakota', 'America/Chicago'),
    ('OH', 'Ohio', 'America/New_York'),
    ('OK', 'Oklahoma', 'America/Chicago'),
    ('OR', 'Oregon', 'America/Los_Angeles'),
    ('PA', 'Pennsylvania', 'America/New_York'),
    ('RI', 'Rhode Island', 'America/New_York'),
    ('SC', 'South Carolina', 'America/New_York'),
    ('SD', 'South Dakota', 'America/Chicago'),
    ('TN', 'Tennessee', 'America/Chicago'),
    ('TX', 'Texas', 'America/Chicago'),
    ('UT', 'Utah', 'America/Denver'),
    ('VT', 'Vermont', 'America/New_York'),
    ('VA', 'Virginia', 'America/New_York'),
    ('WA', 'Washington', 'America/Los_Angeles'),
    ('WV', 'West Virginia', 'America/New_York'),
    ('WI', 'Wisconsin', 'America/Chicago'),
    ('WY', 'Wyoming', 'America/Denver');
