//! Bodies of the credit endpoints. Amounts are integer cents (`…_cents`), instants UTC RFC 3339.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{Grant, GrantOutcome, Pool, Reserve};
use crate::db::from_db_time;
use crate::domain::{GrantSource, GrantStatus};
use crate::time::utc_string;
use crate::wire::Patch;

fn utc(t: chrono::NaiveDateTime) -> String {
    utc_string(from_db_time(t))
}

/// The pool: its settings and what is granted from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolOut {
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(example = 1_000_000_000i64)]
    pub total_cents: i64,
    /// The amount of one grant.
    #[schema(example = 5000)]
    pub grant_cents: i64,
    #[schema(example = 200_000)]
    pub max_grants: i32,
    /// Grants are made from this instant on (`null`: no start).
    pub starts_at: Option<String>,
    /// … and before this one (`null`: no end).
    pub ends_at: Option<String>,
    /// Held by active grants.
    pub granted_cents: i64,
    pub grant_count: i32,
    pub remaining_cents: i64,
    pub remaining_grants: i64,
    pub updated_at: String,
}

impl From<Pool> for PoolOut {
    fn from(p: Pool) -> Self {
        PoolOut {
            remaining_cents: p.total_cents - p.granted_cents,
            remaining_grants: i64::from(p.max_grants - p.grant_count)
                .min((p.total_cents - p.granted_cents) / p.grant_cents.max(1)),
            currency: p.currency,
            total_cents: p.total_cents,
            grant_cents: p.grant_cents,
            max_grants: p.max_grants,
            starts_at: p.starts_at.map(utc),
            ends_at: p.ends_at.map(utc),
            granted_cents: p.granted_cents,
            grant_count: p.grant_count,
            updated_at: utc(p.updated_at),
        }
    }
}

/// A change of the pool: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolPatch {
    /// Not below what is granted; the national reserve's share moves by the difference.
    #[schema(minimum = 1, maximum = 100_000_000_000_000i64)]
    pub total_cents: Option<i64>,
    /// Applies to grants made from now on.
    #[schema(minimum = 1, maximum = 100_000_000_000_000i64)]
    pub grant_cents: Option<i64>,
    /// Not below the grants made.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub max_grants: Option<i32>,
    /// Three capital letters (ISO 4217).
    pub currency: Option<String>,
    /// RFC 3339; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub starts_at: Patch<String>,
    /// RFC 3339; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ends_at: Patch<String>,
}

/// One reserve: `national` or a state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReserveOut {
    /// `national`, or a state code.
    #[schema(example = "TX")]
    pub reserve: String,
    pub share_cents: i64,
    pub granted_cents: i64,
    pub grant_count: i32,
    pub remaining_cents: i64,
    /// Released reserves keep what they granted; their state's later grants draw on `national`.
    pub released_at: Option<String>,
}

impl From<Reserve> for ReserveOut {
    fn from(r: Reserve) -> Self {
        ReserveOut {
            remaining_cents: r.share_cents - r.granted_cents,
            reserve: r.reserve,
            share_cents: r.share_cents,
            granted_cents: r.granted_cents,
            grant_count: r.grant_count,
            released_at: r.released_at.map(utc),
        }
    }
}

/// The reserves, national first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservesOut {
    pub items: Vec<ReserveOut>,
}

/// State shares to set (others keep theirs; the national reserve gets the rest of the total).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservesIn {
    pub states: Vec<StateShareIn>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateShareIn {
    #[schema(example = "TX")]
    pub state: String,
    /// A whole number of grants' worth is usual; any amount from 0 is accepted.
    #[schema(example = 80_000_000, minimum = 0, maximum = 100_000_000_000_000i64)]
    pub share_cents: i64,
}

/// `POST /api/v1/admin/credits/reserves/allocate`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AllocateQuery {
    /// The national reserve's part of the total, in percent (0-100, default 10).
    pub national_percent: Option<u32>,
}

/// One grant. The voucher code is never shown (only its first group, for support).
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    #[schema(value_type = uuid::Uuid)]
    pub id: String,
    #[schema(value_type = uuid::Uuid)]
    pub business_id: String,
    pub status: GrantStatus,
    pub amount_cents: i64,
    /// The reserve it draws on.
    pub reserve: String,
    pub source: GrantSource,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub registration_id: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub booking_id: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub event_id: Option<String>,
    /// The business's state when granted.
    pub state: Option<String>,
    /// The code's first group, for support: national admins only (`null` for organizers: with it,
    /// fewer than 80 unknown bits would be left of a code).
    #[schema(example = "7KQ2MZ")]
    pub voucher_prefix: Option<String>,
    pub granted_at: String,
    pub ended_at: Option<String>,
    /// Why it was revoked or declined.
    pub end_reason: Option<String>,
    pub redeemed_at: Option<String>,
}

impl GrantOut {
    /// The grant as `actor` may see it (see [`GrantOut::voucher_prefix`]).
    pub fn seen_by(g: Grant, actor: &crate::auth::Actor) -> GrantOut {
        let mut out = GrantOut::from(g);
        if !actor.is_admin() {
            out.voucher_prefix = None;
        }
        out
    }
}

