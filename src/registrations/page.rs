//! The manage page (`/manage/{id}?token=…`), the page every registration email links to: see the
//! registration, add it to a calendar, cancel it, with no JavaScript (a form posts the cancel).
//!
//! The token is in the link, so this scope has no gate: each handler checks the token against
//! `{id}` itself ([`crate::auth::manage::business_for_manage_token`], the gate's own check). A
//! wrong token, a malformed id or no token at all is the same "not found" page, so nothing can be
//! probed. Pages are rendered from `src/pages/templates/manage.html` ([`crate::pages`]), in the
//! language stored with the registration unless `?lang=` (or the cancel form's `lang`) names one;
//! a page about no registration (the link is not valid) follows `?lang=`, else `Accept-Language`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::manage::{calendar_answer, cancel, view};
use super::wire::{CancelFormIn, RegistrationOut, TokenQuery};
use crate::config::Config;
use crate::db::Db;
use crate::domain::{EventStatus, RegistrationStatus};
use crate::error::AppError;
use crate::http::{parse_id, QueryParams};
use crate::i18n::{self, Language};
use crate::openapi::problems::{PublicRead, PublicWrite};
use crate::pages;

/// What `manage.html` shows.
#[derive(Serialize)]
struct ManageView<'a> {
    lang: Language,
    title: &'a str,
    message: Option<&'a str>,
    status: String,
    event_cancelled: bool,
    starts_at: &'a str,
    when: &'a str,
    location: Option<&'a str>,
    join_url: Option<&'a str>,
    attendee: &'a str,
    business: &'a str,
    can_cancel: bool,
    id: &'a str,
    token: &'a str,
    /// The attendee's one-to-one sessions with experts at this stop (each has its own page, linked
    /// from its own emails).
    sessions: &'a [Session],
}

/// A booked expert session, as the registration's page lists it.
#[derive(Serialize)]
pub(super) struct Session {
    expert: String,
    when: String,
}

/// The attendee's booked expert sessions at the registration's event, their times for a reader
/// of `lang`.
async fn sessions_of(db: &crate::db::Db, r: &RegistrationOut, lang: Language) -> Result<Vec<Session>, AppError> {
    let Some(email) = r.attendee.email.clone() else { return Ok(Vec::new()) };
    let event = r.event.id.clone();
    let rows = db.read(move |c| crate::experts::queries::sessions_at(c, &event, &email)).await?;
    Ok(rows
        .into_iter()
        .map(|(expert, starts_at, zone)| Session {
            expert,
            when: i18n::human_local(lang, crate::db::from_db_time(starts_at), zone.parse().unwrap_or(chrono_tz::UTC)),
        })
        .collect())
}

/// The manage page in `lang`; `message` is a message key.
fn manage_page_of(
    r: &RegistrationOut,
    lang: Language,
    token: &str,
    message: Option<&str>,
    sessions: &[Session],
) -> Result<HttpResponse, AppError> {
    let status = match (r.status, r.waitlist_position) {
        (RegistrationStatus::Waitlisted, Some(p)) => {
            i18n::format(lang, "page.status.waitlisted_at", &[("position", &p)])
        }
        (RegistrationStatus::Waitlisted, None) => i18n::text(lang, "page.status.waitlisted").to_string(),
        (RegistrationStatus::Confirmed, _) => i18n::text(lang, "page.status.confirmed").to_string(),
        (RegistrationStatus::Attended, _) => i18n::text(lang, "page.status.attended").to_string(),
        (RegistrationStatus::Cancelled, _) => i18n::text(lang, "page.status.cancelled").to_string(),
    };
    let event_cancelled = r.event.status == EventStatus::Cancelled;
    let when = crate::pages::when(lang, &r.event.starts_at, &r.event.time_zone, &r.event.when);
    let location = match r.event.kind {
        crate::domain::EventKind::Webinar => r.event.location.as_ref().map(|_| i18n::text(lang, "page.online")),
        crate::domain::EventKind::RoadshowStop => r.event.location.as_deref(),
    };
    let view = ManageView {
        lang,
        title: &r.event.title,
        message: message.map(|k| i18n::text(lang, k)),
        status,
        event_cancelled,
        starts_at: &r.event.starts_at,
        when: &when,
        location,
        join_url: r.event.join_url.as_deref(),
        attendee: r.attendee.name.as_deref().unwrap_or(i18n::text(lang, "page.removed")),
        business: &r.business_name,
        can_cancel: matches!(r.status, RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted)
            && !event_cancelled,
        id: &r.id,
        token,
        sessions,
    };
    pages::render(StatusCode::OK, "manage.html", view)
}

