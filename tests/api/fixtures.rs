//! Rows written straight into the test database, for tests that need data in a precise shape
//! (past events, attended registrations, queued emails) without going through every endpoint.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use roadshow::auth::tokens::{hash_token, new_token, TokenKind};
use roadshow::db::schema::{businesses, event_hosts, event_seat_shards, events, outbox, registrations};
use roadshow::db::{new_id, now, to_db_time, write_tx};
use serde_json::json;

use crate::helpers::{expect_status, TestApp};

/// A staff user of `role` (in `org`, if any) and a fresh token for it, made through the API.
pub async fn staff(app: &TestApp, role: &str, org: Option<&str>) -> (String, String) {
    let email = format!("{}-{}@partners.test", role, &new_id()[..8]);
    let mut body = json!({"email": email, "name": format!("Staff {role}"), "role": role});
    if let Some(o) = org {
        body["organization_id"] = json!(o);
    }
    let user = expect_status(app.admin_post("/api/v1/admin/users", &body).await, 201).await;
    let id = user["id"].as_str().unwrap().to_string();
    let tok = expect_status(app.admin_post(&format!("/api/v1/admin/users/{id}/tokens"), &json!({})).await, 201).await;
    (id, tok["token"].as_str().unwrap().to_string())
}

/// An event row: `starts_in_days` may be negative (a past event). Returns its id.
pub fn event(
    app: &TestApp,
    status: &str,
    capacity: i32,
    starts_in_days: i64,
    state: Option<&str>,
    hosts: &[&str],
) -> String {
    let id = new_id();
    let starts = Utc::now() + Duration::days(starts_in_days);
    let mut conn = app.db.get().unwrap();
    write_tx(&mut conn, |c| {
        let ts = now();
        diesel::insert_into(events::table)
            .values((
                events::id.eq(&id),
                events::kind.eq("webinar"),
                events::title.eq("Fixture webinar"),
                events::description.eq(""),
                events::starts_at.eq(to_db_time(starts)),
                events::ends_at.eq(to_db_time(starts + Duration::hours(1))),
                events::time_zone.eq("America/Chicago"),
                events::capacity.eq(capacity),
                events::status.eq(status),
                events::join_url.eq(Some("https://meet.example.org/x")),
                events::state_code.eq(state),
                events::created_at.eq(ts),
                events::updated_at.eq(ts),
            ))
            .execute(c)?;
        diesel::insert_into(event_seat_shards::table)
            .values((
                event_seat_shards::event_id.eq(&id),
                event_seat_shards::shard.eq(0),
                event_seat_shards::capacity.eq(capacity),
            ))
            .execute(c)?;
        for h in hosts {
            diesel::insert_into(event_hosts::table)
                .values((event_hosts::event_id.eq(&id), event_hosts::organization_id.eq(*h)))
                .execute(c)?;
        }
        Ok(())
    })
    .unwrap();
    id
}

/// A business row; returns its id.
pub fn business(app: &TestApp, name: &str, email: &str) -> String {
    let id = new_id();
    let mut conn = app.db.get().unwrap();
    write_tx(&mut conn, |c| {
        let ts = now();
        diesel::insert_into(businesses::table)
            .values((
                businesses::id.eq(&id),
                businesses::email.eq(Some(email)),
                businesses::name.eq(name),
                businesses::state_code.eq(Some("TX")),
                businesses::industry.eq(Some("retail")),
                businesses::website.eq(Some("https://shop.example.org")),
                businesses::created_at.eq(ts),
                businesses::updated_at.eq(ts),
            ))
            .execute(c)?;
        Ok(())
    })
    .unwrap();
    id
}

