//! Faults that heal: a panic inside a transaction, database sessions ended by the server, a
//! background worker that panics or stalls, a slow SMTP relay, and an erasure while its email is
//! claimed. Each test breaks something on purpose and checks that the service comes back by
//! itself, losing nothing and sending nothing twice. Waits are bounded polls with generous limits.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use reqwest::Method;
use roadshow::db::schema::{businesses, events, outbox, registrations};
use roadshow::db::{new_id, now, Db, DbConnection};
use roadshow::error::AppError;
use roadshow::mail::worker::{self, Mailer};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, Backend, TestApp};
use crate::smtp_sink::SmtpSink;

/// Polls `check` every 100 ms until it gives a value; fails after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn registration_body(n: usize) -> Value {
    json!({
        "business": {"name": format!("Shop {n}"), "email": format!("owner{n}@shop{n}.example"), "state": "TX"},
        "attendee": {"name": format!("Ana {n}"), "email": format!("attendee{n}@shop{n}.example")},
        "marketing_consent": false
    })
}

async fn register(app: &TestApp, event: &str, n: usize) -> Value {
    let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration_body(n)).await;
    expect_status(r, 201).await
}

/// A pool of its own on the test's database, so that what it sees was committed.
fn independent(app: &TestApp) -> Db {
    Db::connect(&app.config.database_url, 1).expect("an independent connection")
}

fn count_registrations(db: &Db, ids: &[String]) -> i64 {
    let mut conn = db.get().unwrap();
    registrations::table.filter(registrations::id.eq_any(ids)).count().get_result(&mut *conn).unwrap()
}

fn mailer(app: &TestApp, sink: &SmtpSink, worker_id: &str) -> Mailer {
    let mut config = app.config.clone();
    config.smtp_url = Some(sink.url());
    let mut m = Mailer::from_config(&config).expect("mailer");
    m.worker_id = worker_id.into();
    m
}

/// (id, registration id, recipient, status) of every outbox row.
fn outbox_rows(app: &TestApp) -> Vec<(String, Option<String>, String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .order(outbox::id)
        .select((outbox::id, outbox::registration_id, outbox::recipient, outbox::status))
        .load(&mut *conn)
        .unwrap()
}

fn message_ids(sink: &SmtpSink) -> Vec<String> {
    sink.received()
        .iter()
        .map(|r| {
            let text = String::from_utf8_lossy(&r.data).to_string();
            let line = text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).expect("a Message-ID");
            line["message-id:".len()..].trim().to_string()
        })
        .collect()
}

async fn readyz(app: &TestApp) -> (u16, Value) {
    let r = app.get("/readyz").await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_panic_inside_a_transaction_rolls_back_and_leaves_every_pooled_connection_usable(app: TestApp) {
    let event = app.published_webinar(10).await;
    assert_eq!(app.db.pool().max_size(), 2);

    // As many panics as the pool has connections, each in the middle of a write transaction
    // that has already inserted a row.
    let mut panicked = Vec::new();
    for n in 0..2 {
        let id = new_id();
        panicked.push(id.clone());
        let write = app.db.write(move |c| -> Result<(), AppError> {
            let ts = now();
            diesel::insert_into(businesses::table)
                .values((
                    businesses::id.eq(&id),
                    businesses::name.eq(format!("Half-written {n}")),
                    businesses::created_at.eq(ts),
                    businesses::updated_at.eq(ts),
                ))
                .execute(c)?;
            panic!("a bug inside a transaction (injected by the test)");
        });
        let result =
            tokio::time::timeout(Duration::from_secs(60), write).await.expect("the panic is answered, not hung");
        assert!(matches!(result, Err(AppError::Internal(_))), "a panic is an internal error: {result:?}");
    }

    // Every connection the pool hands out, all at once, is outside any transaction and sees no
    // trace of the half-written rows.
    let db = app.db.clone();
    let ids = panicked.clone();
    tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for _ in 0..db.pool().max_size() {
            let mut conn = db.get().expect("a pooled connection");
            let depth = <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(&mut conn)
                .transaction_depth()
                .expect("a valid transaction manager");
            assert!(depth.is_none(), "a pooled connection was handed out inside a transaction");
            let seen: i64 =
                businesses::table.filter(businesses::id.eq_any(&ids)).count().get_result(&mut *conn).unwrap();
            assert_eq!(seen, 0, "a pooled connection still sees rows of a transaction that panicked");
            held.push(conn);
        }
    })
    .await
    .unwrap();

    // The service goes on as if nothing happened, on every connection of the pool.
    let mut made = Vec::new();
    for n in 0..6 {
        made.push(register(&app, &event, n).await["id"].as_str().unwrap().to_string());
    }
    let other = independent(&app);
    assert_eq!(count_registrations(&other, &made), 6, "every 201 was committed");
    let mut conn = other.get().unwrap();
    let leftovers: i64 =
        businesses::table.filter(businesses::id.eq_any(&panicked)).count().get_result(&mut *conn).unwrap();
    assert_eq!(leftovers, 0, "the panicked transactions were rolled back");
    assert_eq!(readyz(&app).await.0, 200);
}

