//! Accommodation requests through real HTTP on both backends: with a registration and with an
//! expert booking, named validation errors that write nothing, the holder's own view and change,
//! who sees a request (JSON, CSV, the event's count) and who does not, the daily digest (once per
//! host organization and day, racing schedulers included), export and erasure, and no log line.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use reqwest::Method;
use roadshow::accommodations::digest;
use roadshow::auth::Actor;
use roadshow::db::schema::{accommodation_requests, outbox, registrations};
use roadshow::db::write_tx;
use roadshow::domain::Role;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{expect_problem, expect_status, serve_and_capture, TestApp};

const NOTE: &str = "ASL interpreter, please; I will sit near the front";

/// A host organization with an organizer, another organization with one, and a published
/// webinar hosted by the first.
struct World {
    host: String,
    host_token: String,
    other_token: String,
    event: String,
}

async fn world(app: &TestApp) -> World {
    let host = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let other = app.create_org("Dallas Chamber", "local_chamber", &["TX"]).await;
    let (_, host_token) = fixtures::staff(app, "organizer", Some(&host)).await;
    let (_, other_token) = fixtures::staff(app, "organizer", Some(&other)).await;
    let event = hosted_webinar(app, &[&host]).await;
    World { host, host_token, other_token, event }
}

async fn hosted_webinar(app: &TestApp, hosts: &[&str]) -> String {
    let id = app
        .draft_event(json!({"kind": "webinar", "capacity": 50, "state": "TX", "host_organization_ids": hosts}))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    id
}

fn body(n: usize, accommodation: Option<Value>) -> Value {
    let mut b = json!({
        "business": {"name": format!("Shop {n}"), "email": format!("owner{n}@shop{n}.example"), "state": "TX"},
        "attendee": {"name": format!("Attendee Number{n}"), "email": format!("person{n}@shop{n}.example")},
    });
    if let Some(a) = accommodation {
        b["accommodation"] = a;
    }
    b
}

fn asl() -> Value {
    json!({"categories": ["sign_language_interpreter", "other"], "note": NOTE})
}

/// Registers; returns (id, manage token).
async fn register(app: &TestApp, event: &str, n: usize, accommodation: Option<Value>) -> (String, String) {
    let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &body(n, accommodation)).await;
    let v = expect_status(r, 201).await;
    (v["id"].as_str().unwrap().to_string(), v["manage_token"].as_str().unwrap().to_string())
}

fn request_rows(app: &TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    accommodation_requests::table.count().get_result(&mut *conn).unwrap()
}

async fn registrants(app: &TestApp, token: &str, event: &str, csv: bool) -> reqwest::Response {
    let q = if csv { "?format=csv" } else { "" };
    app.request(Method::GET, &format!("/api/v1/admin/events/{event}/registrations{q}"), Some(token), None).await
}

/// Today (UTC) at `hour`, shifted by `days`.
fn at(days: i64, hour: u32) -> DateTime<Utc> {
    let d = (Utc::now() + Duration::days(days)).date_naive().and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap());
    DateTime::from_naive_utc_and_offset(d, Utc)
}

fn run_digest(app: &TestApp, now: DateTime<Utc>) -> usize {
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    digest::run(&app.db, &ctx, now).unwrap()
}

