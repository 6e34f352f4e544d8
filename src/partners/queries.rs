//! Organizations and venues. Every list and get takes the [`Actor`] and scopes in SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{scope, Actor};
use crate::db::schema::{organization_states, organizations, venues};
use crate::db::DbConnection;
use crate::domain::OrganizationKind;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization {
    pub id: String,
    pub name: String,
    pub kind: OrganizationKind,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = venues)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state_code: String,
    pub time_zone: String,
    pub organization_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = venues)]
pub struct NewVenue {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub state_code: String,
    pub time_zone: String,
    pub organization_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn organization_exists(conn: &mut DbConnection, id: &str) -> Result<bool, AppError> {
    let n: i64 = organizations::table.filter(organizations::id.eq(id)).count().get_result(conn)?;
    Ok(n > 0)
}

/// Inserts an organization and the states it covers.
pub fn insert_organization(conn: &mut DbConnection, org: &NewOrganization, states: &[String]) -> Result<(), AppError> {
    diesel::insert_into(organizations::table).values(org).execute(conn).map_err(|e| match AppError::from(e) {
        AppError::Conflict { .. } => {
            AppError::Conflict { detail: "an organization with this name already exists".into(), existing_id: None }
        }
        other => other,
    })?;
    set_organization_states(conn, &org.id, states)
}

/// Replaces the states an organization covers.
pub fn set_organization_states(conn: &mut DbConnection, org_id: &str, states: &[String]) -> Result<(), AppError> {
    diesel::delete(organization_states::table.filter(organization_states::organization_id.eq(org_id))).execute(conn)?;
    // One row at a time: the multi-backend DSL has no batch insert.
    for s in states {
        diesel::insert_into(organization_states::table)
            .values((organization_states::organization_id.eq(org_id), organization_states::state_code.eq(s)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn states_of(conn: &mut DbConnection, org_ids: &[String]) -> Result<Vec<(String, String)>, AppError> {
    Ok(organization_states::table
        .filter(organization_states::organization_id.eq_any(org_ids))
        .order((organization_states::organization_id, organization_states::state_code))
        .select((organization_states::organization_id, organization_states::state_code))
        .load(conn)?)
}

/// An organization the actor may see: admins see all, organizers only their own.
pub fn find_organization(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Organization>, AppError> {
    Ok(organizations::table
        .filter(organizations::id.eq(id))
        .filter(scope::organizations_filter(actor))
        .first(conn)
        .optional()?)
}

/// Organizations the actor may see, by name, keyset-paginated on (name, id).
pub fn list_organizations(
    conn: &mut DbConnection,
    actor: &Actor,
    state: Option<&str>,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<Organization>, AppError> {
    let mut q = organizations::table.filter(scope::organizations_filter(actor)).into_boxed();
    if let Some(s) = state {
        q = q.filter(
            organizations::id.eq_any(
                organization_states::table
                    .filter(organization_states::state_code.eq(s.to_string()))
                    .select(organization_states::organization_id),
            ),
        );
    }
    if let Some((name, id)) = after {
        q = q.filter(
            organizations::name.gt(name.clone()).or(organizations::name.eq(name).and(organizations::id.gt(id))),
        );
    }
    Ok(q.order((organizations::name, organizations::id)).limit(limit).load(conn)?)
}

pub fn update_organization_name(conn: &mut DbConnection, id: &str, name: &str) -> Result<(), AppError> {
    diesel::update(organizations::table.find(id))
        .set((organizations::name.eq(name), organizations::updated_at.eq(crate::db::now())))
        .execute(conn)?;
    Ok(())
}

pub fn insert_venue(conn: &mut DbConnection, venue: &NewVenue) -> Result<Venue, AppError> {
    diesel::insert_into(venues::table).values(venue).execute(conn)?;
    Ok(venues::table.find(&venue.id).first(conn)?)
}

/// A venue by id, unscoped: for public event pages and emails, which show an event's venue.
pub fn find_venue(conn: &mut DbConnection, id: &str) -> Result<Option<Venue>, AppError> {
    Ok(venues::table.find(id).first(conn).optional()?)
}

/// A venue the actor may see: admins any; an organizer those its organization owns or that lie in
/// a state it covers (it needs them to schedule stops); experts none.
pub fn find_visible_venue(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Venue>, AppError> {
    Ok(venues::table.filter(venues::id.eq(id)).filter(scope::venues_filter(actor)).first(conn).optional()?)
}

/// What an update of a venue may change.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = venues)]
pub struct VenueChanges {
    pub name: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub time_zone: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update_venue(conn: &mut DbConnection, id: &str, changes: &VenueChanges) -> Result<Venue, AppError> {
    diesel::update(venues::table.find(id)).set(changes).execute(conn)?;
    Ok(venues::table.find(id).first(conn)?)
}

/// Venues the actor may see, by name, keyset-paginated on (name, id).
pub fn list_venues(
    conn: &mut DbConnection,
    actor: &Actor,
    state: Option<&str>,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<Venue>, AppError> {
    let mut q = venues::table.filter(scope::venues_filter(actor)).into_boxed();
    if let Some(s) = state {
        q = q.filter(venues::state_code.eq(s.to_string()));
    }
    if let Some((name, id)) = after {
        q = q.filter(venues::name.gt(name.clone()).or(venues::name.eq(name).and(venues::id.gt(id))));
    }
    Ok(q.order((venues::name, venues::id)).limit(limit).load(conn)?)
}
