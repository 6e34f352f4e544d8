//! A business's own data (export, erasure), the audit trail, partner reports and the security
//! basics (headers, CORS, no personal data in audit entries).

use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{expect_problem, expect_status, Backend, TestApp};

async fn export(app: &TestApp, reg: &str, token: &str) -> reqwest::Response {
    app.request(Method::GET, &format!("/api/v1/registrations/{reg}/business-data"), Some(token), None).await
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let body = expect_status(app.admin_get(&format!("/api/v1/admin/audit?{query}")).await, 200).await;
    body["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_business_downloads_everything_held_about_it_with_its_manage_token(app) {
        let org = app.create_org("Austin Chamber", "local_chamber", &["TX"]).await;
        let past = fixtures::event(&app, "completed", 10, -10, Some("TX"), &[&org]);
        let later = fixtures::event(&app, "completed", 10, -3, Some("TX"), &[&org]);
        let biz = fixtures::business(&app, "Taco Garage LLC", "owner@tacogarage.test");
        let (r1, t1) = fixtures::registration(&app, &past, &biz, "attended", "Rosa Diaz", "rosa@tacogarage.test");
        let (r2, _) = fixtures::registration(&app, &later, &biz, "confirmed", "Sam Lee", "sam@tacogarage.test");
        let mail = fixtures::queued_email(&app, &r2, "sam@tacogarage.test", "Hello Sam, manage: http://x/manage/1?token=rsm_abcDEF123_-x done");
        let other_biz = fixtures::business(&app, "Other Shop", "hi@other.test");
        let (r3, t3) = fixtures::registration(&app, &past, &other_biz, "attended", "Other Person", "p@other.test");

        let data = expect_status(export(&app, &r1, &t1).await, 200).await;
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
        let text = data.to_string();
        assert!(!text.contains("Other Person") && !text.contains(&r3), "another business leaked: {text}");

        // Wrong token, another registration's token, no token, unknown id.
        expect_problem(export(&app, &r1, "rsm_wrong").await, 404, None).await;
        expect_problem(export(&app, &r1, &t3).await, 404, None).await;
        expect_problem(app.get(&format!("/api/v1/registrations/{r1}/business-data")).await, 401, None).await;
        expect_problem(export(&app, &uuid::Uuid::new_v4().to_string(), &t1).await, 404, None).await;
        expect_problem(export(&app, "not-a-uuid", &t1).await, 400, Some("id")).await;
    }

    async fn erasure_anonymises_registrations_drops_queued_emails_and_keeps_counts(app) {
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
        let summary = expect_status(app.request(Method::POST, &path, Some(&t2), None).await, 200).await;
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
        // A second erasure finds nothing.
        expect_problem(app.request(Method::DELETE, &format!("/api/v1/registrations/{r2}/business-data"), Some(&t2), None).await, 404, None).await;
    }

    async fn every_admin_write_leaves_an_audit_entry_with_ids_and_field_names_only(app) {
        let org = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
        expect_status(app.admin_patch(&format!("/api/v1/admin/organizations/{org}"), &json!({"name": "Texas Chamber of Commerce", "states": ["TX", "OK"]})).await, 200).await;
        let venue = app.create_venue("TX").await;
        expect_status(app.admin_patch(&format!("/api/v1/admin/venues/{venue}"), &json!({"address": "9 Elm St"})).await, 200).await;
        let (user, organizer_token) = fixtures::staff(&app, "organizer", Some(&org)).await;
        expect_status(app.admin_patch(&format!("/api/v1/admin/users/{user}"), &json!({"name": "Pat Q. Public", "active": true})).await, 200).await;
        let tok = expect_status(app.admin_post(&format!("/api/v1/admin/users/{user}/tokens"), &json!({"label": "laptop"})).await, 201).await;
        let tid = tok["id"].as_str().unwrap();
        let r = app.request(Method::DELETE, &format!("/api/v1/admin/users/{user}/tokens/{tid}"), Some(&app.admin_token), None).await;
        expect_status(r, 204).await;
        // An organizer's own write is attributed to the organizer.
        let r = app.request(Method::POST, "/api/v1/admin/venues", Some(&organizer_token),
            Some(&json!({"name": "Hall", "address": "1 Main", "city": "Austin", "state": "TX"}))).await;
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
        for personal in ["Pat Q. Public", "Staff organizer", "partners.test", "Texas Chamber", "9 Elm St", "rss_", "laptop"] {
            assert!(!text.contains(personal), "audit holds {personal:?}: {text}");
        }
        let first = expect_status(app.admin_get("/api/v1/admin/audit?limit=3").await, 200).await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = expect_status(app.admin_get(&format!("/api/v1/admin/audit?limit=200&cursor={cursor}")).await, 200).await;
        assert_eq!(first["items"].as_array().unwrap().len() + second["items"].as_array().unwrap().len(), all.len());
        assert_eq!(second["next_cursor"], Value::Null);
        expect_problem(app.admin_get("/api/v1/admin/audit?actor=nope").await, 400, Some("actor")).await;
        // A write that fails leaves no entry.
        let r = app.admin_post("/api/v1/admin/organizations", &json!({"name": "Texas Chamber of Commerce", "kind": "federation"})).await;
        expect_problem(r, 409, None).await;
        assert_eq!(audit(&app, "object_type=organization").await.len(), 2);
    }

    async fn reports_count_events_registrations_attendance_and_capacity_within_scope(app) {
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
        for s in ["attended", "attended", "attended", "confirmed", "cancelled"] { reg(&past, s); }
        for s in ["confirmed", "confirmed", "waitlisted"] { reg(&up, s); }
        reg(&co, "confirmed");
        for _ in 0..5 { reg(&ok_up, "confirmed"); }
        reg(&ok_up, "waitlisted");

        let states = expect_status(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
        let row = |body: &Value, key: &str, val: Value| -> Value {
            body["items"].as_array().unwrap().iter().find(|r| r[key] == val).cloned().unwrap_or_else(|| panic!("no {val} in {body}"))
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

    async fn responses_carry_security_headers_and_cors_is_closed_by_default(app) {
        for r in [app.get("/healthz").await, app.get("/nope").await, app.admin_get("/api/v1/admin/me").await] {
            let h = r.headers();
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["x-frame-options"], "DENY");
            assert_eq!(h["referrer-policy"], "no-referrer");
            assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        }
        let r = app.client.get(app.url("/api/v1/states")).header("origin", "https://evil.example").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("access-control-allow-origin").is_none());
        let r = app.client.request(Method::OPTIONS, app.url("/api/v1/admin/me"))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "GET")
            .send().await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_cors_origins_and_only_those_may_call_from_a_browser() {
    let app = TestApp::spawn(Backend::Sqlite, |c| c.cors_origins = vec!["https://partners.example.org".into()])
        .await
        .unwrap();
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
