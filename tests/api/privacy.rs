//! A business's own data (export, erasure), the audit trail, partner reports and the security
//! basics (headers, CORS, no personal data in audit entries).

use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{expect_problem, expect_status, serve_and_capture, Backend, TestApp};

async fn export(app: &TestApp, reg: &str, token: &str) -> reqwest::Response {
    app.request(Method::GET, &format!("/api/v1/registrations/{reg}/business-data"), Some(token), None).await
}

/// Asks for a privacy link for `email`, lets the worker send it, and confirms it through the API;
/// returns the confirmation's answer.
async fn through_verified_link(app: &TestApp, email: &str, kind: &str) -> Value {
    let r = app.post_json("/api/v1/privacy/requests", &json!({"email": email, "kind": kind})).await;
    expect_status(r, 202).await;
    let db = app.db.clone();
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    tokio::task::spawn_blocking(move || roadshow::privacy::requests::process_all(&db, &ctx)).await.unwrap().unwrap();
    let text: String = {
        use diesel::prelude::*;
        use roadshow::db::schema::outbox;
        let mut conn = app.db.get().unwrap();
        let (id, text): (String, String) = outbox::table
            .filter(outbox::recipient.eq(email))
            .filter(outbox::template.eq("privacy_link"))
            .order(outbox::created_at.desc())
            .select((outbox::id, outbox::body_text))
            .first(&mut conn)
            .expect("a privacy link was emailed");
        // Delivered, as the worker would have (no worker runs in these tests).
        diesel::update(outbox::table.find(&id)).set(outbox::status.eq("sent")).execute(&mut conn).unwrap();
        text
    };
    let i = text.find("token=rsp_").unwrap() + "token=".len();
    let token = text[i..].split_whitespace().next().unwrap();
    expect_status(app.post_json("/api/v1/privacy/confirm", &json!({ "token": token })).await, 200).await
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let body = expect_status(app.admin_get(&format!("/api/v1/admin/audit?{query}")).await, 200).await;
    body["items"].as_array().unwrap().clone()
}

