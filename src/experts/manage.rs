//! A booking through its manage token: the API (`/api/v1/expert-bookings/{id}`, token in
//! `Authorization: Bearer`, checked by [`booking_gate`] before the body is read) and the HTML page
//! the emails link to (`/manage/expert-bookings/{id}?token=…`): see it, add it to a calendar,
//! cancel it, move it to another open slot.
//!
//! As with registrations, a token that does not match, an id that names nothing, and a booking
//! of someone else are the same 404.
//!
//! The page speaks the language stored with the booking unless `?lang=` (or the cancel form's
//! `lang`) names one; the "not valid" page follows `?lang=`, else `Accept-Language`.

use std::future::{ready, Ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use super::mail::{calendar_entry, facts, Facts};
use super::queries;
use super::wire::{BookingOut, ExpertOut, MoveIn, Times};
use crate::config::Config;
use crate::db::{Db, DbConnection};
use crate::domain::BookingStatus;
use crate::error::AppError;
use crate::http::{parse_id, JsonBody, QueryParams};
use crate::i18n::{self, Language};
use crate::mail::MailContext;
use crate::openapi::problems::{Manage, PublicRead, PublicWrite};
use crate::pages;
use crate::registrations::wire::{CancelFormIn, TokenQuery};

/// What a valid manage token proved: it opens this booking.
#[derive(Debug, Clone)]
pub struct BookingAccess {
    pub booking_id: String,
}

fn no_such_booking() -> AppError {
    AppError::not_found("no such booking, or the token does not match it")
}

/// Gate of `/api/v1/expert-bookings/{id}`: no token is a 401, an id that is not a UUID a 400, a
/// token that does not open the booking a 404.
pub async fn booking_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let raw = req.match_info().get("id").unwrap_or_default().to_string();
    match check(req.request(), raw).await {
        Ok(access) => {
            req.extensions_mut().insert(access);
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

async fn check(req: &HttpRequest, raw: String) -> Result<BookingAccess, AppError> {
    let token = crate::auth::bearer_token(req).ok_or_else(|| {
        AppError::Unauthorized("send the booking's manage token as `Authorization: Bearer <token>`".into())
    })?;
    let id = parse_id("id", &raw)?;
    let db =
        req.app_data::<web::Data<Db>>().cloned().ok_or_else(|| AppError::internal("database missing from app data"))?;
    let checked = id.clone();
    if db.run(move |c| queries::token_matches(c, &checked, &token)).await? {
        Ok(BookingAccess { booking_id: id })
    } else {
        Err(no_such_booking())
    }
}

impl FromRequest for BookingAccess {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<BookingAccess>()
                .cloned()
                .ok_or_else(|| AppError::internal("a booking handler is wired outside its scope (no gate ran)")),
        )
    }
}

/// The booking as its holder sees it.
pub(super) fn out(conn: &mut DbConnection, f: &Facts) -> Result<BookingOut, AppError> {
    let b = &f.booking;
    let profile =
        queries::find_profile(conn, &b.expert_id)?.ok_or_else(|| AppError::internal("expert profile vanished"))?;
    Ok(BookingOut {
        id: b.id.clone(),
        status: b.status,
        slot_id: b.slot_id.clone(),
        event_id: b.event_id.clone(),
        event_title: f.event_title.clone(),
        times: Times::new(b.starts_at, b.ends_at, f.zone.name()),
        location: f.location(),
        meeting_url: f.join_url(),
        expert: ExpertOut::from(&profile),
        attendee_name: b.attendee_name.clone(),
        attendee_email: b.attendee_email.clone(),
        question: b.question.clone(),
        topic: b.topic.clone(),
        accommodation: crate::accommodations::queries::of_owner(
            conn,
            crate::accommodations::queries::Owner::Booking(&b.id),
        )?,
    })
}

async fn view(db: &Db, id: String) -> Result<BookingOut, AppError> {
    Ok(view_in(db, id).await?.0)
}

/// The booking as its holder sees it, and the language stored with it.
async fn view_in(db: &Db, id: String) -> Result<(BookingOut, Language), AppError> {
    db.read(move |c| {
        let f = facts(c, &id)?.ok_or_else(no_such_booking)?;
        Ok((out(c, &f)?, f.booking.language))
    })
    .await
}

async fn cancel(db: &Db, config: &Config, id: String) -> Result<BookingOut, AppError> {
    Ok(cancel_in(db, config, id).await?.0)
}

/// [`cancel`], with the language stored with the booking.
async fn cancel_in(db: &Db, config: &Config, id: String) -> Result<(BookingOut, Language), AppError> {
    let ctx = MailContext::from_config(config);
    db.write_retrying(move |c| {
        queries::cancel_booking(c, &ctx, &id, None, true)?;
        let f = facts(c, &id)?.ok_or_else(no_such_booking)?;
        Ok((out(c, &f)?, f.booking.language))
    })
    .await
}

async fn calendar_answer(db: &Db, config: &Config, id: String) -> Result<HttpResponse, AppError> {
    let ctx = MailContext::from_config(config);
    let body = db
        .read(move |c| {
            let f = facts(c, &id)?.ok_or_else(no_such_booking)?;
            Ok(crate::mail::ics::render(&calendar_entry(&ctx, &f, false, false)))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"roadshow-session.ics\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// An expert booking, with its expert and time.
#[utoipa::path(
    get,
    path = "/api/v1/expert-bookings/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "The booking", body = BookingOut), Manage)
)]
pub(crate) async fn get_booking(access: BookingAccess, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(view(&db, access.booking_id).await?))
}

/// Cancel an expert booking: its slot opens again at once.
///
/// The business and the expert are emailed (with a calendar cancellation). Refused once the
/// session has started (409); cancelling again answers with the cancelled booking.
#[utoipa::path(
    delete,
    path = "/api/v1/expert-bookings/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "Cancelled", body = BookingOut), Manage)
)]
pub(crate) async fn cancel_booking(
    access: BookingAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(cancel(&db, &config, access.booking_id).await?))
}

