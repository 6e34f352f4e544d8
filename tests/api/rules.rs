//! Rules that had no test of their own: the emails of a staff cancellation, a promotion, the 24 h
//! reminder and the lost-link form, checked by content (subject and text name the event, and the
//! manage link in them works); the same `Idempotency-Key` twice at once; the same attendee twice at
//! once; `registration_opens_at`; staff token expiry.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use reqwest::Method;
use roadshow::db::schema::{events, outbox, registrations, staff_tokens};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};
use crate::registrations::{register, registration};

const TITLE: &str = "Grow with social media";

/// (recipient, subject, text body) of every outbox email of a template, oldest first.
fn emails(app: &TestApp, template: &str) -> Vec<(String, String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .filter(outbox::template.eq(template))
        .order(outbox::created_at)
        .select((outbox::recipient, outbox::subject, outbox::body_text))
        .load(&mut *conn)
        .unwrap()
}

/// The manage link in an email's text, as a path on the test server (the emails name the
/// configured public address; the path and token are what matter).
fn manage_path(text: &str) -> String {
    let start = text.find("/manage/").unwrap_or_else(|| panic!("no manage link in: {text}"));
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.contains("?token="), "{link}");
    link
}

/// Asserts that an email names the event and that its manage link opens that registration's page.
async fn assert_names_event_with_working_link(app: &TestApp, subject: &str, text: &str, registration_id: &str) {
    assert!(subject.contains(TITLE), "subject {subject:?}");
    assert!(text.contains(TITLE), "{text}");
    let path = manage_path(text);
    assert!(path.starts_with(&format!("/manage/{registration_id}?")), "link for another registration: {path}");
    let page = app.get(&path).await;
    assert_eq!(page.status(), 200, "the manage link works: {path}");
    let html = page.text().await.unwrap();
    assert!(html.contains(TITLE), "{html}");
}

async fn staff_cancelling_an_event_emails_every_registrant_naming_it(app: TestApp) {
    let event = app.published_webinar(2).await;
    futures_util::future::join_all((0..3).map(|n| register(&app, &event, n))).await;
    assert!(emails(&app, "event_cancelled").is_empty());
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/cancel"), &json!({})).await, 200).await;
    let sent = emails(&app, "event_cancelled");
    // Seated and waitlisted alike: every active registrant hears of it, once.
    let mut to: Vec<&str> = sent.iter().map(|m| m.0.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, vec!["attendee0@shop0.example", "attendee1@shop1.example", "attendee2@shop2.example"]);
    for (recipient, subject, text) in &sent {
        assert_eq!(subject, &format!("Cancelled: {TITLE}"));
        assert!(text.contains("cancelled this event"), "{text}");
        let id = registration_id_of(&app, &event, recipient);
        assert_names_event_with_working_link(&app, subject, text, &id).await;
    }
}

async fn a_promotion_email_names_the_event_and_links_to_the_seat(app: TestApp) {
    let event = app.published_webinar(1).await;
    let first = register(&app, &event, 1).await;
    let second = register(&app, &event, 2).await;
    assert_eq!(second["status"], "waitlisted");
    let (id, token) = (first["id"].as_str().unwrap(), first["manage_token"].as_str().unwrap());
    expect_status(app.request(Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(token), None).await, 200)
        .await;
    let promoted = emails(&app, "registration_promoted");
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    let (to, subject, text) = &promoted[0];
    assert_eq!(to, "attendee2@shop2.example");
    assert_eq!(subject, &format!("A seat opened up for you: {TITLE}"));
    assert_names_event_with_working_link(&app, subject, text, second["id"].as_str().unwrap()).await;
    // The page behind the link shows the seat.
    let html = app.get(&manage_path(text)).await.text().await.unwrap();
    assert!(html.contains("Confirmed"), "{html}");
}

