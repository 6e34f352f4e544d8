//! Registering, and asking for lost links: the public, rate-limited writes of this feature.
//!
//! A registration request is parsed into a [`RegistrationRequest`] (every bad field named at
//! once), then registered in one transaction ([`queries::register`]). The same attendee twice
//! at one event is a 409 that names nothing: the attendee is emailed their links instead. An
//! `Idempotency-Key` makes a retry answer as the first request did (with a fresh manage token).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::model::{employee_band, RegistrationRequest};
use super::queries::{self, Idempotency, Outcome, Seating};
use super::wire::{RecoverIn, RegistrationCreatedOut, RegistrationIn, RegistrationLinksOut};
use crate::config::Config;
use crate::db::Db;
use crate::domain::PrivacyKind;
use crate::error::{AppError, FieldError};
use crate::http::{parse_id, JsonBody};
use crate::mail::MailContext;
use crate::openapi::problems::PublicWrite;
use crate::privacy::wire::AcceptedOut;
use crate::validate;

/// A trimmed optional text; empty is absent.
fn optional(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Parses a registration request; every bad field is named in one 422.
fn parse_request(input: &RegistrationIn) -> Result<RegistrationRequest, AppError> {
    let parts = parse_parts(&input.business, &input.attendee, input.marketing_consent, input.language);
    with_accommodation(parts, input.accommodation.as_ref())
}

/// Adds the parsed accommodation request (`accommodation`) to a parsed registration or booking;
/// its bad fields join the others in one 422.
pub(crate) fn with_accommodation(
    parts: Result<RegistrationRequest, AppError>,
    input: Option<&crate::accommodations::wire::AccommodationIn>,
) -> Result<RegistrationRequest, AppError> {
    let parsed = input.map(|a| crate::accommodations::model::Accommodation::parse("accommodation", a)).transpose();
    match (parts, parsed) {
        (Ok(mut req), Ok(accommodation)) => {
            req.accommodation = accommodation;
            Ok(req)
        }
        (Err(AppError::Validation(mut errors)), Err(more)) => {
            errors.extend(more);
            Err(AppError::Validation(errors))
        }
        (Err(e), _) => Err(e),
        (Ok(_), Err(errors)) => Err(AppError::Validation(errors)),
    }
}

/// Parses a business and an attendee as a registration takes them (expert bookings take the
/// same); every bad field is named in one 422.
pub(crate) fn parse_parts(
    b: &super::wire::BusinessIn,
    a: &super::wire::AttendeeIn,
    marketing_consent: Option<bool>,
    language: Option<crate::domain::Language>,
) -> Result<RegistrationRequest, AppError> {
    let parsed = (
        validate::text("business.name", &b.name, 200),
        validate::email("business.email", &b.email),
        validate::state_code("business.state", &b.state),
        validate::opt_text("business.industry", b.industry.as_deref(), 100),
        optional(b.employees.as_deref()).map(|e| employee_band("business.employees", e)).transpose(),
        optional(b.website.as_deref()).map(|w| validate::url("business.website", w)).transpose(),
        validate::text("attendee.name", &a.name, 200),
        validate::email("attendee.email", &a.email),
    );
    match parsed {
        (
            Ok(business_name),
            Ok(business_email),
            Ok(business_state),
            Ok(industry),
            Ok(employees),
            Ok(website),
            Ok(attendee_name),
            Ok(attendee_email),
        ) => Ok(RegistrationRequest {
            business_name,
            business_email,
            business_state,
            industry,
            employees,
            website,
            attendee_name,
            attendee_email,
            marketing_consent,
            language: language.unwrap_or_default(),
            accommodation: None,
        }),
        (a, b, c, d, e, f, g, h) => {
            let errors: Vec<FieldError> = [a.err(), b.err(), c.err(), d.err(), e.err(), f.err(), g.err(), h.err()]
                .into_iter()
                .flatten()
                .collect();
            Err(AppError::Validation(errors))
        }
    }
}

/// The request's `Idempotency-Key`, with the fingerprint of what it asks for.
pub(crate) fn idempotency<T: serde::Serialize>(
    req: &HttpRequest,
    parsed: &T,
    ttl_hours: u32,
) -> Result<Option<Idempotency>, AppError> {
    let Some(v) = req.headers().get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::bad_field("Idempotency-Key", "must be 1-200 visible ASCII characters"));
    }
    let body = serde_json::to_vec(parsed).unwrap_or_default();
    Ok(Some(Idempotency {
        key: key.to_string(),
        request_hash: hex::encode(Sha256::digest(&body)),
        ttl: chrono::Duration::hours(i64::from(ttl_hours)),
    }))
}

