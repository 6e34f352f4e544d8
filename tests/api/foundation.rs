use crate::helpers::TestApp;
use crate::helpers::{expect_problem, expect_status};
use serde_json::json;

async fn health_and_readiness_answer(app: TestApp) {
    expect_status(app.get("/healthz").await, 200).await;
    let body = expect_status(app.get("/readyz").await, 200).await;
    assert_eq!(body["status"], "ready");
}

async fn states_list_has_fifty_states_and_dc(app: TestApp) {
    let body = expect_status(app.get("/api/v1/states").await, 200).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 51);
    let tx = items.iter().find(|s| s["code"] == "TX").unwrap();
    assert_eq!(tx["time_zone"], "America/Chicago");
}

async fn unknown_route_is_problem_json(app: TestApp) {
    expect_problem(app.get("/nope").await, 404, None).await;
}

/// A method a resource does not take is a 405 problem document whose `Allow` names every method
/// registered at that path, also where the only route is behind the rate limit (guarded by
/// method, so such a request used to fall through to the 404 of an unknown path).
async fn another_method_is_a_problem_json_405_with_allow(app: TestApp) {
    let r = app.request(reqwest::Method::DELETE, "/api/v1/states", None, None).await;
    assert_eq!(r.headers()["allow"], "GET");
    expect_problem(r, 405, None).await;
    let event = uuid::Uuid::new_v4();
    for method in [reqwest::Method::GET, reqwest::Method::TRACE] {
        let r = app.request(method.clone(), &format!("/api/v1/events/{event}/registrations"), None, None).await;
        assert_eq!(r.headers()["allow"], "POST", "{method}");
        expect_problem(r, 405, None).await;
    }
    let r = app.request(reqwest::Method::DELETE, "/privacy/confirm", None, None).await;
    let mut allowed: Vec<String> = r.headers()["allow"].to_str().unwrap().split(", ").map(String::from).collect();
    allowed.sort();
    assert_eq!(allowed, ["GET", "POST"]);
    expect_problem(r, 405, None).await;
    let r = app.request(reqwest::Method::PUT, "/api/v1/admin/me", Some(&app.admin_token), None).await;
    assert_eq!(r.headers()["allow"], "GET");
    expect_problem(r, 405, None).await;
    // Not a resource at all: still the 404.
    expect_problem(app.request(reqwest::Method::TRACE, "/nope", None, None).await, 404, None).await;
}

/// A JSON body is an object: an array is not read as the struct's fields in order.
async fn a_body_that_is_not_an_object_is_refused(app: TestApp) {
    let r = app.admin_post("/api/v1/admin/organizations", &json!(["X", "local_chamber", ["TX"]])).await;
    expect_problem(r, 422, Some("body")).await;
    let r = app.admin_post("/api/v1/admin/organizations", &json!("X")).await;
    expect_problem(r, 422, Some("body")).await;
}

async fn admin_endpoints_need_a_valid_token(app: TestApp) {
    expect_problem(app.get("/api/v1/admin/me").await, 401, None).await;
    let r = app.request(reqwest::Method::GET, "/api/v1/admin/me", Some("rss_nope"), None).await;
    expect_problem(r, 401, None).await;
    let me = expect_status(app.admin_get("/api/v1/admin/me").await, 200).await;
    assert_eq!(me["role"], "admin");
}

async fn organizations_and_venues_are_created_and_validated(app: TestApp) {
    let org = app.create_org("Texas Regional Office", "regional_office", &["TX", "OK"]).await;
    let body = expect_status(app.admin_get(&format!("/api/v1/admin/organizations/{org}")).await, 200).await;
    assert_eq!(body["states"], json!(["OK", "TX"]));
    let r =
        app.admin_post("/api/v1/admin/organizations", &json!({"name": "X", "kind": "guild", "states": ["ZZ"]})).await;
    expect_problem(r, 422, Some("kind")).await;
    let r = app
        .admin_post("/api/v1/admin/organizations", &json!({"name": "X", "kind": "local_chamber", "states": ["ZZ"]}))
        .await;
    expect_problem(r, 422, Some("states[0]")).await;
    let r = app
        .admin_post("/api/v1/admin/organizations", &json!({"name": "Texas Regional Office", "kind": "federation"}))
        .await;
    expect_problem(r, 409, None).await;
    let v = app.create_venue("AZ").await;
    let body = expect_status(app.admin_get(&format!("/api/v1/admin/venues/{v}")).await, 200).await;
    assert_eq!(body["time_zone"], "America/Phoenix");
}

