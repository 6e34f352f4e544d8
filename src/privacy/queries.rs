//! Export and erasure of personal data, and the address locks that serialise them. No HTTP here;
//! exports are filled straight into the data documents of [`super::wire`].

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::wire::{
    AddressDataOut, BusinessDataOut, BusinessGivenOut, BusinessOut, ConsentOut, EmailRecordOut, EventRefOut,
    RegistrationDataOut, RegistrationRecordOut,
};

use crate::audit::{self, Changes};
use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::db::schema::{
    businesses, email_consents, events, idempotency_keys, mail_counts, mail_throttle, outbox, privacy_requests,
    registration_tokens, registrations, unsubscribe_tokens,
};
use crate::db::{from_db_time, now, DbConnection};
use crate::domain::{EventKind, MailCategory, OutboxStatus, PrivacyStatus, RegistrationStatus};
use crate::error::AppError;
use crate::mail::MailContext;
use crate::registrations::model::OPEN;
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
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    _deleted_at: Option<NaiveDateTime>,
    ein: Option<String>,
    _name_key: Option<String>,
    _site_key: Option<String>,
    _merged_into: Option<String>,
}

fn ts(t: NaiveDateTime) -> String {
    utc_string(from_db_time(t))
}

/// Which registrations (and their emails) an export covers.
enum Whose<'a> {
    Business(&'a str),
    Attendee(&'a str),
    Registration(&'a str),
}

type RegRow = (
    (String, RegistrationStatus, Option<String>, Option<String>),
    (NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>),
    (String, String, EventKind, NaiveDateTime, String),
    (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>),
);

fn load_registrations(conn: &mut DbConnection, whose: Whose<'_>) -> Result<Vec<RegistrationRecordOut>, AppError> {
    let q = registrations::table
        .inner_join(events::table)
        .order((registrations::created_at, registrations::id))
        .select((
            (registrations::id, registrations::status, registrations::attendee_name, registrations::attendee_email),
            (
                registrations::created_at,
                registrations::confirmed_at,
                registrations::cancelled_at,
                registrations::checked_in_at,
            ),
            (events::id, events::title, events::kind, events::starts_at, events::time_zone),
            (
                registrations::business_name_given,
                registrations::business_state_given,
                registrations::industry_given,
                registrations::employees_given,
                registrations::website_given,
            ),
        ))
        .into_boxed();
    let q = match whose {
        Whose::Business(b) => q.filter(registrations::business_id.eq(b)),
        Whose::Attendee(e) => q.filter(registrations::attendee_email.eq(e)),
        Whose::Registration(r) => q.filter(registrations::id.eq(r)),
    };
    let rows: Vec<RegRow> = q.load(conn)?;
    let ids: Vec<String> = rows.iter().map(|r| r.0 .0.clone()).collect();
    let mut needs = crate::accommodations::queries::of_registrations(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(a, t, e, g)| RegistrationRecordOut {
            accommodation: needs.remove(&a.0),
            id: a.0,
            status: a.1,
            attendee_name: a.2,
            attendee_email: a.3,
            created_at: ts(t.0),
            confirmed_at: t.1.map(ts),
            cancelled_at: t.2.map(ts),
            checked_in_at: t.3.map(ts),
            event: EventRefOut { id: e.0, title: e.1, kind: e.2, starts_at: ts(e.3), time_zone: e.4 },
            business_as_given: BusinessGivenOut { name: g.0, state: g.1, industry: g.2, employees: g.3, website: g.4 },
        })
        .collect())
}

/// Emails of these registrations, plus (with `extra`) those of a business or to an address that
/// belong to no registration.
fn load_emails(
    conn: &mut DbConnection,
    reg_ids: &[String],
    extra: Option<Whose<'_>>,
) -> Result<Vec<EmailRecordOut>, AppError> {
    type MailRow = (
        String,
        Option<String>,
        String,
        MailCategory,
        String,
        String,
        String,
        OutboxStatus,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let q = outbox::table
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
        .into_boxed();
    let ids: Vec<Option<String>> = reg_ids.iter().cloned().map(Some).collect();
    let q = match extra {
        Some(Whose::Business(b)) => {
            q.filter(outbox::registration_id.eq_any(ids).or(outbox::business_id.eq(b.to_string())))
        }
        Some(Whose::Attendee(e)) => q.filter(
            outbox::registration_id
                .eq_any(ids)
                .or(outbox::registration_id.is_null().and(outbox::recipient.eq(e.to_string()))),
        ),
        _ => q.filter(outbox::registration_id.eq_any(ids)),
    };
    let mails: Vec<MailRow> = q.load(conn)?;
    Ok(mails
        .into_iter()
        .map(|m| EmailRecordOut {
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
        .collect())
}

/// The business's ad-credit grants (the voucher only by its prefix: the code is not kept).
fn credit_grants(
    conn: &mut DbConnection,
    business_id: &str,
) -> Result<Vec<super::wire::CreditGrantRecordOut>, AppError> {
    use crate::credits::queries::Grant;
    use crate::db::schema::credit_grants;
    let rows: Vec<Grant> = credit_grants::table
        .filter(credit_grants::business_id.eq(business_id))
        .order(credit_grants::granted_at)
        .select(Grant::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|g| super::wire::CreditGrantRecordOut {
            id: g.id,
            status: g.status,
            amount_cents: g.amount_cents,
            source: g.source,
            event_id: g.event_id,
            voucher_prefix: g.voucher_prefix,
            granted_at: ts(g.granted_at),
            ended_at: g.ended_at.map(ts),
            end_reason: g.end_reason,
            redeemed_at: g.redeemed_at.map(ts),
        })
        .collect())
}

/// The business's data, or `None` when it is unknown or already erased.
pub fn export(conn: &mut DbConnection, business_id: &str) -> Result<Option<BusinessDataOut>, AppError> {
    let row: Option<BusinessRow> =
        businesses::table.find(business_id).filter(businesses::deleted_at.is_null()).first(conn).optional()?;
    let Some(b) = row else { return Ok(None) };
    let registrations = load_registrations(conn, Whose::Business(business_id))?;
    let reg_ids: Vec<String> = registrations.iter().map(|r| r.id.clone()).collect();
    let emails = load_emails(conn, &reg_ids, Some(Whose::Business(business_id)))?;
    let expert_bookings =
        crate::experts::queries::export_bookings(conn, crate::experts::queries::BookingsOf::Business(business_id))?;
    Ok(Some(BusinessDataOut {
        business: BusinessOut {
            id: b.id,
            name: b.name,
            email: b.email,
            state: b.state_code,
            industry: b.industry,
            employees: b.employees,
            website: b.website,
            ein: b.ein,
            created_at: ts(b.created_at),
            updated_at: ts(b.updated_at),
        },
        registrations,
        expert_bookings,
        credit_grants: credit_grants(conn, business_id)?,
        emails,
    }))
}

/// What one registration's manage token may see (see [`RegistrationDataOut`]).
pub fn export_registration(conn: &mut DbConnection, registration_id: &str) -> Result<RegistrationDataOut, AppError> {
    let registration = load_registrations(conn, Whose::Registration(registration_id))?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("no such registration"))?;
    let emails = load_emails(conn, std::slice::from_ref(&registration.id), None)?;
    Ok(RegistrationDataOut { registration, emails })
}

/// Everything held for one address, as a business's contact and as an attendee (a verified link).
pub fn export_address(conn: &mut DbConnection, email: &str) -> Result<AddressDataOut, AppError> {
    let business_id: Option<String> = businesses::table
        .filter(businesses::email.eq(email))
        .filter(businesses::deleted_at.is_null())
        .select(businesses::id)
        .first(conn)
        .optional()?;
    let business = match business_id {
        Some(b) => export(conn, &b)?,
        None => None,
    };
    let registrations = load_registrations(conn, Whose::Attendee(email))?;
    let reg_ids: Vec<String> = registrations.iter().map(|r| r.id.clone()).collect();
    let emails = load_emails(conn, &reg_ids, Some(Whose::Attendee(email)))?;
    let expert_bookings =
        crate::experts::queries::export_bookings(conn, crate::experts::queries::BookingsOf::Attendee(email))?;
    let consent: Option<(bool, Option<NaiveDateTime>, NaiveDateTime)> = email_consents::table
        .find(email)
        .select((email_consents::marketing_consent, email_consents::unsubscribed_at, email_consents::updated_at))
        .first(conn)
        .optional()?;
    Ok(AddressDataOut {
        email: email.to_string(),
        marketing_consent: consent.map(|(c, u, at)| ConsentOut {
            marketing_consent: c,
            unsubscribed_at: u.map(ts),
            updated_at: ts(at),
        }),
        business,
        registrations,
        expert_bookings,
        emails,
    })
}

/// Replaces every manage, link or privacy token (`rsm_…`, `rsl_…`, `rsp_…`) in a text with its prefix and `…`.
pub fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next =
            ["rsm_", "rsl_", "rsp_"].iter().filter_map(|p| rest.find(p).map(|i| (i, *p))).min_by_key(|(i, _)| *i);
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

/// What an erasure did (answered as [`super::wire::ErasureOut`]).
#[derive(Debug, Default)]
pub struct ErasureSummary {
    /// The erased business, when the address was a business's contact (or the registration's own
    /// erasure does not touch a business: `None`).
    pub business_id: Option<String>,
    pub registrations_anonymised: usize,
    pub registrations_cancelled: usize,
    pub expert_bookings_anonymised: usize,
    pub emails_dropped: usize,
    /// Outbox rows whose content was blanked: their `.eml` copies are removed after commit.
    pub email_ids: Vec<String>,
}

impl ErasureSummary {
    fn add(&mut self, other: ErasureSummary) {
        self.business_id = self.business_id.take().or(other.business_id);
        self.registrations_anonymised += other.registrations_anonymised;
        self.registrations_cancelled += other.registrations_cancelled;
        self.expert_bookings_anonymised += other.expert_bookings_anonymised;
        self.emails_dropped += other.emails_dropped;
        self.email_ids.extend(other.email_ids);
    }
}

/// Removes the `.eml` copies of erased emails (file transport only). Called after the erasure's
/// transaction committed; a file that is not there is fine.
pub fn remove_mail_files(ctx: &MailContext, email_ids: &[String]) {
    let Some(dir) = &ctx.mail_dir else { return };
    let mut removed = 0usize;
    for id in email_ids {
        // Ids are UUIDs we made; never a path from outside.
        if uuid::Uuid::parse_str(id).is_err() {
            continue;
        }
        for name in [format!("{id}.eml"), format!(".{id}.eml.tmp")] {
            if std::fs::remove_file(dir.join(name)).is_ok() {
                removed += 1;
            }
        }
    }
    if removed > 0 {
        tracing::info!(files = removed, "removed erased emails from the mail directory");
    }
}

/// Erases a business's personal data in the caller's (write) transaction; see the module docs.
/// Reached only through a verified link to the business's contact address (or by staff).
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
        return Err(AppError::not_found("no such business"));
    }
    let ts = now();
    let reg_ids: Vec<String> =
        registrations::table.filter(registrations::business_id.eq(business_id)).select(registrations::id).load(conn)?;
    let mut summary = anonymise_registrations(conn, ctx, &reg_ids)?;
    summary.add(anonymise_bookings(conn, crate::experts::queries::BookingsOf::Business(business_id))?);
    summary.add(scrub_emails(conn, Mine::Business(business_id), "the business erased its data")?);
    diesel::delete(unsubscribe_tokens::table.filter(unsubscribe_tokens::business_id.eq(business_id))).execute(conn)?;
    // The business row keeps its id and dates only.
    diesel::update(businesses::table.find(business_id))
        .set((
            businesses::email.eq(None::<String>),
            businesses::name.eq(""),
            businesses::state_code.eq(None::<String>),
            businesses::industry.eq(None::<String>),
            businesses::employees.eq(None::<String>),
            businesses::website.eq(None::<String>),
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
        "registrations.attendee_name",
        "registrations.attendee_email",
        "outbox.recipient",
        "outbox.body",
    ]);
    audit::record_system(conn, "erase", "business", business_id, changes)?;
    summary.business_id = Some(business_id.to_string());
    Ok(summary)
}

