//! The outbox table: rows written in the caller's transaction, delivered later by the worker.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};

use crate::db::{new_id, now, DbConnection};
use crate::error::AppError;

/// An email ready to send (rendered at enqueue time; the worker renders nothing).
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// Unique per logical email: a second enqueue with the same key is ignored.
    pub dedupe_key: String,
    pub recipient: String,
    pub template: String,
    /// `transactional` or `marketing`.
    pub category: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
    /// JSON object of extra headers (e.g. `List-Unsubscribe`).
    pub headers: String,
    pub registration_id: Option<String>,
    pub business_id: Option<String>,
    pub event_id: Option<String>,
}

/// Inserts the email unless one with the same dedupe key exists. Returns whether it was inserted.
/// `ON CONFLICT DO NOTHING` has the same syntax on both engines and, unlike catching a unique
/// violation, does not abort a PostgreSQL transaction.
pub fn enqueue(conn: &mut DbConnection, email: &NewEmail) -> Result<bool, AppError> {
    let id = new_id();
    let message_id = format!("<{id}@roadshow>");
    let ts = now();
    let n = diesel::sql_query(
        "INSERT INTO outbox (id, dedupe_key, recipient, template, category, subject, body_text, body_html, \
         ics, headers, message_id, status, attempts, next_attempt_at, registration_id, business_id, event_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 0, $12, $13, $14, $15, $16) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<Text, _>(&id)
    .bind::<Text, _>(&email.dedupe_key)
    .bind::<Text, _>(&email.recipient)
    .bind::<Text, _>(&email.template)
    .bind::<Text, _>(&email.category)
    .bind::<Text, _>(&email.subject)
    .bind::<Text, _>(&email.body_text)
    .bind::<Text, _>(&email.body_html)
    .bind::<Nullable<Text>, _>(&email.ics)
    .bind::<Text, _>(&email.headers)
    .bind::<Text, _>(&message_id)
    .bind::<Timestamp, _>(ts)
    .bind::<Nullable<Text>, _>(&email.registration_id)
    .bind::<Nullable<Text>, _>(&email.business_id)
    .bind::<Nullable<Text>, _>(&email.event_id)
    .bind::<Timestamp, _>(ts)
    .execute(conn)?;
    Ok(n == 1)
}