async fn a_business_contact_downloads_everything_held_about_it_through_a_verified_link(app: TestApp) {
    let org = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let past = fixtures::event(&app, "completed", 10, -10, Some("TX"), &[&org]);
    let later = fixtures::event(&app, "completed", 10, -3, Some("TX"), &[&org]);
    let biz = fixtures::business(&app, "Taco Garage LLC", "owner@tacogarage.test");
    let (r1, t1) = fixtures::registration(&app, &past, &biz, "attended", "Rosa Diaz", "rosa@tacogarage.test");
    let (r2, _) = fixtures::registration(&app, &later, &biz, "confirmed", "Sam Lee", "sam@tacogarage.test");
    let mail = fixtures::queued_email(
        &app,
        &r2,
        "sam@tacogarage.test",
        "Hello Sam, manage: http://x/manage/1?token=rsm_abcDEF123_-x done",
    );
    let other_biz = fixtures::business(&app, "Other Shop", "hi@other.test");
    let (r3, t3) = fixtures::registration(&app, &past, &other_biz, "attended", "Other Person", "p@other.test");

    let answer = through_verified_link(&app, "owner@tacogarage.test", "export").await;
    let data = &answer["data"]["business"];
    assert_eq!(data["business"]["id"], biz);
    assert_eq!(data["business"]["name"], "Taco Garage LLC");
    assert_eq!(data["business"]["email"], "owner@tacogarage.test");
    assert_eq!(data["business"]["website"], "https://shop.example.org");
    let regs = data["registrations"].as_array().unwrap();
    let ids: Vec<&str> = regs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{data}");
    assert!(ids.contains(&r1.as_str()) && ids.contains(&r2.as_str()));
    assert!(regs.iter().any(|r| r["attendee_email"] == "sam@tacogarage.test" && r["event"]["id"] == later.as_str()));
    let emails = data["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1, "{data}");
    assert_eq!(emails[0]["id"], mail);
    assert_eq!(emails[0]["recipient"], "sam@tacogarage.test");
    assert_eq!(emails[0]["status"], "pending");
    assert!(emails[0]["body_text"].as_str().unwrap().contains("token=rsm_… done"), "{}", emails[0]);
    let text = answer.to_string();
    assert!(!text.contains("Other Person") && !text.contains(&r3), "another business leaked: {text}");

    // A manage token reaches its own registration only.
    let own = expect_status(export(&app, &r1, &t1).await, 200).await;
    assert_eq!(own["registration"]["id"], r1);
    assert!(!own.to_string().contains("sam@tacogarage.test"), "{own}");
    // Wrong token, another registration's token, no token, unknown id.
    expect_problem(export(&app, &r1, "rsm_wrong").await, 404, None).await;
    expect_problem(export(&app, &r1, &t3).await, 404, None).await;
    expect_problem(app.get(&format!("/api/v1/registrations/{r1}/business-data")).await, 401, None).await;
    expect_problem(export(&app, &uuid::Uuid::new_v4().to_string(), &t1).await, 404, None).await;
    expect_problem(export(&app, "not-a-uuid", &t1).await, 400, Some("id")).await;
}

async fn erasure_anonymises_registrations_drops_queued_emails_and_keeps_counts(app: TestApp) {
    let org = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
    let past = fixtures::event(&app, "completed", 10, -10, Some("TX"), &[&org]);
    let biz = fixtures::business(&app, "Taco Garage LLC", "owner@tacogarage.test");
    let (r1, t1) = fixtures::registration(&app, &past, &biz, "attended", "Rosa Diaz", "rosa@tacogarage.test");
    let (r2, t2) = fixtures::registration(&app, &past, &biz, "cancelled", "Sam Lee", "sam@tacogarage.test");
    let queued = fixtures::queued_email(&app, &r1, "rosa@tacogarage.test", "Thank you Rosa Diaz");
    let other_biz = fixtures::business(&app, "Other Shop", "hi@other.test");
    let (r3, t3) = fixtures::registration(&app, &past, &other_biz, "attended", "Other Person", "p@other.test");
    let others_mail = fixtures::queued_email(&app, &r3, "p@other.test", "Thank you Other Person");
    let before = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;

    let path = format!("/api/v1/registrations/{r2}/business-data/erase");
    expect_problem(app.request(Method::POST, &path, Some("rsm_nope"), None).await, 404, None).await;
    let answer = through_verified_link(&app, "owner@tacogarage.test", "erase").await;
    let summary = &answer["summary"];
    assert_eq!(summary["registrations_anonymised"], 2);
    assert_eq!(summary["emails_dropped"], 1);
    assert_eq!(summary["registrations_cancelled"], 0);

    // The queued email is dropped, the other business's is untouched.
    assert_eq!(fixtures::outbox_status(&app, &queued), "dropped");
    assert_eq!(fixtures::outbox_status(&app, &others_mail), "pending");
    // Both tokens stop working; the other business still gets its data.
    expect_problem(export(&app, &r1, &t1).await, 404, None).await;
    expect_problem(export(&app, &r2, &t2).await, 404, None).await;
    expect_status(export(&app, &r3, &t3).await, 200).await;
    // Rows and statuses stay; the person is gone.
    {
        use diesel::prelude::*;
        use roadshow::db::schema::{businesses, outbox, registrations};
        let mut conn = app.db.get().unwrap();
        let rows: Vec<(String, Option<String>, Option<String>)> = registrations::table
            .filter(registrations::business_id.eq(&biz))
            .order(registrations::status)
            .select((registrations::status, registrations::attendee_name, registrations::attendee_email))
            .load(&mut conn)
            .unwrap();
        assert_eq!(rows, vec![("attended".into(), None, None), ("cancelled".into(), None, None)]);
        let (name, email, deleted): (String, Option<String>, Option<chrono::NaiveDateTime>) = businesses::table
            .find(&biz)
            .select((businesses::name, businesses::email, businesses::deleted_at))
            .first(&mut conn)
            .unwrap();
        assert!(name.is_empty() && email.is_none() && deleted.is_some());
        let (recipient, body): (String, String) =
            outbox::table.find(&queued).select((outbox::recipient, outbox::body_text)).first(&mut conn).unwrap();
        assert!(!recipient.contains("rosa") && !body.contains("Rosa"));
    }
    // Reports count exactly what they counted before.
    let after = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
    assert_eq!(before["items"], after["items"]);
    // The audit trail says it happened, without a value.
    let entries = audit(&app, &format!("object_type=business&object_id={biz}")).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "erase");
    assert!(entries[0]["actor"].is_null());
    let text = Value::Array(entries).to_string();
    assert!(!text.contains("tacogarage") && !text.contains("Rosa") && !text.contains("Taco"), "{text}");
    // A second erasure finds nothing: the address is no longer known, so no link is sent.
    expect_problem(
        app.request(Method::DELETE, &format!("/api/v1/registrations/{r2}/business-data"), Some(&t2), None).await,
        404,
        None,
    )
    .await;
    expect_status(
        app.post_json("/api/v1/privacy/requests", &json!({"email": "owner@tacogarage.test", "kind": "erase"})).await,
        202,
    )
    .await;
}