async fn staff_tokens_are_shown_once_and_revocable(app: TestApp) {
    let user = expect_status(
        app.admin_post("/api/v1/admin/users", &json!({"email": "Ops@Example.org", "name": "Ops", "role": "admin"}))
            .await,
        201,
    )
    .await;
    assert_eq!(user["email"], "ops@example.org");
    let uid = user["id"].as_str().unwrap();
    let tok = expect_status(app.admin_post(&format!("/api/v1/admin/users/{uid}/tokens"), &json!({})).await, 201).await;
    let token = tok["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("rss_"));
    let r = app.request(reqwest::Method::GET, "/api/v1/admin/me", Some(&token), None).await;
    assert_eq!(expect_status(r, 200).await["id"], uid);
    let list = expect_status(app.admin_get(&format!("/api/v1/admin/users/{uid}/tokens")).await, 200).await;
    assert!(list["items"][0].get("token").is_none(), "token must not be listed: {list}");
    let tid = tok["id"].as_str().unwrap();
    let r = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/admin/users/{uid}/tokens/{tid}"),
            Some(&app.admin_token),
            None,
        )
        .await;
    expect_status(r, 204).await;
    let r = app.request(reqwest::Method::GET, "/api/v1/admin/me", Some(&token), None).await;
    expect_problem(r, 401, None).await;
}

