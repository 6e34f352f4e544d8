//! Counters that the reports and the outbox stats read instead of counting every registration and
//! every email (issue 13: on a million registrations a report counted them all, 200 ms).
//!
//! Triggers on `registrations` and `outbox` (migration `2026-12-07-001001_rollups`) append a
//! signed change to a delta table in the transaction that inserts, deletes or changes the status
//! of a row. Appending never waits for a lock that another registration holds, so the counters
//! cost the seat shards nothing, and no code path can forget them. [`fold`] (run by the
//! scheduler) moves the deltas into one row per (event, status) and per outbox status; readers add
//! the folded rows and the deltas not folded yet, in one statement (one snapshot, even under
//! `READ COMMITTED`), so every figure is exact whenever it is read.
//!
//! Folding is safe beside writers and beside other processes folding: on PostgreSQL the deltas
//! are taken with `FOR UPDATE SKIP LOCKED` and deleted in the statement that adds them up (a delta
//! committed meanwhile is not taken, so it is not lost), and the counter rows are updated in key
//! order (two folds cannot deadlock). On SQLite a write transaction holds the only write lock.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::auth::scope::EventScope;
use crate::auth::Actor;
use crate::db::schema::{outbox_count_deltas, registration_count_deltas};
use crate::db::{write_tx, Db, DbConnection};
use crate::domain::{OutboxStatus, RegistrationStatus};
use crate::error::AppError;

/// Deltas folded per transaction: a fold holds its locks briefly even after a bulk load.
pub const FOLD_BATCH: i64 = 10_000;

/// Folds every delta there is, a batch per transaction, and records the reports' counters of the
/// events that changed ([`crate::reports::rollup::fold`]); returns how many batches did
/// something. Stops after 1,000 batches (ten million deltas) so a pass always ends; the next pass
/// goes on.
pub fn fold(db: &Db) -> Result<usize, AppError> {
    let mut conn = db.get()?;
    let mut batches = 0;
    for _ in 0..1_000 {
        let worked = write_tx(&mut conn, |c| {
            let touched = fold_registrations(c)?;
            let outbox = fold_outbox(c)?;
            let events = crate::reports::rollup::fold(c, &touched)?;
            Ok(touched.len() + outbox + events)
        })?;
        if worked == 0 {
            break;
        }
        batches += 1;
    }
    Ok(batches)
}

/// One batch of registration deltas into `registration_counts`; returns the events whose counts
/// changed (none: there was nothing to fold).
fn fold_registrations(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    #[derive(QueryableByName)]
    struct Touched {
        #[diesel(sql_type = Text)]
        event_id: String,
    }
    let touched: Vec<Touched> = if conn.is_postgres() {
        diesel::sql_query(
            "WITH taken AS (
                 DELETE FROM registration_count_deltas WHERE id IN (
                     SELECT id FROM registration_count_deltas ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                 RETURNING event_id, status, delta)
             INSERT INTO registration_counts (event_id, status, n)
             SELECT event_id, status, SUM(delta) FROM taken GROUP BY event_id, status ORDER BY event_id, status
             ON CONFLICT (event_id, status) DO UPDATE SET n = registration_counts.n + excluded.n
             RETURNING event_id",
        )
        .bind::<BigInt, _>(FOLD_BATCH)
        .load(conn)?
    } else {
        let Some(last) = last_of_batch(conn, "registration_count_deltas", FOLD_BATCH)? else { return Ok(Vec::new()) };
        let touched = diesel::sql_query("SELECT DISTINCT event_id FROM registration_count_deltas WHERE id <= $1")
            .bind::<BigInt, _>(last)
            .load(conn)?;
        diesel::sql_query(
            "INSERT INTO registration_counts (event_id, status, n)
             SELECT event_id, status, SUM(delta) FROM registration_count_deltas WHERE id <= $1
             GROUP BY event_id, status
             ON CONFLICT (event_id, status) DO UPDATE SET n = n + excluded.n",
        )
        .bind::<BigInt, _>(last)
        .execute(conn)?;
        diesel::delete(registration_count_deltas::table.filter(registration_count_deltas::id.le(last)))
            .execute(conn)?;
        touched
    };
    let ids: std::collections::BTreeSet<String> = touched.into_iter().map(|t| t.event_id).collect();
    Ok(ids.into_iter().collect())
}

