//! The ad-credit pool through real HTTP on both backends: granting races, one grant per business
//! across events and emails, state reserves, revocation and re-grant, decline, redeem, merge, the
//! webinar attendance upload, reports, and reconcile after all of it.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};
use crate::registrations::registration;

/// Registers attendee `n` (business `n`) for `event`; returns the registration id.
async fn registered(app: &TestApp, event: &str, body: impl std::borrow::Borrow<Value>) -> String {
    let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), body.borrow()).await;
    expect_status(r, 201).await["id"].as_str().unwrap().to_string()
}

async fn check_in(app: &TestApp, registration: &str) -> Value {
    crate::fixtures::doors_open(app, registration);
    let r = app.admin_post(&format!("/api/v1/admin/registrations/{registration}/check-in"), &json!({})).await;
    expect_status(r, 200).await
}

async fn pool(app: &TestApp) -> Value {
    expect_status(app.admin_get("/api/v1/admin/credits/pool").await, 200).await
}

async fn assert_balanced(app: &TestApp) -> Value {
    let r = expect_status(app.admin_get("/api/v1/admin/credits/reconcile").await, 200).await;
    assert_eq!(r["balanced"], true, "{r:#}");
    assert_eq!(r["differences"], json!([]));
    r
}

/// The voucher codes emailed so far, by recipient, oldest first.
fn codes(app: &TestApp) -> Vec<(String, String)> {
    use roadshow::db::schema::outbox;
    let mut conn = app.db.get().unwrap();
    let rows: Vec<(String, String)> = outbox::table
        .filter(outbox::template.eq("credit_granted"))
        .order(outbox::created_at)
        .select((outbox::recipient, outbox::body_text))
        .load(&mut *conn)
        .unwrap();
    rows.into_iter()
        .map(|(to, body)| {
            let line = body.lines().find(|l| l.starts_with("Your voucher code: ")).expect("a code line");
            (to, line.trim_start_matches("Your voucher code: ").trim().to_string())
        })
        .collect()
}

/// A published roadshow stop at a Texas venue, ten days ahead, with `capacity` seats.
async fn texas_stop(app: &TestApp, capacity: i64) -> String {
    let venue = app.create_venue("TX").await;
    let id = app
        .draft_event(json!({"kind": "roadshow_stop", "venue_id": venue, "join_url": null, "capacity": capacity,
                            "title": "Austin stop"}))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    id
}

