//! Seat races over several seat counter rows (`event_seat_shards`: one per 32 seats, at most 16),
//! through real HTTP, and capacity changes racing registrations. Every race also checks that no
//! transaction had to be run again (`Db::transient_retries`): a deadlock that was silently retried
//! would still fail these tests.

use std::collections::HashSet;

use diesel::prelude::*;
use roadshow::db::schema::{event_seat_shards, registrations};
use serde_json::{json, Value};

use crate::helpers::{assert_no_retries, expect_status, Backend, TestApp};
use crate::registrations::{assert_invariants, register, registration};

/// (capacity, taken) of each seat shard of an event, in shard order.
fn shards(app: &TestApp, event: &str) -> Vec<(i32, i32)> {
    let mut conn = app.db.get().unwrap();
    event_seat_shards::table
        .filter(event_seat_shards::event_id.eq(event))
        .order(event_seat_shards::shard)
        .select((event_seat_shards::capacity, event_seat_shards::taken))
        .load(&mut *conn)
        .unwrap()
}

/// (status, waitlist ticket) of every registration of an event.
fn statuses(app: &TestApp, event: &str) -> Vec<(String, Option<i64>)> {
    let mut conn = app.db.get().unwrap();
    registrations::table
        .filter(registrations::event_id.eq(event))
        .select((registrations::status, registrations::waitlist_ticket))
        .load(&mut *conn)
        .unwrap()
}

/// The waitlist was served first come, first served: everyone promoted from it held an earlier
/// ticket than everyone still on it.
fn assert_promoted_in_order(app: &TestApp, event: &str) {
    let rows = statuses(app, event);
    let promoted = rows.iter().filter(|(s, t)| s == "confirmed" && t.is_some()).filter_map(|r| r.1).max();
    let waiting = rows.iter().filter(|(s, _)| s == "waitlisted").filter_map(|r| r.1).min();
    if let (Some(p), Some(w)) = (promoted, waiting) {
        assert!(p < w, "ticket {p} was promoted while ticket {w} still waits");
    }
}

async fn two_hundred_racing_requests_fill_150_seats_over_four_shards(app: TestApp) {
    let event = app.published_webinar(150).await;
    assert_eq!(shards(&app, &event).len(), 4, "150 seats are four counter rows");
    // On PostgreSQL, two server processes share the database and the requests alternate.
    let sibling = if app.backend == Backend::Postgres { Some(app.spawn_sibling_with_db().await) } else { None };
    let futures = (0..200).map(|n| {
        let base = match &sibling {
            Some((address, _)) if n % 2 == 1 => address.clone(),
            _ => app.address.clone(),
        };
        let url = format!("{base}/api/v1/events/{event}/registrations");
        let app = &app;
        async move { expect_status(app.client.post(url).json(&registration(n)).send().await.unwrap(), 201).await }
    });
    let results: Vec<Value> = futures_util::future::join_all(futures).await;
    let confirmed = results.iter().filter(|r| r["status"] == "confirmed").count();
    let waitlisted: Vec<&Value> = results.iter().filter(|r| r["status"] == "waitlisted").collect();
    assert_eq!(confirmed, 150);
    assert_eq!(waitlisted.len(), 50);
    let positions: HashSet<i64> = waitlisted.iter().map(|r| r["waitlist_position"].as_i64().unwrap()).collect();
    assert_eq!(positions, (1..=50).collect::<HashSet<i64>>());
    // Every shard is full, and the counters equal the confirmed registrations.
    for (capacity, taken) in shards(&app, &event) {
        assert_eq!(taken, capacity, "{:?}", shards(&app, &event));
    }
    assert_invariants(&app, &event);
    let public = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(public["seats_left"], 0);
    app.assert_no_retries();
    if let Some((_, db)) = &sibling {
        assert_no_retries(db);
    }
}

