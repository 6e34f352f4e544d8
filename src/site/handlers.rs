//! The site's pages (see [`super`]): each reads what the API's own queries read and renders it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::csrf::FormKey;
use super::{render, topic_name, Caching, Framing};
use crate::config::Config;
use crate::db::Db;
use crate::domain::{EventKind, Language, Topic};
use crate::error::{AppError, FieldError};
use crate::events::wire::{EventListQuery, EventOut};
use crate::http::Page;
use crate::i18n::{self, text};
use crate::openapi::problems::{SiteForm, SitePage};
use crate::registrations::queries::{Idempotency, ALREADY_REGISTERED};
use crate::registrations::wire::{AttendeeIn, BusinessIn};

/// Events per page of a list.
const PAGE_SIZE: i64 = 20;

/// The finder's query. Unknown parameters are ignored (links in newsletters carry `utm_…`).
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FinderQuery {
    /// Two-letter state code: its stops and the national webinars.
    pub state: Option<String>,
    /// `roadshow_stop` or `webinar`.
    pub kind: Option<String>,
    /// A topic of the shared vocabulary.
    pub topic: Option<String>,
    /// A date (`2027-03-01`): events on or after it.
    pub from: Option<String>,
    /// A date: events on or before it.
    pub to: Option<String>,
    /// Words in the title or description.
    pub q: Option<String>,
    /// The next page (from the page's own link).
    pub cursor: Option<String>,
    /// `en` or `es`.
    pub lang: Option<String>,
}

/// `?lang=` alone.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `en` or `es` (else the browser's `Accept-Language`).
    pub lang: Option<String>,
}

/// The registration form as the browser sends it. Unknown fields are ignored.
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct RegisterForm {
    pub business_name: Option<String>,
    pub business_email: Option<String>,
    pub business_state: Option<String>,
    pub business_industry: Option<String>,
    pub business_employees: Option<String>,
    pub business_website: Option<String>,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    /// Present (`yes`) when the box is ticked.
    pub marketing_consent: Option<String>,
    /// Accommodation request: each category's box (`yes` when ticked), and the note.
    pub acc_wheelchair_access: Option<String>,
    pub acc_sign_language_interpreter: Option<String>,
    pub acc_live_captions: Option<String>,
    pub acc_another_language: Option<String>,
    pub acc_other: Option<String>,
    pub accommodation_note: Option<String>,
    pub lang: Option<String>,
    /// The form's signed token ([`super::csrf`]).
    pub csrf: Option<String>,
    /// A key the form was given once, so sending it twice registers once.
    pub idem: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Views

/// What every page shows: its language, the switch to the other one, the states for the picker.
#[derive(Serialize)]
pub(super) struct Frame {
    lang: &'static str,
    other_lang: &'static str,
    other_lang_name: &'static str,
    /// This page in the other language.
    switch_url: String,
    states: Vec<StateOption>,
}

#[derive(Serialize)]
struct StateOption {
    code: String,
    name: String,
}

/// An event in a list.
#[derive(Serialize)]
struct Card {
    id: String,
    url: String,
    title: String,
    kind: &'static str,
    when: String,
    place: String,
    seats_left: i64,
    full: bool,
    registration_open: bool,
    cancelled: bool,
    topics: Vec<&'static str>,
}

pub(super) fn frame(lang: Language, req: &HttpRequest, states: Vec<crate::states::State>) -> Frame {
    let other = match lang {
        Language::English => Language::Spanish,
        Language::Spanish => Language::English,
    };
    Frame {
        lang: lang.as_str(),
        other_lang: other.as_str(),
        other_lang_name: text(other, "site.language_name"),
        switch_url: with_lang(req.path(), req.query_string(), other),
        states: {
            let mut list: Vec<StateOption> =
                states.into_iter().map(|s| StateOption { code: s.code, name: s.name }).collect();
            list.sort_by(|a, b| a.name.cmp(&b.name));
            list
        },
    }
}

/// `path?query` with `lang` set to `lang` (and `cursor` kept only on the same list).
fn with_lang(path: &str, query: &str, lang: Language) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != "lang").collect();
    pairs.push(("lang".into(), lang.as_str().into()));
    let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{path}?{q}")
}

