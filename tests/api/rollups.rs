//! The counters behind the reports and the outbox stats (`roadshow::rollups`): kept by triggers,
//! folded by the scheduler, and equal to a full count at every moment — while registrations,
//! cancellations with promotion and folds race each other, and after a fold.

use std::collections::BTreeMap;

use diesel::dsl::count_star;
use diesel::prelude::*;
use roadshow::db::schema::{outbox, outbox_count_deltas, registration_count_deltas, registrations};
use serde_json::Value;

use crate::helpers::{expect_status, TestApp};
use crate::registrations::register;

/// Registrations by status, counted row by row.
fn counted(app: &TestApp) -> BTreeMap<String, i64> {
    let mut conn = app.db.get().unwrap();
    registrations::table
        .group_by(registrations::status)
        .select((registrations::status, count_star()))
        .load::<(String, i64)>(&mut *conn)
        .unwrap()
        .into_iter()
        .collect()
}

/// Outbox rows by status, counted row by row.
fn counted_outbox(app: &TestApp) -> BTreeMap<String, i64> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .group_by(outbox::status)
        .select((outbox::status, count_star()))
        .load::<(String, i64)>(&mut *conn)
        .unwrap()
        .into_iter()
        .collect()
}

fn deltas(app: &TestApp) -> (i64, i64) {
    let mut conn = app.db.get().unwrap();
    (
        registration_count_deltas::table.count().get_result(&mut *conn).unwrap(),
        outbox_count_deltas::table.count().get_result(&mut *conn).unwrap(),
    )
}

/// What the national report and the outbox stats say, by status.
async fn reported(app: &TestApp) -> (BTreeMap<String, i64>, BTreeMap<String, i64>) {
    let states = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
    let mut regs = BTreeMap::new();
    for row in states["items"].as_array().unwrap() {
        for s in ["confirmed", "waitlisted", "cancelled", "attended"] {
            *regs.entry(s.to_string()).or_insert(0) += row["registrations"][s].as_i64().unwrap();
        }
    }
    regs.retain(|_, n| *n != 0);
    let stats = expect_status(app.admin_get("/api/v1/admin/outbox/stats").await, 200).await;
    let mut mail = BTreeMap::new();
    for s in ["pending", "sent", "dead", "dropped", "suppressed"] {
        if let Some(n) = stats[s].as_i64().filter(|n| *n != 0) {
            mail.insert(s.to_string(), n);
        }
    }
    (regs, mail)
}

async fn fold(app: &TestApp) -> usize {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || roadshow::rollups::fold(&db).unwrap()).await.unwrap()
}

async fn counters_equal_a_full_count_while_registrations_cancellations_and_folds_race(app: TestApp) {
    let event = app.published_webinar(20).await;
    let before = reported(&app).await;
    assert!(before.0.is_empty(), "nothing registered yet: {before:?}");
    // 50 registrations (20 seats: 30 wait) while folds run back to back.
    let racing = std::sync::atomic::AtomicBool::new(true);
    let folds = async {
        let mut n = 0;
        while racing.load(std::sync::atomic::Ordering::SeqCst) {
            n += fold(&app).await;
        }
        n
    };
    let work = async {
        let first: Vec<Value> = futures_util::future::join_all((0..50).map(|n| register(&app, &event, n))).await;
        // 12 confirmed registrations cancelled: 12 promotions from the waitlist, raced by folds.
        let confirmed: Vec<&Value> = first.iter().filter(|r| r["status"] == "confirmed").take(12).collect();
        assert_eq!(confirmed.len(), 12);
        futures_util::future::join_all(confirmed.into_iter().map(|r| {
            let (id, token) = (r["id"].as_str().unwrap(), r["manage_token"].as_str().unwrap());
            let app = &app;
            async move {
                let path = format!("/api/v1/registrations/{id}");
                expect_status(app.request(reqwest::Method::DELETE, &path, Some(token), None).await, 200).await;
            }
        }))
        .await;
        racing.store(false, std::sync::atomic::Ordering::SeqCst);
    };
    let (batches, ()) = tokio::join!(folds, work);
    assert!(batches > 0, "some folds ran during the race");
    // One more after the race, so there is something not folded yet.
    assert_eq!(register(&app, &event, 50).await["status"], "waitlisted");
    assert!(deltas(&app).0 > 0);
    let want: BTreeMap<String, i64> =
        [("confirmed", 20), ("waitlisted", 19), ("cancelled", 12)].map(|(s, n)| (s.to_string(), n)).into();
    assert_eq!(counted(&app), want);
    // Exact before the last fold (folded rows + deltas), after it, and with nothing left to fold.
    let (regs, mail) = reported(&app).await;
    assert_eq!(regs, want);
    assert_eq!(mail, counted_outbox(&app));
    fold(&app).await;
    assert_eq!(deltas(&app), (0, 0), "a fold takes every delta");
    let (regs, mail) = reported(&app).await;
    assert_eq!(regs, want);
    assert_eq!(mail, counted_outbox(&app));
    assert!(mail["pending"] > 0, "the confirmations and notices wait in the outbox: {mail:?}");
    assert_eq!(fold(&app).await, 0, "nothing left to fold");
}

