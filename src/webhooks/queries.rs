//! Webhook SQL: endpoints (scoped by organization in every query) and deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::EventType;
use crate::auth::Actor;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{new_id, now, DbConnection};
use crate::error::AppError;

/// An endpoint as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub event_types: String,
    pub active: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Endpoint {
    pub fn types(&self) -> Vec<EventType> {
        self.event_types.split('|').filter_map(|t| t.parse().ok()).collect()
    }
}

/// One delivery as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub seq: i64,
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub object_id: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// `|a|b|` for a list of types.
pub fn join_types(types: &[EventType]) -> String {
    let mut sorted: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    format!("|{}|", sorted.join("|"))
}

/// Endpoints the actor may see: an admin's all, an organizer's its organization's.
fn scoped(actor: &Actor) -> Result<crate::auth::scope::Filter<webhook_endpoints::table>, AppError> {
    use crate::auth::Role;
    Ok(match (actor.role, actor.organization_id.clone()) {
        (Role::Admin, _) => crate::auth::scope::always(),
        (Role::Organizer, Some(org)) => Box::new(webhook_endpoints::organization_id.eq(org)),
        _ => return Err(AppError::Forbidden("webhooks belong to organizations".into())),
    })
}

/// What a new endpoint is.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub organization_id: String,
    pub url: String,
    pub types: Vec<EventType>,
    pub active: bool,
}

pub fn create(conn: &mut DbConnection, actor: &Actor, e: &NewEndpoint, secret: &str) -> Result<Endpoint, AppError> {
    let at = now();
    let id = new_id();
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(&id),
            webhook_endpoints::organization_id.eq(&e.organization_id),
            webhook_endpoints::url.eq(&e.url),
            webhook_endpoints::event_types.eq(join_types(&e.types)),
            webhook_endpoints::active.eq(e.active),
            webhook_endpoints::secret.eq(secret),
            webhook_endpoints::created_by.eq(Some(&actor.user_id)),
            webhook_endpoints::created_at.eq(at),
            webhook_endpoints::updated_at.eq(at),
        ))
        .execute(conn)?;
    crate::audit::record(
        conn,
        actor,
        "create",
        "webhook_endpoint",
        &id,
        crate::audit::Changes::fields(&["url", "event_types", "active"]),
    )?;
    find(conn, actor, &id)?.ok_or_else(|| AppError::internal("endpoint vanished"))
}

pub fn find(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<Endpoint>, AppError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::id.eq(id.to_string()))
        .filter(scoped(actor)?)
        .select(Endpoint::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<Endpoint>, AppError> {
    let mut q = webhook_endpoints::table.filter(scoped(actor)?).select(Endpoint::as_select()).into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(
            webhook_endpoints::created_at
                .gt(at)
                .or(webhook_endpoints::created_at.eq(at).and(webhook_endpoints::id.gt(id))),
        );
    }
    Ok(q.order((webhook_endpoints::created_at, webhook_endpoints::id)).limit(limit).load(conn)?)
}

/// What a change of an endpoint sets (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub types: Option<Vec<EventType>>,
    pub active: Option<bool>,
}

