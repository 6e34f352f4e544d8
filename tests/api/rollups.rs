//! The counters behind the reports and the outbox stats (`roadshow::rollups`): kept by triggers,
//! folded by the scheduler, and equal to a full count at every moment — while registrations,
//! cancellations with promotion and folds race each other, and after a fold.

use std::collections::BTreeMap;

use diesel::dsl::count_star;
use diesel::prelude::*;
use roadshow::db::schema::{
    event_hosts, events, outbox, outbox_count_deltas, registration_count_deltas, registrations, report_counts,
    report_dirty, report_event_facts, venues,
};
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

/// The four reports a test compares: national per state and per organization, and the same for
/// an organizer of `org` (its organization's events only). Without `generated_at`.
async fn all_reports(app: &TestApp, organizer: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in ["/api/v1/admin/reports/states", "/api/v1/admin/reports/organizations"] {
        out.push(expect_status(app.admin_get(path).await, 200).await["items"].clone());
        let r = app.request(reqwest::Method::GET, path, Some(organizer), None).await;
        out.push(expect_status(r, 200).await["items"].clone());
    }
    out
}

/// Forgets every report counter and recorded contribution, marks every event, and folds: the
/// reports computed from nothing, to compare the incremental ones with.
async fn rebuild_report_counters(app: &TestApp) {
    {
        let mut conn = app.db.get().unwrap();
        diesel::delete(report_counts::table).execute(&mut *conn).unwrap();
        diesel::delete(report_event_facts::table).execute(&mut *conn).unwrap();
        let ids: Vec<String> = events::table.select(events::id).load(&mut *conn).unwrap();
        for id in ids {
            diesel::insert_into(report_dirty::table).values(report_dirty::event_id.eq(id)).execute(&mut *conn).unwrap();
        }
    }
    fold(app).await;
    let mut conn = app.db.get().unwrap();
    let dirty: i64 = report_dirty::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(dirty, 0, "the fold took every mark");
}

fn row<'a>(items: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    items.as_array().unwrap().iter().find(|r| r[field] == value)
}

