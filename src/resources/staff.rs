//! The staff endpoints under `/api/v1/admin/resources`, and an event's attached resources under
//! `/api/v1/admin/events/{id}/resources`. The staff gate has checked the token; each query is
//! scoped to the actor ([`crate::auth::scope::resources_filter`]: a national admin manages every
//! resource, an organizer its organization's; out of reach is a 404; experts get a 403). The rules
//! are in [`super::lifecycle`].

use actix_web::{web, HttpResponse};

use super::queries::Cursor;
use super::wire::{
    AdminResourceDetailOut, AdminResourceListQuery, AdminResourceOut, EventResourcesIn, EventResourcesOut, ResourceIn,
    ResourcePatch,
};
use super::{lifecycle, parse, queries, render};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{decode_cursor, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::mail::MailContext;
use crate::openapi::problems::Staff;

/// Resources the caller manages, drafts included, newest first.
///
/// A national admin sees every organization's; an organizer its own organization's.
#[utoipa::path(
    get,
    path = "/api/v1/admin/resources",
    tag = "resources",
    params(AdminResourceListQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of resources.", body = Page<AdminResourceOut>), Staff)
)]
pub(crate) async fn list_admin_resources(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<AdminResourceListQuery>,
) -> Result<web::Json<Page<AdminResourceOut>>, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let filter = parse::admin_filter(&q)?;
    let after: Option<Cursor> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = db
        .read(move |c| {
            let rows = queries::list_admin(c, &actor, &filter, after, limit + 1)?;
            render::admin_page(c, rows, limit)
        })
        .await?;
    Ok(web::Json(page))
}

/// Writes a resource: a case study, a guide or a webinar recording.
///
/// A draft unless `status` is `published`. A 422 names every bad field. An organizer writes for its
/// own organization; an admin names the author organization. A recording may name the webinar it
/// was made at once that webinar is over; published, it tells the webinar's registrants who accept
/// news.
#[utoipa::path(
    post,
    path = "/api/v1/admin/resources",
    tag = "resources",
    request_body = ResourceIn,
    security(("staff_token" = [])),
    responses((status = 201, description = "The new resource.", body = AdminResourceDetailOut), Staff)
)]
pub(crate) async fn create_resource(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    JsonBody(input): JsonBody<ResourceIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let draft = parse::resource_in(input)?;
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            let r = lifecycle::create(c, &actor, &ctx, draft)?;
            render::admin_one(c, r)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// One resource with its Markdown and HTML.
#[utoipa::path(
    get,
    path = "/api/v1/admin/resources/{id}",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The resource's id.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The resource.", body = AdminResourceDetailOut), Staff)
)]
pub(crate) async fn get_admin_resource(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<AdminResourceDetailOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let out = db
        .read(move |c| {
            let r = queries::find_for_actor(c, &actor, &id)?
                .ok_or_else(|| AppError::not_found("no such learning resource"))?;
            render::admin_one(c, r)
        })
        .await?;
    Ok(web::Json(out))
}

/// Changes a resource; `status` publishes it or takes it back to draft.
///
/// Absent fields stay as they are. Publishing a recording of a webinar tells the webinar's
/// registrants who accept news, once (publishing it again tells nobody twice).
#[utoipa::path(
    patch,
    path = "/api/v1/admin/resources/{id}",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The resource's id.")),
    request_body = ResourcePatch,
    security(("staff_token" = [])),
    responses((status = 200, description = "The resource after the change.", body = AdminResourceDetailOut), Staff)
)]
pub(crate) async fn update_resource(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<ResourcePatch>,
) -> Result<web::Json<AdminResourceDetailOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            let r = lifecycle::update(c, &actor, &ctx, &id, input)?;
            render::admin_one(c, r)
        })
        .await?;
    Ok(web::Json(out))
}

/// Deletes a resource.
///
/// It leaves the public lists and every event it was attached to; the audit trail keeps that it
/// was. (To take it off the public lists but keep it, `PATCH` its `status` to `draft`.)
#[utoipa::path(
    delete,
    path = "/api/v1/admin/resources/{id}",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The resource's id.")),
    security(("staff_token" = [])),
    responses((status = 204, description = "Deleted."), Staff)
)]
pub(crate) async fn delete_resource(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    db.write(move |c| lifecycle::delete(c, &actor, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The resources attached to an event, in order.
///
/// Drafts of the caller's own organization are shown too (the public list shows published ones
/// only).
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{id}/resources",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The attached resources.", body = EventResourcesOut), Staff)
)]
pub(crate) async fn get_event_resources(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<EventResourcesOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let items = db
        .read(move |c| {
            let rows = lifecycle::attached(c, &actor, &id)?;
            render::admin_items(c, &rows)
        })
        .await?;
    Ok(web::Json(EventResourcesOut { items }))
}

/// Sets the resources attached to an event, in the order to show them.
///
/// Replaces the list (`[]` detaches every one). Each must be the caller's own organization's or a
/// published resource; at most 20. The event's related resources are then these (after its
/// recordings), instead of those chosen by topic.
#[utoipa::path(
    put,
    path = "/api/v1/admin/events/{id}/resources",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    request_body = EventResourcesIn,
    security(("staff_token" = [])),
    responses((status = 200, description = "The attached resources now.", body = EventResourcesOut), Staff)
)]
pub(crate) async fn set_event_resources(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<EventResourcesIn>,
) -> Result<web::Json<EventResourcesOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let items = db
        .write(move |c| {
            let rows = lifecycle::set_attached(c, &actor, &id, &input.resource_ids)?;
            render::admin_items(c, &rows)
        })
        .await?;
    Ok(web::Json(EventResourcesOut { items }))
}
