//! `/api/v1/admin/webhooks`: an organization's endpoints, their delivery log, redelivery. Admins
//! manage any organization's; an organizer its own organization's; experts none (403).

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{self, Delivery, Endpoint, EndpointChange, NewEndpoint};
use super::EventType;
use crate::auth::{Actor, Role};
use crate::config::Config;
use crate::db::{from_db_time, Db};
use crate::error::{AppError, FieldError};
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::openapi::problems::Staff;
use crate::time::utc_string;

/// An endpoint (its secret only in the answers that make one).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointOut {
    #[schema(value_type = uuid::Uuid)]
    pub id: String,
    #[schema(value_type = uuid::Uuid)]
    pub organization_id: String,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub active: bool,
    /// `whsec_…`: shown once, when the endpoint is made or its secret rotated. Verify
    /// `webhook-signature` with it (Standard Webhooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Until when the previous secret also signs, after a rotation.
    pub previous_secret_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl EndpointOut {
    fn new(e: Endpoint, show_secret: bool) -> Self {
        EndpointOut {
            event_types: e.types(),
            secret: show_secret.then(|| e.secret.clone()),
            previous_secret_until: e.previous_until.map(|t| utc_string(from_db_time(t))),
            id: e.id,
            organization_id: e.organization_id,
            url: e.url,
            active: e.active,
            created_at: utc_string(from_db_time(e.created_at)),
            updated_at: utc_string(from_db_time(e.updated_at)),
        }
    }
}

/// `POST /api/v1/admin/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    /// `https://…` (or `http://` to a loopback address); not into a private network unless the
    /// operator allows it.
    #[schema(example = "https://hooks.txchamber.example/roadshow")]
    pub url: String,
    /// At least one.
    pub event_types: Vec<EventType>,
    /// Default true.
    pub active: Option<bool>,
    /// The organization it belongs to: an organizer's own (may be left out); required of admins.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub organization_id: Option<String>,
}

/// `PATCH /api/v1/admin/webhooks/{id}`: the fields given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    /// False stops deliveries (pending ones are skipped).
    pub active: Option<bool>,
}

/// One delivery of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// Also the `webhook-id` header.
    pub id: String,
    pub event_type: String,
    pub object_id: String,
    /// `pending`, `delivered`, `failed` (given up) or `skipped` (the endpoint was disabled).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The JSON body sent.
    pub payload: serde_json::Value,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        let t = |v: NaiveDateTime| utc_string(from_db_time(v));
        DeliveryOut {
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
            id: d.id,
            event_type: d.event_type,
            object_id: d.object_id,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: t(d.next_attempt_at),
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: t(d.created_at),
            delivered_at: d.delivered_at.map(t),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1-200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn organizers_only(actor: &Actor) -> Result<(), AppError> {
    match actor.role {
        Role::Admin | Role::Organizer => Ok(()),
        Role::Expert => Err(AppError::Forbidden("webhooks belong to organizations".into())),
    }
}

/// Checks a URL's form and, on a blocking thread (a name lookup may be slow), its addresses.
async fn check_url(config: &Config, field: &'static str, url: &str) -> Result<Result<String, FieldError>, AppError> {
    let target = match super::parse_target(url) {
        Ok(t) => t,
        Err(m) => return Ok(Err(FieldError::new(field, m))),
    };
    let allow_private = config.webhook_allow_private;
    crate::db::block_in_span(move || {
        Ok(super::resolve_allowed(&target, allow_private)
            .map(|_| target.url.to_string())
            .map_err(|m| FieldError::new(field, m)))
    })
    .await
}

fn check_types(types: &[EventType]) -> Result<(), FieldError> {
    if types.is_empty() {
        return Err(FieldError::new("event_types", format!("must list at least one of {}", EventType::expected())));
    }
    Ok(())
}

/// Register a webhook endpoint.
///
/// Its organization then receives, for the event types listed, messages about the events it hosts
/// (and their registrations, expert bookings and credit grants), signed with the secret in this
/// answer (shown once). Organizers register for their own organization; admins name one.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks",
    tag = "webhooks",
    request_body(content = EndpointIn, example = json!({"url": "https://hooks.txchamber.example/roadshow",
        "event_types": ["registration.created", "registration.cancelled"]})),
    security(("staff_token" = [])),
    responses((status = 201, description = "Registered; `secret` shown once", body = EndpointOut), Staff)
)]
pub(crate) async fn create(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    JsonBody(input): JsonBody<EndpointIn>,
) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let mut errors = Vec::new();
    let organization_id = match (actor.role, actor.organization_id.clone(), input.organization_id.as_deref()) {
        (Role::Organizer, Some(own), None) => Some(own),
        (Role::Organizer, Some(own), Some(given)) if given == own => Some(own),
        (Role::Organizer, _, Some(_)) => {
            return Err(AppError::Forbidden("organizers register endpoints for their own organization".into()))
        }
        (_, _, Some(given)) => match crate::validate::uuid("organization_id", given) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        _ => {
            errors.push(FieldError::new("organization_id", "is required"));
            None
        }
    };
    let url = check_url(&config, "url", &input.url).await?.map_err(|e| errors.push(e)).ok();
    if let Err(e) = check_types(&input.event_types) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (Some(organization_id), Some(url)) = (organization_id, url) else {
        return Err(AppError::internal("validated fields missing"));
    };
    let spec = NewEndpoint { organization_id, url, types: input.event_types, active: input.active.unwrap_or(true) };
    let secret = super::new_secret();
    let e = db
        .write(move |c| {
            use crate::db::schema::organizations;
            use diesel::prelude::*;
            let known: i64 = organizations::table.find(&spec.organization_id).count().get_result(c)?;
            if known == 0 {
                return Err(AppError::field("organization_id", "is not an organization"));
            }
            queries::create(c, &actor, &spec, &secret)
        })
        .await?;
    Ok(HttpResponse::Created().json(EndpointOut::new(e, true)))
}