fn not_found_page(lang: Language) -> Result<HttpResponse, AppError> {
    pages::message_of(StatusCode::NOT_FOUND, lang, "page.registration_not_found", &["page.registration_not_found_text"])
}

/// The registration id and the token when `token` opens registration `raw_id`; `None` for
/// anything else.
async fn opened(db: &Db, raw_id: &str, token: Option<String>) -> Result<Option<(String, String)>, AppError> {
    let (Ok(id), Some(token)) = (parse_id("id", raw_id), token) else { return Ok(None) };
    let (checked, presented) = (id.clone(), token.clone());
    let business = db.read(move |c| crate::auth::manage::business_for_manage_token(c, &checked, &presented)).await?;
    Ok(business.map(|_| (id, token)))
}

/// The manage page (HTML): the registration, a calendar link and a cancel form.
#[utoipa::path(
    get,
    path = "/manage/{id}",
    tag = "registrations",
    params(("id" = String, Path, description = "The registration."), TokenQuery),
    responses(
        PublicRead,
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "The link is not valid (a page saying so)", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn manage_page(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let chosen = i18n::chosen(q.lang.as_deref());
    let lost = || not_found_page(pages::language(&req, q.lang.as_deref()));
    let Some((id, token)) = opened(&db, &path, q.token.clone()).await? else { return lost() };
    match view(&db, id).await {
        Ok(r) => {
            let lang = chosen.unwrap_or(r.language);
            let sessions = sessions_of(&db, &r, lang).await?;
            manage_page_of(&r, lang, &token, None, &sessions)
        }
        Err(AppError::NotFound(_)) => lost(),
        Err(e) => Err(e),
    }
}

/// The manage page's cancel form (HTML answer).
///
/// Cancels as `DELETE /api/v1/registrations/{id}` does and shows the page again; a registration
/// that cannot be cancelled any more gets a page saying why (409).
#[utoipa::path(
    post,
    path = "/manage/{id}/cancel",
    tag = "registrations",
    params(("id" = String, Path, description = "The registration.")),
    request_body(
        content = CancelFormIn,
        content_type = "application/x-www-form-urlencoded",
        example = json!({"token": "rsm_3q2…"})
    ),
    responses(
        PublicWrite,
        (status = 200, description = "Cancelled: the page again", content_type = "text/html", body = String),
        (status = 404, description = "The link is not valid (a page saying so)", content_type = "text/html", body = String),
        (status = 409, description = "It cannot be cancelled any more (a page saying why)", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn manage_cancel(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let Some(form) = pages::read_form::<CancelFormIn>(&req, payload).await? else {
        return not_found_page(pages::language(&req, None));
    };
    let chosen = i18n::chosen(form.lang.as_deref());
    let lost = || not_found_page(pages::language(&req, form.lang.as_deref()));
    let Some((id, token)) = opened(&db, &path, Some(form.token.clone())).await? else { return lost() };
    match cancel(&db, &config, id.clone()).await {
        Ok(r) => {
            let lang = chosen.unwrap_or(r.language);
            let sessions = sessions_of(&db, &r, lang).await?;
            manage_page_of(&r, lang, &token, Some("page.registration_cancelled"), &sessions)
        }
        Err(AppError::NotFound(_)) => lost(),
        Err(AppError::Conflict { .. }) => {
            // The reason in the registration's language (the API's detail is English).
            let lang = match chosen {
                Some(l) => l,
                None => view(&db, id).await.map(|r| r.language).unwrap_or_default(),
            };
            pages::message_of(StatusCode::CONFLICT, lang, "page.cannot_cancel", &["page.cannot_cancel_registration"])
        }
        Err(e) => Err(e),
    }
}

/// The registration's calendar entry, from the manage page's link (token in the query).
#[utoipa::path(
    get,
    path = "/manage/{id}/calendar.ics",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration."), TokenQuery),
    responses(
        (status = 200, description = "The calendar entry", content_type = "text/calendar", body = String),
        PublicRead,
    )
)]
pub(crate) async fn manage_calendar(
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    // A malformed id is a 400 here, as on the API (this answer is no page).
    parse_id("id", &path)?;
    let (id, _) = opened(&db, &path, q.token).await?.ok_or_else(|| AppError::not_found("no such registration"))?;
    calendar_answer(&db, &config, id).await
}