/// The next page of a list at `path`: the same filters, the list's `cursor`, the page's `lang`.
pub(super) fn next_page_url(path: &str, query: &str, cursor: &str, lang: Language) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != "cursor" && k != "lang").collect();
    pairs.push(("cursor".into(), cursor.to_string()));
    pairs.push(("lang".into(), lang.as_str().into()));
    format!("{path}?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn when(lang: Language, starts_at: &str, zone: &str) -> String {
    let tz: Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    instant(starts_at).map(|t| i18n::human_local(lang, t, tz)).unwrap_or_default()
}

fn place(lang: Language, e: &EventOut) -> String {
    match &e.venue {
        Some(v) => format!("{}, {}, {}", v.name, v.city, v.state),
        None => text(lang, "event.online").to_string(),
    }
}

fn kind_name(lang: Language, kind: EventKind) -> &'static str {
    text(lang, &format!("kind.{}", kind.as_str()))
}

/// The event's title in `lang`: the Spanish one when given, else the English one.
fn title_in(lang: Language, e: &EventOut) -> String {
    match (lang, &e.title_es) {
        (Language::Spanish, Some(t)) => t.clone(),
        _ => e.title.clone(),
    }
}

/// The event's description in `lang`, as paragraphs.
fn description_in(lang: Language, e: &EventOut) -> Vec<String> {
    let text = match (lang, &e.description_es) {
        (Language::Spanish, Some(d)) => d,
        _ => &e.description,
    };
    text.split("\n\n").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn card(lang: Language, e: &EventOut) -> Card {
    Card {
        id: e.id.clone(),
        url: format!("/events/{}?lang={}", e.id, lang.as_str()),
        title: title_in(lang, e),
        kind: kind_name(lang, e.kind),
        when: when(lang, &e.starts_at, &e.time_zone),
        place: place(lang, e),
        seats_left: e.seats_left,
        full: e.seats_left <= 0,
        registration_open: e.registration_open,
        cancelled: e.status == crate::domain::EventStatus::Cancelled,
        topics: e.topics.iter().map(|t| topic_name(lang, *t)).collect(),
    }
}

async fn states(db: &Db) -> Result<Vec<crate::states::State>, AppError> {
    db.read(crate::states::all).await
}

/// A page that only says something (not found, refused), in the page's language.
pub(super) fn problem(
    status: StatusCode,
    lang: Language,
    req: &HttpRequest,
    key: &str,
) -> Result<HttpResponse, AppError> {
    #[derive(Serialize)]
    struct View {
        #[serde(flatten)]
        frame: Frame,
        title: &'static str,
        message: &'static str,
    }
    let view = View {
        frame: frame(lang, req, Vec::new()),
        title: text(lang, &format!("{key}.title")),
        message: text(lang, &format!("{key}.message")),
    };
    render(status, "problem.html", view, Framing::Never, Caching::NoStore)
}

// ---------------------------------------------------------------------------------------------
// The finder

/// A date of the finder as the instant the event list filters on. Dates are US dates: `from`
/// counts from midnight on the East Coast (the earliest US midnight), `to` up to midnight after
/// the day in Hawaii (the latest), so an event on that date in its own zone is always in.
fn date_bound(field: &str, value: &str, end: bool) -> Result<String, FieldError> {
    let d = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "must be a date like 2027-03-01"))?;
    let (zone, day) =
        if end { (chrono_tz::Pacific::Honolulu, d.succ_opt().unwrap_or(d)) } else { (chrono_tz::America::New_York, d) };
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    let at = zone.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc));
    at.map(crate::time::utc_string).ok_or_else(|| FieldError::new(field, "is not a date this list can show"))
}

/// The API's list query for the finder's filters; field errors name the finder's fields.
fn list_query(q: &FinderQuery) -> Result<EventListQuery, Vec<FieldError>> {
    let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let mut errors = Vec::new();
    let from = blank(&q.from).and_then(|v| date_bound("from", &v, false).map_err(|e| errors.push(e)).ok());
    let to = blank(&q.to).and_then(|v| date_bound("to", &v, true).map_err(|e| errors.push(e)).ok());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(EventListQuery {
        state: blank(&q.state).map(|s| s.to_ascii_uppercase()),
        kind: blank(&q.kind),
        topic: blank(&q.topic),
        from,
        to,
        q: blank(&q.q),
        limit: Some(PAGE_SIZE),
        cursor: blank(&q.cursor),
    })
}

