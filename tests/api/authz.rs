//! The authorization matrix: every admin endpoint, called as each kind of caller against objects
//! owned by organization A. Add a row for every new admin endpoint.
//!
//! Callers: a national admin; an organizer of A (the owner); an organizer of B (not the owner); an
//! expert (no organization); no token. Besides the status, every answer to the organizer of B and
//! to the expert is checked to hold no id of A's objects, and every answer to the organizer of A
//! none of B's: a 200 on a list must be a scoped list, never someone else's data.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::TestApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Admin,
    Owner,
    Other,
    Expert,
    Anonymous,
}

const CALLERS: [Caller; 5] = [Caller::Admin, Caller::Owner, Caller::Other, Caller::Expert, Caller::Anonymous];

/// The objects of the matrix: A's are the targets; B's must never leak to A's organizer.
struct World {
    tokens: [Option<String>; 5],
    org_a: String,
    org_b: String,
    user_a: String,
    user_b: String,
    venue_a: String,
    venue_b: String,
    /// An admin-made venue (no owner) in a state A covers: A's organizers see it but cannot change it.
    venue_shared_tx: String,
    /// Tokens of `user_a`, one per caller, so each caller revokes its own.
    user_a_tokens: Vec<String>,
    event_a: String,
    event_b: String,
    /// Events of A, one per caller, so each caller cancels its own.
    cancel_a: Vec<String>,
    registration_a: String,
    /// The ad-credit grant A's registrant's business earned by checking in.
    grant_a: String,
    /// A webhook endpoint of A, and a delivery to it.
    webhook_a: String,
    delivery_a: String,
    /// Endpoints of A, one per caller, so each caller removes its own.
    webhooks_del: Vec<String>,
    /// The business of A's registrant (business records are national: admins only).
    business_a: String,
    attendee_a: String,
    /// A dead email of A's registrant (outbox inspection and retry are national).
    dead_email: String,
    /// The expert caller (no organization), with a profile and a window at A's stop.
    expert: String,
    /// A roadshow stop hosted by A, where the expert offers sessions.
    stop_a: String,
    window_a: String,
    /// Windows of the expert at A's stop, one per caller, so each caller removes its own.
    windows_del: Vec<String>,
    /// A booking of the expert at A's stop.
    booking_a: String,
    /// Bookings of the expert at A's stop, one per caller, so each caller cancels its own.
    bookings_del: Vec<String>,
    /// A learning resource of A (a draft) and one of B.
    resource_a: String,
    resource_b: String,
    /// Resources of A, one per caller, so each caller deletes its own.
    resources_del: Vec<String>,
}

impl World {
    fn token(&self, c: Caller) -> Option<&str> {
        self.tokens[CALLERS.iter().position(|x| *x == c).unwrap()].as_deref()
    }

    fn ids_of_a(&self) -> Vec<&str> {
        vec![
            &self.org_a,
            &self.user_a,
            &self.venue_a,
            &self.event_a,
            &self.registration_a,
            &self.attendee_a,
            &self.grant_a,
            &self.webhook_a,
            &self.delivery_a,
            &self.resource_a,
        ]
    }

    fn ids_of_b(&self) -> Vec<&str> {
        vec![&self.org_b, &self.user_b, &self.venue_b, &self.event_b, &self.resource_b]
    }
}

type PathFn = fn(&World, Caller) -> String;
type BodyFn = fn(&World, Caller) -> Option<Value>;

/// One endpoint: how to call it, and the expected status per caller
/// (admin, organizer of A, organizer of B, expert, no token).
struct Case {
    method: Method,
    path: PathFn,
    body: BodyFn,
    expect: [u16; 5],
}

fn no_body(_: &World, _: Caller) -> Option<Value> {
    None
}

fn tag(c: Caller) -> String {
    format!("{c:?}").to_lowercase()
}

