//! Requests → domain values: a create body becomes a [`ResourceDraft`], a PATCH body read against
//! the resource's kind a [`ResourceEdit`], list parameters a [`ResourceFilter`]. Bodies name every
//! bad field in one 422; query parameters are a 400 naming the parameter, as the event lists'.
//!
//! What needs the database (that a state exists, that an organization exists and is the caller's,
//! that a recording's webinar has ended) is checked in [`super::lifecycle`].

use super::queries::ResourceFilter;
use super::wire::{AdminResourceListQuery, CaseStudyIn, RecordingIn, ResourceIn, ResourceListQuery, ResourcePatch};
use crate::domain::{Language, ResourceKind, ResourceStatus, StateCode, Topic};
use crate::error::{AppError, FieldError};
use crate::validate::{self, Errors};

/// The longest Markdown body, in characters (the JSON body of a request is capped at 64 KiB).
pub const MAX_BODY: usize = 30_000;
/// The most topics a request may list (the vocabulary has ten words; duplicates collapse).
const MAX_TOPICS: usize = 20;

/// A new resource, parsed.
#[derive(Debug, Clone)]
pub struct ResourceDraft {
    pub kind: ResourceKind,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub topics: Vec<Topic>,
    pub states: Vec<StateCode>,
    pub language: Language,
    /// As given (a UUID in its stored form); whose it may be is the lifecycle's question.
    pub organization_id: Option<String>,
    pub status: ResourceStatus,
    pub case_study: Option<CaseStudy>,
    pub recording: Option<Recording>,
}

/// A case study's business and story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStudy {
    pub business_name: String,
    pub state: Option<StateCode>,
    pub industry: Option<String>,
    pub what_it_did: String,
    pub results: String,
}

/// A recording's link, length and webinar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub url: String,
    pub duration_minutes: i32,
    pub event_id: Option<String>,
}

/// A change, parsed: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ResourceEdit {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body_markdown: Option<String>,
    pub topics: Option<Vec<Topic>>,
    pub states: Option<Vec<StateCode>>,
    pub language: Option<Language>,
    pub status: Option<ResourceStatus>,
    pub case_study: Option<CaseStudy>,
    pub recording: Option<Recording>,
}

/// Parses the create body; errors name every bad field at once.
pub fn resource_in(input: ResourceIn) -> Result<ResourceDraft, AppError> {
    let mut errs = Errors::new();
    let kind = errs.take(input.kind.trim().parse::<ResourceKind>().map_err(|m| FieldError::new("kind", m)));
    let title = errs.take(validate::text("title", &input.title, 200));
    let summary = errs.take(summary("summary", &input.summary));
    let body = match &input.body_markdown {
        Some(b) => errs.take(body("body_markdown", b)),
        None => Some(String::new()),
    };
    let topics = topics(&mut errs, input.topics.as_deref().unwrap_or(&[]));
    let states = states(&mut errs, input.states.as_deref().unwrap_or(&[]));
    let language = match input.language.as_deref() {
        Some(l) => errs.take(language(l)),
        None => Some(Language::English),
    };
    let organization_id =
        input.organization_id.as_deref().and_then(|o| errs.take(validate::uuid("organization_id", o)));
    let status = match input.status.as_deref() {
        Some(s) => errs.take(status(s)),
        None => Some(ResourceStatus::Draft),
    };
    let case_study = input.case_study.as_ref().and_then(|c| case_study(&mut errs, c));
    let recording = input.recording.as_ref().and_then(|r| recording(&mut errs, r));
    if let Some(kind) = kind {
        match (kind, input.case_study.is_some()) {
            (ResourceKind::CaseStudy, false) => errs.push("case_study", "is required for a case study"),
            (ResourceKind::Guide | ResourceKind::Recording, true) => {
                errs.push("case_study", "only a case study has one")
            }
            _ => {}
        }
        match (kind, input.recording.is_some()) {
            (ResourceKind::Recording, false) => errs.push("recording", "is required for a recording"),
            (ResourceKind::Guide | ResourceKind::CaseStudy, true) => errs.push("recording", "only a recording has one"),
            _ => {}
        }
        if kind == ResourceKind::Guide && body.as_deref().is_some_and(str::is_empty) {
            errs.push("body_markdown", "is required for a guide");
        }
    }
    let (Some(kind), Some(title), Some(summary), Some(body_markdown), Some(language), Some(status)) =
        (kind, title, summary, body, language, status)
    else {
        return Err(rejected(errs));
    };
    errs.finish()?;
    Ok(ResourceDraft {
        kind,
        title,
        summary,
        body_markdown,
        topics,
        states,
        language,
        organization_id,
        status,
        case_study,
        recording,
    })
}

