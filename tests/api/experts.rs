//! Expert consultations through real HTTP on both backends: profiles, windows (overlap across
//! zones, DST nights), booking races, moves under contention, registrants-first, matching,
//! reschedules and cancellations of the stop, emails and invites, the agenda and its feed,
//! attendance, privacy.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use reqwest::Method;
use roadshow::db::schema::{expert_bookings, expert_slots, outbox};
use roadshow::db::{now, write_tx};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{expect_problem, expect_status, TestApp};

/// A staff user with role `expert` and a profile; returns (id, token).
async fn expert(
    app: &TestApp,
    name: &str,
    topics: &[&str],
    languages: &[&str],
    industries: &[&str],
) -> (String, String) {
    let (id, token) = fixtures::staff(app, "expert", None).await;
    let body = json!({
        "display_name": name, "bio": format!("{name} helps small shops."), "topics": topics,
        "languages": languages, "industries": industries, "states": ["TX"], "online": true,
        "meeting_url": format!("https://meet.example.org/{}", &id[..8]),
    });
    let r = app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&token), Some(&body)).await;
    expect_status(r, 201).await;
    (id, token)
}

/// A published roadshow stop in Texas from `start` for `hours`; returns its id.
async fn stop(app: &TestApp, start: chrono::DateTime<Utc>, hours: i64) -> String {
    let venue = app.create_venue("TX").await;
    let id = app
        .draft_event(json!({
            "kind": "roadshow_stop", "venue_id": venue, "join_url": null, "title": "Austin stop",
            "starts_at": start.to_rfc3339(), "ends_at": (start + Duration::hours(hours)).to_rfc3339(),
        }))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    id
}

/// Ten days ahead at 15:00 UTC (09:00 or 10:00 in Chicago), to the minute.
fn day_start() -> chrono::DateTime<Utc> {
    let d = (Utc::now() + Duration::days(10)).date_naive().and_hms_opt(15, 0, 0).unwrap();
    chrono::DateTime::from_naive_utc_and_offset(d, Utc)
}

async fn window(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/admin/experts/me/windows", Some(token), Some(&body)).await
}

async fn stop_window(
    app: &TestApp,
    token: &str,
    event: &str,
    from: chrono::DateTime<Utc>,
    hours: i64,
    minutes: i64,
) -> Value {
    let r = window(
        app,
        token,
        json!({"event_id": event, "starts_at": from.to_rfc3339(), "ends_at": (from + Duration::hours(hours)).to_rfc3339(),
               "slot_minutes": minutes}),
    )
    .await;
    expect_status(r, 201).await
}

fn booking_body(n: usize) -> Value {
    json!({
        "business": {"name": format!("Shop {n}"), "email": format!("owner{n}@shop{n}.example"), "state": "TX", "industry": "retail"},
        "attendee": {"name": format!("Owner {n}"), "email": format!("owner{n}@shop{n}.example")},
        "question": "How do I advertise to people nearby?", "topic": "advertising",
    })
}

async fn book(app: &TestApp, slot: &str, body: &Value) -> reqwest::Response {
    app.post_json(&format!("/api/v1/expert-slots/{slot}/booking"), body).await
}

/// Every booked session is over: moved into the past in the database (attendance may be marked).
fn sessions_are_over(app: &TestApp) {
    let mut conn = app.db.get().unwrap();
    write_tx(&mut conn, |c| {
        diesel::update(expert_bookings::table)
            .set((
                expert_bookings::starts_at.eq(now() - Duration::hours(2)),
                expert_bookings::ends_at.eq(now() - Duration::hours(1)),
            ))
            .execute(c)?;
        Ok(())
    })
    .unwrap();
}

fn slot_ids(w: &Value) -> Vec<String> {
    w["slots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

/// (template, recipient, subject, body_text, ics) of every outbox row, oldest first.
fn mails(app: &TestApp) -> Vec<(String, String, String, String, Option<String>)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .order((outbox::created_at, outbox::id))
        .select((outbox::template, outbox::recipient, outbox::subject, outbox::body_text, outbox::ics))
        .load(&mut *conn)
        .unwrap()
}

/// The properties of an invite's calendar and VEVENT, read by an independent RFC 5545 parser
/// (`CAL:METHOD`, `UID`, `SEQUENCE`, `ORGANIZER`, `ATTENDEE` joined by `;`, …).
fn ics(text: &str) -> BTreeMap<String, String> {
    let unfolded = icalendar::parser::unfold(text);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a valid calendar");
    let mut out = BTreeMap::new();
    for p in &cal.properties {
        out.insert(format!("CAL:{}", p.name.as_str()), p.val.as_str().to_string());
    }
    let event = cal.components.iter().find(|c| c.name == "VEVENT").expect("a VEVENT");
    for p in &event.properties {
        out.entry(p.name.as_str().to_string())
            .and_modify(|v: &mut String| {
                v.push(';');
                v.push_str(p.val.as_str());
            })
            .or_insert_with(|| p.val.as_str().to_string());
    }
    out
}

// ---------------------------------------------------------------------------------------------

both_backends!(
    the_public_sees_only_the_public_profile,
    windows_never_overlap_across_zones_and_stay_inside_the_stop,
    a_window_on_a_dst_night_holds_the_slots_that_fit_its_real_length,
    fifty_requests_for_one_slot_make_exactly_one_booking,
    one_attendee_racing_for_two_overlapping_slots_gets_one,
    a_business_holds_one_session_per_stop_and_cancelling_reopens_the_slot,
    two_businesses_moving_to_one_slot_one_wins_and_the_other_keeps_its_own,
    registrants_first_needs_a_registration_of_the_stop,
    matching_ranks_by_fit_then_spreads_load_deterministically,
    emails_and_invites_follow_a_booking_through_move_and_cancel,
    rescheduling_the_stop_moves_windows_and_bookings_and_tells_everyone,
    cancelling_the_stop_cancels_its_bookings,
    removing_a_window_with_bookings_needs_an_explicit_cancel,
    the_agenda_and_feed_show_an_expert_only_their_own_sessions,
    attendance_is_marked_after_the_start_and_counted_in_reports,
    export_and_erasure_cover_bookings,
    idempotent_retries_answer_with_the_same_booking,
    reminders_reach_the_business_and_the_expert_once,
    a_reschedule_racing_bookings_leaves_every_booking_on_its_slot,
    staff_cancel_a_booking_with_a_reason_and_the_slot_opens,
    a_spanish_booking_is_emailed_in_spanish_and_its_expert_in_english,
);

async fn the_public_sees_only_the_public_profile(app: TestApp) {
    let (id, token) =
        expert(&app, "Ana Ruiz", &["advertising", "page-setup"], &["en", "es-mx"], &["restaurants"]).await;
    let list = expect_status(app.get("/api/v1/experts?topic=advertising&language=es").await, 200).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let one = expect_status(app.get(&format!("/api/v1/experts/{id}")).await, 200).await;
    assert_eq!(one["display_name"], "Ana Ruiz");
    assert_eq!(one["languages"], json!(["en", "es-MX"]), "tags are normalised");
    let text = one.to_string();
    assert!(!text.contains("meet.example.org") && !text.contains("partners.test"), "no link, no address: {text}");
    // Staff see the meeting link.
    let staff = expect_status(app.admin_get(&format!("/api/v1/admin/experts/{id}")).await, 200).await;
    assert!(staff["meeting_url"].as_str().unwrap().starts_with("https://meet.example.org/"));
    // Another topic finds nobody; a topic outside the vocabulary is named.
    let none = expect_status(app.get("/api/v1/experts?topic=analytics").await, 200).await;
    assert_eq!(none["items"], json!([]));
    expect_problem(app.get("/api/v1/experts?topic=astrology").await, 400, Some("topic")).await;
    let bad = json!({"display_name": "", "topics": ["astrology"], "languages": ["english!"], "online": true});
    let r = app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&token), Some(&bad)).await;
    let p = expect_problem(r, 422, None).await;
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["display_name", "topics[0]", "languages[0]", "meeting_url"] {
        assert!(fields.contains(&f), "{f} named: {p}");
    }
    // A user who is not an expert gets no profile.
    let (org_user, _) =
        fixtures::staff(&app, "organizer", Some(&app.create_org("Chamber TX", "local_chamber", &["TX"]).await)).await;
    let good = json!({"display_name": "X", "topics": ["advertising"], "languages": ["en"]});
    let r = app
        .request(Method::PUT, &format!("/api/v1/admin/experts/{org_user}"), Some(&app.admin_token), Some(&good))
        .await;
    expect_problem(r, 409, None).await;
}