/// Move an expert booking to another open slot.
///
/// To a slot of the same or another expert at the same stop (or online, for an online session), in
/// one step: the new slot is won first, and only then is the old one let go, so a lost race (409)
/// leaves the booking where it was. The business and the expert(s) are emailed; the invite keeps
/// its UID with a higher SEQUENCE.
#[utoipa::path(
    post,
    path = "/api/v1/expert-bookings/{id}/move",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    request_body(content = MoveIn, example = json!({"slot_id": "0b8e5c2a-6f1d-4c3e-9a7b-2d4f6e8a0c1b"})),
    security(("manage_token" = [])),
    responses((status = 200, description = "Moved", body = BookingOut), Manage)
)]
pub(crate) async fn move_booking(
    access: BookingAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
    JsonBody(input): JsonBody<MoveIn>,
) -> Result<HttpResponse, AppError> {
    let slot = crate::validate::uuid("slot_id", &input.slot_id).map_err(|e| AppError::Validation(vec![e]))?;
    let token = input.registration_token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let ctx = MailContext::from_config(&config);
    let (id, limit) = (access.booking_id, config.expert_bookings_per_business);
    let moved = db
        .write_retrying(move |c| {
            queries::move_booking(c, &ctx, limit, &id, &slot, token.as_deref())?;
            let f = facts(c, &id)?.ok_or_else(no_such_booking)?;
            out(c, &f)
        })
        .await?;
    Ok(HttpResponse::Ok().json(moved))
}

/// The booking's calendar entry.
#[utoipa::path(
    get,
    path = "/api/v1/expert-bookings/{id}/calendar.ics",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    security(("manage_token" = [])),
    responses((status = 200, description = "The calendar entry", content_type = "text/calendar", body = String), Manage)
)]
pub(crate) async fn calendar(
    access: BookingAccess,
    db: web::Data<Db>,
    config: web::Data<Config>,
) -> Result<HttpResponse, AppError> {
    calendar_answer(&db, &config, access.booking_id).await
}

// ---------------------------------------------------------------------------------------------
// The HTML page

#[derive(Serialize)]
struct PageView<'a> {
    lang: Language,
    title: &'a str,
    message: Option<&'a str>,
    status: &'a str,
    expert: &'a str,
    starts_at: &'a str,
    when: &'a str,
    location: &'a str,
    meeting_url: Option<&'a str>,
    question: Option<&'a str>,
    attendee: &'a str,
    can_cancel: bool,
    id: &'a str,
    token: &'a str,
}