/// POSTs `body` as `text/csv` with the admin's token.
async fn post_csv(app: &TestApp, path: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(&app.admin_token)
        .header("content-type", "text/csv")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn business_of(app: &TestApp, registration: &str) -> String {
    use roadshow::db::schema::registrations;
    let mut conn = app.db.get().unwrap();
    registrations::table.find(registration).select(registrations::business_id).first(&mut *conn).unwrap()
}

fn active_grants(app: &TestApp) -> i64 {
    use roadshow::db::schema::credit_grants;
    let mut conn = app.db.get().unwrap();
    credit_grants::table.filter(credit_grants::status.eq("active")).count().get_result(&mut *conn).unwrap()
}

async fn five_hundred_check_ins_race_for_a_pool_of_a_hundred_grants(app: TestApp) {
    let r = app.admin_patch("/api/v1/admin/credits/pool", &json!({"total_cents": 100 * 5000})).await;
    let p = expect_status(r, 200).await;
    assert_eq!(p["remaining_grants"], 100);
    let event = app.published_webinar(500).await;
    let regs: Vec<String> =
        futures_util::future::join_all((0..500).map(|n| registered(&app, &event, registration(n)))).await;
    let answers: Vec<Value> = futures_util::future::join_all(regs.iter().map(|r| check_in(&app, r))).await;
    let outcome = |o: &str| answers.iter().filter(|a| a["credit"]["outcome"] == o).count();
    assert_eq!(outcome("granted"), 100);
    assert_eq!(outcome("pool_empty"), 400);
    assert!(answers.iter().all(|a| a["status"] == "attended"), "every check-in counts, granted or not");
    let p = pool(&app).await;
    assert_eq!((p["granted_cents"].as_i64(), p["grant_count"].as_i64()), (Some(500_000), Some(100)));
    assert_eq!(p["remaining_cents"], 0);
    assert_eq!(active_grants(&app), 100);
    // Each grant's voucher went to its business's contact, in the granting transaction.
    let sent = codes(&app);
    assert_eq!(sent.len(), 100);
    assert!(sent.iter().all(|(to, _)| to.starts_with("owner")), "vouchers go to the business, not the attendee");
    let distinct: std::collections::HashSet<&String> = sent.iter().map(|s| &s.1).collect();
    assert_eq!(distinct.len(), 100);
    let r = assert_balanced(&app).await;
    assert!(r["ledger_entries"].as_i64().unwrap() >= 102, "two opening entries and one per grant: {r}");
    // The counters cannot be pushed past the pool by anyone, not even by SQL (the CHECK).
    let mut conn = app.db.get().unwrap();
    let over = diesel::sql_query("UPDATE credit_pool SET granted_cents = granted_cents + 1").execute(&mut *conn);
    assert!(over.is_err(), "the database refuses granted cents above the total");
    // The ledger is append-only.
    assert!(diesel::sql_query("UPDATE credit_ledger SET note = 'x'").execute(&mut *conn).is_err());
    assert!(diesel::sql_query("DELETE FROM credit_ledger").execute(&mut *conn).is_err());
    // Two active grants for one business cannot exist (the partial unique index).
    use roadshow::db::schema::credit_grants;
    let (business, reserve): (String, String) =
        credit_grants::table.select((credit_grants::business_id, credit_grants::reserve)).first(&mut *conn).unwrap();
    let dup = diesel::sql_query(format!(
        "INSERT INTO credit_grants (id, business_id, status, amount_cents, reserve, source, voucher_hash, voucher_prefix, granted_at) \
         VALUES ('x', '{business}', 'active', 5000, '{reserve}', 'admin', 'h', 'p', CURRENT_TIMESTAMP)"
    ))
    .execute(&mut *conn);
    assert!(dup.is_err());
}

async fn one_business_at_three_events_and_under_two_emails_gets_one_grant(app: TestApp) {
    let events: Vec<String> = futures_util::future::join_all((0..3).map(|_| app.published_webinar(10))).await;
    // The same business (same contact email), three attendees, three events, checked in at once.
    let mut regs = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let mut body = registration(7);
        body["attendee"]["email"] = json!(format!("person{i}@shop7.example"));
        regs.push(registered(&app, e, &body).await);
    }
    let answers: Vec<Value> = futures_util::future::join_all(regs.iter().map(|r| check_in(&app, r))).await;
    let granted = answers.iter().filter(|a| a["credit"]["outcome"] == "granted").count();
    let already = answers.iter().filter(|a| a["credit"]["outcome"] == "already_granted").count();
    assert_eq!((granted, already), (1, 2), "{answers:?}");
    // A second record of the same company under another email, with the same EIN.
    let first = business_of(&app, &regs[0]);
    let mut other = registration(8);
    other["business"]["name"] = json!("Shop 7, LLC");
    let second_reg = registered(&app, &events[0], &other).await;
    let second = business_of(&app, &second_reg);
    assert_ne!(first, second);
    let r = app.admin_patch(&format!("/api/v1/admin/businesses/{first}"), &json!({"ein": "12 3456789"})).await;
    assert_eq!(expect_status(r, 200).await["ein"], "12-3456789", "stored normalised");
    let r = app.admin_patch(&format!("/api/v1/admin/businesses/{second}"), &json!({"ein": "123456789"})).await;
    let problem = expect_problem(r, 409, None).await;
    assert_eq!(problem["existing_id"], first.as_str(), "the holder is named to staff: {problem}");
    let r = app.admin_patch(&format!("/api/v1/admin/businesses/{second}"), &json!({"ein": "00-1234567"})).await;
    expect_problem(r, 422, Some("ein")).await;
    // Merge: the second record's registration follows, and checking it in grants nothing more.
    let r = app.admin_post(&format!("/api/v1/admin/businesses/{first}/merge"), &json!({"from": second})).await;
    let merged = expect_status(r, 200).await;
    assert_eq!(merged["registrations"], 1);
    assert_eq!(business_of(&app, &second_reg), first);
    assert_eq!(check_in(&app, &second_reg).await["credit"]["outcome"], "already_granted");
    // A later registration typed with the merged record's email joins the survivor.
    let mut again = registration(8);
    again["attendee"]["email"] = json!("late@shop8.example");
    let late = registered(&app, &events[1], &again).await;
    assert_eq!(business_of(&app, &late), first);
    assert_eq!(check_in(&app, &late).await["credit"]["outcome"], "already_granted");
    assert_eq!(active_grants(&app), 1);
    // Merging again, or into itself, is refused.
    let r = app.admin_post(&format!("/api/v1/admin/businesses/{first}/merge"), &json!({"from": second})).await;
    expect_problem(r, 409, None).await;
    let r = app.admin_post(&format!("/api/v1/admin/businesses/{first}/merge"), &json!({"from": first})).await;
    expect_problem(r, 422, Some("from")).await;
    assert_balanced(&app).await;
}

