//! What anyone may do: find experts and open slots (at a stop, or online, ranked by fit on
//! request), book a slot, and subscribe to an expert's calendar feed with its secret URL.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

use super::matching::{self, Candidate, Wish};
use super::queries::{self, BookingRequest, ExpertFilter, SlotFilter};
use super::wire::{
    BookingCreatedOut, BookingIn, BookingLinksOut, ExpertListQuery, ExpertOut, SlotListQuery, SlotOut, Times,
};
use crate::config::Config;
use crate::db::{now, to_db_time, Db};
use crate::domain::Topic;
use crate::error::{AppError, FieldError};
use crate::http::{decode_cursor, encode_cursor, next_page, page_limit, parse_id, JsonBody, Page, QueryParams};
use crate::mail::MailContext;
use crate::openapi::problems::{PublicRead, PublicWrite};

/// A topic from the vocabulary, named in a 400 when it is not one.
pub(crate) fn topic_param(field: &str, raw: Option<&str>) -> Result<Option<Topic>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t.to_ascii_lowercase().parse::<Topic>().map(Some).map_err(|m| FieldError::new(field, m)),
        None => Ok(None),
    }
}

/// A short free word (industry), lower-cased; `None` when empty.
fn word_param(raw: Option<&str>) -> Option<String> {
    raw.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty())
}

/// A language tag as the lists compare it (`es-mx` → `es-MX`); `None` when empty.
fn language_param(field: &str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => super::staff::language_tag(field, t).map(Some),
        None => Ok(None),
    }
}

fn state_param(field: &str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(s) => crate::validate::state_code(field, s).map(|s| Some(s.to_string())),
        None => Ok(None),
    }
}

fn instant_param(field: &str, raw: Option<&str>) -> Result<Option<NaiveDateTime>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => crate::time::parse_instant(field, t, chrono_tz::UTC).map(|t| Some(to_db_time(t))),
        None => Ok(None),
    }
}

fn bad(errors: Vec<FieldError>) -> AppError {
    let detail = errors.iter().map(|e| format!("`{}` {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
    AppError::BadRequest { detail, errors }
}

/// Experts who take sessions.
///
/// Active experts with a public profile, by display name, filtered by topic, industry, language
/// (`es` also finds `es-MX`), state served and whether they take online sessions.
#[utoipa::path(
    get,
    path = "/api/v1/experts",
    tag = "experts",
    params(ExpertListQuery),
    responses((status = 200, description = "A page of experts", body = Page<ExpertOut>), PublicRead)
)]
pub(crate) async fn list_experts(
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ExpertListQuery>,
) -> Result<HttpResponse, AppError> {
    let limit = page_limit(q.limit)?;
    let after: Option<(String, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut errs = Vec::new();
    let filter = ExpertFilter {
        topic: topic_param("topic", q.topic.as_deref())
            .map_err(|e| errs.push(e))
            .ok()
            .flatten()
            .map(|t| t.as_str().to_string()),
        industry: word_param(q.industry.as_deref()),
        language: language_param("language", q.language.as_deref()).map_err(|e| errs.push(e)).ok().flatten(),
        state: state_param("state", q.state.as_deref()).map_err(|e| errs.push(e)).ok().flatten(),
        online: q.online,
    };
    if !errs.is_empty() {
        return Err(bad(errs));
    }
    let mut rows = db.read(move |c| queries::list_public(c, &filter, after, limit)).await?;
    let next_cursor = next_page(&mut rows, limit, |p| (p.display_name.clone(), p.user_id.clone()));
    Ok(HttpResponse::Ok().json(Page { items: rows.iter().map(ExpertOut::from).collect(), next_cursor }))
}

/// An expert's public profile.
#[utoipa::path(
    get,
    path = "/api/v1/experts/{id}",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The expert.")),
    responses((status = 200, description = "The expert", body = ExpertOut), PublicRead)
)]
pub(crate) async fn get_expert(db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let p =
        db.read(move |c| queries::find_public(c, &id)).await?.ok_or_else(|| AppError::not_found("no such expert"))?;
    Ok(HttpResponse::Ok().json(ExpertOut::from(&p)))
}