/// (recipient, subject, text) of every digest email, oldest first.
fn digests(app: &TestApp) -> Vec<(String, String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .filter(outbox::template.eq(digest::TEMPLATE))
        .order((outbox::created_at, outbox::id))
        .select((outbox::recipient, outbox::subject, outbox::body_text))
        .load(&mut *conn)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------

async fn a_registration_carries_a_request_its_holder_sees_changes_and_withdraws(app: TestApp) {
    let w = world(&app).await;
    let (id, token) = register(&app, &w.event, 1, Some(asl())).await;
    let path = format!("/api/v1/registrations/{id}");
    let v = expect_status(app.request(Method::GET, &path, Some(&token), None).await, 200).await;
    assert_eq!(v["accommodation"]["categories"], json!(["sign_language_interpreter", "other"]), "{v}");
    assert_eq!(v["accommodation"]["note"], NOTE);

    // A registration without one writes no row and shows `null`.
    let (plain, plain_token) = register(&app, &w.event, 2, None).await;
    assert_eq!(request_rows(&app), 1);
    let v = expect_status(
        app.request(Method::GET, &format!("/api/v1/registrations/{plain}"), Some(&plain_token), None).await,
        200,
    )
    .await;
    assert!(v["accommodation"].is_null(), "{v}");

    // The holder changes it (trimmed note), then withdraws it.
    let change = json!({"categories": ["live_captions"], "note": "  captions in Spanish  "});
    let r = app.request(Method::PUT, &format!("{path}/accommodation"), Some(&token), Some(&change)).await;
    let v = expect_status(r, 200).await;
    assert_eq!(v["categories"], json!(["live_captions"]));
    assert_eq!(v["note"], "captions in Spanish");
    let v = expect_status(app.request(Method::GET, &path, Some(&token), None).await, 200).await;
    assert_eq!(v["accommodation"]["categories"], json!(["live_captions"]));

    // Another registrant's token opens nothing of this one: not the view, not the change.
    let r = app.request(Method::PUT, &format!("{path}/accommodation"), Some(&plain_token), Some(&change)).await;
    expect_problem(r, 404, None).await;
    let r = app.request(Method::DELETE, &format!("{path}/accommodation"), Some(&plain_token), None).await;
    expect_problem(r, 404, None).await;
    let r = app.request(Method::PUT, &format!("{path}/accommodation"), None, Some(&change)).await;
    expect_problem(r, 401, None).await;
    assert_eq!(request_rows(&app), 1, "the stranger changed nothing");

    let r = app.request(Method::DELETE, &format!("{path}/accommodation"), Some(&token), None).await;
    assert_eq!(r.status(), 204);
    let v = expect_status(app.request(Method::GET, &path, Some(&token), None).await, 200).await;
    assert!(v["accommodation"].is_null(), "{v}");
    assert_eq!(request_rows(&app), 0);

    // Cancelled: it can no longer ask for one.
    expect_status(app.request(Method::DELETE, &path, Some(&token), None).await, 200).await;
    let r = app.request(Method::PUT, &format!("{path}/accommodation"), Some(&token), Some(&change)).await;
    expect_problem(r, 409, None).await;
}

async fn bad_requests_name_the_field_and_write_nothing(app: TestApp) {
    let w = world(&app).await;
    let path = format!("/api/v1/events/{}/registrations", w.event);
    let cases = [
        (json!({"categories": ["live_captions", "ramp"]}), "accommodation.categories[1]"),
        (json!({"categories": []}), "accommodation.categories"),
        (json!({"categories": ["other"]}), "accommodation.note"),
        (json!({"categories": ["another_language"], "note": "   "}), "accommodation.note"),
        (json!({"categories": ["wheelchair_access"], "note": "x".repeat(501)}), "accommodation.note"),
    ];
    for (a, field) in cases {
        let r = app.post_json(&path, &body(1, Some(a.clone()))).await;
        let p = expect_problem(r, 422, Some(field)).await;
        assert_eq!(p["errors"].as_array().unwrap().len(), 1, "{a}: {p}");
    }
    // With another bad field, both are named in one answer.
    let mut b = body(1, Some(json!({"categories": ["ramp"]})));
    b["attendee"]["email"] = json!("not an address");
    let p = expect_problem(app.post_json(&path, &b).await, 422, Some("accommodation.categories[0]")).await;
    assert!(p.to_string().contains("attendee.email"), "{p}");
    // An unknown field inside is named too.
    let r = app.post_json(&path, &body(1, Some(json!({"categories": ["other"], "note": "x", "name": "y"})))).await;
    expect_problem(r, 422, Some("accommodation.name")).await;
    // 500 characters is fine.
    register(&app, &w.event, 9, Some(json!({"categories": ["other"], "note": "y".repeat(500)}))).await;

    let mut conn = app.db.get().unwrap();
    let regs: i64 = registrations::table.count().get_result(&mut *conn).unwrap();
    drop(conn);
    assert_eq!((regs, request_rows(&app)), (1, 1), "no refused request wrote anything");

    // The holder's change is checked the same way (fields named from its own body).
    let (id, token) = register(&app, &w.event, 2, None).await;
    let r = app
        .request(
            Method::PUT,
            &format!("/api/v1/registrations/{id}/accommodation"),
            Some(&token),
            Some(&json!({"categories": ["ramp"]})),
        )
        .await;
    expect_problem(r, 422, Some("categories[0]")).await;
    assert_eq!(request_rows(&app), 1);
}

async fn only_the_hosts_and_admins_see_requests(app: TestApp) {
    let w = world(&app).await;
    let (id, token) = register(&app, &w.event, 1, Some(asl())).await;
    let (plain, _) = register(&app, &w.event, 2, None).await;
    let (cancelled, cancelled_token) =
        register(&app, &w.event, 3, Some(json!({"categories": ["wheelchair_access"]}))).await;
    expect_status(
        app.request(Method::DELETE, &format!("/api/v1/registrations/{cancelled}"), Some(&cancelled_token), None).await,
        200,
    )
    .await;

    for who in [&w.host_token, &app.admin_token] {
        let v = expect_status(registrants(&app, who, &w.event, false).await, 200).await;
        let items = v["items"].as_array().unwrap();
        let mine = items.iter().find(|i| i["id"] == id.as_str()).unwrap();
        assert_eq!(mine["accommodation"]["categories"], json!(["sign_language_interpreter", "other"]), "{v}");
        assert_eq!(mine["accommodation"]["note"], NOTE);
        let other = items.iter().find(|i| i["id"] == plain.as_str()).unwrap();
        assert!(other.get("accommodation").is_none(), "no request, no field: {other}");

        let r = registrants(&app, who, &w.event, true).await;
        assert_eq!(r.status(), 200);
        let csv = r.text().await.unwrap();
        let header = csv.lines().next().unwrap();
        assert!(header.ends_with(",accommodation_categories,accommodation_note"), "{header}");
        let line = csv.lines().find(|l| l.starts_with(&id)).unwrap();
        assert!(
            line.ends_with(",sign_language_interpreter other,\"ASL interpreter, please; I will sit near the front\""),
            "{line}"
        );

        // The count on the event: the cancelled registration's request is not counted.
        let e = expect_status(
            app.request(Method::GET, &format!("/api/v1/admin/events/{}", w.event), Some(who), None).await,
            200,
        )
        .await;
        assert_eq!(e["admin"]["accommodation_requests"], 1, "{e}");
    }

    // Each CSV download (it carries what people need) is in the audit trail, by whom.
    let audit = format!("/api/v1/admin/audit?object_type=event&object_id={}", w.event);
    let trail = expect_status(app.admin_get(&audit).await, 200).await;
    let exports: Vec<&Value> =
        trail["items"].as_array().unwrap().iter().filter(|i| i["action"] == "export_registrants").collect();
    assert_eq!(exports.len(), 2, "{trail}");

    // An organizer of another organization, an expert, the public, a registrant's manage token.
    expect_problem(registrants(&app, &w.other_token, &w.event, false).await, 404, None).await;
    expect_problem(registrants(&app, &w.other_token, &w.event, true).await, 404, None).await;
    let (_, expert) = fixtures::staff(&app, "expert", None).await;
    let r = registrants(&app, &expert, &w.event, true).await;
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    let r = app.get(&format!("/api/v1/admin/events/{}/registrations?format=csv", w.event)).await;
    expect_problem(r, 401, None).await;
    expect_problem(registrants(&app, &token, &w.event, true).await, 401, None).await;
    // The public event answer has no count.
    let public = expect_status(app.get(&format!("/api/v1/events/{}", w.event)).await, 200).await;
    assert!(!public.to_string().contains("accommodation"), "{public}");
    // Another registrant's token does not reach this registration.
    let r = app.request(Method::GET, &format!("/api/v1/registrations/{id}"), Some(&cancelled_token), None).await;
    expect_problem(r, 404, None).await;

    // The scope is in the query itself: asked directly, the reads give an outsider nothing.
    let mut conn = app.db.get().unwrap();
    let ids = vec![id.clone()];
    let outsider = Actor { user_id: "x".into(), role: Role::Organizer, organization_id: Some("no-such-org".into()) };
    let host = Actor { user_id: "y".into(), role: Role::Organizer, organization_id: Some(w.host.clone()) };
    let expert = Actor { user_id: "z".into(), role: Role::Expert, organization_id: None };
    let q = |c: &mut roadshow::db::DbConnection, a: &Actor| {
        roadshow::accommodations::queries::visible_for_registrations(c, a, &ids).unwrap().len()
    };
    assert_eq!((q(&mut conn, &host), q(&mut conn, &outsider), q(&mut conn, &expert)), (1, 0, 0));
    let counts = |c: &mut roadshow::db::DbConnection, a: &Actor| {
        roadshow::accommodations::queries::counts_for_events(c, a, std::slice::from_ref(&w.event)).unwrap().len()
    };
    assert_eq!((counts(&mut conn, &host), counts(&mut conn, &outsider)), (1, 0));
}

/// A published stop in Texas hosted by `host`, ten days ahead; an expert with a window there;
/// returns (event, expert token, a slot).
async fn stop_with_expert(app: &TestApp, host: &str) -> (String, String, String) {
    let start = {
        let d = (Utc::now() + Duration::days(10)).date_naive().and_hms_opt(15, 0, 0).unwrap();
        DateTime::<Utc>::from_naive_utc_and_offset(d, Utc)
    };
    let venue = app.create_venue("TX").await;
    let event = app
        .draft_event(json!({
            "kind": "roadshow_stop", "venue_id": venue, "join_url": null, "title": "Austin stop",
            "starts_at": start.to_rfc3339(), "ends_at": (start + Duration::hours(3)).to_rfc3339(),
            "host_organization_ids": [host],
        }))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/publish"), &json!({})).await, 200).await;
    let (_, expert) = fixtures::staff(app, "expert", None).await;
    let profile = json!({
        "display_name": "Ana", "bio": "Ana helps small shops.", "topics": ["advertising"], "languages": ["en"],
        "industries": [], "states": ["TX"], "online": true, "meeting_url": "https://meet.example.org/ana",
    });
    expect_status(app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&expert), Some(&profile)).await, 201).await;
    let window = json!({"event_id": event, "starts_at": start.to_rfc3339(),
                        "ends_at": (start + Duration::hours(1)).to_rfc3339(), "slot_minutes": 30});
    let w = expect_status(
        app.request(Method::POST, "/api/v1/admin/experts/me/windows", Some(&expert), Some(&window)).await,
        201,
    )
    .await;
    let slot = w["slots"][0]["id"].as_str().unwrap().to_string();
    (event, expert, slot)
}