async fn merging_two_granted_businesses_keeps_one_grant_and_returns_the_other(app: TestApp) {
    let event = app.published_webinar(10).await;
    let a = registered(&app, &event, registration(1)).await;
    let mut dup = registration(2);
    dup["business"]["name"] = json!("Shop 1 Inc.");
    dup["business"]["website"] = json!("https://www.shop.example/about");
    let b = registered(&app, &event, &dup).await;
    check_in(&app, &a).await;
    check_in(&app, &b).await;
    assert_eq!(active_grants(&app), 2);
    // Both are flagged: same name once legal forms are set aside, and the same website.
    let d = expect_status(app.admin_get("/api/v1/admin/businesses/duplicates").await, 200).await;
    let reasons: Vec<&str> = d["items"].as_array().unwrap().iter().map(|g| g["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"same_name") && reasons.contains(&"same_website"), "{d:#}");
    let (ba, bb) = (business_of(&app, &a), business_of(&app, &b));
    let r = app.admin_post(&format!("/api/v1/admin/businesses/{ba}/merge"), &json!({"from": bb})).await;
    let m = expect_status(r, 200).await;
    assert!(m["revoked_grant"].is_string(), "{m}");
    assert_eq!(m["credit_grants"], 1);
    assert_eq!(active_grants(&app), 1);
    let p = pool(&app).await;
    assert_eq!(p["grant_count"], 1);
    assert_eq!(p["granted_cents"], 5000);
    // Merged records are no longer candidates.
    let d = expect_status(app.admin_get("/api/v1/admin/businesses/duplicates").await, 200).await;
    assert_eq!(d["items"], json!([]), "{d:#}");
    assert_balanced(&app).await;
}

async fn a_state_reserve_holds_under_concurrency_and_release_sends_the_state_to_national(app: TestApp) {
    let r = app
        .request(
            Method::PUT,
            "/api/v1/admin/credits/reserves",
            Some(&app.admin_token),
            Some(&json!({"states": [{"state": "TX", "share_cents": 10 * 5000}]})),
        )
        .await;
    let reserves = expect_status(r, 200).await;
    assert_eq!(reserves["items"][0]["reserve"], "national");
    assert_eq!(reserves["items"][0]["share_cents"], 1_000_000_000i64 - 50_000);
    let stop = texas_stop(&app, 40).await;
    let regs: Vec<String> =
        futures_util::future::join_all((0..30).map(|n| registered(&app, &stop, registration(n)))).await;
    let answers: Vec<Value> = futures_util::future::join_all(regs.iter().map(|r| check_in(&app, r))).await;
    let granted: Vec<&Value> = answers.iter().filter(|a| a["credit"]["outcome"] == "granted").collect();
    assert_eq!(granted.len(), 10);
    assert!(granted.iter().all(|a| a["credit"]["reserve"] == "TX"));
    let empty: Vec<&Value> = answers.iter().filter(|a| a["credit"]["outcome"] == "pool_empty").collect();
    assert_eq!(empty.len(), 20);
    assert!(empty.iter().all(|a| a["credit"]["reserve"] == "TX"), "the national reserve never stands in");
    // A webinar draws on the national reserve meanwhile.
    let webinar = app.published_webinar(5).await;
    let w = registered(&app, &webinar, registration(100)).await;
    let a = check_in(&app, &w).await;
    assert_eq!((a["credit"]["outcome"].as_str(), a["credit"]["reserve"].as_str()), (Some("granted"), Some("national")));
    // A share below what the reserve granted is refused.
    let r = app
        .request(
            Method::PUT,
            "/api/v1/admin/credits/reserves",
            Some(&app.admin_token),
            Some(&json!({"states": [{"state": "TX", "share_cents": 5000}]})),
        )
        .await;
    expect_problem(r, 409, None).await;
    // Released: TX's later grants draw on national.
    let r = app.admin_post("/api/v1/admin/credits/reserves/TX/release", &json!({})).await;
    let after = expect_status(r, 200).await;
    let tx = after["items"].as_array().unwrap().iter().find(|r| r["reserve"] == "TX").unwrap().clone();
    assert!(tx["released_at"].is_string());
    assert_eq!(tx["share_cents"], 50_000);
    let more = registered(&app, &stop, registration(200)).await;
    let a = check_in(&app, &more).await;
    assert_eq!((a["credit"]["outcome"].as_str(), a["credit"]["reserve"].as_str()), (Some("granted"), Some("national")));
    // A grant of the released reserve revoked: its amount goes on to national, where it can be granted.
    let tx_grant = granted[0]["credit"]["grant_id"].as_str().unwrap().to_string();
    let reserves = || async { expect_status(app.admin_get("/api/v1/admin/credits/reserves").await, 200).await };
    let national_before = reserves().await["items"][0]["share_cents"].as_i64().unwrap();
    let r =
        app.admin_post(&format!("/api/v1/admin/credits/grants/{tx_grant}/revoke"), &json!({"reason": "test"})).await;
    expect_status(r, 200).await;
    let after = reserves().await;
    assert_eq!(after["items"][0]["share_cents"].as_i64().unwrap(), national_before + 5000);
    let tx = after["items"].as_array().unwrap().iter().find(|r| r["reserve"] == "TX").unwrap().clone();
    assert_eq!((tx["share_cents"].as_i64(), tx["granted_cents"].as_i64()), (Some(45_000), Some(45_000)));
    assert_balanced(&app).await;
}

async fn reserves_are_allocated_from_a_csv_of_small_business_counts(app: TestApp) {
    let post = |body: &'static str, query: &'static str| {
        let app = &app;
        async move { post_csv(app, &format!("/api/v1/admin/credits/reserves/allocate{query}"), body).await }
    };
    let r = post("state,small_businesses\nTX,3000000\nCA,4000000\nVT,70000\n", "?national_percent=20").await;
    let out = expect_status(r, 200).await;
    let items = out["items"].as_array().unwrap();
    let share = |s: &str| items.iter().find(|r| r["reserve"] == s).unwrap()["share_cents"].as_i64().unwrap();
    let states = share("TX") + share("CA") + share("VT");
    assert_eq!(states, 800_000_000, "80% shared in whole grants");
    assert_eq!(share("national"), 200_000_000);
    assert!(share("CA") > share("TX") && share("TX") > share("VT"));
    // A bad line names itself; nothing changes.
    let r = post("TX,3000000\nZZ,10\nCA,abc\n", "").await;
    expect_problem(r, 422, Some("line 3")).await;
    let r = post("TX,3000000\nZZ,10\n", "").await;
    expect_problem(r, 422, Some("line 2")).await;
    assert_eq!(share("TX"), {
        let r = expect_status(app.admin_get("/api/v1/admin/credits/reserves").await, 200).await;
        r["items"].as_array().unwrap().iter().find(|r| r["reserve"] == "TX").unwrap()["share_cents"].as_i64().unwrap()
    });
    // Another allocation without VT releases VT's reserve.
    let r = post("TX,1\nCA,1\n", "").await;
    let out = expect_status(r, 200).await;
    let vt = out["items"].as_array().unwrap().iter().find(|r| r["reserve"] == "VT").unwrap().clone();
    assert!(vt["released_at"].is_string(), "{vt}");
    // Not CSV: 415.
    let r = app.admin_post("/api/v1/admin/credits/reserves/allocate", &json!({"TX": 1})).await;
    expect_problem(r, 415, None).await;
    assert_balanced(&app).await;
}

async fn revocation_regrant_decline_and_redeem_move_the_money_back_and_forth(app: TestApp) {
    let events: Vec<String> = futures_util::future::join_all((0..2).map(|_| app.published_webinar(10))).await;
    let reg = registered(&app, &events[0], registration(3)).await;
    let grant = check_in(&app, &reg).await["credit"]["grant_id"].as_str().unwrap().to_string();
    let business = business_of(&app, &reg);
    // Revoked with a reason: the amount is back.
    let r = app.admin_post(&format!("/api/v1/admin/credits/grants/{grant}/revoke"), &json!({"reason": ""})).await;
    expect_problem(r, 422, Some("reason")).await;
    let r = app
        .admin_post(
            &format!("/api/v1/admin/credits/grants/{grant}/revoke"),
            &json!({"reason": "checked in by mistake"}),
        )
        .await;
    let g = expect_status(r, 200).await;
    assert_eq!((g["status"].as_str(), g["end_reason"].as_str()), (Some("revoked"), Some("checked in by mistake")));
    assert_eq!(pool(&app).await["grant_count"], 0);
    let r = app.admin_post(&format!("/api/v1/admin/credits/grants/{grant}/revoke"), &json!({"reason": "again"})).await;
    expect_problem(r, 409, None).await;
    // Taking part again does not grant a revoked business; an admin does, explicitly.
    let reg2 = registered(&app, &events[1], registration(3)).await;
    assert_eq!(check_in(&app, &reg2).await["credit"]["outcome"], "already_granted");
    let r = app
        .admin_post(&format!("/api/v1/admin/businesses/{business}/credit-grant"), &json!({"reason": "appeal accepted"}))
        .await;
    let again = expect_status(r, 201).await;
    assert_eq!(again["outcome"], "granted");
    let r =
        app.admin_post(&format!("/api/v1/admin/businesses/{business}/credit-grant"), &json!({"reason": "twice"})).await;
    expect_problem(r, 409, None).await;
    // The business declines with the code it was emailed (the newest one).
    let sent = codes(&app);
    assert_eq!(sent.len(), 2, "one voucher email per grant");
    let code = sent[1].1.clone();
    let typo = {
        let mut c: Vec<char> = code.chars().collect();
        c[0] = if c[0] == '2' { '3' } else { '2' };
        c.into_iter().collect::<String>()
    };
    let r = app.post_json("/api/v1/credits/decline", &json!({"code": typo})).await;
    let problem = expect_problem(r, 422, Some("code")).await;
    assert!(problem.to_string().contains("typo"), "{problem}");
    let r = app.post_json("/api/v1/credits/decline", &json!({"code": sent[0].1})).await;
    expect_problem(r, 409, None).await; // the revoked grant's old code
    let r = app.post_json("/api/v1/credits/decline", &json!({"code": code.to_lowercase().replace('-', " ")})).await;
    assert_eq!(expect_status(r, 200).await["status"], "declined");
    assert_eq!(pool(&app).await["granted_cents"], 0);
    // A third business: granted, redeemed by a partner once; a redeemed grant cannot be revoked.
    let reg3 = registered(&app, &events[1], registration(4)).await;
    let g3 = check_in(&app, &reg3).await["credit"]["grant_id"].as_str().unwrap().to_string();
    let code3 = codes(&app).last().unwrap().1.clone();
    let r = app.admin_post("/api/v1/admin/credits/vouchers/redeem", &json!({"code": code3})).await;
    let redeemed = expect_status(r, 200).await;
    assert!(redeemed["redeemed_at"].is_string());
    assert_eq!(redeemed["voucher_prefix"], &code3[..6]);
    assert!(redeemed.get("business_id").is_none() && redeemed.get("registration_id").is_none(), "{redeemed}");
    let r = app.admin_post("/api/v1/admin/credits/vouchers/redeem", &json!({"code": code3})).await;
    expect_problem(r, 409, None).await;
    let r = app.admin_post(&format!("/api/v1/admin/credits/grants/{g3}/revoke"), &json!({"reason": "x"})).await;
    expect_problem(r, 409, None).await;
    let unknown = loop {
        // A well-formed code that was never issued.
        let c = roadshow::credits::voucher::Voucher::generate().code;
        if !codes(&app).iter().any(|s| s.1 == c) {
            break c;
        }
    };
    let r = app.admin_post("/api/v1/admin/credits/vouchers/redeem", &json!({"code": unknown})).await;
    expect_problem(r, 404, None).await;
    // The grant list shows the three grants, newest first, and never a code.
    let list = expect_status(app.admin_get("/api/v1/admin/credits/grants?limit=2").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&code3));
    let next = list["next_cursor"].as_str().unwrap();
    let rest =
        expect_status(app.admin_get(&format!("/api/v1/admin/credits/grants?limit=2&cursor={next}")).await, 200).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let r = app.admin_get("/api/v1/admin/credits/grants?status=revoked").await;
    assert_eq!(expect_status(r, 200).await["items"].as_array().unwrap().len(), 1);
    assert_balanced(&app).await;
}

async fn a_lost_voucher_is_shown_again_only_through_a_verified_link(app: TestApp) {
    use roadshow::db::schema::privacy_requests;
    let event = app.published_webinar(10).await;
    let reg = registered(&app, &event, registration(5)).await;
    check_in(&app, &reg).await;
    let old = codes(&app)[0].1.clone();
    let r =
        app.post_json("/api/v1/privacy/requests", &json!({"email": "owner5@shop5.example", "kind": "voucher"})).await;
    expect_status(r, 202).await;
    // The worker emails the link; the test takes its token from the request row's email.
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let mut conn = app.db.get().unwrap();
    roadshow::privacy::requests::process_queued(&mut conn, &ctx, 10).unwrap();
    let body: String = {
        use roadshow::db::schema::outbox;
        outbox::table.filter(outbox::template.eq("privacy_link")).select(outbox::body_text).first(&mut *conn).unwrap()
    };
    let token = body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let kind: String = privacy_requests::table.select(privacy_requests::kind).first(&mut *conn).unwrap();
    assert_eq!(kind, "voucher");
    drop(conn);
    let r = app.post_json("/api/v1/privacy/confirm", &json!({"token": token})).await;
    let out = expect_status(r, 200).await;
    let new = out["voucher"]["code"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    // The old code stopped working; the new one works.
    let r = app.admin_post("/api/v1/admin/credits/vouchers/redeem", &json!({"code": old})).await;
    expect_problem(r, 404, None).await;
    let r = app.admin_post("/api/v1/admin/credits/vouchers/redeem", &json!({"code": new})).await;
    expect_status(r, 200).await;
    assert_balanced(&app).await;
}

async fn webinar_attendance_uploads_mark_and_grant_with_a_result_per_row(app: TestApp) {
    let event = app.published_webinar(10).await;
    let a = registered(&app, &event, registration(10)).await;
    let _b = registered(&app, &event, registration(11)).await;
    let c = registered(&app, &event, registration(12)).await;
    check_in(&app, &c).await; // already granted before the upload
    let upload = |body: String| {
        let app = &app;
        let event = event.clone();
        async move { post_csv(app, &format!("/api/v1/admin/events/{event}/webinar-attendance"), &body).await }
    };
    let csv = "Name,Email,Attended Minutes\n\
               A,attendee10@shop10.example,45\n\
               B,attendee11@shop11.example,12\n\
               C,attendee12@shop12.example,60\n\
               D,stranger@nowhere.example,60\n\
               A again,ATTENDEE10@shop10.example,45\n\
               E,not an email,40\n";
    // Before the webinar started: refused.
    expect_problem(upload(csv.into()).await, 409, None).await;
    let past = roadshow::db::now() - chrono::Duration::hours(2);
    crate::fixtures::move_event(&app, &event, past, past + chrono::Duration::hours(1));
    let out = expect_status(upload(csv.into()).await, 200).await;
    let results: Vec<&str> = out["rows"].as_array().unwrap().iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["granted", "below_threshold", "already_granted", "not_registered", "duplicate", "bad_row"]);
    assert_eq!(out["rows"][0]["line"], 2);
    assert_eq!(out["rows"][0]["registration_id"], a.as_str());
    assert_eq!(out["threshold_minutes"], 30);
    assert_eq!(out["totals"]["granted"], 1);
    let reg =
        expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}/registrations?status=attended")).await, 200)
            .await;
    assert_eq!(reg["items"].as_array().unwrap().len(), 2, "A marked attended; C was already");
    // The same file again grants nothing more.
    let again = expect_status(upload(csv.into()).await, 200).await;
    assert_eq!(again["rows"][0]["result"], "already_granted");
    assert_eq!(pool(&app).await["grant_count"], 2);
    // A stop takes no upload; a JSON body is a 415.
    let stop = texas_stop(&app, 5).await;
    let r = post_csv(&app, &format!("/api/v1/admin/events/{stop}/webinar-attendance"), "a@b.example,40\n").await;
    expect_problem(r, 409, None).await;
    let r = app.admin_post(&format!("/api/v1/admin/events/{event}/webinar-attendance"), &json!({})).await;
    expect_problem(r, 415, None).await;
    assert_balanced(&app).await;
}

async fn the_funders_report_adds_up_and_organizers_see_their_own_grants(app: TestApp) {
    let org_a = app.create_org("Chamber A", "local_chamber", &["TX"]).await;
    let org_b = app.create_org("Chamber B", "local_chamber", &["NM"]).await;
    let (_, token_a) = crate::fixtures::staff(&app, "organizer", Some(&org_a)).await;
    let (_, token_b) = crate::fixtures::staff(&app, "organizer", Some(&org_b)).await;
    let (_, expert) = crate::fixtures::staff(&app, "expert", None).await;
    let mut events = Vec::new();
    for (org, state) in [(&org_a, "TX"), (&org_b, "NM")] {
        let id = app
            .draft_event(json!({"kind": "webinar", "capacity": 10, "state": state, "host_organization_ids": [org]}))
            .await;
        expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
        events.push(id);
    }
    for (i, e) in events.iter().enumerate() {
        for n in 0..(i + 1) {
            let reg = registered(&app, e, registration(40 + i * 10 + n)).await;
            check_in(&app, &reg).await;
        }
    }
    let all = expect_status(app.admin_get("/api/v1/admin/reports/credits").await, 200).await;
    assert_eq!(all["pool"]["grant_count"], 3);
    assert_eq!(all["by_state"][0]["key"], "TX");
    assert_eq!(all["by_state"][0]["granted_cents"], 15_000);
    let orgs = all["by_organization"].as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    assert_eq!(all["burn"][0]["days"], 7);
    assert_eq!(all["burn"][0]["net_cents"], 15_000);
    assert!(all["burn"][0]["runs_out_on"].is_string());
    let a =
        expect_status(app.request(Method::GET, "/api/v1/admin/reports/credits", Some(&token_a), None).await, 200).await;
    assert_eq!(a["by_organization"].as_array().unwrap().len(), 1);
    assert_eq!(a["by_organization"][0]["key"], org_a.as_str());
    assert_eq!(a["by_organization"][0]["granted_count"], 1);
    assert!(!a.to_string().contains(&org_b), "nothing of B in A's report");
    let list =
        expect_status(app.request(Method::GET, "/api/v1/admin/credits/grants", Some(&token_b), None).await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["items"].as_array().unwrap().iter().all(|g| g["event_id"] == events[1].as_str()));
    assert!(
        list["items"].as_array().unwrap().iter().all(|g| g["voucher_prefix"].is_null()),
        "organizers see no part of a code"
    );
    let r = app.request(Method::GET, "/api/v1/admin/reports/credits", Some(&expert), None).await;
    expect_problem(r, 403, None).await;
    let csv = app.admin_get("/api/v1/admin/reports/credits?format=csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("section,key,name,granted_count"));
    assert!(text.contains("\r\nstate,TX,,3,15000,0,0,"), "{text}");
    assert!(text.contains("\r\norganization,"), "{text}");
}

async fn pool_settings_are_validated_and_never_go_below_what_is_granted(app: TestApp) {
    let event = app.published_webinar(10).await;
    let reg = registered(&app, &event, registration(60)).await;
    check_in(&app, &reg).await;
    let r = app.admin_patch("/api/v1/admin/credits/pool", &json!({"total_cents": 4999})).await;
    expect_problem(r, 409, None).await;
    let r = app.admin_patch("/api/v1/admin/credits/pool", &json!({"max_grants": 0})).await;
    expect_problem(r, 422, Some("max_grants")).await;
    let r = app.admin_patch("/api/v1/admin/credits/pool", &json!({"currency": "usd"})).await;
    expect_problem(r, 422, Some("currency")).await;
    let r = app
        .admin_patch(
            "/api/v1/admin/credits/pool",
            &json!({"starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}),
        )
        .await;
    expect_problem(r, 422, Some("ends_at")).await;
    let r = app.admin_patch("/api/v1/admin/credits/pool", &json!({"total_cents": 5000, "grant_cents": 2500})).await;
    let p = expect_status(r, 200).await;
    assert_eq!((p["total_cents"].as_i64(), p["remaining_cents"].as_i64()), (Some(5000), Some(0)));
    // The pool closes after its end date.
    let r = app
        .admin_patch("/api/v1/admin/credits/pool", &json!({"total_cents": 100_000, "ends_at": "2020-01-01T00:00:00Z"}))
        .await;
    expect_status(r, 200).await;
    let reg2 = registered(&app, &event, registration(61)).await;
    assert_eq!(check_in(&app, &reg2).await["credit"]["outcome"], "not_open");
    let r = app.admin_patch("/api/v1/admin/credits/pool", &json!({"ends_at": null})).await;
    expect_status(r, 200).await;
    let reg3 = registered(&app, &event, registration(62)).await;
    let c = check_in(&app, &reg3).await;
    assert_eq!(c["credit"]["amount_cents"], 2500, "a new amount applies to new grants: {c}");
    assert_balanced(&app).await;
}

/// Check-in grants money, so it is for the door: a registrant checked in days before the event,
/// or long after it, is refused and the pool keeps its money.
async fn check_in_outside_the_door_hours_is_refused_and_grants_nothing(app: TestApp) {
    let event = app.published_webinar(10).await;
    let early = registered(&app, &event, registration(1)).await;
    let late = registered(&app, &event, registration(2)).await;
    let path = |r: &str| format!("/api/v1/admin/registrations/{r}/check-in");
    // The webinar starts in 30 days.
    let p = expect_problem(app.admin_post(&path(&early), &json!({})).await, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains("check-in opens two hours before the event starts"), "{p}");
    assert_eq!(pool(&app).await["grant_count"], 0);
    let status = |r: &str| {
        use roadshow::db::schema::registrations;
        let mut conn = app.db.get().unwrap();
        registrations::table.find(r).select(registrations::status).first::<String>(&mut *conn).unwrap()
    };
    assert_eq!(status(&early), "confirmed", "nothing written");
    // Two hours before the start the door opens.
    crate::fixtures::doors_open(&app, &early);
    assert_eq!(
        expect_status(app.admin_post(&path(&early), &json!({})).await, 200).await["credit"]["outcome"],
        "granted"
    );
    // Ended eight days ago: closed.
    let ended = roadshow::db::now() - chrono::Duration::days(8);
    crate::fixtures::move_event(&app, &event, ended - chrono::Duration::hours(1), ended);
    let p = expect_problem(app.admin_post(&path(&late), &json!({})).await, 409, None).await;
    assert!(p["detail"].as_str().unwrap().contains("check-in closed seven days after the event ended"), "{p}");
    assert_eq!(status(&late), "confirmed");
    // Checking in again one who was checked in at the door still answers (the grant may be
    // retried later, when the pool was empty at the door).
    let again = expect_status(app.admin_post(&path(&early), &json!({})).await, 200).await;
    assert_eq!(again["credit"]["outcome"], "already_granted", "{again}");
    assert_eq!(pool(&app).await["grant_count"], 1);
    assert_balanced(&app).await;
}

both_backends!(
    check_in_outside_the_door_hours_is_refused_and_grants_nothing,
    five_hundred_check_ins_race_for_a_pool_of_a_hundred_grants,
    one_business_at_three_events_and_under_two_emails_gets_one_grant,
    merging_two_granted_businesses_keeps_one_grant_and_returns_the_other,
    a_state_reserve_holds_under_concurrency_and_release_sends_the_state_to_national,
    reserves_are_allocated_from_a_csv_of_small_business_counts,
    revocation_regrant_decline_and_redeem_move_the_money_back_and_forth,
    a_lost_voucher_is_shown_again_only_through_a_verified_link,
    webinar_attendance_uploads_mark_and_grant_with_a_result_per_row,
    the_funders_report_adds_up_and_organizers_see_their_own_grants,
    pool_settings_are_validated_and_never_go_below_what_is_granted,
);

async fn changing_the_pool_and_reserves_while_check_ins_race_never_deadlocks(app: TestApp) {
    // A grant's insert takes KEY SHARE on its reserve (the foreign key) before it waits for the
    // pool row; an admin holding the pool row must not then ask for a lock that conflicts with it.
    let event = app.published_webinar(120).await;
    let regs: Vec<String> =
        futures_util::future::join_all((0..120).map(|n| registered(&app, &event, registration(n)))).await;
    let check_ins = futures_util::future::join_all(regs.iter().map(|r| check_in(&app, r)));
    let admin = async {
        for i in 0..12i64 {
            let r = app
                .admin_patch("/api/v1/admin/credits/pool", &json!({"total_cents": 1_000_000_000i64 + i * 5000}))
                .await;
            expect_status(r, 200).await;
            let body = json!({"states": [{"state": "TX", "share_cents": 5000 * (i + 1)}]});
            let r =
                app.request(Method::PUT, "/api/v1/admin/credits/reserves", Some(&app.admin_token), Some(&body)).await;
            expect_status(r, 200).await;
        }
        let r = app.admin_post("/api/v1/admin/credits/reserves/TX/release", &json!({})).await;
        expect_status(r, 200).await;
    };
    let (answers, _) = tokio::join!(check_ins, admin);
    assert_eq!(answers.iter().filter(|a| a["credit"]["outcome"] == "granted").count(), 120);
    assert_balanced(&app).await;
}

both_backends!(changing_the_pool_and_reserves_while_check_ins_race_never_deadlocks);