both_backends!(with |c: &mut roadshow::config::Config| c.db_pool_size = 2; a_panic_inside_a_transaction_rolls_back_and_leaves_every_pooled_connection_usable);

async fn a_worker_that_panics_is_restarted_and_email_still_goes_out(app: TestApp) {
    let event = app.published_webinar(10).await;
    let reg = register(&app, &event, 1).await;
    let reg_id = reg["id"].as_str().unwrap().to_string();
    // An event that has ended: the scheduler marks it completed once it runs again.
    let ended = crate::fixtures::event(&app, "published", 10, -2, Some("TX"), &[]);

    let db = app.db.clone();
    eventually(Duration::from_secs(60), "the confirmation is sent after the worker's panic", || {
        let db = db.clone();
        let reg_id = reg_id.clone();
        async move {
            let mut conn = db.get().unwrap();
            let status: String = outbox::table
                .filter(outbox::registration_id.eq(Some(reg_id)))
                .select(outbox::status)
                .first(&mut *conn)
                .unwrap();
            (status == "sent").then_some(())
        }
    })
    .await;
    eventually(Duration::from_secs(60), "the scheduler completes the ended event after its panic", || {
        let db = db.clone();
        let ended = ended.clone();
        async move {
            let mut conn = db.get().unwrap();
            let status: String = events::table.find(ended).select(events::status).first(&mut *conn).unwrap();
            (status == "completed").then_some(())
        }
    })
    .await;
    let faults = &app.config.fault_injection;
    assert_eq!(faults.outbox_worker_panics.load(Ordering::SeqCst), 0, "the outbox worker did panic");
    assert_eq!(faults.scheduler_panics.load(Ordering::SeqCst), 0, "the scheduler did panic");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["workers"]["outbox_worker"]["status"], "running", "{body}");
    assert_eq!(body["workers"]["scheduler"]["status"], "running", "{body}");
}

both_backends!(with |c: &mut roadshow::config::Config| {
            c.background = true;
            c.mail_poll_ms = 50;
            c.scheduler_interval_secs = 1;
            c.fault_injection.outbox_worker_panics.store(1, Ordering::SeqCst);
            c.fault_injection.scheduler_panics.store(1, Ordering::SeqCst);
        }; a_worker_that_panics_is_restarted_and_email_still_goes_out);

async fn readiness_names_a_worker_that_stopped_making_progress_until_it_recovers(app: TestApp) {
    let a = &app;
    let stalled =
        eventually(Duration::from_secs(30), "/readyz reports the stalled outbox worker", move || async move {
            let (status, body) = readyz(a).await;
            (status == 503).then_some(body)
        })
        .await;
    assert_eq!(stalled["status"], "unavailable", "{stalled}");
    assert_eq!(stalled["stalled"], json!(["outbox_worker"]), "{stalled}");
    assert_eq!(stalled["workers"]["outbox_worker"]["status"], "stalled", "{stalled}");
    assert_eq!(stalled["workers"]["scheduler"]["status"], "running", "{stalled}");
    assert_eq!(stalled["database_ok"], true, "{stalled}");

    let ready =
        eventually(Duration::from_secs(60), "/readyz is ready again once the worker runs", move || async move {
            let (status, body) = readyz(a).await;
            (status == 200).then_some(body)
        })
        .await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["workers"]["outbox_worker"]["status"], "running", "{ready}");
    assert_eq!(app.config.fault_injection.outbox_worker_panics.load(Ordering::SeqCst), 0);
}