async fn a_booking_carries_a_request_for_its_holder_its_expert_and_the_hosts(app: TestApp) {
    let w = world(&app).await;
    let (event, expert, slot) = stop_with_expert(&app, &w.host).await;
    let mut b = body(1, Some(json!({"categories": ["wheelchair_access"], "note": "step-free entrance"})));
    b["question"] = json!("How do I advertise?");
    // Bad input first: named, nothing booked.
    let mut bad = b.clone();
    bad["accommodation"] = json!({"categories": ["wheelchair_access", "stairs"]});
    expect_problem(
        app.post_json(&format!("/api/v1/expert-slots/{slot}/booking"), &bad).await,
        422,
        Some("accommodation.categories[1]"),
    )
    .await;
    assert_eq!(request_rows(&app), 0);
    let booked = expect_status(app.post_json(&format!("/api/v1/expert-slots/{slot}/booking"), &b).await, 201).await;
    let (id, token) = (booked["id"].as_str().unwrap(), booked["manage_token"].as_str().unwrap());
    let path = format!("/api/v1/expert-bookings/{id}");
    let v = expect_status(app.request(Method::GET, &path, Some(token), None).await, 200).await;
    assert_eq!(v["accommodation"]["categories"], json!(["wheelchair_access"]), "{v}");

    // The holder changes it.
    let change = json!({"categories": ["wheelchair_access", "live_captions"], "note": "step-free entrance"});
    let v = expect_status(
        app.request(Method::PUT, &format!("{path}/accommodation"), Some(token), Some(&change)).await,
        200,
    )
    .await;
    assert_eq!(v["categories"], json!(["wheelchair_access", "live_captions"]));

    // The hosts, admins and the booking's expert see it; the other organization's organizer and
    // another expert do not reach the booking at all.
    let list = format!("/api/v1/admin/events/{event}/expert-bookings");
    for who in [&w.host_token, &app.admin_token] {
        let v = expect_status(app.request(Method::GET, &list, Some(who), None).await, 200).await;
        assert_eq!(v["items"][0]["accommodation"]["categories"], json!(["wheelchair_access", "live_captions"]), "{v}");
        let e = expect_status(
            app.request(Method::GET, &format!("/api/v1/admin/events/{event}"), Some(who), None).await,
            200,
        )
        .await;
        assert_eq!(e["admin"]["accommodation_requests"], 1, "{e}");
    }
    let mine =
        expect_status(app.request(Method::GET, "/api/v1/admin/experts/me/bookings", Some(&expert), None).await, 200)
            .await;
    assert_eq!(mine["items"][0]["accommodation"]["note"], "step-free entrance", "{mine}");
    let r = app.request(Method::GET, &list, Some(&w.other_token), None).await;
    expect_problem(r, 404, None).await;
    let (_, stranger) = fixtures::staff(&app, "expert", None).await;
    let profile = json!({"display_name": "Bo", "bio": "Bo.", "topics": ["advertising"], "languages": ["en"],
                         "industries": [], "states": ["TX"], "online": true,
                         "meeting_url": "https://meet.example.org/bo"});
    expect_status(app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&stranger), Some(&profile)).await, 201)
        .await;
    let theirs =
        expect_status(app.request(Method::GET, "/api/v1/admin/experts/me/bookings", Some(&stranger), None).await, 200)
            .await;
    assert!(!theirs.to_string().contains("accommodation"), "{theirs}");
    let mut conn = app.db.get().unwrap();
    let other_expert = Actor { user_id: "someone-else".into(), role: Role::Expert, organization_id: None };
    let seen =
        roadshow::accommodations::queries::visible_for_bookings(&mut conn, &other_expert, &[id.to_string()]).unwrap();
    assert!(seen.is_empty());
    drop(conn);

    // The digest names the expert session, not the person.
    assert_eq!(run_digest(&app, at(1, 14)), 1);
    let d = digests(&app);
    assert!(d[0].2.contains("Expert session: Wheelchair access, Live captions"), "{}", d[0].2);
    assert!(!d[0].2.contains("Attendee Number1") && !d[0].2.contains("shop1.example"), "{}", d[0].2);

    // Export and erasure of the address cover it.
    let mut conn = app.db.get().unwrap();
    let data = write_tx(&mut conn, |c| roadshow::privacy::queries::export_address(c, "person1@shop1.example")).unwrap();
    let v = serde_json::to_value(&data).unwrap();
    assert_eq!(v["expert_bookings"][0]["accommodation"]["note"], "step-free entrance", "{v}");
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    write_tx(&mut conn, |c| {
        roadshow::privacy::queries::erase_address(c, &ctx, "person1@shop1.example", &roadshow::db::new_id())
    })
    .unwrap();
    drop(conn);
    assert_eq!(request_rows(&app), 0);
}

