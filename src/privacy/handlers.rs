//! HTTP in and out for personal data (see the module docs).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::queries;
use super::requests::{self, BusinessChanges, Kind, Outcome, Payload};
use crate::auth::bearer_token;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::http::{parse_id, JsonBody, QueryParams};
use crate::mail::{html_escape, MailContext};
use crate::registrations::model::EMPLOYEE_BANDS;
use crate::validate::{self, Errors};

fn manage_token(req: &HttpRequest) -> Result<String, AppError> {
    bearer_token(req).ok_or_else(|| {
        AppError::Unauthorized("send the registration's manage token as `Authorization: Bearer <token>`".into())
    })
}

fn no_such_registration() -> AppError {
    AppError::not_found("no such registration, or the token does not match it")
}

pub(crate) async fn export_registration_data(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = manage_token(&req)?;
    let id = parse_id("id", &path)?;
    let data = db
        .read(move |c| {
            crate::registrations::queries::find_by_token(c, &id, &token)?.ok_or_else(no_such_registration)?;
            queries::export_registration(c, &id)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"registration-data.json\""))
        .json(data))
}

pub(crate) async fn erase_registration_data(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = manage_token(&req)?;
    let id = parse_id("id", &path)?;
    let ctx = MailContext::from_config(&config);
    let ctx2 = ctx.clone();
    let summary = db
        .write(move |c| {
            crate::registrations::queries::find_by_token(c, &id, &token)?.ok_or_else(no_such_registration)?;
            queries::erase_registration(c, &ctx2, &id)
        })
        .await?;
    queries::remove_mail_files(&ctx, &summary.email_ids);
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(summary))
}

/// `POST /api/v1/privacy/requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyRequestIn {
    pub email: String,
    /// `export`, `erase`, `update_business` or `marketing`.
    pub kind: String,
    /// `update_business`: the new details (at least one).
    pub business: Option<BusinessChangesIn>,
    /// `marketing`: give (true) or withdraw (false) consent.
    pub marketing_consent: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessChangesIn {
    pub name: Option<String>,
    pub state: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
}

fn parse_request(input: &PrivacyRequestIn) -> Result<(String, Kind, Payload), AppError> {
    let mut errs = Errors::new();
    let email = errs.take(validate::email("email", &input.email));
    let kind = match Kind::parse(input.kind.trim()) {
        Some(k) if k != Kind::Links => Some(k),
        _ => {
            errs.push("kind", "must be one of export, erase, update_business, marketing");
            None
        }
    };
    let mut payload = Payload::default();
    match kind {
        Some(Kind::UpdateBusiness) => match &input.business {
            None => errs.push("business", "is required for update_business"),
            Some(b) => payload.business = Some(parse_business_changes(b, "business", &mut errs)),
        },
        Some(Kind::Marketing) => match input.marketing_consent {
            None => errs.push("marketing_consent", "is required for marketing (true or false)"),
            Some(c) => payload.marketing_consent = Some(c),
        },
        _ => {
            if input.business.is_some() {
                errs.push("business", "is only for update_business");
            }
            if input.marketing_consent.is_some() {
                errs.push("marketing_consent", "is only for marketing");
            }
        }
    }
    errs.finish()?;
    match (email, kind) {
        (Some(e), Some(k)) => Ok((e, k, payload)),
        _ => Err(AppError::internal("validated request without email or kind")),
    }
}

/// New business details (each optional, at least one), with errors named under `prefix`.
fn parse_business_changes(b: &BusinessChangesIn, prefix: &str, errs: &mut Errors) -> BusinessChanges {
    let field = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
    let mut changes = BusinessChanges::default();
    if let Some(n) = &b.name {
        changes.name = errs.take(validate::text(&field("name"), n, 200));
    }
    if let Some(s) = &b.state {
        changes.state = errs.take(validate::state_code(&field("state"), s));
    }
    if let Some(i) = &b.industry {
        changes.industry = errs.take(validate::text(&field("industry"), i, 100));
    }
    if let Some(e) = &b.employees {
        if EMPLOYEE_BANDS.contains(&e.trim()) {
            changes.employees = Some(e.trim().to_string());
        } else {
            errs.push(field("employees"), format!("must be one of {}", EMPLOYEE_BANDS.join(", ")));
        }
    }
    if let Some(w) = &b.website {
        changes.website = errs.take(validate::url(&field("website"), w.trim()));
    }
    let any =
        b.name.is_some() || b.state.is_some() || b.industry.is_some() || b.employees.is_some() || b.website.is_some();
    if !any {
        errs.push(if prefix.is_empty() { "body" } else { prefix }, "must name at least one detail to change");
    }
    changes
}

/// `GET /api/v1/admin/businesses/{id}`: a business record (national admins only: businesses
/// belong to no organization, and a partner sees a registrant's business through its own events).
pub(crate) async fn get_business(
    actor: crate::auth::Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let data =
        db.read(move |c| queries::export(c, &id)?.ok_or_else(|| AppError::not_found("no such business"))).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(data.business))
}