/// The per-(organization, state) counters follow every change that moves an event's share, by
/// whatever code: a venue that moves to another state, a host added or removed, capacity and
/// status changes, registrations. Before a fold (rows corrected at read), after it, and rebuilt
/// from nothing, the four reports are the same, for an admin and for an organizer.
async fn report_rows_follow_every_change_to_an_event_before_and_after_a_fold(app: TestApp) {
    let a = app.create_org("Texas Chamber", "local_chamber", &["TX"]).await;
    let b = app.create_org("West Federation", "regional_office", &["CA", "OK"]).await;
    let (_, organizer_a) = crate::fixtures::staff(&app, "organizer", Some(&a)).await;
    let venue = app.create_venue("TX").await;
    let e1 = crate::fixtures::event(&app, "published", 10, 5, Some("TX"), &[&a]);
    let e2 = crate::fixtures::event(&app, "published", 5, 6, None, &[&a, &b]);
    let e3 = crate::fixtures::event(&app, "completed", 20, -3, Some("CA"), &[&b]);
    {
        let mut conn = app.db.get().unwrap();
        diesel::update(events::table.find(&e2)).set(events::venue_id.eq(&venue)).execute(&mut *conn).unwrap();
    }
    let business = crate::fixtures::business(&app, "Corner Cafe", "owner@cafe.test");
    let mut regs = Vec::new();
    for (event, status, n) in
        [(&e1, "confirmed", 3), (&e1, "waitlisted", 1), (&e2, "confirmed", 5), (&e3, "attended", 4)]
    {
        for i in 0..n {
            let email = format!("p{i}-{status}@cafe.test");
            regs.push(crate::fixtures::registration(&app, event, &business, status, "Pat", &email).0);
        }
    }
    crate::fixtures::registration(&app, &e3, &business, "confirmed", "Sam", "sam@cafe.test");

    let first = all_reports(&app, &organizer_a).await;
    let tx = row(&first[0], "state", "TX").expect("a TX row");
    assert_eq!(tx["events"]["total"], 2, "e1, and e2 by its venue: {tx}");
    assert_eq!(tx["upcoming"]["seats_left"], 7, "10 - 3 and 5 - 5: {tx}");
    assert_eq!(row(&first[0], "state", "CA").unwrap()["attendance_rate"], 0.8);
    assert_eq!(first[1].as_array().unwrap().len(), 1, "the organizer's events are all in TX: {}", first[1]);
    fold(&app).await;
    assert_eq!(all_reports(&app, &organizer_a).await, first, "the same after a fold");

    // Changes behind the API's back, so only the triggers can see them.
    {
        let mut conn = app.db.get().unwrap();
        diesel::update(venues::table.find(&venue)).set(venues::state_code.eq("OK")).execute(&mut *conn).unwrap();
        diesel::update(events::table.find(&e1)).set(events::capacity.eq(30)).execute(&mut *conn).unwrap();
        diesel::insert_into(event_hosts::table)
            .values((event_hosts::event_id.eq(&e1), event_hosts::organization_id.eq(&b)))
            .execute(&mut *conn)
            .unwrap();
        diesel::delete(event_hosts::table.find((&e2, &a))).execute(&mut *conn).unwrap();
        diesel::update(events::table.find(&e3)).set(events::status.eq("cancelled")).execute(&mut *conn).unwrap();
        diesel::update(registrations::table.find(&regs[0]))
            .set(registrations::status.eq("cancelled"))
            .execute(&mut *conn)
            .unwrap();
    }
    let changed = all_reports(&app, &organizer_a).await;
    assert_ne!(changed, first);
    let ok = row(&changed[0], "state", "OK").expect("e2 moved with its venue");
    assert_eq!(ok["events"]["total"], 1);
    let tx = row(&changed[0], "state", "TX").unwrap();
    assert_eq!((tx["events"]["total"].as_i64(), tx["upcoming"]["seats_left"].as_i64()), (Some(1), Some(28)));
    assert_eq!(row(&changed[0], "state", "CA").unwrap()["attendance_rate"], Value::Null, "cancelled");
    let org_b = row(&changed[2], "organization_id", &b).unwrap();
    assert_eq!(org_b["events"]["total"], 3, "e1 joined e2 and e3: {org_b}");
    assert_eq!(changed[3].as_array().unwrap()[0]["events"]["total"], 1, "a no longer hosts e2");
    fold(&app).await;
    assert_eq!(all_reports(&app, &organizer_a).await, changed, "the same after a fold");
    rebuild_report_counters(&app).await;
    assert_eq!(all_reports(&app, &organizer_a).await, changed, "the same computed from nothing");
}

/// An event that starts or ends between two folds leaves "upcoming" or joins the attendance rate
/// the moment it does, with no change to its row and no fold.
async fn an_event_leaves_upcoming_the_moment_it_starts_without_a_fold(app: TestApp) {
    let event = crate::fixtures::event(&app, "published", 10, 5, Some("TX"), &[]);
    let business = crate::fixtures::business(&app, "Corner Cafe", "owner@cafe.test");
    crate::fixtures::registration(&app, &event, &business, "confirmed", "Pat", "pat@cafe.test");
    let start = roadshow::db::now() + chrono::Duration::seconds(2);
    crate::fixtures::move_event(&app, &event, start, start + chrono::Duration::seconds(2));
    fold(&app).await;
    let figures = || async {
        let states = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
        let tx = states["items"][0].clone();
        (tx["upcoming"]["events"].as_i64().unwrap(), tx["attendance_rate"].clone())
    };
    assert_eq!(figures().await, (1, Value::Null));
    let wait_until = |t: chrono::NaiveDateTime| async move {
        let left = (t - roadshow::db::now()).to_std().unwrap_or_default();
        tokio::time::sleep(left + std::time::Duration::from_millis(50)).await;
    };
    wait_until(start).await;
    assert_eq!(figures().await, (0, Value::Null), "started: no longer upcoming, not ended yet");
    wait_until(start + chrono::Duration::seconds(2)).await;
    assert_eq!(figures().await, (0, serde_json::json!(0.0)), "ended: its confirmed registration is a no-show");
    fold(&app).await;
    assert_eq!(figures().await, (0, serde_json::json!(0.0)));
    assert_eq!(fold(&app).await, 0, "recorded as ended: nothing more to fold");
}