both_backends!(with |c: &mut roadshow::config::Config| {
            c.background = true;
            c.mail_poll_ms = 100;
            c.worker_stall_secs = 1;
            // Panics in a row: restarted after 1, 2 and 4 s, so for about 7 s it completes no step.
            c.fault_injection.outbox_worker_panics.store(3, Ordering::SeqCst);
        }; readiness_names_a_worker_that_stopped_making_progress_until_it_recovers);

async fn readiness_reports_no_workers_when_background_work_is_off(app: TestApp) {
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" });
    assert_eq!(body["workers"], json!({}));
}

async fn a_slow_relay_never_lets_another_worker_send_the_same_email_again(app: TestApp) {
    let slow_sink = SmtpSink::start().await;
    let fast_sink = SmtpSink::start().await;
    // Each message takes longer to accept than the slow worker's whole lease.
    slow_sink.set_delay(Duration::from_millis(1500));
    let event = app.published_webinar(10).await;
    for n in 1..=3 {
        register(&app, &event, n).await;
    }
    let mut slow = mailer(&app, &slow_sink, "slow-worker");
    slow.lease = chrono::Duration::seconds(1);
    slow.concurrency = 1;
    let fast = mailer(&app, &fast_sink, "fast-worker");

    let db = app.db.clone();
    let slow_step = tokio::task::spawn_blocking(move || worker::deliver_due_blocking(&db, &slow, Utc::now()));
    let a = &app;
    eventually(Duration::from_secs(30), "the slow worker claims the batch", move || async move {
        let mut conn = a.db.get().unwrap();
        let claimed: i64 =
            outbox::table.filter(outbox::locked_by.eq("slow-worker")).count().get_result(&mut *conn).unwrap();
        (claimed == 3).then_some(())
    })
    .await;

    // Meanwhile another worker keeps looking for due email, and the first outcome is recorded
    // while the rest of the batch is still going out.
    let mut recorded_mid_batch = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !slow_step.is_finished() {
        assert!(Instant::now() < deadline, "the slow worker's step did not end");
        worker::deliver_due(&app.db, &fast, Utc::now()).await.unwrap();
        let sent = outbox_rows(&app).iter().filter(|r| r.3 == "sent").count();
        if sent > 0 && sent < 3 && !slow_step.is_finished() {
            recorded_mid_batch = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = slow_step.await.unwrap().unwrap();
    assert_eq!((stats.claimed, stats.sent, stats.skipped), (3, 3, 0), "{stats:?}");
    assert!(recorded_mid_batch, "each outcome is recorded as soon as it is known, not after the batch");

    let mut ids = message_ids(&slow_sink);
    ids.extend(message_ids(&fast_sink));
    ids.sort();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), 3, "each email delivered exactly once: {ids:?}");
    assert_eq!(unique.len(), 3, "{ids:?}");
    assert!(fast_sink.received().is_empty(), "the other worker never took over a row in flight");
    assert!(outbox_rows(&app).iter().all(|r| r.3 == "sent"), "{:?}", outbox_rows(&app));
}

async fn an_email_claimed_before_its_business_is_erased_is_not_sent(app: TestApp) {
    let sink = SmtpSink::start().await;
    sink.set_delay(Duration::from_millis(1500));
    let event = app.published_webinar(10).await;
    let mut tokens = HashMap::new();
    for n in 1..=3 {
        let reg = register(&app, &event, n).await;
        tokens.insert(reg["id"].as_str().unwrap().to_string(), reg["manage_token"].as_str().unwrap().to_string());
    }
    let mut m = mailer(&app, &sink, "worker-one");
    m.concurrency = 1;

    let db = app.db.clone();
    let step = tokio::task::spawn_blocking(move || worker::deliver_due_blocking(&db, &m, Utc::now()));
    // While the first message is with the (slow) relay, the business of a claimed, not yet
    // sent email erases its data.
    let relay = &sink;
    let first = eventually(Duration::from_secs(30), "the first message reaches the relay", move || async move {
        relay.received().first().map(|r| r.rcpt_to[0].clone())
    })
    .await;
    let rows = outbox_rows(&app);
    assert_eq!(rows.len(), 3);
    let (erased_email, erased_reg) =
        rows.iter().find(|r| r.2 != first).map(|r| (r.2.clone(), r.1.clone().unwrap())).unwrap();
    let path = format!("/api/v1/registrations/{erased_reg}/business-data/erase");
    let summary = expect_status(app.request(Method::POST, &path, Some(&tokens[&erased_reg]), None).await, 200).await;
    assert_eq!(summary["emails_dropped"], 1, "the claimed email is dropped: {summary}");

    let stats = tokio::time::timeout(Duration::from_secs(60), step).await.expect("the step ends").unwrap().unwrap();
    assert_eq!((stats.claimed, stats.sent, stats.skipped), (3, 2, 1), "{stats:?}");
    let to: Vec<String> = sink.received().iter().map(|r| r.rcpt_to[0].clone()).collect();
    assert_eq!(to.len(), 2, "{to:?}");
    assert!(!to.contains(&erased_email), "the erased business's email went out: {to:?}");
    let rows = outbox_rows(&app);
    let erased = rows.iter().find(|r| r.1.as_deref() == Some(erased_reg.as_str())).unwrap();
    assert_eq!(erased.3, "dropped");
    assert_eq!(erased.2, "erased");
    assert_eq!(rows.iter().filter(|r| r.3 == "sent").count(), 2);
}