async fn the_digest_goes_once_a_day_to_each_host_and_carries_only_what_is_new(app: TestApp) {
    let a = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let b = app.create_org("Texas Federation", "federation", &[]).await;
    let c = app.create_org("Houston Chamber", "local_chamber", &["TX"]).await;
    let (_, _) = fixtures::staff(&app, "organizer", Some(&a)).await;
    let (_, _) = fixtures::staff(&app, "organizer", Some(&a)).await;
    let (_, _) = fixtures::staff(&app, "organizer", Some(&b)).await;
    let (_, _) = fixtures::staff(&app, "organizer", Some(&c)).await;
    let cohosted = hosted_webinar(&app, &[&a, &b]).await;
    let past = hosted_webinar(&app, &[&c]).await;
    register(&app, &cohosted, 1, Some(asl())).await;
    let (gone, gone_token) =
        register(&app, &cohosted, 2, Some(json!({"categories": ["other"], "note": "WITHDRAWN-NOTE"}))).await;
    expect_status(
        app.request(Method::DELETE, &format!("/api/v1/registrations/{gone}"), Some(&gone_token), None).await,
        200,
    )
    .await;
    register(&app, &past, 3, Some(json!({"categories": ["other"], "note": "PAST-EVENT-NOTE"}))).await;
    fixtures::move_event(
        &app,
        &past,
        (Utc::now() - Duration::days(2)).naive_utc(),
        (Utc::now() - Duration::days(2) + Duration::hours(1)).naive_utc(),
    );

    // Not before the hour.
    assert_eq!(run_digest(&app, at(1, digest::HOUR_UTC - 1)), 0);
    // One email per organizer of each host: two for A, one for B, none for C (its event is over).
    assert_eq!(run_digest(&app, at(1, 14)), 3);
    let d = digests(&app);
    assert_eq!(d.len(), 3, "{d:?}");
    for (_, subject, text) in &d {
        assert_eq!(subject, "1 new accommodation request for your Roadshow events");
        assert!(text.contains("Sign-language interpreter, Other") && text.contains(NOTE), "{text}");
        assert!(text.contains("Grow with social media"), "{text}");
        assert!(!text.contains("WITHDRAWN-NOTE") && !text.contains("PAST-EVENT-NOTE"), "{text}");
        assert!(!text.contains("Attendee Number1") && !text.contains("shop1.example"), "no name or address: {text}");
    }
    // Not twice: the same day again, or later that day with a new request.
    assert_eq!(run_digest(&app, at(1, 15)), 0);
    let (later, later_token) = register(&app, &cohosted, 4, Some(json!({"categories": ["live_captions"]}))).await;
    assert_eq!(run_digest(&app, at(1, 23)), 0);
    // The next day: only the new one.
    assert_eq!(run_digest(&app, at(2, 14)), 3);
    let d = digests(&app);
    for (_, _, text) in &d[3..] {
        assert!(text.contains("Live captions") && !text.contains(NOTE), "{text}");
    }
    // A change comes again, marked; nothing new, nothing sent.
    let r = app
        .request(
            Method::PUT,
            &format!("/api/v1/registrations/{later}/accommodation"),
            Some(&later_token),
            Some(&json!({"categories": ["live_captions", "wheelchair_access"]})),
        )
        .await;
    expect_status(r, 200).await;
    assert_eq!(run_digest(&app, at(3, 14)), 3);
    assert!(digests(&app)[6].2.contains("(changed since an earlier digest): Wheelchair access, Live captions"));
    assert_eq!(run_digest(&app, at(4, 14)), 0);
}