async fn windows_never_overlap_across_zones_and_stay_inside_the_stop(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let day = (Utc::now() + Duration::days(20)).date_naive();
    // 10:00-12:00 in New York is 14:00-16:00 UTC.
    let ny = window(
        &app,
        &token,
        json!({"time_zone": "America/New_York", "starts_at": format!("{day}T10:00"),
        "ends_at": format!("{day}T12:00"), "slot_minutes": 30, "buffer_minutes": 10}),
    )
    .await;
    let ny = expect_status(ny, 201).await;
    // 30 + 10 minutes a slot: 10:00, 10:40, 11:20 (ends 11:50).
    assert_eq!(ny["slots"].as_array().unwrap().len(), 3, "{ny}");
    let offset = &ny["starts_at_local"].as_str().unwrap()[19..];
    assert_eq!(ny["slots"][1]["starts_at_local"], format!("{day}T10:40:00{offset}"));
    // 08:00-09:00 in Los Angeles is 11:00-12:00 in New York: the same expert, another zone, a clash.
    let la = window(
        &app,
        &token,
        json!({"time_zone": "America/Los_Angeles", "starts_at": format!("{day}T08:00"),
        "ends_at": format!("{day}T09:00"), "slot_minutes": 30}),
    )
    .await;
    let p = expect_problem(la, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains(ny["id"].as_str().unwrap()), "names the clash: {p}");
    // Right after it is fine.
    let after = window(
        &app,
        &token,
        json!({"time_zone": "America/Los_Angeles", "starts_at": format!("{day}T09:00"),
        "ends_at": format!("{day}T10:00"), "slot_minutes": 30}),
    )
    .await;
    expect_status(after, 201).await;
    // At a stop: inside the event's time only, read in its zone.
    let start = day_start();
    let event = stop(&app, start, 3).await;
    let outside = window(
        &app,
        &token,
        json!({"event_id": event, "starts_at": (start - Duration::hours(1)).to_rfc3339(),
        "ends_at": (start + Duration::hours(1)).to_rfc3339(), "slot_minutes": 30}),
    )
    .await;
    expect_problem(outside, 422, Some("starts_at")).await;
    for (field, v) in [("slot_minutes", json!(10)), ("slot_minutes", json!(121)), ("buffer_minutes", json!(-1))] {
        let mut body = json!({"event_id": event, "starts_at": start.to_rfc3339(),
            "ends_at": (start + Duration::hours(1)).to_rfc3339(), "slot_minutes": 30});
        body[field] = v;
        expect_problem(window(&app, &token, body).await, 422, Some(field)).await;
    }
    // Far-off dates are refused, never a 500.
    let far = window(
        &app,
        &token,
        json!({"time_zone": "UTC", "starts_at": "+262142-12-31T23:00",
        "ends_at": "+262142-12-31T23:59", "slot_minutes": 15}),
    )
    .await;
    expect_problem(far, 422, Some("starts_at")).await;
    let w = stop_window(&app, &token, &event, start, 1, 20).await;
    assert_eq!(w["time_zone"], "America/Chicago");
    assert_eq!(w["slots"].as_array().unwrap().len(), 3);
    // A second expert may use the same hour.
    let (_, other) = expert(&app, "Ben", &["advertising"], &["en"], &[]).await;
    stop_window(&app, &other, &event, start, 1, 20).await;
    let slots = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert_eq!(slots["items"].as_array().unwrap().len(), 6, "{slots}");
}

