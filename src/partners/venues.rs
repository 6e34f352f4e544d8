//! `/api/v1/admin/venues…`: where roadshow stops happen.
//!
//! Admins manage every venue (one with no owner is for every organization). An organizer creates
//! venues for its own organization in the states it covers, sees those and every venue in a state
//! it covers, and changes only its own. Experts: 403.

use actix_web::{web, HttpResponse};
use chrono_tz::Tz;

use super::organizations::state_filter;
use super::queries::{self, NewVenue};
use super::wire::{PartnerListQuery, VenueIn, VenueOut, VenuePatch};
use crate::audit::{self, Changes};
use crate::auth::{scope, Actor};
use crate::db::{new_id, now, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::openapi::problems::Staff;
use crate::time::parse_tz;
use crate::validate;

/// A venue to create, once its fields are read (the state's existence is checked in the
/// transaction).
struct NewVenueRequest {
    name: String,
    address: String,
    city: String,
    state: crate::domain::StateCode,
    time_zone: Option<Tz>,
    organization_id: Option<String>,
}

/// Reads a [`VenueIn`]; a 422 lists every bad field.
fn read_venue(input: VenueIn) -> Result<NewVenueRequest, AppError> {
    let name = validate::text("name", &input.name, 200);
    let address = validate::text("address", &input.address, 500);
    let city = validate::text("city", &input.city, 100);
    let state = validate::state_code("state", &input.state);
    let time_zone = input.time_zone.as_deref().map(|z| parse_tz("time_zone", z)).transpose();
    let organization_id =
        input.organization_id.as_deref().map(|raw| validate::uuid("organization_id", raw)).transpose();
    match (name, address, city, state, time_zone, organization_id) {
        (Ok(name), Ok(address), Ok(city), Ok(state), Ok(time_zone), Ok(organization_id)) => {
            Ok(NewVenueRequest { name, address, city, state, time_zone, organization_id })
        }
        (name, address, city, state, time_zone, organization_id) => Err(AppError::Validation(
            [name.err(), address.err(), city.err(), state.err(), time_zone.err(), organization_id.err()]
                .into_iter()
                .flatten()
                .collect(),
        )),
    }
}

/// Create a venue.
///
/// An admin may name the owning organization (or none: a venue for everyone); an organizer's
/// venue is its organization's, in a state it covers. The time zone defaults to the state's.
/// Audited.
#[utoipa::path(
    post,
    path = "/api/v1/admin/venues",
    tag = "staff",
    request_body = VenueIn,
    responses((status = 201, description = "the new venue", body = VenueOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn create_venue(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<VenueIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let NewVenueRequest { name, address, city, state, time_zone, organization_id } = read_venue(input)?;
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
                    time_zone: time_zone.map(|z| z.name().to_string()).unwrap_or(st.time_zone),
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

/// Venues the caller may see, by name.
#[utoipa::path(
    get,
    path = "/api/v1/admin/venues",
    tag = "staff",
    params(PartnerListQuery),
    responses((status = 200, description = "a page of venues", body = Page<VenueOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn list_venues(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<PartnerListQuery>,
) -> Result<web::Json<Page<VenueOut>>, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(String, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let state = state_filter(q.state.as_deref())?;
    let mut rows = db.read(move |c| queries::list_venues(c, &actor, state.as_deref(), after, limit + 1)).await?;
    let next_cursor = next_page(&mut rows, limit, |v| (v.name.clone(), v.id.clone()));
    Ok(web::Json(Page { items: rows.into_iter().map(VenueOut::from).collect(), next_cursor }))
}

/// A venue the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/admin/venues/{id}",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The venue's id")),
    responses((status = 200, description = "the venue", body = VenueOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn get_venue(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<VenueOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let v = db
        .read(move |c| queries::find_visible_venue(c, &actor, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such venue"))?;
    Ok(web::Json(v.into()))
}

/// Change a venue (name, address, city, time zone).
///
/// Admins change any venue; an organizer the venues its organization owns (a venue it can see but
/// does not own is 403; one it cannot see, 404). Registrants of upcoming events there are emailed
/// about a new place or zone. Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/venues/{id}",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The venue's id")),
    request_body = VenuePatch,
    responses((status = 200, description = "the changed venue", body = VenueOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn update_venue(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<crate::config::Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<VenuePatch>,
) -> Result<web::Json<VenueOut>, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let text = |field: &str, v: Option<&str>, max| v.map(|v| validate::text(field, v, max)).transpose();
    let name = text("name", input.name.as_deref(), 200);
    let address = text("address", input.address.as_deref(), 500);
    let city = text("city", input.city.as_deref(), 100);
    let time_zone =
        input.time_zone.as_deref().map(|z| parse_tz("time_zone", z).map(|z| z.name().to_string())).transpose();
    let changes = match (name, address, city, time_zone) {
        (Ok(name), Ok(address), Ok(city), Ok(time_zone)) => {
            queries::VenueChanges { name, address, city, time_zone, updated_at: Some(now()) }
        }
        (name, address, city, time_zone) => {
            return Err(AppError::Validation(
                [name.err(), address.err(), city.err(), time_zone.err()].into_iter().flatten().collect(),
            ))
        }
    };
    let fields = Changes::of_set(&[
        ("name", changes.name.is_some()),
        ("address", changes.address.is_some()),
        ("city", changes.city.is_some()),
        ("time_zone", changes.time_zone.is_some()),
    ]);
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
            audit::record(c, &actor, "update", "venue", &id, fields)?;
            // Registrants of upcoming events there hear of a new place (or zone), as of any event change.
            let moved = (changes.name.is_some() && changes.name.as_ref() != Some(&current.name))
                || (changes.address.is_some() && changes.address.as_ref() != Some(&current.address))
                || (changes.city.is_some() && changes.city.as_ref() != Some(&current.city));
            let new_zone = changes.time_zone.clone().filter(|z| *z != current.time_zone);
            if moved || new_zone.is_some() {
                let mut notices = Vec::new();
                if moved {
                    notices.push(crate::mail::Change::Place(format!(
                        "{}, {}, {}, {}",
                        venue.name, venue.address, venue.city, venue.state_code
                    )));
                }
                if let Some(z) = &new_zone {
                    notices.push(crate::mail::Change::Zone(z.clone()));
                }
                crate::events::queries::venue_changed(c, &ctx, &id, &notices, new_zone.as_deref())?;
            }
            Ok(venue)
        })
        .await?;
    Ok(web::Json(venue.into()))
}