/// Reads the slot list's query: the filter, the wish (matching) and paging.
fn slot_query(q: &SlotListQuery, event_id: Option<String>) -> Result<(SlotFilter, Wish, i64), AppError> {
    let limit = page_limit(q.limit)?;
    let mut errs = Vec::new();
    let mut take = |r: Result<Option<String>, FieldError>| r.map_err(|e| errs.push(e)).ok().flatten();
    let experts = ExpertFilter {
        topic: take(topic_param("topic", q.topic.as_deref()).map(|t| t.map(|t| t.as_str().to_string()))),
        industry: word_param(q.industry.as_deref()),
        language: take(language_param("language", q.language.as_deref())),
        state: take(state_param("state", q.state.as_deref())),
        online: None,
    };
    let wish = Wish {
        topic: take(topic_param("for_topic", q.for_topic.as_deref()).map(|t| t.map(|t| t.as_str().to_string()))),
        industry: word_param(q.for_industry.as_deref()),
        language: take(language_param("for_language", q.for_language.as_deref())),
    };
    let from = instant_param("from", q.from.as_deref()).map_err(|e| errs.push(e)).ok().flatten();
    let to = instant_param("to", q.to.as_deref()).map_err(|e| errs.push(e)).ok().flatten();
    if !errs.is_empty() {
        return Err(bad(errs));
    }
    // Slots that have started cannot be booked: never listed.
    let from = from.map_or(now(), |f| f.max(now()));
    Ok((SlotFilter { event_id, experts, from, to }, wish, limit))
}

/// At most this many slots are ranked for one matched list (a stop has 40 experts × 30 slots).
const RANKED_MAX: i64 = 5_000;

/// Lists open slots: by time (keyset cursor), or ranked by [`matching`] (offset cursor).
async fn slot_page(
    db: &Db,
    filter: SlotFilter,
    wish: Wish,
    limit: i64,
    cursor: Option<String>,
) -> Result<Page<SlotOut>, AppError> {
    db.read(move |c| {
        let out = |(slot, window, profile): &(super::model::Slot, super::model::Window, super::model::Profile),
                   fit: Option<u8>| SlotOut {
            id: slot.id.clone(),
            event_id: slot.event_id.clone(),
            online: slot.event_id.is_none(),
            times: Times::new(slot.starts_at, slot.ends_at, &window.time_zone),
            registrants_only_until: window
                .registrants_only_until
                .filter(|u| *u > now())
                .map(|u| crate::time::utc_string(crate::db::from_db_time(u))),
            expert: ExpertOut::from(profile),
            fit,
        };
        if wish.is_empty() {
            let after: Option<(NaiveDateTime, String)> = cursor.as_deref().map(decode_cursor).transpose()?;
            let mut rows = queries::open_slots(c, &filter, after, limit + 1)?;
            let next_cursor = next_page(&mut rows, limit, |(s, _, _)| (s.starts_at, s.id.clone()));
            return Ok(Page { items: rows.iter().map(|r| out(r, None)).collect(), next_cursor });
        }
        let offset: i64 = cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or(0);
        if !(0..=RANKED_MAX).contains(&offset) {
            return Err(AppError::bad_field("cursor", "is not a cursor this list gave out"));
        }
        let rows = queries::open_slots(c, &filter, None, RANKED_MAX)?;
        let load = queries::load_by_expert(c, filter.event_id.as_deref(), filter.from)?;
        let lists: Vec<(Vec<String>, Vec<String>, Vec<String>)> =
            rows.iter().map(|(_, _, p)| (p.topics(), p.industries(), p.languages())).collect();
        let candidates: Vec<Candidate> = rows
            .iter()
            .zip(&lists)
            .map(|((s, _, _), (t, i, l))| Candidate {
                slot_id: &s.id,
                expert_id: &s.expert_id,
                starts_at: s.starts_at,
                topics: t,
                industries: i,
                languages: l,
            })
            .collect();
        let order = matching::rank(&candidates, &wish, &load);
        let page: Vec<SlotOut> = order
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|&i| out(&rows[i], Some(matching::score(&candidates[i], &wish))))
            .collect();
        let next = offset.saturating_add(limit);
        let next_cursor = ((next as usize) < order.len()).then(|| encode_cursor(&next));
        Ok(Page { items: page, next_cursor })
    })
    .await
}

