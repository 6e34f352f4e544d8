//! Email end to end: registrations through the API write outbox rows; the worker delivers them to a
//! real SMTP server in this process (tests/api/smtp_sink.rs); the scheduler adds reminders and
//! follow-ups. Time is passed to the worker and scheduler explicitly, so nothing here waits.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::Method;
use roadshow::db::schema::{events, outbox};
use roadshow::jobs;
use roadshow::mail::worker::{self, Mailer};
use roadshow::mail::MailContext;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};
use crate::smtp_sink::{Mode, Received, SmtpSink};

fn registration(n: usize, consent: bool) -> Value {
    json!({
        "business": {"name": format!("Shop {n} <b>&</b>"), "email": format!("owner{n}@shop{n}.example"), "state": "TX"},
        "attendee": {"name": format!("Ana {n} <i>O'Neil</i>"), "email": format!("attendee{n}@shop{n}.example")},
        "marketing_consent": consent
    })
}

async fn register(app: &TestApp, event: &str, n: usize, consent: bool) -> Value {
    let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(n, consent)).await;
    expect_status(r, 201).await
}

fn mailer(app: &TestApp, sink: &SmtpSink) -> Mailer {
    let mut config = app.config.clone();
    config.smtp_url = Some(sink.url());
    Mailer::from_config(&config).expect("mailer")
}

fn ctx(app: &TestApp) -> MailContext {
    MailContext::from_config(&app.config)
}

fn event_times(app: &TestApp, event: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let mut conn = app.db.get().unwrap();
    let (s, e): (chrono::NaiveDateTime, chrono::NaiveDateTime) =
        events::table.find(event).select((events::starts_at, events::ends_at)).first(&mut *conn).unwrap();
    (s.and_utc(), e.and_utc())
}

/// (template, status) of every outbox row, oldest first.
fn rows(app: &TestApp) -> Vec<(String, String, String, i32)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .order((outbox::created_at, outbox::id))
        .select((outbox::template, outbox::recipient, outbox::status, outbox::attempts))
        .load(&mut *conn)
        .unwrap()
}

struct Parsed {
    to: Vec<String>,
    subject: String,
    message_id: String,
    text: String,
    html: String,
    headers: BTreeMap<String, String>,
    /// (content type with parameters, body) of every text/calendar part.
    calendars: Vec<(String, String)>,
    attachment_names: Vec<String>,
    /// The body of the `invite.ics` attachment.
    attached_ics: Option<String>,
}

fn parse(r: &Received) -> Parsed {
    let m = MessageParser::default().parse(&r.data).expect("a MIME message");
    let mut headers = BTreeMap::new();
    for name in ["List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted", "From", "Message-ID"] {
        if let Some(v) = m.header_raw(name) {
            headers.insert(name.to_string(), v.trim().to_string());
        }
    }
    let mut calendars = Vec::new();
    let mut attachment_names = Vec::new();
    let mut attached_ics = None;
    for part in &m.parts {
        if let Some(name) = part.attachment_name() {
            attachment_names.push(name.to_string());
            if name == "invite.ics" {
                attached_ics = Some(String::from_utf8_lossy(part.contents()).to_string());
            }
        }
        if let Some(ct) = part.content_type() {
            if ct.ctype() == "text" && ct.subtype() == Some("calendar") {
                let method = ct.attribute("method").unwrap_or_default().to_string();
                calendars.push((method, String::from_utf8_lossy(part.contents()).to_string()));
            }
        }
    }
    Parsed {
        to: r.rcpt_to.clone(),
        subject: m.subject().unwrap_or_default().to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        text: m.body_text(0).map(|s| s.to_string()).unwrap_or_default(),
        html: m.body_html(0).map(|s| s.to_string()).unwrap_or_default(),
        headers,
        calendars,
        attachment_names,
        attached_ics,
    }
}

/// The VEVENT properties of an ICS, read by an independent RFC 5545 parser.
fn ics_props(ics: &str) -> BTreeMap<String, String> {
    let unfolded = icalendar::parser::unfold(ics);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a valid calendar");
    let mut out = BTreeMap::new();
    for p in &cal.properties {
        out.insert(format!("CAL:{}", p.name.as_str()), p.val.as_str().to_string());
    }
    let event = cal.components.iter().find(|c| c.name == "VEVENT").expect("a VEVENT");
    for p in &event.properties {
        out.insert(p.name.as_str().to_string(), p.val.as_str().to_string());
    }
    out
}

/// Every `name` property (ORGANIZER, ATTENDEE) of the VEVENT as (its parameters, its value), read
/// by the independent parser (which unquotes parameter values).
fn ics_parties(ics: &str, name: &str) -> Vec<(BTreeMap<String, String>, String)> {
    let unfolded = icalendar::parser::unfold(ics);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a valid calendar");
    let event = cal.components.iter().find(|c| c.name == "VEVENT").expect("a VEVENT");
    event
        .properties
        .iter()
        .filter(|p| p.name == name)
        .map(|p| {
            let params = p
                .params
                .iter()
                .map(|x| {
                    (x.key.as_str().to_string(), x.val.as_ref().map(|v| v.as_str().to_string()).unwrap_or_default())
                })
                .collect();
            (params, p.val.as_str().to_string())
        })
        .collect()
}