/// Erases one registration's attendee (what its manage token controls): cancels it with the usual
/// promotion when its event is still ahead, blanks the person and the business details typed on
/// it, and drops or blanks its emails. The business record is not touched.
pub fn erase_registration(
    conn: &mut DbConnection,
    ctx: &MailContext,
    registration_id: &str,
) -> Result<ErasureSummary, AppError> {
    let summary = anonymise_registrations(conn, ctx, &[registration_id.to_string()])?;
    audit::record_system(
        conn,
        "erase",
        "registration",
        registration_id,
        Changes::fields(&["attendee_name", "attendee_email", "outbox.recipient", "outbox.body"]),
    )?;
    Ok(summary)
}

/// Erases everything an address controls, after it proved control through a verified link: the
/// business it is the contact of (as [`erase`]), every registration it attends, the emails sent
/// to it, its consent and its pending requests. Holds the address's advisory lock (PostgreSQL), so
/// a registration or link email for the address either commits before (and is erased here) or
/// waits until this commits (and then finds nothing to link to).
pub fn erase_address(
    conn: &mut DbConnection,
    ctx: &MailContext,
    email: &str,
    request_id: &str,
) -> Result<ErasureSummary, AppError> {
    lock_address(conn, email)?;
    let mut summary = ErasureSummary::default();
    let business: Option<String> = businesses::table
        .filter(businesses::email.eq(email))
        .filter(businesses::deleted_at.is_null())
        .select(businesses::id)
        .first(conn)
        .optional()?;
    if let Some(b) = business {
        summary.add(erase(conn, ctx, &b)?);
    }
    let reg_ids: Vec<String> =
        registrations::table.filter(registrations::attendee_email.eq(email)).select(registrations::id).load(conn)?;
    summary.add(anonymise_registrations(conn, ctx, &reg_ids)?);
    summary.add(anonymise_bookings(conn, crate::experts::queries::BookingsOf::Attendee(email))?);
    // Emails that belong to no registration (link lists, privacy links), found by address.
    summary.add(scrub_emails(conn, Mine::Address(email), "the address erased its data")?);
    diesel::delete(email_consents::table.filter(email_consents::email.eq(email))).execute(conn)?;
    diesel::delete(unsubscribe_tokens::table.filter(unsubscribe_tokens::email.eq(email))).execute(conn)?;
    diesel::delete(mail_throttle::table.filter(mail_throttle::recipient.eq(email))).execute(conn)?;
    diesel::delete(mail_counts::table.filter(mail_counts::recipient.eq(email))).execute(conn)?;
    // Pending requests of the address stop working; the rows stay (without the address) as a record.
    diesel::update(privacy_requests::table.filter(privacy_requests::email.eq(email)))
        .set((
            privacy_requests::email.eq("erased"),
            privacy_requests::payload.eq("{}"),
            privacy_requests::token_hash.eq(None::<String>),
            privacy_requests::status.eq(PrivacyStatus::Erased),
        ))
        .execute(conn)?;
    audit::record_system(
        conn,
        "erase",
        "privacy_request",
        request_id,
        Changes::fields(&["business", "registrations.attendee", "outbox", "email_consents"]),
    )?;
    Ok(summary)
}