/// Parses a PATCH of a resource of `kind`.
pub fn resource_patch(patch: ResourcePatch, kind: ResourceKind) -> Result<ResourceEdit, AppError> {
    let mut errs = Errors::new();
    let title = patch.title.as_deref().and_then(|t| errs.take(validate::text("title", t, 200)));
    let summary = patch.summary.as_deref().and_then(|s| errs.take(summary("summary", s)));
    let body_markdown = patch.body_markdown.as_deref().and_then(|b| errs.take(body("body_markdown", b)));
    if kind == ResourceKind::Guide && body_markdown.as_deref().is_some_and(str::is_empty) {
        errs.push("body_markdown", "is required for a guide");
    }
    let topics = patch.topics.as_deref().map(|t| topics(&mut errs, t));
    let states = patch.states.as_deref().map(|s| states(&mut errs, s));
    let language = patch.language.as_deref().and_then(|l| errs.take(language(l)));
    let status = patch.status.as_deref().and_then(|s| errs.take(status(s)));
    let case_study = match &patch.case_study {
        Some(_) if kind != ResourceKind::CaseStudy => {
            errs.push("case_study", "only a case study has one");
            None
        }
        Some(c) => case_study(&mut errs, c),
        None => None,
    };
    let recording = match &patch.recording {
        Some(_) if kind != ResourceKind::Recording => {
            errs.push("recording", "only a recording has one");
            None
        }
        Some(r) => recording(&mut errs, r),
        None => None,
    };
    errs.finish()?;
    Ok(ResourceEdit { title, summary, body_markdown, topics, states, language, status, case_study, recording })
}

/// The errors collected so far as one 422 (a value missing without an error would be a bug here).
fn rejected(errs: Errors) -> AppError {
    match errs.finish() {
        Err(e) => e,
        Ok(()) => AppError::internal("a resource field was missing without an error"),
    }
}

fn summary(field: &str, value: &str) -> Result<String, FieldError> {
    let v = validate::multiline(field, value, 1_000)?;
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    Ok(v)
}

fn body(field: &str, value: &str) -> Result<String, FieldError> {
    validate::multiline(field, value, MAX_BODY)
}

fn language(value: &str) -> Result<Language, FieldError> {
    value.trim().to_ascii_lowercase().parse::<Language>().map_err(|m| FieldError::new("language", m))
}

fn status(value: &str) -> Result<ResourceStatus, FieldError> {
    value.trim().parse::<ResourceStatus>().map_err(|m| FieldError::new("status", m))
}

/// Topics from the vocabulary, in any case, without duplicates, at most 20 given; a word outside it is named by its
/// index with the accepted values (as an event's).
fn topics(errs: &mut Errors, given: &[String]) -> Vec<Topic> {
    if given.len() > MAX_TOPICS {
        errs.push("topics", format!("at most {MAX_TOPICS} topics"));
        return Vec::new();
    }
    let mut out: Vec<Topic> = Vec::new();
    for (i, t) in given.iter().enumerate() {
        match t.trim().to_ascii_lowercase().parse::<Topic>() {
            Ok(t) if !out.contains(&t) => out.push(t),
            Ok(_) => {}
            Err(m) => errs.push(format!("topics[{i}]"), m),
        }
    }
    out
}

/// State codes (upper-cased, without duplicates); whether each exists is checked against the
/// `states` table later. At most the 51 there are.
fn states(errs: &mut Errors, given: &[String]) -> Vec<StateCode> {
    if given.len() > 51 {
        errs.push("states", "at most 51 states (leave the list empty for a national resource)");
        return Vec::new();
    }
    let mut out: Vec<StateCode> = Vec::new();
    for (i, s) in given.iter().enumerate() {
        if let Some(code) = errs.take(validate::state_code(&format!("states[{i}]"), s)) {
            if !out.contains(&code) {
                out.push(code);
            }
        }
    }
    out
}