async fn capacity_raised_and_lowered_while_registrations_race_stays_within_capacity(app: TestApp) {
    let event = app.published_webinar(100).await;
    assert_eq!(shards(&app, &event).len(), 3, "100 seats are three counter rows");
    // 90 seats taken first, so lowering below what is taken is refused and lowering above it
    // is not, whatever the race does.
    for n in 0..90 {
        register(&app, &event, n).await;
    }
    let path = format!("/api/v1/admin/events/{event}");
    let registrations = futures_util::future::join_all((90..230).map(|n| {
        let app = &app;
        let event = event.clone();
        async move {
            let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(n)).await;
            expect_status(r, 201).await
        }
    }));
    let changes = async {
        // A raise is always accepted; a cut below the 90 seats taken before the race always
        // refused; any other cut depends on how far the race got.
        let mut current: i64 = 100;
        for capacity in [130i64, 95, 170, 80, 120, 200, 110, 150] {
            let r = app.admin_patch(&path, &json!({"capacity": capacity})).await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if capacity >= current {
                assert_eq!(status, 200, "raise to {capacity}: {body}");
            } else if capacity < 90 {
                assert_eq!(status, 409, "cut to {capacity}: {body}");
            } else {
                assert!(status == 200 || status == 409, "cut to {capacity}: {status} {body}");
            }
            if status == 200 {
                current = capacity;
            }
            assert_invariants(&app, &event);
        }
        current
    };
    let (results, capacity) = tokio::join!(registrations, changes);
    assert_eq!(results.len(), 140);
    let admin = expect_status(app.admin_get(&path).await, 200).await;
    assert_eq!(admin["capacity"], capacity, "{admin}");
    // 230 registrations: the event is full (or everyone got in), the rest wait, in ticket order.
    let confirmed = 230.min(capacity);
    let rows = statuses(&app, &event);
    assert_eq!(rows.iter().filter(|r| r.0 == "confirmed").count() as i64, confirmed);
    assert_eq!(rows.iter().filter(|r| r.0 == "waitlisted").count() as i64, 230 - confirmed);
    assert_eq!(shards(&app, &event).len(), 3);
    let taken: i64 = shards(&app, &event).iter().map(|s| i64::from(s.1)).sum();
    assert_eq!(taken, confirmed);
    assert_invariants(&app, &event);
    assert_promoted_in_order(&app, &event);
    assert_eq!(admin["admin"]["registrations"]["confirmed"], confirmed);
    assert_eq!(admin["admin"]["registrations"]["waitlisted"], 230 - confirmed);
    app.assert_no_retries();
}

/// The full-event boundary under fire: seats freed by cancellations while newcomers race for them
/// and for the waitlist, over four shards and (on PostgreSQL) two server processes. A seat attempt
/// that finds the event full holds locks on shards it looked at; if it then waited for the event
/// row (held by a cancellation waiting for one of those shards) the two would deadlock.
async fn cancellations_and_newcomers_racing_at_the_full_mark_never_deadlock(app: TestApp) {
    let event = app.published_webinar(128).await;
    assert_eq!(shards(&app, &event).len(), 4);
    let sibling = if app.backend == Backend::Postgres { Some(app.spawn_sibling_with_db().await) } else { None };
    let first: Vec<Value> = futures_util::future::join_all((0..128).map(|n| register(&app, &event, n))).await;
    assert!(first.iter().all(|r| r["status"] == "confirmed"));
    let mut held: Vec<Value> = first;
    let mut next = 128;
    for round in 0..3 {
        // Every third holder cancels while 60 newcomers arrive, alternating between the servers.
        let cancelling: Vec<Value> = held.iter().skip(round).step_by(3).take(40).cloned().collect();
        let cancels = cancelling.iter().map(|r| {
            let (id, token) = (r["id"].as_str().unwrap().to_string(), r["manage_token"].as_str().unwrap().to_string());
            let app = &app;
            async move {
                let r = app
                    .request(reqwest::Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(&token), None)
                    .await;
                expect_status(r, 200).await;
            }
        });
        let newcomers = (next..next + 60).map(|n| {
            let base = match &sibling {
                Some((address, _)) if n % 2 == 1 => address.clone(),
                _ => app.address.clone(),
            };
            let url = format!("{base}/api/v1/events/{event}/registrations");
            let app = &app;
            async move { expect_status(app.client.post(url).json(&registration(n)).send().await.unwrap(), 201).await }
        });
        let (_, arrived) =
            tokio::join!(futures_util::future::join_all(cancels), futures_util::future::join_all(newcomers));
        next += 60;
        let gone: HashSet<&str> = cancelling.iter().map(|r| r["id"].as_str().unwrap()).collect();
        held.retain(|r| !gone.contains(r["id"].as_str().unwrap()));
        held.extend(arrived);
        assert_invariants(&app, &event);
        assert_promoted_in_order(&app, &event);
        for (capacity, taken) in shards(&app, &event) {
            assert_eq!(taken, capacity, "round {round}: a seat is free while people wait: {:?}", shards(&app, &event));
        }
    }
    let rows = statuses(&app, &event);
    assert_eq!(rows.iter().filter(|r| r.0 == "confirmed").count(), 128);
    assert_eq!(rows.iter().filter(|r| r.0 == "cancelled").count(), 120);
    assert_eq!(rows.iter().filter(|r| r.0 == "waitlisted").count(), 128 + 180 - 120 - 128);
    app.assert_no_retries();
    if let Some((_, db)) = &sibling {
        assert_no_retries(db);
    }
}

both_backends!(
    two_hundred_racing_requests_fill_150_seats_over_four_shards,
    cancellations_and_newcomers_racing_at_the_full_mark_never_deadlock,
    capacity_raised_and_lowered_while_registrations_race_stays_within_capacity
);
