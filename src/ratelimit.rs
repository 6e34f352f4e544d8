//! Rate limiting of public writes per client address, kept in the database (fixed one-minute
//! windows) so that every process behind a load balancer shares the count.
//! `ROADSHOW_RATE_LIMIT_PER_MINUTE=0` turns it off.
//!
//! The client is the address [`crate::http::client_ip`] finds behind our trusted proxies, as a
//! bounded key: an IPv4 address, or the /64 network of an IPv6 one (one subscriber usually holds
//! a whole /64, so counting single IPv6 addresses would let one client spread over billions of
//! buckets).
//!
//! A refused request writes nothing. The window's count is read first (one SELECT, no
//! transaction) and only a request still under the limit increments it; a small per-process map
//! also remembers buckets already over their limit in the current window and refuses those without
//! asking the database at all. On SQLite every write takes the database's single writer lock, so
//! a flood of refused requests would otherwise queue ahead of real registrations. The database
//! stays the source of truth: the map only ever refuses what the database already counted as over.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, ResponseError};
use chrono::{DurationRound, NaiveDateTime, Timelike};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::config::Config;
use diesel::connection::SimpleConnection;

use crate::db::{cached, Db, DbConnection};
use crate::error::AppError;

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = Integer)]
    hits: i32,
}

/// Counts one hit for `bucket` in the window starting at `window_start`; returns the count so far.
/// Call inside a write transaction.
pub fn hit(conn: &mut DbConnection, bucket: &str, window_start: NaiveDateTime) -> Result<i32, AppError> {
    if conn.is_postgres() {
        // A hit lost to a crash costs nothing, so this transaction does not wait for its WAL
        // flush (one fsync less per public write).
        conn.batch_execute("SET LOCAL synchronous_commit TO OFF")?;
    }
    let rows: Vec<Hits> = cached(
        diesel::sql_query(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
        )
        .bind::<Text, _>(bucket)
        .bind::<Timestamp, _>(window_start),
    )
    .load(conn)?;
    if rand::random::<u8>() == 0 {
        // Now and then, forget windows that are over.
        use crate::db::schema::rate_limits;
        diesel::delete(
            rate_limits::table.filter(rate_limits::window_start.lt(window_start - chrono::Duration::minutes(2))),
        )
        .execute(conn)?;
    }
    Ok(rows.first().map(|r| r.hits).unwrap_or(1))
}

/// The hits counted so far for `bucket` in the window starting at `window_start` (0 when none).
/// A plain read: no transaction, no lock.
pub fn hits_so_far(conn: &mut DbConnection, bucket: &str, window_start: NaiveDateTime) -> Result<i32, AppError> {
    let rows: Vec<Hits> = cached(
        diesel::sql_query("SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2")
            .bind::<Text, _>(bucket)
            .bind::<Timestamp, _>(window_start),
    )
    .load(conn)?;
    Ok(rows.first().map(|r| r.hits).unwrap_or(0))
}

/// The rate-limit key of a client address: the address itself for IPv4, its /64 for IPv6.
/// Always short (at most 43 characters), whatever the request carried.
pub fn client_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let net = std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
            format!("{net}/64")
        }
        None => "unknown".into(),
    }
}

/// Middleware for the resources that take public writes ([`crate::routes::Router::limited`]): a
/// client over its limit gets 429 with `Retry-After` before its body is read.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let db = req.app_data::<actix_web::web::Data<Db>>().cloned();
    let config = req.app_data::<actix_web::web::Data<Config>>().cloned();
    let checked = match (db, config) {
        (Some(db), Some(config)) => check(req.request(), &db, &config).await,
        _ => Err(AppError::internal("database or configuration missing from app data")),
    };
    match checked {
        Ok(()) => next.call(req).await.map(ServiceResponse::map_into_left_body),
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

/// Refuses (429 with `Retry-After`) a client over its per-minute allowance of public writes.
pub async fn check(req: &HttpRequest, db: &Db, config: &Config) -> Result<(), AppError> {
    let limit = config.rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let key = client_key(crate::http::client_ip(req, &config.trusted_proxies));
    let now = config.clock.now();
    let window = now.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(now);
    let window_db = crate::db::to_db_time(window);
    let refuse = || {
        let retry = 60 - u64::from(now.second());
        AppError::TooManyRequests { retry_after_secs: retry.max(1) }
    };
    let bucket = format!("public-write:{key}");
    // Keyed by database too: tests run many services, each on its own database, in one process.
    let known = format!("{}\n{bucket}", config.database_url);
    if over::is_over(&known, window_db) {
        return Err(refuse());
    }
    let b = bucket.clone();
    let seen = db.run(move |c| hits_so_far(c, &b, window_db)).await?;
    if seen as u32 >= limit {
        over::mark(known, window_db);
        return Err(refuse());
    }
    let hits = db.write(move |c| hit(c, &bucket, window_db)).await?;
    if hits as u32 > limit {
        // Racing requests of one client may each have read a count under the limit; the
        // increment's answer settles who got in.
        over::mark(known, window_db);
        return Err(refuse());
    }
    Ok(())
}

/// Buckets known to be over their limit, with the window they are over in.
mod over {
    use super::*;

    /// Enough for a large flood of distinct clients; past it, old windows go first, then all.
    const MAX: usize = 50_000;

    static OVER: Mutex<Option<HashMap<String, NaiveDateTime>>> = Mutex::new(None);

    pub fn is_over(key: &str, window: NaiveDateTime) -> bool {
        let map = OVER.lock().unwrap_or_else(|e| e.into_inner());
        map.as_ref().and_then(|m| m.get(key)).is_some_and(|w| *w == window)
    }

    pub fn mark(key: String, window: NaiveDateTime) {
        let mut map = OVER.lock().unwrap_or_else(|e| e.into_inner());
        let map = map.get_or_insert_with(HashMap::new);
        if map.len() >= MAX {
            map.retain(|_, w| *w >= window);
            if map.len() >= MAX {
                map.clear();
            }
        }
        map.insert(key, window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_are_short_and_bucket_ipv6_by_64() {
        assert_eq!(client_key(Some("203.0.113.7".parse().unwrap())), "203.0.113.7");
        let a = client_key(Some("2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap()));
        let b = client_key(Some("2001:db8:1:2::1".parse().unwrap()));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b, "one /64 is one client");
        assert_ne!(a, client_key(Some("2001:db8:1:3::1".parse().unwrap())));
        assert_eq!(client_key(None), "unknown");
        let longest = client_key(Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()));
        assert!(longest.len() <= 43, "{longest}");
    }

    #[test]
    fn buckets_over_their_limit_are_remembered_for_their_window_only() {
        let w = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(3, 0, 0).unwrap();
        let key = format!("test-{}", uuid::Uuid::new_v4());
        assert!(!over::is_over(&key, w));
        over::mark(key.clone(), w);
        assert!(over::is_over(&key, w));
        assert!(!over::is_over(&key, w + chrono::Duration::minutes(1)));
    }
}