async fn the_24_hour_reminder_names_the_event_and_links_to_the_registration(app: TestApp) {
    let event = app.published_webinar(10).await;
    let reg = register(&app, &event, 1).await;
    let starts = {
        let mut conn = app.db.get().unwrap();
        events::table
            .find(&event)
            .select(events::starts_at)
            .first::<chrono::NaiveDateTime>(&mut *conn)
            .unwrap()
            .and_utc()
    };
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let stats = roadshow::jobs::run_once(&app.db, &ctx, starts - Duration::hours(23)).await.unwrap();
    assert_eq!(stats.reminders_24h, 1);
    let reminders = emails(&app, "reminder_24h");
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let (to, subject, text) = &reminders[0];
    assert_eq!(to, "attendee1@shop1.example");
    assert!(subject.starts_with(&format!("Reminder: {TITLE}, ")), "{subject}");
    assert!(text.contains("https://meet.example.org/grow"), "a confirmed attendee is given the join link: {text}");
    assert_names_event_with_working_link(&app, subject, text, reg["id"].as_str().unwrap()).await;
}

async fn the_lost_link_email_lists_each_registration_with_a_working_link(app: TestApp) {
    let event = app.published_webinar(10).await;
    let reg = register(&app, &event, 1).await;
    let before = emails(&app, "links_list").len();
    let r = app.post_json("/api/v1/registrations/recover", &json!({"email": "attendee1@shop1.example"})).await;
    assert_eq!(r.status(), 202);
    process_queued_requests(&app).await;
    let lists = emails(&app, "links_list");
    assert_eq!(lists.len(), before + 1, "{lists:?}");
    let (to, subject, text) = lists.last().unwrap();
    assert_eq!(to, "attendee1@shop1.example");
    assert_eq!(subject, "Your Roadshow registration links");
    assert!(text.contains(TITLE), "{text}");
    let path = manage_path(text);
    assert!(path.starts_with(&format!("/manage/{}?", reg["id"].as_str().unwrap())), "{path}");
    let page = app.get(&path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(TITLE));
    // An address with no registration gets the same answer and no email.
    let r = app.post_json("/api/v1/registrations/recover", &json!({"email": "nobody@nowhere.example"})).await;
    assert_eq!(r.status(), 202);
    process_queued_requests(&app).await;
    assert!(emails(&app, "links_list").iter().all(|m| m.0 != "nobody@nowhere.example"));
}

