//! Email over HTTP: admin inspection and retry of the outbox, and the one-click unsubscribe link.
//!
//! - `GET  /api/v1/admin/outbox?status=&limit=&cursor=` — newest first, `last_error` visible.
//! - `GET  /api/v1/admin/outbox/stats` — rows per status, due now, oldest pending.
//! - `POST /api/v1/admin/outbox/{id}/retry` — a dead email back in the queue, due now.
//! - `GET  /unsubscribe/{token}` — a page with a confirm button (link scanners fetch GET links, so
//!   GET alone never unsubscribes); `POST /unsubscribe/{token}` — unsubscribes (RFC 8058 one-click:
//!   mail clients POST `List-Unsubscribe=One-Click` here).
//!
//! Outbox endpoints are for national admins only: emails of every event and state are in there.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::outbox::{self, OutboxRow};
use crate::auth::{hash_token, Actor};
use crate::db::{from_db_time, now, Db};
use crate::domain::{MailCategory, OutboxStatus};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, Page, QueryParams};
use crate::openapi::problems::{PublicRead, Staff};
use crate::time::utc_string;

/// `GET /api/v1/admin/outbox`: a page of emails, newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only emails in this state.
    pub status: Option<OutboxStatus>,
    /// Page size: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An outbox row as admins see it (bodies left out; the subject says what it is).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutboxOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: OutboxStatus,
    /// Which notice it is (`registration_confirmed`, `reminder_24h`, …).
    #[schema(example = "registration_confirmed")]
    pub template: String,
    pub category: MailCategory,
    pub recipient: String,
    pub subject: String,
    /// `<id@domain of ROADSHOW_MAIL_FROM>`, the same on every attempt.
    pub message_id: String,
    pub attempts: i32,
    #[schema(format = DateTime)]
    pub next_attempt_at: String,
    /// Why the last attempt failed, or why the email was dropped.
    pub last_error: Option<String>,
    /// The worker holding the row, while it sends.
    pub locked_by: Option<String>,
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    /// Whether a calendar invite is attached.
    pub has_calendar: bool,
    #[schema(format = Uuid)]
    pub registration_id: Option<String>,
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    #[schema(format = Uuid)]
    pub business_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
}

impl OutboxOut {
    /// The row as admins see it, with the Message-ID it is sent with from `domain`.
    fn new(r: OutboxRow, domain: &str) -> Self {
        let t = |v: chrono::NaiveDateTime| utc_string(from_db_time(v));
        OutboxOut {
            message_id: outbox::message_id_at(&r.id, domain),
            id: r.id,
            status: r.status,
            template: r.template,
            category: r.category,
            recipient: r.recipient,
            subject: r.subject,
            attempts: r.attempts,
            next_attempt_at: t(r.next_attempt_at),
            last_error: r.last_error,
            locked_by: r.locked_by,
            locked_until: r.locked_until.map(t),
            has_calendar: r.ics.is_some(),
            registration_id: r.registration_id,
            event_id: r.event_id,
            business_id: r.business_id,
            created_at: t(r.created_at),
            sent_at: r.sent_at.map(t),
        }
    }
}

/// Outbox rows per status, how many are due now, and the oldest pending one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutboxStatsOut {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
    pub dropped: i64,
    /// Past their recipient's hourly cap: never sent.
    pub suppressed: i64,
    /// Pending rows whose next attempt time has come.
    pub due: i64,
    /// When the oldest pending row was queued (UTC), if any.
    #[schema(format = DateTime)]
    pub oldest_pending_at: Option<String>,
}

impl From<outbox::OutboxStats> for OutboxStatsOut {
    fn from(s: outbox::OutboxStats) -> Self {
        OutboxStatsOut {
            pending: s.count(OutboxStatus::Pending),
            sent: s.count(OutboxStatus::Sent),
            dead: s.count(OutboxStatus::Dead),
            dropped: s.count(OutboxStatus::Dropped),
            suppressed: s.count(OutboxStatus::Suppressed),
            due: s.due,
            oldest_pending_at: s.oldest_pending.map(|t| utc_string(from_db_time(t))),
        }
    }
}

