//! The page a privacy link opens (`GET /privacy/confirm?token=…`) and its form
//! (`POST /privacy/confirm`). The page says what confirming does and changes nothing by itself
//! (mail scanners open links); the form carries the request out. Rendered from
//! `src/pages/templates/` ([`crate::pages`]), in the language `?lang=` names (the emailed link
//! carries the email's), else `Accept-Language`; the form carries the page's on.

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
use crate::i18n::{self, Language};
use crate::openapi::problems::{PublicRead, PublicWrite};
use crate::pages;

/// The query of the page a privacy link opens.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfirmQuery {
    /// The link's token (`rsp_…`).
    pub token: Option<String>,
    /// The page's language, `en` or `es` (anything else is ignored; default: `Accept-Language`).
    pub lang: Option<String>,
}

fn invalid_page(lang: Language) -> Result<HttpResponse, AppError> {
    let title = i18n::text(lang, "page.privacy.invalid_title");
    let heading = i18n::text(lang, "page.privacy.invalid");
    pages::message(StatusCode::NOT_FOUND, lang, title, heading, &[i18n::text(lang, "page.privacy.invalid_text")])
}

#[derive(Serialize)]
struct Detail<'a> {
    label: &'a str,
    value: &'a str,
}

/// What `privacy_confirm.html` shows.
#[derive(Serialize)]
struct ConfirmView<'a> {
    lang: Language,
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
    req: HttpRequest,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ConfirmQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = pages::language(&req, q.lang.as_deref());
    let Some(token) = q.token else { return invalid_page(lang) };
    let t = token.clone();
    let Some((kind, email, payload)) = db.read(move |c| requests::peek(c, &t)).await? else {
        return invalid_page(lang);
    };
    let details = match &payload.business {
        Some(b) => [
            ("page.privacy.name", &b.name),
            ("page.privacy.state", &b.state),
            ("page.privacy.industry", &b.industry),
            ("page.privacy.employees", &b.employees),
            ("page.privacy.website", &b.website),
        ]
        .into_iter()
        .filter_map(|(label, v)| v.as_deref().map(|value| Detail { label: i18n::text(lang, label), value }))
        .collect(),
        None => Vec::new(),
    };
    let view = ConfirmView {
        lang,
        title: i18n::text(lang, "page.privacy.title"),
        email: &email,
        action: requests::action(kind, lang),
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
    let Some(form) = pages::read_form::<ConfirmFormIn>(&req, payload).await? else {
        return invalid_page(pages::language(&req, None));
    };
    let lang = pages::language(&req, form.lang.as_deref());
    let outcome = match run_confirm(&db, &config, form.token).await {
        Ok(o) => o,
        Err(AppError::NotFound(_)) => return invalid_page(lang),
        Err(e) => return Err(e),
    };
    let t = |key: &str| i18n::text(lang, key);
    let done =
        |title: &str, heading: &str, line: &str| pages::message(StatusCode::OK, lang, t(title), t(heading), &[line]);
    match outcome {
        Outcome::Export { data } => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"roadshow-data.json\""))
            .body(serde_json::to_string_pretty(&data).map_err(|e| AppError::internal(e.to_string()))?)),
        Outcome::Erase { summary } => done(
            "page.privacy.erased_title",
            "page.privacy.erased",
            &i18n::format(
                lang,
                "page.privacy.erased_text",
                &[
                    ("anonymised", &summary.registrations_anonymised),
                    ("cancelled", &summary.registrations_cancelled),
                    ("dropped", &summary.emails_dropped),
                ],
            ),
        ),
        Outcome::UpdateBusiness { business } => done(
            "page.privacy.business_title",
            "page.privacy.saved",
            &i18n::format(lang, "page.privacy.business_text", &[("business", &business.name)]),
        ),
        Outcome::Marketing { marketing_consent: true } => {
            done("page.privacy.preferences_title", "page.privacy.saved", t("page.privacy.news_yes"))
        }
        Outcome::Marketing { marketing_consent: false } => {
            done("page.privacy.preferences_title", "page.privacy.saved", t("page.privacy.news_no"))
        }
        Outcome::Voucher { voucher: Some((grant, voucher)) } => done(
            "page.privacy.voucher_title",
            "page.privacy.voucher",
            &i18n::format(
                lang,
                "page.privacy.voucher_text",
                &[("code", &voucher.code), ("amount", &crate::credits::mail::money(grant.amount_cents, "USD"))],
            ),
        ),
        Outcome::Voucher { voucher: None } => {
            done("page.privacy.no_voucher_title", "page.privacy.no_voucher", t("page.privacy.no_voucher_text"))
        }
    }
}