/// `PATCH /api/v1/admin/businesses/{id}`: staff correct a business record (national admins only;
/// audited with field names). The other way is the business's own verified link.
pub(crate) async fn update_business(
    actor: crate::auth::Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<BusinessChangesIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let mut errs = Errors::new();
    let changes = parse_business_changes(&input, "", &mut errs);
    errs.finish()?;
    let out = db.write(move |c| requests::apply_business_changes(c, Some(&actor), &id, &changes)).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(out))
}

/// The one answer to every well-formed request, known address or not.
pub fn accepted(detail: &str) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "status": "accepted", "detail": detail }))
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    pub token: String,
}

pub(crate) async fn confirm_api(
    db: web::Data<Db>,
    config: web::Data<Config>,
    JsonBody(input): JsonBody<ConfirmIn>,
) -> Result<HttpResponse, AppError> {
    let outcome = run_confirm(&db, &config, input.token).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(outcome))
}

async fn run_confirm(db: &Db, config: &Config, token: String) -> Result<Outcome, AppError> {
    let ctx = MailContext::from_config(config);
    let ctx2 = ctx.clone();
    let outcome = db.write(move |c| requests::confirm(c, &ctx2, token.trim())).await?;
    if let Outcome::Erase { summary } = &outcome {
        queries::remove_mail_files(&ctx, &summary.email_ids);
    }
    Ok(outcome)
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

fn invalid_page() -> HttpResponse {
    crate::registrations::handlers::html_page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "<h1>This link is not valid</h1>\n<p>It was already used, has expired, or is unknown. You can ask \
         for a new one.</p>",
    )
}

/// The page a privacy link opens: says what confirming does, changes nothing by itself (mail
/// scanners open links).
pub(crate) async fn confirm_page(
    db: web::Data<Db>,
    QueryParams(q): QueryParams<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = q.token else { return Ok(invalid_page()) };
    let t = token.clone();
    let Some((kind, email, payload)) = db.read(move |c| requests::peek(c, &t)).await? else {
        return Ok(invalid_page());
    };
    let mut body = format!(
        "<h1>Confirm your request</h1>\n<p>For <strong>{}</strong>: {}.</p>\n",
        html_escape(&email),
        html_escape(kind.action())
    );
    if let Some(b) = &payload.business {
        body.push_str("<dl>\n");
        for (label, v) in [
            ("Name", &b.name),
            ("State", &b.state),
            ("Industry", &b.industry),
            ("Employees", &b.employees),
            ("Website", &b.website),
        ] {
            if let Some(v) = v {
                body.push_str(&format!("<dt>{label}</dt><dd>{}</dd>\n", html_escape(v)));
            }
        }
        body.push_str("</dl>\n");
    }
    if let Some(c) = payload.marketing_consent {
        body.push_str(if c {
            "<p>You will receive news about the Roadshow.</p>\n"
        } else {
            "<p>You will no longer receive news about the Roadshow.</p>\n"
        });
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/privacy/confirm\">\n<input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         <button type=\"submit\">Confirm</button>\n</form>\n<p>If you did not ask for this, close this page: \
         nothing happens without the button.</p>",
        html_escape(&token)
    ));
    Ok(crate::registrations::handlers::html_page(StatusCode::OK, "Confirm your request", &body))
}

#[derive(Debug, Deserialize)]
struct ConfirmForm {
    token: String,
}

pub(crate) async fn confirm_form(
    db: web::Data<Db>,
    config: web::Data<Config>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Ok(form) = serde_urlencoded::from_bytes::<ConfirmForm>(&body) else { return Ok(invalid_page()) };
    let outcome = match run_confirm(&db, &config, form.token).await {
        Ok(o) => o,
        Err(AppError::NotFound(_)) => return Ok(invalid_page()),
        Err(e) => return Err(e),
    };
    let page = |title: &str, body: &str| crate::registrations::handlers::html_page(StatusCode::OK, title, body);
    Ok(match outcome {
        Outcome::Export { data } => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"roadshow-data.json\""))
            .body(serde_json::to_string_pretty(&data).unwrap_or_default()),
        Outcome::Erase { summary } => page(
            "Data erased",
            &format!(
                "<h1>Your data is erased</h1>\n<p>{} registration(s) anonymised, {} cancelled, {} queued email(s) \
                 dropped.</p>",
                summary.registrations_anonymised, summary.registrations_cancelled, summary.emails_dropped
            ),
        ),
        Outcome::UpdateBusiness { business } => page(
            "Business updated",
            &format!("<h1>Saved</h1>\n<p>The details of {} are updated.</p>", html_escape(&business.name)),
        ),
        Outcome::Marketing { marketing_consent } => page(
            "Preferences saved",
            if marketing_consent {
                "<h1>Saved</h1>\n<p>You will receive news about the Roadshow.</p>"
            } else {
                "<h1>Saved</h1>\n<p>You will no longer receive news about the Roadshow.</p>"
            },
        ),
    })
}
