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

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::outbox::{self, OutboxRow, OutboxStats};
use crate::auth::{hash_token, Actor};
use crate::db::{from_db_time, now, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, Page, QueryParams};
use crate::time::utc_string;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An outbox row as admins see it (bodies left out; the subject says what it is).
#[derive(Debug, Serialize)]
pub struct OutboxOut {
    pub id: String,
    pub status: String,
    pub template: String,
    pub category: String,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<String>,
    pub has_calendar: bool,
    pub registration_id: Option<String>,
    pub event_id: Option<String>,
    pub business_id: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl From<OutboxRow> for OutboxOut {
    fn from(r: OutboxRow) -> Self {
        let t = |v: chrono::NaiveDateTime| utc_string(from_db_time(v));
        OutboxOut {
            id: r.id,
            status: r.status,
            template: r.template,
            category: r.category,
            recipient: r.recipient,
            subject: r.subject,
            message_id: r.message_id,
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

const STATUSES: &[&str] = &["pending", "sent", "dead", "dropped", "suppressed"];

pub(crate) async fn list_outbox(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let limit = page_limit(q.limit)?;
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(AppError::bad_field("status", format!("must be one of {}", STATUSES.join(", "))));
        }
    }
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let status = q.status.clone();
    let mut rows = db.read(move |c| outbox::list(c, status.as_deref(), after, limit + 1)).await?;
    let next_cursor = next_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    let items: Vec<OutboxOut> = rows.into_iter().map(OutboxOut::from).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

pub(crate) async fn outbox_stats(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let stats: OutboxStats = db.read(|c| outbox::stats(c, now())).await?;
    Ok(HttpResponse::Ok().json(stats))
}

pub(crate) async fn retry_outbox_email(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
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
    Ok(HttpResponse::Ok().json(OutboxOut::from(row)))
}

fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
             <body style=\"font-family:Helvetica,Arial,sans-serif;max-width:560px;margin:40px auto;padding:0 16px;\">\
             <h1 style=\"font-size:22px;\">{title}</h1>{body}</body></html>"
        ),
    )
}

pub(crate) async fn unsubscribe_page(db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let hash = hash_token(&token);
    if !db.read(move |c| outbox::unsubscribe_token_exists(c, &hash)).await? {
        return Err(AppError::not_found("this unsubscribe link is not known"));
    }
    // The form posts back to this same URL (relative), so the token is not repeated in the page.
    Ok(page(
        "Unsubscribe from Roadshow news",
        "<p>Stop receiving follow-ups and news about Roadshow events? You will still get the emails \
         about registrations you make (confirmations, changes, reminders).</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\" style=\"padding:10px 18px;\">Unsubscribe</button></form>",
    ))
}

pub(crate) async fn unsubscribe(db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let hash = hash_token(&token);
    db.write(move |c| outbox::unsubscribe(c, &hash, now())).await?;
    Ok(page(
        "You are unsubscribed",
        "<p>You will get no more Roadshow news or follow-ups. Emails about registrations you make still \
         reach you.</p>",
    ))
}
