//! The staff event endpoints under `/api/v1/admin/events`: list, read, create, change, publish,
//! cancel. The staff gate has checked the token before any of these runs; each query is scoped to
//! the actor ([`crate::auth::scope`]: an event out of reach is a 404, and experts get a 403).
//! The transactions themselves are in [`super::lifecycle`] and [`super::patch`].

use actix_web::{web, HttpResponse};
use serde::de::IgnoredAny;

use super::render::{self, Cursor};
use super::wire::{AdminEventListQuery, AdminEventOut, EventIn, EventPatch};
use super::{lifecycle, parse, patch, queries};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{decode_cursor, page_limit, parse_id, JsonBody, MaybeJson, Page, QueryParams};
use crate::mail::MailContext;
use crate::openapi::problems::Staff;

/// Events the caller may manage, drafts included, by start time.
///
/// A national admin sees every event; an organizer those its organization hosts.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events",
    tag = "events",
    params(AdminEventListQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of events.", body = Page<AdminEventOut>), Staff)
)]
pub(crate) async fn list_admin_events(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<AdminEventListQuery>,
) -> Result<web::Json<Page<AdminEventOut>>, AppError> {
    let (q, status) = q.split();
    let limit = page_limit(q.limit)?;
    let filter = parse::admin_filter(&q, status.as_deref())?;
    let after: Option<Cursor> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = db
        .read(move |c| {
            let rows = queries::list_admin(c, &actor, &filter, after, limit + 1)?;
            render::admin_page(c, &actor, rows, limit)
        })
        .await?;
    Ok(web::Json(page))
}

/// One event with what only staff see.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{id}",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The event.", body = AdminEventOut), Staff)
)]
pub(crate) async fn get_admin_event(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<AdminEventOut>, AppError> {
    let id = parse_id("id", &path)?;
    let out = db
        .read(move |c| {
            let e = queries::find_for_actor(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
            render::admin_one(c, &actor, e)
        })
        .await?;
    Ok(web::Json(out))
}

/// Schedules an event, as a draft.
///
/// A 422 names every bad field. An organizer's event is hosted by its own organization, in a state
/// it covers.
#[utoipa::path(
    post,
    path = "/api/v1/admin/events",
    tag = "events",
    request_body = EventIn,
    security(("staff_token" = [])),
    responses((status = 201, description = "The new draft.", body = AdminEventOut), Staff)
)]
pub(crate) async fn create_event(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<EventIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let draft = parse::event_in(input)?;
    let out = db
        .write(move |c| {
            let e = lifecycle::create(c, &actor, draft)?;
            render::admin_one(c, &actor, e)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Changes an event.
///
/// Absent fields stay as they are. A new time or place of a published event emails every active
/// registrant an updated invite. A cancelled or completed event cannot be changed (409), nor can
/// capacity go below the confirmed registrations (409).
#[utoipa::path(
    patch,
    path = "/api/v1/admin/events/{id}",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    request_body = EventPatch,
    security(("staff_token" = [])),
    responses((status = 200, description = "The event after the change.", body = AdminEventOut), Staff)
)]
pub(crate) async fn update_event(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<EventPatch>,
) -> Result<web::Json<AdminEventOut>, AppError> {
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            let e = patch::apply(c, &actor, &ctx, &id, input)?;
            render::admin_one(c, &actor, e)
        })
        .await?;
    Ok(web::Json(out))
}

/// Publishes a draft.
///
/// Publishing a published event answers it unchanged; a cancelled, completed or ended one is a
/// 409. Takes no body (a JSON body, if sent, is ignored).
#[utoipa::path(
    post,
    path = "/api/v1/admin/events/{id}/publish",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The published event.", body = AdminEventOut), Staff)
)]
pub(crate) async fn publish_event(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    MaybeJson(_body): MaybeJson<IgnoredAny>,
) -> Result<web::Json<AdminEventOut>, AppError> {
    let id = parse_id("id", &path)?;
    let out = db
        .write(move |c| {
            let e = lifecycle::publish(c, &actor, &id)?;
            render::admin_one(c, &actor, e)
        })
        .await?;
    Ok(web::Json(out))
}

/// Cancels an event and emails its registrants a calendar cancellation.
///
/// Cancelling a cancelled event answers it unchanged; a completed one is a 409. Takes no body (a
/// JSON body, if sent, is ignored).
#[utoipa::path(
    post,
    path = "/api/v1/admin/events/{id}/cancel",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The cancelled event.", body = AdminEventOut), Staff)
)]
pub(crate) async fn cancel_event(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    MaybeJson(_body): MaybeJson<IgnoredAny>,
) -> Result<web::Json<AdminEventOut>, AppError> {
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            let e = lifecycle::cancel(c, &ctx, &actor, &id)?;
            render::admin_one(c, &actor, e)
        })
        .await?;
    Ok(web::Json(out))
}
