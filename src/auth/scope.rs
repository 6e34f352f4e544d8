//! What each actor may see, as SQL: the one place that turns an [`Actor`] into `WHERE` clauses.
//!
//! Rules (also in ARCHITECTURE.md, "Invariants"):
//! - `admin`: national, sees everything.
//! - `organizer`: member of one organization. Sees the events that organization hosts (a co-hosted
//!   event is visible to every host) and only their registrants; the organization itself; its staff
//!   users and their tokens; venues it owns or that lie in a state it covers. An organization that
//!   lists no states is national (a national chamber, a federation, a platform partner) and covers
//!   every state. It also sees and edits its organization's learning resources (drafts included);
//!   published ones are public anyway.
//! - `expert`: their own user and tokens; their own profile, windows and bookings
//!   ([`crate::experts::queries::may_manage_expert`] and the bookings scope there). Experts see no
//!   events, registrations, venues, organizations or reports.
//!
//! Queries call these helpers and put the result in their `WHERE` clause, so an object outside the
//! actor's scope is simply not found (404) and never counted. Handlers answer 403 only when the role
//! can never use an endpoint (an organizer creating an organization), 404 when the role may use it
//! but the object is outside its scope.

use diesel::dsl::{exists, not, sql};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{Actor, Role};
use crate::db::schema::{
    event_hosts, events, organization_states, organizations, registrations, resources, staff_users, venues,
};
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppError;

/// A boxed `WHERE` condition on one table.
pub type Filter<T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Bool>>;

/// Which events an actor may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScope {
    /// Every event (national admins).
    All,
    /// Events hosted (alone or together with others) by this organization.
    HostedBy(String),
    /// No events at all.
    Nothing,
}

impl Actor {
    /// The events this actor may see; see the module docs.
    pub fn event_scope(&self) -> EventScope {
        match (self.role, &self.organization_id) {
            (Role::Admin, _) => EventScope::All,
            (Role::Organizer, Some(org)) => EventScope::HostedBy(org.clone()),
            _ => EventScope::Nothing,
        }
    }

    /// The organization whose objects an organizer manages; `None` for admins and experts.
    pub fn organizer_org(&self) -> Option<&str> {
        match self.role {
            Role::Organizer => self.organization_id.as_deref(),
            _ => None,
        }
    }
}

/// A condition every row meets (an admin's scope).
pub(crate) fn always<T>() -> Filter<T>
where
    diesel::expression::SqlLiteral<Bool>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
{
    Box::new(sql::<Bool>("1 = 1"))
}

/// A condition no row meets (a role that sees none).
pub(crate) fn never<T>() -> Filter<T>
where
    diesel::expression::SqlLiteral<Bool>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
{
    Box::new(sql::<Bool>("1 = 0"))
}

/// `events` rows the actor may see.
pub fn events_filter(actor: &Actor) -> Filter<events::table> {
    match actor.event_scope() {
        EventScope::All => always(),
        EventScope::HostedBy(org) => Box::new(
            events::id
                .eq_any(event_hosts::table.filter(event_hosts::organization_id.eq(org)).select(event_hosts::event_id)),
        ),
        EventScope::Nothing => never(),
    }
}

/// `registrations` rows the actor may see: those of events it may see.
pub fn registrations_filter(actor: &Actor) -> Filter<registrations::table> {
    match actor.event_scope() {
        EventScope::All => always(),
        EventScope::HostedBy(org) => Box::new(
            registrations::event_id
                .eq_any(event_hosts::table.filter(event_hosts::organization_id.eq(org)).select(event_hosts::event_id)),
        ),
        EventScope::Nothing => never(),
    }
}

/// `event_hosts` rows the actor may see (reports per organization): an organizer sees its own
/// organization's hosting rows only, not the co-hosts' figures.
pub fn event_hosts_filter(actor: &Actor) -> Filter<event_hosts::table> {
    match actor.event_scope() {
        EventScope::All => always(),
        EventScope::HostedBy(org) => Box::new(event_hosts::organization_id.eq(org)),
        EventScope::Nothing => never(),
    }
}

/// `organizations` rows the actor may see: all for admins, its own for an organizer.
pub fn organizations_filter(actor: &Actor) -> Filter<organizations::table> {
    match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => always(),
        (Role::Organizer, Some(org)) => Box::new(organizations::id.eq(org)),
        _ => never(),
    }
}

/// `resources` rows (learning content) the actor manages: all for admins; its organization's for
/// an organizer; none for experts (whose calls are refused with a 403 before any query).
pub fn resources_filter(actor: &Actor) -> Filter<resources::table> {
    match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => always(),
        (Role::Organizer, Some(org)) => Box::new(resources::organization_id.eq(org)),
        _ => never(),
    }
}

/// `venues` rows the actor may see: all for admins; for an organizer, those its organization owns
/// or that lie in a state it covers (a national organization covers every state).
pub fn venues_filter(actor: &Actor) -> Filter<venues::table> {
    if actor.is_admin() {
        return always();
    }
    let Some(org) = actor.organizer_org().map(str::to_string) else { return never() };
    let covered_states = organization_states::table
        .filter(organization_states::organization_id.eq(org.clone()))
        .select(organization_states::state_code);
    let national = not(exists(organization_states::table.filter(organization_states::organization_id.eq(org.clone()))));
    Box::new(
        venues::organization_id.eq(org).or(venues::state_code.eq_any(covered_states)).or(national).assume_not_null(),
    )
}

/// `staff_users` rows the actor may see and manage: all for admins; an organizer's organization's
/// non-admin users; an expert itself.
pub fn staff_users_filter(actor: &Actor) -> Filter<staff_users::table> {
    match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => always(),
        (Role::Organizer, Some(org)) => {
            Box::new(staff_users::organization_id.eq(org).and(staff_users::role.ne(Role::Admin)).assume_not_null())
        }
        _ => Box::new(staff_users::id.eq(actor.user_id.clone())),
    }
}

/// May the actor change this event (update, publish, cancel, check in its registrants)? Admins
/// may change any event; an organizer those its organization hosts. `false` for events the actor
/// cannot see, so callers answer 404.
pub fn may_manage_event(conn: &mut DbConnection, actor: &Actor, event_id: &str) -> Result<bool, AppError> {
    let n: i64 = events::table.filter(events::id.eq(event_id)).filter(events_filter(actor)).count().get_result(conn)?;
    Ok(n > 0 && matches!(actor.role, Role::Admin | Role::Organizer))
}

/// Does the organization cover this state? An organization listing no states is national.
pub fn covers_state(conn: &mut DbConnection, org_id: &str, state: &str) -> Result<bool, AppError> {
    let listed: Vec<String> = organization_states::table
        .filter(organization_states::organization_id.eq(org_id))
        .select(organization_states::state_code)
        .load(conn)?;
    Ok(listed.is_empty() || listed.iter().any(|s| s == state))
}

/// May the actor act in this state (create a venue or an event there)? Admins anywhere; an
/// organizer where its organization covers the state; experts nowhere.
pub fn may_act_in_state(conn: &mut DbConnection, actor: &Actor, state: &str) -> Result<bool, AppError> {
    match actor.role {
        Role::Admin => Ok(true),
        Role::Organizer => match actor.organization_id.as_deref() {
            Some(org) => covers_state(conn, org, state),
            None => Ok(false),
        },
        Role::Expert => Ok(false),
    }
}
