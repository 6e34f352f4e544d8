//! The site's learning pages: `/resources` (find case studies, guides and recordings) and
//! `/resources/{id}` (one, its body as the safe HTML [`crate::resources::markdown`] makes), and
//! the related resources an event page lists.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::handlers::{frame, problem, Frame};
use super::{render, topic_name, Caching, Framing};
use crate::db::Db;
use crate::domain::{Language, ResourceKind, Topic};
use crate::error::{AppError, FieldError};
use crate::http::Page;
use crate::i18n::text;
use crate::openapi::problems::SitePage;
use crate::resources::wire::{ResourceListQuery, ResourceOut};

/// The finder's query. Unknown parameters are ignored.
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResourceFinderQuery {
    /// A topic of the shared vocabulary.
    pub topic: Option<String>,
    /// Two-letter state code: its resources and the national ones.
    pub state: Option<String>,
    /// `case_study`, `guide` or `recording`.
    pub kind: Option<String>,
    /// Words.
    pub q: Option<String>,
    /// Only resources written in this language (`en`, `es`).
    pub language: Option<String>,
    /// The next page (from the page's own link).
    pub cursor: Option<String>,
    /// The page's language (`en` or `es`).
    pub lang: Option<String>,
}

/// A resource in a list.
#[derive(Serialize)]
pub struct ResourceCard {
    id: String,
    url: String,
    title: String,
    kind: &'static str,
    summary: String,
    topics: Vec<&'static str>,
    language: &'static str,
    author: String,
}

pub(super) fn resource_card(lang: Language, r: &ResourceOut) -> ResourceCard {
    ResourceCard {
        id: r.id.clone(),
        url: format!("/resources/{}?lang={}", r.id, lang.as_str()),
        title: r.title.clone(),
        kind: kind_name(lang, r.kind),
        summary: r.summary.clone(),
        topics: r.topics.iter().map(|t| topic_name(lang, *t)).collect(),
        language: text(lang, &format!("language.{}", r.language.as_str())),
        author: r.organization.name.clone(),
    }
}

fn kind_name(lang: Language, kind: ResourceKind) -> &'static str {
    text(lang, &format!("resource_kind.{}", kind.as_str()))
}

#[derive(Serialize)]
struct ResourcesView {
    #[serde(flatten)]
    frame: Frame,
    title: &'static str,
    query: ResourceFinderQuery,
    kinds: Vec<(&'static str, &'static str)>,
    topics: Vec<(&'static str, &'static str)>,
    languages: Vec<(&'static str, &'static str)>,
    errors: BTreeMap<String, &'static str>,
    resources: Vec<ResourceCard>,
    next_url: Option<String>,
}

async fn find(db: &Db, q: ResourceListQuery) -> Result<Page<ResourceOut>, AppError> {
    let filter = crate::resources::parse::public_filter(&q)?;
    let after = q.cursor.as_deref().map(crate::http::decode_cursor).transpose()?;
    let limit = q.limit.unwrap_or(20);
    db.read(move |c| {
        let rows = crate::resources::queries::list_public(c, &filter, after, limit + 1)?;
        crate::resources::render::public_page(c, rows, limit)
    })
    .await
}