impl From<Grant> for GrantOut {
    fn from(g: Grant) -> Self {
        GrantOut {
            id: g.id,
            business_id: g.business_id,
            status: g.status,
            amount_cents: g.amount_cents,
            reserve: g.reserve,
            source: g.source,
            registration_id: g.registration_id,
            booking_id: g.booking_id,
            event_id: g.event_id,
            state: g.state_code,
            voucher_prefix: Some(g.voucher_prefix),
            granted_at: utc(g.granted_at),
            ended_at: g.ended_at.map(utc),
            end_reason: g.end_reason,
            redeemed_at: g.redeemed_at.map(utc),
        }
    }
}

/// `GET /api/v1/admin/credits/grants`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantListQuery {
    pub status: Option<String>,
    /// The business's state.
    pub state: Option<String>,
    pub event_id: Option<String>,
    pub business_id: Option<String>,
    /// 1-200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Why an admin revokes or grants again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// 1-500 characters; kept on the grant and in the ledger.
    #[schema(example = "checked in by mistake")]
    pub reason: String,
}

/// A voucher code as typed (case, dashes and spaces do not matter).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    #[schema(example = "7KQ2MZ-XH4PBD-9RT3WA")]
    pub code: String,
}

/// A redeemed voucher, as the partner who redeemed it sees it: the credit, not the business (a
/// partner may redeem a code from a business outside its own events).
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeemedOut {
    #[schema(value_type = uuid::Uuid)]
    pub grant_id: String,
    pub status: GrantStatus,
    pub amount_cents: i64,
    #[schema(example = "7KQ2MZ")]
    pub voucher_prefix: String,
    pub redeemed_at: Option<String>,
}

impl From<Grant> for RedeemedOut {
    fn from(g: Grant) -> Self {
        RedeemedOut {
            grant_id: g.id,
            status: g.status,
            amount_cents: g.amount_cents,
            voucher_prefix: g.voucher_prefix,
            redeemed_at: g.redeemed_at.map(utc),
        }
    }
}

/// What taking part did about the ad credit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditOutcomeOut {
    /// `granted`, `already_granted` (the business has or had one), `pool_empty` (no room in the
    /// pool or in the reserve named) or `not_open` (outside the pool's dates).
    #[schema(example = "granted")]
    pub outcome: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub grant_id: Option<String>,
    pub amount_cents: Option<i64>,
    /// The reserve drawn on (`granted`) or found empty (`pool_empty`: a reserve, or `pool`).
    pub reserve: Option<String>,
}

impl From<&GrantOutcome> for CreditOutcomeOut {
    fn from(o: &GrantOutcome) -> Self {
        let (grant_id, amount_cents, reserve) = match o {
            GrantOutcome::Granted { grant_id, amount_cents, reserve } => {
                (Some(grant_id.clone()), Some(*amount_cents), Some(reserve.clone()))
            }
            GrantOutcome::PoolEmpty { reserve } => (None, None, Some(reserve.clone())),
            _ => (None, None, None),
        };
        CreditOutcomeOut { outcome: o.as_str().to_string(), grant_id, amount_cents, reserve }
    }
}

/// One difference reconcile found (there should be none).
#[derive(Debug, Serialize, ToSchema)]
pub struct DifferenceOut {
    /// `pool` or a reserve.
    pub subject: String,
    /// `granted_cents`, `grant_count`, `share_cents` or `total_cents`.
    pub figure: String,
    /// The stored counter.
    pub stored: i64,
    /// Recomputed from the ledger.
    pub ledger: i64,
    /// Recomputed from the active grants (`null` for shares and totals, which grants do not hold).
    pub grants: Option<i64>,
}

/// `GET /api/v1/admin/credits/reconcile`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconcileOut {
    /// No difference anywhere.
    pub balanced: bool,
    pub pool: PoolOut,
    pub reserves: Vec<ReserveOut>,
    pub ledger_entries: i64,
    pub differences: Vec<DifferenceOut>,
    pub checked_at: String,
}

/// The result of one row of a webinar attendance upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceRowOut {
    /// The row's line number in the file (the header is line 1 when there is one).
    pub line: usize,
    /// The address as given (empty for a row that could not be read).
    pub email: String,
    /// `granted`, `already_granted`, `pool_empty`, `not_open`, `not_registered`,
    /// `below_threshold`, `duplicate` (the address was on an earlier row), `bad_row`, or `retry`
    /// (the database was busy for that row: upload the file again).
    #[schema(example = "granted")]
    pub result: String,
    /// What was wrong with a `bad_row`, or the reserve of `pool_empty`.
    pub detail: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub registration_id: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub grant_id: Option<String>,
}

/// `POST /api/v1/admin/events/{id}/webinar-attendance`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceOut {
    /// Minutes an attendee needs to count as having attended.
    pub threshold_minutes: u32,
    pub rows: Vec<AttendanceRowOut>,
    /// Rows per result.
    pub totals: std::collections::BTreeMap<String, usize>,
}

/// A new voucher code, shown once (the old one stopped working).
#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherOut {
    #[schema(value_type = uuid::Uuid)]
    pub grant_id: String,
    pub amount_cents: i64,
    #[schema(example = "7KQ2MZ-XH4PBD-9RT3WA")]
    pub code: String,
}
