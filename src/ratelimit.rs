//! Rate limiting of public writes per client address, kept in the database (fixed one-minute
//! windows) so that every process behind a load balancer shares the count.
//! `ROADSHOW_RATE_LIMIT_PER_MINUTE=0` turns it off.

use actix_web::HttpRequest;
use chrono::{DurationRound, Timelike};
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
pub fn hit(conn: &mut DbConnection, bucket: &str, window_start: chrono::NaiveDateTime) -> Result<i32, AppError> {
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

/// Refuses (429 with `Retry-After`) a client over its per-minute allowance of public writes.
pub async fn check(req: &HttpRequest, db: &Db, config: &Config) -> Result<(), AppError> {
    let limit = config.rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let addr = crate::http::client_addr(req, config.trust_proxy);
    let now = chrono::Utc::now();
    let window = now.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(now);
    let window_db = crate::db::to_db_time(window);
    let bucket = format!("public-write:{addr}");
    let hits = db.write(move |c| hit(c, &bucket, window_db)).await?;
    if hits as u32 > limit {
        let retry = 60 - u64::from(now.second());
        return Err(AppError::TooManyRequests { retry_after_secs: retry.max(1) });
    }
    Ok(())
}
