//! The public privacy API: asking for a verified link (`POST /api/v1/privacy/requests`, always a
//! 202 that reveals nothing about the address) and carrying out the request behind a link
//! (`POST /api/v1/privacy/confirm`). See [`super::requests`] for the whole flow.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::queries;
use super::requests::{self, BusinessChanges, Outcome, Payload};
use super::wire::{AcceptedOut, BusinessPatch, ConfirmIn, ConfirmOut, PrivacyRequestIn, PrivacyRequestKind};
use crate::config::Config;
use crate::db::Db;
use crate::domain::PrivacyKind;
use crate::error::AppError;
use crate::http::JsonBody;
use crate::mail::MailContext;
use crate::openapi::problems::PublicWrite;
use crate::registrations::model::employee_band;
use crate::validate::{self, Errors};

/// The one answer to every well-formed queued request, known address or not.
pub(crate) fn accepted(detail: &str) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&AcceptedOut { status: "accepted".into(), detail: detail.into() })
}

/// Parses a privacy request: its address, and what its kind needs (every bad field named at once).
fn parse_request(input: &PrivacyRequestIn) -> Result<(crate::domain::EmailAddress, PrivacyKind, Payload), AppError> {
    let mut errs = Errors::new();
    let email = errs.take(validate::email("email", &input.email));
    let mut payload = Payload { language: input.language, ..Payload::default() };
    match input.kind {
        PrivacyRequestKind::UpdateBusiness => match &input.business {
            None => errs.push("business", "is required for update_business"),
            Some(b) => payload.business = Some(parse_business_changes(b, "business", &mut errs)),
        },
        PrivacyRequestKind::Marketing => match input.marketing_consent {
            None => errs.push("marketing_consent", "is required for marketing (true or false)"),
            Some(c) => payload.marketing_consent = Some(c),
        },
        PrivacyRequestKind::Export | PrivacyRequestKind::Erase | PrivacyRequestKind::Voucher => {
            if input.business.is_some() {
                errs.push("business", "is only for update_business");
            }
            if input.marketing_consent.is_some() {
                errs.push("marketing_consent", "is only for marketing");
            }
        }
    }
    match email {
        Some(email) if errs.is_empty() => Ok((email, input.kind.into(), payload)),
        _ => Err(AppError::Validation(errs.0)),
    }
}

/// New business details (each optional, at least one), with errors named under `prefix` (none:
/// the fields are the body's own).
pub(super) fn parse_business_changes(b: &BusinessPatch, prefix: &str, errs: &mut Errors) -> BusinessChanges {
    let field = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
    let mut changes = BusinessChanges::default();
    if let Some(n) = &b.name {
        changes.name = errs.take(validate::text(&field("name"), n, 200));
    }
    if let Some(s) = &b.state {
        changes.state = errs.take(validate::state_code(&field("state"), s)).map(String::from);
    }
    if let Some(i) = &b.industry {
        changes.industry = errs.take(validate::text(&field("industry"), i, 100));
    }
    if let Some(e) = &b.employees {
        changes.employees = errs.take(employee_band(&field("employees"), e));
    }
    if let Some(w) = &b.website {
        changes.website = errs.take(validate::url(&field("website"), w.trim()));
    }
    if let Some(e) = &b.ein {
        match crate::domain::Ein::parse(e) {
            Ok(ein) => changes.ein = Some(ein.to_string()),
            Err(rule) => errs.push(field("ein"), rule),
        }
    }
    let any = b.name.is_some()
        || b.state.is_some()
        || b.industry.is_some()
        || b.employees.is_some()
        || b.website.is_some()
        || b.ein.is_some();
    if !any {
        errs.push(if prefix.is_empty() { "body" } else { prefix }, "must name at least one detail to change");
    }
    changes
}

/// Ask for a link to export, erase, correct or change consent for an address (always 202).
///
/// Nothing is done in the request, and the answer is the same whether or not the address is
/// known: a known address is emailed a single-use link (valid 30 minutes; at most one per address
/// and kind per `ROADSHOW_LINKS_EMAIL_MINUTES`), which opens `GET /privacy/confirm`.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/requests",
    tag = "privacy",
    request_body(
        content = PrivacyRequestIn,
        example = json!({"email": "owner@tacogarage.example", "kind": "update_business",
                         "business": {"name": "Taco Garage & Co", "state": "NM"}})
    ),
    responses(
        (status = 202, description = "Queued (whether or not the address is known)", body = AcceptedOut),
        PublicWrite
    )
)]
pub(crate) async fn create_request(
    db: web::Data<Db>,
    JsonBody(input): JsonBody<PrivacyRequestIn>,
) -> Result<HttpResponse, AppError> {
    let (email, kind, payload) = parse_request(&input)?;
    // Queued as it is: nothing here depends on whether the address is known.
    db.write(move |c| requests::queue(c, &email, kind, &payload)).await?;
    Ok(accepted(&format!(
        "If we hold data for this address, we are emailing it a link to confirm the request. The link works \
         once, for {} minutes.",
        requests::LINK_MINUTES
    )))
}

/// Carries out the request behind a link, then removes the `.eml` copies an erasure blanked.
pub(super) async fn run_confirm(db: &Db, config: &Config, token: String) -> Result<Outcome, AppError> {
    let ctx = MailContext::from_config(config);
    let ctx2 = ctx.clone();
    let outcome = db.write(move |c| requests::confirm(c, &ctx2, token.trim())).await?;
    if let Outcome::Erase { summary } = &outcome {
        queries::remove_mail_files(&ctx, &summary.email_ids);
    }
    Ok(outcome)
}

/// Carry out the request behind a privacy link (its token); works once, within 30 minutes.
///
/// A link that was used, has expired or is unknown is the same 404.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/confirm",
    tag = "privacy",
    request_body(content = ConfirmIn, example = json!({"token": "rsp_Yk3…"})),
    responses((status = 200, description = "Done: what the request did", body = ConfirmOut), PublicWrite)
)]
pub(crate) async fn confirm_api(
    db: web::Data<Db>,
    config: web::Data<Config>,
    JsonBody(input): JsonBody<ConfirmIn>,
) -> Result<HttpResponse, AppError> {
    let outcome = run_confirm(&db, &config, input.token).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(ConfirmOut::from(outcome)))
}
