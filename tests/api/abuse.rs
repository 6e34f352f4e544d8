//! Abuse resistance and input hygiene: the client address behind proxies, rate-limit refusals that
//! cost no write, the full-text `q=` search, text rules (single-line, multi-line, NUL), manage links
//! with tracking parameters, and CSV cells that could turn into formulas.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use roadshow::config::Config;
use roadshow::db::schema::{events, outbox, rate_limits};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, Backend, TestApp};
use crate::registrations::registration;

/// Rate limits count per clock minute: the servers of these tests run on a clock held still at
/// the start of a minute (`Config::clock`), so every request of a test falls in one window however
/// slow the machine, and a test moves to the next window by setting the clock.
pub fn held_clock() -> roadshow::clock::Clock {
    let now = chrono::Utc::now();
    roadshow::clock::Clock::fixed(chrono::DurationRound::duration_trunc(now, chrono::Duration::minutes(1)).unwrap())
}

/// A public write (the link-recovery form) sent with `X-Forwarded-For: forwarded`.
async fn recover_via(app: &TestApp, forwarded: Option<&str>) -> StatusCode {
    let mut rb =
        app.client.post(app.url("/api/v1/registrations/recover")).json(&json!({"email": "someone@example.org"}));
    if let Some(f) = forwarded {
        rb = rb.header("X-Forwarded-For", f);
    }
    rb.send().await.expect("request sent").status()
}

fn rate_rows(app: &TestApp) -> Vec<(String, i32)> {
    let mut conn = app.db.get().unwrap();
    rate_limits::table
        .select((rate_limits::bucket, rate_limits::hits))
        .order(rate_limits::bucket)
        .load(&mut *conn)
        .unwrap()
}

fn behind_one_proxy(c: &mut Config) {
    c.rate_limit_per_minute = 3;
    c.clock = held_clock();
    c.trusted_proxies.hops = 1;
}

fn limited_to_three(c: &mut Config) {
    c.rate_limit_per_minute = 3;
    c.clock = held_clock();
}

async fn forged_forwarded_for_entries_share_the_real_clients_bucket(app: TestApp) {
    // The test client is the proxy (127.0.0.1, one trusted hop); 203.0.113.7 is the client it
    // saw, and everything left of that was written by the client.
    for forged in ["10.0.0.1", "198.51.100.1", "not-an-address"] {
        let status = recover_via(&app, Some(&format!("{forged}, 203.0.113.7"))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "forged {forged}");
    }
    for forged in ["10.9.9.9, 203.0.113.7", "2001:db8::1, 203.0.113.7:5555", "203.0.113.7"] {
        assert_eq!(recover_via(&app, Some(forged)).await, StatusCode::TOO_MANY_REQUESTS, "{forged}");
    }
    // Another real client has its own allowance.
    assert_eq!(recover_via(&app, Some("203.0.113.7, 203.0.113.8")).await, StatusCode::ACCEPTED);
    // Buckets are named by the parsed address only, never by what the header said.
    let buckets: Vec<String> = rate_rows(&app).into_iter().map(|(b, _)| b).collect();
    assert_eq!(buckets, ["public-write:203.0.113.7", "public-write:203.0.113.8"]);
}

both_backends!(with behind_one_proxy; forged_forwarded_for_entries_share_the_real_clients_bucket);

async fn an_untrusted_peer_cannot_choose_its_bucket_with_forwarded_for(app: TestApp) {
    for n in 0..3 {
        let status = recover_via(&app, Some(&format!("198.51.100.{n}"))).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    assert_eq!(recover_via(&app, Some("198.51.100.99")).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rate_rows(&app), [("public-write:127.0.0.1".to_string(), 3)]);
}

async fn refused_requests_write_nothing(app: TestApp) {
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(recover_via(&app, None).await.as_u16());
    }
    assert_eq!(statuses, [202, 202, 202, 429, 429, 429, 429, 429, 429, 429]);
    // Each refusal was decided without a write: the count stopped at the limit.
    assert_eq!(rate_rows(&app), [("public-write:127.0.0.1".to_string(), 3)]);
}