fn case_study(errs: &mut Errors, c: &CaseStudyIn) -> Option<CaseStudy> {
    let name = errs.take(validate::text("case_study.business_name", &c.business_name, 200));
    let state = c.state.as_deref().and_then(|s| errs.take(validate::state_code("case_study.state", s)));
    let industry = errs.take(validate::opt_text("case_study.industry", c.industry.as_deref(), 100)).flatten();
    let did = errs.take(story("case_study.what_it_did", &c.what_it_did));
    let results = errs.take(story("case_study.results", &c.results));
    Some(CaseStudy { business_name: name?, state, industry, what_it_did: did?, results: results? })
}

fn story(field: &str, value: &str) -> Result<String, FieldError> {
    let v = validate::multiline(field, value, 5_000)?;
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    Ok(v)
}

fn recording(errs: &mut Errors, r: &RecordingIn) -> Option<Recording> {
    let url = errs.take(validate::url("recording.url", &r.url));
    let minutes = match i32::try_from(r.duration_minutes) {
        Ok(n) if (1..=1440).contains(&n) => Some(n),
        _ => {
            errs.push("recording.duration_minutes", "must be between 1 and 1440");
            None
        }
    };
    let event_id = r.event_id.as_deref().and_then(|e| errs.take(validate::uuid("recording.event_id", e)));
    if r.event_id.is_some() && event_id.is_none() {
        return None;
    }
    Some(Recording { url: url?, duration_minutes: minutes?, event_id })
}

/// The filters of the public list (always `published`). Bad parameters are a 400 naming the
/// parameter.
pub fn public_filter(q: &ResourceListQuery) -> Result<ResourceFilter, AppError> {
    let mut f = ResourceFilter {
        topic: topic_param(q.topic.as_deref())?,
        state: state_param(q.state.as_deref())?,
        kind: q.kind.as_deref().map(|k| k.trim().parse::<ResourceKind>().map_err(|m| bad("kind", m))).transpose()?,
        q: search_param(q.q.as_deref())?,
        language: q.language.as_deref().map(|l| language(l).map_err(|e| bad("language", e.message))).transpose()?,
        ..ResourceFilter::default()
    };
    f.status = Some(ResourceStatus::Published);
    Ok(f)
}

/// The filters of the staff list.
pub fn admin_filter(q: &AdminResourceListQuery) -> Result<ResourceFilter, AppError> {
    Ok(ResourceFilter {
        topic: topic_param(q.topic.as_deref())?,
        state: state_param(q.state.as_deref())?,
        kind: q.kind.as_deref().map(|k| k.trim().parse::<ResourceKind>().map_err(|m| bad("kind", m))).transpose()?,
        q: search_param(q.q.as_deref())?,
        language: q.language.as_deref().map(|l| language(l).map_err(|e| bad("language", e.message))).transpose()?,
        status: q.status.as_deref().map(|s| status(s).map_err(|e| bad("status", e.message))).transpose()?,
        organization_id: q
            .organization_id
            .as_deref()
            .map(|o| validate::uuid("organization_id", o).map_err(|e| bad("organization_id", e.message)))
            .transpose()?,
    })
}

/// `?language=` of an event's related resources.
pub fn preferred_language(value: Option<&str>) -> Result<Option<Language>, AppError> {
    value.map(|l| language(l).map_err(|e| bad("language", e.message))).transpose()
}

/// `?limit=` of an event's related resources: default 6, at most 20.
pub fn related_limit(limit: Option<i64>) -> Result<i64, AppError> {
    match limit {
        None => Ok(6),
        Some(n) if (1..=20).contains(&n) => Ok(n),
        Some(_) => Err(bad("limit", "must be between 1 and 20")),
    }
}

fn bad(field: &str, message: impl Into<String>) -> AppError {
    AppError::bad_field(field, message)
}

fn topic_param(value: Option<&str>) -> Result<Option<Topic>, AppError> {
    value
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.to_ascii_lowercase().parse::<Topic>().map_err(|m| bad("topic", m)))
        .transpose()
}

