//! Public registration endpoints, the manage page, and the staff views of registrants.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{RegistrationRequest, EMPLOYEE_BANDS};
use super::queries::{self, Idempotency, Outcome};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::{from_db_time, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::mail::{html_escape, MailContext};
use crate::time::{human_local, local_string, utc_string};
use crate::validate::{self, Errors};

// ---------------------------------------------------------------------------------------------
// Wire types

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessIn {
    pub name: String,
    pub email: String,
    pub state: String,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttendeeIn {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationIn {
    pub business: BusinessIn,
    pub attendee: AttendeeIn,
    pub marketing_consent: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Links {
    pub manage_page: String,
    pub calendar: String,
}

#[derive(Debug, Serialize)]
pub struct EventSummary {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: String,
    pub starts_at_local: String,
    pub ends_at_local: String,
    pub when: String,
    pub location: Option<String>,
    /// Webinars only, and only while the registration is confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RegistrationOut {
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    pub attendee: Option<AttendeeOut>,
    pub business_name: String,
    pub event: EventSummary,
    pub created_at: String,
    pub cancelled_at: Option<String>,
    pub checked_in_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AttendeeOut {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    pub email: String,
}

/// The query of the manage page and its calendar link. Unknown parameters are ignored (unlike
/// every other query here): mail clients, link shorteners and trackers append `utm_source`,
/// `fbclid` and the like to the link in the email, and it must keep working.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrantsQuery {
    pub status: Option<String>,
    pub format: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn parse_request(input: &RegistrationIn) -> Result<RegistrationRequest, AppError> {
    let mut errs = Errors::new();
    let business_name = errs.take(validate::text("business.name", &input.business.name, 200));
    let business_email = errs.take(validate::email("business.email", &input.business.email));
    let business_state = errs.take(validate::state_code("business.state", &input.business.state));
    let industry =
        errs.take(validate::opt_text("business.industry", input.business.industry.as_deref(), 100)).flatten();
    let employees = match input.business.employees.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) if EMPLOYEE_BANDS.contains(&e) => Some(e.to_string()),
        Some(_) => {
            errs.push("business.employees", format!("must be one of {}", EMPLOYEE_BANDS.join(", ")));
            None
        }
    };
    let website = match input.business.website.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(w) => errs.take(validate::url("business.website", w)),
    };
    let attendee_name = errs.take(validate::text("attendee.name", &input.attendee.name, 200));
    let attendee_email = errs.take(validate::email("attendee.email", &input.attendee.email));
    errs.finish()?;
    Ok(RegistrationRequest {
        business_name: business_name.unwrap(),
        business_email: business_email.unwrap(),
        business_state: business_state.unwrap(),
        industry,
        employees,
        website,
        attendee_name: attendee_name.unwrap(),
        attendee_email: attendee_email.unwrap(),
        marketing_consent: input.marketing_consent,
    })
}

fn idempotency(
    req: &HttpRequest,
    parsed: &RegistrationRequest,
    ttl_hours: u32,
) -> Result<Option<Idempotency>, AppError> {
    let Some(v) = req.headers().get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::bad_field("Idempotency-Key", "must be 1-200 visible ASCII characters"));
    }
    let body = serde_json::to_vec(parsed).unwrap_or_default();
    Ok(Some(Idempotency {
        key: key.to_string(),
        request_hash: hex::encode(Sha256::digest(&body)),
        ttl: chrono::Duration::hours(i64::from(ttl_hours)),
    }))
}

fn links(config: &Config, id: &str, token: &str) -> Links {
    let base = config.public_url.trim_end_matches('/');
    Links {
        manage_page: format!("{base}/manage/{id}?token={token}"),
        calendar: format!("{base}/manage/{id}/calendar.ics?token={token}"),
    }
}

/// The manage token of an API request: `Authorization: Bearer <token>`.
fn manage_token(req: &HttpRequest) -> Result<String, AppError> {
    crate::auth::bearer_token(req).ok_or_else(|| AppError::not_found("no such registration"))
}

// ---------------------------------------------------------------------------------------------
// Public handlers