async fn racing_schedulers_send_one_digest(app: TestApp) {
    let host = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let (_, _) = fixtures::staff(&app, "organizer", Some(&host)).await;
    let event = hosted_webinar(&app, &[&host]).await;
    for day in 1..=6 {
        register(&app, &event, day as usize, Some(json!({"categories": ["live_captions"]}))).await;
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (db, barrier) = (app.db.clone(), barrier.clone());
                let ctx = roadshow::mail::MailContext::from_config(&app.config);
                std::thread::spawn(move || {
                    barrier.wait();
                    digest::run(&db, &ctx, at(day, 14)).unwrap()
                })
            })
            .collect();
        let sent: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sent, 1, "day {day}: one digest whoever runs");
        assert_eq!(digests(&app).len(), day as usize);
    }
    app.assert_no_retries();
}

async fn export_and_erasure_of_a_registration_cover_its_request(app: TestApp) {
    let w = world(&app).await;
    let (id, token) = register(&app, &w.event, 1, Some(asl())).await;
    let data = expect_status(
        app.request(Method::GET, &format!("/api/v1/registrations/{id}/data"), Some(&token), None).await,
        200,
    )
    .await;
    assert!(data.to_string().contains(NOTE), "{data}");
    let r = app.request(Method::POST, &format!("/api/v1/registrations/{id}/data/erase"), Some(&token), None).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(request_rows(&app), 0);
    let v = expect_status(registrants(&app, &w.host_token, &w.event, false).await, 200).await;
    assert!(!v.to_string().contains("accommodation"), "{v}");
    let csv = registrants(&app, &app.admin_token, &w.event, true).await.text().await.unwrap();
    assert!(!csv.contains("ASL"), "{csv}");
    // Erased before the digest: nothing to send.
    assert_eq!(run_digest(&app, at(1, 14)), 0);
}

