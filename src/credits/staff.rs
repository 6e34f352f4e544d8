//! Staff endpoints of the credit pool (`/api/v1/admin`, behind the staff gate).
//!
//! | | admin | organizer | expert |
//! |---|---|---|---|
//! | pool, reserves: read | yes | yes (national figures, no business) | — |
//! | pool, reserves: change, allocate, release | yes | — | — |
//! | grants: list, read | all | at events its organization hosts | — |
//! | revoke, grant again, reconcile | yes | — | — |
//! | redeem a voucher | yes | yes (partners hold the codes businesses bring) | — |
//! | webinar attendance upload | any webinar | webinars its organization hosts | — |

use actix_web::{web, HttpResponse};

use super::queries::{self, GrantFilter, PoolChange};
use super::voucher::Voucher;
use super::wire::{
    AllocateQuery, CodeIn, CreditOutcomeOut, DifferenceOut, GrantListQuery, GrantOut, PoolOut, PoolPatch, ReasonIn,
    ReconcileOut, RedeemedOut, ReserveOut, ReservesIn, ReservesOut,
};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::{now, to_db_time, Db};
use crate::domain::GrantStatus;
use crate::error::{AppError, FieldError};
use crate::http::{csv_fields, decode_cursor, next_page, page_limit, parse_id, CsvBody, JsonBody, Page, QueryParams};
use crate::mail::MailContext;
use crate::openapi::problems::Staff;

/// The pool: settings, what is granted and what remains.
#[utoipa::path(
    get,
    path = "/api/v1/admin/credits/pool",
    tag = "credits",
    security(("staff_token" = [])),
    responses((status = 200, description = "The pool", body = PoolOut), Staff)
)]
pub(crate) async fn get_pool(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let p = db.read(queries::pool).await?;
    Ok(HttpResponse::Ok().json(PoolOut::from(p)))
}

/// Change the pool (admins).
///
/// Lowering the total below what is granted is a 409; the national reserve's share moves with the
/// total (a 409 when that would leave it below its own grants). A new `grant_cents` applies to
/// grants made from then on.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/credits/pool",
    tag = "credits",
    request_body(content = PoolPatch, example = json!({"total_cents": 1_000_000_000i64, "ends_at": "2027-12-31T23:59:59Z"})),
    security(("staff_token" = [])),
    responses((status = 200, description = "The changed pool", body = PoolOut), Staff)
)]
pub(crate) async fn patch_pool(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<PoolPatch>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let change = parse_pool_patch(input)?;
    let p = db.write(move |c| queries::change_pool(c, &actor, &change)).await?;
    Ok(HttpResponse::Ok().json(PoolOut::from(p)))
}

/// The largest amount any pool figure may be: $1 trillion in cents. Sums of such amounts stay
/// far inside 64-bit integers on both engines.
pub const MAX_CENTS: i64 = 100_000_000_000_000;