/// A page of events for a list query; field errors as the API finds them.
async fn find_events(db: &Db, q: EventListQuery) -> Result<Page<EventOut>, AppError> {
    let filter = crate::events::parse::public_filter(&q)?;
    let after = q.cursor.as_deref().map(crate::http::decode_cursor).transpose()?;
    let limit = q.limit.unwrap_or(PAGE_SIZE);
    db.read(move |c| {
        let rows = crate::events::queries::list_public(c, &filter, after, limit + 1)?;
        crate::events::render::public_page(c, rows, limit)
    })
    .await
}

fn field_errors(e: &AppError) -> Option<Vec<FieldError>> {
    match e {
        AppError::Validation(errors) | AppError::BadRequest { errors, .. } if !errors.is_empty() => {
            Some(errors.clone())
        }
        _ => None,
    }
}

/// The finder's page: filters, results, the next page.
#[derive(Serialize)]
struct EventsView {
    #[serde(flatten)]
    frame: Frame,
    home: bool,
    title: &'static str,
    query: FinderQuery,
    kinds: Vec<(&'static str, &'static str)>,
    topics: Vec<(&'static str, &'static str)>,
    errors: BTreeMap<String, &'static str>,
    events: Vec<Card>,
    next_url: Option<String>,
}

async fn finder(req: &HttpRequest, db: &Db, q: FinderQuery, home: bool) -> Result<HttpResponse, AppError> {
    let lang = super::language(req, q.lang.as_deref());
    let mut errors = BTreeMap::new();
    let page = match list_query(&q) {
        Ok(list) => match find_events(db, list).await {
            Ok(page) => Some(page),
            Err(e) => match field_errors(&e) {
                Some(fields) => {
                    for f in fields {
                        errors.insert(f.field.clone(), filter_error(lang, &f.field));
                    }
                    None
                }
                None => return Err(e),
            },
        },
        Err(fields) => {
            for f in fields {
                errors.insert(f.field.clone(), filter_error(lang, &f.field));
            }
            None
        }
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let (events, next) = match page {
        Some(p) => (p.items.iter().map(|e| card(lang, e)).collect(), p.next_cursor),
        None => (Vec::new(), None),
    };
    let next_url = next.map(|cursor| next_page_url("/events", req.query_string(), &cursor, lang));
    let view = EventsView {
        frame: frame(lang, req, states(db).await?),
        home,
        title: text(lang, if home { "home.title" } else { "events.title" }),
        query: q,
        kinds: EventKind::ALL.iter().map(|k| (k.as_str(), kind_name(lang, *k))).collect(),
        topics: Topic::ALL.iter().map(|t| (t.as_str(), topic_name(lang, *t))).collect(),
        errors,
        events,
        next_url,
    };
    render(status, "events.html", view, Framing::Never, Caching::Public)
}

fn filter_error(lang: Language, field: &str) -> &'static str {
    match field {
        "state" | "kind" | "topic" | "from" | "to" | "q" | "cursor" => text(lang, &format!("filter.error.{field}")),
        _ => text(lang, "filter.error.other"),
    }
}

/// The home page: the event finder.
#[utoipa::path(
    get,
    path = "/",
    tag = "site",
    params(FinderQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        SitePage,
    )
)]
pub(crate) async fn home(
    req: HttpRequest,
    db: web::Data<Db>,
    q: web::Query<FinderQuery>,
) -> Result<HttpResponse, AppError> {
    finder(&req, &db, q.into_inner(), true).await
}

/// Find events: by state, kind, topic, dates and words.
#[utoipa::path(
    get,
    path = "/events",
    tag = "site",
    params(FinderQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        SitePage,
    )
)]
pub(crate) async fn events(
    req: HttpRequest,
    db: web::Data<Db>,
    q: web::Query<FinderQuery>,
) -> Result<HttpResponse, AppError> {
    finder(&req, &db, q.into_inner(), false).await
}

// ---------------------------------------------------------------------------------------------
// An event and its form

#[derive(Serialize)]
struct SlotView {
    when: String,
    expert: String,
    topics: Vec<&'static str>,
}