fn for_recipient<'a>(mails: &'a [Parsed], to: &str) -> Vec<&'a Parsed> {
    mails.iter().filter(|m| m.to == vec![to.to_string()]).collect()
}

async fn confirmations_reach_the_smtp_server_with_both_parts_headers_and_a_parseable_invite(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(1).await;
    let first = register(&app, &event, 1, true).await;
    register(&app, &event, 2, true).await; // waitlisted

    let stats = worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    assert_eq!((stats.sent, stats.retried, stats.dead), (2, 0, 0));
    let mails: Vec<Parsed> = sink.received().iter().map(parse).collect();
    assert_eq!(mails.len(), 2);
    assert!(sink.received().iter().all(|r| r.mail_from == "no-reply@localhost"));

    let confirmed = for_recipient(&mails, "attendee1@shop1.example");
    let c = confirmed[0];
    assert_eq!(c.subject, "You're registered: Grow with social media");
    assert!(c.text.contains("Hello Ana 1 <i>O'Neil</i>,"), "{}", c.text);
    assert!(c.html.contains("Hello Ana 1 &lt;i&gt;O&#x27;Neil&lt;&#x2f;i&gt;,"), "{}", c.html);
    assert!(c.text.contains("(America/Chicago)"), "times name the zone: {}", c.text);
    assert!(c.text.contains("https://meet.example.org/grow"), "confirmed webinar registrants get the join URL");
    // The server was built with the default ROADSHOW_PUBLIC_URL (the helper learns the port later).
    let manage = format!("http://127.0.0.1:8080/manage/{}?token=rsm_", first["id"].as_str().unwrap());
    assert!(c.text.contains(&manage), "manage link from ROADSHOW_PUBLIC_URL: {}", c.text);
    assert!(c.html.contains(&manage.replace('/', "&#x2f;")), "{}", c.html);
    assert_eq!(c.headers["Auto-Submitted"], "auto-generated");
    assert!(!c.headers.contains_key("List-Unsubscribe"), "transactional mail has no unsubscribe");
    let row_ids: Vec<String> = {
        let mut conn = app.db.get().unwrap();
        outbox::table.select(outbox::id).load(&mut *conn).unwrap()
    };
    // The row's id at the domain of ROADSHOW_MAIL_FROM (relays refuse made-up domains).
    let domain = roadshow::mail::outbox::sender_domain(&app.config.mail_from);
    assert_eq!(app.config.mail_from.rsplit_once('@').unwrap().1.trim_end_matches('>'), domain);
    assert!(
        row_ids.iter().any(|id| format!("{id}@{domain}") == c.message_id),
        "Message-ID is the row's: {}",
        c.message_id
    );

    assert_eq!(c.calendars.len(), 1, "an inline text/calendar part");
    assert_eq!(c.attachment_names, vec!["invite.ics".to_string()]);
    assert_eq!(c.attached_ics.as_deref(), Some(c.calendars[0].1.as_str()), "the same invite attached");
    assert_eq!(c.calendars[0].0, "REQUEST");
    let ics = ics_props(&c.calendars[0].1);
    assert_eq!(ics["CAL:METHOD"], "REQUEST");
    assert_eq!(ics["UID"], format!("registration-{}@roadshow", first["id"].as_str().unwrap()));
    assert_eq!(ics["SEQUENCE"], "0");
    assert_eq!(ics["STATUS"], "CONFIRMED");
    assert_eq!(ics["ORGANIZER"], "mailto:no-reply@localhost", "the default sender organizes");
    assert_eq!(ics["ATTENDEE"], "mailto:attendee1@shop1.example");
    let (starts, ends) = event_times(&app, &event);
    assert_eq!(ics["DTSTART"], starts.format("%Y%m%dT%H%M%SZ").to_string());
    assert_eq!(ics["DTEND"], ends.format("%Y%m%dT%H%M%SZ").to_string());

    let waitlisted = for_recipient(&mails, "attendee2@shop2.example");
    let w = waitlisted[0];
    assert_eq!(w.subject, "You're on the waitlist: Grow with social media");
    assert!(w.text.contains("number 1"), "{}", w.text);
    assert!(!w.text.contains("meet.example.org") && !w.html.contains("meet.example.org"), "no join URL before a seat");
    assert!(w.calendars.is_empty(), "no invite without a seat");

    let again = worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    assert_eq!(again.claimed, 0);
    assert_eq!(sink.received().len(), 2);
}