async fn every_admin_write_leaves_an_audit_entry_with_ids_and_field_names_only(app: TestApp) {
    let org = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    expect_status(
        app.admin_patch(
            &format!("/api/v1/admin/organizations/{org}"),
            &json!({"name": "Texas Chamber of Commerce", "states": ["TX", "OK"]}),
        )
        .await,
        200,
    )
    .await;
    let venue = app.create_venue("TX").await;
    expect_status(
        app.admin_patch(&format!("/api/v1/admin/venues/{venue}"), &json!({"address": "9 Elm St"})).await,
        200,
    )
    .await;
    let (user, organizer_token) = fixtures::staff(&app, "organizer", Some(&org)).await;
    expect_status(
        app.admin_patch(&format!("/api/v1/admin/users/{user}"), &json!({"name": "Pat Q. Public", "active": true}))
            .await,
        200,
    )
    .await;
    let tok = expect_status(
        app.admin_post(&format!("/api/v1/admin/users/{user}/tokens"), &json!({"label": "laptop"})).await,
        201,
    )
    .await;
    let tid = tok["id"].as_str().unwrap();
    let r = app
        .request(Method::DELETE, &format!("/api/v1/admin/users/{user}/tokens/{tid}"), Some(&app.admin_token), None)
        .await;
    expect_status(r, 204).await;
    // An organizer's own write is attributed to the organizer.
    let r = app
        .request(
            Method::POST,
            "/api/v1/admin/venues",
            Some(&organizer_token),
            Some(&json!({"name": "Hall", "address": "1 Main", "city": "Austin", "state": "TX"})),
        )
        .await;
    let organizer_venue = expect_status(r, 201).await["id"].as_str().unwrap().to_string();

    let me = expect_status(app.admin_get("/api/v1/admin/me").await, 200).await;
    let admin_id = me["id"].as_str().unwrap();
    let expect_entry = |entries: &[Value], action: &str, fields: &[&str]| {
        let e = entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action} in {entries:?}"));
        for f in fields {
            assert!(e["changes"]["fields"].as_array().unwrap().iter().any(|x| x == f), "{f} missing in {e}");
        }
    };
    let e = audit(&app, &format!("object_type=organization&object_id={org}")).await;
    assert_eq!(e.len(), 2);
    expect_entry(&e, "create", &["name", "kind", "states"]);
    expect_entry(&e, "update", &["name", "states"]);
    assert!(e.iter().all(|x| x["actor"] == admin_id));
    let e = audit(&app, &format!("object_type=venue&object_id={venue}")).await;
    expect_entry(&e, "create", &["name", "address"]);
    expect_entry(&e, "update", &["address"]);
    let e = audit(&app, &format!("object_type=staff_user&object_id={user}")).await;
    expect_entry(&e, "create", &["email", "name", "role"]);
    expect_entry(&e, "update", &["name", "active"]);
    assert_eq!(e.iter().find(|x| x["action"] == "create").unwrap()["changes"]["refs"]["organization_id"], org);
    let e = audit(&app, &format!("object_type=staff_token&object_id={tid}")).await;
    assert_eq!(e.len(), 2);
    expect_entry(&e, "revoke", &[]);
    let e = audit(&app, &format!("object_type=venue&object_id={organizer_venue}")).await;
    assert_eq!(e[0]["actor"], user);

    // Filters by actor, pagination, and no personal value anywhere.
    let by_organizer = audit(&app, &format!("actor={user}")).await;
    assert_eq!(by_organizer.len(), 1);
    let all = audit(&app, "limit=200").await;
    let text = Value::Array(all.clone()).to_string();
    for personal in ["Pat Q. Public", "Staff organizer", "partners.test", "Texas Chamber", "9 Elm St", "rss_", "laptop"]
    {
        assert!(!text.contains(personal), "audit holds {personal:?}: {text}");
    }
    let first = expect_status(app.admin_get("/api/v1/admin/audit?limit=3").await, 200).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second =
        expect_status(app.admin_get(&format!("/api/v1/admin/audit?limit=200&cursor={cursor}")).await, 200).await;
    assert_eq!(first["items"].as_array().unwrap().len() + second["items"].as_array().unwrap().len(), all.len());
    assert_eq!(second["next_cursor"], Value::Null);
    expect_problem(app.admin_get("/api/v1/admin/audit?actor=nope").await, 400, Some("actor")).await;
    let r = app.admin_patch(&format!("/api/v1/admin/users/{admin_id}"), &json!({"role": "expert"})).await;
    expect_problem(r, 422, Some("role")).await;
    let r = app.admin_patch(&format!("/api/v1/admin/users/{admin_id}"), &json!({"active": false})).await;
    expect_problem(r, 422, Some("active")).await;
    // A write that fails leaves no entry.
    let r = app
        .admin_post("/api/v1/admin/organizations", &json!({"name": "Texas Chamber of Commerce", "kind": "federation"}))
        .await;
    expect_problem(r, 409, None).await;
    assert_eq!(audit(&app, "object_type=organization").await.len(), 2);
}