/// One batch of outbox deltas into `outbox_counts`, as [`fold_registrations`].
fn fold_outbox(conn: &mut DbConnection) -> Result<usize, AppError> {
    if conn.is_postgres() {
        Ok(diesel::sql_query(
            "WITH taken AS (
                 DELETE FROM outbox_count_deltas WHERE id IN (
                     SELECT id FROM outbox_count_deltas ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                 RETURNING status, delta)
             INSERT INTO outbox_counts (status, n)
             SELECT status, SUM(delta) FROM taken GROUP BY status ORDER BY status
             ON CONFLICT (status) DO UPDATE SET n = outbox_counts.n + excluded.n",
        )
        .bind::<BigInt, _>(FOLD_BATCH)
        .execute(conn)?)
    } else {
        let Some(last) = last_of_batch(conn, "outbox_count_deltas", FOLD_BATCH)? else { return Ok(0) };
        let n = diesel::sql_query(
            "INSERT INTO outbox_counts (status, n)
             SELECT status, SUM(delta) FROM outbox_count_deltas WHERE id <= $1 GROUP BY status
             ON CONFLICT (status) DO UPDATE SET n = n + excluded.n",
        )
        .bind::<BigInt, _>(last)
        .execute(conn)?;
        diesel::delete(outbox_count_deltas::table.filter(outbox_count_deltas::id.le(last))).execute(conn)?;
        Ok(n.max(1))
    }
}

/// SQLite: the id of the last row of the next batch of `batch` rows of `table` (`None`: empty).
pub(crate) fn last_of_batch(conn: &mut DbConnection, table: &'static str, batch: i64) -> Result<Option<i64>, AppError> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        last: Option<i64>,
    }
    let row: Last = diesel::sql_query(format!(
        "SELECT MAX(id) AS last FROM (SELECT id FROM {table} ORDER BY id LIMIT $1) AS batch"
    ))
    .bind::<BigInt, _>(batch)
    .get_result(conn)?;
    Ok(row.last)
}

/// Registrations per (event, status) of the events the actor may see, exact at this moment.
/// Pairs whose count is zero are absent. The scope is [`crate::auth::scope::registrations_filter`]'s,
/// written in SQL here (see [`registration_counts_where`] for why one statement).
pub fn registration_counts(conn: &mut DbConnection, actor: &Actor) -> Result<RegistrationCounts, AppError> {
    match actor.event_scope() {
        EventScope::All => registration_counts_where(conn, |_| "1 = 1".to_string(), &[]),
        EventScope::HostedBy(org) => registration_counts_where(
            conn,
            |n| format!("event_id IN (SELECT event_id FROM event_hosts WHERE organization_id = ${n})"),
            &[org],
        ),
        EventScope::Nothing => Ok(RegistrationCounts::new()),
    }
}

/// Registrations per (event, status) of these events, as [`registration_counts`]. The caller has
/// scoped the events.
pub fn registration_counts_of(conn: &mut DbConnection, event_ids: &[String]) -> Result<RegistrationCounts, AppError> {
    if event_ids.is_empty() {
        return Ok(RegistrationCounts::new());
    }
    let k = event_ids.len();
    registration_counts_where(
        conn,
        |first| format!("event_id IN ({})", (first..first + k).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")),
        event_ids,
    )
}

/// Registrations per (event id, status).
pub type RegistrationCounts = HashMap<(String, RegistrationStatus), i64>;

/// The folded rows and the pending deltas that match `condition` (given the number of its first
/// bind parameter; it uses as many as `binds` has), in one statement: one snapshot on PostgreSQL,
/// where a read transaction is `READ COMMITTED` and two statements could straddle a fold and miss
/// or double its deltas. The deltas are added up per key in the statement.
fn registration_counts_where(
    conn: &mut DbConnection,
    condition: impl Fn(usize) -> String,
    binds: &[String],
) -> Result<RegistrationCounts, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        event_id: String,
        #[diesel(sql_type = Text)]
        status: RegistrationStatus,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = format!(
        "SELECT event_id, status, n FROM registration_counts WHERE {} \
         UNION ALL SELECT event_id, status, CAST(SUM(delta) AS BIGINT) AS n FROM registration_count_deltas WHERE {} \
         GROUP BY event_id, status",
        condition(1),
        condition(1 + binds.len())
    );
    let mut q = diesel::sql_query(sql).into_boxed();
    for b in binds.iter().chain(binds) {
        q = q.bind::<Text, _>(b.clone());
    }
    let rows: Vec<Row> = q.load(conn)?;
    Ok(add_up(rows.into_iter().map(|r| ((r.event_id, r.status), r.n))))
}

/// Outbox rows per status, exact at this moment; statuses with no row are absent. One statement,
/// as [`registration_counts_where`].
pub fn outbox_counts(conn: &mut DbConnection) -> Result<HashMap<OutboxStatus, i64>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        status: OutboxStatus,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT status, n FROM outbox_counts \
         UNION ALL SELECT status, CAST(SUM(delta) AS BIGINT) AS n FROM outbox_count_deltas GROUP BY status",
    )
    .load(conn)?;
    Ok(add_up(rows.into_iter().map(|r| (r.status, r.n))))
}

/// Folded counts plus pending deltas, without the keys that come to zero.
fn add_up<K: std::hash::Hash + Eq>(parts: impl Iterator<Item = (K, i64)>) -> HashMap<K, i64> {
    let mut out: HashMap<K, i64> = HashMap::new();
    for (key, n) in parts {
        *out.entry(key).or_default() += n;
    }
    out.retain(|_, n| *n != 0);
    out
}