async fn the_same_idempotency_key_twice_at_once_makes_one_registration(app: TestApp) {
    // The second request waits for the first (on the key's unique index, or SQLite's write
    // lock) and replays its answer: both 201 with the same id.
    let event = app.published_webinar(10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let send = || async {
        let r = app
            .client
            .post(app.url(&path))
            .header("Idempotency-Key", "twice-at-once")
            .json(&registration(1))
            .send()
            .await
            .unwrap();
        expect_status(r, 201).await
    };
    let answers: Vec<Value> = futures_util::future::join_all((0..6).map(|_| send())).await;
    let ids: std::collections::HashSet<&str> = answers.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert!(answers.iter().all(|a| a["status"] == "confirmed"));
    let mut conn = app.db.get().unwrap();
    let n: i64 =
        registrations::table.filter(registrations::event_id.eq(&event)).count().get_result(&mut *conn).unwrap();
    assert_eq!(n, 1);
    assert_eq!(emails(&app, "registration_confirmed").len(), 1, "one confirmation email");
}

async fn the_same_attendee_twice_at_once_is_one_registration_and_one_conflict(app: TestApp) {
    let event = app.published_webinar(10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let send = || async { app.post_json(&path, &registration(7)).await };
    let (a, b) = tokio::join!(send(), send());
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "exactly one is registered");
    let conflict = if a.status() == 409 { a } else { b };
    let p = expect_problem(conflict, 409, None).await;
    assert!(p["detail"].as_str().unwrap_or_default().contains("already registered"), "{p}");
    let mut conn = app.db.get().unwrap();
    let n: i64 =
        registrations::table.filter(registrations::event_id.eq(&event)).count().get_result(&mut *conn).unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let public = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(public["seats_left"], 9, "the refused request took no seat");
}

async fn registration_before_it_opens_is_refused_naming_the_time_and_accepted_after(app: TestApp) {
    let opens = (Utc::now() + Duration::days(2)).with_timezone(&Utc);
    let opens = roadshow::db::from_db_time(roadshow::db::to_db_time(opens));
    let event = app.draft_event(json!({"capacity": 10, "registration_opens_at": opens.to_rfc3339()})).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/publish"), &json!({})).await, 200).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let p = expect_problem(app.post_json(&path, &registration(1)).await, 409, None).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("registration opens at"), "{p}");
    let named = roadshow::time::utc_string(opens);
    assert!(detail.contains(&named), "{detail} should name {named}");
    // Once the time has come (moved into the past here), registration is open.
    {
        let mut conn = app.db.get().unwrap();
        let past = roadshow::db::to_db_time(Utc::now() - Duration::minutes(1));
        diesel::update(events::table.find(&event))
            .set(events::registration_opens_at.eq(Some(past)))
            .execute(&mut *conn)
            .unwrap();
    }
    let ok = expect_status(app.post_json(&path, &registration(1)).await, 201).await;
    assert_eq!(ok["status"], "confirmed");
}

async fn an_expired_staff_token_is_refused_with_401(app: TestApp) {
    let me = expect_status(app.admin_get("/api/v1/admin/me").await, 200).await;
    let user = me["id"].as_str().or_else(|| me["user"]["id"].as_str()).unwrap().to_string();
    let expires = (Utc::now() + Duration::days(1)).to_rfc3339();
    let made = app
        .admin_post(
            &format!("/api/v1/admin/users/{user}/tokens"),
            &json!({"label": "short-lived", "expires_at": expires}),
        )
        .await;
    let made = expect_status(made, 201).await;
    let token = made["token"].as_str().unwrap().to_string();
    let token_id = made["id"].as_str().unwrap().to_string();
    expect_status(app.request(Method::GET, "/api/v1/admin/me", Some(&token), None).await, 200).await;
    // Its time runs out (moved into the past here rather than waited for).
    {
        let mut conn = app.db.get().unwrap();
        let past = roadshow::db::to_db_time(Utc::now() - Duration::seconds(1));
        diesel::update(staff_tokens::table.find(&token_id))
            .set(staff_tokens::expires_at.eq(Some(past)))
            .execute(&mut *conn)
            .unwrap();
    }
    expect_problem(app.request(Method::GET, "/api/v1/admin/me", Some(&token), None).await, 401, None).await;
    // The admin's own token, which does not expire, still works.
    expect_status(app.admin_get("/api/v1/admin/me").await, 200).await;
}

both_backends!(
    staff_cancelling_an_event_emails_every_registrant_naming_it,
    a_promotion_email_names_the_event_and_links_to_the_seat,
    the_24_hour_reminder_names_the_event_and_links_to_the_registration,
    the_lost_link_email_lists_each_registration_with_a_working_link,
    the_same_idempotency_key_twice_at_once_makes_one_registration,
    the_same_attendee_twice_at_once_is_one_registration_and_one_conflict,
    registration_before_it_opens_is_refused_naming_the_time_and_accepted_after,
    an_expired_staff_token_is_refused_with_401
);

/// Runs the queued privacy and link requests now (the worker is off in tests).
async fn process_queued_requests(app: &TestApp) {
    let (db, ctx) = (app.db.clone(), roadshow::mail::MailContext::from_config(&app.config));
    tokio::task::spawn_blocking(move || roadshow::privacy::requests::process_all(&db, &ctx)).await.unwrap().unwrap();
}

/// The id of the registration emailed at `recipient` for an event.
fn registration_id_of(app: &TestApp, event: &str, recipient: &str) -> String {
    let mut conn = app.db.get().unwrap();
    registrations::table
        .filter(registrations::event_id.eq(event))
        .filter(registrations::attendee_email.eq(recipient))
        .select(registrations::id)
        .first(&mut *conn)
        .unwrap()
}