/// Open expert slots at a roadshow stop.
///
/// Slots nobody has booked yet, with the expert's public profile, in the stop's time zone (UTC
/// and local). Filter by the expert's `topic`, `industry`, `language`, `state`, and by `from`/`to`.
///
/// **Matching.** With `for_topic`, `for_industry` or `for_language` the list is ranked by fit
/// instead of time: an expert who knows the topic first (4), then the industry (2), then the
/// language (1); among equally fit slots, the expert with the fewest bookings at the stop so far
/// (counting their slots ranked above as taken, so equally fit experts alternate); then the
/// earlier slot; then expert id and slot id. The same data always gives the same order. `fit`
/// carries each slot's score.
#[utoipa::path(
    get,
    path = "/api/v1/events/{id}/expert-slots",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The roadshow stop."), SlotListQuery),
    responses((status = 200, description = "A page of open slots", body = Page<SlotOut>), PublicRead)
)]
pub(crate) async fn event_slots(
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<SlotListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    if q.online.is_some() {
        return Err(AppError::bad_field("online", "is for /api/v1/expert-slots; a stop's slots are in person"));
    }
    let (filter, wish, limit) = slot_query(&q, Some(id.clone()))?;
    db.read(move |c| crate::events::queries::find_public(c, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such event"))?;
    Ok(HttpResponse::Ok().json(slot_page(&db, filter, wish, limit, q.cursor.clone()).await?))
}

/// Open online expert slots.
///
/// As the stop's list (filters, matching), for online sessions: `online=true` (the default; there
/// is no other kind here).
#[utoipa::path(
    get,
    path = "/api/v1/expert-slots",
    tag = "experts",
    params(SlotListQuery),
    responses((status = 200, description = "A page of open online slots", body = Page<SlotOut>), PublicRead)
)]
pub(crate) async fn online_slots(
    db: web::Data<Db>,
    QueryParams(q): QueryParams<SlotListQuery>,
) -> Result<HttpResponse, AppError> {
    if q.online == Some(false) {
        return Err(AppError::bad_field(
            "online",
            "only online slots are listed here; a stop's are at /api/v1/events/{id}/expert-slots",
        ));
    }
    let (filter, wish, limit) = slot_query(&q, None)?;
    Ok(HttpResponse::Ok().json(slot_page(&db, filter, wish, limit, q.cursor.clone()).await?))
}

/// Parses a booking request; every bad field is named in one 422.
fn parse_booking(input: &BookingIn) -> Result<BookingRequest, AppError> {
    let who = crate::registrations::public::with_accommodation(
        crate::registrations::public::parse_parts(&input.business, &input.attendee, None, input.language),
        input.accommodation.as_ref(),
    );
    let mut errs = match &who {
        Err(AppError::Validation(e)) => e.clone(),
        _ => Vec::new(),
    };
    let question = match input.question.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => crate::validate::multiline("question", q, 500).map_err(|e| errs.push(e)).ok(),
        None => None,
    };
    let topic = topic_param("topic", input.topic.as_deref()).map_err(|e| errs.push(e)).ok().flatten();
    let token = input.registration_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if token.is_some_and(|t| t.len() > 200 || !t.chars().all(|c| c.is_ascii_graphic())) {
        errs.push(FieldError::new("registration_token", "is not a manage token"));
    }
    match who {
        Ok(who) if errs.is_empty() => {
            Ok(BookingRequest { who, question, topic, registration_token: token.map(str::to_string) })
        }
        Err(e) if errs.is_empty() => Err(e),
        _ => Err(AppError::Validation(errs)),
    }
}

