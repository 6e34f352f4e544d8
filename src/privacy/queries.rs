//! Export and erasure of one business's data. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Changes};
use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::db::schema::{
    businesses, events, idempotency_keys, outbox, registration_tokens, registrations, unsubscribe_tokens,
};
use crate::db::{from_db_time, now, DbConnection};
use crate::error::AppError;
use crate::mail::MailContext;
use crate::time::utc_string;

#[derive(Debug, Queryable)]
struct BusinessRow {
    id: String,
    email: Option<String>,
    name: String,
    state_code: Option<String>,
    industry: Option<String>,
    employees: Option<String>,
    website: Option<String>,
    marketing_consent: bool,
    unsubscribed_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    _deleted_at: Option<NaiveDateTime>,
}

/// Everything held about a business.
#[derive(Debug, Serialize)]
pub struct BusinessData {
    pub business: BusinessOut,
    pub registrations: Vec<RegistrationOut>,
    pub emails: Vec<EmailOut>,
}

#[derive(Debug, Serialize)]
pub struct BusinessOut {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub state: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
    pub marketing_consent: bool,
    pub unsubscribed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct RegistrationOut {
    pub id: String,
    pub event: EventRef,
    pub status: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub created_at: String,
    pub confirmed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub checked_in_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EventRef {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub starts_at: String,
    pub time_zone: String,
}

#[derive(Debug, Serialize)]
pub struct EmailOut {
    pub id: String,
    pub registration_id: Option<String>,
    pub template: String,
    pub category: String,
    pub recipient: String,
    pub subject: String,
    /// The plain-text body as sent, with link tokens masked: a copy of the data must not be a
    /// second key to every registration of the business.
    pub body_text: String,
    pub status: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

fn ts(t: NaiveDateTime) -> String {
    utc_string(from_db_time(t))
}

/// The business's data, or `None` when it is unknown or already erased.
pub fn export(conn: &mut DbConnection, business_id: &str) -> Result<Option<BusinessData>, AppError> {
    let row: Option<BusinessRow> =
        businesses::table.find(business_id).filter(businesses::deleted_at.is_null()).first(conn).optional()?;
    let Some(b) = row else { return Ok(None) };
    type RegRow = (
        String,
        String,
        Option<String>,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        String,
        String,
        String,
        NaiveDateTime,
        String,
    );
    let regs: Vec<RegRow> = registrations::table
        .inner_join(events::table)
        .filter(registrations::business_id.eq(business_id))
        .order((registrations::created_at, registrations::id))
        .select((
            registrations::id,
            registrations::status,
            registrations::attendee_name,
            registrations::attendee_email,
            registrations::created_at,
            registrations::confirmed_at,
            registrations::cancelled_at,
            registrations::checked_in_at,
            events::id,
            events::title,
            events::kind,
            events::starts_at,
            events::time_zone,
        ))
        .load(conn)?;
    let reg_ids: Vec<String> = regs.iter().map(|r| r.0.clone()).collect();
    type MailRow =
        (String, Option<String>, String, String, String, String, String, String, NaiveDateTime, Option<NaiveDateTime>);
    let mails: Vec<MailRow> = outbox::table
        .filter(outbox::business_id.eq(business_id).or(outbox::registration_id.eq_any(&reg_ids)))
        .order((outbox::created_at, outbox::id))
        .select((
            outbox::id,
            outbox::registration_id,
            outbox::template,
            outbox::category,
            outbox::recipient,
            outbox::subject,
            outbox::body_text,
            outbox::status,
            outbox::created_at,
            outbox::sent_at,
        ))
        .load(conn)?;
    Ok(Some(BusinessData {
        business: BusinessOut {
            id: b.id,
            name: b.name,
            email: b.email,
            state: b.state_code,
            industry: b.industry,
            employees: b.employees,
            website: b.website,
            marketing_consent: b.marketing_consent,
            unsubscribed_at: b.unsubscribed_at.map(ts),
            created_at: ts(b.created_at),
            updated_at: ts(b.updated_at),
        },
        registrations: regs
            .into_iter()
            .map(|r| RegistrationOut {
                id: r.0,
                status: r.1,
                attendee_name: r.2,
                attendee_email: r.3,
                created_at: ts(r.4),
                confirmed_at: r.5.map(ts),
                cancelled_at: r.6.map(ts),
                checked_in_at: r.7.map(ts),
                event: EventRef { id: r.8, title: r.9, kind: r.10, starts_at: ts(r.11), time_zone: r.12 },
            })
            .collect(),
        emails: mails
            .into_iter()
            .map(|m| EmailOut {
                id: m.0,
                registration_id: m.1,
                template: m.2,
                category: m.3,
                recipient: m.4,
                subject: m.5,
                body_text: mask_tokens(&m.6),
                status: m.7,
                created_at: ts(m.8),
                sent_at: m.9.map(ts),
            })
            .collect(),
    }))
}

/// Replaces every manage or link token (`rsm_…`, `rsl_…`) in a text with its prefix and `…`.
pub fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["rsm_", "rsl_"].iter().filter_map(|p| rest.find(p).map(|i| (i, *p))).min_by_key(|(i, _)| *i);
        let Some((i, prefix)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + prefix.len()]);
        let after = &rest[i + prefix.len()..];
        let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(after.len());
        if len > 0 {
            out.push('…');
        }
        rest = &after[len..];
    }
}

