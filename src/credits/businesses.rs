//! Admin endpoints that join business records: duplicate candidates and merge (see
//! [`super::identity`]).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::identity;
use crate::auth::Actor;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{decode_cursor, encode_cursor, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::openapi::problems::Staff;

/// A record of a duplicate group (only what telling them apart needs).
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateMemberOut {
    #[schema(value_type = uuid::Uuid)]
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub state: Option<String>,
    pub website: Option<String>,
    pub ein: Option<String>,
    pub created_at: String,
}

/// Records that are likely one business.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateGroupOut {
    /// `same_name` (normalised name in the same state) or `same_website` (the website's domain in
    /// the same state).
    pub reason: String,
    /// The shared key (`taco garage|TX`, `tacogarage.example|TX`).
    pub key: String,
    /// Oldest first (at most 50).
    pub members: Vec<DuplicateMemberOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicatesQuery {
    /// Groups per page, 1-200 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Likely duplicate business records (admins), group by group.
///
/// Records not merged or erased that share a normalised name (legal forms, case and punctuation
/// aside) in one state, or a website domain in one state. Join them with
/// `POST /api/v1/admin/businesses/{id}/merge`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/businesses/duplicates",
    tag = "credits",
    params(DuplicatesQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of groups", body = Page<DuplicateGroupOut>), Staff)
)]
pub(crate) async fn duplicates(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<DuplicatesQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after: Option<String> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut groups = db.write(move |c| identity::duplicate_groups(c, after.as_deref(), limit)).await?;
    let next = (groups.len() as i64 > limit).then(|| {
        groups.truncate(limit as usize);
        groups.last().map(|g| encode_cursor(&format!("{}:{}", g.reason, g.key)))
    });
    let items = groups
        .into_iter()
        .map(|g| DuplicateGroupOut {
            reason: g.reason.into(),
            key: g.key,
            members: g
                .members
                .into_iter()
                .map(|m| DuplicateMemberOut {
                    id: m.id,
                    name: m.name,
                    email: m.email,
                    state: m.state,
                    website: m.website,
                    ein: m.ein,
                    created_at: crate::time::utc_string(crate::db::from_db_time(m.created_at)),
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor: next.flatten() }))
}

/// `POST /api/v1/admin/businesses/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIn {
    /// The record to merge into `{id}`.
    #[schema(value_type = uuid::Uuid)]
    pub from: String,
}

/// What a merge moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeOut {
    #[schema(value_type = uuid::Uuid)]
    pub id: String,
    #[schema(value_type = uuid::Uuid)]
    pub merged: String,
    pub registrations: usize,
    pub expert_bookings: usize,
    pub credit_grants: usize,
    /// The grant revoked because both records held an active one (the survivor's stays, unless
    /// only the other's voucher was redeemed).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub revoked_grant: Option<String>,
}

/// Merge a business record into this one (admins; audited).
///
/// Registrations, expert bookings and credit grants of `from` move to `{id}`; at most one active
/// grant remains. `from` keeps its row and points at `{id}`, so registrations made later with its
/// contact address join `{id}`. Merging a record into itself, or a merged or erased one, is refused.
#[utoipa::path(
    post,
    path = "/api/v1/admin/businesses/{id}/merge",
    tag = "credits",
    params(("id" = uuid::Uuid, Path, description = "The business that stays.")),
    request_body(content = MergeIn),
    security(("staff_token" = [])),
    responses((status = 200, description = "Merged", body = MergeOut), Staff)
)]
pub(crate) async fn merge(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<MergeIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let from = crate::validate::uuid("from", &input.from).map_err(|e| AppError::Validation(vec![e]))?;
    let (into, merged) = (id.clone(), from.clone());
    let m = db.write(move |c| identity::merge(c, &actor, &into, &merged)).await?;
    Ok(HttpResponse::Ok().json(MergeOut {
        id,
        merged: from,
        registrations: m.registrations,
        expert_bookings: m.bookings,
        credit_grants: m.grants,
        revoked_grant: m.revoked_grant,
    }))
}