both_backends!(
    readiness_reports_no_workers_when_background_work_is_off,
    a_slow_relay_never_lets_another_worker_send_the_same_email_again,
    an_email_claimed_before_its_business_is_erased_is_not_sent
);

/// Ends every session of the test's database but the caller's own, as a database restart or an
/// administrator would. Returns how many.
fn terminate_sessions(database_url: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut admin = diesel::PgConnection::establish(database_url).expect("an administrator's connection");
    let killed: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
    )
    .get_result(&mut admin)
    .expect("pg_terminate_backend");
    admin.batch_execute("SELECT 1").unwrap();
    killed.n
}

/// PostgreSQL only: SQLite has no server to end a session (its half of the pool's fault handling
/// is the panic test above).
mod sessions_ended_by_the_database_server_heal_within_seconds_and_lose_nothing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(roadshow_pg), ignore = "ROADSHOW_TEST_POSTGRES_URL is not set")]
    async fn postgres() {
        let app = TestApp::spawn(Backend::Postgres, |c| c.db_pool_size = 4).await;
        let event = app.published_webinar(1000).await;
        // Open every connection of the pool.
        let warm: Vec<_> = (0..8).map(|n| register(&app, &event, n)).collect();
        let mut accepted: Vec<String> =
            futures_util::future::join_all(warm).await.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        assert!(app.db.pool().state().connections >= 1, "{:?}", app.db.pool().state());

        let killed = terminate_sessions(&app.config.database_url);
        assert!(killed >= 1, "the server's sessions were ended ({killed})");

        // Ready again by itself, and registrations succeed again, within seconds.
        let a = &app;
        eventually(Duration::from_secs(10), "/readyz is ready again", move || async move {
            (readyz(a).await.0 == 200).then_some(())
        })
        .await;
        let terminated_again = terminate_sessions(&app.config.database_url);
        assert!(terminated_again >= 1, "{terminated_again}");
        let path = format!("/api/v1/events/{event}/registrations");
        let tries = std::sync::atomic::AtomicUsize::new(100);
        let (path_ref, tries_ref) = (&path, &tries);
        let id = eventually(Duration::from_secs(10), "a registration succeeds again", move || async move {
            let n = tries_ref.fetch_add(1, Ordering::SeqCst);
            let r = a.post_json(path_ref, &registration_body(n)).await;
            match r.status().as_u16() {
                201 => Some(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()),
                503 => {
                    expect_problem(r, 503, None).await;
                    None
                }
                other => {
                    panic!("a registration after the sessions ended answered {other}: {}", r.text().await.unwrap())
                }
            }
        })
        .await;
        accepted.push(id);

        // A burst after the second loss: every request answers, and every 201 is in the database.
        let bodies: Vec<Value> = (200..212).map(registration_body).collect();
        let burst: Vec<_> = bodies.iter().map(|body| app.post_json(&path, body)).collect();
        for r in futures_util::future::join_all(burst).await {
            match r.status().as_u16() {
                201 => accepted.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()),
                _ => {
                    expect_problem(r, 503, None).await;
                }
            }
        }
        let other = independent(&app);
        assert_eq!(count_registrations(&other, &accepted) as usize, accepted.len(), "every 201 is in the database");
        assert_eq!(readyz(&app).await.0, 200);
    }
}
