//! Resource rows as diesel reads and writes them; the closed sets (`kind`, `language`, `status`)
//! are the domain enums of [`crate::domain`].

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::resources;
use crate::domain::{Language, ResourceKind, ResourceStatus};

/// A `resources` row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = resources)]
pub struct Resource {
    pub id: String,
    pub kind: ResourceKind,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub language: Language,
    pub status: ResourceStatus,
    pub organization_id: String,
    pub business_name: Option<String>,
    pub business_state: Option<String>,
    pub business_industry: Option<String>,
    pub business_actions: Option<String>,
    pub business_results: Option<String>,
    pub recording_url: Option<String>,
    pub duration_minutes: Option<i32>,
    pub event_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

/// A new `resources` row.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = resources)]
pub struct NewResource {
    pub id: String,
    pub kind: ResourceKind,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub language: Language,
    pub status: ResourceStatus,
    pub organization_id: String,
    pub business_name: Option<String>,
    pub business_state: Option<String>,
    pub business_industry: Option<String>,
    pub business_actions: Option<String>,
    pub business_results: Option<String>,
    pub recording_url: Option<String>,
    pub duration_minutes: Option<i32>,
    pub event_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
}

/// Column changes of a PATCH (`None` = unchanged; `Some(None)` clears a nullable column).
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = resources)]
pub struct ResourceChanges {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body_markdown: Option<String>,
    pub language: Option<Language>,
    pub status: Option<ResourceStatus>,
    pub business_name: Option<Option<String>>,
    pub business_state: Option<Option<String>>,
    pub business_industry: Option<Option<String>>,
    pub business_actions: Option<Option<String>>,
    pub business_results: Option<Option<String>>,
    pub recording_url: Option<Option<String>>,
    pub duration_minutes: Option<Option<i32>>,
    pub event_id: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
    pub published_at: Option<Option<NaiveDateTime>>,
}
