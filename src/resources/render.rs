//! Resource rows → answers. What a row does not hold (topics, states, the author organization's
//! name) is loaded for a whole page in one query each; the HTML of a body is made here, on read
//! ([`super::markdown`]).

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;

use super::markdown;
use super::model::Resource;
use super::queries::{self, Cursor};
use super::wire::{
    AdminResourceDetailOut, AdminResourceOut, AuthorOut, CaseStudyOut, RecordingOut, ResourceDetailOut, ResourceOut,
};
use crate::db::{from_db_time, DbConnection};
use crate::domain::Topic;
use crate::error::AppError;
use crate::http::{next_page, Page};
use crate::time::utc_string;

/// What the answers for a set of resources need besides their rows.
pub struct Extras {
    topics: HashMap<String, Vec<Topic>>,
    states: HashMap<String, Vec<String>>,
    organizations: HashMap<String, String>,
}

impl Extras {
    pub fn load(conn: &mut DbConnection, rows: &[Resource]) -> Result<Extras, AppError> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let orgs: Vec<String> =
            rows.iter().map(|r| r.organization_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        Ok(Extras {
            topics: queries::topics_of(conn, &ids)?,
            states: queries::states_of(conn, &ids)?,
            organizations: queries::organization_names(conn, &orgs)?,
        })
    }

    /// The topics of a loaded resource.
    pub fn topics(&self, id: &str) -> &[Topic] {
        self.topics.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// The states of a loaded resource (none: national).
    pub fn states(&self, id: &str) -> &[String] {
        self.states.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// A resource as lists show it.
    pub fn card(&self, r: &Resource) -> ResourceOut {
        ResourceOut {
            id: r.id.clone(),
            kind: r.kind,
            title: r.title.clone(),
            summary: r.summary.clone(),
            topics: self.topics(&r.id).to_vec(),
            states: self.states(&r.id).to_vec(),
            language: r.language,
            organization: AuthorOut {
                id: r.organization_id.clone(),
                name: self.organizations.get(&r.organization_id).cloned().unwrap_or_default(),
            },
            published_at: r.published_at.map(utc),
            case_study: r.business_name.as_ref().map(|name| CaseStudyOut {
                business_name: name.clone(),
                state: r.business_state.clone(),
                industry: r.business_industry.clone(),
                what_it_did: r.business_actions.clone().unwrap_or_default(),
                results: r.business_results.clone().unwrap_or_default(),
            }),
            recording: r.recording_url.as_ref().map(|url| RecordingOut {
                url: url.clone(),
                duration_minutes: r.duration_minutes.unwrap_or_default(),
                event_id: r.event_id.clone(),
            }),
        }
    }

    fn admin(&self, r: &Resource) -> AdminResourceOut {
        AdminResourceOut {
            resource: self.card(r),
            status: r.status,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

/// A page of the public list, from `limit + 1` rows in list order.
pub fn public_page(
    conn: &mut DbConnection,
    mut rows: Vec<Resource>,
    limit: i64,
) -> Result<Page<ResourceOut>, AppError> {
    let next_cursor = next_page(&mut rows, limit, public_key);
    let x = Extras::load(conn, &rows)?;
    Ok(Page { items: rows.iter().map(|r| x.card(r)).collect(), next_cursor })
}

/// One resource as anyone sees it.
pub fn public_one(conn: &mut DbConnection, r: Resource) -> Result<ResourceDetailOut, AppError> {
    let x = Extras::load(conn, std::slice::from_ref(&r))?;
    Ok(ResourceDetailOut { resource: x.card(&r), body_html: markdown::to_html(&r.body_markdown) })
}

/// A page of the staff list, from `limit + 1` rows in list order.
pub fn admin_page(
    conn: &mut DbConnection,
    mut rows: Vec<Resource>,
    limit: i64,
) -> Result<Page<AdminResourceOut>, AppError> {
    let next_cursor = next_page(&mut rows, limit, admin_key);
    let x = Extras::load(conn, &rows)?;
    Ok(Page { items: rows.iter().map(|r| x.admin(r)).collect(), next_cursor })
}

/// Staff answers for these rows, in their order.
pub fn admin_items(conn: &mut DbConnection, rows: &[Resource]) -> Result<Vec<AdminResourceOut>, AppError> {
    let x = Extras::load(conn, rows)?;
    Ok(rows.iter().map(|r| x.admin(r)).collect())
}

/// One resource as staff see it.
pub fn admin_one(conn: &mut DbConnection, r: Resource) -> Result<AdminResourceDetailOut, AppError> {
    let x = Extras::load(conn, std::slice::from_ref(&r))?;
    Ok(AdminResourceDetailOut {
        resource: x.admin(&r),
        body_html: markdown::to_html(&r.body_markdown),
        body_markdown: r.body_markdown,
    })
}

/// The public list's keyset position (published resources always have `published_at`).
fn public_key(r: &Resource) -> Cursor {
    (r.published_at.unwrap_or(r.created_at), r.id.clone())
}

fn admin_key(r: &Resource) -> Cursor {
    (r.created_at, r.id.clone())
}

fn utc(t: NaiveDateTime) -> String {
    utc_string(from_db_time(t))
}