/// Book a one-to-one session.
///
/// Holds the slot for one attendee of one business and emails them a confirmation with a calendar
/// invite (and the expert a notice). The answer carries the manage token, shown only here and in
/// the emails. One booking per slot under any concurrency (the loser gets a 409); an attendee
/// never holds two overlapping sessions (409); a business holds at most
/// `ROADSHOW_EXPERT_BOOKINGS_PER_BUSINESS` (default 1) active sessions per stop, or per day online
/// (409). While a stop's slots are for its registrants (`registrants_only_until` on the slot), the
/// request must carry `registration_token`, the manage token of a registration for the stop (else
/// 403). A retry with the same `Idempotency-Key` and body answers like the first request.
#[utoipa::path(
    post,
    path = "/api/v1/expert-slots/{id}/booking",
    tag = "experts",
    params(
        ("id" = uuid::Uuid, Path, description = "The slot."),
        ("Idempotency-Key" = Option<String>, Header,
         description = "1-200 visible ASCII characters. A retry with the same key and body gets the first answer; \
                        the same key with another body is a 422."),
    ),
    request_body(
        content = BookingIn,
        example = json!({
            "business": {"name": "Taco Garage", "email": "owner@tacogarage.example", "state": "TX", "industry": "restaurants"},
            "attendee": {"name": "Rosa Diaz", "email": "rosa@tacogarage.example"},
            "question": "How do I advertise lunch specials to people nearby?", "topic": "advertising"
        })
    ),
    responses(
        (status = 201, description = "Booked (or the first answer again, for a retry with the same key)",
         body = BookingCreatedOut,
         headers(("Location" = String, description = "The booking: `/api/v1/expert-bookings/{id}`."))),
        (status = 403, description = "The slot is for the stop's registrants for now: send `registration_token`.",
         body = crate::error::Problem, content_type = "application/problem+json"),
        PublicWrite
    )
)]
pub(crate) async fn book_slot(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<BookingIn>,
) -> Result<HttpResponse, AppError> {
    let slot_id = parse_id("id", &path)?;
    let parsed = parse_booking(&input)?;
    // The fingerprint covers the token's hash, never the token.
    let fingerprint = (&parsed, parsed.registration_token.as_deref().map(crate::auth::tokens::hash_token));
    let idem = crate::registrations::public::idempotency(&req, &fingerprint, config.idempotency_ttl_hours)?;
    let ctx = MailContext::from_config(&config);
    let limit = config.expert_bookings_per_business;
    let booked = db.write_retrying(move |c| queries::book(c, &ctx, limit, &slot_id, &parsed, idem.as_ref())).await;
    crate::metrics::booking(if booked.is_ok() { "booked" } else { "refused" });
    let booked = booked?;
    let links = booked.manage_token.as_deref().map(|t| BookingLinksOut::new(&config, &booked.id, t));
    let out = BookingCreatedOut {
        id: booked.id.clone(),
        slot_id: booked.slot_id,
        status: booked.status,
        times: Times::new(booked.starts_at, booked.ends_at, &booked.time_zone),
        manage_token: booked.manage_token,
        links,
    };
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/expert-bookings/{}", booked.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&out))
}

/// `?token=` of the calendar feed.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The feed's secret, from `POST /api/v1/admin/experts/{id}/calendar-feed`.
    pub token: Option<String>,
}

/// An expert's calendar feed (subscribe in a calendar app).
///
/// Every session booked with the expert from 30 days back, as an iCalendar feed
/// (`METHOD:PUBLISH`), each with the UID of its invites. The secret URL is made (and replaced) by
/// `POST /api/v1/admin/experts/{id}/calendar-feed`; a wrong or old secret is a 404.
#[utoipa::path(
    get,
    path = "/api/v1/experts/{id}/calendar.ics",
    tag = "experts",
    params(("id" = uuid::Uuid, Path, description = "The expert."), FeedQuery),
    responses((status = 200, description = "The feed", content_type = "text/calendar", body = String), PublicRead)
)]
pub(crate) async fn calendar_feed(
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<FeedQuery>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let token = q.token.ok_or_else(|| AppError::not_found("no such calendar feed"))?;
    let ctx = MailContext::from_config(&config);
    let body = db
        .read(move |c| {
            let p = queries::expert_for_calendar_token(c, &id, &token)?
                .ok_or_else(|| AppError::not_found("no such calendar feed"))?;
            let bookings = queries::feed_bookings(c, &id)?;
            let facts = super::mail::facts_of(c, bookings)?;
            let entries: Vec<_> = facts.iter().map(|f| super::mail::calendar_entry(&ctx, f, false, true)).collect();
            Ok(crate::mail::ics::render_feed(&format!("Roadshow sessions: {}", p.display_name), &entries))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