pub(crate) async fn create_registration(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<RegistrationIn>,
) -> Result<HttpResponse, AppError> {
    let event_id = parse_id("id", &path)?;
    let parsed = parse_request(&input)?;
    let idem = idempotency(&req, &parsed, config.idempotency_ttl_hours)?;
    let ctx = MailContext::from_config(&config);
    let (links_ctx, email) = (ctx.clone(), parsed.attendee_email.clone());
    let outcome = db.write_retrying(move |c| queries::register(c, &ctx, &event_id, &parsed, idem.as_ref())).await;
    let outcome = match outcome {
        Err(AppError::Conflict { existing_id: None, detail }) if detail == queries::ALREADY_REGISTERED => {
            // The unique index refused the insert (everything before it was rolled back). Name
            // nothing: the attendee is emailed their links instead (at most one such email per
            // address per ROADSHOW_LINKS_EMAIL_MINUTES, whoever asks).
            db.write(move |c| crate::mail::links_email(c, &links_ctx, &email)).await?;
            return Err(AppError::conflict(
                "this attendee is already registered for this event; we have emailed them the link to manage it",
            ));
        }
        other => other?,
    };
    let (created, status) = match outcome {
        Outcome::Created(c) => (c, actix_web::http::StatusCode::CREATED),
        Outcome::Replayed(c) => (c, actix_web::http::StatusCode::CREATED),
    };
    let mut body = serde_json::to_value(&created).map_err(|e| AppError::internal(e.to_string()))?;
    if let Some(token) = &created.manage_token {
        body["links"] = serde_json::to_value(links(&config, &created.id, token)).unwrap_or_default();
    }
    Ok(HttpResponse::build(status)
        .insert_header((header::LOCATION, format!("/api/v1/registrations/{}", created.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

fn render_registration(
    conn: &mut crate::db::DbConnection,
    reg: super::model::Registration,
) -> Result<RegistrationOut, AppError> {
    let e = crate::events::queries::find(conn, &reg.event_id)?.ok_or_else(|| AppError::internal("event missing"))?;
    // What this registrant typed: the stored business record is not theirs to see (anyone can
    // register with any business's email). Rows from before that rule have no typed name.
    let business_name = reg.business_name_given.clone().unwrap_or_default();
    let location = match &e.venue_id {
        Some(v) => crate::partners::queries::find_venue(conn, v)?
            .map(|v| format!("{}, {}, {}, {}", v.name, v.address, v.city, v.state_code)),
        None => Some("Online".to_string()),
    };
    let position = match reg.waitlist_ticket {
        Some(t) if reg.status == "waitlisted" => Some(queries::waitlist_position(conn, &reg.event_id, t)?),
        _ => None,
    };
    let tz = e.tz();
    let (s, en) = (from_db_time(e.starts_at), from_db_time(e.ends_at));
    let seated =
        matches!(reg.status.as_str(), "confirmed" | "attended") && e.status != crate::domain::EventStatus::Cancelled;
    Ok(RegistrationOut {
        id: reg.id,
        status: reg.status,
        waitlist_position: position,
        attendee: Some(AttendeeOut { name: reg.attendee_name, email: reg.attendee_email }),
        business_name,
        event: EventSummary {
            join_url: if e.kind == crate::domain::EventKind::Webinar && seated { e.join_url.clone() } else { None },
            id: e.id,
            kind: e.kind.to_string(),
            title: e.title,
            status: e.status.to_string(),
            starts_at: utc_string(s),
            ends_at: utc_string(en),
            starts_at_local: local_string(s, tz),
            ends_at_local: local_string(en, tz),
            when: human_local(s, tz),
            time_zone: e.time_zone,
            location,
        },
        created_at: utc_string(from_db_time(reg.created_at)),
        cancelled_at: reg.cancelled_at.map(|t| utc_string(from_db_time(t))),
        checked_in_at: reg.checked_in_at.map(|t| utc_string(from_db_time(t))),
    })
}

pub(crate) async fn get_registration(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let token = manage_token(&req)?;
    let out = db
        .read(move |c| {
            let reg =
                queries::find_by_token(c, &id, &token)?.ok_or_else(|| AppError::not_found("no such registration"))?;
            render_registration(c, reg)
        })
        .await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(out))
}

/// Cancels through a manage token; shared by the API and the HTML form.
async fn cancel_with_token(db: &Db, config: &Config, id: String, token: String) -> Result<RegistrationOut, AppError> {
    let ctx = MailContext::from_config(config);
    db.write_retrying(move |c| {
        let reg = queries::find_by_token(c, &id, &token)?.ok_or_else(|| AppError::not_found("no such registration"))?;
        let e = crate::events::queries::find(c, &reg.event_id)?.ok_or_else(|| AppError::internal("event missing"))?;
        if reg.status != "cancelled" && crate::db::now() >= e.starts_at {
            return Err(AppError::conflict("the event has already started"));
        }
        let reg = queries::cancel(c, &ctx, &id, true)?;
        render_registration(c, reg)
    })
    .await
}

pub(crate) async fn cancel_registration(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let token = manage_token(&req)?;
    let out = cancel_with_token(&db, &config, id, token).await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn ics_response(db: &Db, id: String, token: String) -> Result<HttpResponse, AppError> {
    let body = db
        .read(move |c| {
            queries::find_by_token(c, &id, &token)?.ok_or_else(|| AppError::not_found("no such registration"))?;
            crate::mail::ics::registration_calendar(c, &id)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"roadshow-event.ics\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

pub(crate) async fn calendar(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let token = manage_token(&req)?;
    ics_response(&db, id, token).await
}

pub(crate) async fn recover_links(
    db: web::Data<Db>,
    JsonBody(input): JsonBody<RecoverIn>,
) -> Result<HttpResponse, AppError> {
    let email = validate::email("email", &input.email).map_err(|e| AppError::Validation(vec![e]))?;
    // Queued, as privacy requests are: the same work and the same answer whether or not the
    // address is known. The worker sends one email listing every active registration, at most one
    // per address per ROADSHOW_LINKS_EMAIL_MINUTES.
    db.write(move |c| {
        crate::privacy::requests::queue(
            c,
            &email,
            crate::privacy::requests::Kind::Links,
            &crate::privacy::requests::Payload::default(),
        )
    })
    .await?;
    Ok(crate::privacy::handlers::accepted(
        "If this address has upcoming registrations, we are emailing it the links to manage them.",
    ))
}

// ---------------------------------------------------------------------------------------------
// The manage page (server-rendered HTML; works without JavaScript)

/// A small server-rendered page (no JavaScript; strict CSP), shared by the manage and privacy pages.
pub fn html_page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title} · Roadshow</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         dt{{font-weight:600}}dd{{margin:0 0 .75rem 0}}button{{font-size:1rem;padding:.5rem 1rem}}\
         .status{{font-weight:700}}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        title = html_escape(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Frame-Options", "DENY"))
        .body(page)
}

fn not_found_page() -> HttpResponse {
    html_page(
        actix_web::http::StatusCode::NOT_FOUND,
        "Registration not found",
        "<h1>Registration not found</h1>\n<p>This link is not valid. Use the newest email we sent you, \
         or ask for new links.</p>",
    )
}

fn render_manage(r: &RegistrationOut, id: &str, token: &str, message: Option<&str>) -> String {
    let t = html_escape(token);
    let id = html_escape(id);
    let mut body = format!("<h1>{}</h1>\n", html_escape(&r.event.title));
    if let Some(m) = message {
        body.push_str(&format!("<p role=\"status\">{}</p>\n", html_escape(m)));
    }
    let status = match (r.status.as_str(), r.waitlist_position) {
        ("waitlisted", Some(p)) => format!("On the waitlist (position {p})"),
        ("confirmed", _) => "Confirmed".to_string(),
        ("attended", _) => "Attended".to_string(),
        ("cancelled", _) => "Cancelled".to_string(),
        (other, _) => other.to_string(),
    };
    body.push_str("<dl>\n");
    body.push_str(&format!("<dt>Status</dt><dd class=\"status\">{}</dd>\n", html_escape(&status)));
    if r.event.status == "cancelled" {
        body.push_str("<dt>Event</dt><dd>This event has been cancelled by the organizers.</dd>\n");
    }
    body.push_str(&format!(
        "<dt>When</dt><dd><time datetime=\"{}\">{}</time></dd>\n",
        html_escape(&r.event.starts_at),
        html_escape(&r.event.when)
    ));
    if let Some(l) = &r.event.location {
        body.push_str(&format!("<dt>Where</dt><dd>{}</dd>\n", html_escape(l)));
    }
    if let Some(j) = &r.event.join_url {
        body.push_str(&format!("<dt>Join online</dt><dd><a href=\"{0}\">{0}</a></dd>\n", html_escape(j)));
    }
    if let Some(a) = &r.attendee {
        body.push_str(&format!(
            "<dt>Attendee</dt><dd>{}</dd>\n",
            html_escape(a.name.as_deref().unwrap_or("(removed)"))
        ));
    }
    body.push_str(&format!("<dt>Business</dt><dd>{}</dd>\n</dl>\n", html_escape(&r.business_name)));
    if matches!(r.status.as_str(), "confirmed" | "waitlisted") && r.event.status != "cancelled" {
        body.push_str(&format!(
            "<p><a href=\"/manage/{id}/calendar.ics?token={t}\">Add to calendar (.ics)</a></p>\n\
             <form method=\"post\" action=\"/manage/{id}/cancel\">\n\
             <input type=\"hidden\" name=\"token\" value=\"{t}\">\n\
             <button type=\"submit\">Cancel my registration</button>\n</form>\n"
        ));
    }
    body
}

pub(crate) async fn manage_page(
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let (Ok(id), Some(token)) = (parse_id("id", &path), q.token) else { return Ok(not_found_page()) };
    let (id2, token2) = (id.clone(), token.clone());
    let found = db
        .read(move |c| match queries::find_by_token(c, &id2, &token2)? {
            Some(reg) => render_registration(c, reg).map(Some),
            None => Ok(None),
        })
        .await?;
    Ok(match found {
        Some(r) => {
            html_page(actix_web::http::StatusCode::OK, &r.event.title.clone(), &render_manage(&r, &id, &token, None))
        }
        None => not_found_page(),
    })
}

#[derive(Debug, Deserialize)]
struct CancelForm {
    token: String,
}

pub(crate) async fn manage_cancel(
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Ok(id) = parse_id("id", &path) else { return Ok(not_found_page()) };
    let Ok(form) = serde_urlencoded::from_bytes::<CancelForm>(&body) else { return Ok(not_found_page()) };
    match cancel_with_token(&db, &config, id.clone(), form.token.clone()).await {
        Ok(r) => Ok(html_page(
            actix_web::http::StatusCode::OK,
            &r.event.title.clone(),
            &render_manage(
                &r,
                &id,
                &form.token,
                Some("Your registration is cancelled. We have emailed you a confirmation."),
            ),
        )),
        Err(AppError::NotFound(_)) => Ok(not_found_page()),
        Err(AppError::Conflict { detail, .. }) => Ok(html_page(
            actix_web::http::StatusCode::CONFLICT,
            "Cannot cancel",
            &format!("<h1>Cannot cancel</h1>\n<p>{}</p>", html_escape(&detail)),
        )),
        Err(e) => Err(e),
    }
}

pub(crate) async fn manage_calendar(
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let token = q.token.ok_or_else(|| AppError::not_found("no such registration"))?;
    ics_response(&db, id, token).await
}

// ---------------------------------------------------------------------------------------------
// Staff

pub(crate) async fn list_registrants(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<RegistrantsQuery>,
) -> Result<HttpResponse, AppError> {
    let event_id = parse_id("id", &path)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) if ["confirmed", "waitlisted", "cancelled", "attended"].contains(&s) => Some(s.to_string()),
        Some(_) => return Err(AppError::bad_field("status", "must be confirmed, waitlisted, cancelled or attended")),
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::bad_field("format", "must be json or csv")),
    };
    let limit = if csv { i64::MAX / 2 } else { page_limit(q.limit)? };
    let after: Option<(chrono::NaiveDateTime, String)> =
        if csv { None } else { q.cursor.as_deref().map(decode_cursor).transpose()? };
    let (event_title, mut rows, positions) = db
        .read(move |c| {
            let e = crate::events::queries::find_for_actor(c, &actor, &event_id)?
                .ok_or_else(|| AppError::not_found("no such event"))?;
            let rows = queries::registrants(c, &event_id, status.as_deref(), after, limit.saturating_add(1))?;
            // Waitlist positions: rank of each waitlisted ticket.
            let mut tickets: Vec<i64> = crate::db::schema::registrations::table
                .filter(crate::db::schema::registrations::event_id.eq(&event_id))
                .filter(crate::db::schema::registrations::status.eq("waitlisted"))
                .select(crate::db::schema::registrations::waitlist_ticket)
                .load::<Option<i64>>(c)?
                .into_iter()
                .flatten()
                .collect();
            tickets.sort_unstable();
            Ok((e.title, rows, tickets))
        })
        .await?;
    let position = |r: &queries::Registrant| match (r.status.as_str(), r.waitlist_ticket) {
        ("waitlisted", Some(t)) => positions.binary_search(&t).ok().map(|i| i as i64 + 1),
        _ => None,
    };
    if csv {
        let mut out = String::from(
            "registration_id,status,waitlist_position,attendee_name,attendee_email,business_name,business_state,industry,employees,registered_at,checked_in_at\r\n",
        );
        for r in &rows {
            let fields = [
                r.id.clone(),
                r.status.clone(),
                position(r).map(|p| p.to_string()).unwrap_or_default(),
                r.attendee_name.clone().unwrap_or_default(),
                r.attendee_email.clone().unwrap_or_default(),
                r.business_name.clone(),
                r.business_state.clone().unwrap_or_default(),
                r.industry.clone().unwrap_or_default(),
                r.employees.clone().unwrap_or_default(),
                utc_string(from_db_time(r.created_at)),
                r.checked_in_at.map(|t| utc_string(from_db_time(t))).unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        let filename: String =
            event_title.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"registrants-{filename}.csv\""),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(out));
    }
    let next = next_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["waitlist_position"] = serde_json::json!(position(r));
            v["registered_at"] = serde_json::json!(utc_string(from_db_time(r.created_at)));
            v["checked_in_at"] = serde_json::json!(r.checked_in_at.map(|t| utc_string(from_db_time(t))));
            v
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Page { items, next_cursor: next }))
}

/// One CSV field (RFC 4180 quoting), defused against formula injection.
///
/// A cell gets a leading apostrophe (which spreadsheets show as "text follows") when it:
/// - starts with `=`, `+`, `-`, `@`, a tab or a carriage return (Excel, LibreOffice and Google
///   Sheets may run such a cell as a formula), or
/// - contains `;` followed by one of those characters, or contains a tab or a carriage return
///   anywhere: a spreadsheet opened with `;` (or tab) as the separator splits the cell there, and
///   the piece after the separator would start with a formula character.
///
/// Stored text holds no control characters (`validate`), so tabs and CRs come only from older data.
fn csv_field(value: &str) -> String {
    const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    let risky = value.starts_with(FORMULA)
        || value.contains(['\t', '\r'])
        || value.split(';').skip(1).any(|piece| piece.trim_start_matches(' ').starts_with(FORMULA));
    let v = if risky { format!("'{value}") } else { value.to_string() };
    if v.contains([',', '"', '\r', '\n', '\t', ';']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

use diesel::prelude::*;

pub(crate) async fn check_in(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let reg = db.write(move |c| queries::check_in(c, &actor, &id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": reg.id,
        "status": reg.status,
        "checked_in_at": reg.checked_in_at.map(|t| utc_string(from_db_time(t))),
    })))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        for lead in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_field(lead).starts_with("'") || csv_field(lead).starts_with("\"'"), "{lead:?}");
        }
    }

    #[test]
    fn csv_fields_that_become_formulas_after_a_semicolon_split_are_defused() {
        // Opened with `;` as the separator, these cells split and a piece starts a formula.
        assert_eq!(csv_field("Tacos;=HYPERLINK(\"http://x\")"), "\"'Tacos;=HYPERLINK(\"\"http://x\"\")\"");
        for risky in ["a;+1", "a;-1", "a;@x", "a; =1", "a;b;=c", "a\tb", "a\rb"] {
            assert!(csv_field(risky).starts_with("\"'"), "{risky:?} -> {}", csv_field(risky));
        }
        // A semicolon followed by ordinary text is left alone (quoted, so it stays one cell).
        assert_eq!(csv_field("Smith; Jones & Co"), "\"Smith; Jones & Co\"");
        assert_eq!(csv_field("2-9"), "2-9", "a dash inside is no formula");
    }
}