async fn smtp_refusing_then_down_then_back_delivers_everything_exactly_once(app: TestApp) {
    let mut sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    for n in 1..=3 {
        register(&app, &event, n, false).await;
    }
    let m = mailer(&app, &sink);
    let t0 = Utc::now();

    sink.set_mode(Mode::Refuse);
    let s = worker::deliver_due(&app.db, &m, t0).await.unwrap();
    assert_eq!((s.sent, s.retried, s.dead), (0, 3, 0));
    let body = expect_status(app.admin_get("/api/v1/admin/outbox?status=pending").await, 200).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert!(body["items"][0]["last_error"].as_str().unwrap().contains("451"), "{body}");
    // Backoff: nothing is due a moment later.
    assert_eq!(worker::deliver_due(&app.db, &m, t0 + Duration::seconds(1)).await.unwrap().claimed, 0);

    sink.down();
    let s = worker::deliver_due(&app.db, &m, t0 + Duration::hours(2)).await.unwrap();
    assert_eq!((s.sent, s.dead), (0, 0));
    assert_eq!(s.retried, 3, "an unreachable server fails the batch without dead-lettering");
    assert!(rows(&app).iter().all(|r| r.2 == "pending"));

    sink.set_mode(Mode::Accept);
    sink.up().await;
    let s = worker::deliver_due(&app.db, &m, t0 + Duration::hours(5)).await.unwrap();
    assert_eq!((s.sent, s.retried, s.dead), (3, 0, 0));
    assert_eq!(worker::deliver_due(&app.db, &m, t0 + Duration::hours(10)).await.unwrap().claimed, 0);

    let got: Vec<Parsed> = sink.received().iter().map(parse).collect();
    assert_eq!(got.len(), 3, "each email exactly once");
    let ids: HashSet<&str> = got.iter().map(|p| p.message_id.as_str()).collect();
    assert_eq!(ids.len(), 3);
    let to: HashSet<String> = got.iter().map(|p| p.to[0].clone()).collect();
    assert_eq!(to.len(), 3);
    assert!(rows(&app).iter().all(|r| r.2 == "sent" && r.3 == 3), "{:?}", rows(&app));
    let stats = expect_status(app.admin_get("/api/v1/admin/outbox/stats").await, 200).await;
    assert_eq!(stats["sent"], 3);
    assert_eq!(stats["pending"], 0);
}

async fn a_worker_killed_between_send_and_mark_resends_with_the_same_message_id(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    register(&app, &event, 1, false).await;
    let m = mailer(&app, &sink);
    let t0 = Utc::now();

    // The "killed" worker: claims and sends, but never records the outcome.
    let claimed = worker::claim(&app.db, &m, t0).unwrap();
    assert_eq!(claimed.len(), 1);
    let outcomes = worker::send_all(&m, &claimed);
    assert!(matches!(outcomes[0], worker::Outcome::Sent));
    assert_eq!(sink.received().len(), 1);

    // Another worker does not touch the leased row while the lease holds...
    let mut other = mailer(&app, &sink);
    other.worker_id = "other-worker".into();
    assert_eq!(worker::deliver_due(&app.db, &other, t0 + m.lease - Duration::seconds(1)).await.unwrap().claimed, 0);
    assert_eq!(rows(&app)[0].2, "pending");
    // ...and re-sends it once the lease has run out.
    let s = worker::deliver_due(&app.db, &other, t0 + m.lease + Duration::seconds(1)).await.unwrap();
    assert_eq!(s.sent, 1);
    let got: Vec<Parsed> = sink.received().iter().map(parse).collect();
    assert_eq!(got.len(), 2, "not lost: sent again");
    assert_eq!(got[0].message_id, got[1].message_id, "recognisably the same message");
    assert_eq!(got[0].subject, got[1].subject);
    assert_eq!(rows(&app)[0].2, "sent");
}

async fn refused_mail_is_dead_lettered_and_an_admin_can_retry_it(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    register(&app, &event, 1, false).await;
    register(&app, &event, 2, false).await;
    let mut m = mailer(&app, &sink);
    m.max_attempts = 2;
    let t0 = Utc::now();

    // A permanent refusal (5xx) is dead at once.
    sink.set_mode(Mode::Reject);
    let s = worker::deliver_due(&app.db, &m, t0).await.unwrap();
    assert_eq!((s.sent, s.dead), (0, 2));
    let dead = expect_status(app.admin_get("/api/v1/admin/outbox?status=dead&limit=1").await, 200).await;
    assert_eq!(dead["items"].as_array().unwrap().len(), 1);
    assert!(dead["items"][0]["last_error"].as_str().unwrap().contains("550"), "{dead}");
    let cursor = dead["next_cursor"].as_str().expect("a second page").to_string();
    let page2 =
        expect_status(app.admin_get(&format!("/api/v1/admin/outbox?status=dead&limit=1&cursor={cursor}")).await, 200)
            .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page2["items"][0]["id"], dead["items"][0]["id"]);
    assert!(page2["next_cursor"].is_null());
    let stats = expect_status(app.admin_get("/api/v1/admin/outbox/stats").await, 200).await;
    assert_eq!(stats["dead"], 2);

    // Retry one: back in the queue; transient refusals then use up the attempt bound.
    let id = dead["items"][0]["id"].as_str().unwrap().to_string();
    let retried =
        expect_status(app.admin_post(&format!("/api/v1/admin/outbox/{id}/retry"), &json!({})).await, 200).await;
    assert_eq!(retried["status"], "pending");
    assert_eq!(retried["attempts"], 0);
    sink.set_mode(Mode::Refuse);
    assert_eq!(worker::deliver_due(&app.db, &m, Utc::now()).await.unwrap().retried, 1);
    assert_eq!(worker::deliver_due(&app.db, &m, t0 + Duration::hours(3)).await.unwrap().dead, 1);

    // Retry again with the server accepting: delivered.
    expect_status(app.admin_post(&format!("/api/v1/admin/outbox/{id}/retry"), &json!({})).await, 200).await;
    sink.set_mode(Mode::Accept);
    assert_eq!(worker::deliver_due(&app.db, &m, t0 + Duration::hours(3)).await.unwrap().sent, 1);
    assert_eq!(sink.received().len(), 1);
    expect_problem(app.admin_post(&format!("/api/v1/admin/outbox/{id}/retry"), &json!({})).await, 409, None).await;
    let unknown = uuid::Uuid::new_v4();
    expect_problem(app.admin_post(&format!("/api/v1/admin/outbox/{unknown}/retry"), &json!({})).await, 404, None).await;
    expect_problem(app.admin_get("/api/v1/admin/outbox?status=lost").await, 400, Some("status")).await;

    // National admins only.
    let org = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let user = expect_status(
        app.admin_post(
            "/api/v1/admin/users",
            &json!({"email": "org@x.example", "name": "Org", "role": "organizer", "organization_id": org}),
        )
        .await,
        201,
    )
    .await;
    let tok = expect_status(
        app.admin_post(&format!("/api/v1/admin/users/{}/tokens", user["id"].as_str().unwrap()), &json!({})).await,
        201,
    )
    .await;
    let r = app.request(Method::GET, "/api/v1/admin/outbox", tok["token"].as_str(), None).await;
    expect_problem(r, 403, None).await;
    expect_problem(app.get("/api/v1/admin/outbox/stats").await, 401, None).await;
}

