//! The public event reads are micro-cached (src/events/public_cache.rs): a change made
//! through the server must still show on the very next read.

use crate::helpers::{expect_status, TestApp};
use crate::registrations::{register, registration};
use serde_json::{json, Value};

async fn seats_left(app: &TestApp, event: &str) -> (Value, Value) {
    let page = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    let list = expect_status(app.get("/api/v1/events").await, 200).await;
    let listed = list["items"].as_array().unwrap().iter().find(|e| e["id"] == event).map(|e| e["seats_left"].clone());
    (page["seats_left"].clone(), listed.unwrap_or(Value::Null))
}

async fn cached_public_reads_show_registrations_and_cancellations_at_once(app: TestApp) {
    let event = app.published_webinar(2).await;
    assert_eq!(seats_left(&app, &event).await, (json!(2), json!(2)));
    // Read twice: the second answer may come from the cache.
    assert_eq!(seats_left(&app, &event).await, (json!(2), json!(2)));

    let r = expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(1)).await, 201)
        .await;
    assert_eq!(seats_left(&app, &event).await, (json!(1), json!(1)));

    let (id, token) = (r["id"].as_str().unwrap(), r["manage_token"].as_str().unwrap());
    let gone = app.request(reqwest::Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(token), None).await;
    expect_status(gone, 200).await;
    assert_eq!(seats_left(&app, &event).await, (json!(2), json!(2)));
}

async fn cached_public_reads_show_event_changes_at_once(app: TestApp) {
    let event = app.published_webinar(2).await;
    let before = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(before["capacity"], 2);
    let patched = app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"capacity": 5})).await;
    expect_status(patched, 200).await;
    assert_eq!(seats_left(&app, &event).await, (json!(5), json!(5)));

    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/cancel"), &json!({})).await, 200).await;
    let after = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(after["status"], "cancelled");
    let list = expect_status(app.get("/api/v1/events").await, 200).await;
    assert!(list["items"].as_array().unwrap().iter().all(|e| e["id"] != event.as_str()));
}

both_backends!(
    cached_public_reads_show_registrations_and_cancellations_at_once,
    cached_public_reads_show_event_changes_at_once
);

/// Changes an event's title straight in the database, behind the server's back (no cache sees it).
fn retitle_behind_the_back(app: &TestApp, event: &str, title: &str) {
    use diesel::prelude::*;
    use roadshow::db::schema::events;
    let mut conn = app.db.get().unwrap();
    diesel::update(events::table.find(event)).set(events::title.eq(title)).execute(&mut *conn).unwrap();
}

async fn a_cached_answer_is_served_and_other_apps_writes_do_not_clear_it(app: TestApp) {
    let event = app.published_webinar(5).await;
    let path = format!("/api/v1/events/{event}");
    // Another app, on its own database, writes public data between the two reads: each app has
    // its own cache, so that must not clear this one.
    let other = TestApp::spawn(app.backend, |_| {}).await;
    let other_event = other.published_webinar(500).await;
    let mut n = 0;
    let mut latest;
    // A cached answer lives one second; try again (bounded) if a slow machine took longer
    // than half of that between the two reads, so the check is about the cache, not speed.
    let served_from_cache = loop {
        n += 1;
        assert!(n <= 20, "never two reads within half a second");
        let started = std::time::Instant::now();
        let first = expect_status(app.get(&path).await, 200).await;
        latest = format!("Changed behind the server's back {n}");
        retitle_behind_the_back(&app, &event, &latest);
        expect_status(
            other.post_json(&format!("/api/v1/events/{other_event}/registrations"), &registration(n)).await,
            201,
        )
        .await;
        let second = expect_status(app.get(&path).await, 200).await;
        if started.elapsed() < std::time::Duration::from_millis(500) {
            break (first, second);
        }
    };
    let (first, second) = served_from_cache;
    assert_ne!(first["title"], latest.as_str());
    assert_eq!(second["title"], first["title"], "the second read is the cached answer");
    // The cached answer expires by itself (bounded polling: about a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = expect_status(app.get(&path).await, 200).await;
        if now["title"] == latest.as_str() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the cached answer never expired: {now}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A change through the API is seen at once, cache or not.
    retitle_behind_the_back(&app, &event, "Behind the back again");
    expect_status(app.get(&path).await, 200).await;
    let patched =
        app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"title": "Changed through the API"})).await;
    expect_status(patched, 200).await;
    let now = expect_status(app.get(&path).await, 200).await;
    assert_eq!(now["title"], "Changed through the API");
}

async fn reads_racing_registrations_never_keep_the_old_seat_count(app: TestApp) {
    // The cache is cleared after the registration's transaction is over: a read racing it
    // cannot keep the old seat count for the next reader.
    let event = app.published_webinar(60).await;
    let path = format!("/api/v1/events/{event}");
    let done = std::sync::atomic::AtomicBool::new(false);
    let readers = futures_util::future::join_all((0..4).map(|_| async {
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            expect_status(app.get(&path).await, 200).await;
        }
    }));
    let writer = async {
        for k in 1..=40 {
            register(&app, &event, k).await;
            let now = expect_status(app.get(&path).await, 200).await;
            assert_eq!(now["seats_left"], 60 - k as i64, "after registration {k}");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    futures_util::future::join(readers, writer).await;
}

both_backends!(
    a_cached_answer_is_served_and_other_apps_writes_do_not_clear_it,
    reads_racing_registrations_never_keep_the_old_seat_count
);
