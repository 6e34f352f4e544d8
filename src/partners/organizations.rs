//! `/api/v1/admin/organizations…`: the partner organizations and the states they cover.
//!
//! National admins create and change organizations; an organizer sees its own; experts none.

use actix_web::{web, HttpResponse};

use super::queries::{self, NewOrganization, Organization};
use super::wire::{OrganizationIn, OrganizationOut, OrganizationPatch, PartnerListQuery};
use crate::audit::{self, Changes};
use crate::auth::Actor;
use crate::db::{new_id, now, Db, DbConnection};
use crate::domain::OrganizationKind;
use crate::error::{AppError, FieldError};
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::openapi::problems::Staff;
use crate::validate::{self, Errors};

/// Organizations with the states each covers.
fn with_states(conn: &mut DbConnection, orgs: Vec<Organization>) -> Result<Vec<OrganizationOut>, AppError> {
    let ids: Vec<String> = orgs.iter().map(|o| o.id.clone()).collect();
    let pairs = queries::states_of(conn, &ids)?;
    Ok(orgs
        .into_iter()
        .map(|o| {
            let states = pairs.iter().filter(|(id, _)| *id == o.id).map(|(_, s)| s.clone()).collect();
            OrganizationOut::new(o, states)
        })
        .collect())
}

/// The organization `id` as the actor sees it, with its states.
fn find_out(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<OrganizationOut, AppError> {
    let row =
        queries::find_organization(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such organization"))?;
    let states = queries::states_of(conn, std::slice::from_ref(&row.id))?.into_iter().map(|(_, s)| s).collect();
    Ok(OrganizationOut::new(row, states))
}

/// Parses a list of state codes and checks each exists; errors name `states[i]`. Duplicates
/// count once.
pub(super) fn parse_states(conn: &mut DbConnection, field: &str, raw: &[String]) -> Result<Vec<String>, AppError> {
    let mut errs = Errors::new();
    let mut out: Vec<String> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let name = format!("{field}[{i}]");
        if let Some(code) = errs.take(validate::state_code(&name, s)) {
            if crate::states::find(conn, &code)?.is_none() {
                errs.push(name, format!("{code} is not a US state code"));
            } else if !out.iter().any(|c| c == code.as_str()) {
                out.push(code.into_string());
            }
        }
    }
    errs.finish()?;
    Ok(out)
}

/// Whether an organization of this kind must list the states it covers (it cannot be national).
fn covers_listed_states_only(kind: OrganizationKind) -> bool {
    matches!(kind, OrganizationKind::RegionalOffice | OrganizationKind::LocalChamber)
}

/// Create a partner organization (national admins).
///
/// Audited. The name is unique (409).
#[utoipa::path(
    post,
    path = "/api/v1/admin/organizations",
    tag = "staff",
    request_body = OrganizationIn,
    responses((status = 201, description = "the new organization", body = OrganizationOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn create_organization(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<OrganizationIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let OrganizationIn { name, kind, states } = input;
    let name = validate::text("name", &name, 200);
    let listed = if covers_listed_states_only(kind) && states.is_empty() {
        Err(FieldError::new("states", "a regional office or local chamber covers at least one state"))
    } else {
        Ok(())
    };
    let name = match (name, listed) {
        (Ok(name), Ok(())) => name,
        (name, listed) => return Err(AppError::Validation([name.err(), listed.err()].into_iter().flatten().collect())),
    };
    let out = db
        .write(move |c| {
            let states = parse_states(c, "states", &states)?;
            let ts = now();
            let org = NewOrganization { id: new_id(), name, kind, created_at: ts, updated_at: ts };
            queries::insert_organization(c, &org, &states)?;
            audit::record(c, &actor, "create", "organization", &org.id, Changes::fields(&["name", "kind", "states"]))?;
            find_out(c, &actor, &org.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Organizations the caller may see, by name.
///
/// Admins see all; an organizer its own. Experts: 403.
#[utoipa::path(
    get,
    path = "/api/v1/admin/organizations",
    tag = "staff",
    params(PartnerListQuery),
    responses((status = 200, description = "a page of organizations", body = Page<OrganizationOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn list_organizations(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<PartnerListQuery>,
) -> Result<web::Json<Page<OrganizationOut>>, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(String, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let state = state_filter(q.state.as_deref())?;
    let (items, next_cursor) = db
        .read(move |c| {
            let mut rows = queries::list_organizations(c, &actor, state.as_deref(), after, limit + 1)?;
            let next = next_page(&mut rows, limit, |o| (o.name.clone(), o.id.clone()));
            Ok((with_states(c, rows)?, next))
        })
        .await?;
    Ok(web::Json(Page { items, next_cursor }))
}

/// `?state=`: a two-letter code, or a 400 naming `state`.
pub(super) fn state_filter(raw: Option<&str>) -> Result<Option<String>, AppError> {
    raw.map(|s| validate::state_code("state", s).map(String::from))
        .transpose()
        .map_err(|e| AppError::BadRequest { detail: format!("`state` {}", e.message), errors: vec![e] })
}

/// An organization the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/admin/organizations/{id}",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The organization's id")),
    responses((status = 200, description = "the organization", body = OrganizationOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn get_organization(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<OrganizationOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    Ok(web::Json(db.read(move |c| find_out(c, &actor, &id)).await?))
}

/// Rename an organization or change its states (national admins).
///
/// `states` replaces the whole list. Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/organizations/{id}",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The organization's id")),
    request_body = OrganizationPatch,
    responses((status = 200, description = "the changed organization", body = OrganizationOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn update_organization(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<OrganizationPatch>,
) -> Result<web::Json<OrganizationOut>, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 200))
        .transpose()
        .map_err(|e| AppError::Validation(vec![e]))?;
    let out = db
        .write(move |c| {
            queries::find_organization(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such organization"))?;
            let mut changes = Changes::none();
            if let Some(name) = &name {
                queries::update_organization_name(c, &id, name)?;
                changes = changes.field("name");
            }
            if let Some(states) = &input.states {
                let states = parse_states(c, "states", states)?;
                queries::set_organization_states(c, &id, &states)?;
                changes = changes.field("states");
            }
            audit::record(c, &actor, "update", "organization", &id, changes)?;
            find_out(c, &actor, &id)
        })
        .await?;
    Ok(web::Json(out))
}
