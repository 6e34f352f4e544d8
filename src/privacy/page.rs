//! The page a privacy link opens (`GET /privacy/confirm?token=…`) and its form
//! (`POST /privacy/confirm`). The page says what confirming does and changes nothing by itself
//! (mail scanners open links); the form carries the request out. Rendered from
//! `src/pages/templates/` ([`crate::pages`]).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::public::run_confirm;
use super::requests::{self, Outcome};
use super::wire::{AddressDataOut, ConfirmFormIn};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::QueryParams;
use crate::openapi::problems::{PublicRead, PublicWrite};
use crate::pages;

/// The query of the page a privacy link opens.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfirmQuery {
    /// The link's token (`rsp_…`).
    pub token: Option<String>,
}

fn invalid_page() -> Result<HttpResponse, AppError> {
    pages::message(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This link is not valid",
        &["It was already used, has expired, or is unknown. You can ask for a new one."],
    )
}

#[derive(Serialize)]
struct Detail<'a> {
    label: &'a str,
    value: &'a str,
}

/// What `privacy_confirm.html` shows.
#[derive(Serialize)]
struct ConfirmView<'a> {
    title: &'a str,
    email: &'a str,
    action: &'a str,
    details: Vec<Detail<'a>>,
    marketing_consent: Option<bool>,
    token: &'a str,
}

/// The page a privacy link opens: what confirming does, and a form (changes nothing by itself).
#[utoipa::path(
    get,
    path = "/privacy/confirm",
    tag = "privacy",
    params(ConfirmQuery),
    responses(
        PublicRead,
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "The link is not valid (a page saying so)", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn confirm_page(
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ConfirmQuery>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = q.token else { return invalid_page() };
    let t = token.clone();
    let Some((kind, email, payload)) = db.read(move |c| requests::peek(c, &t)).await? else {
        return invalid_page();
    };
    let details = match &payload.business {
        Some(b) => [
            ("Name", &b.name),
            ("State", &b.state),
            ("Industry", &b.industry),
            ("Employees", &b.employees),
            ("Website", &b.website),
        ]
        .into_iter()
        .filter_map(|(label, v)| v.as_deref().map(|value| Detail { label, value }))
        .collect(),
        None => Vec::new(),
    };
    let view = ConfirmView {
        title: "Confirm your request",
        email: &email,
        action: requests::action(kind),
        details,
        marketing_consent: payload.marketing_consent,
        token: &token,
    };
    pages::render(StatusCode::OK, "privacy_confirm.html", view)
}

/// The confirmation page's form: carries the request out.
///
/// Answers with a page saying what was done; an export answers with the data itself, as a JSON
/// attachment.
#[utoipa::path(
    post,
    path = "/privacy/confirm",
    tag = "privacy",
    request_body(
        content = ConfirmFormIn,
        content_type = "application/x-www-form-urlencoded",
        example = json!({"token": "rsp_Yk3…"})
    ),
    responses(
        PublicWrite,
        (status = 200, description = "Done: a page saying what was done, or (export) the data as an attachment",
         content(
             (String = "text/html"),
             (AddressDataOut = "application/json"),
         )),
        (status = 404, description = "The link is not valid (a page saying so)", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn confirm_form(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let Some(form) = pages::read_form::<ConfirmFormIn>(&req, payload).await? else { return invalid_page() };
    let outcome = match run_confirm(&db, &config, form.token).await {
        Ok(o) => o,
        Err(AppError::NotFound(_)) => return invalid_page(),
        Err(e) => return Err(e),
    };
    let done = |title: &str, heading: &str, line: &str| pages::message(StatusCode::OK, title, heading, &[line]);
    match outcome {
        Outcome::Export { data } => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"roadshow-data.json\""))
            .body(serde_json::to_string_pretty(&data).map_err(|e| AppError::internal(e.to_string()))?)),
        Outcome::Erase { summary } => done(
            "Data erased",
            "Your data is erased",
            &format!(
                "{} registration(s) anonymised, {} cancelled, {} queued email(s) dropped.",
                summary.registrations_anonymised, summary.registrations_cancelled, summary.emails_dropped
            ),
        ),
        Outcome::UpdateBusiness { business } => {
            done("Business updated", "Saved", &format!("The details of {} are updated.", business.name))
        }
        Outcome::Marketing { marketing_consent: true } => {
            done("Preferences saved", "Saved", "You will receive news about the Roadshow.")
        }
        Outcome::Marketing { marketing_consent: false } => {
            done("Preferences saved", "Saved", "You will no longer receive news about the Roadshow.")
        }
        Outcome::Voucher { voucher: Some((grant, voucher)) } => done(
            "Your voucher code",
            "Your new voucher code",
            &format!(
                "{} — worth {}. Keep it: it is shown only here. Your old code no longer works.",
                voucher.code,
                crate::credits::mail::money(grant.amount_cents, "USD")
            ),
        ),
        Outcome::Voucher { voucher: None } => {
            done("No voucher", "No voucher to show", "The business holds no ad credit that has not been used.")
        }
    }
}