async fn a_request_is_never_logged(app: TestApp) {
    let event = app.published_webinar(10).await;
    let secret = "LOGPROBE-captions-for-my-hearing";
    let (text, _) = serve_and_capture(&app, &[], |base, admin| async move {
        let client = reqwest::Client::new();
        let mut b = body(1, Some(json!({"categories": ["live_captions", "other"], "note": secret})));
        b["attendee"]["name"] = json!("Probe Person");
        let r = client.post(format!("{base}/api/v1/events/{event}/registrations")).json(&b).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let reg: Value = r.json().await.unwrap();
        let (id, token) = (reg["id"].as_str().unwrap(), reg["manage_token"].as_str().unwrap());
        let change = json!({"categories": ["other"], "note": secret});
        let r = client
            .put(format!("{base}/api/v1/registrations/{id}/accommodation"))
            .bearer_auth(token)
            .json(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let bad = json!({"categories": ["other", secret]});
        let r = client
            .put(format!("{base}/api/v1/registrations/{id}/accommodation"))
            .bearer_auth(token)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let r = client
            .get(format!("{base}/api/v1/admin/events/{event}/registrations?format=csv"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert!(r.text().await.unwrap().contains(secret));
        Vec::new()
    })
    .await;
    assert!(text.contains("/accommodation"), "the requests were logged, by route: {text}");
    assert!(!text.contains("LOGPROBE") && !text.contains("live_captions"), "{text}");
}

both_backends!(
    a_registration_carries_a_request_its_holder_sees_changes_and_withdraws,
    bad_requests_name_the_field_and_write_nothing,
    only_the_hosts_and_admins_see_requests,
    a_booking_carries_a_request_for_its_holder_its_expert_and_the_hosts,
    the_digest_goes_once_a_day_to_each_host_and_carries_only_what_is_new,
    racing_schedulers_send_one_digest,
    export_and_erasure_of_a_registration_cover_its_request,
    a_request_is_never_logged,
);