/// Cancels the future active ones (with promotion, without the cancellation email: the person
/// asked to be forgotten, not written to) and anonymises every listed registration: rows and
/// statuses stay (reports count them), the person, the typed business details and every way in
/// (manage tokens, stored idempotent replies) go. Their emails are dropped or blanked.
fn anonymise_registrations(
    conn: &mut DbConnection,
    ctx: &MailContext,
    reg_ids: &[String],
) -> Result<ErasureSummary, AppError> {
    if reg_ids.is_empty() {
        return Ok(ErasureSummary::default());
    }
    let ts = now();
    let future: Vec<String> = registrations::table
        .inner_join(events::table)
        .filter(registrations::id.eq_any(reg_ids))
        .filter(registrations::status.eq_any(OPEN))
        .filter(events::starts_at.gt(ts))
        .order((registrations::created_at, registrations::id))
        .select(registrations::id)
        .load(conn)?;
    for reg in &future {
        crate::registrations::queries::cancel(conn, ctx, reg, false)?;
    }
    for reg in reg_ids {
        // A fresh random hash nobody holds the token of: the old manage token stops working.
        diesel::update(registrations::table.find(reg))
            .set((
                registrations::attendee_name.eq(None::<String>),
                registrations::attendee_email.eq(None::<String>),
                registrations::business_name_given.eq(None::<String>),
                registrations::business_state_given.eq(None::<String>),
                registrations::industry_given.eq(None::<String>),
                registrations::employees_given.eq(None::<String>),
                registrations::website_given.eq(None::<String>),
                registrations::manage_token_hash.eq(hash_token(&new_token(TokenKind::Manage))),
                registrations::updated_at.eq(ts),
            ))
            .execute(conn)?;
    }
    diesel::delete(registration_tokens::table.filter(registration_tokens::registration_id.eq_any(reg_ids)))
        .execute(conn)?;
    // What the person needed to take part goes with them (and its digest records by cascade).
    crate::accommodations::queries::erase_for_registrations(conn, reg_ids)?;
    // A stored idempotent reply names the registration; a replay of its key must not reach it
    // again (nor register the erased person anew), so the key stays, marked erased.
    diesel::update(idempotency_keys::table.filter(idempotency_keys::registration_id.eq_any(reg_ids)))
        .set(idempotency_keys::request_hash.eq(crate::registrations::queries::ERASED_REQUEST))
        .execute(conn)?;
    let mut summary = scrub_emails(conn, Mine::Registrations(reg_ids), "the attendee erased their data")?;
    summary.registrations_anonymised = reg_ids.len();
    summary.registrations_cancelled = future.len();
    Ok(summary)
}

