//! Graceful shutdown of the real binary: SIGTERM during a burst of registrations and a mail batch
//! to a slow relay. Every 201 is in the database, every answer that came back is whole, the process
//! exits 0 within its bound, and every email it claimed is sent or free for the next process at
//! once. And a process killed outright leaves its claims to the others within the short lease.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use roadshow::db::schema::{outbox, registrations};
use serde_json::Value;

use crate::helpers::TestApp;
use crate::registrations::registration;
use crate::smtp_sink::SmtpSink;

/// Starts the real binary on the test's database; returns it and its base URL, and a thread
/// collecting its log.
fn start_binary(app: &TestApp, smtp: &str) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roadshow"))
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", &app.config.database_url)
        .env("ROADSHOW_BIND", "127.0.0.1:0")
        .env("ROADSHOW_SMTP_URL", smtp)
        .env("ROADSHOW_RATE_LIMIT_PER_MINUTE", "0")
        .env("ROADSHOW_HTTP_WORKERS", "2")
        .env("ROADSHOW_MAIL_POLL_MS", "50")
        .env("ROADSHOW_MAIL_CONCURRENCY", "2")
        .env("ROADSHOW_SHUTDOWN_SECONDS", "10")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the roadshow binary starts");
    let stderr = child.stderr.take().unwrap();
    let (port_tx, port_rx) = std::sync::mpsc::channel::<u16>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("roadshow is listening") {
                if let Some(port) = line.split("port=").nth(1).and_then(|r| r.split_whitespace().next()) {
                    let _ = port_tx.send(port.parse().unwrap_or(0));
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let port = port_rx.recv_timeout(Duration::from_secs(60)).expect("the server said where it listens");
    (child, format!("http://127.0.0.1:{port}"), reader)
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap().success();
    assert!(ok, "kill -{sig}");
}

/// Pending emails still leased (to a process that is gone): what the next process cannot take.
fn still_leased(app: &TestApp) -> i64 {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::locked_until.gt(roadshow::db::now()))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

async fn sigterm_during_a_burst_and_a_mail_batch_loses_nothing(app: TestApp) {
    burst_then_signal(app, "TERM").await;
}

/// Ctrl-C is as graceful as SIGTERM (actix alone would drop requests in flight on SIGINT).
async fn ctrl_c_during_a_burst_and_a_mail_batch_loses_nothing(app: TestApp) {
    burst_then_signal(app, "INT").await;
}

async fn burst_then_signal(app: TestApp, sig: &str) {
    let sink = SmtpSink::start().await;
    // A slow relay: each message takes 300 ms, two at a time, so a batch is in flight for seconds.
    sink.set_delay(Duration::from_millis(300));
    let event = app.published_webinar(500).await;
    // A first wave, through the test's own server (no worker), whose 20 confirmations wait: the
    // binary's worker claims them in one batch.
    for n in 0..20 {
        let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(n)).await;
        assert_eq!(r.status(), 201);
    }
    let (mut child, base, log) = start_binary(&app, &sink.url());
    let client = reqwest::Client::new();
    // Wait until the worker is sending (the sink has a first message), then a burst, and SIGTERM
    // while it is in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.count() == 0 && sink.received().is_empty() {
        assert!(Instant::now() < deadline, "the worker never started sending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The signal comes once the first answer of the burst is back, so the server has begun on it
    // (a fixed pause raced the connections on a busy machine), with the rest still in flight.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let burst = (20..80).map(|n| {
        let client = client.clone();
        let answered = answered.clone();
        let url = format!("{base}/api/v1/events/{event}/registrations");
        async move {
            match client.post(url).json(&registration(n)).send().await {
                Ok(r) => {
                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let status = r.status().as_u16();
                    // A whole answer: the body reads to its end and parses.
                    let body: Result<Value, _> = r.json().await;
                    Some((status, body.map_err(|e| e.to_string())))
                }
                // Not accepted (the listener closed): the client knows nothing was done.
                Err(_) => None,
            }
        }
    });
    let burst = tokio::spawn(futures_util::future::join_all(burst));
    let deadline = Instant::now() + Duration::from_secs(20);
    while answered.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no answer to the burst");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let signalled = Instant::now();
    signal(&child, sig);
    let answers = burst.await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    let took = signalled.elapsed();
    let log = log.join().unwrap();
    assert!(status.success(), "exit 0 after SIG{sig}, got {status:?}:\n{log}");
    assert!(took < Duration::from_secs(25), "exits within twice ROADSHOW_SHUTDOWN_SECONDS: {took:?}");
    assert!(log.contains("background workers stopped"), "{log}");
    // Every 201 is in the database; every answer that came back is whole.
    let mut created = 0;
    for a in answers.iter().flatten() {
        let (status, body) = a;
        let body = body.as_ref().unwrap_or_else(|e| panic!("an answer was cut off: {e}"));
        if *status == 201 {
            created += 1;
            let id = body["id"].as_str().unwrap().to_string();
            let mut conn = app.db.get().unwrap();
            let n: i64 = registrations::table.find(&id).count().get_result(&mut *conn).unwrap();
            assert_eq!(n, 1, "a 201 whose registration is missing");
        } else {
            assert!(*status == 503 || *status >= 400 && *status < 500, "status {status}: {body}");
        }
    }
    assert!(created > 0, "some of the burst was served before the listener closed");
    // Every claimed email is sent or free at once for the next process.
    assert_eq!(still_leased(&app), 0, "emails left leased to a process that is gone:\n{log}");
    let mut conn = app.db.get().unwrap();
    let (sent, pending): (i64, i64) = (
        outbox::table.filter(outbox::status.eq("sent")).count().get_result(&mut *conn).unwrap(),
        outbox::table.filter(outbox::status.eq("pending")).count().get_result(&mut *conn).unwrap(),
    );
    assert!(sent >= 1, "the batch in flight was finished");
    assert!(pending >= 1, "the rest waits for the next process (the relay is slow): sent {sent}");
    assert!(sink.received().len() as i64 >= sent, "everything marked sent reached the relay");
    // Released, not failed: due now, not after a retry's backoff.
    let later: i64 = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.gt(roadshow::db::now()))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(later, 0, "emails pushed back instead of released:\n{log}");
    assert!(log.contains("released claimed emails not sent"), "{log}");
}