/// The booking's page in `lang`; `message` is a message key.
fn page_of(b: &BookingOut, lang: Language, token: &str, message: Option<&str>) -> Result<HttpResponse, AppError> {
    let status = i18n::text(
        lang,
        match b.status {
            BookingStatus::Booked => "page.status.booked",
            BookingStatus::Cancelled => "page.status.cancelled",
            BookingStatus::Attended => "page.status.attended",
            BookingStatus::NoShow => "page.status.no_show",
        },
    );
    let expert = &b.expert.display_name;
    let title = match &b.event_title {
        Some(t) => i18n::format(lang, "page.session_title", &[("expert", expert), ("event", t)]),
        None => i18n::format(lang, "page.session_title_online", &[("expert", expert)]),
    };
    let when = pages::when(lang, &b.times.starts_at, &b.times.time_zone, &b.times.when);
    let location = if b.event_id.is_none() { i18n::text(lang, "page.online") } else { &b.location };
    pages::render(
        StatusCode::OK,
        "booking.html",
        PageView {
            lang,
            title: &title,
            message: message.map(|k| i18n::text(lang, k)),
            status,
            expert,
            starts_at: &b.times.starts_at,
            when: &when,
            location,
            meeting_url: b.meeting_url.as_deref(),
            question: b.question.as_deref(),
            attendee: b.attendee_name.as_deref().unwrap_or(i18n::text(lang, "page.removed")),
            can_cancel: b.status == BookingStatus::Booked,
            id: &b.id,
            token,
        },
    )
}

fn not_found_page(lang: Language) -> Result<HttpResponse, AppError> {
    pages::message_of(StatusCode::NOT_FOUND, lang, "page.session_not_found", &["page.session_not_found_text"])
}

async fn opened(db: &Db, raw_id: &str, token: Option<String>) -> Result<Option<(String, String)>, AppError> {
    let (Ok(id), Some(token)) = (parse_id("id", raw_id), token) else { return Ok(None) };
    let (checked, presented) = (id.clone(), token.clone());
    let ok = db.read(move |c| queries::token_matches(c, &checked, &presented)).await?;
    Ok(ok.then_some((id, token)))
}

/// The booking's page (HTML): the session, a calendar link and a cancel form.
#[utoipa::path(
    get,
    path = "/manage/expert-bookings/{id}",
    tag = "experts",
    params(("id" = String, Path, description = "The booking."), TokenQuery),
    responses(
        PublicRead,
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "The link is not valid (a page saying so)", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn booking_page(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let lost = || not_found_page(pages::language(&req, q.lang.as_deref()));
    let Some((id, token)) = opened(&db, &path, q.token.clone()).await? else { return lost() };
    match view_in(&db, id).await {
        Ok((b, stored)) => page_of(&b, i18n::chosen(q.lang.as_deref()).unwrap_or(stored), &token, None),
        Err(AppError::NotFound(_)) => lost(),
        Err(e) => Err(e),
    }
}

/// The booking page's cancel form (HTML answer).
#[utoipa::path(
    post,
    path = "/manage/expert-bookings/{id}/cancel",
    tag = "experts",
    params(("id" = String, Path, description = "The booking.")),
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
pub(crate) async fn page_cancel(
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
    match cancel_in(&db, &config, id.clone()).await {
        Ok((b, stored)) => page_of(&b, chosen.unwrap_or(stored), &token, Some("page.session_cancelled")),
        Err(AppError::NotFound(_)) => lost(),
        Err(AppError::Conflict { .. }) => {
            // The reason in the booking's language (the API's detail is English).
            let lang = match chosen {
                Some(l) => l,
                None => view_in(&db, id).await.map(|(_, l)| l).unwrap_or_default(),
            };
            pages::message_of(StatusCode::CONFLICT, lang, "page.cannot_cancel", &["page.cannot_cancel_session"])
        }
        Err(e) => Err(e),
    }
}

/// The booking's calendar entry, from the page's link (token in the query).
#[utoipa::path(
    get,
    path = "/manage/expert-bookings/{id}/calendar.ics",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking."), TokenQuery),
    responses((status = 200, description = "The calendar entry", content_type = "text/calendar", body = String), PublicRead)
)]
pub(crate) async fn page_calendar(
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    parse_id("id", &path)?;
    let (id, _) = opened(&db, &path, q.token).await?.ok_or_else(|| AppError::not_found("no such booking"))?;
    calendar_answer(&db, &config, id).await
}
