//! Verified links: business-wide and person-wide rights for whoever proves they read the address.
//!
//! 1. `POST /api/v1/privacy/requests` (and `POST /api/v1/registrations/recover`) only *queue* a
//!    request ([`queue`]): the answer is the same 202 and the same work whether or not the address
//!    is known to us, so it tells a stranger nothing.
//! 2. The background worker ([`process_queued`]) looks at each queued request. For an unknown
//!    address it does nothing. For a known one it emails a single-use link (random, stored as a
//!    hash, valid [`LINK_MINUTES`] minutes) — at most one per address and kind per
//!    `ROADSHOW_LINKS_EMAIL_MINUTES`, and counted against the hourly cap, so nobody can use the
//!    service to flood a mailbox.
//! 3. The link opens a confirmation page (`GET /privacy/confirm?token=…`, which changes nothing, as
//!    mail scanners open links); its form, or `POST /api/v1/privacy/confirm {"token"}`, carries the
//!    request out ([`confirm`]) in one transaction that also spends the token.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};

use super::queries::{self, ErasureSummary};
use super::wire::{AddressDataOut, BusinessOut};
use crate::audit::{self, Changes};
use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::db::schema::{businesses, email_consents, privacy_requests, registrations};
use crate::db::{new_id, now, write_tx, Db, DbConnection};
use crate::domain::{PrivacyKind, PrivacyStatus};
use crate::error::AppError;
use crate::i18n::Language;
use crate::mail::{outbox, MailContext};

/// How long a privacy link works.
pub const LINK_MINUTES: i64 = 30;

/// What confirming a request of `kind` does, as the email and the page say it ("…to {action}"),
/// in `lang` (messages `privacy.action.<kind>`).
pub fn action(kind: PrivacyKind, lang: Language) -> &'static str {
    crate::i18n::text(lang, &format!("privacy.action.{kind}"))
}

/// The new business details of an `update_business` request (validated when queued).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BusinessChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employees: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ein: Option<String>,
}

/// What a request carries besides its kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Payload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessChanges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_consent: Option<bool>,
    /// The language the link email is written in (the request's `language`; English if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// Queues a request (one insert, whatever the address). Call in a write transaction.