fn parse_pool_patch(input: PoolPatch) -> Result<PoolChange, AppError> {
    let mut errors = Vec::new();
    let cents = |field: &str, v: Option<i64>, errors: &mut Vec<FieldError>| {
        if v.is_some_and(|v| v <= 0 || v > MAX_CENTS) {
            errors.push(FieldError::new(field, format!("must be a positive number of cents, at most {MAX_CENTS}")));
        }
    };
    cents("total_cents", input.total_cents, &mut errors);
    cents("grant_cents", input.grant_cents, &mut errors);
    if input.max_grants.is_some_and(|m| !(1..=100_000_000).contains(&m)) {
        errors.push(FieldError::new("max_grants", "must be between 1 and 100000000"));
    }
    if let Some(c) = &input.currency {
        if c.len() != 3 || !c.chars().all(|c| c.is_ascii_uppercase()) {
            errors.push(FieldError::new("currency", "must be an ISO 4217 code like USD"));
        }
    }
    let mut instant = |field: &str, p: crate::wire::Patch<String>| -> Option<Option<chrono::NaiveDateTime>> {
        match p.into_change() {
            None => None,
            Some(None) => Some(None),
            Some(Some(v)) => match crate::time::parse_instant(field, &v, chrono_tz::UTC) {
                Ok(t) => Some(Some(to_db_time(t))),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
        }
    };
    let starts_at = instant("starts_at", input.starts_at);
    let ends_at = instant("ends_at", input.ends_at);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(PoolChange {
        total_cents: input.total_cents,
        grant_cents: input.grant_cents,
        max_grants: input.max_grants,
        currency: input.currency,
        starts_at,
        ends_at,
    })
}

fn reserves_out(rows: Vec<queries::Reserve>) -> ReservesOut {
    let mut items: Vec<ReserveOut> = rows.into_iter().map(ReserveOut::from).collect();
    items.sort_by_key(|r| (r.reserve != queries::NATIONAL, r.reserve.clone()));
    ReservesOut { items }
}

/// The reserves: `national` and each state's.
///
/// The rule for which reserve a grant draws on: a grant for taking part at an in-person stop draws
/// on the reserve of the stop's state when that state has an open (not released) reserve;
/// webinars, online expert sessions and stops in other states draw on `national`. A full reserve
/// refuses the grant (`pool_empty`): another reserve never stands in, so no state's early stops
/// drain another's share.
#[utoipa::path(
    get,
    path = "/api/v1/admin/credits/reserves",
    tag = "credits",
    security(("staff_token" = [])),
    responses((status = 200, description = "The reserves", body = ReservesOut), Staff)
)]
pub(crate) async fn get_reserves(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let rows = db.read(queries::reserves).await?;
    Ok(HttpResponse::Ok().json(reserves_out(rows)))
}