/// Removes the attendee of the listed expert bookings ([`crate::experts::queries::erase_bookings`])
/// and scrubs the experts' emails about them (the business's own are found by business or address).
fn anonymise_bookings(
    conn: &mut DbConnection,
    whose: crate::experts::queries::BookingsOf<'_>,
) -> Result<ErasureSummary, AppError> {
    let (anonymised, expert_emails) = crate::experts::queries::erase_bookings(conn, whose)?;
    let mut summary = scrub_emails(conn, Mine::Ids(expert_emails), "the attendee erased their data")?;
    summary.expert_bookings_anonymised = anonymised;
    Ok(summary)
}

/// Which emails an erasure reaches.
enum Mine<'a> {
    /// These outbox rows.
    Ids(Vec<String>),
    Business(&'a str),
    Registrations(&'a [String]),
    /// Emails to the address that belong to no registration (link lists, privacy links).
    Address(&'a str),
}

/// Drops the queued emails of `mine` (also those a worker has claimed: the worker re-checks a row
/// before sending it) and blanks the personal content of all of them, `last_error` included.
fn scrub_emails(conn: &mut DbConnection, mine: Mine<'_>, why: &str) -> Result<ErasureSummary, AppError> {
    let ids: Vec<String> = match mine {
        Mine::Ids(ids) => ids,
        Mine::Business(b) => outbox::table.filter(outbox::business_id.eq(b)).select(outbox::id).load(conn)?,
        Mine::Registrations(r) => outbox::table
            .filter(outbox::registration_id.eq_any(r.iter().map(|s| Some(s.as_str()))))
            .select(outbox::id)
            .load(conn)?,
        Mine::Address(e) => outbox::table
            .filter(outbox::registration_id.is_null())
            .filter(outbox::recipient.eq(e))
            .select(outbox::id)
            .load(conn)?,
    };
    let mut dropped = 0;
    for chunk in ids.chunks(500) {
        dropped += diesel::update(
            outbox::table.filter(outbox::id.eq_any(chunk)).filter(outbox::status.eq(OutboxStatus::Pending)),
        )
        .set((
            outbox::status.eq(OutboxStatus::Dropped),
            outbox::locked_by.eq(None::<String>),
            outbox::locked_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
        diesel::update(outbox::table.filter(outbox::id.eq_any(chunk)))
            .set((
                outbox::recipient.eq("erased"),
                outbox::body_text.eq(""),
                outbox::body_html.eq(""),
                outbox::ics.eq(None::<String>),
                outbox::headers.eq("{}"),
                outbox::last_error.eq(Some(format!("erased: {why}"))),
            ))
            .execute(conn)?;
    }
    Ok(ErasureSummary { emails_dropped: dropped, email_ids: ids, ..ErasureSummary::default() })
}

/// [`lock_address`] without waiting: `false` when another transaction holds it.
pub fn try_lock_address(conn: &mut DbConnection, email: &str) -> Result<bool, AppError> {
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ok: bool,
    }
    if !conn.is_postgres() {
        return Ok(true);
    }
    let got: Got = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS ok")
        .bind::<diesel::sql_types::BigInt, _>(crate::privacy::address_lock_key(email))
        .get_result(conn)?;
    Ok(got.ok)
}

/// PostgreSQL: takes the address's advisory lock for the rest of the transaction (see
/// [`crate::privacy::address_lock_key`]). SQLite's write transaction already excludes every writer.
pub fn lock_address(conn: &mut DbConnection, email: &str) -> Result<(), AppError> {
    if conn.is_postgres() {
        diesel::sql_query("SELECT 1 AS one FROM (SELECT pg_advisory_xact_lock($1)) l")
            .bind::<diesel::sql_types::BigInt, _>(crate::privacy::address_lock_key(email))
            .execute(conn)?;
    }
    Ok(())
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
