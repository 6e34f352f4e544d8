//! Where an event is and who hosts it: the checks of a new or changed event that need the
//! database and the actor ([`crate::auth::scope`]).
//!
//! - A roadshow stop is held at a venue and takes the venue's state; a webinar has a state or is
//!   national (no state), and a state's list shows national webinars too.
//! - A national admin places events anywhere and names any hosts. An organizer schedules events
//!   hosted by its own organization only (co-hosts see the event and its registrants, so only an
//!   admin adds other organizations), in states its organization covers; a national webinar only
//!   when its organization covers no states (a national organization).

use super::parse::EventDraft;
use crate::auth::Actor;
use crate::db::DbConnection;
use crate::domain::EventKind;
use crate::error::AppError;
use crate::partners::queries::{self as pq, Venue};

/// A new event's state and hosts, settled for the actor.
#[derive(Debug, Clone)]
pub struct Placement {
    pub state: Option<crate::domain::StateCode>,
    pub hosts: Vec<String>,
}

/// Checks the venue, state and hosts of a new event for the actor, and settles them.
pub fn place_new(conn: &mut DbConnection, actor: &Actor, draft: &EventDraft) -> Result<Placement, AppError> {
    let mut state = draft.state.clone();
    if let Some(v) = &draft.venue_id {
        let venue = pq::find_venue(conn, v)?.ok_or_else(|| AppError::field("venue_id", "no such venue"))?;
        if state.as_ref().is_some_and(|s| s.as_str() != venue.state_code) {
            return Err(AppError::field("state", "must match the venue's state (or be left out)"));
        }
        state = Some(crate::domain::StateCode::parse(&venue.state_code).map_err(AppError::internal)?);
    } else if draft.kind == EventKind::RoadshowStop {
        return Err(AppError::field("venue_id", "is required for a roadshow stop"));
    }
    if let Some(s) = &state {
        if crate::states::find(conn, s)?.is_none() {
            return Err(AppError::field("state", format!("{s} is not a US state code")));
        }
    }
    let mut hosts = draft.host_organization_ids.clone().unwrap_or_default();
    organizations_exist(conn, &hosts)?;
    if !actor.is_admin() {
        let own = actor.organization_id.clone().ok_or_else(|| AppError::Forbidden("no organization".into()))?;
        if let Some(i) = hosts.iter().position(|h| *h != own) {
            return Err(AppError::field(
                format!("host_organization_ids[{i}]"),
                "organizers host events with their own organization; a national admin adds co-hosts",
            ));
        }
        match &state {
            Some(s) => {
                if !crate::auth::scope::covers_state(conn, &own, s)? {
                    return Err(AppError::field("state", "your organization does not cover this state"));
                }
            }
            None => {
                if !pq::states_of(conn, std::slice::from_ref(&own))?.is_empty() {
                    return Err(AppError::field(
                        "state",
                        "is required: your organization schedules events in the states it covers",
                    ));
                }
            }
        }
        hosts = vec![own];
    }
    Ok(Placement { state, hosts })
}

/// The venue an event moves to, if the actor may hold events there.
pub fn venue_for_change(conn: &mut DbConnection, actor: &Actor, venue_id: &str) -> Result<Venue, AppError> {
    let venue = pq::find_venue(conn, venue_id)?.ok_or_else(|| AppError::field("venue_id", "no such venue"))?;
    if !actor.is_admin() {
        let own = actor.organization_id.clone().unwrap_or_default();
        if !crate::auth::scope::covers_state(conn, &own, &venue.state_code)? {
            return Err(AppError::field("venue_id", "the venue is in a state your organization does not cover"));
        }
    }
    Ok(venue)
}

/// New hosts of an existing event: a national admin's call (else 403), naming organizations that
/// exist.
pub fn check_new_hosts(conn: &mut DbConnection, actor: &Actor, hosts: &[String]) -> Result<(), AppError> {
    actor.require_admin().map_err(|_| AppError::Forbidden("only a national admin changes an event's hosts".into()))?;
    organizations_exist(conn, hosts)
}

fn organizations_exist(conn: &mut DbConnection, ids: &[String]) -> Result<(), AppError> {
    for (i, org) in ids.iter().enumerate() {
        if !pq::organization_exists(conn, org)? {
            return Err(AppError::field(format!("host_organization_ids[{i}]"), "no such organization"));
        }
    }
    Ok(())
}