/// A registration row with a manage token; returns (id, token). Confirmed and attended ones take
/// a seat in shard 0.
pub fn registration(
    app: &TestApp,
    event_id: &str,
    business_id: &str,
    status: &str,
    attendee: &str,
    email: &str,
) -> (String, String) {
    let id = new_id();
    let token = new_token(TokenKind::Manage);
    let mut conn = app.db.get().unwrap();
    write_tx(&mut conn, |c| {
        let ts = now();
        let seated = status == "confirmed" || status == "attended";
        diesel::insert_into(registrations::table)
            .values((
                registrations::id.eq(&id),
                registrations::event_id.eq(event_id),
                registrations::business_id.eq(business_id),
                registrations::attendee_name.eq(Some(attendee)),
                registrations::attendee_email.eq(Some(email)),
                registrations::status.eq(status),
                registrations::seat_shard.eq(seated.then_some(0)),
                registrations::manage_token_hash.eq(hash_token(&token)),
                registrations::created_at.eq(ts),
                registrations::updated_at.eq(ts),
            ))
            .execute(c)?;
        if seated {
            diesel::update(
                event_seat_shards::table
                    .filter(event_seat_shards::event_id.eq(event_id))
                    .filter(event_seat_shards::shard.eq(0)),
            )
            .set(event_seat_shards::taken.eq(event_seat_shards::taken + 1))
            .execute(c)?;
        }
        Ok(())
    })
    .unwrap();
    (id, token)
}

/// A queued email to a registration's attendee; returns its id.
pub fn queued_email(app: &TestApp, registration_id: &str, recipient: &str, body: &str) -> String {
    let mut conn = app.db.get().unwrap();
    let key = format!("fixture:{}", new_id());
    write_tx(&mut conn, |c| {
        roadshow::mail::outbox::enqueue(
            c,
            &roadshow::mail::outbox::NewEmail {
                dedupe_key: key.clone(),
                recipient: recipient.to_string(),
                template: "reminder_24h".into(),
                category: roadshow::domain::MailCategory::Transactional,
                subject: "Tomorrow: Fixture webinar".into(),
                body_text: body.to_string(),
                body_html: format!("<p>{body}</p>"),
                ics: None,
                headers: "{}".into(),
                registration_id: Some(registration_id.to_string()),
                business_id: None,
                event_id: None,
                hourly_cap: None,
            },
        )
    })
    .unwrap();
    let id: String = outbox::table.filter(outbox::dedupe_key.eq(&key)).select(outbox::id).first(&mut conn).unwrap();
    id
}

/// The status of an outbox row.
pub fn outbox_status(app: &TestApp, id: &str) -> String {
    let mut conn = app.db.get().unwrap();
    outbox::table.find(id).select(outbox::status).first(&mut conn).unwrap()
}

/// Marks an outbox row dead (delivery gave up), as the worker would.
pub fn make_dead(app: &TestApp, id: &str) {
    let mut conn = app.db.get().unwrap();
    diesel::update(outbox::table.find(id))
        .set((outbox::status.eq("dead"), outbox::last_error.eq(Some("550 mailbox unavailable"))))
        .execute(&mut conn)
        .unwrap();
}

/// Moves the event of `registration` to start within the hour (keeping its length), so its door
/// is open for check-in (from two hours before the start).
pub fn doors_open(app: &TestApp, registration: &str) {
    let (event, starts, ends): (String, chrono::NaiveDateTime, chrono::NaiveDateTime) = {
        let mut conn = app.db.get().unwrap();
        let event: String =
            registrations::table.find(registration).select(registrations::event_id).first(&mut *conn).unwrap();
        let (starts, ends) =
            events::table.find(&event).select((events::starts_at, events::ends_at)).first(&mut *conn).unwrap();
        (event, starts, ends)
    };
    let new_start = now() + Duration::minutes(30);
    move_event(app, &event, new_start, new_start + (ends - starts));
}

/// Sets an event's times behind the API's back (to put it in the past, or at the door).
pub fn move_event(app: &TestApp, event: &str, starts_at: chrono::NaiveDateTime, ends_at: chrono::NaiveDateTime) {
    let mut conn = app.db.get().unwrap();
    diesel::update(events::table.find(event))
        .set((events::starts_at.eq(starts_at), events::ends_at.eq(ends_at)))
        .execute(&mut *conn)
        .unwrap();
}