#[derive(Serialize)]
struct EventView {
    #[serde(flatten)]
    frame: Frame,
    title: String,
    event: Card,
    description: Vec<String>,
    venue_address: Option<String>,
    webinar: bool,
    hosts: Vec<String>,
    slots: Vec<SlotView>,
    /// Its recordings, attached or related resources.
    related: Vec<super::resources::ResourceCard>,
    form: RegisterForm,
    employee_bands: &'static [&'static str],
    errors: BTreeMap<String, &'static str>,
    /// A message above the form (why it came back).
    notice: Option<&'static str>,
    embed: bool,
}

/// The event behind a page, unless a draft or unknown.
async fn public_event(db: &Db, raw_id: &str) -> Result<Option<EventOut>, AppError> {
    let Ok(id) = crate::http::parse_id("id", raw_id) else { return Ok(None) };
    db.read(move |c| match crate::events::queries::find_public(c, &id)? {
        Some(e) => crate::events::render::public_one(c, e).map(Some),
        None => Ok(None),
    })
    .await
}

/// Open expert slots at a stop, soonest first (the first ten).
async fn open_slots(db: &Db, lang: Language, e: &EventOut) -> Result<Vec<SlotView>, AppError> {
    if e.kind != EventKind::RoadshowStop {
        return Ok(Vec::new());
    }
    let filter = crate::experts::queries::SlotFilter {
        event_id: Some(e.id.clone()),
        from: crate::db::now(),
        ..Default::default()
    };
    let rows = db.read(move |c| crate::experts::queries::open_slots(c, &filter, None, 10)).await?;
    let tz: Tz = e.time_zone.parse().unwrap_or(chrono_tz::UTC);
    Ok(rows
        .into_iter()
        .map(|(slot, _, profile)| SlotView {
            when: i18n::human_local(lang, crate::db::from_db_time(slot.starts_at), tz),
            expert: profile.display_name.clone(),
            topics: crate::experts::model::split_list(&profile.topics)
                .iter()
                .filter_map(|t| t.parse::<Topic>().ok())
                .map(|t| topic_name(lang, t))
                .collect(),
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn event_view(
    req: &HttpRequest,
    db: &Db,
    key: &FormKey,
    lang: Language,
    e: &EventOut,
    mut form: RegisterForm,
    errors: BTreeMap<String, &'static str>,
    notice: Option<&'static str>,
    embed: bool,
) -> Result<EventView, AppError> {
    form.csrf = Some(key.issue(db, &purpose(&e.id)).await?);
    if form.idem.as_deref().is_none_or(|k| !valid_idem(k)) {
        form.idem = Some(hex::encode(rand::random::<[u8; 16]>()));
    }
    form.lang = Some(lang.as_str().to_string());
    Ok(EventView {
        frame: frame(lang, req, states(db).await?),
        title: title_in(lang, e),
        event: card(lang, e),
        description: description_in(lang, e),
        venue_address: e.venue.as_ref().map(|v| format!("{}, {}, {}", v.address, v.city, v.state)),
        webinar: e.kind == EventKind::Webinar,
        hosts: e.hosts.iter().map(|h| h.name.clone()).collect(),
        slots: open_slots(db, lang, e).await?,
        related: super::resources::related(db, lang, &e.id).await?,
        form,
        employee_bands: crate::registrations::model::EMPLOYEE_BANDS,
        errors,
        notice,
        embed,
    })
}

fn purpose(event_id: &str) -> String {
    format!("register:{event_id}")
}

fn valid_idem(k: &str) -> bool {
    (16..=64).contains(&k.len()) && k.chars().all(|c| c.is_ascii_hexdigit())
}

/// An event's page, with its registration form.
#[utoipa::path(
    get,
    path = "/events/{id}",
    tag = "site",
    params(("id" = String, Path, description = "The event."), LangQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        SitePage,
    )
)]
pub(crate) async fn event_page(
    req: HttpRequest,
    db: web::Data<Db>,
    key: web::Data<FormKey>,
    path: web::Path<String>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = super::language(&req, q.lang.as_deref());
    let Some(e) = public_event(&db, &path).await? else {
        return problem(StatusCode::NOT_FOUND, lang, &req, "page.event_not_found");
    };
    let view = event_view(&req, &db, &key, lang, &e, RegisterForm::default(), BTreeMap::new(), None, false).await?;
    render(StatusCode::OK, "event.html", view, Framing::Never, Caching::NoStore)
}

/// The message beside a field the registration refused, in `lang`.
fn form_error(lang: Language, field: &str) -> &'static str {
    let key = format!("form.error.{field}");
    match text(lang, &key) {
        "" => text(lang, "form.error.other"),
        found => found,
    }
}

/// What a refusal of the whole registration says (the API's 409s), in `lang`.
fn conflict_notice(lang: Language, detail: &str) -> &'static str {
    let key = if detail.starts_with(ALREADY_REGISTERED) {
        "register.already"
    } else if detail.contains("cancelled") {
        "register.cancelled"
    } else if detail.contains("over") || detail.contains("already started") {
        "register.started"
    } else if detail.contains("opens at") {
        "register.not_open"
    } else if detail.contains("closed") {
        "register.closed"
    } else {
        "register.refused"
    };
    text(lang, key)
}

