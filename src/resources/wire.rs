//! The resources API on the wire: request bodies (`ResourceIn`, `ResourcePatch`,
//! `EventResourcesIn`), query parameters (`ResourceListQuery`, `AdminResourceListQuery`,
//! `RelatedQuery`) and answers (`ResourceOut` in lists, `ResourceDetailOut` for one, their staff
//! forms `AdminResourceOut` and `AdminResourceDetailOut`, `RelatedResourceOut` for an event).
//!
//! Inputs keep closed-set values as typed (strings) and [`super::parse`] turns them into domain
//! types, so one 422 names every bad field; their schemas still list the accepted values.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{Language, ResourceKind, ResourceStatus, Topic};

/// A new resource. A `case_study` needs `case_study`, a `recording` needs `recording`; neither
/// may be given for another kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "case_study", "title": "How Tacos Lupita filled its Tuesdays",
    "summary": "A taco shop in Austin used local ads and a weekly post to bring in lunch crowds.",
    "body_markdown": "## The problem\n\nTuesdays were **quiet**.\n\n## What worked\n\n- A weekly post\n- [Local ads](https://example.org/ads)",
    "topics": ["advertising", "content"], "states": ["TX"], "language": "en",
    "case_study": {"business_name": "Tacos Lupita", "state": "TX", "industry": "Restaurants",
                   "what_it_did": "Ran a $5-a-day local ad and posted its Tuesday special every week.",
                   "results": "Tuesday sales up 30% in two months."}
}))]
pub struct ResourceIn {
    #[schema(value_type = ResourceKind)]
    pub kind: String,
    /// One line, at most 200 characters.
    pub title: String,
    /// Plain text (lines kept), at most 1,000 characters: what list pages show.
    pub summary: String,
    /// The body in Markdown (CommonMark with tables), at most 50,000 characters. Raw HTML is
    /// stripped and links may only go to `http(s):`, `mailto:` or relative addresses. Required
    /// of a guide.
    pub body_markdown: Option<String>,
    /// From the program's vocabulary (any case; duplicates collapse), at most 10.
    #[schema(value_type = Option<Vec<Topic>>)]
    pub topics: Option<Vec<String>>,
    /// The states it is for (two-letter codes); none: national.
    #[schema(example = json!(["TX"]))]
    pub states: Option<Vec<String>>,
    /// `en` (default) or `es`.
    #[schema(value_type = Option<Language>)]
    pub language: Option<String>,
    /// The author organization: an organizer's own (may be left out); required of admins.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub organization_id: Option<String>,
    /// `draft` (default) or `published`.
    #[schema(value_type = Option<ResourceStatus>)]
    pub status: Option<String>,
    /// A case study's business and story.
    pub case_study: Option<CaseStudyIn>,
    /// A recording's link, length and webinar.
    pub recording: Option<RecordingIn>,
}

/// A business's story.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseStudyIn {
    /// One line, at most 200 characters.
    pub business_name: String,
    /// The business's state (two-letter code).
    #[schema(example = "TX")]
    pub state: Option<String>,
    /// One line, at most 100 characters.
    #[schema(example = "Restaurants")]
    pub industry: Option<String>,
    /// What the business did: plain text, at most 5,000 characters.
    pub what_it_did: String,
    /// What came of it: plain text, at most 5,000 characters.
    pub results: String,
}

/// A webinar recording.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingIn {
    /// Where to watch it: an http(s) link.
    #[schema(format = "uri", example = "https://video.example.org/grow-with-ads")]
    pub url: String,
    /// 1 to 1,440.
    #[schema(minimum = 1, maximum = 1440, example = 58)]
    pub duration_minutes: i64,
    /// The webinar it was made at: one the caller may edit, that has ended. It is then related to
    /// that webinar, and publishing it tells the webinar's registrants who accept news.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub event_id: Option<String>,
}

/// A change to a resource: absent fields stay as they are. `case_study` and `recording` are
/// replaced whole. The kind and the author organization do not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "published"}))]
pub struct ResourcePatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body_markdown: Option<String>,
    /// Replaces the topics.
    #[schema(value_type = Option<Vec<Topic>>)]
    pub topics: Option<Vec<String>>,
    /// Replaces the states (`[]`: national).
    pub states: Option<Vec<String>>,
    #[schema(value_type = Option<Language>)]
    pub language: Option<String>,
    /// `published` publishes (a recording of a webinar then tells its registrants), `draft` takes
    /// it off the public lists.
    #[schema(value_type = Option<ResourceStatus>)]
    pub status: Option<String>,
    /// A case study's story (case studies only).
    pub case_study: Option<CaseStudyIn>,
    /// A recording's details (recordings only).
    pub recording: Option<RecordingIn>,
}

/// The resources attached to an event, in the order to show them (replaces the current list).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resource_ids": ["7d1c3f0e-2b8a-4c61-9a55-1f0a3e2b9c44"]}))]
pub struct EventResourcesIn {
    /// At most 20, each once: the caller's own organization's resources, or published ones.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub resource_ids: Vec<String>,
}

