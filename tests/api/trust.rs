//! Trust boundaries, tried as an outsider would: what a stranger can learn, change, or make the
//! service send with nothing but someone else's email address.

use diesel::prelude::*;
use reqwest::Method;
use roadshow::db::schema::{businesses, email_consents, outbox, registration_tokens, registrations, staff_users};
use roadshow::mail::MailContext;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{expect_problem, expect_status, TestApp};

fn body(biz_email: &str, biz_name: &str, state: &str, attendee: &str) -> Value {
    json!({
        "business": {"name": biz_name, "email": biz_email, "state": state, "industry": "bakery", "employees": "2-9",
                     "website": "https://victim.example"},
        "attendee": {"name": format!("Person {attendee}"), "email": attendee},
    })
}

async fn register(app: &TestApp, event: &str, body: &Value) -> Value {
    expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), body).await, 201).await
}

/// Runs the privacy/links request queue as the background worker would.
async fn process(app: &TestApp) -> usize {
    let db = app.db.clone();
    let ctx = MailContext::from_config(&app.config);
    tokio::task::spawn_blocking(move || roadshow::privacy::requests::process_all(&db, &ctx)).await.unwrap().unwrap()
}

/// (status, template, body) of every email to `recipient`, oldest first.
fn emails_to(app: &TestApp, recipient: &str) -> Vec<(String, String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .filter(outbox::recipient.eq(recipient))
        .order((outbox::created_at, outbox::id))
        .select((outbox::status, outbox::template, outbox::body_text))
        .load(&mut conn)
        .unwrap()
}

/// The token of the newest privacy link emailed to `recipient`.
fn privacy_token(app: &TestApp, recipient: &str) -> String {
    let mails = emails_to(app, recipient);
    let (_, _, text) = mails.iter().rev().find(|m| m.1 == "privacy_link").expect("a privacy link email");
    let i = text.find("token=rsp_").expect("a token in the link") + "token=".len();
    text[i..].split(|c: char| c.is_whitespace()).next().unwrap().to_string()
}

async fn privacy_request(app: &TestApp, body: Value) -> Value {
    expect_status(app.post_json("/api/v1/privacy/requests", &body).await, 202).await
}

async fn confirm(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/privacy/confirm", &json!({ "token": token })).await
}

