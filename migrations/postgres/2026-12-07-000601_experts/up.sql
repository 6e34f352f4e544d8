-- One-to-one expert consultations (src/experts/). An expert is a staff user with role `expert`
-- plus a public profile; they publish availability windows (at a roadshow stop or online), which
-- are cut into slots; a business books a slot.
--
-- Lists of a profile (topics, industries, languages, states) are kept as `|a|b|` text, matched
-- with LIKE '%|a|%': a few hundred experts, read whole, never searched by index.

CREATE TABLE expert_profiles (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES staff_users (id),
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    topics TEXT NOT NULL DEFAULT '',
    industries TEXT NOT NULL DEFAULT '',
    languages TEXT NOT NULL DEFAULT '',
    states TEXT NOT NULL DEFAULT '',
    online BOOLEAN NOT NULL DEFAULT FALSE,
    meeting_url TEXT,
    -- The secret of the expert's calendar feed (a hash; the URL is shown once, rotatable).
    calendar_token_hash TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE expert_windows (
    id TEXT PRIMARY KEY NOT NULL,
    expert_id TEXT NOT NULL REFERENCES expert_profiles (user_id),
    -- The roadshow stop the window is at; NULL online.
    event_id TEXT REFERENCES events (id),
    time_zone TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 15 AND 120),
    buffer_minutes INTEGER NOT NULL CHECK (buffer_minutes BETWEEN 0 AND 120),
    -- Until then only registrants of the stop may book ("registrants first").
    registrants_only_until TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    created_by TEXT REFERENCES staff_users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX expert_windows_expert_idx ON expert_windows (expert_id, starts_at);
CREATE INDEX expert_windows_event_idx ON expert_windows (event_id);

CREATE TABLE expert_slots (
    id TEXT PRIMARY KEY NOT NULL,
    window_id TEXT NOT NULL REFERENCES expert_windows (id),
    expert_id TEXT NOT NULL REFERENCES expert_profiles (user_id),
    event_id TEXT REFERENCES events (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- `withdrawn`: cut from a shortened or cancelled window (a booked slot is kept until its
    -- booking ends).
    status TEXT NOT NULL CHECK (status IN ('open', 'withdrawn')),
    -- The active booking holding the slot; set by a conditional UPDATE, so one booking wins.
    booking_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX expert_slots_event_idx ON expert_slots (event_id, starts_at);
CREATE INDEX expert_slots_time_idx ON expert_slots (starts_at);
CREATE INDEX expert_slots_window_idx ON expert_slots (window_id);
CREATE INDEX expert_slots_expert_idx ON expert_slots (expert_id, starts_at);

CREATE TABLE expert_bookings (
    id TEXT PRIMARY KEY NOT NULL,
    slot_id TEXT NOT NULL REFERENCES expert_slots (id),
    expert_id TEXT NOT NULL REFERENCES expert_profiles (user_id),
    event_id TEXT REFERENCES events (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    attendee_name TEXT,
    attendee_email TEXT,
    -- The business's name as the booker typed it (the stored business record is not changed by a
    -- booking, and is not shown to the expert: anyone can type any business's email).
    business_name_given TEXT,
    question TEXT,
    topic TEXT,
    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'attended', 'no_show')),
    -- The slot's time, copied (a move copies the new one): overlap checks read bookings only.
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    manage_token_hash TEXT NOT NULL,
    calendar_sequence INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    marked_at TIMESTAMP,
    -- The start time the reminder was settled for (sent, or not due because booked within the
    -- last day): a moved session is reminded again, a settled one is never looked at again.
    reminded_for TIMESTAMP
);
-- One active booking per slot, whatever the application does.
CREATE UNIQUE INDEX expert_bookings_one_per_slot ON expert_bookings (slot_id) WHERE status = 'booked';
CREATE INDEX expert_bookings_attendee_idx ON expert_bookings (attendee_email, starts_at);
CREATE INDEX expert_bookings_business_idx ON expert_bookings (business_id, event_id);
CREATE INDEX expert_bookings_expert_idx ON expert_bookings (expert_id, starts_at);
CREATE INDEX expert_bookings_event_idx ON expert_bookings (event_id);

-- Tokens in later emails (reminders, change notices) of a booking, as registration_tokens.
CREATE TABLE expert_booking_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    booking_id TEXT NOT NULL REFERENCES expert_bookings (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX expert_booking_tokens_booking_idx ON expert_booking_tokens (booking_id);

-- The booking an `Idempotency-Key` of `POST /api/v1/expert-slots/{id}/booking` made (erasure marks
-- the key, as for registrations).
ALTER TABLE idempotency_keys ADD COLUMN booking_id TEXT REFERENCES expert_bookings (id);
CREATE INDEX idempotency_keys_booking_idx ON idempotency_keys (booking_id);
