//! A resource in staff hands: created (as a draft, or published at once), changed, published or
//! taken back to draft, deleted; and the resources attached to an event. Each function runs inside
//! the caller's write transaction, scoped to the actor (a resource or event it may not manage is a
//! 404), records the change in the audit trail (field names and ids only) and returns the result
//! as it now is.
//!
//! Rules that need the database:
//! - The author organization: an organizer writes for its own (naming another is a 422 on
//!   `organization_id`); an admin names an existing one.
//! - States (`states[i]`, `case_study.state`) must be states of the `states` table.
//! - A recording's `event_id` names a webinar the actor may edit that has ended (a draft, a
//!   cancelled event, another kind or one still to come is a 422 on `recording.event_id`; one out
//!   of the actor's reach reads as "no such event").
//! - When a recording of a webinar becomes published (published at once, published later, or
//!   moved to a webinar while published), the webinar's registrants who accept marketing mail are
//!   written a "recording available" notice in this transaction ([`notify_recording`]). The
//!   notice's dedupe key is the registration and the resource, so publishing again, or a second
//!   process, writes nothing twice. It is one outbox row per registrant, rendered and written
//!   while the publishing request waits: for a webinar of many thousands, as long as writing that
//!   many emails takes.

use super::model::{NewResource, Resource, ResourceChanges};
use super::parse::{self, CaseStudy, Recording, ResourceDraft, ResourceEdit};
use super::queries;
use super::wire::ResourcePatch;
use crate::audit::{self, Changes};
use crate::auth::{Actor, Role};
use crate::db::{new_id, now, DbConnection};
use crate::domain::{EventKind, EventStatus, ResourceKind, ResourceStatus, StateCode};
use crate::error::{AppError, FieldError};
use crate::mail::{MailContext, Notice};

/// The most resources attached to one event.
pub const MAX_ATTACHED: usize = 20;

/// Stores a new resource for the actor's organization (or the one an admin names).
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    ctx: &MailContext,
    draft: ResourceDraft,
) -> Result<Resource, AppError> {
    let organization_id = author(conn, actor, draft.organization_id.as_deref())?;
    check_states(conn, &draft.states, draft.case_study.as_ref())?;
    if let Some(event_id) = draft.recording.as_ref().and_then(|r| r.event_id.as_deref()) {
        check_recording_event(conn, actor, event_id)?;
    }
    let ts = now();
    let published = draft.status == ResourceStatus::Published;
    let case = draft.case_study.clone();
    let rec = draft.recording.clone();
    let row = NewResource {
        id: new_id(),
        kind: draft.kind,
        title: draft.title,
        summary: draft.summary,
        body_markdown: draft.body_markdown,
        language: draft.language,
        status: draft.status,
        organization_id: organization_id.clone(),
        business_name: case.as_ref().map(|c| c.business_name.clone()),
        business_state: case.as_ref().and_then(|c| c.state.as_ref().map(|s| s.as_str().to_string())),
        business_industry: case.as_ref().and_then(|c| c.industry.clone()),
        business_actions: case.as_ref().map(|c| c.what_it_did.clone()),
        business_results: case.as_ref().map(|c| c.results.clone()),
        recording_url: rec.as_ref().map(|r| r.url.clone()),
        duration_minutes: rec.as_ref().map(|r| r.duration_minutes),
        event_id: rec.as_ref().and_then(|r| r.event_id.clone()),
        created_by: Some(actor.user_id.clone()),
        created_at: ts,
        updated_at: ts,
        published_at: published.then_some(ts),
    };
    queries::insert(conn, &row, &draft.topics, &draft.states)?;
    let mut changes =
        Changes::fields(&["kind", "title", "summary", "body_markdown", "topics", "states", "language", "status"])
            .with_ref("organization_id", &organization_id);
    if case.is_some() {
        changes = changes.field("case_study");
    }
    if let Some(r) = &rec {
        changes = changes.field("recording");
        if let Some(e) = &r.event_id {
            changes = changes.with_ref("event_id", e);
        }
    }
    audit::record(conn, actor, "create", "resource", &row.id, changes)?;
    let r = reread(conn, &row.id)?;
    if published {
        notify_recording(conn, ctx, &r)?;
    }
    Ok(r)
}