async fn a_registration_under_a_victims_business_email_reaches_none_of_its_data(app: TestApp) {
    let event = app.published_webinar(50).await;
    let other_event = app.published_webinar(50).await;
    let victim =
        register(&app, &event, &body("owner@victim.example", "Victim Bakery", "TX", "alice@victim.example")).await;
    let attacker_body = json!({
        "business": {"name": "Pwned Inc", "email": "OWNER@victim.example", "state": "CA", "industry": "hacking"},
        "attendee": {"name": "Mallory", "email": "mallory@evil.example"},
        "marketing_consent": true
    });
    let attacker = register(&app, &other_event, &attacker_body).await;
    let (aid, atoken) = (attacker["id"].as_str().unwrap(), attacker["manage_token"].as_str().unwrap());

    // Every data endpoint with the attacker's token: only the attacker's own registration.
    for path in [format!("/api/v1/registrations/{aid}/business-data"), format!("/api/v1/registrations/{aid}/data")] {
        let data = expect_status(app.request(Method::GET, &path, Some(atoken), None).await, 200).await;
        let text = data.to_string();
        assert!(!text.contains("alice@victim.example") && !text.contains("Victim Bakery"), "leaked: {text}");
        assert!(!text.contains(victim["id"].as_str().unwrap()), "leaked: {text}");
        assert_eq!(data["registration"]["id"], aid);
        assert_eq!(data["registration"]["business_as_given"]["name"], "Pwned Inc");
    }
    let seen =
        expect_status(app.request(Method::GET, &format!("/api/v1/registrations/{aid}"), Some(atoken), None).await, 200)
            .await;
    assert_eq!(seen["business_name"], "Pwned Inc", "shows what the attacker typed, not the stored record");

    // Erasure with the attacker's token erases the attacker's registration only.
    let summary = expect_status(
        app.request(Method::POST, &format!("/api/v1/registrations/{aid}/business-data/erase"), Some(atoken), None)
            .await,
        200,
    )
    .await;
    assert_eq!(summary["registrations_anonymised"], 1, "{summary}");
    let vid = victim["id"].as_str().unwrap();
    let mine = expect_status(
        app.request(
            Method::GET,
            &format!("/api/v1/registrations/{vid}"),
            Some(victim["manage_token"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(mine["status"], "confirmed");
    assert_eq!(mine["attendee"]["email"], "alice@victim.example");

    // The stored business record is untouched, and its contact's consent was not given.
    let mut conn = app.db.get().unwrap();
    let (name, state, industry, website): (String, Option<String>, Option<String>, Option<String>) = businesses::table
        .filter(businesses::email.eq("owner@victim.example"))
        .select((businesses::name, businesses::state_code, businesses::industry, businesses::website))
        .first(&mut conn)
        .unwrap();
    assert_eq!((name.as_str(), state.as_deref(), industry.as_deref()), ("Victim Bakery", Some("TX"), Some("bakery")));
    assert_eq!(website.as_deref(), Some("https://victim.example"));
    let consents: Vec<String> = email_consents::table.select(email_consents::email).load(&mut conn).unwrap();
    assert_eq!(consents, vec!["mallory@evil.example".to_string()], "consent only for the attendee's own address");
}

async fn privacy_requests_answer_alike_and_only_the_address_holder_gets_a_single_use_link(app: TestApp) {
    let event = app.published_webinar(50).await;
    let reg = register(&app, &event, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    let known = privacy_request(&app, json!({"email": "owner@shop.example", "kind": "export"})).await;
    let unknown = privacy_request(&app, json!({"email": "nobody@nowhere.example", "kind": "export"})).await;
    assert_eq!(known, unknown, "the answer must not depend on whether the address is known");
    expect_problem(
        app.post_json("/api/v1/privacy/requests", &json!({"email": "x@y.example", "kind": "steal"})).await,
        422,
        Some("kind"),
    )
    .await;
    expect_problem(
        app.post_json("/api/v1/privacy/requests", &json!({"email": "not-an-email", "kind": "export"})).await,
        422,
        Some("email"),
    )
    .await;
    assert!(
        emails_to(&app, "owner@shop.example").iter().all(|m| m.1 != "privacy_link"),
        "nothing is done in the request"
    );

    assert_eq!(process(&app).await, 2);
    assert!(emails_to(&app, "nobody@nowhere.example").is_empty(), "an unknown address gets nothing");
    let token = privacy_token(&app, "owner@shop.example");

    // The page changes nothing; it shows a form.
    let page = app.get(&format!("/privacy/confirm?token={token}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\" action=\"/privacy/confirm\">"), "{html}");
    // The API call carries it out, once.
    let data = expect_status(confirm(&app, &token).await, 200).await;
    assert_eq!(data["kind"], "export");
    assert_eq!(data["data"]["business"]["business"]["name"], "Shop");
    let regs = data["data"]["business"]["registrations"].as_array().unwrap();
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0]["id"], reg["id"]);
    assert!(!data.to_string().contains(reg["manage_token"].as_str().unwrap()), "tokens are masked");
    expect_problem(confirm(&app, &token).await, 404, None).await;
    expect_problem(confirm(&app, "rsp_guessed").await, 404, None).await;
    assert_eq!(app.get(&format!("/privacy/confirm?token={token}")).await.status(), 404);

    // An expired link does nothing.
    privacy_request(&app, json!({"email": "sam@shop.example", "kind": "export"})).await;
    process(&app).await;
    let late = privacy_token(&app, "sam@shop.example");
    {
        use roadshow::db::schema::privacy_requests;
        let mut conn = app.db.get().unwrap();
        diesel::update(privacy_requests::table)
            .set(privacy_requests::expires_at.eq(Some(roadshow::db::now() - chrono::Duration::minutes(1))))
            .execute(&mut conn)
            .unwrap();
    }
    expect_problem(confirm(&app, &late).await, 404, None).await;
}

async fn fifty_recover_calls_for_one_address_queue_one_email_listing_every_registration(app: TestApp) {
    let first = app.published_webinar(50).await;
    let second = app.draft_event(json!({"title": "Second stop"})).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{second}/publish"), &json!({})).await, 200).await;
    register(&app, &first, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    register(&app, &second, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    let recover = json!({"email": "sam@shop.example"});
    let calls = (0..50).map(|_| app.post_json("/api/v1/registrations/recover", &recover));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.status(), 202);
    }
    process(&app).await;
    // Twice, as a second process would.
    for _ in 0..5 {
        app.post_json("/api/v1/registrations/recover", &json!({"email": "sam@shop.example"})).await;
    }
    process(&app).await;
    let links: Vec<_> = emails_to(&app, "sam@shop.example").into_iter().filter(|m| m.1 == "links_list").collect();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].2.contains("Grow with social media") && links[0].2.contains("Second stop"), "{}", links[0].2);
    assert_eq!(links[0].2.matches("/manage/").count(), 2, "one link per registration");
}

async fn a_register_and_cancel_loop_stops_emailing_at_the_hourly_cap(app: TestApp) {
    let app = TestApp::spawn(app.backend, |c| c.mail_hourly_cap = 5).await;
    let event = app.published_webinar(50).await;
    for _ in 0..5 {
        let r = register(&app, &event, &body("victim@target.example", "Target", "TX", "victim@target.example")).await;
        let path = format!("/api/v1/registrations/{}", r["id"].as_str().unwrap());
        expect_status(app.request(Method::DELETE, &path, Some(r["manage_token"].as_str().unwrap()), None).await, 200)
            .await;
    }
    let mails = emails_to(&app, "victim@target.example");
    assert_eq!(mails.len(), 10, "every email is recorded");
    let pending = mails.iter().filter(|m| m.0 == "pending").count();
    let suppressed = mails.iter().filter(|m| m.0 == "suppressed").count();
    assert_eq!((pending, suppressed), (5, 5), "{mails:?}");
    // Admins see the suppressed ones.
    let listed = expect_status(app.admin_get("/api/v1/admin/outbox?status=suppressed").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 5, "{listed}");
    let stats = expect_status(app.admin_get("/api/v1/admin/outbox/stats").await, 200).await;
    assert_eq!(stats["suppressed"], 5, "{stats}");
}

async fn a_second_registration_of_the_same_attendee_names_nothing_and_emails_the_links(app: TestApp) {
    let event = app.published_webinar(50).await;
    let b = body("owner@shop.example", "Shop", "TX", "sam@shop.example");
    let first = register(&app, &event, &b).await;
    for _ in 0..3 {
        let p =
            expect_problem(app.post_json(&format!("/api/v1/events/{event}/registrations"), &b).await, 409, None).await;
        assert!(p.get("existing_id").is_none_or(|v| v.is_null()), "{p}");
        assert!(!p.to_string().contains(first["id"].as_str().unwrap()), "{p}");
    }
    let links: Vec<_> = emails_to(&app, "sam@shop.example").into_iter().filter(|m| m.1 == "links_list").collect();
    assert_eq!(links.len(), 1, "one links email however often it is tried");
}

async fn an_idempotent_replay_of_a_cancelled_or_erased_registration_gives_no_working_token(app: TestApp) {
    let event = app.published_webinar(50).await;
    let b = body("owner@shop.example", "Shop", "TX", "sam@shop.example");
    let send = || {
        app.client
            .post(app.url(&format!("/api/v1/events/{event}/registrations")))
            .header("Idempotency-Key", "k-1")
            .json(&b)
            .send()
    };
    let first = expect_status(send().await.unwrap(), 201).await;
    let (id, token) = (first["id"].as_str().unwrap(), first["manage_token"].as_str().unwrap());
    let again = expect_status(send().await.unwrap(), 201).await;
    assert_eq!(again["id"], id);
    let fresh = again["manage_token"].as_str().expect("a live registration's replay has a token").to_string();
    expect_status(app.request(Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(token), None).await, 200)
        .await;
    let replay = expect_status(send().await.unwrap(), 201).await;
    assert_eq!(replay["status"], "cancelled");
    assert!(replay.get("manage_token").is_none() && replay.get("links").is_none(), "{replay}");

    // Erased: the replay names nothing and registers nobody.
    expect_status(
        app.request(Method::POST, &format!("/api/v1/registrations/{id}/data/erase"), Some(&fresh), None).await,
        200,
    )
    .await;
    let p = expect_problem(send().await.unwrap(), 409, None).await;
    assert!(!p.to_string().contains(id), "{p}");

    // A key older than its time to live is free again.
    let send2 = || {
        app.client
            .post(app.url(&format!("/api/v1/events/{event}/registrations")))
            .header("Idempotency-Key", "k-2")
            .json(&b)
            .send()
    };
    let r = expect_status(send2().await.unwrap(), 201).await;
    let rid = r["id"].as_str().unwrap().to_string();
    expect_status(
        app.request(
            Method::DELETE,
            &format!("/api/v1/registrations/{rid}"),
            Some(r["manage_token"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    {
        use roadshow::db::schema::idempotency_keys;
        let mut conn = app.db.get().unwrap();
        diesel::update(idempotency_keys::table.filter(idempotency_keys::idem_key.eq("k-2")))
            .set(idempotency_keys::created_at.eq(roadshow::db::now() - chrono::Duration::hours(25)))
            .execute(&mut conn)
            .unwrap();
    }
    let renewed = expect_status(send2().await.unwrap(), 201).await;
    assert_ne!(renewed["id"].as_str().unwrap(), rid, "an expired key is a new request");
    assert_eq!(renewed["status"], "confirmed");
}

async fn the_contact_changes_the_business_record_and_consent_through_verified_links(app: TestApp) {
    let event = app.published_webinar(50).await;
    register(&app, &event, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    // An attendee address is not the business's contact: no link for a business update.
    privacy_request(
        &app,
        json!({"email": "sam@shop.example", "kind": "update_business", "business": {"name": "Hijacked"}}),
    )
    .await;
    privacy_request(&app, json!({"email": "owner@shop.example", "kind": "update_business", "business": {"name": "Shop & Co", "state": "NM"}})).await;
    expect_problem(
        app.post_json("/api/v1/privacy/requests", &json!({"email": "owner@shop.example", "kind": "update_business"}))
            .await,
        422,
        Some("business"),
    )
    .await;
    expect_problem(
        app.post_json(
            "/api/v1/privacy/requests",
            &json!({"email": "owner@shop.example", "kind": "update_business", "business": {"name": "a\u{7}b"}}),
        )
        .await,
        422,
        Some("business.name"),
    )
    .await;
    process(&app).await;
    assert!(emails_to(&app, "sam@shop.example").iter().all(|m| m.1 != "privacy_link"));
    let token = privacy_token(&app, "owner@shop.example");
    let out = expect_status(confirm(&app, &token).await, 200).await;
    assert_eq!(out["business"]["name"], "Shop & Co");
    assert_eq!(out["business"]["state"], "NM");

    privacy_request(&app, json!({"email": "sam@shop.example", "kind": "marketing", "marketing_consent": true})).await;
    process(&app).await;
    let token = privacy_token(&app, "sam@shop.example");
    let html = app.client.post(app.url("/privacy/confirm")).form(&[("token", token.as_str())]).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let mut conn = app.db.get().unwrap();
    let consent: bool = email_consents::table
        .find("sam@shop.example")
        .select(email_consents::marketing_consent)
        .first(&mut conn)
        .unwrap();
    assert!(consent);
}

async fn erasure_racing_link_recovery_leaves_no_token_and_no_email(app: TestApp) {
    let event = app.published_webinar(50).await;
    let other = app.draft_event(json!({"title": "Another"})).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{other}/publish"), &json!({})).await, 200).await;
    let reg = register(&app, &event, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    privacy_request(&app, json!({"email": "sam@shop.example", "kind": "erase"})).await;
    process(&app).await;
    let token = privacy_token(&app, "sam@shop.example");

    // Race the erasure against recovery requests, their processing and new registrations.
    let erase = confirm(&app, &token);
    let noise = async {
        for i in 0..10 {
            app.post_json("/api/v1/registrations/recover", &json!({"email": "sam@shop.example"})).await;
            process(&app).await;
            if i == 5 {
                app.post_json(
                    &format!("/api/v1/events/{other}/registrations"),
                    &body("owner@shop.example", "Shop", "TX", "sam@shop.example"),
                )
                .await;
            }
        }
    };
    let (erased, _) = tokio::join!(erase, noise);
    let summary = expect_status(erased, 200).await;
    assert_eq!(summary["kind"], "erase");
    process(&app).await;

    let mut conn = app.db.get().unwrap();
    // Whatever committed before the erasure was erased with it; whatever came after (a new
    // registration by the same person) is new, and its only email is its own confirmation.
    let left: Vec<String> = registrations::table
        .filter(registrations::attendee_email.eq("sam@shop.example"))
        .select(registrations::id)
        .load(&mut conn)
        .unwrap();
    assert!(!left.contains(&reg["id"].as_str().unwrap().to_string()));
    let old_tokens: i64 = registration_tokens::table
        .filter(registration_tokens::registration_id.eq(reg["id"].as_str().unwrap()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(old_tokens, 0);
    let old = expect_problem(
        app.request(
            Method::GET,
            &format!("/api/v1/registrations/{}", reg["id"].as_str().unwrap()),
            Some(reg["manage_token"].as_str().unwrap()),
            None,
        )
        .await,
        404,
        None,
    )
    .await;
    assert_eq!(old["status"], 404);
    for (status, template, text) in emails_to(&app, "sam@shop.example") {
        // Only mail about a registration made after the erasure may exist.
        assert!(!left.is_empty(), "an email to an erased address with nothing left: {template} {status} {text}");
        assert!(!text.contains(reg["id"].as_str().unwrap()), "{template}: {text}");
    }
}

async fn cancelling_in_a_cancelled_event_promotes_nobody(app: TestApp) {
    let event = app.published_webinar(1).await;
    let a = register(&app, &event, &body("a@shop.example", "A", "TX", "a@shop.example")).await;
    let b = register(&app, &event, &body("b@shop.example", "B", "TX", "b@shop.example")).await;
    assert_eq!(b["status"], "waitlisted");
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/cancel"), &json!({})).await, 200).await;
    let path = format!("/api/v1/registrations/{}", a["id"].as_str().unwrap());
    expect_status(app.request(Method::DELETE, &path, Some(a["manage_token"].as_str().unwrap()), None).await, 200).await;
    let mails = emails_to(&app, "b@shop.example");
    assert!(mails.iter().all(|m| m.1 != "registration_promoted"), "{mails:?}");
    let seen = expect_status(
        app.request(
            Method::GET,
            &format!("/api/v1/registrations/{}", b["id"].as_str().unwrap()),
            Some(b["manage_token"].as_str().unwrap()),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_ne!(seen["status"], "confirmed");
}

async fn organizers_cannot_undo_an_admins_deactivation_or_mint_tokens_for_others(app: TestApp) {
    let org = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let (_, organizer) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let (colleague, colleague_token) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let path = format!("/api/v1/admin/users/{colleague}");
    // An organizer may not mint a token for a colleague (and then act as them).
    expect_problem(
        app.request(Method::POST, &format!("{path}/tokens"), Some(&organizer), Some(&json!({}))).await,
        403,
        None,
    )
    .await;
    // The colleague mints their own; an admin may too.
    expect_status(
        app.request(Method::POST, &format!("{path}/tokens"), Some(&colleague_token), Some(&json!({}))).await,
        201,
    )
    .await;
    expect_status(app.admin_post(&format!("{path}/tokens"), &json!({})).await, 201).await;

    expect_status(app.admin_patch(&path, &json!({"active": false})).await, 200).await;
    expect_problem(
        app.request(Method::PATCH, &path, Some(&organizer), Some(&json!({"active": true}))).await,
        403,
        None,
    )
    .await;
    let mut conn = app.db.get().unwrap();
    let active: bool = staff_users::table.find(&colleague).select(staff_users::active).first(&mut conn).unwrap();
    assert!(!active);
    // What an organizer deactivated, an organizer may reactivate.
    expect_status(app.admin_patch(&path, &json!({"active": true})).await, 200).await;
    expect_status(app.request(Method::PATCH, &path, Some(&organizer), Some(&json!({"active": false}))).await, 200)
        .await;
    expect_status(app.request(Method::PATCH, &path, Some(&organizer), Some(&json!({"active": true}))).await, 200).await;
}

async fn editing_a_venue_updates_its_upcoming_events_and_emails_their_registrants(app: TestApp) {
    let org = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let venue = app.create_venue("TX").await;
    let event = app
        .draft_event(
            json!({"kind": "roadshow_stop", "venue_id": venue, "join_url": null, "host_organization_ids": [org]}),
        )
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/publish"), &json!({})).await, 200).await;
    register(&app, &event, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    let before = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    expect_status(
        app.admin_patch(&format!("/api/v1/admin/venues/{venue}"), &json!({"address": "99 New Road"})).await,
        200,
    )
    .await;
    let after = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}")).await, 200).await;
    assert_eq!(after["admin"]["revision"].as_i64().unwrap(), before["admin"]["revision"].as_i64().unwrap() + 1);
    let changed: Vec<_> = emails_to(&app, "sam@shop.example").into_iter().filter(|m| m.1 == "event_changed").collect();
    assert_eq!(changed.len(), 1);
    assert!(changed[0].2.contains("99 New Road"), "{}", changed[0].2);
}

async fn erasure_removes_the_addresss_eml_files_and_blanks_every_trace_in_the_outbox(app: TestApp) {
    use roadshow::mail::worker::{self, Mailer};
    let event = app.published_webinar(50).await;
    register(&app, &event, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    register(&app, &event, &body("hi@other.example", "Other", "TX", "pat@other.example")).await;
    privacy_request(&app, json!({"email": "sam@shop.example", "kind": "erase"})).await;
    process(&app).await;
    let mailer = Mailer::from_config(&app.config).unwrap();
    let sent = worker::deliver_due(&app.db, &mailer, chrono::Utc::now()).await.unwrap().sent;
    assert_eq!(sent, 3, "two confirmations and the privacy link went out as files");
    let files = || -> Vec<String> {
        std::fs::read_dir(&app.config.mail_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    assert_eq!(files().len(), 3);
    {
        // A failed attempt's error could carry the address: it goes too.
        let mut conn = app.db.get().unwrap();
        diesel::update(outbox::table.filter(outbox::recipient.eq("sam@shop.example")))
            .set(outbox::last_error.eq(Some("550 <sam@shop.example>: mailbox full")))
            .execute(&mut conn)
            .unwrap();
    }
    let token = privacy_token(&app, "sam@shop.example");
    expect_status(confirm(&app, &token).await, 200).await;

    let left = files();
    assert_eq!(left.len(), 1, "only the other attendee's email remains: {left:?}");
    let raw = std::fs::read_to_string(app.config.mail_dir.join(&left[0])).unwrap();
    assert!(raw.contains("pat@other.example") && !raw.contains("sam@shop.example"));
    let mut conn = app.db.get().unwrap();
    let rows: Vec<(String, Option<String>, String)> =
        outbox::table.select((outbox::recipient, outbox::last_error, outbox::body_text)).load(&mut conn).unwrap();
    for (recipient, error, text) in rows {
        let all = format!("{recipient} {} {text}", error.unwrap_or_default());
        assert!(!all.contains("sam@shop.example") && !all.contains("Person sam"), "{all}");
    }
}

async fn staff_correct_a_business_record_and_bad_input_names_the_field(app: TestApp) {
    let event = app.published_webinar(50).await;
    let reg = register(&app, &event, &body("owner@shop.example", "Shop", "TX", "sam@shop.example")).await;
    let business: String = {
        let mut conn = app.db.get().unwrap();
        registrations::table
            .find(reg["id"].as_str().unwrap())
            .select(registrations::business_id)
            .first(&mut conn)
            .unwrap()
    };
    let path = format!("/api/v1/admin/businesses/{business}");
    let out =
        expect_status(app.admin_patch(&path, &json!({"name": "Shop & Sons", "employees": "10-49"})).await, 200).await;
    assert_eq!((out["name"].as_str(), out["employees"].as_str()), (Some("Shop & Sons"), Some("10-49")));
    assert_eq!(expect_status(app.admin_get(&path).await, 200).await["name"], "Shop & Sons");
    expect_problem(app.admin_patch(&path, &json!({})).await, 422, Some("body")).await;
    expect_problem(app.admin_patch(&path, &json!({"state": "ZZ"})).await, 422, Some("business.state")).await;
    expect_problem(app.admin_patch(&path, &json!({"name": "two\nlines"})).await, 422, Some("name")).await;
    expect_problem(
        app.admin_patch(&format!("/api/v1/admin/businesses/{}", uuid::Uuid::new_v4()), &json!({"name": "x"})).await,
        404,
        None,
    )
    .await;
    let audit = expect_status(
        app.admin_get(&format!("/api/v1/admin/audit?object_type=business&object_id={business}")).await,
        200,
    )
    .await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "update");
    assert!(!entry.to_string().contains("Shop & Sons"), "field names only: {entry}");
}

both_backends!(
    a_registration_under_a_victims_business_email_reaches_none_of_its_data,
    privacy_requests_answer_alike_and_only_the_address_holder_gets_a_single_use_link,
    fifty_recover_calls_for_one_address_queue_one_email_listing_every_registration,
    a_register_and_cancel_loop_stops_emailing_at_the_hourly_cap,
    a_second_registration_of_the_same_attendee_names_nothing_and_emails_the_links,
    an_idempotent_replay_of_a_cancelled_or_erased_registration_gives_no_working_token,
    the_contact_changes_the_business_record_and_consent_through_verified_links,
    erasure_racing_link_recovery_leaves_no_token_and_no_email,
    cancelling_in_a_cancelled_event_promotes_nobody,
    organizers_cannot_undo_an_admins_deactivation_or_mint_tokens_for_others,
    editing_a_venue_updates_its_upcoming_events_and_emails_their_registrants,
    erasure_removes_the_addresss_eml_files_and_blanks_every_trace_in_the_outbox,
    staff_correct_a_business_record_and_bad_input_names_the_field
);