async fn a_window_on_a_dst_night_holds_the_slots_that_fit_its_real_length(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    // New York falls back on 2027-11-07 (01:00-02:00 happens twice) and springs forward on
    // 2027-03-14 (02:00-03:00 does not happen).
    let fall = expect_status(
        window(
            &app,
            &token,
            json!({"time_zone": "America/New_York", "starts_at": "2027-11-07T00:00",
            "ends_at": "2027-11-07T03:00", "slot_minutes": 60}),
        )
        .await,
        201,
    )
    .await;
    let local: Vec<&str> =
        fall["slots"].as_array().unwrap().iter().map(|s| s["starts_at_local"].as_str().unwrap()).collect();
    assert_eq!(
        local,
        [
            "2027-11-07T00:00:00-04:00",
            "2027-11-07T01:00:00-04:00",
            "2027-11-07T01:00:00-05:00",
            "2027-11-07T02:00:00-05:00"
        ]
    );
    let spring = expect_status(
        window(
            &app,
            &token,
            json!({"time_zone": "America/New_York", "starts_at": "2027-03-14T01:00",
            "ends_at": "2027-03-14T04:00", "slot_minutes": 60}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(spring["slots"].as_array().unwrap().len(), 2, "{spring}");
    // A local time that happens twice is refused unless an offset settles it.
    let twice = window(
        &app,
        &token,
        json!({"time_zone": "America/New_York", "starts_at": "2027-11-07T01:30",
        "ends_at": "2027-11-07T05:00", "slot_minutes": 30}),
    )
    .await;
    let p = expect_problem(twice, 422, Some("starts_at")).await;
    assert!(p.to_string().contains("twice"), "{p}");
    let gap = window(
        &app,
        &token,
        json!({"time_zone": "America/New_York", "starts_at": "2027-03-14T02:30",
        "ends_at": "2027-03-14T05:00", "slot_minutes": 30}),
    )
    .await;
    expect_problem(gap, 422, Some("starts_at")).await;
}

async fn fifty_requests_for_one_slot_make_exactly_one_booking(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let w = stop_window(&app, &token, &event, start, 1, 30).await;
    let slot = slot_ids(&w)[0].clone();
    let futures = (0..50).map(|n| {
        let (app, slot) = (&app, slot.clone());
        async move { book(app, &slot, &booking_body(n)).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(futures).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49, "{statuses:?}");
    let mut conn = app.db.get().unwrap();
    let n: i64 =
        expert_bookings::table.filter(expert_bookings::slot_id.eq(&slot)).count().get_result(&mut *conn).unwrap();
    assert_eq!(n, 1);
    drop(conn);
    app.assert_no_retries();
    // The slot is no longer listed.
    let slots = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert!(!slots.to_string().contains(&slot));
}

async fn one_attendee_racing_for_two_overlapping_slots_gets_one(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let (_, b) = expert(&app, "Ben", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let wa = stop_window(&app, &a, &event, start, 1, 30).await;
    // Ben's slots start 15 minutes later: each overlaps one of Ana's.
    let wb = stop_window(&app, &b, &event, start + Duration::minutes(15), 1, 30).await;
    for _ in 0..3 {
        let (sa, sb) = (slot_ids(&wa)[0].clone(), slot_ids(&wb)[0].clone());
        // Two businesses (so the per-business limit is not what refuses), one attendee.
        let mut one = booking_body(1);
        let mut two = booking_body(2);
        one["attendee"]["email"] = json!("same@person.example");
        two["attendee"]["email"] = json!("same@person.example");
        let (r1, r2) = tokio::join!(book(&app, &sa, &one), book(&app, &sb, &two));
        let mut got = [r1.status().as_u16(), r2.status().as_u16()];
        got.sort();
        assert_eq!(got, [201, 409]);
        // Free them again for the next round.
        let mut conn = app.db.get().unwrap();
        write_tx(&mut conn, |c| {
            diesel::delete(expert_bookings::table).execute(c)?;
            diesel::update(expert_slots::table).set(expert_slots::booking_id.eq(None::<String>)).execute(c)?;
            Ok(())
        })
        .unwrap();
    }
    app.assert_no_retries();
}

async fn a_business_holds_one_session_per_stop_and_cancelling_reopens_the_slot(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &token, &event, start, 2, 30).await);
    let first = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    // Another attendee of the same business: the limit is per business.
    let mut colleague = booking_body(1);
    colleague["attendee"] = json!({"name": "Colleague", "email": "colleague@shop1.example"});
    let p = expect_problem(book(&app, &slots[2], &colleague).await, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains("limit is 1"), "{p}");
    // Cancel through the manage token: the slot is open again at once, and the colleague gets it.
    let token1 = first["manage_token"].as_str().unwrap();
    let id = first["id"].as_str().unwrap();
    let r = app.request(Method::DELETE, &format!("/api/v1/expert-bookings/{id}"), Some(token1), None).await;
    assert_eq!(expect_status(r, 200).await["status"], "cancelled");
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert!(listed.to_string().contains(&slots[0]), "reopened: {listed}");
    expect_status(book(&app, &slots[0], &colleague).await, 201).await;
    // A wrong token and no token.
    let r = app.request(Method::GET, &format!("/api/v1/expert-bookings/{id}"), Some("rsm_wrong"), None).await;
    expect_problem(r, 404, None).await;
    expect_problem(app.get(&format!("/api/v1/expert-bookings/{id}")).await, 401, None).await;
    // Bad input is named.
    let mut bad = booking_body(3);
    bad["topic"] = json!("astrology");
    bad["business"]["email"] = json!("nope");
    let p = expect_problem(book(&app, &slots[1], &bad).await, 422, None).await;
    let text = p.to_string();
    assert!(text.contains("\"topic\"") && text.contains("business.email"), "{p}");
    expect_problem(book(&app, "not-a-uuid", &booking_body(4)).await, 400, Some("id")).await;
    expect_problem(book(&app, &roadshow::db::new_id(), &booking_body(4)).await, 404, None).await;
}

async fn two_businesses_moving_to_one_slot_one_wins_and_the_other_keeps_its_own(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let (_, b) = expert(&app, "Ben", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 3).await;
    let sa = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let sb = slot_ids(&stop_window(&app, &b, &event, start + Duration::hours(1), 1, 30).await);
    let one = expect_status(book(&app, &sa[0], &booking_body(1)).await, 201).await;
    let two = expect_status(book(&app, &sa[1], &booking_body(2)).await, 201).await;
    let target = sb[0].clone();
    let mv = |b: &Value| {
        let (id, tok) = (b["id"].as_str().unwrap().to_string(), b["manage_token"].as_str().unwrap().to_string());
        let (app, target) = (&app, target.clone());
        async move {
            app.request(
                Method::POST,
                &format!("/api/v1/expert-bookings/{id}/move"),
                Some(&tok),
                Some(&json!({"slot_id": target})),
            )
            .await
            .status()
            .as_u16()
        }
    };
    let (r1, r2) = tokio::join!(mv(&one), mv(&two));
    let mut got = [r1, r2];
    got.sort();
    assert_eq!(got, [200, 409]);
    let (winner, loser, loser_slot) = if r1 == 200 { (&one, &two, &sa[1]) } else { (&two, &one, &sa[0]) };
    let see = |b: &Value| {
        let (id, tok) = (b["id"].as_str().unwrap().to_string(), b["manage_token"].as_str().unwrap().to_string());
        let app = &app;
        async move {
            expect_status(
                app.request(Method::GET, &format!("/api/v1/expert-bookings/{id}"), Some(&tok), None).await,
                200,
            )
            .await
        }
    };
    let w = see(winner).await;
    assert_eq!(w["slot_id"], target.as_str());
    assert_eq!(w["expert"]["display_name"], "Ben", "moved to another expert");
    let l = see(loser).await;
    assert_eq!(l["slot_id"], loser_slot.as_str(), "the loser keeps its slot");
    assert_eq!(l["status"], "booked");
    // The winner's old slot is open again; the loser's is not.
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await.to_string();
    let winner_old = if r1 == 200 { &sa[0] } else { &sa[1] };
    assert!(listed.contains(winner_old.as_str()) && !listed.contains(loser_slot.as_str()) && !listed.contains(&target));
    app.assert_no_retries();
}

async fn registrants_first_needs_a_registration_of_the_stop(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let other = stop(&app, start + Duration::days(1), 2).await;
    let until = Utc::now() + Duration::days(5);
    let w = window(
        &app,
        &token,
        json!({"event_id": event, "starts_at": start.to_rfc3339(),
        "ends_at": (start + Duration::hours(1)).to_rfc3339(), "slot_minutes": 30,
        "registrants_only_until": until.to_rfc3339()}),
    )
    .await;
    let slots = slot_ids(&expect_status(w, 201).await);
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert!(listed["items"][0]["registrants_only_until"].is_string(), "{listed}");
    expect_problem(book(&app, &slots[0], &booking_body(1)).await, 403, None).await;
    // A registration of another stop does not open it.
    let reg = |e: &str, n: usize| {
        let (app, e) = (&app, e.to_string());
        async move {
            let body = json!({"business": booking_body(n)["business"], "attendee": booking_body(n)["attendee"]});
            expect_status(app.post_json(&format!("/api/v1/events/{e}/registrations"), &body).await, 201).await
        }
    };
    let elsewhere = reg(&other, 1).await;
    let mut body = booking_body(1);
    body["registration_token"] = elsewhere["manage_token"].clone();
    expect_problem(book(&app, &slots[0], &body).await, 403, None).await;
    let here = reg(&event, 1).await;
    body["registration_token"] = here["manage_token"].clone();
    expect_status(book(&app, &slots[0], &body).await, 201).await;
    // The registration's page lists the session.
    let page = app
        .get(&format!("/manage/{}?token={}", here["id"].as_str().unwrap(), here["manage_token"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your sessions with experts") && page.contains("Ana"), "{page}");
    // One registrant's token does not open the stop to another attendee of another business.
    let mut stranger = booking_body(5);
    stranger["registration_token"] = here["manage_token"].clone();
    expect_problem(book(&app, &slots[1], &stranger).await, 403, None).await;
    // Nor does a move from a slot open to everyone into one for registrants.
    let (_, b) = expert(&app, "Ben", &["advertising"], &["en"], &[]).await;
    let open_slots = slot_ids(&stop_window(&app, &b, &event, start + Duration::hours(1), 1, 30).await);
    let walk_in = expect_status(book(&app, &open_slots[0], &booking_body(6)).await, 201).await;
    let (wid, wtok) = (walk_in["id"].as_str().unwrap(), walk_in["manage_token"].as_str().unwrap());
    let r = app
        .request(
            Method::POST,
            &format!("/api/v1/expert-bookings/{wid}/move"),
            Some(wtok),
            Some(&json!({"slot_id": slots[1]})),
        )
        .await;
    expect_problem(r, 403, None).await;
    // Once the period is over (staff end it), anyone may book.
    let win =
        expect_status(app.request(Method::GET, "/api/v1/admin/experts/me/windows", Some(&token), None).await, 200)
            .await;
    let window_id = win["items"][0]["id"].as_str().unwrap();
    let r = app
        .request(
            Method::PATCH,
            &format!("/api/v1/admin/expert-windows/{window_id}"),
            Some(&token),
            Some(&json!({"registrants_only_until": null})),
        )
        .await;
    expect_status(r, 200).await;
    expect_status(book(&app, &slots[1], &booking_body(2)).await, 201).await;
}

async fn matching_ranks_by_fit_then_spreads_load_deterministically(app: TestApp) {
    let start = day_start();
    let event = stop(&app, start, 3).await;
    // Ana: advertising, Spanish, four slots from the start; Ben: advertising, English, restaurants,
    // two slots an hour later; Cy: analytics, Spanish, restaurants, two slots from the start.
    let (ana, a) = expert(&app, "Ana", &["advertising"], &["es"], &[]).await;
    let (ben, b) = expert(&app, "Ben", &["advertising"], &["en"], &["restaurants"]).await;
    let (cy, c) = expert(&app, "Cy", &["analytics"], &["es"], &["restaurants"]).await;
    let ana_slots = slot_ids(&stop_window(&app, &a, &event, start, 2, 30).await);
    stop_window(&app, &b, &event, start + Duration::hours(1), 1, 30).await;
    stop_window(&app, &c, &event, start, 1, 30).await;
    let ranked = |q: &str| {
        let (app, q, event) = (&app, q.to_string(), event.clone());
        async move {
            let page = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots?{q}")).await, 200).await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["expert"]["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let names = |order: Vec<String>| -> Vec<&'static str> {
        order
            .iter()
            .map(|id| {
                if *id == ana {
                    "ana"
                } else if *id == ben {
                    "ben"
                } else if *id == cy {
                    "cy"
                } else {
                    "?"
                }
            })
            .collect()
    };
    // Topic (4) + industry (2) + language (1): Ben 6, Ana 5, Cy 3.
    let order = names(ranked("for_topic=advertising&for_industry=restaurants&for_language=es").await);
    assert_eq!(order, ["ben", "ben", "ana", "ana", "ana", "ana", "cy", "cy"]);
    // Topic + language: Ana 5, Ben 4, Cy 1.
    let order = names(ranked("for_topic=advertising&for_language=es").await);
    assert_eq!(order, ["ana", "ana", "ana", "ana", "ben", "ben", "cy", "cy"]);
    // Equal fit: the experts alternate (Ana 09:00, Ben 10:00, Ana 09:30, Ben 10:30), then the rest of
    // Ana's afternoon; by time alone Ana's first three slots would come first.
    let order = names(ranked("for_topic=advertising").await);
    assert_eq!(order, ["ana", "ben", "ana", "ben", "ana", "ana", "cy", "cy"]);
    // Once Ana holds two sessions, Ben's slots come first although Ana's remaining ones are as early.
    expect_status(book(&app, &ana_slots[0], &booking_body(1)).await, 201).await;
    expect_status(book(&app, &ana_slots[1], &booking_body(2)).await, 201).await;
    let order = names(ranked("for_topic=advertising").await);
    assert_eq!(order, ["ben", "ben", "ana", "ana", "cy", "cy"]);
    // The same data, the same order; paging keeps it.
    let full = ranked("for_topic=advertising").await;
    let page1 = expect_status(
        app.get(&format!("/api/v1/events/{event}/expert-slots?for_topic=advertising&limit=4")).await,
        200,
    )
    .await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = expect_status(
        app.get(&format!("/api/v1/events/{event}/expert-slots?for_topic=advertising&limit=4&cursor={cursor}")).await,
        200,
    )
    .await;
    let paged: Vec<String> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|s| s["expert"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paged, full);
    assert!(page2["next_cursor"].is_null());
    // Hard filters: only Spanish speakers.
    let es = names(ranked("language=es").await);
    assert!(!es.is_empty() && es.iter().all(|e| *e == "ana" || *e == "cy"), "{es:?}");
}

async fn emails_and_invites_follow_a_booking_through_move_and_cancel(app: TestApp) {
    let (ana_id, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    // Online: the meeting link goes to the business and the expert only.
    let day = (Utc::now() + Duration::days(12)).date_naive();
    let w = window(
        &app,
        &a,
        json!({"time_zone": "America/Chicago", "starts_at": format!("{day}T09:00"),
        "ends_at": format!("{day}T11:00"), "slot_minutes": 30}),
    )
    .await;
    let slots = slot_ids(&expect_status(w, 201).await);
    let online = expect_status(app.get("/api/v1/expert-slots?online=true").await, 200).await;
    assert_eq!(online["items"].as_array().unwrap().len(), 4);
    assert!(!online.to_string().contains("meet.example.org"), "the public list has no link");
    let booked = expect_status(book(&app, &slots[0], &booking_body(7)).await, 201).await;
    let id = booked["id"].as_str().unwrap().to_string();
    let tok = booked["manage_token"].as_str().unwrap().to_string();
    let expert_email: String = {
        use roadshow::db::schema::staff_users;
        let mut conn = app.db.get().unwrap();
        staff_users::table.find(&ana_id).select(staff_users::email).first(&mut *conn).unwrap()
    };
    let m = mails(&app);
    let to_business: Vec<_> = m.iter().filter(|x| x.1 == "owner7@shop7.example").collect();
    let to_expert: Vec<_> = m.iter().filter(|x| x.1 == expert_email).collect();
    assert_eq!(to_business.len(), 1, "{m:?}");
    assert_eq!(to_expert.len(), 1, "{m:?}");
    let (tpl, _, subject, body, invite) = to_business[0];
    assert_eq!(tpl, "booking_confirmed");
    assert!(
        subject.contains("Ana") && body.contains("meet.example.org") && body.contains("advertise to people nearby"),
        "{body}"
    );
    let inv = ics(invite.as_deref().unwrap());
    let uid = format!("expert-booking-{id}@roadshow");
    assert_eq!(
        (inv["CAL:METHOD"].as_str(), inv["UID"].as_str(), inv["SEQUENCE"].as_str()),
        ("REQUEST", uid.as_str(), "0")
    );
    assert!(inv["ORGANIZER"].starts_with("mailto:"), "{inv:?}");
    assert!(
        inv["ATTENDEE"].contains("mailto:owner7@shop7.example")
            && inv["ATTENDEE"].contains(&format!("mailto:{expert_email}")),
        "{inv:?}"
    );
    let (_, _, _, ebody, _) = to_expert[0];
    assert!(
        ebody.contains("Shop 7") && ebody.contains("advertise to people nearby") && ebody.contains("meet.example.org"),
        "{ebody}"
    );
    // Move: the same entry, a higher SEQUENCE.
    let r = app
        .request(
            Method::POST,
            &format!("/api/v1/expert-bookings/{id}/move"),
            Some(&tok),
            Some(&json!({"slot_id": slots[2]})),
        )
        .await;
    expect_status(r, 200).await;
    let changed: Vec<_> = mails(&app).into_iter().filter(|x| x.0 == "booking_changed").collect();
    assert_eq!(changed.len(), 1);
    let inv = ics(changed[0].4.as_deref().unwrap());
    assert_eq!(
        (inv["UID"].as_str(), inv["SEQUENCE"].as_str(), inv["CAL:METHOD"].as_str()),
        (uid.as_str(), "1", "REQUEST")
    );
    assert!(changed[0].3.contains("Starts:"), "{}", changed[0].3);
    // Cancel: METHOD:CANCEL, SEQUENCE grows again, to both; no link any more.
    let r = app.request(Method::DELETE, &format!("/api/v1/expert-bookings/{id}"), Some(&tok), None).await;
    expect_status(r, 200).await;
    let all = mails(&app);
    let cancelled: Vec<_> = all.iter().filter(|x| x.0 == "booking_cancelled").collect();
    assert_eq!(cancelled.len(), 1);
    let inv = ics(cancelled[0].4.as_deref().unwrap());
    assert_eq!(
        (inv["CAL:METHOD"].as_str(), inv["UID"].as_str(), inv["SEQUENCE"].as_str(), inv["STATUS"].as_str()),
        ("CANCEL", uid.as_str(), "2", "CANCELLED")
    );
    assert!(!cancelled[0].3.contains("meet.example.org"));
    let expert_cancel = all
        .iter()
        .filter(|x| x.1 == expert_email && x.4.as_deref().is_some_and(|i| i.contains("METHOD:CANCEL")))
        .count();
    assert_eq!(expert_cancel, 1, "the expert's calendar is told too");
    // A new meeting link reaches the online sessions still booked; going offline with online windows
    // ahead is refused.
    let again = expect_status(book(&app, &slots[3], &booking_body(8)).await, 201).await;
    let profile = |link: &str, online: bool| {
        json!({"display_name": "Ana", "topics": ["advertising"], "languages": ["en"],
        "online": online, "meeting_url": link})
    };
    let r = app
        .request(
            Method::PUT,
            "/api/v1/admin/experts/me",
            Some(&a),
            Some(&profile("https://meet.example.org/new-room", true)),
        )
        .await;
    expect_status(r, 200).await;
    let notice: Vec<_> =
        mails(&app).into_iter().filter(|x| x.0 == "booking_changed" && x.1 == "owner8@shop8.example").collect();
    assert_eq!(notice.len(), 1);
    assert!(notice[0].3.contains("new-room"), "{}", notice[0].3);
    let r = app
        .request(
            Method::PUT,
            "/api/v1/admin/experts/me",
            Some(&a),
            Some(&profile("https://meet.example.org/new-room", false)),
        )
        .await;
    expect_problem(r, 409, None).await;
    let _ = again;
    // The manage page shows the booking.
    let page = app.get(&format!("/manage/expert-bookings/{id}?token={tok}")).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ana") && html.contains("Cancelled"), "{html}");
}

async fn rescheduling_the_stop_moves_windows_and_bookings_and_tells_everyone(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 3).await;
    let w = stop_window(&app, &a, &event, start + Duration::hours(1), 1, 30).await;
    let slots = slot_ids(&w);
    let booked = expect_status(book(&app, &slots[1], &booking_body(1)).await, 201).await;
    let old_start = booked["starts_at"].as_str().unwrap().to_string();
    // Two hours later, same length.
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/events/{event}"),
            &json!({"starts_at": (start + Duration::hours(2)).to_rfc3339(),
            "ends_at": (start + Duration::hours(5)).to_rfc3339()}),
        )
        .await;
    expect_status(r, 200).await;
    let b = expect_status(
        app.request(
            Method::GET,
            &format!("/api/v1/expert-bookings/{}", booked["id"].as_str().unwrap()),
            Some(booked["manage_token"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    let moved = chrono::DateTime::parse_from_rfc3339(b["starts_at"].as_str().unwrap()).unwrap();
    let was = chrono::DateTime::parse_from_rfc3339(&old_start).unwrap();
    assert_eq!(moved - was, Duration::hours(2));
    let win = expect_status(
        app.request(
            Method::GET,
            &format!("/api/v1/admin/expert-windows/{}", w["id"].as_str().unwrap()),
            Some(&a),
            None,
        )
        .await,
        200,
    )
    .await;
    let ws = chrono::DateTime::parse_from_rfc3339(win["starts_at"].as_str().unwrap()).unwrap();
    assert_eq!(ws.with_timezone(&Utc), start + Duration::hours(3));
    let m = mails(&app);
    let changed: Vec<_> = m.iter().filter(|x| x.0 == "booking_changed").collect();
    assert_eq!(changed.len(), 1, "{m:?}");
    assert_eq!(ics(changed[0].4.as_deref().unwrap())["SEQUENCE"], "1");
    assert!(m.iter().any(|x| x.0 == "expert_booking" && x.2.starts_with("Changed session")), "{m:?}");
    // A new venue alone is news too.
    let venue = app.create_venue("TX").await;
    expect_status(app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"venue_id": venue})).await, 200)
        .await;
    let changed: Vec<_> = mails(&app).into_iter().filter(|x| x.0 == "booking_changed").collect();
    assert_eq!(changed.len(), 2);
    assert!(
        changed[1].3.contains("Where:") && ics(changed[1].4.as_deref().unwrap())["SEQUENCE"] == "2",
        "{}",
        changed[1].3
    );
    // Moving the stop onto the expert's online hours elsewhere is refused, naming the clash.
    let online_from = start + Duration::hours(7);
    let online = window(
        &app,
        &a,
        json!({"time_zone": "UTC", "starts_at": online_from.to_rfc3339(),
        "ends_at": (online_from + Duration::hours(1)).to_rfc3339(), "slot_minutes": 30}),
    )
    .await;
    let online = expect_status(online, 201).await;
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/events/{event}"),
            &json!({"starts_at": (start + Duration::hours(6)).to_rfc3339(),
            "ends_at": (start + Duration::hours(9)).to_rfc3339()}),
        )
        .await;
    let p = expect_problem(r, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains(online["id"].as_str().unwrap()), "{p}");
    // Shortening the stop to before the booking cancels it, with notices.
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/events/{event}"),
            &json!({"ends_at": (start + Duration::hours(3) + Duration::minutes(30)).to_rfc3339()}),
        )
        .await;
    expect_status(r, 200).await;
    let m = mails(&app);
    assert!(m.iter().any(|x| x.0 == "booking_cancelled" && x.3.contains("new hours")), "{m:?}");
}

async fn cancelling_the_stop_cancels_its_bookings(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let booked = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/cancel"), &json!({})).await, 200).await;
    let b = expect_status(
        app.request(
            Method::GET,
            &format!("/api/v1/expert-bookings/{}", booked["id"].as_str().unwrap()),
            Some(booked["manage_token"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(b["status"], "cancelled");
    assert!(mails(&app).iter().any(|x| x.0 == "booking_cancelled" && x.3.contains("stop was cancelled")));
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert_eq!(listed["items"], json!([]));
}

async fn removing_a_window_with_bookings_needs_an_explicit_cancel(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 3).await;
    let w = stop_window(&app, &a, &event, start, 2, 30).await;
    let wid = w["id"].as_str().unwrap();
    let slots = slot_ids(&w);
    expect_status(book(&app, &slots[3], &booking_body(1)).await, 201).await;
    // Shortening keeps the booked slot and withdraws the open ones past the new end.
    let r = app
        .request(
            Method::PATCH,
            &format!("/api/v1/admin/expert-windows/{wid}"),
            Some(&a),
            Some(&json!({"ends_at": (start + Duration::hours(1)).to_rfc3339()})),
        )
        .await;
    let short = expect_status(r, 200).await;
    let kept: Vec<&str> = short["slots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(kept, [slots[0].as_str(), slots[1].as_str(), slots[3].as_str()], "{short}");
    // The kept session still holds the expert's time: a new window over it is refused.
    let over = window(
        &app,
        &a,
        json!({"event_id": event, "starts_at": (start + Duration::hours(1)).to_rfc3339(),
        "ends_at": (start + Duration::hours(2)).to_rfc3339(), "slot_minutes": 30}),
    )
    .await;
    let p = expect_problem(over, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains("booked session"), "{p}");
    let r = app.request(Method::DELETE, &format!("/api/v1/admin/expert-windows/{wid}"), Some(&a), None).await;
    expect_problem(r, 409, None).await;
    let r = app
        .request(Method::DELETE, &format!("/api/v1/admin/expert-windows/{wid}?cancel_bookings=true"), Some(&a), None)
        .await;
    assert_eq!(r.status().as_u16(), 204);
    assert!(mails(&app).iter().any(|x| x.0 == "booking_cancelled" && x.1 == "owner1@shop1.example"));
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert_eq!(listed["items"], json!([]));
}

async fn the_agenda_and_feed_show_an_expert_only_their_own_sessions(app: TestApp) {
    let (ana, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let (ben, b) = expert(&app, "Ben", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let sa = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let sb = slot_ids(&stop_window(&app, &b, &event, start, 1, 30).await);
    let mine = expect_status(book(&app, &sa[0], &booking_body(1)).await, 201).await;
    expect_status(book(&app, &sb[0], &booking_body(2)).await, 201).await;
    let agenda =
        expect_status(app.request(Method::GET, "/api/v1/admin/experts/me/bookings", Some(&a), None).await, 200).await;
    let items = agenda["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], mine["id"]);
    assert_eq!(items[0]["business_name"], "Shop 1");
    // Another expert's agenda and bookings are not found.
    let r = app.request(Method::GET, &format!("/api/v1/admin/experts/{ben}/bookings"), Some(&a), None).await;
    expect_problem(r, 404, None).await;
    // Staff see a stop's bookings.
    let all = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}/expert-bookings")).await, 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    // The feed: a secret URL, rotatable.
    let feed =
        expect_status(app.request(Method::POST, "/api/v1/admin/experts/me/calendar-feed", Some(&a), None).await, 201)
            .await;
    let url = feed["url"].as_str().unwrap();
    let path = &url[url.find("/api/").unwrap()..];
    let r = app.get(path).await;
    assert_eq!(r.status().as_u16(), 200);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("METHOD:PUBLISH")
            && body.contains(&format!("UID:expert-booking-{}@roadshow", mine["id"].as_str().unwrap()))
    );
    assert_eq!(body.matches("BEGIN:VEVENT").count(), 1, "only Ana's own");
    let again =
        expect_status(app.request(Method::POST, "/api/v1/admin/experts/me/calendar-feed", Some(&a), None).await, 201)
            .await;
    assert_ne!(again["url"], feed["url"]);
    expect_problem(app.get(path).await, 404, None).await;
    expect_problem(app.get(&format!("/api/v1/experts/{ana}/calendar.ics")).await, 404, None).await;
    // Ben cannot make Ana's feed.
    let r = app.request(Method::POST, &format!("/api/v1/admin/experts/{ana}/calendar-feed"), Some(&b), None).await;
    expect_problem(r, 404, None).await;
}

async fn attendance_is_marked_after_the_start_and_counted_in_reports(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let b1 = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    let b2 = expect_status(book(&app, &slots[1], &booking_body(2)).await, 201).await;
    let mark = |id: &str, status: &str| {
        let (app, path, body) =
            (&app, format!("/api/v1/admin/expert-bookings/{id}/attendance"), json!({"status": status}));
        let tok = a.clone();
        async move { app.request(Method::POST, &path, Some(&tok), Some(&body)).await }
    };
    let (id1, id2) = (b1["id"].as_str().unwrap(), b2["id"].as_str().unwrap());
    expect_problem(mark(id1, "attended").await, 409, None).await;
    sessions_are_over(&app);
    assert_eq!(expect_status(mark(id1, "attended").await, 200).await["status"], "attended");
    assert_eq!(expect_status(mark(id2, "no_show").await, 200).await["status"], "no_show");
    expect_problem(mark(id2, "booked").await, 422, Some("status")).await;
    let report = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
    let tx = report["items"].as_array().unwrap().iter().find(|r| r["state"] == "TX").cloned().unwrap();
    assert_eq!(tx["expert_sessions"]["attended"], 1, "{tx}");
    assert_eq!(tx["expert_sessions"]["no_show"], 1, "{tx}");
    // Another organization's organizer sees neither the booking nor the stop's bookings.
    let org = app.create_org("Chamber NM", "local_chamber", &["NM"]).await;
    let (_, organizer) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let r = app
        .request(
            Method::POST,
            &format!("/api/v1/admin/expert-bookings/{id1}/attendance"),
            Some(&organizer),
            Some(&json!({"status": "no_show"})),
        )
        .await;
    expect_problem(r, 404, None).await;
    let r = app
        .request(Method::GET, &format!("/api/v1/admin/events/{event}/expert-bookings"), Some(&organizer), None)
        .await;
    expect_problem(r, 404, None).await;
    // Audit trail.
    let audit = expect_status(app.admin_get("/api/v1/admin/audit?object_type=expert_booking").await, 200).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

async fn export_and_erasure_cover_bookings(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let booked = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    let id = booked["id"].as_str().unwrap().to_string();
    let mut conn = app.db.get().unwrap();
    let data = write_tx(&mut conn, |c| roadshow::privacy::queries::export_address(c, "owner1@shop1.example")).unwrap();
    let v = serde_json::to_value(&data).unwrap();
    assert_eq!(v["expert_bookings"][0]["id"], id.as_str(), "{v}");
    assert_eq!(v["business"]["expert_bookings"][0]["question"], "How do I advertise to people nearby?");
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let summary = write_tx(&mut conn, |c| {
        roadshow::privacy::queries::erase_address(c, &ctx, "owner1@shop1.example", &roadshow::db::new_id())
    })
    .unwrap();
    assert_eq!(summary.expert_bookings_anonymised, 1);
    drop(conn);
    // The slot is open again, the token is dead, the expert's email about it is blanked.
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert!(listed.to_string().contains(&slots[0]));
    let r =
        app.request(Method::GET, &format!("/api/v1/expert-bookings/{id}"), booked["manage_token"].as_str(), None).await;
    expect_problem(r, 404, None).await;
    assert!(mails(&app).iter().all(|x| !x.3.contains("Shop 1") && !x.3.contains("owner1@")), "{:?}", mails(&app));
}

async fn idempotent_retries_answer_with_the_same_booking(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let send = |body: Value| {
        let (app, slot) = (&app, slots[0].clone());
        async move {
            app.client
                .post(app.url(&format!("/api/v1/expert-slots/{slot}/booking")))
                .header("Idempotency-Key", "k-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = expect_status(send(booking_body(1)).await, 201).await;
    let again = expect_status(send(booking_body(1)).await, 201).await;
    assert_eq!(first["id"], again["id"]);
    assert_ne!(first["manage_token"], again["manage_token"], "a fresh token each time");
    expect_problem(send(booking_body(2)).await, 422, Some("Idempotency-Key")).await;
    let n = mails(&app).iter().filter(|x| x.0 == "booking_confirmed").count();
    assert_eq!(n, 1, "one confirmation");
}

async fn reminders_reach_the_business_and_the_expert_once(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let kept = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    let gone = expect_status(book(&app, &slots[1], &booking_body(2)).await, 201).await;
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/v1/expert-bookings/{}", gone["id"].as_str().unwrap()),
            gone["manage_token"].as_str(),
            None,
        )
        .await;
    expect_status(r, 200).await;
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let reminders = |app: &TestApp| {
        mails(app).into_iter().filter(|m| m.0 == "booking_reminder" || m.2.starts_with("Session ")).collect::<Vec<_>>()
    };
    // Two days before: nothing yet.
    let stats = roadshow::jobs::run_once(&app.db, &ctx, start - Duration::hours(48)).await.unwrap();
    assert_eq!(stats.booking_reminders, 0);
    assert!(reminders(&app).is_empty());
    // Twelve hours before: one to the business, one to the expert, for the booking that stands.
    let stats = roadshow::jobs::run_once(&app.db, &ctx, start - Duration::hours(12)).await.unwrap();
    assert_eq!(stats.booking_reminders, 1);
    let sent = reminders(&app);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().any(|m| m.1 == "owner1@shop1.example" && m.3.contains("coming up")));
    assert!(sent.iter().all(|m| m.1 != "owner2@shop2.example"), "no reminder for a cancelled booking");
    let inv = ics(sent.iter().find(|m| m.0 == "booking_reminder").unwrap().4.as_deref().unwrap());
    assert_eq!(inv["UID"], format!("expert-booking-{}@roadshow", kept["id"].as_str().unwrap()));
    // Another pass (or another process) adds nothing.
    let stats = roadshow::jobs::run_once(&app.db, &ctx, start - Duration::hours(11)).await.unwrap();
    assert_eq!(stats.booking_reminders, 0);
    assert_eq!(reminders(&app).len(), 2);
}

async fn a_reschedule_racing_bookings_leaves_every_booking_on_its_slot(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 3).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 2, 15).await);
    let bookings = futures_util::future::join_all(slots.iter().enumerate().map(|(n, slot)| {
        let app = &app;
        async move { book(app, slot, &booking_body(n)).await.status().as_u16() }
    }));
    let (path, change) = (
        format!("/api/v1/admin/events/{event}"),
        json!({"starts_at": (start + Duration::hours(1)).to_rfc3339(), "ends_at": (start + Duration::hours(4)).to_rfc3339()}),
    );
    let reschedule = app.admin_patch(&path, &change);
    let (statuses, patched) = tokio::join!(bookings, reschedule);
    expect_status(patched, 200).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    // Whichever committed first, every booking sits on its slot, and every slot moved with the stop.
    let mut conn = app.db.get().unwrap();
    let rows: Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime, chrono::NaiveDateTime, chrono::NaiveDateTime)> =
        expert_bookings::table
            .inner_join(expert_slots::table.on(expert_slots::id.eq(expert_bookings::slot_id)))
            .select((
                expert_bookings::starts_at,
                expert_bookings::ends_at,
                expert_slots::starts_at,
                expert_slots::ends_at,
            ))
            .load(&mut *conn)
            .unwrap();
    assert_eq!(rows.len(), slots.len());
    let new_start = roadshow::db::to_db_time(start + Duration::hours(1));
    for (bs, be, ss, se) in rows {
        assert_eq!((bs, be), (ss, se), "a booking off its slot");
        assert!(ss >= new_start, "a slot left behind at {ss}");
    }
    drop(conn);
    app.assert_no_retries();
}

both_backends!(with |c| c.mail_hourly_cap = 2; a_stranger_cannot_flood_an_address_with_booking_emails);

/// Booking under someone else's address emails that address: like registrations, those emails
/// count against the address's hourly cap, past which they are kept but never sent.
async fn a_stranger_cannot_flood_an_address_with_booking_emails(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let mut statuses = Vec::new();
    for n in 0..3 {
        // Three stops on three days, so neither the business limit nor the overlap rule refuses.
        let event = stop(&app, start + Duration::days(n), 2).await;
        let slot = slot_ids(&stop_window(&app, &a, &event, start + Duration::days(n), 1, 30).await)[0].clone();
        let mut body = booking_body(n as usize);
        body["attendee"]["email"] = json!("victim@target.example");
        expect_status(book(&app, &slot, &body).await, 201).await;
    }
    let mut conn = app.db.get().unwrap();
    let rows: Vec<(String, String)> = outbox::table
        .filter(outbox::recipient.eq("victim@target.example"))
        .order(outbox::created_at)
        .select((outbox::template, outbox::status))
        .load(&mut *conn)
        .unwrap();
    for (t, st) in &rows {
        assert_eq!(t, "booking_confirmed");
        statuses.push(st.as_str());
    }
    assert_eq!(statuses, ["pending", "pending", "suppressed"]);
}

async fn staff_cancel_a_booking_with_a_reason_and_the_slot_opens(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let booked = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    let id = booked["id"].as_str().unwrap();
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/expert-bookings/{id}?reason=booked%20in%20someone%20else%27s%20name"),
            Some(&app.admin_token),
            None,
        )
        .await;
    assert_eq!(expect_status(r, 200).await["status"], "cancelled");
    let m = mails(&app);
    assert!(m.iter().any(|x| x.0 == "booking_cancelled" && x.3.contains("booked in someone else's name")), "{m:?}");
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert!(listed.to_string().contains(&slots[0]));
    let audit = expect_status(
        app.admin_get(&format!("/api/v1/admin/audit?object_type=expert_booking&object_id={id}")).await,
        200,
    )
    .await;
    assert_eq!(audit["items"][0]["action"], "cancel", "{audit}");
    // A line break in the reason is refused, naming it.
    let r = app
        .request(
            Method::DELETE,
            &format!("/api/v1/admin/expert-bookings/{id}?reason=a%0Ab"),
            Some(&app.admin_token),
            None,
        )
        .await;
    expect_problem(r, 400, Some("reason")).await;
}

both_backends!(the_meeting_link_reaches_only_the_expert_and_those_who_manage_it);

/// The issue gives the online meeting link to the booked business and the expert. Staff who manage
/// the profile (admins, the expert's own organization) see it too; an organizer of another
/// organization that merely hosts a stop where the expert offers time sees the expert, not the link.
async fn the_meeting_link_reaches_only_the_expert_and_those_who_manage_it(app: TestApp) {
    let guild = app.create_org("Ads Guild", "regional_office", &["TX"]).await;
    let host = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let (id, token) = fixtures::staff(&app, "expert", Some(&guild)).await;
    let link = "https://meet.example.org/ana-private-room";
    let profile = json!({"display_name": "Ana", "topics": ["advertising"], "languages": ["en"], "online": true,
                         "meeting_url": link});
    expect_status(app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&token), Some(&profile)).await, 201).await;
    // The other organization hosts a stop; the expert offers time there.
    let start = day_start();
    let venue = app.create_venue("TX").await;
    let event = app
        .draft_event(json!({
            "kind": "roadshow_stop", "venue_id": venue, "join_url": null, "title": "Austin stop",
            "starts_at": start.to_rfc3339(), "ends_at": (start + Duration::hours(2)).to_rfc3339(),
            "host_organization_ids": [host],
        }))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/publish"), &json!({})).await, 200).await;
    stop_window(&app, &token, &event, start, 1, 30).await;
    let (_, host_organizer) = fixtures::staff(&app, "organizer", Some(&host)).await;
    let (_, guild_organizer) = fixtures::staff(&app, "organizer", Some(&guild)).await;
    let one = format!("/api/v1/admin/experts/{id}");
    let listed = |page: &Value| page["items"].as_array().unwrap().iter().find(|e| e["id"] == id.as_str()).cloned();

    // The attack: the host's organizer reads the expert, one and in the list; no link either way.
    let seen = expect_status(app.request(Method::GET, &one, Some(&host_organizer), None).await, 200).await;
    assert_eq!(seen["display_name"], "Ana", "the host still sees who offers time at its stop: {seen}");
    assert_eq!(seen["meeting_url"], Value::Null, "{seen}");
    let page =
        expect_status(app.request(Method::GET, "/api/v1/admin/experts", Some(&host_organizer), None).await, 200).await;
    let item = listed(&page).unwrap_or_else(|| panic!("the host lists the expert: {page}"));
    assert_eq!(item["meeting_url"], Value::Null, "{page}");
    assert!(!page.to_string().contains("ana-private-room") && !seen.to_string().contains("ana-private-room"));

    // The expert, its organization's organizers and admins see it.
    for (who, tok) in [("expert", &token), ("guild organizer", &guild_organizer), ("admin", &app.admin_token)] {
        let path = if who == "expert" { "/api/v1/admin/experts/me".to_string() } else { one.clone() };
        let r = expect_status(app.request(Method::GET, &path, Some(tok), None).await, 200).await;
        assert_eq!(r["meeting_url"], link, "{who}: {r}");
        let page = expect_status(app.request(Method::GET, "/api/v1/admin/experts", Some(tok), None).await, 200).await;
        assert_eq!(listed(&page).unwrap_or_else(|| panic!("{who} lists it: {page}"))["meeting_url"], link, "{who}");
    }
}

both_backends!(windows_clash_in_the_hour_a_dst_change_repeats_or_skips_and_only_there);

/// Overlap is decided on real instants. New York falls back on 2027-11-07: 01:00-02:00 happens
/// twice (first EDT, 05:00-06:00 UTC; then EST, 06:00-07:00 UTC). A window from 00:00 to the
/// second 01:00 lasts two hours and holds the first pass only; Phoenix (UTC-7 all year) names those
/// hours without any change. In spring 2:00-3:00 does not happen: 01:00-04:00 lasts two hours.
async fn windows_clash_in_the_hour_a_dst_change_repeats_or_skips_and_only_there(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let online = |zone: &str, from: &str, to: &str| json!({"time_zone": zone, "starts_at": from, "ends_at": to, "slot_minutes": 30});
    let fall = expect_status(
        window(&app, &token, online("America/New_York", "2027-11-07T00:00", "2027-11-07T01:00:00-05:00")).await,
        201,
    )
    .await;
    assert_eq!(fall["starts_at"], "2027-11-07T04:00:00Z", "{fall}");
    assert_eq!(fall["ends_at"], "2027-11-07T06:00:00Z", "{fall}");
    assert_eq!(fall["slots"].as_array().unwrap().len(), 4, "two real hours: {fall}");
    // 22:00-23:00 in Phoenix is 01:00-02:00 EDT, the first pass of the repeated hour: a clash,
    // though on New York's wall clock the window "ends at 01:00".
    let first_pass = window(&app, &token, online("America/Phoenix", "2027-11-06T22:00", "2027-11-06T23:00")).await;
    let p = expect_problem(first_pass, 409, None).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(fall["id"].as_str().unwrap()), "names the clash: {p}");
    assert!(detail.contains("1:00 AM EST"), "and when it ends, in its zone: {p}");
    // Half of it in the repeated hour is a clash too.
    let half = window(&app, &token, online("America/Phoenix", "2027-11-06T22:30", "2027-11-06T23:30")).await;
    expect_problem(half, 409, None).await;
    // 23:00-00:00 in Phoenix is 01:00-02:00 EST, the second pass: it touches the window and fits.
    let second_pass = expect_status(
        window(&app, &token, online("America/Phoenix", "2027-11-06T23:00", "2027-11-07T00:00")).await,
        201,
    )
    .await;
    assert_eq!(second_pass["starts_at"], "2027-11-07T06:00:00Z", "{second_pass}");

    // Spring forward, 2027-03-14: 01:00 EST to 04:00 EDT is 06:00-08:00 UTC.
    let spring = expect_status(
        window(&app, &token, online("America/New_York", "2027-03-14T01:00", "2027-03-14T04:00")).await,
        201,
    )
    .await;
    assert_eq!(spring["ends_at"], "2027-03-14T08:00:00Z", "{spring}");
    let clash = window(&app, &token, online("UTC", "2027-03-14T07:30", "2027-03-14T08:30")).await;
    let p = expect_problem(clash, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains(spring["id"].as_str().unwrap()), "{p}");
    // From 04:00 EDT on (08:00 UTC) the expert is free, though 04:00 is "three hours" after 01:00.
    expect_status(window(&app, &token, online("UTC", "2027-03-14T08:00", "2027-03-14T09:00")).await, 201).await;
}

/// Refuses every insert into the outbox (a full disk, a broken constraint: the email cannot be
/// written), or lets them through again.
fn outbox_refuses(app: &TestApp, refuse: bool) {
    use diesel::connection::SimpleConnection;
    let mut conn = app.db.get().unwrap();
    let sql = match (app.backend == crate::helpers::Backend::Postgres, refuse) {
        (true, true) => {
            "CREATE FUNCTION test_refuse_mail() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'no mail today'; END $$; \
             CREATE TRIGGER test_refuse_mail BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION test_refuse_mail();"
        }
        (true, false) => "DROP TRIGGER test_refuse_mail ON outbox; DROP FUNCTION test_refuse_mail();",
        (false, true) => {
            "CREATE TRIGGER test_refuse_mail BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'no mail today'); END;"
        }
        (false, false) => "DROP TRIGGER test_refuse_mail;",
    };
    conn.batch_execute(sql).unwrap();
}

/// A booking and its emails are one transaction: when the confirmation cannot be written, the
/// request fails (a 500 that names nothing) and leaves no booking, a free slot and no email; the
/// same request succeeds once mail can be written again. A registration likewise.
async fn a_booking_whose_email_cannot_be_written_is_not_made(app: TestApp) {
    let (_, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let event = stop(&app, start, 2).await;
    let slots = slot_ids(&stop_window(&app, &token, &event, start, 1, 30).await);
    let webinar = app.published_webinar(10).await;
    let mails_before = mails(&app).len();
    outbox_refuses(&app, true);
    let p = expect_problem(book(&app, &slots[0], &booking_body(1)).await, 500, None).await;
    assert!(!p.to_string().contains("no mail today"), "no internals leak: {p}");
    let registration = json!({
        "business": {"name": "Shop 1", "email": "owner1@shop1.example", "state": "TX"},
        "attendee": {"name": "Owner 1", "email": "owner1@shop1.example"},
    });
    let path = format!("/api/v1/events/{webinar}/registrations");
    expect_problem(app.post_json(&path, &registration).await, 500, None).await;
    {
        let mut conn = app.db.get().unwrap();
        let bookings: i64 = expert_bookings::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(bookings, 0, "no booking without its email");
        let taken: Option<String> =
            expert_slots::table.find(&slots[0]).select(expert_slots::booking_id).first(&mut *conn).unwrap();
        assert_eq!(taken, None, "the slot is still free");
        use roadshow::db::schema::registrations;
        let regs: i64 = registrations::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(regs, 0, "no registration without its email");
    }
    assert_eq!(mails(&app).len(), mails_before);
    let listed = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots")).await, 200).await;
    assert!(listed.to_string().contains(&slots[0]), "still listed as open: {listed}");
    outbox_refuses(&app, false);
    expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    expect_status(app.post_json(&path, &registration).await, 201).await;
    assert!(mails(&app).len() >= mails_before + 3, "confirmation, expert notice, registration confirmation");
}

both_backends!(
    a_booking_whose_email_cannot_be_written_is_not_made,
    the_slot_list_narrows_by_industry_state_and_time,
    slot_lists_and_the_agenda_page_without_losing_or_repeating,
    profile_window_and_feed_writes_are_audited_without_values,
    an_attended_session_grants_the_ad_credit_once,
);

/// The ids of a slot list's items.
fn listed_ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

/// Every item of a paginated list, following `next_cursor` with `token` (if any); also the count
/// of pages. `path` ends with its query (at least `limit`).
async fn all_pages(app: &TestApp, path: &str, token: Option<&str>) -> (Vec<Value>, usize) {
    let (mut items, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let p = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let page = expect_status(app.request(Method::GET, &p, token, None).await, 200).await;
        pages += 1;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (items, pages),
        }
        assert!(pages < 20, "the pages never end: {path}");
    }
}

async fn the_slot_list_narrows_by_industry_state_and_time(app: TestApp) {
    let start = day_start();
    let event = stop(&app, start, 2).await;
    // Ana: restaurants, serves TX; her window is the first hour. Ben: retail, serves TX and NM; the
    // second hour. Two 30-minute slots each.
    let (ana, a) = expert(&app, "Ana", &["advertising"], &["en"], &["restaurants"]).await;
    let (ben, b) = fixtures::staff(&app, "expert", None).await;
    let profile = json!({"display_name": "Ben", "topics": ["advertising"], "languages": ["en"],
                         "industries": ["retail"], "states": ["NM", "TX"]});
    expect_status(app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&b), Some(&profile)).await, 201).await;
    let ana_slots = slot_ids(&stop_window(&app, &a, &event, start, 1, 30).await);
    let ben_slots = slot_ids(&stop_window(&app, &b, &event, start + Duration::hours(1), 1, 30).await);
    let list = |q: String| {
        let (app, event) = (&app, event.clone());
        async move {
            let page = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots?{q}")).await, 200).await;
            listed_ids(&page)
        }
    };
    let all: Vec<String> = ana_slots.iter().chain(&ben_slots).cloned().collect();
    assert_eq!(list(String::new()).await, all);
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // industry: the experts who know it (any case); one nobody knows finds nothing.
    assert_eq!(list("industry=restaurants".into()).await, ana_slots);
    assert_eq!(list("industry=Retail".into()).await, ben_slots);
    assert_eq!(list("industry=bakeries".into()).await, Vec::<String>::new());
    // state: the experts who serve it.
    assert_eq!(list("state=NM".into()).await, ben_slots);
    assert_eq!(list("state=tx".into()).await, all);
    assert_eq!(list("state=OK".into()).await, Vec::<String>::new());
    expect_problem(app.get(&format!("/api/v1/events/{event}/expert-slots?state=Texas")).await, 400, Some("state"))
        .await;
    // from: slots that start at or after it; to: slots that start before it.
    assert_eq!(list(format!("from={}", at(start + Duration::hours(1)))).await, ben_slots);
    assert_eq!(list(format!("to={}", at(start + Duration::hours(1)))).await, ana_slots);
    let middle = format!("from={}&to={}", at(start + Duration::minutes(30)), at(start + Duration::minutes(90)));
    assert_eq!(list(middle).await, [ana_slots[1].clone(), ben_slots[0].clone()]);
    // An offset is read as such: 10:00 at -05:00 is 15:00 UTC, the stop's start.
    let offset = (start - Duration::hours(5)).format("%Y-%m-%dT%H:%M:%S-05:00").to_string();
    assert_eq!(list(format!("from={}", offset.replace('+', "%2B"))).await, all);
    assert_eq!(list(format!("to={offset}")).await, Vec::<String>::new());
    expect_problem(app.get(&format!("/api/v1/events/{event}/expert-slots?from=soon")).await, 400, Some("from")).await;
    // Filters combine.
    assert_eq!(list(format!("industry=retail&to={}", at(start + Duration::hours(1)))).await, Vec::<String>::new());
    assert_eq!(list(format!("state=TX&from={}", at(start + Duration::minutes(30)))).await, all[1..].to_vec());
    // Each item carries its expert.
    let page = expect_status(app.get(&format!("/api/v1/events/{event}/expert-slots?state=NM")).await, 200).await;
    assert!(page["items"].as_array().unwrap().iter().all(|s| s["expert"]["id"] == ben.as_str()), "{page}");
    assert_ne!(ana, ben);
}

async fn slot_lists_and_the_agenda_page_without_losing_or_repeating(app: TestApp) {
    let start = day_start();
    let event = stop(&app, start, 2).await;
    // Two experts with the same hours: every start time is held by two slots, so a page boundary
    // falls between slots of one instant (the cursor's tie-break on the id).
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let (_, b) = expert(&app, "Ben", &["advertising"], &["en"], &[]).await;
    let ana_slots = slot_ids(&stop_window(&app, &a, &event, start, 2, 30).await);
    let ben_slots = slot_ids(&stop_window(&app, &b, &event, start, 2, 30).await);
    let mut expected: Vec<String> = ana_slots.iter().chain(&ben_slots).cloned().collect();
    assert_eq!(expected.len(), 8);
    let (items, pages) = all_pages(&app, &format!("/api/v1/events/{event}/expert-slots?limit=3"), None).await;
    assert_eq!(pages, 3);
    let ids: Vec<String> = items.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no slot twice: {ids:?}");
    let mut sorted = ids.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "none lost");
    let starts: Vec<&str> = items.iter().map(|s| s["starts_at"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "by start time across pages: {starts:?}");
    // Two pages exactly: the last page's cursor is null, not a page of nothing.
    let (_, pages) = all_pages(&app, &format!("/api/v1/events/{event}/expert-slots?limit=4"), None).await;
    assert_eq!(pages, 2);

    // The expert's agenda: four bookings of Ana (and one of Ben's, not hers), two a page.
    let mut booked = Vec::new();
    for (n, slot) in ana_slots.iter().enumerate() {
        let r = expect_status(book(&app, slot, &booking_body(n)).await, 201).await;
        booked.push(r["id"].as_str().unwrap().to_string());
    }
    expect_status(book(&app, &ben_slots[3], &booking_body(9)).await, 201).await;
    let (agenda, pages) = all_pages(&app, "/api/v1/admin/experts/me/bookings?limit=2", Some(&a)).await;
    assert_eq!(pages, 2);
    let got: Vec<String> = agenda.iter().map(|b| b["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, booked, "each of Ana's bookings once, by start time");
    let (agenda, pages) = all_pages(&app, "/api/v1/admin/experts/me/bookings?limit=3", Some(&a)).await;
    assert_eq!((agenda.len(), pages), (4, 2));
}

/// The audit entries of one object, newest first: (action, actor, changes).
async fn audit_of(app: &TestApp, object_type: &str, id: &str) -> Vec<(String, Value, Value)> {
    let r = app.admin_get(&format!("/api/v1/admin/audit?object_type={object_type}&object_id={id}")).await;
    let page = expect_status(r, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].clone(), e["changes"].clone()))
        .collect()
}

async fn profile_window_and_feed_writes_are_audited_without_values(app: TestApp) {
    let (id, token) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let profile = json!({"display_name": "Ana Ruiz", "bio": "Ads for taquerias.", "topics": ["advertising"],
                         "languages": ["en"], "online": true, "meeting_url": "https://meet.example.org/new-room"});
    expect_status(app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&token), Some(&profile)).await, 200).await;
    expect_status(app.request(Method::POST, "/api/v1/admin/experts/me/calendar-feed", Some(&token), None).await, 201)
        .await;
    let day = (Utc::now() + Duration::days(20)).date_naive();
    let w = expect_status(
        window(
            &app,
            &token,
            json!({"time_zone": "America/Chicago", "starts_at": format!("{day}T10:00"),
                   "ends_at": format!("{day}T12:00"), "slot_minutes": 30}),
        )
        .await,
        201,
    )
    .await;
    let wid = w["id"].as_str().unwrap();
    let r = app
        .request(
            Method::PATCH,
            &format!("/api/v1/admin/expert-windows/{wid}"),
            Some(&token),
            Some(&json!({"ends_at": format!("{day}T11:00")})),
        )
        .await;
    expect_status(r, 200).await;
    let r = app.request(Method::DELETE, &format!("/api/v1/admin/expert-windows/{wid}"), Some(&token), None).await;
    assert_eq!(r.status().as_u16(), 204, "{:?}", r.text().await);
    // An admin's window for the expert is the admin's act.
    let by_admin = expect_status(
        app.admin_post(
            &format!("/api/v1/admin/experts/{id}/windows"),
            &json!({"time_zone": "UTC", "starts_at": format!("{day}T20:00"), "ends_at": format!("{day}T21:00"),
                    "slot_minutes": 30}),
        )
        .await,
        201,
    )
    .await;

    let me = json!(id);
    let profile = audit_of(&app, "expert_profile", &id).await;
    let actions: Vec<&str> = profile.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(actions, ["rotate_calendar_feed", "update", "create"], "{profile:?}");
    assert!(profile.iter().all(|(_, actor, _)| *actor == me), "the expert acted: {profile:?}");
    let fields = &profile[1].2["fields"];
    assert!(fields.as_array().unwrap().contains(&json!("meeting_url")), "{fields}");
    assert_eq!(profile[0].2["fields"], json!(["calendar_token_hash"]));
    let window_audit = audit_of(&app, "expert_window", wid).await;
    let actions: Vec<&str> = window_audit.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(actions, ["delete", "update", "create"], "{window_audit:?}");
    assert!(window_audit.iter().all(|(_, actor, _)| *actor == me), "{window_audit:?}");
    assert_eq!(window_audit[2].2["refs"]["expert_id"], me, "the window names its expert");
    assert_eq!(window_audit[1].2["fields"], json!(["starts_at", "ends_at"]));
    let admin_audit = audit_of(&app, "expert_window", by_admin["id"].as_str().unwrap()).await;
    assert_eq!(admin_audit.len(), 1);
    assert!(admin_audit[0].1.is_string() && admin_audit[0].1 != me, "the admin acted: {admin_audit:?}");
    // Names of fields and ids only: no link, no bio, no feed secret.
    let text = format!("{profile:?}{window_audit:?}");
    assert!(!text.contains("meet.example.org") && !text.contains("taquerias"), "{text}");
}

async fn an_attended_session_grants_the_ad_credit_once(app: TestApp) {
    let (_, a) = expert(&app, "Ana", &["advertising"], &["en"], &[]).await;
    let start = day_start();
    let first = stop(&app, start, 2).await;
    let second = stop(&app, start + Duration::days(1), 2).await;
    let slots = slot_ids(&stop_window(&app, &a, &first, start, 1, 30).await);
    let later = slot_ids(&stop_window(&app, &a, &second, start + Duration::days(1), 1, 30).await);
    let b1 = expect_status(book(&app, &slots[0], &booking_body(1)).await, 201).await;
    let b2 = expect_status(book(&app, &slots[1], &booking_body(2)).await, 201).await;
    // Business 1 again, at the second stop.
    let b3 = expect_status(book(&app, &later[0], &booking_body(1)).await, 201).await;
    sessions_are_over(&app);
    let mark = |b: &Value, status: &str| {
        let (app, path, body) = (
            &app,
            format!("/api/v1/admin/expert-bookings/{}/attendance", b["id"].as_str().unwrap()),
            json!({"status": status}),
        );
        let tok = a.clone();
        async move { expect_status(app.request(Method::POST, &path, Some(&tok), Some(&body)).await, 200).await }
    };
    let attended = mark(&b1, "attended").await;
    assert_eq!(attended["credit"]["outcome"], "granted", "{attended}");
    assert_eq!(attended["credit"]["amount_cents"], 5000);
    let grant_id = attended["credit"]["grant_id"].as_str().unwrap().to_string();
    // A no-show grants nothing.
    let missed = mark(&b2, "no_show").await;
    assert!(missed.get("credit").is_none(), "{missed}");
    // The same business attending again: it already has its credit.
    let again = mark(&b3, "attended").await;
    assert_eq!(again["credit"]["outcome"], "already_granted", "{again}");

    let grants = expect_status(app.admin_get("/api/v1/admin/credits/grants").await, 200).await;
    let items = grants["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one grant, for business 1: {grants}");
    assert_eq!(items[0]["id"], grant_id.as_str());
    assert_eq!(items[0]["source"], "expert_session");
    assert_eq!(items[0]["booking_id"], b1["id"]);
    assert_eq!(items[0]["event_id"], first.as_str());
    let vouchers: Vec<String> = mails(&app).into_iter().filter(|m| m.0 == "credit_granted").map(|m| m.1).collect();
    assert_eq!(vouchers, ["owner1@shop1.example"], "the voucher reaches the business, once");
    let r = expect_status(app.admin_get("/api/v1/admin/credits/reconcile").await, 200).await;
    assert_eq!(r["balanced"], true, "{r}");
}

async fn a_spanish_booking_is_emailed_in_spanish_and_its_expert_in_english(app: TestApp) {
    let (ana_id, a) = expert(&app, "Ana", &["advertising"], &["en", "es"], &[]).await;
    let day = (Utc::now() + Duration::days(12)).date_naive();
    let w = window(
        &app,
        &a,
        json!({"time_zone": "America/Chicago", "starts_at": format!("{day}T09:00"),
        "ends_at": format!("{day}T11:00"), "slot_minutes": 30}),
    )
    .await;
    let slots = slot_ids(&expect_status(w, 201).await);
    let mut body = booking_body(7);
    body["language"] = json!("es");
    let booked = expect_status(book(&app, &slots[0], &body).await, 201).await;
    let (id, tok) = (booked["id"].as_str().unwrap().to_string(), booked["manage_token"].as_str().unwrap().to_string());
    let r = app
        .request(
            Method::POST,
            &format!("/api/v1/expert-bookings/{id}/move"),
            Some(&tok),
            Some(&json!({"slot_id": slots[2]})),
        )
        .await;
    expect_status(r, 200).await;

    let expert_email: String = {
        use roadshow::db::schema::staff_users;
        let mut conn = app.db.get().unwrap();
        staff_users::table.find(&ana_id).select(staff_users::email).first(&mut *conn).unwrap()
    };
    let m = mails(&app);
    let business = |tpl: &str| {
        m.iter().find(|x| x.0 == tpl && x.1 == "owner7@shop7.example").unwrap_or_else(|| panic!("{tpl}: {m:?}"))
    };
    let (_, _, subject, text, invite) = business("booking_confirmed");
    assert!(subject.starts_with("Sesión reservada con Ana: "), "{subject}");
    assert!(text.contains("Hola, Owner 7:") && text.contains("Su sesión individual con Ana está reservada."), "{text}");
    assert!(text.contains("Su pregunta: How do I advertise") && text.contains("Lugar: En línea"), "{text}");
    let inv = ics(invite.as_deref().unwrap());
    assert_eq!(inv["SUMMARY"], "Sesión en línea del Roadshow con Ana", "{inv:?}");
    assert!(inv["DESCRIPTION"].contains("Pregunta: How do I advertise"), "{inv:?}");
    let (_, _, subject, text, _) = business("booking_changed");
    assert!(subject.starts_with("Cambio en su sesión con Ana: ahora el "), "{subject}");
    assert!(text.contains("Su sesión cambió:") && text.contains("- Comienza: "), "{text}");
    assert!(!text.contains("Starts:"), "{text}");
    // The expert reads English, whatever the business reads.
    let to_expert: Vec<_> = m.iter().filter(|x| x.1 == expert_email).collect();
    assert!(to_expert.iter().any(|x| x.3.contains("A business booked a session with you.")), "{to_expert:?}");
    assert!(
        to_expert.iter().any(|x| x.3.contains("A session of yours has changed.") && x.3.contains("Starts: ")),
        "{to_expert:?}"
    );
    let inv = ics(to_expert[0].4.as_deref().unwrap());
    assert!(inv["SUMMARY"].starts_with("Roadshow online session with"), "{inv:?}");

    // Its page speaks Spanish too.
    let html = app.get(&format!("/manage/expert-bookings/{id}?token={tok}")).await.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"es\">") && html.contains("Cancelar esta sesión") && html.contains("Reservada"),
        "{html}"
    );
    let html = app.get(&format!("/manage/expert-bookings/{id}?token={tok}&lang=en")).await.text().await.unwrap();
    assert!(html.contains("Cancel this session"), "{html}");
}