#[derive(Serialize)]
struct RegisteredView {
    #[serde(flatten)]
    frame: Frame,
    title: String,
    event: Card,
    confirmed: bool,
    waitlist_position: Option<i64>,
    manage_url: Option<String>,
    calendar_url: Option<String>,
    email: String,
}

/// Register through the event page's form.
///
/// The API's rules and checks (`POST /api/v1/events/{id}/registrations`); the answer is the
/// page saying what happened, with the link to manage the registration (also emailed). A
/// refused field brings the form back with the message beside it and what was typed kept.
#[utoipa::path(
    post,
    path = "/events/{id}/register",
    tag = "site",
    params(("id" = String, Path, description = "The event.")),
    request_body(
        content = RegisterForm,
        content_type = "application/x-www-form-urlencoded",
        example = json!({
            "attendee_name": "Rosa Diaz", "attendee_email": "rosa@tacogarage.example",
            "business_name": "Taco Garage", "business_email": "owner@tacogarage.example", "business_state": "TX",
            "marketing_consent": "yes", "lang": "es", "csrf": "1796000000.8f3a…", "idem": "5b0c7e1f2a9d4c3b8e6f1a2b3c4d5e6f"
        })
    ),
    responses(
        (status = 200, description = "Registered: the page with the manage link", content_type = "text/html", body = String),
        SiteForm,
    )
)]
pub(crate) async fn register(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    key: web::Data<FormKey>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form: Option<RegisterForm> = crate::pages::read_form(&req, payload).await?;
    let lang = super::language(&req, form.as_ref().and_then(|f| f.lang.as_deref()));
    let Some(e) = public_event(&db, &path).await? else {
        return problem(StatusCode::NOT_FOUND, lang, &req, "page.event_not_found");
    };
    let Some(form) = form else { return problem(StatusCode::BAD_REQUEST, lang, &req, "page.bad_form") };
    if super::csrf::cross_site(&req, &config.public_url) {
        return problem(StatusCode::FORBIDDEN, lang, &req, "page.cross_site");
    }
    if !key.check(&db, &purpose(&e.id), form.csrf.as_deref()).await? {
        return again(
            &req,
            &db,
            &key,
            lang,
            &e,
            StatusCode::BAD_REQUEST,
            BTreeMap::new(),
            Some(text(lang, "register.expired")),
            form,
        )
        .await;
    }
    let opt = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let business = BusinessIn {
        name: form.business_name.clone().unwrap_or_default(),
        email: form.business_email.clone().unwrap_or_default(),
        state: form.business_state.clone().unwrap_or_default(),
        industry: opt(&form.business_industry),
        employees: opt(&form.business_employees),
        website: opt(&form.business_website),
    };
    let attendee = AttendeeIn {
        name: form.attendee_name.clone().unwrap_or_default(),
        email: form.attendee_email.clone().unwrap_or_default(),
    };
    // A ticked box says yes; an unticked one says nothing (a form cannot tell "no" from "did not
    // look"), so it never withdraws a consent given before: the emails' unsubscribe link does.
    let consent = form.marketing_consent.is_some().then_some(true);
    let accommodation = accommodation_of(&form);
    let parsed = crate::registrations::public::with_accommodation(
        crate::registrations::public::parse_parts(&business, &attendee, consent, Some(lang)),
        accommodation.as_ref(),
    );
    let parsed = match parsed {
        Ok(p) => p,
        Err(err) => {
            let errors = fields_map(lang, &err);
            let notice = Some(text(lang, "register.check_fields"));
            return again(&req, &db, &key, lang, &e, StatusCode::UNPROCESSABLE_ENTITY, errors, notice, form).await;
        }
    };
    let idem = form.idem.as_deref().filter(|k| valid_idem(k)).map(|k| Idempotency {
        key: format!("form:{k}"),
        request_hash: hex::encode(Sha256::digest(serde_json::to_vec(&parsed).unwrap_or_default())),
        ttl: chrono::Duration::hours(i64::from(config.idempotency_ttl_hours)),
    });
    let email = parsed.attendee_email.to_string();
    match crate::registrations::public::submit(&db, &config, e.id.clone(), parsed, idem).await {
        Ok(out) => {
            let view = RegisteredView {
                frame: frame(lang, &req, Vec::new()),
                title: title_in(lang, &e),
                event: card(lang, &e),
                confirmed: out.status != crate::domain::RegistrationStatus::Waitlisted,
                waitlist_position: out.waitlist_position,
                manage_url: out.links.as_ref().map(|l| format!("{}&lang={}", l.manage_page, lang.as_str())),
                calendar_url: out.links.as_ref().map(|l| l.calendar.clone()),
                email,
            };
            render(StatusCode::OK, "registered.html", view, Framing::Never, Caching::NoStore)
        }
        Err(AppError::Conflict { detail, .. }) => {
            let notice = Some(conflict_notice(lang, &detail));
            again(&req, &db, &key, lang, &e, StatusCode::CONFLICT, BTreeMap::new(), notice, form).await
        }
        Err(err @ (AppError::Validation(_) | AppError::BadRequest { .. })) => {
            let errors = fields_map(lang, &err);
            let notice = Some(text(lang, "register.check_fields"));
            again(&req, &db, &key, lang, &e, StatusCode::UNPROCESSABLE_ENTITY, errors, notice, form).await
        }
        Err(AppError::NotFound(_)) => problem(StatusCode::NOT_FOUND, lang, &req, "page.event_not_found"),
        Err(other) => Err(other),
    }
}