async fn the_next_minute_brings_a_new_allowance(app: TestApp) {
    let start = app.config.clock.now();
    for _ in 0..3 {
        assert_eq!(recover_via(&app, None).await, StatusCode::ACCEPTED);
    }
    assert_eq!(recover_via(&app, None).await, StatusCode::TOO_MANY_REQUESTS);
    // Later in the same minute: still refused, and told to come back when it ends.
    app.config.clock.set(start + chrono::Duration::seconds(50));
    let r = app
        .client
        .post(app.url("/api/v1/registrations/recover"))
        .json(&json!({"email": "someone@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "10");
    // The next minute is a new window.
    app.config.clock.set(start + chrono::Duration::seconds(60));
    for _ in 0..3 {
        assert_eq!(recover_via(&app, None).await, StatusCode::ACCEPTED);
    }
    assert_eq!(recover_via(&app, None).await, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_count_made_by_another_process_refuses_without_a_write(app: TestApp) {
    // Another server process on this database has already let this client in three times.
    let now = app.config.clock.now();
    let window =
        roadshow::db::to_db_time(chrono::DurationRound::duration_trunc(now, chrono::Duration::minutes(1)).unwrap());
    {
        let mut conn = app.db.get().unwrap();
        diesel::insert_into(rate_limits::table)
            .values((
                rate_limits::bucket.eq("public-write:127.0.0.1"),
                rate_limits::window_start.eq(window),
                rate_limits::hits.eq(3),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_eq!(recover_via(&app, None).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(recover_via(&app, None).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rate_rows(&app), [("public-write:127.0.0.1".to_string(), 3)]);
}

both_backends!(with limited_to_three; an_untrusted_peer_cannot_choose_its_bucket_with_forwarded_for, refused_requests_write_nothing, the_next_minute_brings_a_new_allowance, a_count_made_by_another_process_refuses_without_a_write);

fn search_ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

async fn publish(app: &TestApp, id: &str) {
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
}

async fn search_finds_events_by_words_of_title_and_description(app: TestApp) {
    let export = app
        .draft_event(json!({"title": "Export Basics for Makers",
        "description": "Shipping to Canada and México, step by step."}))
        .await;
    let social =
        app.draft_event(json!({"title": "Grow with social media", "description": "Reels, posts\nand ads"})).await;
    publish(&app, &export).await;
    publish(&app, &social).await;
    let search = |q: &str| {
        let app = &app;
        let q = q.to_string();
        async move { search_ids(&expect_status(app.get(&format!("/api/v1/events?q={q}")).await, 200).await) }
    };
    assert_eq!(search("export").await, [export.as_str()], "a title word");
    assert_eq!(search("SHIPPING").await, [export.as_str()], "a description word, any case");
    assert_eq!(search("canad").await, [export.as_str()], "a word's beginning");
    assert_eq!(search("makers%20canada").await, [export.as_str()], "words of title and description together");
    assert_eq!(search("ads").await, [social.as_str()], "after a line break");
    assert_eq!(search("social-media").await, [social.as_str()], "punctuation separates words");
    assert!(search("export%20reels").await.is_empty(), "every word must match");
    assert!(search("hipping").await.is_empty(), "words match from their start");
    assert!(search("%22%2A%3A").await.is_empty(), "search syntax is never passed through");
    // The index follows changes.
    let patched =
        app.admin_patch(&format!("/api/v1/admin/events/{export}"), &json!({"description": "Tariffs explained"})).await;
    expect_status(patched, 200).await;
    assert!(search("canada").await.is_empty());
    assert_eq!(search("tariff").await, [export.as_str()]);
    let admin = expect_status(app.admin_get("/api/v1/admin/events?q=tariffs").await, 200).await;
    assert_eq!(search_ids(&admin), [export.as_str()]);
}

async fn search_is_answered_by_the_full_text_index(app: TestApp) {
    let id = app.draft_event(json!({"title": "Export basics"})).await;
    publish(&app, &id).await;
    let mut conn = app.db.get().unwrap();
    let plan = if app.backend == Backend::Postgres {
        // With a handful of rows a sequential scan is cheaper; forbid it to see what the
        // index can answer (SET LOCAL: the pooled connection is left as it was).
        conn.transaction(|c| {
            diesel::connection::SimpleConnection::batch_execute(c, "SET LOCAL enable_seqscan = off")?;
            roadshow::events::queries::search_plan(c, "export")
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
        })
        .unwrap()
    } else {
        roadshow::events::queries::search_plan(&mut conn, "export").unwrap()
    };
    let plan = plan.join("\n");
    let index = if app.backend == Backend::Postgres { "events_search_idx" } else { "events_fts VIRTUAL TABLE" };
    assert!(plan.contains(index), "the plan does not use {index}:\n{plan}");
}

async fn single_line_fields_refuse_line_breaks_and_control_characters(app: TestApp) {
    let event = app.published_webinar(10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let mut body = registration(1);
    body["attendee"]["name"] = json!("Ana\nBcc: everyone@example.org");
    expect_problem(app.post_json(&path, &body).await, 422, Some("attendee.name")).await;
    let mut body = registration(1);
    body["business"]["name"] = json!("Tacos\u{7}Lupita");
    expect_problem(app.post_json(&path, &body).await, 422, Some("business.name")).await;
    let mut body = registration(1);
    body["business"]["industry"] = json!("retail\r\nX-Evil: 1");
    expect_problem(app.post_json(&path, &body).await, 422, Some("business.industry")).await;

    let bad_title = app
        .admin_post(
            "/api/v1/admin/events",
            &json!({"kind": "webinar", "title": "Grow\nwith social",
        "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z", "time_zone": "UTC", "capacity": 5,
        "join_url": "https://meet.example.org/x"}),
        )
        .await;
    expect_problem(bad_title, 422, Some("title")).await;
    let venue = app.create_venue("TX").await;
    let r = app.admin_patch(&format!("/api/v1/admin/venues/{venue}"), &json!({"city": "Austin\tTX"})).await;
    expect_problem(r, 422, Some("city")).await;
    let r = app
        .admin_post(
            "/api/v1/admin/organizations",
            &json!({"name": "Chamber\u{2028}of Commerce", "kind": "local_chamber", "states": ["TX"]}),
        )
        .await;
    expect_problem(r, 422, Some("name")).await;
}

async fn nul_is_a_422_wherever_it_comes(app: TestApp) {
    let event = app.published_webinar(10).await;
    let mut body = registration(1);
    body["attendee"]["name"] = json!("Ana\u{0}");
    expect_problem(
        app.post_json(&format!("/api/v1/events/{event}/registrations"), &body).await,
        422,
        Some("attendee.name"),
    )
    .await;
    let r =
        app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"description": "Before\u{0}after"})).await;
    expect_problem(r, 422, Some("description")).await;
    let r = app
        .admin_post(
            "/api/v1/admin/events",
            &json!({"kind": "webinar", "title": "T", "description": "a\u{0}",
        "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z", "time_zone": "UTC", "capacity": 5,
        "join_url": "https://meet.example.org/x", "topics": ["content", "b\u{0}d"]}),
        )
        .await;
    let problem = expect_problem(r, 422, None).await;
    assert!(problem.to_string().contains("description") || problem.to_string().contains("topics[1]"), "{problem}");
    expect_problem(app.get("/api/v1/events?q=grow%00").await, 422, Some("q")).await;
    expect_problem(app.admin_get("/api/v1/admin/events?q=%00").await, 422, Some("q")).await;
    expect_problem(app.get("/api/v1/events/%00").await, 422, Some("id")).await;
    expect_problem(
        app.post_json("/api/v1/registrations/recover", &json!({"email": "a\u{0}@example.org"})).await,
        422,
        Some("email"),
    )
    .await;
}

async fn descriptions_keep_lines_but_lose_control_characters_before_email(app: TestApp) {
    let event = app.draft_event(json!({"description": "Bring\u{7} a laptop\r\nand your questions\u{1b}[0m"})).await;
    publish(&app, &event).await;
    let public = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(public["description"], "Bring a laptop\nand your questions[0m");
    let patched = app
        .admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"description": "Doors\u{8} open\tearly"}))
        .await;
    assert_eq!(expect_status(patched, 200).await["description"], "Doors open\tearly");
    let stored: String = {
        let mut conn = app.db.get().unwrap();
        events::table.find(&event).select(events::description).first(&mut *conn).unwrap()
    };
    assert_eq!(stored, "Doors open\tearly");
    expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(1)).await, 201).await;
    let mails: Vec<(String, String, Option<String>)> = {
        let mut conn = app.db.get().unwrap();
        outbox::table.select((outbox::body_text, outbox::body_html, outbox::ics)).load(&mut *conn).unwrap()
    };
    assert!(!mails.is_empty());
    for (text, html, ics) in mails {
        for part in [text, html, ics.unwrap_or_default()] {
            assert!(!part.chars().any(|c| c == '\u{7}' || c == '\u{8}' || c == '\u{1b}'), "{part:?}");
        }
    }
}

async fn manage_links_survive_tracking_parameters(app: TestApp) {
    let event = app.published_webinar(10).await;
    let r = expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(1)).await, 201)
        .await;
    let (id, token) = (r["id"].as_str().unwrap(), r["manage_token"].as_str().unwrap());
    // The links as emailed (their host is the configured public URL, not this test server).
    let page = r["links"]["manage_page"].as_str().unwrap();
    let calendar = r["links"]["calendar"].as_str().unwrap();
    assert!(page.ends_with(&format!("/manage/{id}?token={token}")), "{page}");
    assert!(calendar.ends_with(&format!("/manage/{id}/calendar.ics?token={token}")), "{calendar}");
    let page = app.url(&format!("/manage/{id}?token={token}"));
    let calendar = app.url(&format!("/manage/{id}/calendar.ics?token={token}"));
    let tracked =
        app.client.get(format!("{page}&utm_source=newsletter&utm_medium=email&fbclid=IwAR0abc")).send().await.unwrap();
    assert_eq!(tracked.status(), StatusCode::OK);
    assert!(tracked.text().await.unwrap().contains("Confirmed"));
    let ics = app.client.get(format!("{calendar}&utm_source=x&gclid=y")).send().await.unwrap();
    assert_eq!(ics.status(), StatusCode::OK);
    assert!(ics.text().await.unwrap().contains("BEGIN:VCALENDAR"));
    // Tracking parameters put in front of the token are fine too; a wrong token is still a 404.
    let r = app.client.get(app.url(&format!("/manage/{id}?utm_campaign=spring&token={token}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client.get(app.url(&format!("/manage/{id}?token=rsm_wrong&utm_source=x"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn csv_export_defuses_formulas_hidden_behind_a_semicolon(app: TestApp) {
    let event = app.published_webinar(10).await;
    let mut body = registration(1);
    body["business"]["name"] = json!("Tacos;=HYPERLINK(\"http://evil.example\",\"x\")");
    body["attendee"]["name"] = json!("-Ana");
    expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &body).await, 201).await;
    let r = app
        .request(
            Method::GET,
            &format!("/api/v1/admin/events/{event}/registrations?format=csv"),
            Some(&app.admin_token),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    assert!(csv.contains(",\"'Tacos;=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","), "{csv}");
    assert!(csv.contains(",'-Ana,"), "{csv}");
}

both_backends!(
    search_finds_events_by_words_of_title_and_description,
    search_is_answered_by_the_full_text_index,
    single_line_fields_refuse_line_breaks_and_control_characters,
    nul_is_a_422_wherever_it_comes,
    descriptions_keep_lines_but_lose_control_characters_before_email,
    manage_links_survive_tracking_parameters,
    csv_export_defuses_formulas_hidden_behind_a_semicolon
);
