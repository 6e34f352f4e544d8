//! Staff and experts (`/api/v1/admin`, behind the staff gate): profiles, availability windows, the
//! expert's agenda and calendar feed, a stop's bookings, attendance.
//!
//! Who may do what (see also [`super::queries::may_manage_expert`]):
//!
//! | | admin | organizer | expert |
//! |---|---|---|---|
//! | profile: read | any expert | experts of its organization, or with a window at its events | its own |
//! | profile: write | any expert | experts of its organization | its own |
//! | meeting link (in the profile) | any expert | experts of its organization | its own |
//! | calendar feed | any expert | — | its own |
//! | windows | any | at events its organization hosts (for any expert) | its own (at published stops, or online) |
//! | bookings, attendance | all | at events its organization hosts | its own |
//!
//! `{id}` of `/experts/{id}/…` may be `me`: the calling expert.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;

use super::model::Booking;
use super::queries::{self, AgendaFilter, ProfileSpec, WindowChange, WindowInput};
use super::wire::{
    AdminExpertOut, AgendaItemOut, AgendaQuery, AttendanceIn, CalendarFeedOut, ProfileIn, Times, WindowDeleteQuery,
    WindowIn, WindowListQuery, WindowOut, WindowPatch,
};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::{now, to_db_time, Db, DbConnection};
use crate::domain::{BookingStatus, Role, Topic};
use crate::error::{AppError, FieldError};
use crate::http::{decode_cursor, encode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::mail::MailContext;
use crate::openapi::problems::Staff;

/// A BCP 47 language tag, in its usual case (`es-mx` → `es-MX`, `zh-hant` → `zh-Hant`).
pub(crate) fn language_tag(field: &str, raw: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new(field, format!("{raw:?} is not a BCP 47 language tag like en, es or es-MX"));
    let mut parts = raw.trim().split('-');
    let primary = parts
        .next()
        .filter(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()))
        .ok_or_else(bad)?;
    let mut out = primary.to_ascii_lowercase();
    for p in parts {
        if p.is_empty() || p.len() > 8 || !p.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        out.push('-');
        match p.len() {
            2 if p.chars().all(|c| c.is_ascii_alphabetic()) => out.push_str(&p.to_ascii_uppercase()),
            4 if p.chars().all(|c| c.is_ascii_alphabetic()) => {
                out.push_str(&p[..1].to_ascii_uppercase());
                out.push_str(&p[1..].to_ascii_lowercase());
            }
            _ => out.push_str(&p.to_ascii_lowercase()),
        }
    }
    Ok(out)
}

/// `{id}` of an expert path: a UUID, or `me` for the calling expert.
fn expert_id(actor: &Actor, raw: &str) -> Result<String, AppError> {
    if raw == "me" {
        if actor.role != Role::Expert {
            return Err(AppError::bad_field("id", "`me` names the calling expert; staff give the expert's id"));
        }
        return Ok(actor.user_id.clone());
    }
    parse_id("id", raw)
}

fn word(errs: &mut Vec<FieldError>, field: String, raw: &str) -> Option<String> {
    let w = raw.trim().to_lowercase();
    if w.is_empty() || w.chars().count() > 50 || !w.chars().all(|c| c.is_alphanumeric() || c == ' ' || c == '-') {
        errs.push(FieldError::new(field, "must be 1-50 letters, digits, spaces or dashes"));
        None
    } else {
        Some(w)
    }
}

