//! Email: what is sent to whom, written to the transactional outbox in the caller's transaction.
//!
//! Features call [`notify_registration`] inside the database transaction that changes state; the
//! email row commits (or rolls back) with that change. Delivery happens later (outbox worker).

pub mod ics;
pub mod outbox;

use diesel::prelude::*;

use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::config::Config;
use crate::db::schema::{events, registration_tokens, registrations, venues};
use crate::db::{from_db_time, now, DbConnection};
use crate::error::AppError;

/// What emails need to know about the deployment.
#[derive(Debug, Clone)]
pub struct MailContext {
    /// Base of links (`ROADSHOW_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
}

impl MailContext {
    pub fn from_config(config: &Config) -> Self {
        MailContext { public_url: config.public_url.trim_end_matches('/').to_string() }
    }
}

/// Why a registrant is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Registered with a seat.
    Confirmed,
    /// Registered on the waitlist.
    Waitlisted,
    /// Moved from the waitlist to a seat.
    Promoted,
    /// The attendee cancelled.
    Cancelled,
    /// Time or place changed; each entry says what changed ("Starts: old → new").
    EventChanged { changes: Vec<String> },
    /// The organizers cancelled the event.
    EventCancelled,
    /// Reminder a day before.
    Reminder24h,
    /// Reminder an hour before (webinars).
    Reminder1h,
    /// Thank-you and next steps after the event (marketing: needs consent).
    FollowUp,
    /// Lost-link recovery: a fresh link to the manage page.
    Links,
}

impl Notice {
    /// The template name stored on the outbox row.
    pub fn template(&self) -> &'static str {
        match self {
            Notice::Confirmed => "registration_confirmed",
            Notice::Waitlisted => "registration_waitlisted",
            Notice::Promoted => "registration_promoted",
            Notice::Cancelled => "registration_cancelled",
            Notice::EventChanged { .. } => "event_changed",
            Notice::EventCancelled => "event_cancelled",
            Notice::Reminder24h => "reminder_24h",
            Notice::Reminder1h => "reminder_1h",
            Notice::FollowUp => "follow_up",
            Notice::Links => "manage_links",
        }
    }
}

/// Writes the email `notice` implies for one registration to the outbox, in the caller's
/// transaction. `manage_token` is the token just handed to the client, when there is one; otherwise
/// a fresh link token is made for this email. Registrations without an address (anonymised) get
/// nothing. A second call for the same notice and registration is a no-op (dedupe key).
pub fn notify_registration(
    conn: &mut DbConnection,
    ctx: &MailContext,
    registration_id: &str,
    notice: Notice,
    manage_token: Option<&str>,
) -> Result<(), AppError> {
    let (reg_id, status, attendee_name, attendee_email, event_id): (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    ) = registrations::table
        .find(registration_id)
        .select((
            registrations::id,
            registrations::status,
            registrations::attendee_name,
            registrations::attendee_email,
            registrations::event_id,
        ))
        .first(conn)?;
    let Some(email) = attendee_email else { return Ok(()) };
    let (title, starts_at, ends_at, tz, kind, join_url, revision, venue_id): (
        String,
        chrono::NaiveDateTime,
        chrono::NaiveDateTime,
        String,
        String,
        Option<String>,
        i32,
        Option<String>,
    ) = events::table
        .find(&event_id)
        .select((
            events::title,
            events::starts_at,
            events::ends_at,
            events::time_zone,
            events::kind,
            events::join_url,
            events::revision,
            events::venue_id,
        ))
        .first(conn)?;
    let venue: Option<(String, String, String, String)> = match venue_id {
        Some(v) => Some(
            venues::table
                .find(v)
                .select((venues::name, venues::address, venues::city, venues::state_code))
                .first(conn)?,
        ),
        None => None,
    };
    let token = match manage_token {
        Some(t) => t.to_string(),
        None => {
            let t = new_token(TokenKind::Manage);
            diesel::insert_into(registration_tokens::table)
                .values((
                    registration_tokens::token_hash.eq(hash_token(&t)),
                    registration_tokens::registration_id.eq(&reg_id),
                    registration_tokens::created_at.eq(now()),
                ))
                .execute(conn)?;
            t
        }
    };
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let when = crate::time::human_local(from_db_time(starts_at), zone);
    let until = crate::time::human_local(from_db_time(ends_at), zone);
    let manage_url = format!("{}/manage/{}?token={}", ctx.public_url, reg_id, token);
    let name = attendee_name.unwrap_or_else(|| "there".into());
    let (subject, lead) = match &notice {
        Notice::Confirmed => (format!("You're registered: {title}"), "Your seat is confirmed.".to_string()),
        Notice::Waitlisted => (
            format!("You're on the waitlist: {title}"),
            "The event is full, so you are on the waitlist. We will email you if a seat opens.".to_string(),
        ),
        Notice::Promoted => {
            (format!("A seat opened up: {title}"), "Good news: a seat opened and it is yours.".to_string())
        }
        Notice::Cancelled => {
            (format!("Registration cancelled: {title}"), "Your registration is cancelled.".to_string())
        }
        Notice::EventChanged { changes } => {
            (format!("Changed: {title}"), format!("The event has changed:\n{}", changes.join("\n")))
        }
        Notice::EventCancelled => {
            (format!("Cancelled: {title}"), "We are sorry: this event has been cancelled.".to_string())
        }
        Notice::Reminder24h => (format!("Tomorrow: {title}"), "A reminder: the event is tomorrow.".to_string()),
        Notice::Reminder1h => {
            (format!("Starting in an hour: {title}"), "A reminder: the event starts in an hour.".to_string())
        }
        Notice::FollowUp => (format!("Thank you for joining {title}"), "Thank you for taking part.".to_string()),
        Notice::Links => {
            (format!("Your registration: {title}"), "Here is the link to manage your registration.".to_string())
        }
    };
    let mut text = format!("Hello {name},\n\n{lead}\n\n{title}\nStarts: {when}\nEnds: {until}\n");
    if let Some((vname, addr, city, state)) = &venue {
        text.push_str(&format!("Where: {vname}, {addr}, {city}, {state}\n"));
    }
    let confirmed = status == "confirmed" || status == "attended";
    if kind == "webinar" && confirmed && notice != Notice::Cancelled && notice != Notice::EventCancelled {
        if let Some(j) = &join_url {
            text.push_str(&format!("Join online: {j}\n"));
        }
    }
    text.push_str(&format!("\nManage your registration: {manage_url}\n"));
    let html = format!("<p>{}</p>", html_escape(&text).replace('\n', "<br>\n"));
    let dedupe_key = match &notice {
        Notice::EventChanged { .. } => format!("{}:{reg_id}:{revision}", notice.template()),
        Notice::Reminder24h | Notice::Reminder1h => format!("{}:{reg_id}:{}", notice.template(), starts_at),
        Notice::Links => format!("{}:{reg_id}:{}", notice.template(), uuid::Uuid::new_v4()),
        _ => format!("{}:{reg_id}", notice.template()),
    };
    let category = if notice == Notice::FollowUp { "marketing" } else { "transactional" };
    outbox::enqueue(
        conn,
        &outbox::NewEmail {
            dedupe_key,
            recipient: email,
            template: notice.template().to_string(),
            category: category.to_string(),
            subject,
            body_text: text,
            body_html: html,
            ics: None,
            headers: "{}".into(),
            registration_id: Some(reg_id),
            business_id: None,
            event_id: Some(event_id),
        },
    )?;
    Ok(())
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
