-- Learning resources (issue 14, src/resources): case studies, guides and webinar recordings, with
-- topics from the shared vocabulary, the states they are for (none: national), a language and an
-- author organization. The Markdown body is the only stored form; its HTML is made on read.
--
-- Columns of one kind only are NULL for the others (CHECKs below): a case study names its
-- business; a recording has a link and a length, and may name the webinar it was made at.
CREATE TABLE resources (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('case_study', 'guide', 'recording')),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('en', 'es')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    business_name TEXT,
    business_state TEXT REFERENCES states (code),
    business_industry TEXT,
    business_actions TEXT,
    business_results TEXT,
    recording_url TEXT,
    duration_minutes INTEGER CHECK (duration_minutes BETWEEN 1 AND 1440),
    event_id TEXT REFERENCES events (id),
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    CHECK ((kind = 'case_study') = (business_name IS NOT NULL)),
    CHECK (kind = 'case_study' OR (business_state IS NULL AND business_industry IS NULL
                                   AND business_actions IS NULL AND business_results IS NULL)),
    CHECK ((kind = 'recording') = (recording_url IS NOT NULL AND duration_minutes IS NOT NULL)),
    CHECK (kind = 'recording' OR event_id IS NULL),
    CHECK (status = 'draft' OR published_at IS NOT NULL)
);
-- The public list: newest published first.
CREATE INDEX resources_published_idx ON resources (published_at, id) WHERE status = 'published';
-- The staff list of one organization, newest first.
CREATE INDEX resources_organization_idx ON resources (organization_id, created_at, id);
-- An event's recordings.
CREATE INDEX resources_event_idx ON resources (event_id) WHERE event_id IS NOT NULL;
-- The `q=` search (src/resources/queries.rs, `search_condition`), as the event search
-- (2026-12-01-000502_event_search): the query must use exactly this expression.
CREATE INDEX resources_search_idx ON resources USING GIN (to_tsvector('simple',
    title || ' ' || summary || ' ' || coalesce(business_name, '') || ' ' || body_markdown));

CREATE TABLE resource_topics (
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    PRIMARY KEY (resource_id, topic)
);
CREATE INDEX resource_topics_topic_idx ON resource_topics (topic, resource_id);

CREATE TABLE resource_states (
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    state_code TEXT NOT NULL REFERENCES states (code),
    PRIMARY KEY (resource_id, state_code)
);
CREATE INDEX resource_states_state_idx ON resource_states (state_code, resource_id);

-- Resources staff attached to an event, in their order (`position` from 0).
CREATE TABLE event_resources (
    event_id TEXT NOT NULL REFERENCES events (id),
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (event_id, resource_id)
);
CREATE INDEX event_resources_resource_idx ON event_resources (resource_id);