/// A cursor as the lists give them out.
fn example_cursor() -> &'static str {
    "WyIyMDMxLTAzLTEyVDE0OjAwOjAwIiwiN2QxYzNmMGUtMmI4YS00YzYxLTlhNTUtMWYwYTNlMmI5YzQ0Il0"
}

/// Filters and paging of the public list (published resources, newest first).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResourceListQuery {
    /// Only resources with this topic (any case); a word outside the vocabulary is a 400.
    #[param(value_type = Option<Topic>, example = "advertising")]
    pub topic: Option<String>,
    /// Resources for this state (two-letter code), and the national ones.
    #[param(example = "TX")]
    pub state: Option<String>,
    /// Only this kind.
    #[param(value_type = Option<ResourceKind>, example = "case_study")]
    pub kind: Option<String>,
    /// Search: every word must start a word of the title, summary, business name or body, in any
    /// case. At most 200 characters.
    #[param(max_length = 200, example = "local ads")]
    pub q: Option<String>,
    /// Only this language.
    #[param(value_type = Option<Language>, example = "es")]
    pub language: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 200, default = 50, example = 20)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(example = example_cursor)]
    pub cursor: Option<String>,
}

/// The staff list: the public filters, a status and an organization.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminResourceListQuery {
    #[param(value_type = Option<Topic>, example = "advertising")]
    pub topic: Option<String>,
    /// For this state (two-letter code), and national.
    #[param(example = "TX")]
    pub state: Option<String>,
    #[param(value_type = Option<ResourceKind>, example = "guide")]
    pub kind: Option<String>,
    /// Search (word prefixes, any case), at most 200 characters.
    #[param(max_length = 200, example = "ads")]
    pub q: Option<String>,
    #[param(value_type = Option<Language>, example = "en")]
    pub language: Option<String>,
    /// Only this status (both by default).
    #[param(value_type = Option<ResourceStatus>, example = "draft")]
    pub status: Option<String>,
    /// Only this author organization (an organizer sees its own only).
    #[param(value_type = Option<uuid::Uuid>)]
    pub organization_id: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50, example = 20)]
    pub limit: Option<i64>,
    #[param(example = example_cursor)]
    pub cursor: Option<String>,
}

/// How an event's related resources are chosen.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RelatedQuery {
    /// This language first (among resources chosen by topic).
    #[param(value_type = Option<Language>, example = "es")]
    pub language: Option<String>,
    /// How many at most.
    #[param(minimum = 1, maximum = 20, default = 6, example = 6)]
    pub limit: Option<i64>,
}

/// The author organization.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthorOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
}

/// A case study's business and story.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseStudyOut {
    pub business_name: String,
    #[schema(required = true, example = "TX")]
    pub state: Option<String>,
    #[schema(required = true)]
    pub industry: Option<String>,
    pub what_it_did: String,
    pub results: String,
}

/// A recording's link, length and webinar.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordingOut {
    #[schema(format = "uri")]
    pub url: String,
    pub duration_minutes: i32,
    /// The webinar it was made at.
    #[schema(format = Uuid, required = true)]
    pub event_id: Option<String>,
}

/// A resource as lists show it (no body).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub kind: ResourceKind,
    pub title: String,
    pub summary: String,
    pub topics: Vec<Topic>,
    /// Two-letter codes; empty: national.
    pub states: Vec<String>,
    pub language: Language,
    pub organization: AuthorOut,
    /// UTC instant; `null` for a draft never published.
    #[schema(format = DateTime, required = true)]
    pub published_at: Option<String>,
    /// Case studies only.
    #[schema(required = true)]
    pub case_study: Option<CaseStudyOut>,
    /// Recordings only.
    #[schema(required = true)]
    pub recording: Option<RecordingOut>,
}

/// One resource with its body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceDetailOut {
    #[serde(flatten)]
    pub resource: ResourceOut,
    /// The body as HTML, safe to put in a page as it is (no raw HTML, no script links).
    pub body_html: String,
}

/// A resource as staff lists show it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminResourceOut {
    #[serde(flatten)]
    pub resource: ResourceOut,
    pub status: ResourceStatus,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One resource as staff see it: with its Markdown and the HTML made from it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminResourceDetailOut {
    #[serde(flatten)]
    pub resource: AdminResourceOut,
    pub body_markdown: String,
    pub body_html: String,
}

crate::text_enum! {
    /// Why a resource is related to an event: it is a recording of it, staff attached it, or it
    /// shares topics with it (only when there are neither recordings nor attachments).
    pub enum Relation { Recording = "recording", Attached = "attached", Topics = "topics" }
}

/// A resource related to an event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RelatedResourceOut {
    #[serde(flatten)]
    pub resource: ResourceOut,
    pub relation: Relation,
}

/// An event's related resources, best first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RelatedResourcesOut {
    pub items: Vec<RelatedResourceOut>,
}

/// The resources staff attached to an event, in order (drafts included).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventResourcesOut {
    pub items: Vec<AdminResourceOut>,
}
