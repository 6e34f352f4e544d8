use crate::helpers::TestApp;
use crate::helpers::{expect_problem, expect_status, expect_typed, serve_and_capture};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use roadshow::db::schema::event_topics;
use roadshow::db::DbConnection;
use roadshow::domain::{EventKind, EventStatus, Topic};
use roadshow::events::wire::{AdminEventOut, EventOut};
use roadshow::http::Page;
use serde_json::json;

async fn admin_creates_publishes_and_visitors_list_a_stop(app: TestApp) {
    let org = app.create_org("Texas Chamber", "local_chamber", &["TX"]).await;
    let venue = app.create_venue("TX").await;
    let r = app
        .admin_post(
            "/api/v1/admin/events",
            &json!({
                "kind": "roadshow_stop", "title": "Austin stop", "description": "Instagram for shops",
                "starts_at": "2031-03-12T09:00:00", "ends_at": "2031-03-12T12:00:00",
                "time_zone": "America/Chicago", "capacity": 80, "venue_id": venue,
                "topics": ["Content", "local-seo"], "host_organization_ids": [org]
            }),
        )
        .await;
    let created: AdminEventOut = expect_typed(r, 201).await;
    assert_eq!(created.event.status, EventStatus::Draft);
    assert_eq!(created.event.starts_at, "2031-03-12T14:00:00Z");
    assert_eq!(created.event.starts_at_local, "2031-03-12T09:00:00-05:00");
    assert_eq!(created.event.state.as_deref(), Some("TX"));
    assert_eq!(created.event.topics, [Topic::Content, Topic::LocalSeo]);
    let id = created.event.id.as_str();

    // Drafts are not public.
    expect_problem(app.get(&format!("/api/v1/events/{id}")).await, 404, None).await;
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events").await, 200).await;
    assert!(list.items.is_empty() && list.next_cursor.is_none());

    let published: AdminEventOut =
        expect_typed(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    assert_eq!(published.event.status, EventStatus::Published);
    let public: EventOut = expect_typed(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    assert_eq!(public.seats_left, 80);
    assert_eq!(public.venue.as_ref().map(|v| v.city.as_str()), Some("Capital"));
    assert_eq!(public.hosts[0].id, org);
    assert_eq!(public.kind, EventKind::RoadshowStop);
    let raw = expect_status(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    assert!(raw.get("admin").is_none(), "{raw}");
    let list: Page<EventOut> =
        expect_typed(app.get("/api/v1/events?state=TX&kind=roadshow_stop&topic=content&q=AUSTIN").await, 200).await;
    assert_eq!(list.items[0].id, id);
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?state=CA").await, 200).await;
    assert!(list.items.is_empty());
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?q=100%25").await, 200).await;
    assert!(list.items.is_empty());
}

async fn webinar_join_url_is_never_public(app: TestApp) {
    let id = app.published_webinar(10).await;
    let public = expect_status(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    assert!(!public.to_string().contains("meet.example.org"), "{public}");
    let list = expect_status(app.get("/api/v1/events").await, 200).await;
    assert!(!list.to_string().contains("meet.example.org"));
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{id}")).await, 200).await;
    assert_eq!(admin["admin"]["join_url"], "https://meet.example.org/grow");
}

async fn dst_gap_and_overlap_are_refused_naming_the_field(app: TestApp) {
    let base = json!({"kind": "webinar", "title": "T", "time_zone": "America/New_York", "capacity": 5,
                      "join_url": "https://meet.example.org/x"});
    let mut body = base.clone();
    body["starts_at"] = json!("2026-03-08T02:30:00");
    body["ends_at"] = json!("2026-03-08T04:00:00");
    let p = expect_problem(app.admin_post("/api/v1/admin/events", &body).await, 422, Some("starts_at")).await;
    assert!(p.to_string().contains("does not exist"), "{p}");
    let mut body = base.clone();
    body["starts_at"] = json!("2026-11-01T00:30:00");
    body["ends_at"] = json!("2026-11-01T01:30:00");
    let p = expect_problem(app.admin_post("/api/v1/admin/events", &body).await, 422, Some("ends_at")).await;
    assert!(p.to_string().contains("twice"), "{p}");
    // With an offset the same wall time is accepted.
    body["ends_at"] = json!("2026-11-01T01:30:00-05:00");
    let created = expect_status(app.admin_post("/api/v1/admin/events", &body).await, 201).await;
    assert_eq!(created["ends_at"], "2026-11-01T06:30:00Z");
    assert_eq!(created["ends_at_local"], "2026-11-01T01:30:00-05:00");
}

async fn bad_event_input_names_every_field(app: TestApp) {
    let r = app
        .admin_post(
            "/api/v1/admin/events",
            &json!({"kind": "party", "title": "", "starts_at": "tomorrow", "ends_at": "2031-01-01T10:00:00",
                    "time_zone": "Mars/Base", "capacity": -1}),
        )
        .await;
    let p = expect_problem(r, 422, Some("kind")).await;
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["kind", "title", "time_zone", "capacity"] {
        assert!(fields.contains(&f), "{f} missing in {p}");
    }
    let r = app
        .admin_post(
            "/api/v1/admin/events",
            &json!({"kind": "roadshow_stop", "title": "x", "starts_at": "2031-01-01T10:00:00", "ends_at": "2031-01-01T09:00:00",
                    "time_zone": "America/Chicago", "capacity": 5}),
        )
        .await;
    let p = expect_problem(r, 422, Some("venue_id")).await;
    assert!(p.to_string().contains("ends_at"), "{p}");
    let r = app.admin_post("/api/v1/admin/events", &json!({"kind": "webinar", "title": "x", "starts_at": "2031-01-01T10:00:00",
        "ends_at": "2031-01-01T11:00:00", "time_zone": "America/Chicago", "capacity": "ten", "join_url": "https://x.org"})).await;
    expect_problem(r, 422, Some("capacity")).await;
    expect_problem(app.get("/api/v1/events/not-a-uuid").await, 400, Some("id")).await;
    expect_problem(app.get("/api/v1/events?cursor=%%%").await, 400, Some("cursor")).await;
    expect_problem(app.get("/api/v1/events?from=yesterday").await, 400, Some("from")).await;
    expect_problem(app.get("/api/v1/events?kind=concert").await, 400, Some("kind")).await;
    expect_problem(app.get("/api/v1/events?colour=red").await, 400, Some("colour")).await;
    expect_problem(app.get(&format!("/api/v1/events/{}", uuid::Uuid::new_v4())).await, 404, None).await;
}

async fn public_list_pages_with_a_cursor(app: TestApp) {
    for i in 0..5 {
        let start = chrono::Utc::now() + chrono::Duration::days(10 + i);
        let id = app
            .draft_event(json!({"title": format!("Webinar {i}"), "starts_at": start.to_rfc3339(),
            "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339()}))
            .await;
        expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/events?limit=2".to_string();
    loop {
        let page = expect_status(app.get(&url).await, 200).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["title"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/events?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..5).map(|i| format!("Webinar {i}")).collect::<Vec<_>>());
}

async fn rescheduling_a_published_event_bumps_revision_and_cancel_is_final(app: TestApp) {
    let id = app.published_webinar(10).await;
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/events/{id}"),
            &json!({"starts_at": "2031-05-01T10:00:00", "ends_at": "2031-05-01T11:00:00"}),
        )
        .await;
    let body = expect_status(r, 200).await;
    assert_eq!(body["starts_at_local"], "2031-05-01T10:00:00-05:00");
    assert_eq!(body["admin"]["revision"], 1);
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/events/{id}"),
            &json!({"starts_at": "2031-03-09T02:30:00", "time_zone": "America/New_York"}),
        )
        .await;
    expect_problem(r, 422, Some("starts_at")).await;
    let r = app.admin_patch(&format!("/api/v1/admin/events/{id}"), &json!({"title": "Renamed"})).await;
    assert_eq!(expect_status(r, 200).await["admin"]["revision"], 1);
    let c = expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/cancel"), &json!({})).await, 200).await;
    assert_eq!(c["status"], "cancelled");
    let r = app.admin_patch(&format!("/api/v1/admin/events/{id}"), &json!({"title": "Again"})).await;
    expect_problem(r, 409, None).await;
    expect_problem(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 409, None).await;
}

async fn organizers_schedule_only_in_their_states_and_see_only_their_events(app: TestApp) {
    let org = app.create_org("Ohio Chamber", "local_chamber", &["OH"]).await;
    let user = expect_status(
        app.admin_post(
            "/api/v1/admin/users",
            &json!({"email": "o@ohio.org", "name": "O", "role": "organizer", "organization_id": org}),
        )
        .await,
        201,
    )
    .await;
    let uid = user["id"].as_str().unwrap();
    let tok = expect_status(app.admin_post(&format!("/api/v1/admin/users/{uid}/tokens"), &json!({})).await, 201).await;
    let token = tok["token"].as_str().unwrap().to_string();
    let body = json!({"kind": "webinar", "title": "Ohio webinar", "starts_at": "2031-01-10T10:00:00", "ends_at": "2031-01-10T11:00:00",
        "time_zone": "America/New_York", "capacity": 5, "join_url": "https://x.org/w", "state": "OH"});
    let r = app.request(reqwest::Method::POST, "/api/v1/admin/events", Some(&token), Some(&body)).await;
    let mine = expect_status(r, 201).await;
    assert_eq!(mine["hosts"][0]["id"], org.as_str());
    let mut other = body.clone();
    other["state"] = json!("TX");
    let r = app.request(reqwest::Method::POST, "/api/v1/admin/events", Some(&token), Some(&other)).await;
    expect_problem(r, 422, Some("state")).await;
    let stranger = app.create_org("Elsewhere Chamber", "local_chamber", &["OH"]).await;
    let mut cohost = body.clone();
    cohost["host_organization_ids"] = json!([org, stranger]);
    let r = app.request(reqwest::Method::POST, "/api/v1/admin/events", Some(&token), Some(&cohost)).await;
    expect_problem(r, 422, Some("host_organization_ids[1]")).await;
    let mut national = body.clone();
    national.as_object_mut().unwrap().remove("state");
    let r = app.request(reqwest::Method::POST, "/api/v1/admin/events", Some(&token), Some(&national)).await;
    expect_problem(r, 422, Some("state")).await;
    let admins = app.published_webinar(5).await;
    let r = app.request(reqwest::Method::GET, &format!("/api/v1/admin/events/{admins}"), Some(&token), None).await;
    expect_problem(r, 404, None).await;
    let r = app.request(reqwest::Method::GET, "/api/v1/admin/events", Some(&token), None).await;
    let list = expect_status(r, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn the_scheduler_marks_ended_events_completed(app: TestApp) {
    let id = app.published_webinar(10).await;
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let before = roadshow::jobs::run_once(&app.db, &ctx, chrono::Utc::now()).await.unwrap();
    assert_eq!(before.events_completed, 0);
    let after = roadshow::jobs::run_once(&app.db, &ctx, chrono::Utc::now() + chrono::Duration::days(31)).await.unwrap();
    assert_eq!(after.events_completed, 1);
    let e = expect_status(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    assert_eq!(e["status"], "completed");
    expect_problem(app.admin_post(&format!("/api/v1/admin/events/{id}/cancel"), &json!({})).await, 409, None).await;
}

async fn racing_publish_and_cancel_never_revive_a_cancelled_event(app: TestApp) {
    for _ in 0..5 {
        let id = app.draft_event(json!({})).await;
        let (empty, publish_path, cancel_path) =
            (json!({}), format!("/api/v1/admin/events/{id}/publish"), format!("/api/v1/admin/events/{id}/cancel"));
        let publish = app.admin_post(&publish_path, &empty);
        let cancel = app.admin_post(&cancel_path, &empty);
        let (p, c) = tokio::join!(publish, cancel);
        assert!(p.status() == 200 || p.status() == 409, "publish answered {}", p.status());
        assert_eq!(c.status(), 200);
        let e = expect_status(app.admin_get(&format!("/api/v1/admin/events/{id}")).await, 200).await;
        assert_eq!(e["status"], "cancelled");
    }
}

/// The event topics as stored, in order: what an answer could show or a filter find.
fn stored_topics(app: &TestApp, event: &str) -> Vec<String> {
    let mut conn = app.db.get().unwrap();
    event_topics::table
        .filter(event_topics::event_id.eq(event))
        .select(event_topics::topic)
        .order(event_topics::topic)
        .load(&mut *conn)
        .unwrap()
}

/// Writes topic rows straight into the table, as an older version (or a hand) could have.
fn store_raw_topics(app: &TestApp, event: &str, words: &[&str]) {
    let mut conn = app.db.get().unwrap();
    for w in words {
        diesel::insert_into(event_topics::table)
            .values((event_topics::event_id.eq(event), event_topics::topic.eq(*w)))
            .execute(&mut *conn)
            .unwrap();
    }
}

fn event_count(app: &TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    roadshow::db::schema::events::table.count().get_result(&mut *conn).unwrap()
}

async fn an_unknown_topic_is_a_422_naming_it_and_nothing_is_written(app: TestApp) {
    let body = |topics: serde_json::Value| {
        let start = chrono::Utc::now() + chrono::Duration::days(30);
        json!({"kind": "webinar", "title": "Reels that sell", "starts_at": start.to_rfc3339(),
            "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339(), "time_zone": "America/Chicago",
            "capacity": 10, "join_url": "https://meet.example.org/reels", "topics": topics})
    };
    // A word that used to be accepted (free topics) is named by its index, with the vocabulary.
    let p = expect_problem(
        app.admin_post("/api/v1/admin/events", &body(json!(["content", "instagram"]))).await,
        422,
        Some("topics[1]"),
    )
    .await;
    let message = p["errors"][0]["message"].as_str().unwrap();
    for term in Topic::ALL {
        assert!(message.contains(&format!("\"{}\"", term.as_str())), "{term} is not listed: {p}");
    }
    assert_eq!(p["errors"].as_array().unwrap().len(), 1, "only the unknown word is named: {p}");
    assert_eq!(event_count(&app), 0, "nothing is written");

    // Any case, duplicates collapse; the answer is the vocabulary's spelling.
    let created: AdminEventOut =
        expect_typed(app.admin_post("/api/v1/admin/events", &body(json!([" Video", "video", "CONTENT"]))).await, 201)
            .await;
    assert_eq!(created.event.topics, [Topic::Content, Topic::Video]);
    let id = created.event.id;
    assert_eq!(stored_topics(&app, &id), ["content", "video"]);

    // A PATCH with an unknown word changes nothing, not even its other fields.
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/events/{id}"),
            &json!({"title": "Renamed", "topics": ["advertising", "tiktok"]}),
        )
        .await;
    let p = expect_problem(r, 422, Some("topics[1]")).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("\"video\""), "{p}");
    let after: AdminEventOut = expect_typed(app.admin_get(&format!("/api/v1/admin/events/{id}")).await, 200).await;
    assert_eq!(
        (after.event.title.as_str(), after.event.topics.as_slice()),
        ("Reels that sell", &[Topic::Content, Topic::Video][..])
    );
    assert_eq!(stored_topics(&app, &id), ["content", "video"]);

    let r = app.admin_patch(&format!("/api/v1/admin/events/{id}"), &json!({"topics": ["Advertising", "video"]})).await;
    let patched: AdminEventOut = expect_typed(r, 200).await;
    assert_eq!(patched.event.topics, [Topic::Advertising, Topic::Video]);
    assert_eq!(stored_topics(&app, &id), ["advertising", "video"]);
}

async fn the_topic_filter_takes_only_vocabulary_words(app: TestApp) {
    let video = app.draft_event(json!({"title": "Short video that sells", "topics": ["video", "content"]})).await;
    let community = app.draft_event(json!({"title": "Groups for neighbours"})).await;
    for id in [&video, &community] {
        expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    }
    let ids = |page: Page<EventOut>| page.items.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?topic=VIDEO").await, 200).await;
    assert_eq!(ids(list), [video.as_str()]);
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?topic=community").await, 200).await;
    assert_eq!(ids(list), [community.as_str()]);
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?topic=privacy").await, 200).await;
    assert!(list.items.is_empty());
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?topic=").await, 200).await;
    assert_eq!(list.items.len(), 2, "an empty topic filters nothing");
    let admin: Page<AdminEventOut> = expect_typed(app.admin_get("/api/v1/admin/events?topic=content").await, 200).await;
    assert_eq!(admin.items.iter().map(|e| e.event.id.as_str()).collect::<Vec<_>>(), [video.as_str()]);

    // A word outside the vocabulary is refused like any bad query value, naming `topic` and the
    // accepted values, on both lists.
    for path in ["/api/v1/events?topic=instagram", "/api/v1/events?topic=social-media&state=TX"] {
        let p = expect_problem(app.get(path).await, 400, Some("topic")).await;
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("\"local-seo\""), "{p}");
    }
    expect_problem(app.admin_get("/api/v1/admin/events?topic=tiktok").await, 400, Some("topic")).await;
}

/// The migrations as the server embeds them, to step this one back and forth.
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

async fn the_migration_maps_old_free_topics_onto_the_vocabulary(app: TestApp) {
    // Three events, as the version before this migration could have stored them: the
    // migration is stepped back (its down.sql runs), the old free words are written as the old
    // API wrote them (trimmed, lower-cased, 1-50 letters, digits, spaces, dashes or
    // underscores), and the migration runs again as a deploy would run it.
    let a = app.draft_event(json!({"topics": ["content"]})).await;
    let b = app.draft_event(json!({"topics": []})).await;
    let c = app.draft_event(json!({"topics": ["privacy"]})).await;
    // Every later migration is stepped back first (newest first), and runs again with it.
    let stepped_back = {
        let mut conn = app.db.get().unwrap();
        let mut stepped_back = 0;
        loop {
            let reverted = match &mut *conn {
                DbConnection::Postgres(c) => c.revert_last_migration(PG_MIGRATIONS),
                DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            }
            .unwrap()
            .to_string();
            stepped_back += 1;
            assert!(reverted.as_str() >= "20261207001101", "stepped back past this migration: {reverted}");
            if reverted == "20261207001101" {
                break stepped_back;
            }
        }
    };
    // `instagram` maps onto `content`, which the event holds already; `tiktok`, `reels` and
    // `video` become one `video`; `social media` (a space) and `linkedin` one `community`.
    let a_words = [
        "instagram",
        "facebook",
        "tiktok",
        "reels",
        "video",
        "b2b",
        "social media",
        "linkedin",
        "ecommerce",
        "e-commerce",
    ];
    store_raw_topics(&app, &a, &a_words);
    let b_words =
        ["ads", "local-ads", "marketing", "seo", "google_business_profile", "whatsapp", "analytics", "financing"];
    store_raw_topics(&app, &b, &b_words);
    store_raw_topics(&app, &c, &["b2b", "astrology", "google-business-profile"]);
    {
        let mut conn = app.db.get().unwrap();
        assert_eq!(roadshow::db::run_migrations(&mut conn).unwrap(), stepped_back);
    }
    // What is stored: mapped, kept or gone; no row outside the vocabulary is left.
    assert_eq!(stored_topics(&app, &a), ["community", "content", "e-commerce", "page-setup", "video"]);
    assert_eq!(stored_topics(&app, &b), ["advertising", "analytics", "local-seo", "messaging"]);
    assert_eq!(stored_topics(&app, &c), ["local-seo", "privacy"]);

    // And what the API shows and finds.
    let shown: AdminEventOut = expect_typed(app.admin_get(&format!("/api/v1/admin/events/{a}")).await, 200).await;
    assert_eq!(
        shown.event.topics,
        [Topic::Community, Topic::Content, Topic::Ecommerce, Topic::PageSetup, Topic::Video]
    );
    let found: Page<AdminEventOut> =
        expect_typed(app.admin_get("/api/v1/admin/events?topic=local-seo").await, 200).await;
    let mut found: Vec<String> = found.items.into_iter().map(|e| e.event.id).collect();
    found.sort();
    let mut want = vec![b.clone(), c.clone()];
    want.sort();
    assert_eq!(found, want);
}

async fn a_stored_topic_outside_the_vocabulary_is_left_out_and_counted_in_the_log(app: TestApp) {
    let id = app.draft_event(json!({"topics": ["content"]})).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    // Rows no version writes any more (a hand, a restore of an old backup).
    store_raw_topics(&app, &id, &["astrology", "social-media"]);
    let public: EventOut = expect_typed(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    assert_eq!(public.topics, [Topic::Content]);
    let list: Page<EventOut> = expect_typed(app.get("/api/v1/events?topic=content").await, 200).await;
    assert_eq!(list.items[0].topics, [Topic::Content]);
    let admin: AdminEventOut = expect_typed(app.admin_get(&format!("/api/v1/admin/events/{id}")).await, 200).await;
    assert_eq!(admin.event.topics, [Topic::Content]);
    // The log says how many were left out, never which words.
    let path = format!("/api/v1/admin/events/{id}");
    let (logs, _) = serve_and_capture(&app, &[], |base, admin| async move {
        let r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), 200);
        Vec::new()
    })
    .await;
    let line = logs.lines().find(|l| l.contains("outside the vocabulary")).unwrap_or_else(|| panic!("{logs}"));
    assert!(line.contains("skipped=2"), "{line}");
    assert!(!logs.contains("astrology") && !logs.contains("social-media"), "{logs}");
}

/// An event's answer takes its topics and hosts from lists on the event row, kept by triggers:
/// rows written to `event_topics` and `event_hosts` by any code, even behind the API's back, show
/// in the event and in the list at once, sorted (topics by word, hosts by name).
async fn topics_and_hosts_written_by_any_code_show_in_the_answers(app: TestApp) {
    let b = app.create_org("Beta Chamber", "local_chamber", &["TX"]).await;
    let a = app.create_org("Alpha Office", "regional_office", &["TX"]).await;
    let id = app.published_webinar(10).await;
    {
        let mut conn = app.db.get().unwrap();
        use roadshow::db::schema::event_hosts;
        diesel::delete(event_topics::table.filter(event_topics::event_id.eq(&id))).execute(&mut *conn).unwrap();
        for t in ["video", "analytics"] {
            diesel::insert_into(event_topics::table)
                .values((event_topics::event_id.eq(&id), event_topics::topic.eq(t)))
                .execute(&mut *conn)
                .unwrap();
        }
        for h in [&b, &a] {
            diesel::insert_into(event_hosts::table)
                .values((event_hosts::event_id.eq(&id), event_hosts::organization_id.eq(h)))
                .execute(&mut *conn)
                .unwrap();
        }
        diesel::delete(event_hosts::table.filter(event_hosts::organization_id.eq(&b))).execute(&mut *conn).unwrap();
        diesel::insert_into(event_hosts::table)
            .values((event_hosts::event_id.eq(&id), event_hosts::organization_id.eq(&b)))
            .execute(&mut *conn)
            .unwrap();
    }
    let one = expect_status(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    let list = expect_status(app.get("/api/v1/events").await, 200).await;
    let listed = list["items"].as_array().unwrap().iter().find(|e| e["id"] == id.as_str()).unwrap().clone();
    for e in [&one, &listed] {
        assert_eq!(e["topics"], json!(["analytics", "video"]), "{e}");
        let hosts: Vec<&str> = e["hosts"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
        assert_eq!(hosts, ["Alpha Office", "Beta Chamber"], "{e}");
    }
}

both_backends!(
    topics_and_hosts_written_by_any_code_show_in_the_answers,
    an_unknown_topic_is_a_422_naming_it_and_nothing_is_written,
    the_topic_filter_takes_only_vocabulary_words,
    the_migration_maps_old_free_topics_onto_the_vocabulary,
    a_stored_topic_outside_the_vocabulary_is_left_out_and_counted_in_the_log,
);

both_backends!(
    admin_creates_publishes_and_visitors_list_a_stop,
    webinar_join_url_is_never_public,
    dst_gap_and_overlap_are_refused_naming_the_field,
    bad_event_input_names_every_field,
    public_list_pages_with_a_cursor,
    rescheduling_a_published_event_bumps_revision_and_cancel_is_final,
    organizers_schedule_only_in_their_states_and_see_only_their_events,
    the_scheduler_marks_ended_events_completed,
    racing_publish_and_cancel_never_revive_a_cancelled_event
);