pub fn queue(conn: &mut DbConnection, email: &str, kind: PrivacyKind, payload: &Payload) -> Result<(), AppError> {
    diesel::insert_into(privacy_requests::table)
        .values((
            privacy_requests::id.eq(new_id()),
            privacy_requests::email.eq(email),
            privacy_requests::kind.eq(kind),
            privacy_requests::payload.eq(serde_json::to_string(payload).unwrap_or_else(|_| "{}".into())),
            privacy_requests::status.eq(PrivacyStatus::Queued),
            privacy_requests::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Handles up to `limit` queued requests in the caller's write transaction; returns how many.
/// PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several processes share the queue.
pub fn process_queued(conn: &mut DbConnection, ctx: &MailContext, limit: i64) -> Result<usize, AppError> {
    let ids: Vec<String> = if conn.is_postgres() {
        diesel::sql_query(
            "SELECT id FROM privacy_requests WHERE status = 'queued' ORDER BY created_at, id LIMIT $1 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind::<BigInt, _>(limit)
        .load::<IdRow>(conn)?
        .into_iter()
        .map(|r| r.id)
        .collect()
    } else {
        privacy_requests::table
            .filter(privacy_requests::status.eq(PrivacyStatus::Queued))
            .order((privacy_requests::created_at, privacy_requests::id))
            .limit(limit)
            .select(privacy_requests::id)
            .load(conn)?
    };
    for id in &ids {
        process_one(conn, ctx, id)?;
    }
    Ok(ids.len())
}

/// Works through the whole queue (background worker, tests). Each batch is its own transaction.
pub fn process_all(db: &Db, ctx: &MailContext) -> Result<usize, AppError> {
    let mut conn = db.get()?;
    let mut total = 0;
    loop {
        let n = write_tx(&mut conn, |c| process_queued(c, ctx, 50))?;
        total += n;
        if n < 50 {
            return Ok(total);
        }
    }
}

fn process_one(conn: &mut DbConnection, ctx: &MailContext, id: &str) -> Result<(), AppError> {
    let (email, kind, payload): (String, PrivacyKind, String) = privacy_requests::table
        .find(id)
        .select((privacy_requests::email, privacy_requests::kind, privacy_requests::payload))
        .first(conn)?;
    let lang = serde_json::from_str::<Payload>(&payload).ok().and_then(|p| p.language).unwrap_or_default();
    let at = now();
    // Serialised with an erasure of the same address (see `queries::erase_address`). Only tried:
    // this batch holds its request rows, which an erasure may be waiting for, so waiting here could
    // deadlock. A request whose address is busy stays queued for the next pass.
    if !queries::try_lock_address(conn, &email)? {
        return Ok(());
    }
    let status = if kind == PrivacyKind::Links {
        if crate::mail::links_email(conn, ctx, &email, lang)? {
            PrivacyStatus::Sent
        } else {
            PrivacyStatus::Ignored
        }
    } else if !address_known(conn, &email, kind)? {
        PrivacyStatus::Ignored
    } else if !outbox::take_throttle(conn, &email, &format!("privacy:{kind}"), at, ctx.links_every)? {
        PrivacyStatus::Throttled
    } else {
        let token = new_token(TokenKind::Privacy);
        diesel::update(privacy_requests::table.find(id))
            .set((
                privacy_requests::token_hash.eq(Some(hash_token(&token))),
                privacy_requests::expires_at.eq(Some(at + chrono::Duration::minutes(LINK_MINUTES))),
            ))
            .execute(conn)?;
        let url = format!("{}/privacy/confirm?token={token}{}", ctx.public_url, crate::mail::lang_query(lang, '&'));
        crate::mail::privacy_link_email(conn, ctx, &email, action(kind, lang), &url, LINK_MINUTES, lang)?;
        PrivacyStatus::Sent
    };
    diesel::update(privacy_requests::table.find(id))
        .set((privacy_requests::status.eq(status), privacy_requests::processed_at.eq(Some(at))))
        .execute(conn)?;
    Ok(())
}

/// Whether we hold anything a request of `kind` could act on for this address.
fn address_known(conn: &mut DbConnection, email: &str, kind: PrivacyKind) -> Result<bool, AppError> {
    use diesel::dsl::exists;
    let contact =
        exists(businesses::table.filter(businesses::email.eq(email)).filter(businesses::deleted_at.is_null()));
    if kind == PrivacyKind::UpdateBusiness || kind == PrivacyKind::Voucher {
        return Ok(diesel::select(contact).get_result(conn)?);
    }
    let attendee = exists(registrations::table.filter(registrations::attendee_email.eq(email)));
    let consent = exists(email_consents::table.filter(email_consents::email.eq(email)));
    Ok(diesel::select(contact.or(attendee).or(consent)).get_result(conn)?)
}

/// A link's request, while it may still be used: its kind, address and payload.
pub fn peek(conn: &mut DbConnection, token: &str) -> Result<Option<(PrivacyKind, String, Payload)>, AppError> {
    let row: Option<(PrivacyKind, String, String, Option<NaiveDateTime>)> = privacy_requests::table
        .filter(privacy_requests::token_hash.eq(hash_token(token)))
        .filter(privacy_requests::status.eq(PrivacyStatus::Sent))
        .select((
            privacy_requests::kind,
            privacy_requests::email,
            privacy_requests::payload,
            privacy_requests::expires_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(kind, email, payload, expires)| {
        let live = expires.is_some_and(|e| e > now());
        live.then(|| (kind, email, serde_json::from_str(&payload).unwrap_or_default()))
    }))
}

/// What a confirmed request did (answered as [`super::wire::ConfirmOut`]).
#[derive(Debug)]
pub enum Outcome {
    Export { data: Box<AddressDataOut> },
    Erase { summary: ErasureSummary },
    UpdateBusiness { business: BusinessOut },
    Marketing { marketing_consent: bool },
    Voucher { voucher: Option<(crate::credits::queries::Grant, crate::credits::voucher::Voucher)> },
}

/// The answer for a link that is not (or no longer) valid: the same whatever the reason.
pub fn invalid_link() -> AppError {
    AppError::not_found("this link is not valid: it was already used, has expired, or is unknown")
}

/// Carries out the request behind a link, spending the link, in the caller's write transaction.
pub fn confirm(conn: &mut DbConnection, ctx: &MailContext, token: &str) -> Result<Outcome, AppError> {
    let at = now();
    let row: Option<(String, String, PrivacyKind, String)> = privacy_requests::table
        .filter(privacy_requests::token_hash.eq(hash_token(token)))
        .filter(privacy_requests::status.eq(PrivacyStatus::Sent))
        .filter(privacy_requests::expires_at.gt(at))
        .select((privacy_requests::id, privacy_requests::email, privacy_requests::kind, privacy_requests::payload))
        .first(conn)
        .optional()?;
    let (id, email, kind, payload) = row.ok_or_else(invalid_link)?;
    // Spend it first, conditionally: of two racing confirmations only one gets on.
    let spent =
        diesel::update(privacy_requests::table.find(&id).filter(privacy_requests::status.eq(PrivacyStatus::Sent)))
            .set((privacy_requests::status.eq(PrivacyStatus::Used), privacy_requests::used_at.eq(Some(at))))
            .execute(conn)?;
    if spent == 0 {
        return Err(invalid_link());
    }
    let payload: Payload = serde_json::from_str(&payload).unwrap_or_default();
    match kind {
        PrivacyKind::Export => Ok(Outcome::Export { data: Box::new(queries::export_address(conn, &email)?) }),
        PrivacyKind::Erase => Ok(Outcome::Erase { summary: queries::erase_address(conn, ctx, &email, &id)? }),
        PrivacyKind::UpdateBusiness => {
            let changes = payload.business.unwrap_or_default();
            Ok(Outcome::UpdateBusiness { business: update_business(conn, &email, &changes)? })
        }
        PrivacyKind::Marketing => {
            let consent = payload.marketing_consent.unwrap_or(false);
            outbox::set_marketing_consent(conn, &email, consent, at)?;
            audit::record_system(conn, "update", "email_consent", &id, Changes::fields(&["marketing_consent"]))?;
            Ok(Outcome::Marketing { marketing_consent: consent })
        }
        PrivacyKind::Voucher => {
            // A merged record's contact is the contact of the business it joined.
            let business: Option<(String, Option<String>)> = businesses::table
                .filter(businesses::email.eq(&email))
                .filter(businesses::deleted_at.is_null())
                .select((businesses::id, businesses::merged_into))
                .first(conn)
                .optional()?;
            let voucher = match business {
                Some((b, merged)) => crate::credits::queries::reissue_voucher(conn, &merged.unwrap_or(b))?,
                None => None,
            };
            audit::record_system(conn, "reissue_voucher", "business", &id, Changes::fields(&["voucher"]))?;
            Ok(Outcome::Voucher { voucher })
        }
        PrivacyKind::Links => Err(invalid_link()),
    }
}

fn update_business(conn: &mut DbConnection, email: &str, changes: &BusinessChanges) -> Result<BusinessOut, AppError> {
    let id: String = businesses::table
        .filter(businesses::email.eq(email))
        .filter(businesses::deleted_at.is_null())
        .select(businesses::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("this address is no longer the contact of a business"))?;
    apply_business_changes(conn, None, &id, changes)
}

/// Changes a business record (its contact through a verified link: `actor` is `None`; or staff),
/// audited with the names of the fields changed.
pub fn apply_business_changes(
    conn: &mut DbConnection,
    actor: Option<&crate::auth::Actor>,
    id: &str,
    changes: &BusinessChanges,
) -> Result<BusinessOut, AppError> {
    let live: i64 = businesses::table.find(id).filter(businesses::deleted_at.is_null()).count().get_result(conn)?;
    if live == 0 {
        return Err(AppError::not_found("no such business"));
    }
    let at = now();
    let mut fields = Vec::new();
    if let Some(name) = &changes.name {
        diesel::update(businesses::table.find(id)).set(businesses::name.eq(name)).execute(conn)?;
        fields.push("name");
    }
    if let Some(state) = &changes.state {
        let known: i64 = crate::db::schema::states::table
            .filter(crate::db::schema::states::code.eq(state))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(AppError::field("business.state", format!("{state} is not a US state code")));
        }
        diesel::update(businesses::table.find(id)).set(businesses::state_code.eq(Some(state))).execute(conn)?;
        fields.push("state");
    }
    if let Some(v) = &changes.industry {
        diesel::update(businesses::table.find(id)).set(businesses::industry.eq(Some(v))).execute(conn)?;
        fields.push("industry");
    }
    if let Some(v) = &changes.employees {
        diesel::update(businesses::table.find(id)).set(businesses::employees.eq(Some(v))).execute(conn)?;
        fields.push("employees");
    }
    if let Some(v) = &changes.website {
        diesel::update(businesses::table.find(id)).set(businesses::website.eq(Some(v))).execute(conn)?;
        fields.push("website");
    }
    if let Some(ein) = &changes.ein {
        crate::credits::identity::set_ein(conn, id, Some(ein), actor.is_some())?;
        fields.push("ein");
    }
    if changes.name.is_some() || changes.state.is_some() || changes.website.is_some() {
        crate::credits::identity::refresh_keys(conn, id)?;
    }
    diesel::update(businesses::table.find(id)).set(businesses::updated_at.eq(at)).execute(conn)?;
    let names: Vec<String> = fields.iter().map(|f| format!("business.{f}")).collect();
    match actor {
        Some(actor) => audit::record(conn, actor, "update", "business", id, Changes::fields(&names))?,
        None => audit::record_system(conn, "update", "business", id, Changes::fields(&names))?,
    }
    queries::export(conn, id)?.map(|d| d.business).ok_or_else(|| AppError::not_found("no such business"))
}

/// Housekeeping that keeps the abuse guards small: cap counters and throttle marks that no longer
/// matter, idempotency keys past their time to live, and the hashes of privacy links that expired.
pub fn prune(conn: &mut DbConnection, at: NaiveDateTime, idempotency_ttl: chrono::Duration) -> Result<usize, AppError> {
    use crate::db::schema::idempotency_keys;
    let mut n = outbox::prune_caps(conn, at)?;
    n += diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(at - idempotency_ttl)))
        .execute(conn)?;
    n += diesel::update(
        privacy_requests::table
            .filter(privacy_requests::status.eq(PrivacyStatus::Sent))
            .filter(privacy_requests::expires_at.lt(at)),
    )
    .set(privacy_requests::token_hash.eq(None::<String>))
    .execute(conn)?;
    Ok(n)
}

/// Runs the request queue in a supervised background thread (restarted after a panic, reported by
/// `/readyz` when it stalls) every `poll`, and [`prune`] about once a minute.
pub fn spawn(
    db: Db,
    ctx: MailContext,
    poll: std::time::Duration,
    idempotency_ttl: chrono::Duration,
    heartbeat: std::sync::Arc<crate::jobs::supervisor::Heartbeat>,
    shutdown: crate::jobs::supervisor::Shutdown,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut last_prune = std::time::Instant::now();
    crate::jobs::supervisor::supervise("privacy_requests", heartbeat, shutdown, move || {
        if let Err(e) = process_all(&db, &ctx) {
            tracing::error!(error = %e, "privacy request step failed");
        }
        if last_prune.elapsed() >= std::time::Duration::from_secs(60) {
            last_prune = std::time::Instant::now();
            let pruned = db.get().and_then(|mut c| write_tx(&mut c, |c| prune(c, now(), idempotency_ttl)));
            if let Err(e) = pruned {
                tracing::error!(error = %e, "pruning abuse guards failed");
            }
        }
        poll
    })
}