/// Every path that changes a row is counted, because the triggers are on the tables: a status
/// changed by a direct update, a deleted row, an email sent.
async fn every_change_is_counted_whatever_code_made_it(app: TestApp) {
    let event = app.published_webinar(5).await;
    let regs: Vec<Value> = futures_util::future::join_all((0..6).map(|n| register(&app, &event, n))).await;
    fold(&app).await;
    {
        let mut conn = app.db.get().unwrap();
        let confirmed = regs.iter().find(|r| r["status"] == "confirmed").unwrap()["id"].as_str().unwrap();
        diesel::update(registrations::table.find(confirmed))
            .set(registrations::status.eq("attended"))
            .execute(&mut *conn)
            .unwrap();
        let waiting = regs.iter().find(|r| r["status"] == "waitlisted").unwrap()["id"].as_str().unwrap();
        diesel::delete(registrations::table.find(waiting)).execute(&mut *conn).unwrap();
        // Updating something else than the status appends nothing.
        diesel::update(registrations::table.filter(registrations::event_id.eq(&event)))
            .set(registrations::calendar_sequence.eq(registrations::calendar_sequence + 1))
            .execute(&mut *conn)
            .unwrap();
        let one = outbox::table.select(outbox::id).first::<String>(&mut *conn).unwrap();
        diesel::update(outbox::table.find(one)).set(outbox::status.eq("sent")).execute(&mut *conn).unwrap();
    }
    assert_eq!(deltas(&app), (3, 2), "attended: -1 +1, deleted: -1; one email: -1 +1");
    let want: BTreeMap<String, i64> = [("confirmed", 4), ("attended", 1)].map(|(s, n)| (s.to_string(), n)).into();
    assert_eq!(counted(&app), want);
    for _ in 0..2 {
        let (regs, mail) = reported(&app).await;
        assert_eq!(regs, want);
        assert_eq!(mail, counted_outbox(&app));
        assert_eq!(mail["sent"], 1);
        fold(&app).await;
    }
}

/// A report read while folds move deltas into the counters never sees a delta twice or not at
/// all: with registrations only being added, the total it reports never goes down, and ends exact.
async fn a_report_read_during_folds_never_misses_or_doubles_a_delta(app: TestApp) {
    let event = app.published_webinar(1000).await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let total = || async {
        let states = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
        states["items"].as_array().unwrap().iter().map(|r| r["registrations"]["total"].as_i64().unwrap()).sum::<i64>()
    };
    let writes = async {
        for wave in 0..12 {
            futures_util::future::join_all((0..10).map(|i| register(&app, &event, wave * 10 + i))).await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let folds = async {
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            fold(&app).await;
        }
    };
    let reads = async {
        let mut seen = Vec::new();
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            seen.push(total().await);
        }
        seen
    };
    let ((), (), seen) = tokio::join!(writes, folds, reads);
    assert!(seen.len() >= 3, "the reads ran during the writes: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "a report went down while only registrations were added: {seen:?}");
    assert!(seen.iter().all(|n| *n <= 120), "a report counted more than there are: {seen:?}");
    assert_eq!(total().await, 120);
}

both_backends!(
    a_report_read_during_folds_never_misses_or_doubles_a_delta,
    counters_equal_a_full_count_while_registrations_cancellations_and_folds_race,
    every_change_is_counted_whatever_code_made_it
);