fn state_param(value: Option<&str>) -> Result<Option<StateCode>, AppError> {
    value.map(|s| validate::state_code("state", s).map_err(|e| bad("state", e.message))).transpose()
}

fn search_param(value: Option<&str>) -> Result<Option<String>, AppError> {
    let text = value.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(bad("q", "must be at most 200 characters"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(v: serde_json::Value) -> ResourceIn {
        serde_json::from_value(v).expect("a ResourceIn")
    }

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_case_study_parses_into_typed_values() {
        let d = resource_in(body_of(serde_json::json!({
            "kind": "case_study", "title": " Tacos ", "summary": "Lunch crowds", "body_markdown": "# Hi",
            "topics": ["Advertising", "advertising", "video"], "states": ["tx", "TX"], "language": "ES",
            "case_study": {"business_name": "Tacos Lupita", "state": "tx", "what_it_did": "Ads", "results": "More"}
        })))
        .unwrap();
        assert_eq!(
            (d.kind, d.title.as_str(), d.language, d.status),
            (ResourceKind::CaseStudy, "Tacos", Language::Spanish, ResourceStatus::Draft)
        );
        assert_eq!(d.topics, [Topic::Advertising, Topic::Video]);
        assert_eq!(d.states.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["TX"]);
        assert_eq!(d.case_study.unwrap().state.unwrap().as_str(), "TX");
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let err = resource_in(body_of(serde_json::json!({
            "kind": "recording", "title": "", "summary": "", "topics": ["ads"], "states": ["Texas"],
            "language": "fr", "status": "live", "organization_id": "x",
            "recording": {"url": "javascript:alert(1)", "duration_minutes": 0, "event_id": "y"},
            "case_study": {"business_name": "B", "what_it_did": "d", "results": "r"}
        })))
        .unwrap_err();
        let f = fields(err);
        for want in [
            "title",
            "summary",
            "topics[0]",
            "states[0]",
            "language",
            "status",
            "organization_id",
            "recording.url",
            "recording.duration_minutes",
            "recording.event_id",
            "case_study",
        ] {
            assert!(f.iter().any(|x| x == want), "{want} missing in {f:?}");
        }
    }

    #[test]
    fn kinds_bring_their_own_requirements() {
        let base = |kind: &str| serde_json::json!({"kind": kind, "title": "T", "summary": "S"});
        assert_eq!(fields(resource_in(body_of(base("case_study"))).unwrap_err()), ["case_study"]);
        assert_eq!(fields(resource_in(body_of(base("recording"))).unwrap_err()), ["recording"]);
        assert_eq!(fields(resource_in(body_of(base("guide"))).unwrap_err()), ["body_markdown"]);
        let err = resource_patch(
            serde_json::from_value(
                serde_json::json!({"recording": {"url": "https://x.example", "duration_minutes": 5}}),
            )
            .unwrap(),
            ResourceKind::Guide,
        )
        .unwrap_err();
        assert_eq!(fields(err), ["recording"]);
    }

    #[test]
    fn list_filters_are_typed_and_bad_ones_are_400s() {
        let f = public_filter(&ResourceListQuery {
            topic: Some(" Video ".into()),
            state: Some("tx".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (f.topic, f.state.as_ref().map(|s| s.as_str()), f.status),
            (Some(Topic::Video), Some("TX"), Some(ResourceStatus::Published))
        );
        let bad = |q: ResourceListQuery| matches!(public_filter(&q), Err(AppError::BadRequest { .. }));
        assert!(bad(ResourceListQuery { kind: Some("podcast".into()), ..Default::default() }));
        assert!(bad(ResourceListQuery { topic: Some("instagram".into()), ..Default::default() }));
        assert!(bad(ResourceListQuery { state: Some("Texas".into()), ..Default::default() }));
        assert!(bad(ResourceListQuery { language: Some("fr".into()), ..Default::default() }));
        assert!(bad(ResourceListQuery { q: Some("x".repeat(201)), ..Default::default() }));
        assert!(matches!(
            admin_filter(&AdminResourceListQuery { status: Some("gone".into()), ..Default::default() }),
            Err(AppError::BadRequest { .. })
        ));
    }
}