async fn bad_bodies_get_problem_json_naming_the_field(app: TestApp) {
    let r = app
        .admin_post("/api/v1/admin/users", &json!({"email": "a@b.org", "name": "A", "role": "admin", "extra": 1}))
        .await;
    expect_problem(r, 422, Some("extra")).await;
    let r = app.admin_post("/api/v1/admin/users", &json!({"email": 5, "name": "A", "role": "admin"})).await;
    expect_problem(r, 422, Some("email")).await;
    let r = app
        .client
        .post(app.url("/api/v1/admin/users"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_problem(r, 400, Some("body")).await;
    let big = "x".repeat(100 * 1024);
    let r = app.admin_post("/api/v1/admin/users", &json!({"email": "a@b.org", "name": big, "role": "admin"})).await;
    expect_problem(r, 413, Some("body")).await;
    let r = app.admin_get("/api/v1/admin/users/not-a-uuid").await;
    expect_problem(r, 400, Some("id")).await;
    let r = app.admin_get("/api/v1/admin/users?cursor=garbage").await;
    expect_problem(r, 400, Some("cursor")).await;
    let r = app.admin_get("/api/v1/admin/users?limit=1000").await;
    expect_problem(r, 400, Some("limit")).await;
    let r = app.admin_get("/api/v1/admin/users?limit=abc").await;
    expect_problem(r, 400, Some("limit")).await;
}

async fn a_broken_database_gives_a_problem_json_500_without_details(app: TestApp) {
    use diesel::connection::SimpleConnection;
    let id = app.published_webinar(5).await;
    {
        let mut conn = app.db.get().unwrap();
        let sql = if app.backend == crate::helpers::Backend::Postgres {
            "DROP TABLE event_seat_shards CASCADE"
        } else {
            "DROP TABLE event_seat_shards"
        };
        conn.batch_execute(sql).unwrap();
    }
    let body = expect_problem(app.get(&format!("/api/v1/events/{id}")).await, 500, None).await;
    assert_eq!(body["detail"], "an unexpected error occurred");
    assert!(!body.to_string().contains("event_seat_shards"), "no internals leak: {body}");
}

async fn demo_data_loads_a_nationwide_roadshow_once(app: TestApp) {
    let summary = roadshow::demo::load(&app.db).unwrap();
    assert!(summary.starts_with("loaded demo data"), "{summary}");
    assert!(roadshow::demo::load(&app.db).unwrap().contains("already loaded"));
    let tx = expect_status(app.get("/api/v1/events?state=TX&limit=200").await, 200).await;
    let items = tx["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["kind"] == "roadshow_stop" && e["state"] == "TX"), "{tx}");
    assert!(
        items.iter().any(|e| e["kind"] == "webinar" && e["state"].is_null()),
        "national webinars are listed for every state"
    );
    let stops = expect_status(app.get("/api/v1/events?kind=roadshow_stop&limit=200").await, 200).await;
    assert_eq!(stops["items"].as_array().unwrap().len(), 51);
    // Experts with open slots at the first stops and online, some already booked.
    let experts = expect_status(app.get("/api/v1/experts").await, 200).await;
    assert_eq!(experts["items"].as_array().unwrap().len(), 6, "{experts}");
    let online = expect_status(app.get("/api/v1/expert-slots?online=true").await, 200).await;
    assert!(!online["items"].as_array().unwrap().is_empty(), "{online}");
    let mut open_at_stops = 0;
    for stop in stops["items"].as_array().unwrap() {
        let id = stop["id"].as_str().unwrap();
        let slots = expect_status(app.get(&format!("/api/v1/events/{id}/expert-slots?limit=200")).await, 200).await;
        open_at_stops += slots["items"].as_array().unwrap().len();
    }
    // 8 stops × 3 experts × 3 slots (09:00-12:00 stops, 10:00-12:00 windows, 30 + 5 minutes),
    // 12 of them booked.
    assert_eq!(open_at_stops, 8 * 3 * 3 - 12, "open slots at the stops");
}

async fn every_documented_operation_is_routed(app: TestApp) {
    let doc = expect_status(app.get("/api/openapi.json").await, 200).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "{}", paths.len());
    for (path, ops) in paths {
        let concrete = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{token_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{token}", "rsl_unknown");
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["responses"].is_object() && op["summary"].is_string(), "{method} {path}");
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.request(m, &concrete, Some(&app.admin_token), None).await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            assert!(
                !(status == 404 && body.contains("no such resource")),
                "{method} {path} is documented but not routed"
            );
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
            assert!(status < 500, "{method} {path} answered {status}: {body}");
        }
    }
}

/// Every staff answer reads back as the wire type the handler wrote (the shape the OpenAPI
/// document gives it), with the closed sets spelled as on the wire.
async fn staff_answers_read_as_their_wire_types(app: TestApp) {
    use roadshow::audit::handlers::AuditOut;
    use roadshow::auth::wire::{TokenOut, UserOut};
    use roadshow::domain::{OrganizationKind, Role};
    use roadshow::http::Page;
    use roadshow::mail::handlers::OutboxStatsOut;
    use roadshow::partners::wire::{OrganizationOut, VenueOut};
    use roadshow::reports::wire::{OrganizationReportOut, ReportOut, StateReportOut};
    use serde::de::DeserializeOwned;

    async fn read<T: DeserializeOwned>(r: reqwest::Response, status: u16) -> T {
        let body = expect_status(r, status).await;
        serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    let me: UserOut = read(app.admin_get("/api/v1/admin/me").await, 200).await;
    assert_eq!(me.role, Role::Admin);
    let org_id = app.create_org("Ohio Chamber of Commerce", "local_chamber", &["OH"]).await;
    let org: OrganizationOut = read(app.admin_get(&format!("/api/v1/admin/organizations/{org_id}")).await, 200).await;
    assert_eq!((org.kind, org.states), (OrganizationKind::LocalChamber, vec!["OH".to_string()]));
    let orgs: Page<OrganizationOut> = read(app.admin_get("/api/v1/admin/organizations").await, 200).await;
    assert!(orgs.items.iter().any(|o| o.id == org_id));
    let invited = json!({"email": "oh@chamber.example", "name": "Oh", "role": "organizer", "organization_id": org_id});
    let user: UserOut = read(app.admin_post("/api/v1/admin/users", &invited).await, 201).await;
    assert_eq!((user.role, user.organization_id.as_deref()), (Role::Organizer, Some(org_id.as_str())));
    let users: Page<UserOut> = read(app.admin_get("/api/v1/admin/users").await, 200).await;
    assert!(users.items.iter().any(|u| u.id == user.id));
    let token: TokenOut =
        read(app.admin_post(&format!("/api/v1/admin/users/{}/tokens", user.id), &json!(null)).await, 201).await;
    assert!(token.token.is_some_and(|t| t.starts_with("rss_")), "a null body is no body");
    let tokens: Page<TokenOut> =
        read(app.admin_get(&format!("/api/v1/admin/users/{}/tokens", user.id)).await, 200).await;
    assert!(tokens.items.iter().all(|t| t.token.is_none()), "the secret is shown once");
    let venue_id = app.create_venue("OH").await;
    let venue: VenueOut = read(app.admin_get(&format!("/api/v1/admin/venues/{venue_id}")).await, 200).await;
    assert_eq!(venue.state, "OH");
    let _: Page<VenueOut> = read(app.admin_get("/api/v1/admin/venues?state=OH").await, 200).await;
    let audit: Page<AuditOut> =
        read(app.admin_get(&format!("/api/v1/admin/audit?object_id={}", user.id)).await, 200).await;
    assert_eq!(audit.items[0].changes.refs.get("organization_id"), Some(&org_id));
    let _: OutboxStatsOut = read(app.admin_get("/api/v1/admin/outbox/stats").await, 200).await;
    let _: ReportOut<StateReportOut> = read(app.admin_get("/api/v1/admin/reports/states").await, 200).await;
    let report: ReportOut<OrganizationReportOut> =
        read(app.admin_get("/api/v1/admin/reports/organizations").await, 200).await;
    assert!(report.items.iter().any(|row| row.organization_id == org_id && row.figures.events.total == 0));
}

/// Statements kept prepared under their call site (`db::Fixed`): two call sites with the same Rust
/// type (same bind types) but different SQL never share a prepared statement, however they
/// alternate on one connection, and each keeps answering from its own text.
async fn fixed_statements_of_two_call_sites_stay_apart(app: TestApp) {
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Text};
    #[derive(diesel::QueryableByName)]
    struct Answer {
        #[diesel(sql_type = Text)]
        answer: String,
    }
    let db = app.db.clone();
    let answers = tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let mut answers = Vec::new();
        for n in 0..3 {
            let first: Vec<Answer> = roadshow::fixed_statement!(diesel::sql_query(
                "SELECT 'first ' || CAST($1 AS TEXT) AS answer"
            )
            .bind::<Integer, _>(n))
            .load(&mut *conn)
            .unwrap();
            let second: Vec<Answer> = roadshow::fixed_statement!(diesel::sql_query(
                "SELECT 'second ' || CAST($1 AS TEXT) AS answer"
            )
            .bind::<Integer, _>(n))
            .load(&mut *conn)
            .unwrap();
            answers.extend(first.into_iter().chain(second).map(|a| a.answer));
        }
        answers
    })
    .await
    .unwrap();
    assert_eq!(answers, ["first 0", "second 0", "first 1", "second 1", "first 2", "second 2"]);
}