/// Register an attendee for an event.
///
/// Holds a seat when there is one (`confirmed`), else a place in the first-come, first-served
/// waitlist (`waitlisted`), and emails the attendee. The answer carries the manage token (shown
/// only here and in the emails). The same attendee twice at one event is a 409 that names nothing;
/// the attendee is emailed the link to their registration instead. A retry with the same
/// `Idempotency-Key` and body answers like the first request, with the registration's status now.
#[utoipa::path(
    post,
    path = "/api/v1/events/{id}/registrations",
    tag = "registrations",
    params(
        ("id" = uuid::Uuid, Path, description = "The event."),
        ("Idempotency-Key" = Option<String>, Header,
         description = "1-200 visible ASCII characters. A retry with the same key and body gets the first answer; \
                        the same key with another body is a 422."),
    ),
    request_body(
        content = RegistrationIn,
        example = json!({
            "business": {"name": "Taco Garage", "email": "owner@tacogarage.example", "state": "TX",
                         "industry": "restaurants", "employees": "2-9", "website": "https://tacogarage.example"},
            "attendee": {"name": "Rosa Diaz", "email": "rosa@tacogarage.example"},
            "marketing_consent": false
        })
    ),
    responses(
        (status = 201, description = "Registered (or the first answer again, for a retry with the same key)",
         body = RegistrationCreatedOut,
         headers(("Location" = String, description = "The registration: `/api/v1/registrations/{id}`."))),
        PublicWrite
    )
)]
pub(crate) async fn create_registration(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<RegistrationIn>,
) -> Result<HttpResponse, AppError> {
    let event_id = parse_id("id", &path)?;
    let parsed = parse_request(&input)?;
    let idem = idempotency(&req, &parsed, config.idempotency_ttl_hours)?;
    let out = submit(&db, &config, event_id, parsed, idem).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/registrations/{}", out.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&out))
}

/// Registers a parsed request (the API and the registration form of the site both come here):
/// a seat or a waitlist place and the email, in one transaction, retried as the engines need.
/// The same attendee twice is the 409 [`queries::ALREADY_REGISTERED`], after their links are
/// emailed to them.
pub(crate) async fn submit(
    db: &Db,
    config: &Config,
    event_id: String,
    parsed: RegistrationRequest,
    idem: Option<Idempotency>,
) -> Result<RegistrationCreatedOut, AppError> {
    let ctx = MailContext::from_config(config);
    let (links_ctx, email, lang) = (ctx.clone(), parsed.attendee_email.clone(), parsed.language);
    // Both attempts (see `Seating`) in one blocking hop: a registration that finds no seat free at
    // once goes on under the event lock on the same thread, without going back to the async one.
    let pool = db.clone();
    let outcome = crate::db::block_in_span(move || {
        let attempt = |seating| {
            pool.write_retrying_blocking(|c| queries::register(c, &ctx, &event_id, &parsed, idem.as_ref(), seating))
        };
        match attempt(Seating::SeatFirst) {
            Err(e) if queries::is_seat_first_full(&e) => attempt(Seating::EventLockFirst),
            other => other,
        }
    })
    .await;
    let outcome = match outcome {
        Ok(o) => {
            crate::metrics::registration(match &o {
                Outcome::Replayed(_) => "replayed",
                Outcome::Created(c) if c.status == crate::domain::RegistrationStatus::Waitlisted => "waitlisted",
                Outcome::Created(_) => "confirmed",
            });
            Ok(o)
        }
        Err(e) => {
            crate::metrics::registration("refused");
            Err(e)
        }
    };
    let outcome = match outcome {
        Err(AppError::Conflict { existing_id: None, detail }) if detail == queries::ALREADY_REGISTERED => {
            // The unique index refused the insert (everything before it was rolled back). Name
            // nothing: the attendee is emailed their links instead (at most one such email per
            // address per ROADSHOW_LINKS_EMAIL_MINUTES, whoever asks).
            // In the language this registration asked for.
            db.write(move |c| crate::mail::links_email(c, &links_ctx, &email, lang)).await?;
            return Err(AppError::conflict(
                "this attendee is already registered for this event; we have emailed them the link to manage it",
            ));
        }
        other => other?,
    };
    let (Outcome::Created(created) | Outcome::Replayed(created)) = outcome;
    let links = created.manage_token.as_deref().map(|token| RegistrationLinksOut::new(config, &created.id, token));
    let out = RegistrationCreatedOut {
        id: created.id,
        event_id: created.event_id,
        status: created.status,
        waitlist_position: created.waitlist_position,
        manage_token: created.manage_token,
        links,
    };
    Ok(out)
}

/// Email the links to an address's registrations (always 202).
///
/// Queued, as privacy requests are: the same work and the same answer whether or not the address
/// is known. The worker sends one email listing every upcoming registration of the address, at
/// most one per address per `ROADSHOW_LINKS_EMAIL_MINUTES`.
#[utoipa::path(
    post,
    path = "/api/v1/registrations/recover",
    tag = "registrations",
    request_body(content = RecoverIn, example = json!({"email": "rosa@tacogarage.example"})),
    responses(
        (status = 202, description = "Queued (whether or not the address is known)", body = AcceptedOut),
        PublicWrite
    )
)]
pub(crate) async fn recover_links(
    db: web::Data<Db>,
    JsonBody(input): JsonBody<RecoverIn>,
) -> Result<HttpResponse, AppError> {
    let email = validate::email("email", &input.email).map_err(|e| AppError::Validation(vec![e]))?;
    let payload = crate::privacy::requests::Payload { language: input.language, ..Default::default() };
    db.write(move |c| crate::privacy::requests::queue(c, &email, PrivacyKind::Links, &payload)).await?;
    Ok(crate::privacy::public::accepted(
        "If this address has upcoming registrations, we are emailing it the links to manage them.",
    ))
}
