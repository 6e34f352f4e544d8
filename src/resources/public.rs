//! The public reads: `GET /api/v1/resources`, `GET /api/v1/resources/{id}` and an event's related
//! resources, `GET /api/v1/events/{id}/resources`. Published resources only: a draft is the 404 of
//! an unknown id.

use actix_web::web;

use super::queries::Cursor;
use super::wire::{RelatedQuery, RelatedResourcesOut, ResourceDetailOut, ResourceListQuery, ResourceOut};
use super::{parse, queries, related, render};
use crate::db::Db;
use crate::error::AppError;
use crate::http::{decode_cursor, page_limit, parse_id, Page, QueryParams};
use crate::openapi::problems::PublicRead;

/// Published learning resources, newest first.
///
/// Case studies, guides and webinar recordings. A state's list includes the national ones. `q`
/// searches titles, summaries, business names and bodies (every word must start a word there, in
/// any case).
#[utoipa::path(
    get,
    path = "/api/v1/resources",
    tag = "resources",
    params(ResourceListQuery),
    responses((status = 200, description = "A page of resources.", body = Page<ResourceOut>), PublicRead)
)]
pub(crate) async fn list_resources(
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ResourceListQuery>,
) -> Result<web::Json<Page<ResourceOut>>, AppError> {
    let limit = page_limit(q.limit)?;
    let filter = parse::public_filter(&q)?;
    let after: Option<Cursor> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = db
        .read(move |c| {
            let rows = queries::list_public(c, &filter, after, limit + 1)?;
            render::public_page(c, rows, limit)
        })
        .await?;
    Ok(web::Json(page))
}

/// One published resource, with its body as safe HTML.
#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The resource's id.")),
    responses((status = 200, description = "The resource.", body = ResourceDetailOut), PublicRead)
)]
pub(crate) async fn get_resource(
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<ResourceDetailOut>, AppError> {
    let id = parse_id("id", &path)?;
    let out = db
        .read(move |c| {
            let r = queries::find_public(c, &id)?.ok_or_else(|| AppError::not_found("no such learning resource"))?;
            render::public_one(c, r)
        })
        .await?;
    Ok(web::Json(out))
}

/// The learning resources related to an event, best first.
///
/// Its recordings, then the resources its organizers attached; when there are none, published
/// resources sharing its topics (for its state or national): the `language` asked for first, then
/// the most topics shared, then those for its state, then the newest. At most `limit`.
#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/resources",
    tag = "resources",
    params(("id" = uuid::Uuid, Path, description = "The event's id."), RelatedQuery),
    responses((status = 200, description = "Related resources.", body = RelatedResourcesOut), PublicRead)
)]
pub(crate) async fn get_event_related(
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<RelatedQuery>,
) -> Result<web::Json<RelatedResourcesOut>, AppError> {
    let id = parse_id("id", &path)?;
    let language = parse::preferred_language(q.language.as_deref())?;
    let limit = parse::related_limit(q.limit)?;
    let items = db
        .read(move |c| {
            let event =
                crate::events::queries::find_public(c, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
            let chosen = related::of_event(c, &event, language, limit as usize)?;
            related::answer(c, chosen)
        })
        .await?;
    Ok(web::Json(RelatedResourcesOut { items }))
}