/// Find case studies, guides and webinar recordings.
#[utoipa::path(
    get,
    path = "/resources",
    tag = "site",
    params(ResourceFinderQuery),
    responses((status = 200, description = "The page", content_type = "text/html", body = String), SitePage)
)]
pub(crate) async fn resources_page(
    req: HttpRequest,
    db: web::Data<Db>,
    q: web::Query<ResourceFinderQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let lang = super::language(&req, q.lang.as_deref());
    let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let list = ResourceListQuery {
        topic: blank(&q.topic),
        state: blank(&q.state).map(|s| s.to_ascii_uppercase()),
        kind: blank(&q.kind),
        q: blank(&q.q),
        language: blank(&q.language),
        limit: Some(20),
        cursor: blank(&q.cursor),
    };
    let mut errors = BTreeMap::new();
    let page = match find(&db, list).await {
        Ok(p) => Some(p),
        Err(e @ (AppError::BadRequest { .. } | AppError::Validation(_))) => {
            let fields: Vec<FieldError> = match e {
                AppError::BadRequest { errors, .. } | AppError::Validation(errors) => errors,
                _ => Vec::new(),
            };
            for f in fields {
                let key = match f.field.as_str() {
                    "topic" | "kind" | "q" | "cursor" | "state" => format!("filter.error.{}", f.field),
                    "language" => "filter.error.language".to_string(),
                    _ => "filter.error.other".to_string(),
                };
                errors.insert(f.field.clone(), text(lang, &key));
            }
            None
        }
        Err(e) => return Err(e),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let (resources, next) = match page {
        Some(p) => (p.items.iter().map(|r| resource_card(lang, r)).collect(), p.next_cursor),
        None => (Vec::new(), None),
    };
    let next_url = next.map(|cursor| super::handlers::next_page_url("/resources", req.query_string(), &cursor, lang));
    let states = db.read(crate::states::all).await?;
    let view = ResourcesView {
        frame: frame(lang, &req, states),
        title: text(lang, "resources.title"),
        query: q,
        kinds: ResourceKind::ALL.iter().map(|k| (k.as_str(), kind_name(lang, *k))).collect(),
        topics: Topic::ALL.iter().map(|t| (t.as_str(), topic_name(lang, *t))).collect(),
        languages: Language::ALL
            .iter()
            .map(|l| (l.as_str(), text(lang, &format!("language.{}", l.as_str()))))
            .collect(),
        errors,
        resources,
        next_url,
    };
    render(status, "resources.html", view, Framing::Never, Caching::Public)
}

#[derive(Serialize)]
struct ResourceView {
    #[serde(flatten)]
    frame: Frame,
    title: String,
    resource: ResourceCard,
    /// Safe HTML (see [`crate::resources::markdown`]).
    body_html: String,
    case_study: Option<crate::resources::wire::CaseStudyOut>,
    recording_url: Option<String>,
    duration: Option<String>,
    /// The resource's own language, for the `lang` attribute of its text.
    content_lang: &'static str,
}

/// One case study, guide or recording.
#[utoipa::path(
    get,
    path = "/resources/{id}",
    tag = "site",
    params(("id" = String, Path, description = "The resource."), super::handlers::LangQuery),
    responses((status = 200, description = "The page", content_type = "text/html", body = String), SitePage)
)]
pub(crate) async fn resource_page(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
    q: web::Query<super::handlers::LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = super::language(&req, q.lang.as_deref());
    let found = match crate::http::parse_id("id", &path) {
        Ok(id) => {
            db.read(move |c| match crate::resources::queries::find_public(c, &id)? {
                Some(r) => crate::resources::render::public_one(c, r).map(Some),
                None => Ok(None),
            })
            .await?
        }
        Err(_) => None,
    };
    let Some(r) = found else { return problem(StatusCode::NOT_FOUND, lang, &req, "page.resource_not_found") };
    let view = ResourceView {
        frame: frame(lang, &req, Vec::new()),
        title: r.resource.title.clone(),
        resource: resource_card(lang, &r.resource),
        body_html: r.body_html,
        case_study: r.resource.case_study.clone(),
        recording_url: r.resource.recording.as_ref().map(|x| x.url.clone()),
        duration: r
            .resource
            .recording
            .as_ref()
            .map(|x| crate::i18n::format(lang, "resource.minutes", &[("n", &x.duration_minutes)])),
        content_lang: r.resource.language.as_str(),
    };
    render(StatusCode::OK, "resource.html", view, Framing::Never, Caching::Public)
}

/// The resources an event page lists (its recordings, then what its organizers attached, else
/// the ones sharing its topics), in the reader's language first.
pub(super) async fn related(db: &Db, lang: Language, event_id: &str) -> Result<Vec<ResourceCard>, AppError> {
    let id = event_id.to_string();
    let items = db
        .read(move |c| {
            let Some(event) = crate::events::queries::find_public(c, &id)? else { return Ok(Vec::new()) };
            let chosen = crate::resources::related::of_event(c, &event, Some(lang), 5)?;
            crate::resources::related::answer(c, chosen)
        })
        .await?;
    Ok(items.iter().map(|r| resource_card(lang, &r.resource)).collect())
}
