use std::collections::HashSet;

use crate::helpers::{expect_problem, expect_status, TestApp};
use diesel::prelude::*;
use reqwest::Method;
use roadshow::db::schema::outbox;
use serde_json::{json, Value};

pub fn registration(n: usize) -> Value {
    json!({
        "business": {"name": format!("Shop {n}"), "email": format!("owner{n}@shop{n}.example"), "state": "TX",
                     "industry": "retail", "employees": "2-9", "website": "https://shop.example"},
        "attendee": {"name": format!("Attendee {n}"), "email": format!("attendee{n}@shop{n}.example")},
        "marketing_consent": true
    })
}

pub async fn register(app: &TestApp, event: &str, n: usize) -> Value {
    expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(n)).await, 201).await
}

fn outbox_templates(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table.order(outbox::created_at).select((outbox::template, outbox::recipient)).load(&mut *conn).unwrap()
}

/// Checks the seat and waitlist invariants of an event straight in the database.
pub fn assert_invariants(app: &TestApp, event: &str) {
    use roadshow::db::schema::{event_seat_shards, events, registrations};
    let mut conn = app.db.get().unwrap();
    let capacity: i32 = events::table.find(event).select(events::capacity).first(&mut *conn).unwrap();
    let seated: i64 = registrations::table
        .filter(registrations::event_id.eq(event))
        .filter(registrations::status.eq_any(["confirmed", "attended"]))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let shards: Vec<(i32, i32)> = event_seat_shards::table
        .filter(event_seat_shards::event_id.eq(event))
        .select((event_seat_shards::capacity, event_seat_shards::taken))
        .load(&mut *conn)
        .unwrap();
    let taken: i64 = shards.iter().map(|s| i64::from(s.1)).sum();
    let shard_capacity: i32 = shards.iter().map(|s| s.0).sum();
    assert_eq!(shard_capacity, capacity, "shards add up to the capacity");
    assert_eq!(taken, seated, "every seated registration holds exactly one seat");
    assert!(seated <= i64::from(capacity), "overbooked: {seated} > {capacity}");
    let waiting: i64 = registrations::table
        .filter(registrations::event_id.eq(event))
        .filter(registrations::status.eq("waitlisted"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert!(
        waiting == 0 || seated == i64::from(capacity),
        "{waiting} wait while {} seats are free",
        i64::from(capacity) - seated
    );
}

async fn a_registration_racing_a_reschedule_learns_the_new_time(app: TestApp) {
    // Each registrant either registered before the change (and gets a change notice) or after
    // it (and its confirmation already shows the new time): nobody is left with the old time.
    let event = app.published_webinar(100).await;
    let start = chrono::Utc::now() + chrono::Duration::days(40);
    let new_start = start.with_timezone(&chrono_tz::America::Chicago);
    let patch = json!({"starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339()});
    let registrations = (0..30).map(|n| register(&app, &event, n));
    let path = format!("/api/v1/admin/events/{event}");
    let change = async {
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        expect_status(app.admin_patch(&path, &patch).await, 200).await
    };
    let (regs, _) = tokio::join!(futures_util::future::join_all(registrations), change);
    let new_time = new_start.format("%B %-d, %Y at %-I:%M %p").to_string();
    let mut conn = app.db.get().unwrap();
    for r in regs {
        let id = r["id"].as_str().unwrap();
        let mails: Vec<(String, String)> = outbox::table
            .filter(outbox::registration_id.eq(id))
            .select((outbox::template, outbox::body_text))
            .load(&mut *conn)
            .unwrap();
        let told = mails.iter().any(|(t, _)| t == "event_changed");
        let confirmed_new = mails.iter().any(|(t, body)| t == "registration_confirmed" && body.contains(&new_time));
        assert!(told || confirmed_new, "registration {id} never learned the new time {new_time}: {mails:?}");
    }
    app.assert_no_retries();
}

async fn cancellations_racing_registrations_all_succeed(app: TestApp) {
    // Seats free up with nobody waiting while others take seats: on PostgreSQL the two paths
    // lock the event row and a seat shard, and must never deadlock.
    let event = app.published_webinar(100).await;
    let first: Vec<Value> = futures_util::future::join_all((0..40).map(|n| register(&app, &event, n))).await;
    let cancels = first.iter().take(30).map(|r| {
        let (id, token) = (r["id"].as_str().unwrap().to_string(), r["manage_token"].as_str().unwrap().to_string());
        let app = &app;
        async move {
            let r =
                app.request(reqwest::Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(&token), None).await;
            expect_status(r, 200).await;
        }
    });
    let more = (40..80).map(|n| {
        let app = &app;
        let event = event.clone();
        async move {
            assert_eq!(register(app, &event, n).await["status"], "confirmed");
        }
    });
    tokio::join!(futures_util::future::join_all(cancels), futures_util::future::join_all(more));
    assert_invariants(&app, &event);
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    assert_eq!(admin["admin"]["registrations"]["confirmed"], 50);
    assert_eq!(admin["seats_left"], 50);
    app.assert_no_retries();
}

async fn mixed_registrations_and_cancellations_keep_the_invariants(app: TestApp) {
    let event = app.published_webinar(10).await;
    let first: Vec<Value> = futures_util::future::join_all((0..20).map(|n| register(&app, &event, n))).await;
    assert_invariants(&app, &event);
    // Cancel half of everyone (seated and waiting) while 20 more register.
    let cancels = first.iter().step_by(2).map(|r| {
        let (id, token) = (r["id"].as_str().unwrap().to_string(), r["manage_token"].as_str().unwrap().to_string());
        let app = &app;
        async move {
            let r =
                app.request(reqwest::Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(&token), None).await;
            expect_status(r, 200).await;
        }
    });
    let more = (20..40).map(|n| {
        let app = &app;
        let event = event.clone();
        async move {
            register(app, &event, n).await;
        }
    });
    let cancels = futures_util::future::join_all(cancels);
    let more = futures_util::future::join_all(more);
    tokio::join!(cancels, more);
    assert_invariants(&app, &event);
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    assert_eq!(admin["admin"]["registrations"]["confirmed"], 10);
    assert_eq!(admin["admin"]["registrations"]["cancelled"], 10);
    assert_eq!(admin["admin"]["registrations"]["waitlisted"], 20);
    // Waitlist positions are 1..n with no gaps.
    let list = expect_status(
        app.admin_get(&format!("/api/v1/admin/events/{event}/registrations?status=waitlisted&limit=200")).await,
        200,
    )
    .await;
    let mut positions: Vec<i64> =
        list["items"].as_array().unwrap().iter().map(|r| r["waitlist_position"].as_i64().unwrap()).collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=20).collect::<Vec<i64>>());
    app.assert_no_retries();
}

async fn registering_confirms_then_waitlists_and_writes_the_emails(app: TestApp) {
    let event = app.published_webinar(1).await;
    let first = register(&app, &event, 1).await;
    assert_eq!(first["status"], "confirmed");
    assert!(first["manage_token"].as_str().unwrap().starts_with("rsm_"));
    assert!(first.get("waitlist_position").is_none());
    let second = register(&app, &event, 2).await;
    assert_eq!(second["status"], "waitlisted");
    assert_eq!(second["waitlist_position"], 1);
    let mails = outbox_templates(&app);
    assert_eq!(
        mails,
        vec![
            ("registration_confirmed".to_string(), "attendee1@shop1.example".to_string()),
            ("registration_waitlisted".to_string(), "attendee2@shop2.example".to_string()),
        ]
    );
    let public = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(public["seats_left"], 0);
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    assert_eq!(admin["admin"]["registrations"]["confirmed"], 1);
    assert_eq!(admin["admin"]["registrations"]["waitlisted"], 1);
}

async fn the_same_attendee_again_is_a_conflict_that_names_nothing(app: TestApp) {
    let event = app.published_webinar(10).await;
    let first = register(&app, &event, 1).await;
    let mut again = registration(1);
    again["attendee"]["email"] = json!("  ATTENDEE1@shop1.example ");
    let p =
        expect_problem(app.post_json(&format!("/api/v1/events/{event}/registrations"), &again).await, 409, None).await;
    assert!(p.get("existing_id").is_none(), "{p}");
    assert!(!p.to_string().contains(first["id"].as_str().unwrap()), "{p}");
    assert!(p["detail"].as_str().unwrap_or_default().contains("already registered"), "{p}");
    // The refused request took no seat; its only email is the attendee's own links.
    let public = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(public["seats_left"], 9);
    assert_eq!(
        outbox_templates(&app),
        vec![
            ("registration_confirmed".to_string(), "attendee1@shop1.example".to_string()),
            ("links_list".to_string(), "attendee1@shop1.example".to_string()),
        ]
    );
}

async fn idempotent_retries_return_the_first_answer(app: TestApp) {
    let event = app.published_webinar(10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let send = |body: Value| app.client.post(app.url(&path)).header("Idempotency-Key", "retry-123").json(&body).send();
    let first = expect_status(send(registration(1)).await.unwrap(), 201).await;
    let retry = expect_status(send(registration(1)).await.unwrap(), 201).await;
    assert_eq!(first["id"], retry["id"]);
    assert_eq!(first["status"], retry["status"]);
    // The retry carries a working token too (the first is stored only as a hash).
    let token = retry["manage_token"].as_str().unwrap();
    let id = retry["id"].as_str().unwrap();
    let r = app.request(reqwest::Method::GET, &format!("/api/v1/registrations/{id}"), Some(token), None).await;
    expect_status(r, 200).await;
    expect_problem(send(registration(2)).await.unwrap(), 422, Some("Idempotency-Key")).await;
    assert_eq!(outbox_templates(&app).len(), 1, "a retry sends no second email");
}

async fn bad_registration_input_is_a_4xx_naming_the_field(app: TestApp) {
    let event = app.published_webinar(10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let mut body = registration(1);
    body["business"]["email"] = json!("not-an-email");
    expect_problem(app.post_json(&path, &body).await, 422, Some("business.email")).await;
    let mut body = registration(1);
    body["business"]["state"] = json!("ZZ");
    expect_problem(app.post_json(&path, &body).await, 422, Some("business.state")).await;
    let mut body = registration(1);
    body["attendee"]["nickname"] = json!("x");
    expect_problem(app.post_json(&path, &body).await, 422, Some("attendee.nickname")).await;
    let mut body = registration(1);
    body["business"]["employees"] = json!("lots");
    expect_problem(app.post_json(&path, &body).await, 422, Some("business.employees")).await;
    let mut body = registration(1);
    body["attendee"].as_object_mut().unwrap().remove("email");
    expect_problem(app.post_json(&path, &body).await, 422, Some("attendee.email")).await;
    expect_problem(
        app.post_json(&format!("/api/v1/events/{}/registrations", uuid::Uuid::new_v4()), &registration(1)).await,
        404,
        None,
    )
    .await;
    // Drafts are not open; cancelled and started events are refused.
    let draft = app.draft_event(json!({})).await;
    expect_problem(app.post_json(&format!("/api/v1/events/{draft}/registrations"), &registration(1)).await, 404, None)
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/cancel"), &json!({})).await, 200).await;
    expect_problem(app.post_json(&path, &registration(1)).await, 409, None).await;
    let start = chrono::Utc::now() - chrono::Duration::minutes(30);
    let running = app
        .draft_event(
            json!({"starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::hours(2)).to_rfc3339()}),
        )
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{running}/publish"), &json!({})).await, 200).await;
    expect_problem(
        app.post_json(&format!("/api/v1/events/{running}/registrations"), &registration(1)).await,
        409,
        None,
    )
    .await;
    let closed = app
        .draft_event(json!({"registration_closes_at": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()}))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{closed}/publish"), &json!({})).await, 200).await;
    let p = expect_problem(
        app.post_json(&format!("/api/v1/events/{closed}/registrations"), &registration(1)).await,
        409,
        None,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("closed"), "{p}");
    assert!(outbox_templates(&app).is_empty(), "no partial writes");
}

async fn two_hundred_racing_requests_fill_25_seats_and_a_fair_waitlist(app: TestApp) {
    let event = app.published_webinar(25).await;
    // On PostgreSQL, two server processes share the database and the requests alternate.
    let (sibling, sibling_db) = if app.backend == crate::helpers::Backend::Postgres {
        let (address, db) = app.spawn_sibling_with_db().await;
        (address, Some(db))
    } else {
        (app.address.clone(), None)
    };
    let futures = (0..200).map(|n| {
        let base = if n % 2 == 0 { app.address.clone() } else { sibling.clone() };
        let url = format!("{base}/api/v1/events/{event}/registrations");
        let app = &app;
        async move { expect_status(app.client.post(url).json(&registration(n)).send().await.unwrap(), 201).await }
    });
    let results: Vec<Value> = futures_util::future::join_all(futures).await;
    let confirmed: Vec<&Value> = results.iter().filter(|r| r["status"] == "confirmed").collect();
    let waitlisted: Vec<&Value> = results.iter().filter(|r| r["status"] == "waitlisted").collect();
    assert_eq!(confirmed.len(), 25);
    assert_eq!(waitlisted.len(), 175);
    let positions: HashSet<i64> = waitlisted.iter().map(|r| r["waitlist_position"].as_i64().unwrap()).collect();
    assert_eq!(positions, (1..=175).collect::<HashSet<i64>>());

    // Cancel 5 confirmed, concurrently: exactly the first 5 of the waitlist move up.
    let cancels = confirmed.iter().take(5).map(|r| {
        let (id, token) = (r["id"].as_str().unwrap().to_string(), r["manage_token"].as_str().unwrap().to_string());
        let app = &app;
        async move {
            let r =
                app.request(reqwest::Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(&token), None).await;
            expect_status(r, 200).await
        }
    });
    futures_util::future::join_all(cancels).await;
    for w in &waitlisted {
        let (id, token) = (w["id"].as_str().unwrap(), w["manage_token"].as_str().unwrap());
        let r = app.request(reqwest::Method::GET, &format!("/api/v1/registrations/{id}"), Some(token), None).await;
        let now = expect_status(r, 200).await;
        let before = w["waitlist_position"].as_i64().unwrap();
        if before <= 5 {
            assert_eq!(now["status"], "confirmed", "position {before} should be promoted");
        } else {
            assert_eq!(now["status"], "waitlisted");
            assert_eq!(now["waitlist_position"].as_i64().unwrap(), before - 5);
        }
    }
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    assert_eq!(admin["admin"]["registrations"]["confirmed"], 25);
    assert_eq!(admin["admin"]["registrations"]["cancelled"], 5);
    assert_eq!(admin["seats_left"], 0);
    let promoted = outbox_templates(&app).iter().filter(|(t, _)| t == "registration_promoted").count();
    assert_eq!(promoted, 5);
    assert_invariants(&app, &event);
    app.assert_no_retries();
    if let Some(db) = &sibling_db {
        crate::helpers::assert_no_retries(db);
    }
}

async fn manage_token_is_the_only_key_and_cancel_promotes(app: TestApp) {
    let event = app.published_webinar(1).await;
    let first = register(&app, &event, 1).await;
    let second = register(&app, &event, 2).await;
    let (id, token) = (first["id"].as_str().unwrap(), first["manage_token"].as_str().unwrap());
    let path = format!("/api/v1/registrations/{id}");
    // No credential is a 401, the same for every id; a wrong one is the 404 of an unknown id.
    expect_problem(app.get(&path).await, 401, None).await;
    let unknown = format!("/api/v1/registrations/{}", uuid::Uuid::new_v4());
    expect_problem(app.get(&unknown).await, 401, None).await;
    expect_problem(app.request(reqwest::Method::GET, &path, Some("rsm_wrong"), None).await, 404, None).await;
    let other = second["manage_token"].as_str().unwrap();
    expect_problem(app.request(reqwest::Method::GET, &path, Some(other), None).await, 404, None).await;
    let mine = expect_status(app.request(reqwest::Method::GET, &path, Some(token), None).await, 200).await;
    assert_eq!(mine["event"]["join_url"], "https://meet.example.org/grow");
    let theirs = expect_status(
        app.request(
            reqwest::Method::GET,
            &format!("/api/v1/registrations/{}", second["id"].as_str().unwrap()),
            Some(other),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(theirs["event"].get("join_url").is_none(), "waitlisted see no join URL: {theirs}");

    let ics = app.request(reqwest::Method::GET, &format!("{path}/calendar.ics"), Some(token), None).await;
    assert_eq!(ics.status(), 200);
    let text = ics.text().await.unwrap();
    assert!(text.contains("BEGIN:VEVENT") && text.contains(&format!("UID:registration-{id}@roadshow")), "{text}");

    let cancelled = expect_status(app.request(reqwest::Method::DELETE, &path, Some(token), None).await, 200).await;
    assert_eq!(cancelled["status"], "cancelled");
    let again = expect_status(app.request(reqwest::Method::DELETE, &path, Some(token), None).await, 200).await;
    assert_eq!(again["status"], "cancelled");
    let promoted = expect_status(
        app.request(
            reqwest::Method::GET,
            &format!("/api/v1/registrations/{}", second["id"].as_str().unwrap()),
            Some(other),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(promoted["status"], "confirmed");
    let templates: Vec<String> = outbox_templates(&app).into_iter().map(|(t, _)| t).collect();
    assert!(
        templates.contains(&"registration_cancelled".to_string())
            && templates.contains(&"registration_promoted".to_string()),
        "{templates:?}"
    );
}

async fn manage_page_shows_and_cancels_without_javascript(app: TestApp) {
    let event = app.published_webinar(5).await;
    let reg = register(&app, &event, 1).await;
    let (id, token) = (reg["id"].as_str().unwrap(), reg["manage_token"].as_str().unwrap());
    let page = app.get(&format!("/manage/{id}?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Confirmed") && html.contains("Cancel my registration"),
        "{html}"
    );
    let bad = app.get(&format!("/manage/{id}?token=rsm_nope")).await;
    assert_eq!(bad.status(), 404);
    let r = app.client.post(app.url(&format!("/manage/{id}/cancel"))).form(&[("token", token)]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Cancelled"));
}

async fn capacity_changes_promote_or_are_refused(app: TestApp) {
    let event = app.published_webinar(2).await;
    let regs: Vec<Value> = futures_util::future::join_all((0..5).map(|n| register(&app, &event, n))).await;
    assert_eq!(regs.iter().filter(|r| r["status"] == "waitlisted").count(), 3);
    let r = app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"capacity": 1})).await;
    expect_problem(r, 409, None).await;
    let r = app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"capacity": 4})).await;
    let body = expect_status(r, 200).await;
    assert_eq!(body["admin"]["registrations"]["confirmed"], 4);
    assert_eq!(body["admin"]["registrations"]["waitlisted"], 1);
    assert_eq!(body["seats_left"], 0);
}

async fn staff_export_registrants_and_check_in(app: TestApp) {
    let event = app.published_webinar(5).await;
    let mut body = registration(1);
    body["business"]["name"] = json!("=cmd, \"Quoted\" & Co");
    let reg = expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &body).await, 201).await;
    register(&app, &event, 2).await;
    let list =
        expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}/registrations?limit=1")).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_string());
    let csv = app.admin_get(&format!("/api/v1/admin/events/{event}/registrations?format=csv")).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("registration_id,status,"));
    assert!(lines[1].contains("\"'=cmd, \"\"Quoted\"\" & Co\""), "{}", lines[1]);
    let id = reg["id"].as_str().unwrap();
    crate::fixtures::doors_open(&app, id);
    let r = expect_status(app.admin_post(&format!("/api/v1/admin/registrations/{id}/check-in"), &json!({})).await, 200)
        .await;
    assert_eq!(r["status"], "attended");
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    assert_eq!(admin["admin"]["registrations"]["attended"], 1);
}

async fn recovering_links_always_answers_202(app: TestApp) {
    let event = app.published_webinar(5).await;
    register(&app, &event, 1).await;
    let r = app.post_json("/api/v1/registrations/recover", &json!({"email": "attendee1@shop1.example"})).await;
    let known = expect_status(r, 202).await;
    let r = app.post_json("/api/v1/registrations/recover", &json!({"email": "nobody@nowhere.example"})).await;
    let unknown = expect_status(r, 202).await;
    assert_eq!(known, unknown);
    // Queued: the worker sends the links, only to an address with registrations.
    let db = app.db.clone();
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let processed = tokio::task::spawn_blocking(move || roadshow::privacy::requests::process_all(&db, &ctx))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(processed, 2);
    let links = outbox_templates(&app);
    let links: Vec<_> = links.iter().filter(|(t, _)| t == "links_list").collect();
    assert_eq!(links, vec![&("links_list".to_string(), "attendee1@shop1.example".to_string())]);
    expect_problem(app.post_json("/api/v1/registrations/recover", &json!({"email": "nope"})).await, 422, Some("email"))
        .await;
}

/// The answers are the wire types the OpenAPI document is generated from.
async fn answers_are_the_documented_wire_types(app: TestApp) {
    use roadshow::domain::{EventKind, RegistrationStatus};
    use roadshow::http::Page;
    use roadshow::privacy::wire::{ErasureOut, RegistrationDataOut};
    use roadshow::registrations::wire::{CheckInOut, RegistrantOut, RegistrationCreatedOut, RegistrationOut};

    let event = app.published_webinar(1).await;
    let first: RegistrationCreatedOut = serde_json::from_value(register(&app, &event, 1).await).unwrap();
    let second: RegistrationCreatedOut = serde_json::from_value(register(&app, &event, 2).await).unwrap();
    assert_eq!((first.status, first.waitlist_position), (RegistrationStatus::Confirmed, None));
    assert_eq!((second.status, second.waitlist_position), (RegistrationStatus::Waitlisted, Some(1)));
    let (token, links) = (first.manage_token.unwrap(), first.links.unwrap());
    assert!(links.manage_page.ends_with(&format!("/manage/{}?token={token}", first.id)), "{}", links.manage_page);

    let path = format!("/api/v1/registrations/{}", first.id);
    let held: RegistrationOut =
        serde_json::from_value(expect_status(app.request(Method::GET, &path, Some(&token), None).await, 200).await)
            .unwrap();
    assert_eq!((held.status, held.event.kind), (RegistrationStatus::Confirmed, EventKind::Webinar));
    assert_eq!(held.event.join_url.as_deref(), Some("https://meet.example.org/grow"), "a seated webinar attendee");
    expect_problem(app.request(Method::GET, &path, None, None).await, 401, None).await;

    let list = app.admin_get(&format!("/api/v1/admin/events/{event}/registrations")).await;
    let list: Page<RegistrantOut> = serde_json::from_value(expect_status(list, 200).await).unwrap();
    let positions: Vec<_> = list.items.iter().map(|r| (r.status, r.waitlist_position)).collect();
    assert_eq!(positions, [(RegistrationStatus::Confirmed, None), (RegistrationStatus::Waitlisted, Some(1))]);
    let r = app.admin_get(&format!("/api/v1/admin/events/{event}/registrations?status=gone")).await;
    expect_problem(r, 400, Some("status")).await;

    crate::fixtures::doors_open(&app, &first.id.to_string());
    let check_in = format!("/api/v1/admin/registrations/{}/check-in", first.id);
    let r = app.request(Method::POST, &check_in, Some(&app.admin_token), None).await;
    let checked: CheckInOut = serde_json::from_value(expect_status(r, 200).await).unwrap();
    assert_eq!(checked.status, RegistrationStatus::Attended);
    assert!(checked.checked_in_at.is_some());

    let (id, token) = (second.id, second.manage_token.unwrap());
    let data = app.request(Method::GET, &format!("/api/v1/registrations/{id}/data"), Some(&token), None).await;
    let data: RegistrationDataOut = serde_json::from_value(expect_status(data, 200).await).unwrap();
    assert_eq!(data.registration.status, RegistrationStatus::Waitlisted);
    let erased = app.request(Method::DELETE, &format!("/api/v1/registrations/{id}/data"), Some(&token), None).await;
    let erased: ErasureOut = serde_json::from_value(expect_status(erased, 200).await).unwrap();
    assert_eq!((erased.registrations_anonymised, erased.registrations_cancelled), (1, 1));
}

/// The manage page's answers: HTML pages, except a body too large (a problem document, like JSON).
async fn manage_page_answers_are_pages_or_problems(app: TestApp) {
    let event = app.published_webinar(5).await;
    let reg = register(&app, &event, 1).await;
    let id = reg["id"].as_str().unwrap();
    for path in [format!("/manage/{id}"), format!("/manage/{id}?token=rsm_wrong"), "/manage/not-a-uuid?token=x".into()]
    {
        let r = app.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(r.text().await.unwrap().contains("Registration not found"), "{path}");
    }
    let r = app.get(&format!("/manage/{id}/calendar.ics?token=rsm_wrong")).await;
    expect_problem(r, 404, None).await;
    let r = app
        .client
        .post(app.url(&format!("/manage/{id}/cancel")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", "x".repeat(100 * 1024)))
        .send()
        .await
        .unwrap();
    expect_problem(r, 413, None).await;
}

both_backends!(
    a_registration_racing_a_reschedule_learns_the_new_time,
    cancellations_racing_registrations_all_succeed,
    mixed_registrations_and_cancellations_keep_the_invariants,
    registering_confirms_then_waitlists_and_writes_the_emails,
    the_same_attendee_again_is_a_conflict_that_names_nothing,
    idempotent_retries_return_the_first_answer,
    bad_registration_input_is_a_4xx_naming_the_field,
    two_hundred_racing_requests_fill_25_seats_and_a_fair_waitlist,
    manage_token_is_the_only_key_and_cancel_promotes,
    manage_page_shows_and_cancels_without_javascript,
    capacity_changes_promote_or_are_refused,
    staff_export_registrants_and_check_in,
    recovering_links_always_answers_202,
    answers_are_the_documented_wire_types,
    manage_page_answers_are_pages_or_problems
);

mod rate_limit {
    use super::*;
    use crate::helpers::Backend;

    async fn run(backend: Backend) {
        let app = TestApp::spawn(backend, |c| {
            c.rate_limit_per_minute = 3;
            c.clock = crate::abuse::held_clock();
        })
        .await;
        let event = app.published_webinar(50).await;
        for n in 0..3 {
            register(&app, &event, n).await;
        }
        let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(9)).await;
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        expect_problem(r, 429, None).await;
        // Reads are not limited.
        expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn public_writes_over_the_limit_get_429_sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(roadshow_pg), ignore = "ROADSHOW_TEST_POSTGRES_URL is not set")]
    async fn public_writes_over_the_limit_get_429_postgres() {
        run(Backend::Postgres).await
    }
}