async fn reports_count_events_registrations_attendance_and_capacity_within_scope(app: TestApp) {
    let tx = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let ok = app.create_org("Oklahoma Chamber", "local_chamber", &["OK"]).await;
    let (_, tx_token) = fixtures::staff(&app, "organizer", Some(&tx)).await;
    // Texas: one past event (3 attended, 1 no-show, 1 cancelled), one upcoming (cap 10: 2
    // confirmed, 1 waitlisted), one draft. Co-hosted upcoming webinar (national, cap 50: 1).
    let past = fixtures::event(&app, "completed", 10, -5, Some("TX"), &[&tx]);
    let up = fixtures::event(&app, "published", 10, 5, Some("TX"), &[&tx]);
    fixtures::event(&app, "draft", 20, 9, Some("TX"), &[&tx]);
    let co = fixtures::event(&app, "published", 50, 7, None, &[&tx, &ok]);
    // Oklahoma: one upcoming (cap 5, full) and a cancelled one.
    let ok_up = fixtures::event(&app, "published", 5, 3, Some("OK"), &[&ok]);
    fixtures::event(&app, "cancelled", 5, 4, Some("OK"), &[&ok]);
    let b = fixtures::business(&app, "Shop", "shop@example.test");
    let mut n = 0;
    let mut reg = |event: &str, status: &str| {
        n += 1;
        fixtures::registration(&app, event, &b, status, "A", &format!("a{n}@example.test"));
    };
    for s in ["attended", "attended", "attended", "confirmed", "cancelled"] {
        reg(&past, s);
    }
    for s in ["confirmed", "confirmed", "waitlisted"] {
        reg(&up, s);
    }
    reg(&co, "confirmed");
    for _ in 0..5 {
        reg(&ok_up, "confirmed");
    }
    reg(&ok_up, "waitlisted");

    let states = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
    let row = |body: &Value, key: &str, val: Value| -> Value {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[key] == val)
            .cloned()
            .unwrap_or_else(|| panic!("no {val} in {body}"))
    };
    let t = row(&states, "state", json!("TX"));
    assert_eq!(t["events"], json!({"total": 3, "draft": 1, "published": 1, "cancelled": 0, "completed": 1}));
    assert_eq!(t["registrations"], json!({"total": 8, "confirmed": 3, "waitlisted": 1, "cancelled": 1, "attended": 3}));
    assert_eq!(t["attendance_rate"], json!(0.75));
    assert_eq!(t["upcoming"], json!({"events": 1, "capacity": 10, "confirmed": 2, "waitlisted": 1, "seats_left": 8}));
    let o = row(&states, "state", json!("OK"));
    assert_eq!(o["events"]["total"], 2);
    assert_eq!(o["upcoming"], json!({"events": 1, "capacity": 5, "confirmed": 5, "waitlisted": 1, "seats_left": 0}));
    assert_eq!(o["attendance_rate"], Value::Null);
    let national = row(&states, "state", Value::Null);
    assert_eq!(national["upcoming"]["capacity"], 50);
    assert_eq!(states["items"].as_array().unwrap().len(), 3);

    let orgs = expect_status(app.admin_get("/api/v1/admin/reports/organizations").await, 200).await;
    let t = row(&orgs, "organization_id", json!(tx));
    assert_eq!(t["events"]["total"], 4, "co-hosted event counts for each host");
    assert_eq!(t["upcoming"]["capacity"], 60);
    let o = row(&orgs, "organization_id", json!(ok));
    assert_eq!(o["events"]["total"], 3);
    assert_eq!(o["registrations"]["confirmed"], 6);

    // The Texas organizer sees Texas and the co-hosted webinar, nothing of Oklahoma's own.
    let r = app.request(Method::GET, "/api/v1/admin/reports/states", Some(&tx_token), None).await;
    let mine = expect_status(r, 200).await;
    let states_seen: Vec<Value> = mine["items"].as_array().unwrap().iter().map(|r| r["state"].clone()).collect();
    assert_eq!(states_seen, vec![json!("TX"), Value::Null]);
    let r = app.request(Method::GET, "/api/v1/admin/reports/organizations", Some(&tx_token), None).await;
    let mine = expect_status(r, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["organization_id"], tx);
    assert_eq!(mine["items"][0]["registrations"]["total"], 9);
}