/// Applies a PATCH to the resource `id` (see the module docs for publishing).
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    ctx: &MailContext,
    id: &str,
    patch: ResourcePatch,
) -> Result<Resource, AppError> {
    let r =
        queries::lock_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such learning resource"))?;
    let edit = parse::resource_patch(patch, r.kind)?;
    check_states(conn, edit.states.as_deref().unwrap_or(&[]), edit.case_study.as_ref())?;
    let new_event = edit.recording.as_ref().and_then(|x| x.event_id.clone());
    let event_moved = edit.recording.is_some() && new_event != r.event_id;
    if event_moved {
        if let Some(e) = &new_event {
            check_recording_event(conn, actor, e)?;
        }
    }
    let changes = changes_of(&r, &edit);
    let action = match (r.status, edit.status) {
        (ResourceStatus::Draft, Some(ResourceStatus::Published)) => "publish",
        (ResourceStatus::Published, Some(ResourceStatus::Draft)) => "unpublish",
        _ => "update",
    };
    let mut audited = Changes::of_set(&[
        ("title", edit.title.is_some()),
        ("summary", edit.summary.is_some()),
        ("body_markdown", edit.body_markdown.is_some()),
        ("topics", edit.topics.is_some()),
        ("states", edit.states.is_some()),
        ("language", edit.language.is_some()),
        ("status", edit.status.is_some()),
        ("case_study", edit.case_study.is_some()),
        ("recording", edit.recording.is_some()),
    ]);
    if event_moved {
        if let Some(e) = &new_event {
            audited = audited.with_ref("event_id", e);
        }
    }
    audit::record(conn, actor, action, "resource", id, audited)?;
    queries::update(conn, id, &changes)?;
    if let Some(topics) = &edit.topics {
        queries::set_topics(conn, id, topics)?;
    }
    if let Some(states) = &edit.states {
        queries::set_states(conn, id, states)?;
    }
    let after = reread(conn, id)?;
    let became_public = r.status == ResourceStatus::Draft && after.status == ResourceStatus::Published;
    if became_public || (event_moved && after.status == ResourceStatus::Published) {
        notify_recording(conn, ctx, &after)?;
    }
    Ok(after)
}

/// The column changes of an edit (an unchanged status keeps its `published_at`; publishing again
/// stamps a new one, so the resource comes first in the lists again).
fn changes_of(r: &Resource, edit: &ResourceEdit) -> ResourceChanges {
    let ts = now();
    let mut c = ResourceChanges {
        title: edit.title.clone(),
        summary: edit.summary.clone(),
        body_markdown: edit.body_markdown.clone(),
        language: edit.language,
        status: edit.status.filter(|s| *s != r.status),
        updated_at: Some(ts),
        ..ResourceChanges::default()
    };
    if c.status == Some(ResourceStatus::Published) {
        c.published_at = Some(Some(ts));
    }
    if let Some(CaseStudy { business_name, state, industry, what_it_did, results }) = edit.case_study.clone() {
        c.business_name = Some(Some(business_name));
        c.business_state = Some(state.map(StateCode::into_string));
        c.business_industry = Some(industry);
        c.business_actions = Some(Some(what_it_did));
        c.business_results = Some(Some(results));
    }
    if let Some(Recording { url, duration_minutes, event_id }) = edit.recording.clone() {
        c.recording_url = Some(Some(url));
        c.duration_minutes = Some(Some(duration_minutes));
        c.event_id = Some(event_id);
    }
    c
}

/// Deletes a resource: it leaves the public lists and every event it was attached to. The audit
/// trail keeps that it was.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<(), AppError> {
    let r =
        queries::lock_for_actor(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such learning resource"))?;
    queries::delete(conn, &r.id)?;
    audit::record(
        conn,
        actor,
        "delete",
        "resource",
        &r.id,
        Changes::none().with_ref("organization_id", &r.organization_id),
    )
}

/// The resources attached to an event the actor may edit, as the actor may see them: every
/// published one, and drafts of its own organization (all for admins).
pub fn attached(conn: &mut DbConnection, actor: &Actor, event_id: &str) -> Result<Vec<Resource>, AppError> {
    crate::events::queries::find_for_actor(conn, actor, event_id)?
        .ok_or_else(|| AppError::not_found("no such event"))?;
    let visible = |r: &Resource| {
        r.status == ResourceStatus::Published || actor.is_admin() || actor.organizer_org() == Some(&r.organization_id)
    };
    Ok(queries::attached(conn, event_id, false)?.into_iter().filter(visible).collect())
}