/// Outbox emails by status, newest first, with the last error (national admins).
#[utoipa::path(
    get,
    path = "/api/v1/admin/outbox",
    tag = "mail",
    params(OutboxQuery),
    responses((status = 200, description = "a page of emails", body = Page<OutboxOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn list_outbox(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<crate::config::Config>,
    QueryParams(q): QueryParams<OutboxQuery>,
) -> Result<web::Json<Page<OutboxOut>>, AppError> {
    actor.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let status = q.status;
    let mut rows = db.read(move |c| outbox::list(c, status, after, limit + 1)).await?;
    let next_cursor = next_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    let domain = outbox::sender_domain(&config.mail_from);
    Ok(web::Json(Page { items: rows.into_iter().map(|r| OutboxOut::new(r, &domain)).collect(), next_cursor }))
}

/// Outbox counts per status (national admins).
#[utoipa::path(
    get,
    path = "/api/v1/admin/outbox/stats",
    tag = "mail",
    responses((status = 200, description = "the counts", body = OutboxStatsOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn outbox_stats(actor: Actor, db: web::Data<Db>) -> Result<web::Json<OutboxStatsOut>, AppError> {
    actor.require_admin()?;
    let stats = db.read(|c| outbox::stats(c, now())).await?;
    Ok(web::Json(stats.into()))
}

/// Retry a dead email (national admins).
///
/// The email goes back in the queue, due now, with a fresh attempt budget and the same
/// Message-ID. Only a `dead` email can be retried (409 otherwise). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/admin/outbox/{id}/retry",
    tag = "mail",
    params(("id" = uuid::Uuid, Path, description = "The email's id")),
    responses((status = 200, description = "the email, pending again", body = OutboxOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn retry_outbox_email(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<crate::config::Config>,
    path: web::Path<String>,
) -> Result<web::Json<OutboxOut>, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path.into_inner())?;
    let who = actor.clone();
    let row = db
        .write(move |c| {
            let row = outbox::retry_dead(c, &id, now())?;
            crate::audit::record(
                c,
                &who,
                "retry",
                "outbox_email",
                &row.id,
                crate::audit::Changes::fields(&["status"]),
            )?;
            Ok(row)
        })
        .await?;
    tracing::info!(outbox.id = %row.id, user.id = %actor.user_id, "dead email queued again");
    Ok(web::Json(OutboxOut::new(row, &outbox::sender_domain(&config.mail_from))))
}

/// What a mail client posts for a one-click unsubscription (RFC 8058); the page's button posts
/// the same. The link alone decides: the service also accepts the POST without it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UnsubscribeIn {
    #[serde(rename = "List-Unsubscribe")]
    #[schema(example = "One-Click")]
    pub list_unsubscribe: String,
}

#[derive(Serialize)]
struct UnsubscribeView {
    lang: crate::i18n::Language,
    title: &'static str,
}

/// The query of the unsubscribe page: only its language (the link of a Spanish email carries
/// `lang=es`); anything else in the query is ignored, as mail clients add their own.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// `en` or `es` (anything else is ignored; default: `Accept-Language`).
    pub lang: Option<String>,
}

/// One-click unsubscribe: a confirmation page.
///
/// Changes nothing (link scanners fetch GET links): the page's button posts back to the same
/// link. An unknown link is a 404.
#[utoipa::path(
    get,
    path = "/unsubscribe/{token}",
    tag = "mail",
    params(("token" = String, Path, description = "The token of the email's unsubscribe link (`rsl_…`)"), UnsubscribeQuery),
    responses(
        (status = 200, description = "the confirmation page", content_type = "text/html", body = String),
        PublicRead
    )
)]
pub(crate) async fn unsubscribe_page(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<UnsubscribeQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = crate::pages::language(&req, q.lang.as_deref());
    let token = path.into_inner();
    let hash = hash_token(&token);
    if !db.read(move |c| outbox::unsubscribe_token_exists(c, &hash)).await? {
        return Err(AppError::not_found("this unsubscribe link is not known"));
    }
    crate::pages::render(
        StatusCode::OK,
        "unsubscribe.html",
        UnsubscribeView { lang, title: crate::i18n::text(lang, "page.unsubscribe.title") },
    )
}

/// One-click unsubscribe (RFC 8058 List-Unsubscribe-Post).
///
/// The address the email went to gets no more marketing email (follow-ups, news), and its queued
/// marketing email is dropped; emails about its own registrations still come. Using a link twice
/// is fine; an unknown link is a 404.
#[utoipa::path(
    post,
    path = "/unsubscribe/{token}",
    tag = "mail",
    params(("token" = String, Path, description = "The token of the email's unsubscribe link (`rsl_…`)"), UnsubscribeQuery),
    request_body(
        content = UnsubscribeIn,
        content_type = "application/x-www-form-urlencoded",
        example = json!({"List-Unsubscribe": "One-Click"})
    ),
    responses((status = 200, description = "the confirmation", content_type = "text/html", body = String), PublicRead)
)]
pub(crate) async fn unsubscribe(
    req: HttpRequest,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<UnsubscribeQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = crate::pages::language(&req, q.lang.as_deref());
    let token = path.into_inner();
    let hash = hash_token(&token);
    db.write(move |c| outbox::unsubscribe(c, &hash, now())).await?;
    crate::pages::message_of(StatusCode::OK, lang, "page.unsubscribe.done", &["page.unsubscribe.done_text"])
}