fn cases() -> Vec<Case> {
    use Method as M;
    let case = |method: M, path: PathFn, body: BodyFn, expect: [u16; 5]| Case { method, path, body, expect };
    vec![
        // Business records: national.
        case(M::GET, |w, _| format!("/api/v1/admin/businesses/{}", w.business_a), no_body, [200, 403, 403, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/businesses/{}", w.business_a),
            |_, _| Some(json!({"industry": "restaurants"})),
            [200, 403, 403, 403, 401],
        ),
        // Staff users and tokens.
        case(M::GET, |_, _| "/api/v1/admin/me".into(), no_body, [200, 200, 200, 200, 401]),
        case(M::GET, |_, _| "/api/v1/admin/users".into(), no_body, [200, 200, 200, 403, 401]),
        case(
            M::POST,
            |_, _| "/api/v1/admin/users".into(),
            |w, c| {
                Some(json!({"email": format!("invite-{}@a.test", tag(c)), "name": "Invited", "role": "organizer",
                            "organization_id": w.org_a}))
            },
            [201, 201, 403, 403, 401],
        ),
        case(
            M::POST,
            |_, _| "/api/v1/admin/users".into(),
            |_, c| Some(json!({"email": format!("admin-{}@a.test", tag(c)), "name": "Boss", "role": "admin"})),
            [201, 403, 403, 403, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/users/{}", w.user_a), no_body, [200, 200, 404, 404, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/users/{}", w.user_a),
            |_, _| Some(json!({"name": "Renamed"})),
            [200, 200, 404, 404, 401],
        ),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/users/{}", w.user_a),
            |_, _| Some(json!({"role": "organizer"})),
            [200, 403, 404, 404, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/users/{}/tokens", w.user_a),
            |_, _| Some(json!({})),
            // An organizer sees its colleague but may not mint a key to act as them.
            [201, 403, 404, 404, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/users/{}/tokens", w.user_a), no_body, [200, 200, 404, 404, 401]),
        case(
            M::DELETE,
            |w, c| {
                let i = CALLERS.iter().position(|x| *x == c).unwrap();
                format!("/api/v1/admin/users/{}/tokens/{}", w.user_a, w.user_a_tokens[i])
            },
            no_body,
            [204, 204, 404, 404, 401],
        ),
        // Organizations.
        case(
            M::POST,
            |_, _| "/api/v1/admin/organizations".into(),
            |_, c| Some(json!({"name": format!("New org {}", tag(c)), "kind": "federation"})),
            [201, 403, 403, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/organizations".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |w, _| format!("/api/v1/admin/organizations/{}", w.org_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/organizations/{}", w.org_a),
            |_, c| Some(json!({"name": format!("Org A renamed by {}", tag(c))})),
            [200, 403, 403, 403, 401],
        ),
        // Venues.
        case(
            M::POST,
            |_, _| "/api/v1/admin/venues".into(),
            |w, _| {
                Some(json!({"name": "Hall", "address": "2 Main St", "city": "Austin", "state": "TX",
                            "organization_id": w.org_a}))
            },
            [201, 201, 403, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/venues".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |w, _| format!("/api/v1/admin/venues/{}", w.venue_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/venues/{}", w.venue_a),
            |_, _| Some(json!({"name": "Hall A"})),
            [200, 200, 404, 403, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/venues/{}", w.venue_shared_tx), no_body, [200, 200, 404, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/venues/{}", w.venue_shared_tx),
            |_, _| Some(json!({"city": "Dallas"})),
            [200, 403, 404, 403, 401],
        ),
        // Events.
        case(
            M::POST,
            |_, _| "/api/v1/admin/events".into(),
            |w, _| Some(event_body(&w.org_a)),
            [201, 201, 422, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/events".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |w, _| format!("/api/v1/admin/events/{}", w.event_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/events/{}", w.event_a),
            |_, _| Some(json!({"title": "Grow online, part 2"})),
            [200, 200, 404, 403, 401],
        ),
        case(M::POST, |w, _| format!("/api/v1/admin/events/{}/publish", w.event_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::POST,
            |w, c| format!("/api/v1/admin/events/{}/cancel", w.cancel_a[CALLERS.iter().position(|x| *x == c).unwrap()]),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        // Registrants and check-in.
        case(
            M::GET,
            |w, _| format!("/api/v1/admin/events/{}/registrations", w.event_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::GET,
            |w, _| format!("/api/v1/admin/events/{}/registrations?format=csv", w.event_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/registrations/{}/check-in", w.registration_a),
            no_body,
            [200, 200, 404, 404, 401],
        ),
        // Outbox inspection and retry.
        case(M::GET, |_, _| "/api/v1/admin/outbox".into(), no_body, [200, 403, 403, 403, 401]),
        case(M::GET, |_, _| "/api/v1/admin/outbox/stats".into(), no_body, [200, 403, 403, 403, 401]),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/outbox/{}/retry", w.dead_email),
            no_body,
            [200, 403, 403, 403, 401],
        ),
        // Experts: profiles, windows, agendas, attendance. The expert has a window at A's stop, so
        // A's organizers manage it; B's do not know it.
        case(M::GET, |_, _| "/api/v1/admin/experts".into(), no_body, [200, 200, 200, 200, 401]),
        case(M::GET, |w, _| format!("/api/v1/admin/experts/{}", w.expert), no_body, [200, 200, 404, 200, 401]),
        case(
            M::PUT,
            |w, _| format!("/api/v1/admin/experts/{}", w.expert),
            |_, _| Some(json!({"display_name": "Ana Ruiz", "topics": ["advertising"], "languages": ["en", "es"]})),
            // A's organizers see an expert who offers time at A's stops but do not rewrite it.
            [200, 404, 404, 200, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/experts/{}/calendar-feed", w.expert),
            no_body,
            [201, 403, 404, 201, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/experts/{}/windows", w.expert), no_body, [200, 200, 404, 200, 401]),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/experts/{}/windows", w.expert),
            |w, c| {
                // One hour each, after the windows made by `world`.
                let i = CALLERS.iter().position(|x| *x == c).unwrap() as i64;
                let start = stop_start() + chrono::Duration::hours(7 + i);
                Some(json!({"event_id": w.stop_a, "starts_at": start.to_rfc3339(),
                            "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339(), "slot_minutes": 30}))
            },
            [201, 201, 422, 201, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/expert-windows/{}", w.window_a), no_body, [200, 200, 404, 200, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/expert-windows/{}", w.window_a),
            |_, _| Some(json!({"registrants_only_until": null})),
            [200, 200, 404, 200, 401],
        ),
        case(
            M::DELETE,
            |w, c| {
                format!("/api/v1/admin/expert-windows/{}", w.windows_del[CALLERS.iter().position(|x| *x == c).unwrap()])
            },
            no_body,
            [204, 204, 404, 204, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/experts/{}/bookings", w.expert), no_body, [200, 200, 404, 200, 401]),
        case(
            M::GET,
            |w, _| format!("/api/v1/admin/events/{}/expert-bookings", w.stop_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::DELETE,
            |w, c| {
                format!(
                    "/api/v1/admin/expert-bookings/{}",
                    w.bookings_del[CALLERS.iter().position(|x| *x == c).unwrap()]
                )
            },
            no_body,
            [200, 200, 404, 200, 401],
        ),
        // Before the session: the scope lets the caller in, the rule refuses (409).
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/expert-bookings/{}/attendance", w.booking_a),
            |_, _| Some(json!({"status": "attended"})),
            [409, 409, 404, 409, 401],
        ),
        // Audit trail and reports.
        case(M::GET, |_, _| "/api/v1/admin/audit".into(), no_body, [200, 403, 403, 403, 401]),
        case(M::GET, |_, _| "/api/v1/admin/reports/states".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |_, _| "/api/v1/admin/reports/organizations".into(), no_body, [200, 200, 200, 403, 401]),
        // The ad-credit pool: national settings are the admins'; grants are scoped like registrants.
        case(M::GET, |_, _| "/api/v1/admin/reports/credits".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |_, _| "/api/v1/admin/credits/pool".into(), no_body, [200, 200, 200, 403, 401]),
        case(
            M::PATCH,
            |_, _| "/api/v1/admin/credits/pool".into(),
            |_, _| Some(json!({"currency": "USD"})),
            [200, 403, 403, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/credits/reserves".into(), no_body, [200, 200, 200, 403, 401]),
        case(
            M::PUT,
            |_, _| "/api/v1/admin/credits/reserves".into(),
            |_, _| Some(json!({"states": []})),
            [200, 403, 403, 403, 401],
        ),
        // A JSON body where CSV is expected: the role is checked before the body is read.
        case(
            M::POST,
            |_, _| "/api/v1/admin/credits/reserves/allocate".into(),
            |_, _| Some(json!({})),
            [415, 403, 403, 403, 401],
        ),
        case(M::POST, |_, _| "/api/v1/admin/credits/reserves/TX/release".into(), no_body, [404, 403, 403, 403, 401]),
        case(M::GET, |_, _| "/api/v1/admin/credits/grants".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |w, _| format!("/api/v1/admin/credits/grants/{}", w.grant_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/credits/grants/{}/revoke", w.grant_a),
            |_, _| Some(json!({"reason": "matrix"})),
            [200, 403, 403, 403, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/businesses/{}/credit-grant", w.business_a),
            |_, _| Some(json!({"reason": "matrix"})),
            [201, 403, 403, 403, 401],
        ),
        // A well-formed code nobody was given.
        case(
            M::POST,
            |_, _| "/api/v1/admin/credits/vouchers/redeem".into(),
            |_, _| Some(json!({"code": roadshow::credits::voucher::Voucher::generate().code})),
            [404, 404, 404, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/credits/reconcile".into(), no_body, [200, 403, 403, 403, 401]),
        // A's webinar has not started: in scope, the rule refuses (409); out of scope, 404.
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/events/{}/webinar-attendance", w.event_a),
            no_body,
            [409, 409, 404, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/businesses/duplicates".into(), no_body, [200, 403, 403, 403, 401]),
        // Webhooks: an organization's own; admins any (and must name the organization).
        case(M::GET, |_, _| "/api/v1/admin/webhooks".into(), no_body, [200, 200, 200, 403, 401]),
        case(
            M::POST,
            |_, _| "/api/v1/admin/webhooks".into(),
            |_, _| Some(json!({"url": "https://93.184.216.34/other", "event_types": ["event.changed"]})),
            [422, 201, 201, 403, 401],
        ),
        case(M::GET, |w, _| format!("/api/v1/admin/webhooks/{}", w.webhook_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/webhooks/{}", w.webhook_a),
            |_, _| Some(json!({"active": true})),
            [200, 200, 404, 403, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/webhooks/{}/rotate-secret", w.webhook_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::GET,
            |w, _| format!("/api/v1/admin/webhooks/{}/deliveries", w.webhook_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/webhook-deliveries/{}/redeliver", w.delivery_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::DELETE,
            |w, c| format!("/api/v1/admin/webhooks/{}", w.webhooks_del[CALLERS.iter().position(|x| *x == c).unwrap()]),
            no_body,
            [204, 204, 404, 403, 401],
        ),
        // Learning resources: an organization's own, as events are.
        case(
            M::POST,
            |_, _| "/api/v1/admin/resources".into(),
            |w, _| Some(resource_body(&w.org_a)),
            [201, 201, 422, 403, 401],
        ),
        case(M::GET, |_, _| "/api/v1/admin/resources".into(), no_body, [200, 200, 200, 403, 401]),
        case(M::GET, |w, _| format!("/api/v1/admin/resources/{}", w.resource_a), no_body, [200, 200, 404, 403, 401]),
        case(
            M::PATCH,
            |w, _| format!("/api/v1/admin/resources/{}", w.resource_a),
            |_, _| Some(json!({"title": "Local ads, revised"})),
            [200, 200, 404, 403, 401],
        ),
        case(
            M::DELETE,
            |w, c| {
                format!("/api/v1/admin/resources/{}", w.resources_del[CALLERS.iter().position(|x| *x == c).unwrap()])
            },
            no_body,
            [204, 204, 404, 403, 401],
        ),
        case(
            M::GET,
            |w, _| format!("/api/v1/admin/events/{}/resources", w.event_a),
            no_body,
            [200, 200, 404, 403, 401],
        ),
        case(
            M::PUT,
            |w, _| format!("/api/v1/admin/events/{}/resources", w.event_a),
            |w, _| Some(json!({"resource_ids": [w.resource_a]})),
            [200, 200, 404, 403, 401],
        ),
        case(
            M::POST,
            |w, _| format!("/api/v1/admin/businesses/{}/merge", w.business_a),
            |_, _| Some(json!({"from": "6a1f7c1e-0000-4000-8000-000000000000"})),
            [404, 403, 403, 403, 401],
        ),
    ]
}

/// A webinar in Texas hosted by `org`.
fn event_body(org: &str) -> Value {
    let start = chrono::Utc::now() + chrono::Duration::days(20);
    json!({"kind": "webinar", "title": "Grow online", "starts_at": start.to_rfc3339(),
           "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339(), "time_zone": "America/Chicago",
           "capacity": 10, "join_url": "https://meet.example.org/grow", "state": "TX", "host_organization_ids": [org]})
}

/// A guide by `org`.
fn resource_body(org: &str) -> Value {
    json!({"kind": "guide", "title": "Local ads", "summary": "Small budgets.", "body_markdown": "Start *small*.",
           "topics": ["advertising"], "organization_id": org})
}

/// A draft guide by `org`, made by the admin; returns its id.
async fn resource(app: &TestApp, org: &str) -> String {
    let r = app.admin_post("/api/v1/admin/resources", &resource_body(org)).await;
    crate::helpers::expect_status(r, 201).await["id"].as_str().unwrap().to_string()
}

/// A published webinar hosted by `org` in `state`, made by the admin.
async fn published_event(app: &TestApp, org: &str, state: &str) -> String {
    let mut body = event_body(org);
    body["state"] = json!(state);
    let id = crate::helpers::expect_status(app.admin_post("/api/v1/admin/events", &body).await, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    crate::helpers::expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200)
        .await;
    id
}

/// Where A's stop starts: 20 days ahead, at 06:00 UTC (it lasts 13 hours).
fn stop_start() -> chrono::DateTime<chrono::Utc> {
    let d = (chrono::Utc::now() + chrono::Duration::days(20)).date_naive().and_hms_opt(6, 0, 0).unwrap();
    chrono::DateTime::from_naive_utc_and_offset(d, chrono::Utc)
}

/// A path as a route: ids, state codes and `{placeholders}` become `{}`, the query string goes.
fn route_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let state = |seg: &str| seg.len() == 2 && seg.chars().all(|c| c.is_ascii_uppercase());
    path.split('/')
        .map(|seg| if seg.starts_with('{') || uuid::Uuid::parse_str(seg).is_ok() || state(seg) { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

async fn world(app: &TestApp) -> World {
    let org_a = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let org_b = app.create_org("Oklahoma Chamber", "local_chamber", &["OK"]).await;
    let (_, owner) = fixtures::staff(app, "organizer", Some(&org_a)).await;
    let (_, other) = fixtures::staff(app, "organizer", Some(&org_b)).await;
    let (expert_id, expert) = fixtures::staff(app, "expert", None).await;
    let (user_a, _) = fixtures::staff(app, "organizer", Some(&org_a)).await;
    let (user_b, _) = fixtures::staff(app, "organizer", Some(&org_b)).await;
    let venue = |org: &str, state: &str| json!({"name": "Venue", "address": "1 Main St", "city": "City", "state": state, "organization_id": org});
    let venue_a =
        crate::helpers::expect_status(app.admin_post("/api/v1/admin/venues", &venue(&org_a, "TX")).await, 201).await
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    let venue_b =
        crate::helpers::expect_status(app.admin_post("/api/v1/admin/venues", &venue(&org_b, "OK")).await, 201).await
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    let venue_shared_tx = app.create_venue("TX").await;
    let mut user_a_tokens = Vec::new();
    for _ in CALLERS {
        let r = app.admin_post(&format!("/api/v1/admin/users/{user_a}/tokens"), &json!({})).await;
        user_a_tokens.push(crate::helpers::expect_status(r, 201).await["id"].as_str().unwrap().to_string());
    }
    let event_a = published_event(app, &org_a, "TX").await;
    let event_b = published_event(app, &org_b, "OK").await;
    let mut cancel_a = Vec::new();
    for _ in CALLERS {
        cancel_a.push(published_event(app, &org_a, "TX").await);
    }
    let attendee_a = "rosa@tacogarage.test".to_string();
    let reg = json!({"business": {"name": "Taco Garage", "email": "owner@tacogarage.test", "state": "TX"},
                     "attendee": {"name": "Rosa Diaz", "email": attendee_a}});
    let r = app.post_json(&format!("/api/v1/events/{event_a}/registrations"), &reg).await;
    let registration_a = crate::helpers::expect_status(r, 201).await["id"].as_str().unwrap().to_string();
    let business_a: String = {
        use diesel::prelude::*;
        use roadshow::db::schema::registrations;
        let mut conn = app.db.get().unwrap();
        registrations::table.find(&registration_a).select(registrations::business_id).first(&mut conn).unwrap()
    };
    fixtures::doors_open(app, &registration_a);
    let r = app.admin_post(&format!("/api/v1/admin/registrations/{registration_a}/check-in"), &json!({})).await;
    let grant_a = crate::helpers::expect_status(r, 200).await["credit"]["grant_id"].as_str().unwrap().to_string();
    let dead_email = fixtures::queued_email(app, &registration_a, &attendee_a, "Hello");
    fixtures::make_dead(app, &dead_email);
    // A's stop, the expert's profile and windows there, and a booking.
    let start = stop_start();
    let mut stop = event_body(&org_a);
    stop["kind"] = json!("roadshow_stop");
    stop["venue_id"] = json!(venue_a);
    stop["join_url"] = Value::Null;
    stop["state"] = Value::Null;
    stop["starts_at"] = json!(start.to_rfc3339());
    stop["ends_at"] = json!((start + chrono::Duration::hours(13)).to_rfc3339());
    let stop_a = crate::helpers::expect_status(app.admin_post("/api/v1/admin/events", &stop).await, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    crate::helpers::expect_status(
        app.admin_post(&format!("/api/v1/admin/events/{stop_a}/publish"), &json!({})).await,
        200,
    )
    .await;
    let profile = json!({"display_name": "Ana", "topics": ["advertising"], "languages": ["en"]});
    let r = app.request(Method::PUT, "/api/v1/admin/experts/me", Some(&expert), Some(&profile)).await;
    crate::helpers::expect_status(r, 201).await;
    let mut windows = Vec::new();
    for h in 0..6 {
        let s = start + chrono::Duration::hours(h);
        let body = json!({"event_id": stop_a, "starts_at": s.to_rfc3339(),
                          "ends_at": (s + chrono::Duration::hours(1)).to_rfc3339(), "slot_minutes": 30});
        let r = app.admin_post(&format!("/api/v1/admin/experts/{expert_id}/windows"), &body).await;
        windows.push(crate::helpers::expect_status(r, 201).await);
    }
    let window_a = windows[0]["id"].as_str().unwrap().to_string();
    let slot = windows[0]["slots"][0]["id"].as_str().unwrap().to_string();
    let windows_del = windows[1..].iter().map(|w| w["id"].as_str().unwrap().to_string()).collect();
    let booking = json!({"business": {"name": "Nail Studio", "email": "owner@nails.test", "state": "TX"},
                         "attendee": {"name": "Kim Lee", "email": "kim@nails.test"}, "question": "Ads?"});
    let r = app.post_json(&format!("/api/v1/expert-slots/{slot}/booking"), &booking).await;
    let booking_a = crate::helpers::expect_status(r, 201).await["id"].as_str().unwrap().to_string();
    // A window of 15-minute slots at hour 6, for the bookings each caller cancels.
    let s6 = start + chrono::Duration::hours(6);
    let body = json!({"event_id": stop_a, "starts_at": s6.to_rfc3339(),
                      "ends_at": (s6 + chrono::Duration::hours(1)).to_rfc3339(), "slot_minutes": 15});
    let r = app.admin_post(&format!("/api/v1/admin/experts/{expert_id}/windows"), &body).await;
    let w6 = crate::helpers::expect_status(r, 201).await;
    let mut spare: Vec<String> =
        w6["slots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    spare.push(windows[0]["slots"][1]["id"].as_str().unwrap().to_string());
    let mut bookings_del = Vec::new();
    for (i, slot) in spare.iter().enumerate().take(CALLERS.len()) {
        let body = json!({"business": {"name": format!("Shop {i}"), "email": format!("owner@shop{i}.test"), "state": "TX"},
                          "attendee": {"name": "Pat", "email": format!("pat@shop{i}.test")}});
        let r = app.post_json(&format!("/api/v1/expert-slots/{slot}/booking"), &body).await;
        bookings_del.push(crate::helpers::expect_status(r, 201).await["id"].as_str().unwrap().to_string());
    }
    // A's webhook endpoints (a public address: nothing is sent in this test), and a delivery.
    let mut hooks = Vec::new();
    for _ in 0..=CALLERS.len() {
        let body =
            json!({"url": "https://93.184.216.34/hook", "event_types": ["event.changed"], "organization_id": org_a});
        let r = app.admin_post("/api/v1/admin/webhooks", &body).await;
        hooks.push(crate::helpers::expect_status(r, 201).await["id"].as_str().unwrap().to_string());
    }
    let webhook_a = hooks.remove(0);
    let webhooks_del = hooks;
    let r = app.admin_patch(&format!("/api/v1/admin/events/{event_a}"), &json!({"title": "Grow online, again"})).await;
    crate::helpers::expect_status(r, 200).await;
    let delivery_a: String = {
        use diesel::prelude::*;
        use roadshow::db::schema::webhook_deliveries;
        let mut conn = app.db.get().unwrap();
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(&webhook_a))
            .select(webhook_deliveries::id)
            .first(&mut conn)
            .unwrap()
    };
    let resource_a = resource(app, &org_a).await;
    let resource_b = resource(app, &org_b).await;
    let mut resources_del = Vec::new();
    for _ in CALLERS {
        resources_del.push(resource(app, &org_a).await);
    }
    World {
        tokens: [Some(app.admin_token.clone()), Some(owner), Some(other), Some(expert), None],
        org_a,
        org_b,
        user_a,
        user_b,
        venue_a,
        venue_b,
        venue_shared_tx,
        user_a_tokens,
        event_a,
        event_b,
        cancel_a,
        registration_a,
        grant_a,
        webhook_a,
        delivery_a,
        webhooks_del,
        business_a,
        attendee_a,
        dead_email,
        expert: expert_id,
        stop_a,
        window_a,
        windows_del,
        booking_a,
        bookings_del,
        resource_a,
        resource_b,
        resources_del,
    }
}

async fn every_admin_endpoint_answers_each_caller_by_role_and_ownership(app: TestApp) {
    let w = world(&app).await;
    let mut failures = Vec::new();
    let mut covered = std::collections::HashSet::new();
    for case in cases() {
        covered.insert(format!("{} {}", case.method, route_of(&(case.path)(&w, Caller::Admin))));
        for (i, caller) in CALLERS.iter().enumerate() {
            let path = (case.path)(&w, *caller);
            let body = (case.body)(&w, *caller);
            let r = app.request(case.method.clone(), &path, w.token(*caller), body.as_ref()).await;
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            if status != case.expect[i] {
                failures.push(format!(
                    "{} {path} as {caller:?}: expected {}, got {status}: {text}",
                    case.method, case.expect[i]
                ));
            }
            let hidden = match caller {
                Caller::Other | Caller::Expert => w.ids_of_a(),
                Caller::Owner => w.ids_of_b(),
                _ => vec![],
            };
            for id in hidden {
                if text.contains(id) {
                    failures.push(format!("{} {path} as {caller:?} leaks {id}: {text}", case.method));
                }
            }
        }
    }
    // Every admin operation the OpenAPI document lists has a row here.
    let doc = crate::helpers::expect_status(app.get("/api/openapi.json").await, 200).await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let key = format!("{} {}", method.to_uppercase(), route_of(path));
            if !covered.contains(&key) {
                failures.push(format!("{key} is documented but has no row in the matrix"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

both_backends!(every_admin_endpoint_answers_each_caller_by_role_and_ownership);

async fn organizers_invite_and_manage_staff_of_their_own_organization_only(app: TestApp) {
    let org_a = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let org_b = app.create_org("National Federation", "federation", &[]).await;
    let (_, owner) = fixtures::staff(&app, "organizer", Some(&org_a)).await;
    let (user_b, _) = fixtures::staff(&app, "organizer", Some(&org_b)).await;
    let call = |method: Method, path: String, body: Option<Value>| {
        let owner = owner.clone();
        let app = &app;
        async move { app.request(method, &path, Some(&owner), body.as_ref()).await }
    };
    // Invited without naming an organization: lands in the inviter's.
    let r = call(
        Method::POST,
        "/api/v1/admin/users".into(),
        Some(json!({"email": "new@texas.test", "name": "New", "role": "organizer"})),
    )
    .await;
    let invited = crate::helpers::expect_status(r, 201).await;
    assert_eq!(invited["organization_id"], org_a);
    let id = invited["id"].as_str().unwrap().to_string();
    let r = call(Method::POST, format!("/api/v1/admin/users/{id}/tokens"), Some(json!({}))).await;
    let token = crate::helpers::expect_status(r, 201).await["token"].as_str().unwrap().to_string();
    let me = app.request(Method::GET, "/api/v1/admin/me", Some(&token), None).await;
    assert_eq!(crate::helpers::expect_status(me, 200).await["organization_id"], org_a);
    // Listing shows A's staff only.
    let r = call(Method::GET, "/api/v1/admin/users".into(), None).await;
    let list = crate::helpers::expect_status(r, 200).await;
    let orgs: Vec<&Value> = list["items"].as_array().unwrap().iter().map(|u| &u["organization_id"]).collect();
    assert!(orgs.len() >= 2 && orgs.iter().all(|o| **o == json!(org_a)), "{list}");
    // Roles stay with admins; deactivation stops the tokens at once.
    let r = call(Method::PATCH, format!("/api/v1/admin/users/{id}"), Some(json!({"organization_id": org_b}))).await;
    crate::helpers::expect_problem(r, 403, None).await;
    let r = call(Method::PATCH, format!("/api/v1/admin/users/{id}"), Some(json!({"active": false}))).await;
    assert_eq!(crate::helpers::expect_status(r, 200).await["active"], false);
    let me = app.request(Method::GET, "/api/v1/admin/me", Some(&token), None).await;
    crate::helpers::expect_problem(me, 401, None).await;
    // Another organization's user is invisible, whatever is tried.
    for (m, p) in [
        (Method::GET, format!("/api/v1/admin/users/{user_b}")),
        (Method::GET, format!("/api/v1/admin/users/{user_b}/tokens")),
    ] {
        crate::helpers::expect_problem(call(m, p, None).await, 404, None).await;
    }
    // Admins belong to no organization; organizers need one.
    let r = app
        .admin_post(
            "/api/v1/admin/users",
            &json!({"email": "x@y.test", "name": "X", "role": "admin", "organization_id": org_a}),
        )
        .await;
    crate::helpers::expect_problem(r, 422, Some("organization_id")).await;
    // A national organization (no states listed) may place venues anywhere.
    let (_, national) = fixtures::staff(&app, "organizer", Some(&org_b)).await;
    let r = app
        .request(
            Method::POST,
            "/api/v1/admin/venues",
            Some(&national),
            Some(&json!({"name": "Hall", "address": "1 Main", "city": "Boise", "state": "ID"})),
        )
        .await;
    crate::helpers::expect_status(r, 201).await;
    let r = call(
        Method::POST,
        "/api/v1/admin/venues".into(),
        Some(json!({"name": "Hall", "address": "1 Main", "city": "Boise", "state": "ID"})),
    )
    .await;
    crate::helpers::expect_problem(r, 422, Some("state")).await;
}

both_backends!(organizers_invite_and_manage_staff_of_their_own_organization_only);