fn parse_profile(input: &ProfileIn) -> Result<ProfileSpec, AppError> {
    let mut errs = Vec::new();
    let display_name = crate::validate::text("display_name", &input.display_name, 100).map_err(|e| errs.push(e)).ok();
    let bio =
        crate::validate::multiline("bio", input.bio.as_deref().unwrap_or(""), 1000).map_err(|e| errs.push(e)).ok();
    if input.topics.is_empty() || input.topics.len() > 10 {
        errs.push(FieldError::new("topics", format!("list 1 to 10 of {}", Topic::expected())));
    }
    let mut topics = Vec::new();
    for (i, t) in input.topics.iter().enumerate() {
        match t.trim().to_ascii_lowercase().parse::<Topic>() {
            Ok(t) if !topics.contains(&t) => topics.push(t),
            Ok(_) => {}
            Err(m) => errs.push(FieldError::new(format!("topics[{i}]"), m)),
        }
    }
    let industries_in = input.industries.as_deref().unwrap_or(&[]);
    if industries_in.len() > 20 {
        errs.push(FieldError::new("industries", "at most 20"));
    }
    let mut industries = Vec::new();
    for (i, w) in industries_in.iter().enumerate() {
        if let Some(w) = word(&mut errs, format!("industries[{i}]"), w) {
            if !industries.contains(&w) {
                industries.push(w);
            }
        }
    }
    if input.languages.is_empty() || input.languages.len() > 10 {
        errs.push(FieldError::new("languages", "list 1 to 10 BCP 47 tags, like en or es-MX"));
    }
    let mut languages = Vec::new();
    for (i, l) in input.languages.iter().enumerate() {
        match language_tag(&format!("languages[{i}]"), l) {
            Ok(l) if !languages.contains(&l) => languages.push(l),
            Ok(_) => {}
            Err(e) => errs.push(e),
        }
    }
    let mut states = Vec::new();
    for (i, s) in input.states.as_deref().unwrap_or(&[]).iter().enumerate() {
        match crate::validate::state_code(&format!("states[{i}]"), s) {
            Ok(s) if !states.contains(&s.to_string()) => states.push(s.to_string()),
            Ok(_) => {}
            Err(e) => errs.push(e),
        }
    }
    let online = input.online.unwrap_or(false);
    let meeting_url = match input.meeting_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => crate::validate::url("meeting_url", u).map_err(|e| errs.push(e)).ok(),
        None => None,
    };
    if online && meeting_url.is_none() && !errs.iter().any(|e| e.field == "meeting_url") {
        errs.push(FieldError::new("meeting_url", "is required when the expert takes online sessions"));
    }
    if !errs.is_empty() {
        return Err(AppError::Validation(errs));
    }
    Ok(ProfileSpec {
        display_name: display_name.expect("checked"),
        bio: bio.expect("checked"),
        topics,
        industries,
        languages,
        states,
        online,
        meeting_url,
    })
}

/// Experts the caller may manage, with their profiles.
#[utoipa::path(
    get,
    path = "/api/v1/admin/experts",
    tag = "experts",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)."),
        ("cursor" = Option<String>, Query, description = "From `next_cursor`."),
    ),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of experts", body = Page<AdminExpertOut>), Staff)
)]
pub(crate) async fn list_experts(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = page_limit(q.limit)?;
    let offset: i64 = q.cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or(0).clamp(0, i64::from(u32::MAX));
    let (total, items) = db
        .read(move |c| {
            let all = queries::list_for_actor(c, &actor)?;
            let all_len = all.len();
            let page: Vec<_> = all.into_iter().skip(offset as usize).take(limit as usize).collect();
            let ids: Vec<String> = page.iter().map(|p| p.user_id.clone()).collect();
            let managed = queries::managed_of(c, &actor, &ids)?;
            let items: Vec<AdminExpertOut> =
                page.iter().map(|p| AdminExpertOut::new(p, managed.contains(&p.user_id))).collect();
            Ok((all_len, items))
        })
        .await?;
    let next = offset.saturating_add(limit);
    let next_cursor = ((next as usize) < total).then(|| encode_cursor(&next));
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Paging by offset.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An expert's profile as staff see it (`me`: the calling expert).
#[utoipa::path(
    get,
    path = "/api/v1/admin/experts/{id}",
    tag = "experts",
    params(("id" = String, Path, description = "The expert's id, or `me`.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The expert", body = AdminExpertOut), Staff)
)]
pub(crate) async fn get_expert(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = expert_id(&actor, &path)?;
    let p = db
        .read(move |c| {
            if !queries::may_see_expert(c, &actor, &id)? {
                return Ok(None);
            }
            let manages = queries::may_manage_expert(c, &actor, &id)?;
            Ok(queries::find_profile(c, &id)?.map(|p| AdminExpertOut::new(&p, manages)))
        })
        .await?
        .ok_or_else(|| AppError::not_found("no such expert profile"))?;
    Ok(HttpResponse::Ok().json(p))
}

/// Create or replace an expert's profile.
///
/// The user must have role `expert`. An expert writes its own (`me`); admins any; organizers
/// those of their organization (an expert who only offers time at their stops is seen, not
/// rewritten: its meeting link reaches every business it meets). 201 when new, else 200.
#[utoipa::path(
    put,
    path = "/api/v1/admin/experts/{id}",
    tag = "experts",
    params(("id" = String, Path, description = "The expert's id, or `me`.")),
    request_body(content = ProfileIn),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "Replaced", body = AdminExpertOut),
        (status = 201, description = "Created", body = AdminExpertOut),
        Staff
    )
)]
pub(crate) async fn put_expert(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<ProfileIn>,
) -> Result<HttpResponse, AppError> {
    let id = expert_id(&actor, &path)?;
    let spec = parse_profile(&input)?;
    let ctx = MailContext::from_config(&config);
    let (p, created) = db.write(move |c| queries::put_profile(c, &ctx, &actor, &id, spec)).await?;
    // Only those who may manage the expert get here (`put_profile` checks it).
    let out = AdminExpertOut::new(&p, true);
    Ok(if created { HttpResponse::Created().json(out) } else { HttpResponse::Ok().json(out) })
}

