//! The one diesel schema shared by both backends. Kept by hand (`diesel print-schema` does not know
//! `MultiConnection`); every migration in `migrations/postgres` and `migrations/sqlite` must keep it true.
//! Only portable SQL types: ids are `Text` (UUIDs), instants are `Timestamp` holding UTC.
//! `tests/api/schema.rs` fails when this file and what the migrations build drift apart.

diesel::table! {
    states (code) {
        code -> Text,
        name -> Text,
        time_zone -> Text,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organization_states (organization_id, state_code) {
        organization_id -> Text,
        state_code -> Text,
    }
}

diesel::table! {
    staff_users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        organization_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deactivated_by_admin -> Bool,
    }
}

diesel::table! {
    staff_tokens (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        display_prefix -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    venues (id) {
        id -> Text,
        name -> Text,
        address -> Text,
        city -> Text,
        state_code -> Text,
        time_zone -> Text,
        organization_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        description -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        time_zone -> Text,
        capacity -> Integer,
        registration_opens_at -> Nullable<Timestamp>,
        registration_closes_at -> Nullable<Timestamp>,
        status -> Text,
        venue_id -> Nullable<Text>,
        join_url -> Nullable<Text>,
        state_code -> Nullable<Text>,
        waitlist_seq -> BigInt,
        revision -> Integer,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        topic_list -> Text,
        host_list -> Text,
        title_es -> Nullable<Text>,
        description_es -> Nullable<Text>,
    }
}

diesel::table! {
    event_hosts (event_id, organization_id) {
        event_id -> Text,
        organization_id -> Text,
    }
}

diesel::table! {
    event_topics (event_id, topic) {
        event_id -> Text,
        topic -> Text,
    }
}

diesel::table! {
    event_seat_shards (event_id, shard) {
        event_id -> Text,
        shard -> Integer,
        capacity -> Integer,
        taken -> Integer,
    }
}

diesel::table! {
    businesses (id) {
        id -> Text,
        email -> Nullable<Text>,
        name -> Text,
        state_code -> Nullable<Text>,
        industry -> Nullable<Text>,
        employees -> Nullable<Text>,
        website -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        ein -> Nullable<Text>,
        name_key -> Nullable<Text>,
        site_key -> Nullable<Text>,
        merged_into -> Nullable<Text>,
    }
}

diesel::table! {
    registrations (id) {
        id -> Text,
        event_id -> Text,
        business_id -> Text,
        attendee_name -> Nullable<Text>,
        attendee_email -> Nullable<Text>,
        status -> Text,
        waitlist_ticket -> Nullable<BigInt>,
        seat_shard -> Nullable<Integer>,
        manage_token_hash -> Text,
        calendar_sequence -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        checked_in_at -> Nullable<Timestamp>,
        business_name_given -> Nullable<Text>,
        business_state_given -> Nullable<Text>,
        industry_given -> Nullable<Text>,
        employees_given -> Nullable<Text>,
        website_given -> Nullable<Text>,
        language -> Text,
    }
}

diesel::table! {
    registration_tokens (token_hash) {
        token_hash -> Text,
        registration_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (scope, idem_key) {
        scope -> Text,
        idem_key -> Text,
        request_hash -> Text,
        registration_id -> Nullable<Text>,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
        booking_id -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        recipient -> Text,
        template -> Text,
        category -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        ics -> Nullable<Text>,
        headers -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        registration_id -> Nullable<Text>,
        business_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    unsubscribe_tokens (token_hash) {
        token_hash -> Text,
        business_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    email_consents (email) {
        email -> Text,
        marketing_consent -> Bool,
        unsubscribed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    privacy_requests (id) {
        id -> Text,
        email -> Text,
        kind -> Text,
        payload -> Text,
        status -> Text,
        token_hash -> Nullable<Text>,
        created_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_throttle (recipient, kind) {
        recipient -> Text,
        kind -> Text,
        last_at -> Timestamp,
    }
}

diesel::table! {
    mail_counts (recipient, window_start) {
        recipient -> Text,
        window_start -> Timestamp,
        sent -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        changes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rate_limits (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    expert_profiles (user_id) {
        user_id -> Text,
        display_name -> Text,
        bio -> Text,
        topics -> Text,
        industries -> Text,
        languages -> Text,
        states -> Text,
        online -> Bool,
        meeting_url -> Nullable<Text>,
        calendar_token_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    expert_windows (id) {
        id -> Text,
        expert_id -> Text,
        event_id -> Nullable<Text>,
        time_zone -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        slot_minutes -> Integer,
        buffer_minutes -> Integer,
        registrants_only_until -> Nullable<Timestamp>,
        status -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    expert_slots (id) {
        id -> Text,
        window_id -> Text,
        expert_id -> Text,
        event_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        status -> Text,
        booking_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    expert_bookings (id) {
        id -> Text,
        slot_id -> Text,
        expert_id -> Text,
        event_id -> Nullable<Text>,
        business_id -> Text,
        attendee_name -> Nullable<Text>,
        attendee_email -> Nullable<Text>,
        business_name_given -> Nullable<Text>,
        question -> Nullable<Text>,
        topic -> Nullable<Text>,
        status -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        manage_token_hash -> Text,
        calendar_sequence -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        marked_at -> Nullable<Timestamp>,
        reminded_for -> Nullable<Timestamp>,
        language -> Text,
    }
}

diesel::table! {
    expert_booking_tokens (token_hash) {
        token_hash -> Text,
        booking_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accommodation_requests (id) {
        id -> Text,
        registration_id -> Nullable<Text>,
        booking_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        categories -> Text,
        note -> Nullable<Text>,
        revision -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    accommodation_digested (request_id, organization_id) {
        request_id -> Text,
        organization_id -> Text,
        revision -> Integer,
        digest_day -> Text,
    }
}

diesel::table! {
    accommodation_digests (organization_id, digest_day) {
        organization_id -> Text,
        digest_day -> Text,
        requests -> Integer,
        created_at -> Timestamp,
    }
}

diesel::joinable!(organization_states -> organizations (organization_id));
diesel::joinable!(organization_states -> states (state_code));
diesel::joinable!(staff_users -> organizations (organization_id));
diesel::joinable!(staff_tokens -> staff_users (user_id));
diesel::joinable!(venues -> states (state_code));
diesel::joinable!(events -> venues (venue_id));
diesel::joinable!(event_hosts -> events (event_id));
diesel::joinable!(event_hosts -> organizations (organization_id));
diesel::joinable!(event_topics -> events (event_id));
diesel::joinable!(event_seat_shards -> events (event_id));
diesel::joinable!(registrations -> events (event_id));
diesel::table! {
    credit_pool (id) {
        id -> Integer,
        currency -> Text,
        total_cents -> BigInt,
        grant_cents -> BigInt,
        max_grants -> Integer,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        granted_cents -> BigInt,
        grant_count -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    credit_reserves (reserve) {
        reserve -> Text,
        share_cents -> BigInt,
        granted_cents -> BigInt,
        grant_count -> Integer,
        released_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    credit_grants (id) {
        id -> Text,
        business_id -> Text,
        status -> Text,
        amount_cents -> BigInt,
        reserve -> Text,
        source -> Text,
        registration_id -> Nullable<Text>,
        booking_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        state_code -> Nullable<Text>,
        voucher_hash -> Text,
        voucher_prefix -> Text,
        granted_at -> Timestamp,
        granted_by -> Nullable<Text>,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        ended_by -> Nullable<Text>,
        redeemed_at -> Nullable<Timestamp>,
        redeemed_by -> Nullable<Text>,
    }
}

diesel::table! {
    credit_ledger (seq) {
        seq -> BigInt,
        at -> Timestamp,
        kind -> Text,
        reserve -> Nullable<Text>,
        grant_id -> Nullable<Text>,
        business_id -> Nullable<Text>,
        granted_delta_cents -> BigInt,
        count_delta -> Integer,
        share_delta_cents -> BigInt,
        total_delta_cents -> BigInt,
        actor_id -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        organization_id -> Text,
        url -> Text,
        event_types -> Text,
        active -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (seq) {
        seq -> BigInt,
        id -> Text,
        endpoint_id -> Text,
        event_type -> Text,
        object_id -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    registration_counts (event_id, status) {
        event_id -> Text,
        status -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    registration_count_deltas (id) {
        id -> BigInt,
        event_id -> Text,
        status -> Text,
        delta -> Integer,
    }
}

diesel::table! {
    outbox_counts (status) {
        status -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    outbox_count_deltas (id) {
        id -> BigInt,
        status -> Text,
        delta -> Integer,
    }
}

diesel::table! {
    report_counts (org_id, state) {
        org_id -> Text,
        state -> Text,
        events_draft -> BigInt,
        events_published -> BigInt,
        events_cancelled -> BigInt,
        events_completed -> BigInt,
        regs_confirmed -> BigInt,
        regs_waitlisted -> BigInt,
        regs_cancelled -> BigInt,
        regs_attended -> BigInt,
        sessions_booked -> BigInt,
        sessions_cancelled -> BigInt,
        sessions_attended -> BigInt,
        sessions_no_show -> BigInt,
        ended_attended -> BigInt,
        ended_no_show -> BigInt,
        upcoming_events -> BigInt,
        upcoming_capacity -> BigInt,
        upcoming_confirmed -> BigInt,
        upcoming_waitlisted -> BigInt,
        upcoming_seats_left -> BigInt,
    }
}

diesel::table! {
    report_event_facts (event_id) {
        event_id -> Text,
        state -> Text,
        hosts -> Text,
        status -> Text,
        capacity -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        recorded_at -> Timestamp,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
        regs_confirmed -> BigInt,
        regs_waitlisted -> BigInt,
        regs_cancelled -> BigInt,
        regs_attended -> BigInt,
        sessions_booked -> BigInt,
        sessions_cancelled -> BigInt,
        sessions_attended -> BigInt,
        sessions_no_show -> BigInt,
    }
}

diesel::table! {
    report_dirty (id) {
        id -> BigInt,
        event_id -> Text,
    }
}

diesel::joinable!(registrations -> businesses (business_id));
diesel::joinable!(registration_tokens -> registrations (registration_id));
diesel::joinable!(unsubscribe_tokens -> businesses (business_id));
diesel::joinable!(expert_profiles -> staff_users (user_id));
diesel::joinable!(expert_windows -> expert_profiles (expert_id));
diesel::joinable!(expert_slots -> expert_windows (window_id));
diesel::joinable!(expert_bookings -> expert_slots (slot_id));
diesel::joinable!(expert_bookings -> businesses (business_id));
diesel::joinable!(expert_booking_tokens -> expert_bookings (booking_id));
diesel::joinable!(credit_grants -> businesses (business_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> organizations (organization_id));
diesel::joinable!(credit_grants -> credit_reserves (reserve));
diesel::joinable!(accommodation_requests -> registrations (registration_id));
diesel::joinable!(accommodation_requests -> expert_bookings (booking_id));
diesel::joinable!(accommodation_requests -> events (event_id));
diesel::joinable!(accommodation_digested -> accommodation_requests (request_id));

diesel::table! {
    site_keys (name) {
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    resources (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        summary -> Text,
        body_markdown -> Text,
        language -> Text,
        status -> Text,
        organization_id -> Text,
        business_name -> Nullable<Text>,
        business_state -> Nullable<Text>,
        business_industry -> Nullable<Text>,
        business_actions -> Nullable<Text>,
        business_results -> Nullable<Text>,
        recording_url -> Nullable<Text>,
        duration_minutes -> Nullable<Integer>,
        event_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    resource_topics (resource_id, topic) {
        resource_id -> Text,
        topic -> Text,
    }
}

diesel::table! {
    resource_states (resource_id, state_code) {
        resource_id -> Text,
        state_code -> Text,
    }
}

diesel::table! {
    event_resources (event_id, resource_id) {
        event_id -> Text,
        resource_id -> Text,
        position -> Integer,
    }
}

diesel::joinable!(resources -> organizations (organization_id));
diesel::joinable!(resource_topics -> resources (resource_id));
diesel::joinable!(resource_states -> resources (resource_id));
diesel::joinable!(event_resources -> resources (resource_id));
diesel::joinable!(event_resources -> events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    states,
    site_keys,
    organizations,
    organization_states,
    staff_users,
    staff_tokens,
    venues,
    events,
    event_hosts,
    event_topics,
    event_seat_shards,
    businesses,
    registrations,
    registration_tokens,
    idempotency_keys,
    outbox,
    unsubscribe_tokens,
    audit_log,
    rate_limits,
    email_consents,
    privacy_requests,
    mail_throttle,
    mail_counts,
    expert_profiles,
    expert_windows,
    expert_slots,
    expert_bookings,
    expert_booking_tokens,
    credit_pool,
    credit_reserves,
    credit_grants,
    credit_ledger,
    webhook_endpoints,
    webhook_deliveries,
    registration_counts,
    registration_count_deltas,
    outbox_counts,
    outbox_count_deltas,
    report_counts,
    report_event_facts,
    report_dirty,
    resources,
    resource_topics,
    resource_states,
    event_resources,
    accommodation_requests,
    accommodation_digested,
    accommodation_digests,
);