/// The accommodation request the form carries: the ticked categories and the note; none when
/// nothing is ticked or written.
fn accommodation_of(form: &RegisterForm) -> Option<crate::accommodations::wire::AccommodationIn> {
    let ticked = [
        (&form.acc_wheelchair_access, "wheelchair_access"),
        (&form.acc_sign_language_interpreter, "sign_language_interpreter"),
        (&form.acc_live_captions, "live_captions"),
        (&form.acc_another_language, "another_language"),
        (&form.acc_other, "other"),
    ];
    let categories: Vec<String> =
        ticked.iter().filter(|(v, _)| v.is_some()).map(|(_, name)| name.to_string()).collect();
    let note = form.accommodation_note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    (!categories.is_empty() || note.is_some())
        .then_some(crate::accommodations::wire::AccommodationIn { categories, note })
}

/// The event page again, with the form as it was sent (a fresh token) and why it came back.
#[allow(clippy::too_many_arguments)]
async fn again(
    req: &HttpRequest,
    db: &Db,
    key: &FormKey,
    lang: Language,
    e: &EventOut,
    status: StatusCode,
    errors: BTreeMap<String, &'static str>,
    notice: Option<&'static str>,
    form: RegisterForm,
) -> Result<HttpResponse, AppError> {
    let view = event_view(req, db, key, lang, e, form, errors, notice, false).await?;
    render(status, "event.html", view, Framing::Never, Caching::NoStore)
}