/// Set state reserves (admins).
///
/// The listed states get these shares (a released one opens again); other state reserves keep
/// theirs; `national` gets what is left of the total. A share below what its reserve has granted,
/// or shares that leave the national reserve below its grants, is a 409.
#[utoipa::path(
    put,
    path = "/api/v1/admin/credits/reserves",
    tag = "credits",
    request_body(content = ReservesIn, example = json!({"states": [{"state": "TX", "share_cents": 80_000_000}]})),
    security(("staff_token" = [])),
    responses((status = 200, description = "The reserves", body = ReservesOut), Staff)
)]
pub(crate) async fn put_reserves(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<ReservesIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let mut errors = Vec::new();
    let mut shares = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, s) in input.states.iter().enumerate() {
        match crate::validate::state_code(&format!("states[{i}].state"), &s.state) {
            Ok(code) => {
                if !seen.insert(code.to_string()) {
                    errors.push(FieldError::new(format!("states[{i}].state"), "is listed twice"));
                }
                if !(0..=MAX_CENTS).contains(&s.share_cents) {
                    errors.push(FieldError::new(
                        format!("states[{i}].share_cents"),
                        format!("must be between 0 and {MAX_CENTS} cents"),
                    ));
                }
                shares.push((code.to_string(), s.share_cents));
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let rows = db
        .write(move |c| {
            let codes: Vec<String> = shares.iter().map(|s| s.0.clone()).collect();
            let unknown = queries::unknown_states(c, &codes)?;
            if !unknown.is_empty() {
                let errors = shares
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| unknown.contains(&s.0))
                    .map(|(i, s)| {
                        FieldError::new(format!("states[{i}].state"), format!("{} is not a US state code", s.0))
                    })
                    .collect();
                return Err(AppError::Validation(errors));
            }
            queries::set_reserves(c, &actor, &shares, false)
        })
        .await?;
    Ok(HttpResponse::Ok().json(reserves_out(rows)))
}

/// Allocate state reserves from small-business counts (admins; `text/csv`).
///
/// The body is `state,small_businesses` per line (a header line is allowed). `national_percent`
/// of the total (default 10) stays national; the rest is shared in proportion to the counts, in
/// whole grants (largest remainders first), and the national reserve gets what rounding leaves.
/// State reserves not in the file are released. A bad line is a 422 naming it.
#[utoipa::path(
    post,
    path = "/api/v1/admin/credits/reserves/allocate",
    tag = "credits",
    params(AllocateQuery),
    request_body(content = String, content_type = "text/csv", example = "state,small_businesses\nTX,3100000\nCA,4200000\n"),
    security(("staff_token" = [])),
    responses((status = 200, description = "The reserves", body = ReservesOut), Staff)
)]
pub(crate) async fn allocate_reserves(
    actor: Actor,
    db: web::Data<Db>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
    QueryParams(q): QueryParams<AllocateQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let CsvBody(body) = CsvBody::read(&req, payload).await?;
    let percent = q.national_percent.unwrap_or(10);
    if percent > 100 {
        return Err(AppError::bad_field("national_percent", "must be between 0 and 100"));
    }
    let counts = parse_counts(&body)?;
    let rows = db
        .write(move |c| {
            let codes: Vec<String> = counts.iter().map(|(_, s, _)| s.clone()).collect();
            let unknown = queries::unknown_states(c, &codes)?;
            if !unknown.is_empty() {
                let errors = counts
                    .iter()
                    .filter(|(_, s, _)| unknown.contains(s))
                    .map(|(line, s, _)| FieldError::new(format!("line {line}"), format!("{s} is not a US state code")))
                    .collect();
                return Err(AppError::Validation(errors));
            }
            let counts: Vec<(String, u64)> = counts.into_iter().map(|(_, s, n)| (s, n)).collect();
            let p = queries::pool(c)?;
            let shares = super::allocate(p.total_cents, p.grant_cents, percent, &counts);
            queries::set_reserves(c, &actor, &shares, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(reserves_out(rows)))
}

/// `state,count` lines → (line number, state, count); a header line (first field not a state) is
/// skipped. Whether each state exists is checked against the database by the caller.
fn parse_counts(body: &str) -> Result<Vec<(usize, String, u64)>, AppError> {
    let mut out: Vec<(usize, String, u64)> = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some(fields) = csv_fields(line) else {
            errors.push(FieldError::new(format!("line {line_no}"), "has an unclosed quote"));
            continue;
        };
        if n == 0 && fields.first().is_some_and(|f| f.len() != 2 || f.eq_ignore_ascii_case("state")) {
            continue;
        }
        let field = format!("line {line_no}");
        if fields.len() != 2 {
            errors.push(FieldError::new(field, "must be two fields: state,small_businesses"));
            continue;
        }
        let state = match crate::validate::state_code(&field, &fields[0]) {
            Ok(s) => s.to_string(),
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Ok(count) = fields[1].replace('_', "").parse::<u64>() else {
            errors.push(FieldError::new(field, format!("{:?} is not a whole number of businesses", fields[1])));
            continue;
        };
        if out.iter().any(|(_, s, _)| *s == state) {
            errors.push(FieldError::new(field, format!("{state} is listed twice")));
            continue;
        }
        out.push((line_no, state, count));
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("body", "lists no state"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(out)
}

/// Release a state reserve (admins): what it has not granted goes to `national`, and the state's
/// later grants draw on `national`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/credits/reserves/{state}/release",
    tag = "credits",
    params(("state" = String, Path, description = "The state code.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The reserves", body = ReservesOut), Staff)
)]
pub(crate) async fn release_reserve(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let state = crate::validate::state_code("state", &path)
        .map_err(|e| AppError::BadRequest { detail: "bad state".into(), errors: vec![e] })?;
    let rows = db.write(move |c| queries::release_reserve(c, &actor, state.as_ref())).await?;
    Ok(HttpResponse::Ok().json(reserves_out(rows)))
}

/// Grants the caller may see, newest first.
///
/// Admins see all; an organizer the grants made at events its organization hosts. Experts: 403.
#[utoipa::path(
    get,
    path = "/api/v1/admin/credits/grants",
    tag = "credits",
    params(GrantListQuery),
    security(("staff_token" = [])),
    responses((status = 200, description = "A page of grants", body = Page<GrantOut>), Staff)
)]
pub(crate) async fn list_grants(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<GrantListQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<GrantStatus>()
                .map_err(|_| AppError::bad_field("status", format!("must be {}", GrantStatus::expected())))
        })
        .transpose()?;
    let state = q
        .state
        .as_deref()
        .map(|s| crate::validate::state_code("state", s).map(|c| c.to_string()))
        .transpose()
        .map_err(|e| AppError::BadRequest { detail: "bad state".into(), errors: vec![e] })?;
    let event_id = q.event_id.as_deref().map(|e| parse_id("event_id", e)).transpose()?;
    let business_id = q.business_id.as_deref().map(|b| parse_id("business_id", b)).transpose()?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = GrantFilter { status, state, event_id, business_id };
    let viewer = actor.clone();
    let mut rows = db.read(move |c| queries::list_grants(c, &actor, &filter, after, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |g| (g.granted_at, g.id.clone()));
    Ok(HttpResponse::Ok()
        .json(Page { items: rows.into_iter().map(|g| GrantOut::seen_by(g, &viewer)).collect(), next_cursor: next }))
}