pub fn update(conn: &mut DbConnection, actor: &Actor, id: &str, c: &EndpointChange) -> Result<Endpoint, AppError> {
    let e = find(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such webhook endpoint"))?;
    diesel::update(webhook_endpoints::table.find(&e.id))
        .set((
            webhook_endpoints::url.eq(c.url.clone().unwrap_or(e.url.clone())),
            webhook_endpoints::event_types.eq(c.types.as_ref().map(|t| join_types(t)).unwrap_or(e.event_types.clone())),
            webhook_endpoints::active.eq(c.active.unwrap_or(e.active)),
            webhook_endpoints::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let fields = [("url", c.url.is_some()), ("event_types", c.types.is_some()), ("active", c.active.is_some())];
    crate::audit::record(conn, actor, "update", "webhook_endpoint", id, crate::audit::Changes::of_set(&fields))?;
    find(conn, actor, id)?.ok_or_else(|| AppError::internal("endpoint vanished"))
}

pub fn delete(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<(), AppError> {
    let e = find(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such webhook endpoint"))?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(&e.id))).execute(conn)?;
    diesel::delete(webhook_endpoints::table.find(&e.id)).execute(conn)?;
    crate::audit::record(conn, actor, "delete", "webhook_endpoint", id, crate::audit::Changes::default())?;
    Ok(())
}

/// A new secret; the old one keeps signing for the overlap.
pub fn rotate(conn: &mut DbConnection, actor: &Actor, id: &str, secret: &str) -> Result<Endpoint, AppError> {
    let e = find(conn, actor, id)?.ok_or_else(|| AppError::not_found("no such webhook endpoint"))?;
    let until = now() + chrono::Duration::hours(super::ROTATION_OVERLAP_HOURS);
    diesel::update(webhook_endpoints::table.find(&e.id))
        .set((
            webhook_endpoints::secret.eq(secret),
            webhook_endpoints::previous_secret.eq(Some(&e.secret)),
            webhook_endpoints::previous_until.eq(Some(until)),
            webhook_endpoints::updated_at.eq(now()),
        ))
        .execute(conn)?;
    crate::audit::record(
        conn,
        actor,
        "rotate_secret",
        "webhook_endpoint",
        id,
        crate::audit::Changes::fields(&["secret"]),
    )?;
    find(conn, actor, id)?.ok_or_else(|| AppError::internal("endpoint vanished"))
}

/// An endpoint's deliveries, newest first (`before`: a `seq` to continue below).
pub fn deliveries(
    conn: &mut DbConnection,
    actor: &Actor,
    endpoint_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, AppError> {
    find(conn, actor, endpoint_id)?.ok_or_else(|| AppError::not_found("no such webhook endpoint"))?;
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id.to_string()))
        .select(Delivery::as_select())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(webhook_deliveries::seq.lt(b));
    }
    Ok(q.order(webhook_deliveries::seq.desc()).limit(limit).load(conn)?)
}

/// Sends a delivery again (whatever became of it): pending, due now, with a fresh attempt budget.
pub fn redeliver(conn: &mut DbConnection, actor: &Actor, delivery_id: &str) -> Result<Delivery, AppError> {
    let d: Option<Delivery> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(delivery_id.to_string()))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?;
    let d = d.ok_or_else(|| AppError::not_found("no such delivery"))?;
    find(conn, actor, &d.endpoint_id)?.ok_or_else(|| AppError::not_found("no such delivery"))?;
    diesel::update(webhook_deliveries::table.find(d.seq))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now()),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    crate::audit::record(
        conn,
        actor,
        "redeliver",
        "webhook_delivery",
        delivery_id,
        crate::audit::Changes::fields(&["status"]),
    )?;
    Ok(webhook_deliveries::table.find(d.seq).select(Delivery::as_select()).first(conn)?)
}

/// One delivery row per active endpoint subscribed to `kind` of an organization hosting
/// `event_id`: one read (none when no organization listens), then one insert per endpoint.
pub fn enqueue(
    conn: &mut DbConnection,
    kind: EventType,
    event_id: &str,
    object_id: &str,
    payload: &str,
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    use crate::db::schema::event_hosts;
    let endpoints: Vec<String> = webhook_endpoints::table
        .inner_join(event_hosts::table.on(event_hosts::organization_id.eq(webhook_endpoints::organization_id)))
        .filter(event_hosts::event_id.eq(event_id))
        .filter(webhook_endpoints::active.eq(true))
        .filter(webhook_endpoints::event_types.like(format!("%|{}|%", kind.as_str())))
        .select(webhook_endpoints::id)
        .load(conn)?;
    for endpoint in &endpoints {
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq(new_id()),
                webhook_deliveries::endpoint_id.eq(endpoint),
                webhook_deliveries::event_type.eq(kind.as_str()),
                webhook_deliveries::object_id.eq(object_id),
                webhook_deliveries::payload.eq(payload),
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(at),
                webhook_deliveries::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(endpoints.len())
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub previous_until: Option<NaiveDateTime>,
}

/// Claims up to `limit` due deliveries until `lease_until`, counting the attempt: pending, due,
/// not leased, of an active endpoint, and the first pending one of its object at its endpoint
/// (messages about one object go out in order). Deliveries of endpoints disabled since are
/// marked `skipped` first.
pub fn claim(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, AppError> {
    diesel::sql_query(
        "UPDATE webhook_deliveries SET status = 'skipped', locked_until = NULL WHERE status = 'pending' \
         AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE NOT active)",
    )
    .execute(conn)?;
    let lock = if conn.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1 WHERE seq IN ( \
           SELECT d.seq FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= $2 \
           AND (d.locked_until IS NULL OR d.locked_until <= $2) \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
                           AND p.object_id = d.object_id AND p.status = 'pending' AND p.seq < d.seq) \
           ORDER BY d.seq LIMIT $3{lock}) \
         RETURNING seq"
    );
    #[derive(QueryableByName)]
    struct Seq {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let seqs: Vec<Seq> = diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    let seqs: Vec<i64> = seqs.into_iter().map(|s| s.seq).collect();
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let mut claimed: Vec<Claimed> = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let c: Claimed = diesel::sql_query(
            "SELECT d.seq, d.id, d.payload, d.attempts, e.url, e.secret, e.previous_secret, e.previous_until \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.seq = $1",
        )
        .bind::<BigInt, _>(seq)
        .get_result(conn)?;
        claimed.push(c);
    }
    claimed.sort_by_key(|c| c.seq);
    Ok(claimed)
}

/// Gives back claimed deliveries not tried (the process is stopping), with their attempt.
pub fn release(conn: &mut DbConnection, seqs: &[i64]) -> Result<usize, AppError> {
    if seqs.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::seq.eq_any(seqs))
            .filter(webhook_deliveries::status.eq("pending")),
    )
    .set((
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts - 1),
    ))
    .execute(conn)?)
}

/// Records a delivery's outcome: `delivered`, or another try at `retry_at` (`None`: give up,
/// `failed`).
pub fn record(
    conn: &mut DbConnection,
    seq: i64,
    delivered: bool,
    status_code: Option<i32>,
    error: Option<&str>,
    retry_at: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let status = match (delivered, retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    diesel::update(webhook_deliveries::table.find(seq))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status_code.eq(status_code),
            webhook_deliveries::last_error.eq(error.map(|e| e.chars().take(500).collect::<String>())),
            webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or(at)),
            webhook_deliveries::delivered_at.eq(delivered.then_some(at)),
        ))
        .execute(conn)?;
    Ok(())
}