/// The refused fields, named as the form names them (`business.name` → `business_name`).
fn fields_map(lang: Language, err: &AppError) -> BTreeMap<String, &'static str> {
    field_errors(err)
        .unwrap_or_default()
        .into_iter()
        .map(|f| (f.field.replace('.', "_"), form_error(lang, &f.field)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A state's page and the embeddable blocks

#[derive(Serialize)]
struct StateView {
    #[serde(flatten)]
    frame: Frame,
    title: String,
    code: String,
    stops: Vec<Card>,
    webinars: Vec<Card>,
    partners: Vec<(String, &'static str)>,
    embed: bool,
    full_url: String,
    /// The `<iframe>` a partner puts on its site (the state's page only).
    snippet: Option<String>,
}

async fn state_view(
    req: &HttpRequest,
    db: &Db,
    lang: Language,
    raw: &str,
    embed: bool,
) -> Result<Option<StateView>, AppError> {
    let code = raw.trim().to_ascii_uppercase();
    let found = {
        let code = code.clone();
        db.read(move |c| crate::states::find(c, &code)).await?
    };
    let Some(state) = found else { return Ok(None) };
    let stops = find_events(
        db,
        EventListQuery {
            state: Some(code.clone()),
            kind: Some("roadshow_stop".into()),
            limit: Some(PAGE_SIZE),
            ..Default::default()
        },
    )
    .await?;
    let webinars =
        find_events(db, EventListQuery { kind: Some("webinar".into()), limit: Some(10), ..Default::default() }).await?;
    let partners = {
        let code = code.clone();
        db.read(move |c| super::queries::partners_in(c, &code)).await?
    };
    Ok(Some(StateView {
        frame: frame(lang, req, if embed { Vec::new() } else { states(db).await? }),
        title: state.name.clone(),
        stops: stops.items.iter().map(|e| card(lang, e)).collect(),
        webinars: webinars.items.iter().filter(|e| e.state.is_none()).map(|e| card(lang, e)).collect(),
        partners: partners
            .into_iter()
            .map(|(name, kind)| (name, text(lang, &format!("org.{}", kind.as_str()))))
            .collect(),
        embed,
        full_url: format!("/states/{code}?lang={}", lang.as_str()),
        snippet: None,
        code,
    }))
}

/// A state's page: its upcoming stops, the national webinars and the local partners.
#[utoipa::path(
    get,
    path = "/states/{code}",
    tag = "site",
    params(("code" = String, Path, description = "Two-letter state code."), LangQuery),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        SitePage,
    )
)]
pub(crate) async fn state_page(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = super::language(&req, q.lang.as_deref());
    match state_view(&req, &db, lang, &path, false).await? {
        Some(mut view) => {
            view.snippet = Some(format!(
                "<iframe src=\"{}/embed/states/{}?lang={}\" title=\"{}\" width=\"100%\" height=\"600\" \
                 style=\"border:0\"></iframe>",
                config.public_url.trim_end_matches('/'),
                view.code,
                lang.as_str(),
                text(lang, "site.name"),
            ));
            render(StatusCode::OK, "state.html", view, Framing::Never, Caching::Public)
        }
        None => problem(StatusCode::NOT_FOUND, lang, &req, "page.state_not_found"),
    }
}

/// A state's block for partner websites (in an `<iframe>`; see `ROADSHOW_EMBED_ORIGINS`).
#[utoipa::path(
    get,
    path = "/embed/states/{code}",
    tag = "site",
    params(("code" = String, Path, description = "Two-letter state code."), LangQuery),
    responses(
        (status = 200, description = "The block", content_type = "text/html", body = String),
        SitePage,
    )
)]
pub(crate) async fn embed_state(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = super::language(&req, q.lang.as_deref());
    match state_view(&req, &db, lang, &path, true).await? {
        Some(view) => {
            render(StatusCode::OK, "embed.html", view, Framing::Origins(&config.embed_origins), Caching::Public)
        }
        None => problem(StatusCode::NOT_FOUND, lang, &req, "page.state_not_found"),
    }
}

/// An event's block for partner websites: the event and a link to register on its page.
#[utoipa::path(
    get,
    path = "/embed/events/{id}",
    tag = "site",
    params(("id" = String, Path, description = "The event."), LangQuery),
    responses(
        (status = 200, description = "The block", content_type = "text/html", body = String),
        SitePage,
    )
)]
pub(crate) async fn embed_event(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = super::language(&req, q.lang.as_deref());
    let Some(e) = public_event(&db, &path).await? else {
        return problem(StatusCode::NOT_FOUND, lang, &req, "page.event_not_found");
    };
    let view = StateView {
        frame: frame(lang, &req, Vec::new()),
        title: title_in(lang, &e),
        code: e.state.clone().unwrap_or_default(),
        stops: vec![card(lang, &e)],
        webinars: Vec::new(),
        partners: Vec::new(),
        embed: true,
        full_url: format!("/events/{}?lang={}", e.id, lang.as_str()),
        snippet: None,
    };
    render(StatusCode::OK, "embed.html", view, Framing::Origins(&config.embed_origins), Caching::Public)
}

/// The site's stylesheet.
#[utoipa::path(
    get,
    path = "/site.css",
    tag = "site",
    responses((status = 200, description = "The stylesheet", content_type = "text/css", body = String), crate::openapi::problems::PublicRead)
)]
pub(crate) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(super::STYLESHEET)
}