/// One grant (scoped as the list).
#[utoipa::path(
    get,
    path = "/api/v1/admin/credits/grants/{id}",
    tag = "credits",
    params(("id" = uuid::Uuid, Path, description = "The grant.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "The grant", body = GrantOut), Staff)
)]
pub(crate) async fn get_grant(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let id = parse_id("id", &path)?;
    let viewer = actor.clone();
    let g = db
        .read(move |c| queries::grant_for_actor(c, &actor, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such grant"))?;
    Ok(HttpResponse::Ok().json(GrantOut::seen_by(g, &viewer)))
}

fn reason(input: &ReasonIn) -> Result<String, AppError> {
    crate::validate::text("reason", &input.reason, 500).map_err(|e| AppError::Validation(vec![e]))
}

/// Revoke a grant (admins), with a reason: its amount returns to its reserve. A redeemed voucher's
/// grant cannot be revoked (409). The business gets a grant again only by [`regrant`].
#[utoipa::path(
    post,
    path = "/api/v1/admin/credits/grants/{id}/revoke",
    tag = "credits",
    params(("id" = uuid::Uuid, Path, description = "The grant.")),
    request_body(content = ReasonIn),
    security(("staff_token" = [])),
    responses((status = 200, description = "The revoked grant", body = GrantOut), Staff)
)]
pub(crate) async fn revoke(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<ReasonIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let reason = reason(&input)?;
    let g = db.write(move |c| queries::end_grant(c, &id, GrantStatus::Revoked, &reason, Some(&actor))).await?;
    Ok(HttpResponse::Ok().json(GrantOut::from(g)))
}

/// Grant a business its credit again (admins), after a revocation or a decline, with a reason.
///
/// A business that holds an active grant is a 409; so is a full reserve or a closed pool. The new
/// voucher is emailed to the business's contact.
#[utoipa::path(
    post,
    path = "/api/v1/admin/businesses/{id}/credit-grant",
    tag = "credits",
    params(("id" = uuid::Uuid, Path, description = "The business.")),
    request_body(content = ReasonIn),
    security(("staff_token" = [])),
    responses((status = 201, description = "Granted", body = CreditOutcomeOut), Staff)
)]
pub(crate) async fn regrant(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<ReasonIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let id = parse_id("id", &path)?;
    let reason = reason(&input)?;
    let ctx = MailContext::from_config(&config);
    let outcome = db.write(move |c| queries::regrant(c, &ctx, &actor, &id, &reason)).await?;
    Ok(HttpResponse::Created().json(CreditOutcomeOut::from(&outcome)))
}

/// Mark a voucher redeemed (admins and organizers: the partners a business brings its code to).
///
/// The answer names the credit, not the business (the code may come from a business outside the
/// caller's events).
///
/// The code is read in any case, with or without dashes; one with a typo is a 422 saying so. An
/// unknown code is a 404; a revoked, declined or already redeemed one a 409.
#[utoipa::path(
    post,
    path = "/api/v1/admin/credits/vouchers/redeem",
    tag = "credits",
    request_body(content = CodeIn),
    security(("staff_token" = [])),
    responses((status = 200, description = "Redeemed", body = RedeemedOut), Staff)
)]
pub(crate) async fn redeem(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<CodeIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let voucher = parse_code(&input.code)?;
    let g = db.write(move |c| queries::redeem(c, &actor, &voucher)).await?;
    Ok(HttpResponse::Ok().json(RedeemedOut::from(g)))
}