/// The endpoints the caller may manage.
#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks",
    tag = "webhooks",
    params(ListQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of endpoints", body = Page<EndpointOut>), Staff)
)]
pub(crate) async fn list(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let limit = page_limit(q.limit)?;
    let after: Option<(NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = db.read(move |c| queries::list(c, &actor, after, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |e| (e.created_at, e.id.clone()));
    Ok(HttpResponse::Ok()
        .json(Page { items: rows.into_iter().map(|e| EndpointOut::new(e, false)).collect(), next_cursor: next }))
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The endpoint", body = EndpointOut), Staff)
)]
pub(crate) async fn get(actor: Actor, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let id = parse_id("id", &path)?;
    let e = db
        .read(move |c| queries::find(c, &actor, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such webhook endpoint"))?;
    Ok(HttpResponse::Ok().json(EndpointOut::new(e, false)))
}

/// Change an endpoint (URL, types, active).
#[utoipa::path(
    patch,
    path = "/api/v1/admin/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint.")),
    request_body(content = EndpointPatch, example = json!({"active": false})),
    security(("staff_token" = [])),
    responses((status = 200, description = "The endpoint", body = EndpointOut), Staff)
)]
pub(crate) async fn patch(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<EndpointPatch>,
) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let id = parse_id("id", &path)?;
    let mut errors = Vec::new();
    let url = match input.url.as_deref() {
        Some(u) => check_url(&config, "url", u).await?.map_err(|e| errors.push(e)).ok(),
        None => None,
    };
    if let Some(t) = &input.event_types {
        if let Err(e) = check_types(t) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let change = EndpointChange { url, types: input.event_types, active: input.active };
    let e = db.write(move |c| queries::update(c, &actor, &id, &change)).await?;
    Ok(HttpResponse::Ok().json(EndpointOut::new(e, false)))
}

/// Remove an endpoint and its delivery log.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/webhooks/{id}",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint.")),
    security(("staff_token" = [])),
    responses((status = 204, description = "Removed"), Staff)
)]
pub(crate) async fn delete(actor: Actor, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let id = parse_id("id", &path)?;
    db.write(move |c| queries::delete(c, &actor, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate the signing secret: the answer carries the new one (shown once); the old one keeps
/// signing too for 24 hours (messages carry both signatures), so receivers switch at leisure.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The endpoint, with its new secret", body = EndpointOut), Staff)
)]
pub(crate) async fn rotate(actor: Actor, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let id = parse_id("id", &path)?;
    let secret = super::new_secret();
    let e = db.write(move |c| queries::rotate(c, &actor, &id, &secret)).await?;
    Ok(HttpResponse::Ok().json(EndpointOut::new(e, true)))
}

/// An endpoint's delivery log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The endpoint."), ListQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryOut>), Staff)
)]
pub(crate) async fn deliveries(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let id = parse_id("id", &path)?;
    let limit = page_limit(q.limit)?;
    let before: Option<i64> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = db.read(move |c| queries::deliveries(c, &actor, &id, before, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |d| d.seq);
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(DeliveryOut::from).collect(), next_cursor: next }))
}

/// Send a delivery again (pending, due now, a fresh attempt budget), whatever became of it.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhook-deliveries/{id}/redeliver",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The delivery (its `webhook-id`).")),
    security(("staff_token" = [])),
    responses((status = 200, description = "Queued again", body = DeliveryOut), Staff)
)]
pub(crate) async fn redeliver(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    organizers_only(&actor)?;
    let id = parse_id("id", &path)?;
    let d = db.write(move |c| queries::redeliver(c, &actor, &id)).await?;
    Ok(HttpResponse::Ok().json(DeliveryOut::from(d)))
}
