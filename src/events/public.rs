//! The public event reads: `GET /api/v1/events` and `GET /api/v1/events/{id}`.
//!
//! They are the busiest requests. They run their few SELECTs without BEGIN/COMMIT (`Db::run`): on
//! PostgreSQL a READ COMMITTED transaction gives every statement its own snapshot anyway, so the
//! transaction bought nothing but two round trips. An event row and its seat count may thus be
//! read a moment apart; `seats_left` is advisory (the registration transaction decides), and each
//! statement still reads committed data on both engines. Their 200 answers are kept for up to a
//! second in [`super::public_cache`].

use actix_web::{web, HttpRequest, HttpResponse};

use super::public_cache::{self, Limits, PublicCache};
use super::render::{self, Cursor};
use super::wire::{EventListQuery, EventOut};
use super::{parse, queries};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{decode_cursor, page_limit, parse_id, Page, QueryParams};

/// Published events that have not ended, soonest first.
///
/// A state's list includes national webinars. Pass `from` to see past events too. A webinar's join
/// link is never shown here: it goes to confirmed registrants only.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(EventListQuery),
    responses(
        (status = 200, description = "A page of events.", body = Page<EventOut>),
        crate::openapi::problems::PublicRead,
    )
)]
pub(crate) async fn list_events(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    cache: web::Data<PublicCache>,
    QueryParams(q): QueryParams<EventListQuery>,
) -> Result<HttpResponse, AppError> {
    let key = public_cache::key(&config, "/api/v1/events", req.query_string());
    if let Some(body) = cache.get(&key, db.public_generation()) {
        return Ok(json_bytes(body));
    }
    let limit = page_limit(q.limit)?;
    let filter = parse::public_filter(&q)?;
    let after: Option<Cursor> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let reader = db.clone();
    let body = cache
        .get_or_load(
            key,
            || db.public_generation(),
            Limits::of(&config),
            || async move {
                reader
                    .run(move |c| {
                        let rows = queries::list_public(c, &filter, after, limit + 1)?;
                        render::public_page(c, rows, limit)
                    })
                    .await
            },
        )
        .await?;
    Ok(json_bytes(body))
}

/// One event, unless it is a draft.
///
/// Cancelled and completed events stay visible with their status.
#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "The event's id.")),
    responses(
        (status = 200, description = "The event.", body = EventOut),
        crate::openapi::problems::PublicRead,
    )
)]
pub(crate) async fn get_event(
    db: web::Data<Db>,
    config: web::Data<Config>,
    cache: web::Data<PublicCache>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    // The page takes no parameters: any query string would only make more entries of one answer.
    let key = public_cache::key(&config, &format!("/api/v1/events/{id}"), "");
    let reader = db.clone();
    let body = cache
        .get_or_load(
            key,
            || db.public_generation(),
            Limits::of(&config),
            || async move {
                reader
                    .run(move |c| {
                        let e = queries::find_public(c, &id)?.ok_or_else(|| AppError::not_found("no such event"))?;
                        render::public_one(c, e)
                    })
                    .await
            },
        )
        .await?;
    Ok(json_bytes(body))
}

/// A serialized answer (fresh or from the cache).
fn json_bytes(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}