async fn a_killed_process_leaves_its_claims_to_the_others_within_the_lease(app: TestApp) {
    let sink = SmtpSink::start().await;
    sink.set_delay(Duration::from_millis(500));
    let event = app.published_webinar(50).await;
    let (mut child, base, _log) = start_binary(&app, &sink.url());
    let client = reqwest::Client::new();
    for n in 0..10 {
        let r = client.post(format!("{base}/api/v1/events/{event}/registrations")).json(&registration(n)).send().await;
        assert_eq!(r.unwrap().status(), 201);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.received().is_empty() {
        assert!(Instant::now() < deadline, "the worker never started sending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&child, "KILL");
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    // The claims are leased for at most the short lease (60 s, renewed while alive): never the old
    // ten minutes.
    let mut conn = app.db.get().unwrap();
    let leases: Vec<chrono::NaiveDateTime> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::locked_until.is_not_null())
        .select(outbox::locked_until.assume_not_null())
        .load(&mut *conn)
        .unwrap();
    assert!(!leases.is_empty(), "the killed process held claims");
    let latest = leases.iter().max().unwrap();
    assert!(*latest <= roadshow::db::now() + chrono::Duration::seconds(61), "a lease longer than a minute: {latest}");
}

/// The handlers are in place before the server says where it listens: a signal at that moment is
/// a graceful stop, not the default action that kills the process.
async fn a_signal_the_moment_the_server_listens_is_a_graceful_stop(app: TestApp) {
    let sink = SmtpSink::start().await;
    for sig in ["INT", "TERM"] {
        let (mut child, _base, log) = start_binary(&app, &sink.url());
        signal(&child, sig);
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
        let log = log.join().unwrap();
        assert!(status.success(), "exit 0 after SIG{sig}, got {status:?}:\n{log}");
        assert!(log.contains("background workers stopped"), "{log}");
    }
}

both_backends!(
    a_signal_the_moment_the_server_listens_is_a_graceful_stop,
    sigterm_during_a_burst_and_a_mail_batch_loses_nothing,
    ctrl_c_during_a_burst_and_a_mail_batch_loses_nothing,
    a_killed_process_leaves_its_claims_to_the_others_within_the_lease
);