both_backends!(
    fixed_statements_of_two_call_sites_stay_apart,
    staff_answers_read_as_their_wire_types,
    health_and_readiness_answer,
    states_list_has_fifty_states_and_dc,
    unknown_route_is_problem_json,
    another_method_is_a_problem_json_405_with_allow,
    a_body_that_is_not_an_object_is_refused,
    admin_endpoints_need_a_valid_token,
    organizations_and_venues_are_created_and_validated,
    staff_tokens_are_shown_once_and_revocable,
    bad_bodies_get_problem_json_naming_the_field,
    a_broken_database_gives_a_problem_json_500_without_details,
    demo_data_loads_a_nationwide_roadshow_once,
    every_documented_operation_is_routed
);

/// The registration path's hand-written statements (`db::fixed_statement!`, `db::cached`) are kept
/// prepared on the connection, so PostgreSQL does not parse and plan them on every registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(roadshow_pg), ignore = "ROADSHOW_TEST_POSTGRES_URL is not set")]
async fn hand_written_statements_stay_prepared() {
    use diesel::prelude::*;
    use roadshow::registrations::model::RegistrationRequest;
    use roadshow::registrations::queries::{register, Seating};

    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Postgres, |_| {}).await;
    let event = app.published_webinar(10).await;
    let ctx = roadshow::mail::MailContext::from_config(&app.config);
    let db = app.db.clone();
    let statements = tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        for n in 0..2 {
            let req = RegistrationRequest {
                business_name: format!("Shop {n}"),
                business_email: roadshow::domain::EmailAddress::parse(&format!("owner{n}@shop.example")).unwrap(),
                business_state: roadshow::domain::StateCode::parse("TX").unwrap(),
                industry: None,
                employees: None,
                website: None,
                attendee_name: format!("Attendee {n}"),
                attendee_email: roadshow::domain::EmailAddress::parse(&format!("attendee{n}@shop.example")).unwrap(),
                marketing_consent: None,
                language: roadshow::domain::Language::English,
                accommodation: None,
            };
            roadshow::db::write_tx(&mut conn, |c| register(c, &ctx, &event, &req, None, Seating::SeatFirst)).unwrap();
        }
        diesel::sql_query("SELECT statement FROM pg_prepared_statements")
            .load::<Statement>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|s| s.statement)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    // The registration goes in with its email, in one statement (registrations::queries::insert_both).
    for start in [
        "WITH l AS (SELECT pg_advisory_xact_lock_shared($8)) INSERT INTO businesses",
        "UPDATE event_seat_shards",
        "WITH r AS (INSERT INTO registrations",
    ] {
        assert!(statements.iter().any(|s| s.starts_with(start)), "{start}… is not prepared: {statements:#?}");
    }
}

#[derive(diesel::QueryableByName)]
struct Statement {
    #[diesel(sql_type = diesel::sql_types::Text)]
    statement: String,
}