/// What an erasure did.
#[derive(Debug, Serialize)]
pub struct ErasureSummary {
    pub business_id: String,
    pub registrations_anonymised: usize,
    pub registrations_cancelled: usize,
    pub emails_dropped: usize,
}

/// Erases a business's personal data in the caller's (write) transaction; see the module docs.
pub fn erase(conn: &mut DbConnection, ctx: &MailContext, business_id: &str) -> Result<ErasureSummary, AppError> {
    // Lock the business row first (PostgreSQL; SQLite's write transaction already excludes every
    // other writer): a registration of this business racing the erasure then either commits
    // before it (and is found and anonymised below) or waits until the erasure is done.
    if conn.is_postgres() {
        diesel::sql_query("SELECT id FROM businesses WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(business_id)
            .execute(conn)?;
    }
    let live: i64 = businesses::table
        .filter(businesses::id.eq(business_id))
        .filter(businesses::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    if live == 0 {
        return Err(AppError::not_found("no such registration, or the token does not match it"));
    }
    let ts = now();
    // 1. Future active registrations are cancelled as if the attendee had cancelled each one, so the
    //    freed seats go to the waitlist in this same transaction.
    let future: Vec<String> = registrations::table
        .inner_join(events::table)
        .filter(registrations::business_id.eq(business_id))
        .filter(registrations::status.eq_any(["confirmed", "waitlisted"]))
        .filter(events::starts_at.gt(ts))
        .order((registrations::created_at, registrations::id))
        .select(registrations::id)
        .load(conn)?;
    for reg in &future {
        cancel_with_promotion(conn, ctx, reg)?;
    }
    // 2. Every registration keeps its row and status (reports count them) but loses the person.
    let reg_ids: Vec<String> =
        registrations::table.filter(registrations::business_id.eq(business_id)).select(registrations::id).load(conn)?;
    for reg in &reg_ids {
        // A fresh random hash nobody holds the token of: the old manage token stops working.
        diesel::update(registrations::table.find(reg))
            .set((
                registrations::attendee_name.eq(None::<String>),
                registrations::attendee_email.eq(None::<String>),
                registrations::manage_token_hash.eq(hash_token(&new_token(TokenKind::Manage))),
                registrations::updated_at.eq(ts),
            ))
            .execute(conn)?;
    }
    diesel::delete(registration_tokens::table.filter(registration_tokens::registration_id.eq_any(&reg_ids)))
        .execute(conn)?;
    // Stored idempotent replies repeat the first 201, manage token included.
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::registration_id.eq_any(&reg_ids))).execute(conn)?;
    // 3. Emails: queued ones are never sent; every one loses its address and personal content.
    let mine = outbox::business_id.eq(business_id.to_string()).or(outbox::registration_id.eq_any(reg_ids.clone()));
    // Claimed rows are `pending` too: they are dropped and their lease is revoked, and a worker
    // checks each row just before sending it, so one claimed before the erasure is not sent.
    let dropped = diesel::update(outbox::table.filter(mine.clone()).filter(outbox::status.eq("pending")))
        .set((
            outbox::status.eq("dropped"),
            outbox::last_error.eq(Some("dropped: the business erased its data")),
            outbox::locked_by.eq(None::<String>),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    diesel::update(outbox::table.filter(mine))
        .set((
            outbox::recipient.eq("erased"),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
            outbox::ics.eq(None::<String>),
            outbox::headers.eq("{}"),
        ))
        .execute(conn)?;
    diesel::delete(unsubscribe_tokens::table.filter(unsubscribe_tokens::business_id.eq(business_id))).execute(conn)?;
    // 4. The business row keeps its id and dates only.
    diesel::update(businesses::table.find(business_id))
        .set((
            businesses::email.eq(None::<String>),
            businesses::name.eq(""),
            businesses::state_code.eq(None::<String>),
            businesses::industry.eq(None::<String>),
            businesses::employees.eq(None::<String>),
            businesses::website.eq(None::<String>),
            businesses::marketing_consent.eq(false),
            businesses::updated_at.eq(ts),
            businesses::deleted_at.eq(Some(ts)),
        ))
        .execute(conn)?;
    let changes = Changes::fields(&[
        "business.email",
        "business.name",
        "business.state",
        "business.industry",
        "business.employees",
        "business.website",
        "business.marketing_consent",
        "registrations.attendee_name",
        "registrations.attendee_email",
        "outbox.recipient",
        "outbox.body",
    ]);
    audit::record_system(conn, "erase", "business", business_id, changes)?;
    Ok(ErasureSummary {
        business_id: business_id.to_string(),
        registrations_anonymised: reg_ids.len(),
        registrations_cancelled: future.len(),
        emails_dropped: dropped,
    })
}

/// Cancels one registration and promotes the waitlist, exactly as an attendee's own cancellation
/// (without the cancellation email: the business asked to be forgotten, not written to).
fn cancel_with_promotion(conn: &mut DbConnection, ctx: &MailContext, registration_id: &str) -> Result<(), AppError> {
    crate::registrations::queries::cancel(conn, ctx, registration_id, false).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::mask_tokens;

    #[test]
    fn link_tokens_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask_tokens("see http://x/manage/1?token=rsm_ab-C_9 and rsl_Z1, bye"),
            "see http://x/manage/1?token=rsm_… and rsl_…, bye"
        );
        assert_eq!(mask_tokens("no tokens, rsm_ alone"), "no tokens, rsm_ alone");
        assert_eq!(mask_tokens(""), "");
    }
}
