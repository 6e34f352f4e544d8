//! `/api/v1/admin/organizations…` and `/api/v1/admin/venues…`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::queries::{self, NewOrganization, NewVenue, Organization, Venue, ORGANIZATION_KINDS};
use crate::audit::{self, Changes};
use crate::auth::{scope, Actor};
use crate::db::{from_db_time, new_id, now, Db, DbConnection};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::time::{parse_tz, utc_string};
use crate::validate::{self, Errors};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationIn {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub states: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub states: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct OrganizationOut {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub states: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueIn {
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub time_zone: Option<String>,
    pub organization_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenuePatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VenueOut {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
    pub time_zone: String,
    pub organization_id: Option<String>,
    pub created_at: String,
}

impl From<Venue> for VenueOut {
    fn from(v: Venue) -> Self {
        VenueOut {
            id: v.id,
            name: v.name,
            address: v.address,
            city: v.city,
            state: v.state_code,
            time_zone: v.time_zone,
            organization_id: v.organization_id,
            created_at: utc_string(from_db_time(v.created_at)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub state: Option<String>,
}

fn with_states(conn: &mut DbConnection, orgs: Vec<Organization>) -> Result<Vec<OrganizationOut>, AppError> {
    let ids: Vec<String> = orgs.iter().map(|o| o.id.clone()).collect();
    let pairs = queries::states_of(conn, &ids)?;
    Ok(orgs
        .into_iter()
        .map(|o| OrganizationOut {
            states: pairs.iter().filter(|(id, _)| *id == o.id).map(|(_, s)| s.clone()).collect(),
            id: o.id,
            name: o.name,
            kind: o.kind,
            created_at: utc_string(from_db_time(o.created_at)),
        })
        .collect())
}

/// Parses a list of state codes and checks each exists; errors name `states[i]`.
fn parse_states(conn: &mut DbConnection, field: &str, raw: &[String]) -> Result<Vec<String>, AppError> {
    let mut errs = Errors::new();
    let mut out: Vec<String> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let name = format!("{field}[{i}]");
        if let Some(code) = errs.take(validate::state_code(&name, s)) {
            if crate::states::find(conn, &code)?.is_none() {
                errs.push(name, format!("{code} is not a US state code"));
            } else if !out.contains(&code) {
                out.push(code);
            }
        }
    }
    errs.finish()?;
    Ok(out)
}

pub(crate) async fn create_organization(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<OrganizationIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let mut errs = Errors::new();
    let name = errs.take(validate::text("name", &input.name, 200));
    let kind = input.kind.trim().to_string();
    if !ORGANIZATION_KINDS.contains(&kind.as_str()) {
        errs.push("kind", format!("must be one of {}", ORGANIZATION_KINDS.join(", ")));
    }
    if matches!(kind.as_str(), "regional_office" | "local_chamber") && input.states.is_empty() {
        errs.push("states", "a regional office or local chamber covers at least one state");
    }
    errs.finish()?;
    let name = name.unwrap_or_default();
    let out = db
        .write(move |c| {
            let states = parse_states(c, "states", &input.states)?;
            let ts = now();
            let org = NewOrganization { id: new_id(), name, kind, created_at: ts, updated_at: ts };
            queries::insert_organization(c, &org, &states)?;
            audit::record(c, &actor, "create", "organization", &org.id, Changes::fields(&["name", "kind", "states"]))?;
            let row = queries::find_organization(c, &actor, &org.id)?
                .ok_or_else(|| AppError::internal("organization vanished"))?;
            Ok(with_states(c, vec![row])?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

pub(crate) async fn list_organizations(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(String, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let state = q
        .state
        .as_deref()
        .map(|s| validate::state_code("state", s))
        .transpose()
        .map_err(|e| AppError::BadRequest { detail: format!("`state` {}", e.message), errors: vec![e] })?;
    let (items, next) = db
        .read(move |c| {
            let mut rows = queries::list_organizations(c, &actor, state.as_deref(), after, limit + 1)?;
            let next = next_page(&mut rows, limit, |o| (o.name.clone(), o.id.clone()));
            Ok((with_states(c, rows)?, next))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor: next }))
}

pub(crate) async fn get_organization(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let out = db
        .read(move |c| {
            let row = queries::find_organization(c, &actor, &id)?
                .ok_or_else(|| AppError::not_found("no such organization"))?;
            Ok(with_states(c, vec![row])?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub(crate) async fn update_organization(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<OrganizationPatch>,
) -> Result<HttpResponse, AppError> {
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
            let row = queries::find_organization(c, &actor, &id)?
                .ok_or_else(|| AppError::not_found("no such organization"))?;
            Ok(with_states(c, vec![row])?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub(crate) async fn create_venue(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<VenueIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let mut errs = Errors::new();
    let name = errs.take(validate::text("name", &input.name, 200));
    let address = errs.take(validate::text("address", &input.address, 500));
    let city = errs.take(validate::text("city", &input.city, 100));
    let state = errs.take(validate::state_code("state", &input.state));
    let tz = match input.time_zone.as_deref() {
        Some(z) => errs.take(parse_tz("time_zone", z)).map(Some),
        None => Some(None),
    };
    let organization_id = match input.organization_id.as_deref() {
        Some(raw) => errs.take(
            parse_id("organization_id", raw)
                .map_err(|_| crate::error::FieldError::new("organization_id", "is not a valid UUID")),
        ),
        None => None,
    };
    errs.finish()?;
    let (name, address, city, state, tz) =
        (name.unwrap(), address.unwrap(), city.unwrap(), state.unwrap(), tz.unwrap());
    let venue = db
        .write(move |c| {
            let st = crate::states::find(c, &state)?
                .ok_or_else(|| AppError::field("state", format!("{state} is not a US state code")))?;
            // Organizers create venues for their own organization, in states it covers.
            let owner = if actor.is_admin() {
                if let Some(org) = &organization_id {
                    if !queries::organization_exists(c, org)? {
                        return Err(AppError::field("organization_id", "no such organization"));
                    }
                }
                organization_id
            } else {
                let own = actor.organization_id.clone().ok_or_else(|| AppError::Forbidden("no organization".into()))?;
                if organization_id.as_ref().is_some_and(|o| *o != own) {
                    return Err(AppError::Forbidden("organizers create venues for their own organization only".into()));
                }
                if !scope::may_act_in_state(c, &actor, &state)? {
                    return Err(AppError::field("state", "your organization does not cover this state"));
                }
                Some(own)
            };
            let ts = now();
            let venue = queries::insert_venue(
                c,
                &NewVenue {
                    id: new_id(),
                    name,
                    address,
                    city,
                    state_code: st.code,
                    time_zone: tz.map(|z| z.name().to_string()).unwrap_or(st.time_zone),
                    organization_id: owner.clone(),
                    created_at: ts,
                    updated_at: ts,
                },
            )?;
            let mut changes = Changes::fields(&["name", "address", "city", "state", "time_zone"]);
            if let Some(org) = &owner {
                changes = changes.with_ref("organization_id", org);
            }
            audit::record(c, &actor, "create", "venue", &venue.id, changes)?;
            Ok(venue)
        })
        .await?;
    Ok(HttpResponse::Created().json(VenueOut::from(venue)))
}

pub(crate) async fn list_venues(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(String, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let state = q
        .state
        .as_deref()
        .map(|s| validate::state_code("state", s))
        .transpose()
        .map_err(|e| AppError::BadRequest { detail: format!("`state` {}", e.message), errors: vec![e] })?;
    let mut rows = db.read(move |c| queries::list_venues(c, &actor, state.as_deref(), after, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |v| (v.name.clone(), v.id.clone()));
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(VenueOut::from).collect(), next_cursor: next }))
}

pub(crate) async fn get_venue(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let v = db
        .read(move |c| queries::find_visible_venue(c, &actor, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such venue"))?;
    Ok(HttpResponse::Ok().json(VenueOut::from(v)))
}

/// `PATCH /api/v1/admin/venues/{id}`: admins change any venue; an organizer the venues its
/// organization owns (a venue it can see but does not own is 403; one it cannot see, 404).
pub(crate) async fn update_venue(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<crate::config::Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<VenuePatch>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let mut errs = Errors::new();
    let mut changes = queries::VenueChanges { updated_at: Some(now()), ..Default::default() };
    let mut fields = Vec::new();
    if let Some(v) = input.name.as_deref() {
        changes.name = errs.take(validate::text("name", v, 200));
        fields.push("name");
    }
    if let Some(v) = input.address.as_deref() {
        changes.address = errs.take(validate::text("address", v, 500));
        fields.push("address");
    }
    if let Some(v) = input.city.as_deref() {
        changes.city = errs.take(validate::text("city", v, 100));
        fields.push("city");
    }
    if let Some(v) = input.time_zone.as_deref() {
        changes.time_zone = errs.take(parse_tz("time_zone", v)).map(|z| z.name().to_string());
        fields.push("time_zone");
    }
    errs.finish()?;
    let ctx = crate::mail::MailContext::from_config(&config);
    let venue = db
        .write(move |c| {
            let current =
                queries::find_visible_venue(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such venue"))?;
            if !actor.is_admin()
                && (current.organization_id.is_none() || current.organization_id != actor.organization_id)
            {
                return Err(AppError::Forbidden("organizers change only their own organization's venues".into()));
            }
            let venue = queries::update_venue(c, &id, &changes)?;
            audit::record(c, &actor, "update", "venue", &id, Changes::fields(&fields))?;
            // Registrants of upcoming events there hear of a new place (or zone), as of any event change.
            let moved = (changes.name.is_some() && changes.name.as_ref() != Some(&current.name))
                || (changes.address.is_some() && changes.address.as_ref() != Some(&current.address))
                || (changes.city.is_some() && changes.city.as_ref() != Some(&current.city));
            let new_zone = changes.time_zone.clone().filter(|z| *z != current.time_zone);
            if moved || new_zone.is_some() {
                let mut notices = Vec::new();
                if moved {
                    notices.push(format!(
                        "Where: {}, {}, {}, {}",
                        venue.name, venue.address, venue.city, venue.state_code
                    ));
                }
                if let Some(z) = &new_zone {
                    notices.push(format!("Times are now shown in {z}"));
                }
                crate::events::queries::venue_changed(c, &ctx, &id, &notices, new_zone.as_deref())?;
            }
            Ok(venue)
        })
        .await?;
    Ok(HttpResponse::Ok().json(VenueOut::from(venue)))
}