both_backends!(
    report_rows_follow_every_change_to_an_event_before_and_after_a_fold,
    an_event_leaves_upcoming_the_moment_it_starts_without_a_fold,
    a_report_read_during_folds_never_misses_or_doubles_a_delta,
    counters_equal_a_full_count_while_registrations_cancellations_and_folds_race,
    every_change_is_counted_whatever_code_made_it
);

/// PostgreSQL only (SQLite has one writer, so neither race can happen there): the triggers that
/// keep an event's lists and its report marks hold when two transactions interleave.
mod concurrent_writers_neither_lose_a_host_nor_leave_an_event_in_its_old_state {
    use super::*;
    use crate::helpers::Backend;
    use diesel::connection::SimpleConnection;

    /// Runs `sql` on its own connection in a thread, inside a transaction that it commits once
    /// `release` is dropped; returns when the statement has been sent (it may block on a lock).
    fn in_open_transaction(url: &str, sql: String) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let url = url.to_string();
        let handle = std::thread::spawn(move || {
            let mut c = diesel::pg::PgConnection::establish(&url).unwrap();
            c.batch_execute("BEGIN").unwrap();
            c.batch_execute(&sql).unwrap();
            let _ = rx.recv();
            c.batch_execute("COMMIT").unwrap();
        });
        (tx, handle)
    }

    fn host_list(app: &TestApp, event: &str) -> String {
        let mut conn = app.db.get().unwrap();
        events::table.find(event).select(events::host_list).first(&mut *conn).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(roadshow_pg), ignore = "ROADSHOW_TEST_POSTGRES_URL is not set")]
    async fn postgres() {
        let app = TestApp::spawn(Backend::Postgres, |_| {}).await;
        let url = app.config.database_url.clone();
        let (a, b) = (
            app.create_org("Alpha", "local_chamber", &["TX"]).await,
            app.create_org("Beta", "local_chamber", &["TX"]).await,
        );
        let event = crate::fixtures::event(&app, "published", 10, 5, Some("TX"), &[]);

        // Two hosts added at once: the second waits for the first and lists both.
        let insert =
            |org: &str| format!("INSERT INTO event_hosts (event_id, organization_id) VALUES ('{event}', '{org}')");
        let (first, t1) = in_open_transaction(&url, insert(&a));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (second, t2) = in_open_transaction(&url, insert(&b));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(first);
        t1.join().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(second);
        t2.join().unwrap();
        let mut want = [a.clone(), b.clone()];
        want.sort();
        assert_eq!(host_list(&app, &event), want.join(","), "both hosts are listed");

        // A stop comes to a venue while the venue moves to another state, a fold in between.
        let venue = app.create_venue("TX").await;
        let stop = crate::fixtures::event(&app, "published", 10, 6, None, &[]);
        fold(&app).await;
        let (moving, tv) =
            in_open_transaction(&url, format!("UPDATE venues SET state_code = 'OK' WHERE id = '{venue}'"));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (placing, te) =
            in_open_transaction(&url, format!("UPDATE events SET venue_id = '{venue}' WHERE id = '{stop}'"));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // The stop's transaction would commit first and a fold read the venue's old state; the
        // venue's marks, from its own snapshot, would not name the stop. It must wait instead.
        drop(placing);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        fold(&app).await;
        drop(moving);
        tv.join().unwrap();
        te.join().unwrap();
        fold(&app).await;
        let states = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
        let ok = states["items"].as_array().unwrap().iter().find(|r| r["state"] == "OK");
        assert_eq!(ok.map(|r| r["events"]["total"].clone()), Some(serde_json::json!(1)), "the stop is in OK: {states}");
        rebuild_report_counters(&app).await;
        assert_eq!(
            expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await["items"],
            states["items"]
        );
    }
}