/// Replaces the resources attached to an event the actor may edit by `ids`, in that order. Each
/// must be one the actor manages or a published one (else a 422 naming `resource_ids[i]`, the
/// same whether it does not exist or is another organization's draft); duplicates collapse.
pub fn set_attached(
    conn: &mut DbConnection,
    actor: &Actor,
    event_id: &str,
    given: &[String],
) -> Result<Vec<Resource>, AppError> {
    queries::lock_event_attachments(conn, event_id)?;
    crate::events::queries::find_for_actor(conn, actor, event_id)?
        .ok_or_else(|| AppError::not_found("no such event"))?;
    let mut errors = Vec::new();
    if given.len() > MAX_ATTACHED {
        errors.push(FieldError::new("resource_ids", format!("at most {MAX_ATTACHED} resources")));
    }
    let mut ids: Vec<(usize, String)> = Vec::new();
    for (i, raw) in given.iter().enumerate().take(MAX_ATTACHED) {
        match crate::validate::uuid(&format!("resource_ids[{i}]"), raw) {
            Ok(id) if !ids.iter().any(|(_, x)| *x == id) => ids.push((i, id)),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    let wanted: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    let allowed = queries::attachable(conn, actor, &wanted)?;
    for (i, id) in &ids {
        if !allowed.contains(id) {
            errors.push(FieldError::new(format!("resource_ids[{i}]"), "no such learning resource"));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    queries::set_attached(conn, event_id, &wanted)?;
    audit::record(conn, actor, "update", "event", event_id, Changes::fields(&["resources"]))?;
    attached(conn, actor, event_id)
}

/// The author organization of a new resource (module docs).
fn author(conn: &mut DbConnection, actor: &Actor, given: Option<&str>) -> Result<String, AppError> {
    match (actor.role, actor.organization_id.as_deref(), given) {
        (Role::Organizer, Some(own), None) => Ok(own.to_string()),
        (Role::Organizer, Some(own), Some(g)) if g == own => Ok(own.to_string()),
        (Role::Organizer, _, Some(_)) => {
            Err(AppError::field("organization_id", "organizers write for their own organization"))
        }
        (Role::Admin, _, Some(g)) => {
            if crate::partners::queries::organization_exists(conn, g)? {
                Ok(g.to_string())
            } else {
                Err(AppError::field("organization_id", "no such organization"))
            }
        }
        (Role::Admin, _, None) => Err(AppError::field("organization_id", "is required: name the author organization")),
        _ => Err(AppError::Forbidden("experts do not manage learning resources".into())),
    }
}

/// Every state named must exist.
fn check_states(conn: &mut DbConnection, states: &[StateCode], case: Option<&CaseStudy>) -> Result<(), AppError> {
    let codes: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let mut errors = Vec::new();
    if let Some(i) = queries::unknown_state(conn, &codes)? {
        errors.push(FieldError::new(format!("states[{i}]"), format!("{} is not a US state code", codes[i])));
    }
    if let Some(s) = case.and_then(|c| c.state.as_ref()) {
        if queries::unknown_state(conn, &[s.as_str()])?.is_some() {
            errors.push(FieldError::new("case_study.state", format!("{s} is not a US state code")));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A recording's webinar: one the actor may edit, a webinar, held (not a draft, not cancelled)
/// and over.
fn check_recording_event(conn: &mut DbConnection, actor: &Actor, event_id: &str) -> Result<(), AppError> {
    const FIELD: &str = "recording.event_id";
    let e = crate::events::queries::find_for_actor(conn, actor, event_id)?
        .ok_or_else(|| AppError::field(FIELD, "no such event"))?;
    if e.kind != EventKind::Webinar {
        return Err(AppError::field(FIELD, "is not a webinar: only a webinar has a recording"));
    }
    match e.status {
        EventStatus::Draft => return Err(AppError::field(FIELD, "the webinar was never published")),
        EventStatus::Cancelled => return Err(AppError::field(FIELD, "the webinar was cancelled")),
        EventStatus::Published | EventStatus::Completed => {}
    }
    if e.ends_at > now() {
        return Err(AppError::field(FIELD, "the webinar has not ended yet: attach its recording once it is over"));
    }
    Ok(())
}

/// Writes the "recording available" notice of a published recording to its webinar's registrants
/// who accept marketing mail (module docs). Returns how many emails were added; nothing for
/// another kind, a draft or a recording of no event.
pub fn notify_recording(conn: &mut DbConnection, ctx: &MailContext, r: &Resource) -> Result<usize, AppError> {
    let (ResourceKind::Recording, ResourceStatus::Published, Some(event_id)) = (r.kind, r.status, &r.event_id) else {
        return Ok(0);
    };
    let notice = Notice::RecordingAvailable {
        resource_id: r.id.clone(),
        title: r.title.clone(),
        duration_minutes: r.duration_minutes.unwrap_or_default(),
    };
    let mut added = 0;
    for registration in queries::recording_audience(conn, event_id)? {
        if crate::mail::notify(conn, ctx, &registration, notice.clone(), None)? {
            added += 1;
        }
    }
    Ok(added)
}

/// The resource after a change in this transaction.
fn reread(conn: &mut DbConnection, id: &str) -> Result<Resource, AppError> {
    queries::find(conn, id)?.ok_or_else(|| AppError::internal("resource vanished"))
}