/// Make a new calendar feed URL for the expert (the old one stops working). Shown once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/experts/{id}/calendar-feed",
    tag = "experts",
    params(("id" = String, Path, description = "The expert's id, or `me`.")),
    security(("staff_token" = [])),
    responses((status = 201, description = "The new feed URL", body = CalendarFeedOut), Staff)
)]
pub(crate) async fn rotate_feed(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = expert_id(&actor, &path)?;
    let eid = id.clone();
    let token = db
        .write(move |c| {
            // The feed shows the expert's bookings: the expert and admins only.
            if !(actor.is_admin() || actor.user_id == eid) {
                return Err(if queries::may_see_expert(c, &actor, &eid)? {
                    AppError::Forbidden("only the expert (or a national admin) makes its calendar feed".into())
                } else {
                    AppError::not_found("no such expert")
                });
            }
            queries::rotate_calendar_token(c, &actor, &eid)
        })
        .await?;
    let base = config.public_url.trim_end_matches('/');
    Ok(HttpResponse::Created()
        .json(CalendarFeedOut { url: format!("{base}/api/v1/experts/{id}/calendar.ics?token={token}") }))
}

/// An expert's availability windows that have not ended, by start time.
#[utoipa::path(
    get,
    path = "/api/v1/admin/experts/{id}/windows",
    tag = "experts",
    params(("id" = String, Path, description = "The expert's id, or `me`."), WindowListQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of windows", body = Page<WindowOut>), Staff)
)]
pub(crate) async fn list_windows(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<WindowListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = expert_id(&actor, &path)?;
    let limit = page_limit(q.limit)?;
    let after: Option<(NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let from = match q.from.as_deref() {
        Some(f) => to_db_time(
            crate::time::parse_instant("from", f, chrono_tz::UTC)
                .map_err(|e| AppError::BadRequest { detail: format!("`from` {}", e.message), errors: vec![e] })?,
        ),
        None => now(),
    };
    let page = db
        .read(move |c| {
            if !queries::may_see_expert(c, &actor, &id)? {
                return Err(AppError::not_found("no such expert"));
            }
            let mut rows = queries::windows_of(c, &actor, &id, from, after, limit)?;
            let next_cursor = next_page(&mut rows, limit, |w| (w.starts_at, w.id.clone()));
            let mut items = Vec::with_capacity(rows.len());
            for w in &rows {
                items.push(WindowOut::new(w, &queries::slots_of(c, &w.id)?));
            }
            Ok(Page { items, next_cursor })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Publish an availability window, cut into slots.
///
/// At a roadshow stop (`event_id`: within the event's time, read in its venue's zone) or online
/// (`time_zone` needed; the expert must take online sessions). Slots are `slot_minutes` long with
/// `buffer_minutes` between them, counted in elapsed time (a window over a DST change holds the
/// slots that fit in its real length). An expert's windows never overlap, across events and zones
/// (409 naming the clash).
#[utoipa::path(
    post,
    path = "/api/v1/admin/experts/{id}/windows",
    tag = "experts",
    params(("id" = String, Path, description = "The expert's id, or `me`.")),
    request_body(content = WindowIn),
    security(("staff_token" = [])),
    responses((status = 201, description = "Published", body = WindowOut), Staff)
)]
pub(crate) async fn create_window(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<WindowIn>,
) -> Result<HttpResponse, AppError> {
    let id = expert_id(&actor, &path)?;
    let input = WindowInput {
        event_id: input.event_id,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        time_zone: input.time_zone,
        slot_minutes: input.slot_minutes,
        buffer_minutes: input.buffer_minutes,
        registrants_only_until: input.registrants_only_until,
    };
    let (w, slots) = db.write(move |c| queries::create_window(c, &actor, &id, input)).await?;
    Ok(HttpResponse::Created().json(WindowOut::new(&w, &slots)))
}

/// An availability window and its slots.
#[utoipa::path(
    get,
    path = "/api/v1/admin/expert-windows/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The window.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The window", body = WindowOut), Staff)
)]
pub(crate) async fn get_window(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let out = db
        .read(move |c| {
            let w = queries::window_for_actor(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such window"))?;
            Ok(WindowOut::new(&w, &queries::slots_of(c, &id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Change a window's time or its registrants-only period.
///
/// A shorter window withdraws its open slots outside the new time and keeps booked ones; a longer
/// one adds slots. The new time must not overlap another window of the expert (409).
#[utoipa::path(
    patch,
    path = "/api/v1/admin/expert-windows/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The window.")),
    request_body(content = WindowPatch),
    security(("staff_token" = [])),
    responses((status = 200, description = "Changed", body = WindowOut), Staff)
)]
pub(crate) async fn patch_window(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<WindowPatch>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let change = WindowChange {
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        registrants_only_until: input.registrants_only_until.into_change(),
    };
    let (w, slots) = db.write(move |c| queries::update_window(c, &actor, &id, change)).await?;
    Ok(HttpResponse::Ok().json(WindowOut::new(&w, &slots)))
}

/// Remove a window.
///
/// A window with bookings is refused (409) unless `?cancel_bookings=true`: then each booking is
/// cancelled and its business and the expert are emailed.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/expert-windows/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The window."), WindowDeleteQuery),
    security(("staff_token" = [])),
    responses((status = 204, description = "Removed"), Staff)
)]
pub(crate) async fn delete_window(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<WindowDeleteQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let cancel = q.cancel_bookings.unwrap_or(false);
    db.write(move |c| queries::delete_window(c, &ctx, &actor, &id, cancel)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A booking as staff see it.
fn agenda_item(conn: &mut DbConnection, b: &Booking) -> Result<AgendaItemOut, AppError> {
    let f =
        super::mail::facts_of(conn, vec![b.clone()])?.pop().ok_or_else(|| AppError::internal("booking vanished"))?;
    Ok(agenda_out(&f))
}

fn agenda_out(f: &super::mail::Facts) -> AgendaItemOut {
    let b = &f.booking;
    AgendaItemOut {
        id: b.id.clone(),
        status: b.status,
        expert_id: b.expert_id.clone(),
        expert_name: f.expert_name.clone(),
        event_id: b.event_id.clone(),
        event_title: f.event_title.clone(),
        times: Times::new(b.starts_at, b.ends_at, f.zone.name()),
        location: f.location(),
        business_name: f.business_name.clone(),
        attendee_name: b.attendee_name.clone(),
        attendee_email: b.attendee_email.clone(),
        question: b.question.clone(),
        topic: b.topic.clone(),
        credit: None,
        accommodation: None,
    }
}

async fn agenda_page(
    db: &Db,
    actor: Actor,
    mut filter: AgendaFilter,
    q: AgendaQuery,
) -> Result<Page<AgendaItemOut>, AppError> {
    let limit = page_limit(q.limit)?;
    let after: Option<(NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut errs = Vec::new();
    filter.status = q
        .status
        .as_deref()
        .and_then(|s| s.parse::<BookingStatus>().map_err(|m| errs.push(FieldError::new("status", m))).ok());
    filter.from = match q.from.as_deref() {
        Some(f) => crate::time::parse_instant("from", f, chrono_tz::UTC).map_err(|e| errs.push(e)).ok().map(to_db_time),
        None => Some(now().date().and_hms_opt(0, 0, 0).expect("midnight exists")),
    };
    if !errs.is_empty() {
        let detail = errs.iter().map(|e| format!("`{}` {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        return Err(AppError::BadRequest { detail, errors: errs });
    }
    db.read(move |c| {
        if let Some(e) = &filter.expert_id {
            if !queries::may_see_expert(c, &actor, e)? {
                return Err(AppError::not_found("no such expert"));
            }
        }
        if let Some(e) = &filter.event_id {
            crate::events::queries::find_for_actor(c, &actor, e)?
                .ok_or_else(|| AppError::not_found("no such event"))?;
        }
        let mut rows = queries::agenda(c, &actor, &filter, after, limit)?;
        let next_cursor = next_page(&mut rows, limit, |b| (b.starts_at, b.id.clone()));
        let ids: Vec<String> = rows.iter().map(|b| b.id.clone()).collect();
        // Scoped in the query: admins, the event's host organizers, the booking's expert.
        let mut needs = crate::accommodations::queries::visible_for_bookings(c, &actor, &ids)?;
        let items = super::mail::facts_of(c, rows)?
            .iter()
            .map(|f| AgendaItemOut { accommodation: needs.remove(&f.booking.id), ..agenda_out(f) })
            .collect();
        Ok(Page { items, next_cursor })
    })
    .await
}

/// An expert's bookings (`me/bookings`: the calling expert's agenda), by start time.
///
/// Of a business, only what the booking carries. From the start of today (UTC) unless `from` says
/// otherwise.
#[utoipa::path(
    get,
    path = "/api/v1/admin/experts/{id}/bookings",
    tag = "experts",
    params(("id" = String, Path, description = "The expert's id, or `me`."), AgendaQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of bookings", body = Page<AgendaItemOut>), Staff)
)]
pub(crate) async fn expert_bookings(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<AgendaQuery>,
) -> Result<HttpResponse, AppError> {
    let id = expert_id(&actor, &path)?;
    let filter = AgendaFilter { expert_id: Some(id), ..AgendaFilter::default() };
    Ok(HttpResponse::Ok().json(agenda_page(&db, actor, filter, q).await?))
}

/// The expert bookings at an event the caller may manage, by start time.
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{id}/expert-bookings",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The event."), AgendaQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of bookings", body = Page<AgendaItemOut>), Staff)
)]
pub(crate) async fn event_bookings(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<AgendaQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let filter = AgendaFilter { event_id: Some(id), ..AgendaFilter::default() };
    Ok(HttpResponse::Ok().json(agenda_page(&db, actor, filter, q).await?))
}

/// Mark a booking `attended` or `no_show` once the session has started.
///
/// Attended counts as taking part in the program: it grants the business its ad credit in the same
/// transaction (when it never had one and the pool has room; `credit` says what happened). An
/// expert marks its own sessions; organizers those at their events; admins any.
#[utoipa::path(
    post,
    path = "/api/v1/admin/expert-bookings/{id}/attendance",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking.")),
    request_body(content = AttendanceIn, example = json!({"status": "attended"})),
    security(("staff_token" = [])),
    responses((status = 200, description = "Marked", body = AgendaItemOut), Staff)
)]
pub(crate) async fn mark_attendance(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<AttendanceIn>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let status = match input.status.parse::<BookingStatus>() {
        Ok(s @ (BookingStatus::Attended | BookingStatus::NoShow)) => s,
        _ => return Err(AppError::field("status", "must be \"attended\" or \"no_show\"")),
    };
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            let b = queries::mark_attendance(c, &actor, &id, status)?;
            let credit = if b.status == BookingStatus::Attended {
                let p = crate::credits::queries::Participation {
                    business_id: b.business_id.clone(),
                    source: crate::domain::GrantSource::ExpertSession,
                    registration_id: None,
                    booking_id: Some(b.id.clone()),
                    event_id: b.event_id.clone(),
                };
                Some(crate::credits::queries::grant_for_taking_part(c, &ctx, &p)?)
            } else {
                None
            };
            let mut item = agenda_item(c, &b)?;
            item.credit = credit.as_ref().map(crate::credits::wire::CreditOutcomeOut::from);
            Ok(item)
        })
        .await?;
    if let Some(c) = &out.credit {
        crate::metrics::grant(&c.outcome);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `DELETE /api/v1/admin/expert-bookings/{id}`: why, told to the business.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaffCancelQuery {
    /// One line, at most 200 characters, put in the cancellation email (default: "the organizers
    /// cancelled it").
    pub reason: Option<String>,
}

/// Cancel a booking as staff (a booking made in someone else's name, an expert who cannot come).
///
/// The slot opens again; the business and the expert are emailed, with the reason. Organizers
/// cancel bookings at their events, experts their own; admins any. Audited.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/expert-bookings/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The booking."), StaffCancelQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "Cancelled", body = AgendaItemOut), Staff)
)]
pub(crate) async fn cancel_booking(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<StaffCancelQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let reason = match q.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => crate::mail::changes::CancelReason::Given(
            crate::validate::text("reason", r, 200)
                .map_err(|e| AppError::BadRequest { detail: format!("`reason` {}", e.message), errors: vec![e] })?,
        ),
        None => crate::mail::changes::CancelReason::Organizers,
    };
    let ctx = MailContext::from_config(&config);
    let out = db
        .write(move |c| {
            queries::booking_for_actor(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such booking"))?;
            let b = queries::cancel_booking(c, &ctx, &id, Some(reason), false)?;
            crate::audit::record(
                c,
                &actor,
                "cancel",
                "expert_booking",
                &id,
                crate::audit::Changes::fields(&["status", "cancelled_at"]),
            )?;
            agenda_item(c, &b)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
