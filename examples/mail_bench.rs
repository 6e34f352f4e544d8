//! Benchmark (not a test): emails delivered per second from a backlog of outbox rows to a local SMTP
//! sink on 127.0.0.1.
//!
//! ```text
//! cargo run --release --example mail_bench                      # SQLite in a temp dir, 10,000 rows
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench cargo run --release --example mail_bench
//! ROADSHOW_MAIL_CONCURRENCY=1 cargo run --release --example mail_bench   # one SMTP connection
//! MAIL_BENCH_ROWS=20000 ROADSHOW_MAIL_CONCURRENCY=32 cargo run --release --example mail_bench
//! MAIL_BENCH_QUICKACK=1 cargo run --release --example mail_bench   # sink ACKs at once (see below)
//! ```
//!
//! Our SMTP client (src/mail/smtp.rs) writes each message's content and its final `.` in one
//! write, so nothing waits for the sink's delayed ACK: on the 2-core development machine one
//! connection carries about 4,000 (PostgreSQL) to 6,000 (SQLite) emails/s, the default 16 about
//! 5,400 to 7,700. (lettre's transport, used before, wrote the `.` separately without
//! `TCP_NODELAY`; it waited about 40 ms for the delayed ACK, so one connection carried about 25
//! messages/s.) `MAIL_BENCH_QUICKACK=1` makes the sink acknowledge every segment at once, which
//! would hide such a wait again; the extra ACKs make it a little slower.
//!
//! Fills the outbox with realistic rows (text + HTML + calendar invite), starts the sink, and runs
//! the worker's delivery step until the backlog is gone; then checks that the sink got every message
//! once and every row is `sent`. A PostgreSQL database named in DATABASE_URL is emptied first.

#[path = "../tests/api/smtp_sink.rs"]
#[allow(dead_code)]
mod smtp_sink;

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use roadshow::db::schema::outbox as outbox_t;
use roadshow::db::{run_migrations, write_tx, Db};
use roadshow::mail::outbox::{enqueue, NewEmail};
use roadshow::mail::worker::{deliver_due_blocking, Mailer};
use roadshow::mail::{ics, templates};

fn main() -> Result<(), String> {
    let rows: usize = std::env::var("MAIL_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Db::connect(&url, 8)?;
    {
        let mut conn = db.get().map_err(|e| e.to_string())?;
        run_migrations(&mut conn)?;
        conn.batch_execute("DELETE FROM outbox").map_err(|e| e.to_string())?;
    }

    // A realistic email: rendered templates and an invite.
    let view = templates::EmailView {
        subject: "You're registered: Grow with social media".into(),
        name: "Ana O'Neil".into(),
        title: "Grow with social media".into(),
        starts: "Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)".into(),
        ends: "Thursday, March 12, 2026 at 10:00 AM CDT (America/Chicago)".into(),
        venue: None,
        join_url: Some("https://meet.example.org/grow".into()),
        manage_url: Some("http://127.0.0.1:8080/manage/x?token=rsm_0123456789".into()),
        calendar_url: None,
        unsubscribe_url: None,
        public_url: "http://127.0.0.1:8080".into(),
        changes: vec![],
        waitlist_position: None,
        has_ics: true,
        ..Default::default()
    };
    let (text, html) = templates::render("registration_confirmed", &view).map_err(|e| e.to_string())?;
    let start = chrono::Utc::now() + chrono::Duration::days(30);
    let invite = ics::render(&ics::CalendarEntry {
        uid: ics::registration_uid("00000000-0000-0000-0000-000000000000"),
        sequence: 0,
        cancelled: false,
        tentative: false,
        title: view.title.clone(),
        description: "Practical steps for small businesses".into(),
        starts_at: start,
        ends_at: start + chrono::Duration::hours(1),
        location: "Online".into(),
        url: view.join_url.clone(),
        stamp: chrono::Utc::now(),
        organizer: roadshow::mail::parse_organizer("Roadshow <no-reply@localhost>"),
        attendees: vec![ics::Party { name: view.name.clone(), email: "attendee@shop.example".into() }],
    });

    let t = Instant::now();
    let mut conn = db.get().map_err(|e| e.to_string())?;
    write_tx(&mut conn, |c| {
        for i in 0..rows {
            enqueue(
                c,
                &NewEmail {
                    dedupe_key: format!("bench:{i}"),
                    recipient: format!("attendee{i}@shop{i}.example"),
                    template: "registration_confirmed".into(),
                    category: roadshow::domain::MailCategory::Transactional,
                    subject: view.subject.clone(),
                    body_text: text.clone(),
                    body_html: html.clone(),
                    ics: Some(invite.clone()),
                    headers: "{}".into(),
                    registration_id: None,
                    business_id: None,
                    event_id: None,
                    hourly_cap: None,
                },
            )?;
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    drop(conn);
    eprintln!(
        "filled {rows} outbox rows in {:.2}s ({})",
        t.elapsed().as_secs_f64(),
        if db.is_postgres() { "PostgreSQL" } else { "SQLite" }
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let quick_ack = std::env::var("MAIL_BENCH_QUICKACK").map(|v| v == "1").unwrap_or(false);
    let sink = runtime.block_on(smtp_sink::SmtpSink::start_counting(quick_ack));
    // ROADSHOW_MAIL_CONCURRENCY and the other mail settings apply as in the service.
    let mut config = roadshow::config::Config::from_env().map_err(|e| e.to_string())?;
    config.smtp_url = Some(sink.url());
    let mailer = Mailer::from_config(&config)?;

    let t = Instant::now();
    let mut steps = 0;
    loop {
        let s = deliver_due_blocking(&db, &mailer, chrono::Utc::now()).map_err(|e| e.to_string())?;
        steps += 1;
        if s.claimed == 0 {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let sent: i64 = outbox_t::table
        .filter(outbox_t::status.eq("sent"))
        .count()
        .get_result(&mut *conn)
        .map_err(|e| e.to_string())?;
    let received = sink.count();
    println!(
        "delivered {received} emails in {secs:.2}s: {:.0} emails/s ({} rows sent, {steps} steps, batch {}, {} at once, sink quick-ack {quick_ack})",
        received as f64 / secs,
        sent,
        mailer.batch_size,
        mailer.concurrency
    );
    if received != rows || sent as usize != rows {
        return Err(format!("expected {rows} delivered and sent, got {received} received and {sent} sent"));
    }
    Ok(())
}