/// A typed voucher code, or a 422 naming `code`.
pub(crate) fn parse_code(typed: &str) -> Result<Voucher, AppError> {
    Voucher::parse(typed).map_err(|e| AppError::field("code", e.to_string()))
}

/// Recompute every balance from the ledger and the grants, and compare (admins).
///
/// `balanced` is true when the pool's and every reserve's stored counters equal what the ledger
/// sums to and what the active grants hold, and the shares add up to the total. Any difference is
/// listed (there should never be one).
#[utoipa::path(
    get,
    path = "/api/v1/admin/credits/reconcile",
    tag = "credits",
    security(("staff_token" = [])),
    responses((status = 200, description = "The comparison", body = ReconcileOut), Staff)
)]
pub(crate) async fn reconcile(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let out = db.read(reconcile_now).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The reconcile report, read in one transaction.
pub fn reconcile_now(c: &mut crate::db::DbConnection) -> Result<ReconcileOut, AppError> {
    use crate::db::schema::credit_ledger;
    use diesel::prelude::*;
    // One snapshot for every figure (PostgreSQL's default would give each statement its own, and
    // a grant committing in between would look like a difference). SQLite reads one anyway.
    if c.is_postgres() {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(c)?;
    }
    let pool = queries::pool(c)?;
    let reserves = queries::reserves(c)?;
    let sums = queries::ledger_sums(c)?;
    let active = queries::active_sums(c)?;
    let entries: i64 = credit_ledger::table.count().get_result(c)?;
    let mut diffs = Vec::new();
    let mut check = |subject: &str, figure: &str, stored: i64, ledger: i64, grants: Option<i64>| {
        if stored != ledger || grants.is_some_and(|g| g != stored) {
            diffs.push(DifferenceOut { subject: subject.into(), figure: figure.into(), stored, ledger, grants });
        }
    };
    let ledger_granted: i64 = sums.reserves.values().map(|r| r.0).sum();
    let ledger_count: i64 = sums.reserves.values().map(|r| r.1).sum();
    let active_cents: i64 = active.values().map(|a| a.0).sum();
    let active_count: i64 = active.values().map(|a| a.1).sum();
    check("pool", "total_cents", pool.total_cents, sums.total_cents, None);
    check("pool", "granted_cents", pool.granted_cents, ledger_granted, Some(active_cents));
    check("pool", "grant_count", i64::from(pool.grant_count), ledger_count, Some(active_count));
    let shares: i64 = reserves.iter().map(|r| r.share_cents).sum();
    check("pool", "share_cents", pool.total_cents, shares, None);
    for r in &reserves {
        let (g, n, s) = sums.reserves.get(&r.reserve).copied().unwrap_or_default();
        let (ag, an) = active.get(&r.reserve).copied().unwrap_or_default();
        check(&r.reserve, "granted_cents", r.granted_cents, g, Some(ag));
        check(&r.reserve, "grant_count", i64::from(r.grant_count), n, Some(an));
        check(&r.reserve, "share_cents", r.share_cents, s, None);
    }
    for (name, (g, n, s)) in &sums.reserves {
        if !reserves.iter().any(|r| &r.reserve == name) {
            check(name, "granted_cents", 0, *g, None);
            check(name, "grant_count", 0, *n, None);
            check(name, "share_cents", 0, *s, None);
        }
    }
    Ok(ReconcileOut {
        balanced: diffs.is_empty(),
        pool: PoolOut::from(pool),
        reserves: reserves_out(reserves).items,
        ledger_entries: entries,
        differences: diffs,
        checked_at: crate::time::utc_string(crate::db::from_db_time(now())),
    })
}