async fn responses_carry_security_headers_and_cors_is_closed_by_default(app: TestApp) {
    for r in [app.get("/healthz").await, app.get("/nope").await, app.admin_get("/api/v1/admin/me").await] {
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    }
    let me = app.admin_get("/api/v1/admin/me").await;
    assert_eq!(me.headers()["cache-control"], "no-store");
    assert!(app.get("/api/v1/states").await.headers().get("cache-control").is_none_or(|v| v != "no-store"));
    // Everything that can carry personal data or a secret is never cached, refusals included.
    let id = uuid::Uuid::new_v4();
    let private = [
        app.get("/api/v1/admin/me").await,
        app.get(&format!("/api/v1/registrations/{id}")).await,
        app.get(&format!("/manage/{id}?token=rsm_nothing")).await,
        app.get("/unsubscribe/rsu_nothing").await,
        app.get("/privacy/confirm?token=rsp_nothing").await,
        app.post_json("/api/v1/privacy/requests", &json!({"email": "someone@example.org", "kind": "export"})).await,
        app.post_json("/api/v1/registrations/recover", &json!({"email": "someone@example.org"})).await,
    ];
    for r in private {
        let url = r.url().path().to_string();
        assert_eq!(r.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{url}");
    }
    for path in ["/api/v1/events", "/api/v1/states"] {
        let r = app.get(path).await;
        assert!(r.headers().get("cache-control").is_none_or(|v| v != "no-store"), "{path} stays cacheable");
    }
    let r = app.client.get(app.url("/api/v1/states")).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/admin/me"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// A confirmation answers with the documented wire type; `links` is no kind a request may name.
async fn a_confirmed_link_answers_with_the_documented_wire_type(app: TestApp) {
    use roadshow::privacy::wire::ConfirmOut;
    fixtures::business(&app, "Shop", "owner@shop.example");
    let out = through_verified_link(&app, "owner@shop.example", "export").await;
    let out: ConfirmOut = serde_json::from_value(out).unwrap();
    let ConfirmOut::Export { data } = out else { panic!("{out:?}") };
    assert_eq!(data.business.map(|b| b.business.name).as_deref(), Some("Shop"));
    let r = app.post_json("/api/v1/privacy/requests", &json!({"email": "owner@shop.example", "kind": "links"})).await;
    expect_problem(r, 422, Some("kind")).await;
}

both_backends!(
    a_business_contact_downloads_everything_held_about_it_through_a_verified_link,
    erasure_anonymises_registrations_drops_queued_emails_and_keeps_counts,
    every_admin_write_leaves_an_audit_entry_with_ids_and_field_names_only,
    reports_count_events_registrations_attendance_and_capacity_within_scope,
    responses_carry_security_headers_and_cors_is_closed_by_default,
    a_confirmed_link_answers_with_the_documented_wire_type
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_cors_origins_and_only_those_may_call_from_a_browser() {
    let app = TestApp::spawn(Backend::Sqlite, |c| c.cors_origins = vec!["https://partners.example.org".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/admin/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let r = preflight("https://partners.example.org").await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "https://partners.example.org");
    let r = preflight("https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app
        .client
        .get(app.url("/api/v1/admin/me"))
        .bearer_auth(&app.admin_token)
        .header("origin", "https://partners.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "https://partners.example.org");
    expect_status(r, 200).await;
}

fn registration_body(business: &str, attendee: &str) -> Value {
    json!({
        "business": {"name": "Taco Garage LLC", "email": business, "state": "TX", "industry": "retail"},
        "attendee": {"name": format!("Attendee {attendee}"), "email": attendee},
        "marketing_consent": true
    })
}

async fn register(app: &TestApp, event: &str, business: &str, attendee: &str) -> Value {
    let r =
        app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration_body(business, attendee)).await;
    expect_status(r, 201).await
}

async fn erasure_cancels_upcoming_registrations_and_promotes_the_waitlist(app: TestApp) {
    let small = app.published_webinar(1).await;
    let roomy = app.published_webinar(10).await;
    let mine = register(&app, &small, "owner@tacogarage.test", "rosa@tacogarage.test").await;
    assert_eq!(mine["status"], "confirmed");
    let waiting = register(&app, &small, "hi@other.test", "pat@other.test").await;
    assert_eq!(waiting["status"], "waitlisted");
    let second = register(&app, &roomy, "owner@tacogarage.test", "sam@tacogarage.test").await;
    let token = mine["manage_token"].as_str().unwrap();

    let data = expect_status(export(&app, mine["id"].as_str().unwrap(), token).await, 200).await;
    assert_eq!(data["registration"]["id"], mine["id"]);
    assert!(data["emails"].as_array().unwrap().iter().all(|e| e["status"] == "pending"));
    let answer = through_verified_link(&app, "owner@tacogarage.test", "erase").await;
    let summary = &answer["summary"];
    assert_eq!(summary["registrations_cancelled"], 2);
    assert_eq!(summary["registrations_anonymised"], 2);
    assert_eq!(summary["emails_dropped"], 2, "the two confirmations were still queued");

    // The freed seat went to the head of the waitlist, who is told so.
    let pat = app
        .request(
            Method::GET,
            &format!("/api/v1/registrations/{}", waiting["id"].as_str().unwrap()),
            waiting["manage_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(expect_status(pat, 200).await["status"], "confirmed");
    // Staff still count the erased registrations, without a name or an address.
    let list = expect_status(app.admin_get(&format!("/api/v1/admin/events/{small}/registrations")).await, 200).await;
    let erased = list["items"].as_array().unwrap().iter().find(|r| r["id"] == mine["id"]).unwrap().clone();
    assert_eq!(erased["status"], "cancelled");
    assert!(erased["attendee_name"].is_null() && erased["attendee_email"].is_null(), "{erased}");
    let admin = expect_status(app.admin_get(&format!("/api/v1/admin/events/{roomy}")).await, 200).await;
    assert_eq!(admin["admin"]["registrations"]["cancelled"], 1);
    {
        use diesel::prelude::*;
        use roadshow::db::schema::outbox;
        let mut conn = app.db.get().unwrap();
        let rows: Vec<(String, String, String)> = outbox::table
            .order(outbox::created_at)
            .select((outbox::template, outbox::recipient, outbox::status))
            .load(&mut conn)
            .unwrap();
        assert!(rows.iter().all(|(_, to, _)| !to.contains("tacogarage")), "{rows:?}");
        assert!(
            rows.contains(&("registration_promoted".into(), "pat@other.test".into(), "pending".into())),
            "{rows:?}"
        );
        assert!(
            !rows.iter().any(|(t, _, _)| t == "registration_cancelled"),
            "the erased business is not written to: {rows:?}"
        );
    }
    // Its other token is dead too; the business may register again as a new one.
    let second_path = format!("/api/v1/registrations/{}", second["id"].as_str().unwrap());
    expect_problem(app.request(Method::GET, &second_path, second["manage_token"].as_str(), None).await, 404, None)
        .await;
    register(&app, &roomy, "owner@tacogarage.test", "sam@tacogarage.test").await;
}

async fn event_writes_and_check_in_are_audited(app: TestApp) {
    let org = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let (organizer, token) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let start = chrono::Utc::now() + chrono::Duration::days(10);
    let body = json!({"kind": "webinar", "title": "Grow online", "starts_at": start.to_rfc3339(),
        "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339(), "time_zone": "America/Chicago",
        "capacity": 10, "join_url": "https://meet.example.org/grow", "state": "TX"});
    let r = app.request(Method::POST, "/api/v1/admin/events", Some(&token), Some(&body)).await;
    let event = expect_status(r, 201).await["id"].as_str().unwrap().to_string();
    let r = app
        .request(
            Method::PATCH,
            &format!("/api/v1/admin/events/{event}"),
            Some(&token),
            Some(&json!({"title": "Grow online today", "capacity": 20})),
        )
        .await;
    expect_status(r, 200).await;
    let r = app.request(Method::POST, &format!("/api/v1/admin/events/{event}/publish"), Some(&token), None).await;
    expect_status(r, 200).await;
    let reg = register(&app, &event, "owner@tacogarage.test", "rosa@tacogarage.test").await;
    let reg_id = reg["id"].as_str().unwrap();
    crate::fixtures::doors_open(&app, reg_id);
    let r =
        app.request(Method::POST, &format!("/api/v1/admin/registrations/{reg_id}/check-in"), Some(&token), None).await;
    expect_status(r, 200).await;
    let r = app.request(Method::POST, &format!("/api/v1/admin/events/{event}/cancel"), Some(&token), None).await;
    expect_status(r, 200).await;

    let entries = audit(&app, &format!("object_type=event&object_id={event}")).await;
    let actions: Vec<&str> = entries.iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["create", "update", "publish", "cancel"]);
    assert!(entries.iter().all(|e| e["actor"] == organizer.as_str()));
    let update = entries.iter().find(|e| e["action"] == "update").unwrap();
    assert_eq!(update["changes"]["fields"], json!(["title", "capacity"]));
    let mail = fixtures::queued_email(&app, reg_id, "rosa@tacogarage.test", "Hello Rosa");
    fixtures::make_dead(&app, &mail);
    expect_status(app.admin_post(&format!("/api/v1/admin/outbox/{mail}/retry"), &json!({})).await, 200).await;
    let e = audit(&app, &format!("object_type=outbox_email&object_id={mail}")).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["action"], "retry");
    let entries = audit(&app, &format!("object_type=registration&object_id={reg_id}")).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "check_in");
    let all = Value::Array(audit(&app, "limit=200").await).to_string();
    for personal in ["rosa@", "tacogarage", "Attendee", "Grow online today", "rsm_", "rss_"] {
        assert!(!all.contains(personal), "audit holds {personal:?}: {all}");
    }
}

async fn the_log_of_a_running_server_holds_no_email_name_or_token(app: TestApp) {
    let logs = serve_and_capture(&app, &[], |base, admin| async move {
        let client = reqwest::Client::new();
        let start = chrono::Utc::now() + chrono::Duration::days(10);
        let event: Value = client
            .post(format!("{base}/api/v1/admin/events"))
            .bearer_auth(&admin)
            .json(&json!({"kind": "webinar", "title": "Grow online", "starts_at": start.to_rfc3339(),
                "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339(), "time_zone": "America/Chicago",
                "capacity": 1, "join_url": "https://meet.example.org/grow"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let event = event["id"].as_str().unwrap().to_string();
        let r = client
            .post(format!("{base}/api/v1/admin/events/{event}/publish"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut secrets = vec![admin.clone()];
        for (biz, person) in
            [("owner@zephyrbakery.test", "zora@zephyrbakery.test"), ("hi@quillpress.test", "quentin@quillpress.test")]
        {
            let r = client
                .post(format!("{base}/api/v1/events/{event}/registrations"))
                .header("idempotency-key", format!("key-{person}"))
                .json(&registration_body(biz, person))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let reg: Value = r.json().await.unwrap();
            let (id, token) =
                (reg["id"].as_str().unwrap().to_string(), reg["manage_token"].as_str().unwrap().to_string());
            for path in [
                format!("/api/v1/registrations/{id}"),
                format!("/api/v1/registrations/{id}/calendar.ics"),
                format!("/api/v1/registrations/{id}/business-data"),
            ] {
                let r = client.get(format!("{base}{path}")).bearer_auth(&token).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path}");
            }
            let r = client.get(format!("{base}/manage/{id}?token={token}")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            // A wrong token and bad input are logged too: still no value of them.
            let r = client
                .get(format!("{base}/api/v1/registrations/{id}"))
                .bearer_auth("rsm_wrongwrongwrong")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404);
            let r = client
                .post(format!("{base}/api/v1/registrations/recover"))
                .json(&json!({"email": person}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
            secrets.push(token);
        }
        let r = client
            .post(format!("{base}/api/v1/events/{event}/registrations"))
            .json(&json!({"business": {"name": "Xylo Widgets", "email": "not-an-email", "state": "TX"},
                          "attendee": {"name": "Yara Unique", "email": "yara@xylowidgets.test"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        // Let the server's own outbox worker deliver everything (to .eml files), so its log
        // lines are in the capture too. Bounded: the assertion below fails if it never drains.
        let mut pending = -1;
        for _ in 0..300 {
            let stats: Value = client
                .get(format!("{base}/api/v1/admin/outbox/stats"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            pending = stats["pending"].as_i64().unwrap();
            if pending == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(pending, 0, "the worker delivered the queued emails");
        for csv in ["", "?format=csv"] {
            let r = client
                .get(format!("{base}/api/v1/admin/events/{event}/registrations{csv}"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        secrets
    })
    .await;
    let (text, secrets) = logs;
    assert!(text.contains("/api/v1/events/{id}/registrations"), "the registrations were logged: {text}");
    assert!(text.contains("outbox delivery step"), "the worker's delivery was logged: {text}");
    let mut personal: Vec<String> = vec![
        "zephyrbakery".into(),
        "quillpress".into(),
        "xylowidgets".into(),
        "not-an-email".into(),
        "Taco Garage".into(),
        "Attendee".into(),
        "Yara Unique".into(),
        "Xylo Widgets".into(),
    ];
    personal.extend(secrets);
    for p in personal {
        assert!(!text.contains(&p), "the log holds {p:?}:\n{text}");
    }
}

both_backends!(
    erasure_cancels_upcoming_registrations_and_promotes_the_waitlist,
    event_writes_and_check_in_are_audited,
    the_log_of_a_running_server_holds_no_email_name_or_token
);

async fn request_bodies_are_capped_on_json_and_form_paths(app: TestApp) {
    let event = app.published_webinar(10).await;
    let mut body = registration_body("owner@tacogarage.test", "rosa@tacogarage.test");
    body["business"]["name"] = json!("x".repeat(100 * 1024));
    let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &body).await;
    expect_problem(r, 413, Some("body")).await;
    let form = format!("token={}", "x".repeat(100 * 1024));
    let r = app
        .client
        .post(app.url(&format!("/manage/{}/cancel", uuid::Uuid::new_v4())))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = app
        .request(
            Method::POST,
            &format!("/api/v1/registrations/{}/business-data/erase", uuid::Uuid::new_v4()),
            Some("rsm_x"),
            None,
        )
        .await;
    expect_problem(r, 404, None).await;
}

both_backends!(request_bodies_are_capped_on_json_and_form_paths);