async fn changes_and_cancellation_update_the_same_calendar_entry_with_a_growing_sequence(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    let reg = register(&app, &event, 1, false).await;
    let id = reg["id"].as_str().unwrap().to_string();
    let token = reg["manage_token"].as_str().unwrap().to_string();
    let (starts, _) = event_times(&app, &event);
    let new_start = starts + Duration::days(1);
    let patch = json!({"starts_at": new_start.to_rfc3339(), "ends_at": (new_start + Duration::hours(2)).to_rfc3339()});
    expect_status(app.admin_patch(&format!("/api/v1/admin/events/{event}"), &patch).await, 200).await;
    let r = app.request(Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(&token), None).await;
    assert!(r.status().is_success(), "cancel: {}", r.status());

    worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    let got: Vec<Parsed> = sink.received().iter().map(parse).collect();
    let subjects: Vec<&str> = got.iter().map(|p| p.subject.as_str()).collect();
    assert_eq!(got.len(), 3, "{subjects:?}");
    let by = |prefix: &str| {
        got.iter().find(|p| p.subject.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {subjects:?}"))
    };
    let (confirmed, changed, cancelled) = (by("You're registered"), by("Changed:"), by("Registration cancelled"));
    assert!(changed.text.contains("Starts:") || changed.text.contains("start"), "what changed: {}", changed.text);
    assert!(!cancelled.text.contains("meet.example.org"), "no join URL once cancelled");

    let ics: Vec<BTreeMap<String, String>> =
        [confirmed, changed, cancelled].iter().map(|p| ics_props(&p.calendars[0].1)).collect();
    let seq: Vec<i64> = ics.iter().map(|i| i["SEQUENCE"].parse().unwrap()).collect();
    assert!(seq[0] < seq[1] && seq[1] < seq[2], "SEQUENCE grows: {seq:?}");
    assert!(ics.iter().all(|i| i["UID"] == ics[0]["UID"]), "one calendar entry");
    assert_eq!(ics[1]["CAL:METHOD"], "REQUEST");
    assert_eq!(ics[1]["DTSTART"], new_start.format("%Y%m%dT%H%M%SZ").to_string());
    assert_eq!(ics[2]["CAL:METHOD"], "CANCEL");
    assert_eq!(ics[2]["STATUS"], "CANCELLED");
    assert_eq!(cancelled.calendars[0].0, "CANCEL");

    // The download says the same as the last email.
    let r = app.request(Method::GET, &format!("/api/v1/registrations/{id}/calendar.ics"), Some(&token), None).await;
    assert_eq!(r.status(), 200);
    let download = ics_props(&r.text().await.unwrap());
    for key in ["UID", "SEQUENCE", "CAL:METHOD", "DTSTART", "DTEND", "STATUS", "SUMMARY"] {
        assert_eq!(download[key], ics[2][key], "{key}");
    }
}

async fn the_scheduler_sends_each_reminder_and_follow_up_once_and_skips_cancellations(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    let (starts, ends) = event_times(&app, &event);
    let a = register(&app, &event, 1, true).await;
    let b = register(&app, &event, 2, true).await;
    register(&app, &event, 3, false).await;
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/v1/registrations/{}", b["id"].as_str().unwrap()),
            b["manage_token"].as_str(),
            None,
        )
        .await;
    assert!(r.status().is_success());
    // A cancelled event gets nothing either.
    let gone = app.published_webinar(10).await;
    register(&app, &gone, 4, true).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{gone}/cancel"), &json!({})).await, 200).await;

    let c = ctx(&app);
    assert_eq!(jobs::run_once(&app.db, &c, starts - Duration::hours(25)).await.unwrap(), jobs::JobStats::default());
    // Two processes at once: still one reminder each.
    let t = starts - Duration::hours(23);
    let (x, y) = tokio::join!(jobs::run_once(&app.db, &c, t), jobs::run_once(&app.db, &c, t));
    assert_eq!(x.unwrap().reminders_24h + y.unwrap().reminders_24h, 2);
    assert_eq!(jobs::run_once(&app.db, &c, t + Duration::hours(1)).await.unwrap().reminders_24h, 0);
    let one = jobs::run_once(&app.db, &c, starts - Duration::minutes(30)).await.unwrap();
    assert_eq!((one.reminders_24h, one.reminders_1h), (0, 2));
    assert_eq!(jobs::run_once(&app.db, &c, starts - Duration::minutes(10)).await.unwrap().reminders_1h, 0);
    assert_eq!(
        jobs::run_once(&app.db, &c, ends + Duration::minutes(30)).await.unwrap().follow_ups,
        0,
        "not right after"
    );
    let f = jobs::run_once(&app.db, &c, ends + Duration::hours(3)).await.unwrap();
    assert_eq!(f.follow_ups, 1, "only the consenting, still registered attendee");
    assert_eq!(jobs::run_once(&app.db, &c, ends + Duration::hours(4)).await.unwrap().follow_ups, 0);

    let per: Vec<(String, String)> = rows(&app)
        .into_iter()
        .filter(|r| r.0.starts_with("reminder") || r.0 == "follow_up")
        .map(|r| (r.0, r.1))
        .collect();
    let mut expected = vec![
        ("reminder_24h".to_string(), "attendee1@shop1.example".to_string()),
        ("reminder_24h".to_string(), "attendee3@shop3.example".to_string()),
        ("reminder_1h".to_string(), "attendee1@shop1.example".to_string()),
        ("reminder_1h".to_string(), "attendee3@shop3.example".to_string()),
        ("follow_up".to_string(), "attendee1@shop1.example".to_string()),
    ];
    let mut per_sorted = per.clone();
    per_sorted.sort();
    expected.sort();
    assert_eq!(per_sorted, expected);

    worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    let got: Vec<Parsed> = sink.received().iter().map(parse).collect();
    let hour = got
        .iter()
        .find(|p| p.subject.starts_with("Starting in an hour") && p.to[0] == "attendee1@shop1.example")
        .unwrap();
    assert!(hour.text.contains("https://meet.example.org/grow"), "{}", hour.text);
    let follow = got.iter().find(|p| p.subject.starts_with("Thank you for joining")).unwrap();
    assert_eq!(follow.to, vec!["attendee1@shop1.example".to_string()]);
    assert_eq!(follow.headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    let link = follow.headers["List-Unsubscribe"].trim_matches(['<', '>']).to_string();
    assert!(link.starts_with(&format!("{}/unsubscribe/rsl_", app.config.public_url)), "{link}");
    assert!(follow.text.contains(&link));
    assert!(follow.calendars.is_empty());
    let _ = a;

    // One-click unsubscribe: GET shows a confirmation page and changes nothing; POST unsubscribes.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let unsubscribed = |app: &TestApp| -> bool {
        let mut conn = app.db.get().unwrap();
        // Consent belongs to the address the follow-up went to.
        roadshow::db::schema::email_consents::table
            .find("attendee1@shop1.example")
            .select(roadshow::db::schema::email_consents::unsubscribed_at.is_not_null())
            .first(&mut *conn)
            .unwrap()
    };
    assert!(!unsubscribed(&app));
    let r = app
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(unsubscribed(&app));
    let r = app.client.post(format!("{}/unsubscribe/rsl_forged", app.address)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn a_reminder_queued_before_a_cancellation_is_dropped_not_sent(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    let (starts, _) = event_times(&app, &event);
    let reg = register(&app, &event, 1, true).await;
    let s = jobs::run_once(&app.db, &ctx(&app), starts - Duration::hours(23)).await.unwrap();
    assert_eq!(s.reminders_24h, 1);
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/v1/registrations/{}", reg["id"].as_str().unwrap()),
            reg["manage_token"].as_str(),
            None,
        )
        .await;
    assert!(r.status().is_success());

    let s = worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    assert_eq!((s.sent, s.dropped), (2, 1));
    let subjects: Vec<String> = sink.received().iter().map(|r| parse(r).subject).collect();
    assert!(subjects.iter().all(|s| !s.starts_with("Reminder")), "{subjects:?}");
    let dropped = expect_status(app.admin_get("/api/v1/admin/outbox?status=dropped").await, 200).await;
    assert_eq!(dropped["items"][0]["template"], "reminder_24h");
    assert!(dropped["items"][0]["last_error"].as_str().unwrap().contains("cancelled"));
}

async fn without_smtp_emails_are_written_as_eml_files(app: TestApp) {
    let event = app.published_webinar(10).await;
    register(&app, &event, 1, false).await;
    let m = Mailer::from_config(&app.config).unwrap();
    assert_eq!(worker::deliver_due(&app.db, &m, Utc::now()).await.unwrap().sent, 1);
    let files: Vec<_> = std::fs::read_dir(&app.config.mail_dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read(&files[0]).unwrap();
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.subject(), Some("You're registered: Grow with social media"));
}

/// A sender whose display name needs quoting in a calendar parameter.
const SENDER: &str = "\"Roadshow, Texas\" <events@roadshow.example>";

/// Asserts that `ics` is organized by [`SENDER`] and has exactly one attendee, `email`, named
/// `name`, whose participation is `partstat`.
fn assert_organizer_and_attendee(ics: &str, email: &str, name: &str, partstat: &str) {
    let organizer = ics_parties(ics, "ORGANIZER");
    assert_eq!(organizer.len(), 1, "{ics}");
    assert_eq!(organizer[0].1, "mailto:events@roadshow.example", "the configured sender: {ics}");
    assert_eq!(organizer[0].0["CN"], "Roadshow, Texas", "{ics}");
    let attendees = ics_parties(ics, "ATTENDEE");
    assert_eq!(attendees.len(), 1, "{ics}");
    let (params, value) = &attendees[0];
    assert_eq!(value, &format!("mailto:{email}"), "{ics}");
    assert_eq!(params["CN"], name, "{ics}");
    assert_eq!(params["ROLE"], "REQ-PARTICIPANT");
    assert_eq!(params["PARTSTAT"], partstat, "{ics}");
    assert_eq!(params["RSVP"], "FALSE");
}

async fn invites_and_downloads_name_the_configured_sender_as_organizer_and_the_registrant_as_attendee(app: TestApp) {
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    let mut body = registration(1, false);
    body["attendee"]["name"] = json!("O'Neil, Ana; CEO: \"Shop 1\"");
    let reg = expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &body).await, 201).await;
    let id = reg["id"].as_str().unwrap().to_string();
    let token = reg["manage_token"].as_str().unwrap().to_string();
    // A parameter value cannot hold a DQUOTE: the name loses its quotes, and is quoted itself.
    let (email, name) = ("attendee1@shop1.example", "O'Neil, Ana; CEO: Shop 1");

    let r = app.request(Method::GET, &format!("/api/v1/registrations/{id}/calendar.ics"), Some(&token), None).await;
    assert_eq!(r.status(), 200);
    assert_organizer_and_attendee(&r.text().await.unwrap(), email, name, "ACCEPTED");

    let r = app.request(Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(&token), None).await;
    assert!(r.status().is_success(), "cancel: {}", r.status());
    worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    let got: Vec<Parsed> = sink.received().iter().map(parse).collect();
    let subjects: Vec<&str> = got.iter().map(|p| p.subject.as_str()).collect();
    let by = |prefix: &str| {
        got.iter().find(|p| p.subject.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {subjects:?}"))
    };
    let (confirmed, cancelled) = (by("You're registered"), by("Registration cancelled"));
    assert_eq!(confirmed.calendars[0].0, "REQUEST");
    assert_organizer_and_attendee(&confirmed.calendars[0].1, email, name, "ACCEPTED");
    assert_eq!(cancelled.calendars[0].0, "CANCEL");
    assert_organizer_and_attendee(&cancelled.calendars[0].1, email, name, "DECLINED");

    // The manage page's link gives the same entry.
    let r = app.client.get(app.url(&format!("/manage/{id}/calendar.ics?token={token}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let download = r.text().await.unwrap();
    assert_eq!(ics_props(&download)["UID"], format!("registration-{id}@roadshow"), "existing calendars keep matching");
    assert_organizer_and_attendee(&download, email, name, "DECLINED");

    // Erased, the registration has no address to name: its entry keeps the organizer only. (The
    // erasure stops the tokens, so the entry is read directly.)
    let r = app.request(Method::DELETE, &format!("/api/v1/registrations/{id}/data"), Some(&token), None).await;
    assert!(r.status().is_success(), "erase: {}", r.status());
    let organizer = ctx(&app).organizer;
    let erased = app.db.read(move |c| roadshow::mail::ics::registration_calendar(c, &organizer, &id)).await.unwrap();
    assert!(ics_parties(&erased, "ATTENDEE").is_empty(), "{erased}");
    assert_eq!(ics_parties(&erased, "ORGANIZER")[0].1, "mailto:events@roadshow.example");
}

/// Registration `n` as [`registration`] makes it, in `language`.
fn registration_in(n: usize, language: &str) -> Value {
    let mut body = registration(n, false);
    body["language"] = json!(language);
    body
}

/// The event's start in its zone (America/Chicago), as a reader of `lang` sees it in an email.
fn long_date(lang: roadshow::i18n::Language, t: DateTime<Utc>) -> String {
    roadshow::i18n::human_local(lang, t, "America/Chicago".parse().unwrap())
}

async fn a_spanish_registration_gets_every_email_in_spanish_and_an_english_one_in_english(app: TestApp) {
    use roadshow::i18n::Language::{English, Spanish};
    let sink = SmtpSink::start().await;
    let event = app.published_webinar(10).await;
    let es = expect_status(
        app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration_in(1, "es")).await,
        201,
    )
    .await;
    // No language: English, as always.
    let en = register(&app, &event, 2, false).await;
    let (starts, _) = event_times(&app, &event);

    // A reminder (a day before), a change of time, and the registrant cancelling.
    let stats = jobs::run_once(&app.db, &ctx(&app), starts - Duration::hours(12)).await.unwrap();
    assert_eq!(stats.reminders_24h, 2);
    let new_start = starts + Duration::days(1);
    let patch = json!({"starts_at": new_start.to_rfc3339(), "ends_at": (new_start + Duration::hours(1)).to_rfc3339()});
    expect_status(app.admin_patch(&format!("/api/v1/admin/events/{event}"), &patch).await, 200).await;
    // Delivered before the cancellation, which would drop the queued reminder.
    worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    let (id, token) = (es["id"].as_str().unwrap(), es["manage_token"].as_str().unwrap());
    let r = app.request(Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(token), None).await;
    assert!(r.status().is_success(), "cancel: {}", r.status());
    worker::deliver_due(&app.db, &mailer(&app, &sink), Utc::now()).await.unwrap();
    let got: Vec<Parsed> = sink.received().iter().map(parse).collect();
    let spanish = for_recipient(&got, "attendee1@shop1.example");
    let english = for_recipient(&got, "attendee2@shop2.example");
    let chicago: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let expected = [
        "Su inscripción está confirmada: Grow with social media".to_string(),
        format!("Recordatorio: Grow with social media, {}", roadshow::i18n::short_local(Spanish, starts, chicago)),
        format!(
            "Cambios en Grow with social media: ahora el {}",
            roadshow::i18n::short_local(Spanish, new_start, chicago)
        ),
        "Inscripción cancelada: Grow with social media".to_string(),
    ];
    // Delivered in parallel: found by subject.
    let spanish: Vec<&Parsed> = expected
        .iter()
        .map(|s| {
            *spanish
                .iter()
                .find(|p| &p.subject == s)
                .unwrap_or_else(|| panic!("{s}: {:?}", got.iter().map(|p| &p.subject).collect::<Vec<_>>()))
        })
        .collect();
    let english: Vec<&Parsed> = [
        "You're registered: Grow with social media",
        "Reminder: Grow with social media, ",
        "Changed: Grow with social media, now ",
    ]
    .iter()
    .map(|s| *english.iter().find(|p| p.subject.starts_with(s)).unwrap_or_else(|| panic!("{s}")))
    .collect();
    assert_eq!(for_recipient(&got, "attendee1@shop1.example").len(), 4);
    assert_eq!(for_recipient(&got, "attendee2@shop2.example").len(), 3);

    // The confirmation: both parts, the date and the invite's words in Spanish.
    let c = spanish[0];
    assert!(c.text.contains("Hola, Ana 1 <i>O'Neil</i>:"), "{}", c.text);
    assert!(c.text.contains("Su lugar está confirmado."), "{}", c.text);
    assert!(c.text.contains(&format!("Comienza: {}", long_date(Spanish, starts))), "{}", c.text);
    assert!(c.text.contains("Administrar su inscripción: http://127.0.0.1:8080/manage/"), "{}", c.text);
    assert!(!c.text.contains("Your seat") && !c.text.contains("Starts:"), "{}", c.text);
    assert!(c.html.contains("<html lang=\"es\">") && c.html.contains("Su lugar está confirmado."), "{}", c.html);
    assert!(c.html.contains("Hola, Ana 1 &lt;i&gt;O&#x27;Neil&lt;&#x2f;i&gt;:"), "escaped as ever: {}", c.html);
    let invite = ics_props(&c.calendars[0].1);
    assert!(invite["DESCRIPTION"].contains("Conéctese en línea: https://meet.example.org/grow"), "{invite:?}");
    assert!(invite["DESCRIPTION"].contains("Administrar su inscripción"), "{invite:?}");
    assert!(invite["LOCATION"].starts_with("En línea: "), "{invite:?}");
    let english_invite = ics_props(&english[0].calendars[0].1);
    assert!(english_invite["DESCRIPTION"].contains("Join online: https://meet.example.org/grow"), "{english_invite:?}");
    assert!(english[0].text.contains(&format!("Starts: {}", long_date(English, starts))), "{}", english[0].text);

    // The reminder, the change (what changed, in each reader's words) and the cancellation.
    assert!(
        spanish[1]
            .text
            .contains(&format!("Le recordamos que su evento del Roadshow comienza el {}.", long_date(Spanish, starts))),
        "{}",
        spanish[1].text
    );
    let change_es = format!("Comienza: {} → {}", long_date(Spanish, starts), long_date(Spanish, new_start));
    let change_en = format!("Starts: {} → {}", long_date(English, starts), long_date(English, new_start));
    assert!(spanish[2].text.contains(&change_es), "{}", spanish[2].text);
    assert!(spanish[2].html.contains(&change_es.replace('/', "&#x2f;")), "{}", spanish[2].html);
    assert!(english[2].text.contains(&change_en), "{}", english[2].text);
    assert!(!spanish[2].text.contains("Starts:"), "{}", spanish[2].text);
    assert!(spanish[3].text.contains("Su inscripción quedó cancelada, como lo pidió."), "{}", spanish[3].text);
    assert_eq!(spanish[3].calendars[0].0, "CANCEL");
    // The download of the entry speaks the registration's language too.
    let r = app
        .request(
            Method::GET,
            &format!("/api/v1/registrations/{}/calendar.ics", en["id"].as_str().unwrap()),
            en["manage_token"].as_str(),
            None,
        )
        .await;
    assert!(ics_props(&r.text().await.unwrap())["DESCRIPTION"].contains("Join online:"));
}

async fn the_manage_page_speaks_the_registration_s_language_unless_asked_otherwise(app: TestApp) {
    use roadshow::i18n::Language::Spanish;
    let event = app.published_webinar(10).await;
    let reg = expect_status(
        app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration_in(1, "es")).await,
        201,
    )
    .await;
    let (id, token) = (reg["id"].as_str().unwrap(), reg["manage_token"].as_str().unwrap());
    let (starts, _) = event_times(&app, &event);

    let page = app.get(&format!("/manage/{id}?token={token}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(html.contains("Cancelar mi inscripción") && html.contains("Confirmada"), "{html}");
    assert!(html.contains(&long_date(Spanish, starts).replace('/', "&#x2f;")), "{html}");
    assert!(!html.contains("Cancel my registration"), "{html}");
    // `?lang=en` wins over the stored language, whatever else the link carries.
    let html = app.get(&format!("/manage/{id}?token={token}&lang=en&utm_source=news")).await.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Cancel my registration"), "{html}");

    // The cancel form carries the page's language on to the answer.
    let r = app
        .client
        .post(app.url(&format!("/manage/{id}/cancel")))
        .form(&[("token", token), ("lang", "es")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Su inscripción quedó cancelada.") && html.contains("Cancelada"), "{html}");
    // A link that is not valid: the browser's language.
    let r = app
        .client
        .get(app.url(&format!("/manage/{id}?token=rsm_wrong")))
        .header("accept-language", "es-MX,es;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("No encontramos la inscripción") && html.contains("<html lang=\"es\">"), "{html}");
    let html = app.get(&format!("/manage/{id}?token=rsm_wrong")).await.text().await.unwrap();
    assert!(html.contains("Registration not found"), "{html}");
}

async fn links_and_privacy_emails_follow_the_language_the_request_asked_for(app: TestApp) {
    let event = app.published_webinar(10).await;
    register(&app, &event, 1, false).await;
    for (path, body) in [
        ("/api/v1/registrations/recover", json!({"email": "attendee1@shop1.example", "language": "es"})),
        ("/api/v1/privacy/requests", json!({"email": "attendee1@shop1.example", "kind": "export", "language": "es"})),
        ("/api/v1/privacy/requests", json!({"email": "owner1@shop1.example", "kind": "export"})),
    ] {
        expect_status(app.post_json(path, &body).await, 202).await;
    }
    expect_problem(
        app.post_json("/api/v1/privacy/requests", &json!({"email": "a@b.example", "kind": "export", "language": "fr"}))
            .await,
        422,
        Some("language"),
    )
    .await;
    let (db, c) = (app.db.clone(), ctx(&app));
    tokio::task::spawn_blocking(move || roadshow::privacy::requests::process_all(&db, &c)).await.unwrap().unwrap();
    let by_template = |template: &str, to: &str| -> (String, String, String) {
        let mut conn = app.db.get().unwrap();
        outbox::table
            .filter(outbox::template.eq(template))
            .filter(outbox::recipient.eq(to))
            .select((outbox::subject, outbox::body_text, outbox::body_html))
            .first(&mut *conn)
            .unwrap()
    };
    let (subject, text, _) = by_template("links_list", "attendee1@shop1.example");
    assert_eq!(subject, "Sus enlaces de inscripción al Roadshow");
    assert!(text.contains("Aquí tiene los enlaces") && text.contains("(confirmada)"), "{text}");
    let (subject, text, html) = by_template("privacy_link", "attendee1@shop1.example");
    assert_eq!(subject, "Confirme su solicitud al Roadshow");
    assert!(text.starts_with("Hola:") && text.contains("enviar una copia de todos los datos"), "{text}");
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    // The link opens its page in the email's language.
    let i = text.find("/privacy/confirm?token=").unwrap();
    let link = text[i..].split_whitespace().next().unwrap();
    assert!(link.ends_with("&lang=es"), "{link}");
    let page = app.get(link).await.text().await.unwrap();
    assert!(page.contains("Confirme su solicitud") && page.contains("<html lang=\"es\">"), "{page}");
    // Without a language: English, as before.
    let (subject, text, _) = by_template("privacy_link", "owner1@shop1.example");
    assert_eq!(subject, "Confirm your request to the Roadshow");
    assert!(text.starts_with("Hello there,") && !text.contains("lang="), "{text}");
}

both_backends!(with |c| c.mail_from = SENDER.into();
    invites_and_downloads_name_the_configured_sender_as_organizer_and_the_registrant_as_attendee
);

both_backends!(
    confirmations_reach_the_smtp_server_with_both_parts_headers_and_a_parseable_invite,
    smtp_refusing_then_down_then_back_delivers_everything_exactly_once,
    a_worker_killed_between_send_and_mark_resends_with_the_same_message_id,
    refused_mail_is_dead_lettered_and_an_admin_can_retry_it,
    changes_and_cancellation_update_the_same_calendar_entry_with_a_growing_sequence,
    the_scheduler_sends_each_reminder_and_follow_up_once_and_skips_cancellations,
    a_reminder_queued_before_a_cancellation_is_dropped_not_sent,
    without_smtp_emails_are_written_as_eml_files,
    a_spanish_registration_gets_every_email_in_spanish_and_an_english_one_in_english,
    the_manage_page_speaks_the_registration_s_language_unless_asked_otherwise,
    links_and_privacy_emails_follow_the_language_the_request_asked_for
);
