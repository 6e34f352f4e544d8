//! Database access: the one connection type for both backends, the pool, migrations and the
//! transaction helpers every query goes through.
//!
//! `DATABASE_URL` picks the backend: `postgres://` or `postgresql://` is PostgreSQL, anything else is
//! a SQLite file (`sqlite://roadshow.db`, `sqlite:///abs/path.db`, or a bare path). The pool's
//! connection manager dispatches on that choice itself so a bad URL fails with the real cause (the
//! derived `MultiConnection::establish` would try each backend and lose the error).

pub mod schema;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

/// One connection type, one query code path: queries are written once against this enum's backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl DbConnection {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbConnection::Postgres(_))
    }
}

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Which engine a URL names, and what to hand that engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Postgres(String),
    Sqlite(String),
}

impl DatabaseTarget {
    /// Reads a `DATABASE_URL`. A `postgres:` URL without `//` is an error rather than a SQLite file
    /// of that odd name.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres(url.to_string()));
        }
        if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
            return Err("a PostgreSQL URL must look like postgres://user@host:5432/dbname".into());
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else if url.contains("://") {
            return Err(format!(
                "unsupported scheme in {:?}: use postgres://… or sqlite://path",
                url.split("://").next().unwrap_or_default()
            ));
        } else {
            url
        };
        if path.is_empty() {
            return Err("the SQLite path is empty (e.g. sqlite://roadshow.db)".into());
        }
        Ok(DatabaseTarget::Sqlite(path.to_string()))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseTarget::Postgres(_))
    }
}

/// Why a pooled connection could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// r2d2 manager that knows which backend to open (see module docs).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DatabaseTarget,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        match &self.target {
            DatabaseTarget::Postgres(url) => Ok(DbConnection::Postgres(diesel::PgConnection::establish(url)?)),
            DatabaseTarget::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)?;
                // Order matters: busy_timeout first so the WAL switch itself waits for a lock.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledConn = PooledConnection<ConnectionManager>;

/// The pool plus the one door to it from async code.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    postgres: bool,
}

impl Db {
    /// Opens the pool and checks one connection, so a bad URL or a down server fails here with the
    /// real cause.
    pub fn connect(url: &str, max_size: u32) -> Result<Db, String> {
        // Initialise OpenSSL (linked into libpq) before libpq does, without its exit handler: at
        // process exit that handler frees OpenSSL's global state while pooled connections on other
        // threads may still be closing their TLS sessions ("double free" aborts seen in tests).
        openssl_sys::init();
        let target = DatabaseTarget::parse(url)?;
        let postgres = target.is_postgres();
        let manager = ConnectionManager { target };
        // Check one connection by hand first: r2d2 would retry for `connection_timeout` and then
        // report only "timed out".
        r2d2::ManageConnection::connect(&manager).map_err(|e| e.to_string())?;
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| e.to_string())?;
        Ok(Db { pool, postgres })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// A connection for synchronous callers (CLI, workers on their own threads).
    pub fn get(&self) -> Result<PooledConn, AppError> {
        self.pool.get().map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// Runs `f` with a pooled connection on actix's blocking threads. No transaction is opened:
    /// use [`Db::read`] or [`Db::write`] unless the closure manages its own.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
    }

    /// Runs `f` inside a read transaction (a consistent snapshot on both engines).
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| conn.transaction(f)).await
    }

    /// Like [`Db::write`], running the whole transaction again (up to three times) when it failed
    /// for a transient reason ([`is_transient`]). For the hot public paths.
    pub async fn write_retrying<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match write_tx(conn, &f) {
                    Err(e) if attempt < 3 && is_transient(&e) => {
                        tracing::warn!(attempt, error = %e, "transient database failure; retrying the transaction");
                        std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
                    }
                    other => return other,
                }
            }
        })
        .await
    }

    /// Runs `f` inside a write transaction (`BEGIN IMMEDIATE` on SQLite, see [`write_tx`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_tx(conn, f)).await
    }
}

/// Whether a failed transaction may simply be run again: PostgreSQL serialization failures and
/// deadlocks, SQLite busy timeouts. Nothing of the failed attempt was committed.
pub fn is_transient(err: &AppError) -> bool {
    matches!(err, AppError::Unavailable(m) if m.contains("deadlock") || m.contains("could not serialize")
        || m.contains("database is locked") || m.contains("database is busy"))
}

/// Runs `f` in a transaction that will write. On SQLite it begins `IMMEDIATE`, taking the write lock
/// up front: a deferred transaction that reads and then writes fails with "database is locked"
/// instead of waiting when another writer got in between. On PostgreSQL it is a plain transaction.
pub fn write_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?,
        DbConnection::Postgres(_) => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

/// Applies every pending migration of the connection's backend. Returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, String> {
    let applied = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(PG_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| format!("migration failed: {e}"))?;
    Ok(applied.len())
}

/// `now()` as stored: UTC, truncated to microseconds so values compare equal after a round trip
/// through either engine.
pub fn now() -> chrono::NaiveDateTime {
    to_db_time(chrono::Utc::now())
}

/// An instant as stored in a `Timestamp` column (UTC, microsecond precision).
pub fn to_db_time(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Timelike};
    let t = t.naive_utc();
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or_else(|| t.trunc_subsecs(6))
}

/// A stored `Timestamp` back as a UTC instant.
pub fn from_db_time(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_naive_utc_and_offset(t, chrono::Utc)
}

/// A fresh random id in the text form stored in every `id` column.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both engines.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert!(matches!(DatabaseTarget::parse("postgres://u@h/db"), Ok(DatabaseTarget::Postgres(_))));
        assert!(matches!(DatabaseTarget::parse("postgresql://u@h/db"), Ok(DatabaseTarget::Postgres(_))));
        assert_eq!(DatabaseTarget::parse("sqlite://roadshow.db"), Ok(DatabaseTarget::Sqlite("roadshow.db".into())));
        assert_eq!(DatabaseTarget::parse("sqlite:///tmp/x.db"), Ok(DatabaseTarget::Sqlite("/tmp/x.db".into())));
        assert_eq!(DatabaseTarget::parse("data/x.db"), Ok(DatabaseTarget::Sqlite("data/x.db".into())));
        assert!(DatabaseTarget::parse("postgres:mydb").is_err());
        assert!(DatabaseTarget::parse("mysql://h/db").is_err());
        assert!(DatabaseTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn stored_times_have_microsecond_precision() {
        let t = now();
        assert_eq!(t.and_utc().timestamp_subsec_nanos() % 1_000, 0);
    }
}

/// A hand-written statement ([`diesel::sql_query`]) that the connection may keep prepared.
///
/// Diesel prepares a `sql_query` afresh on every run, since it cannot know the text is fixed; and
/// it does the same for inserts with optional columns (`NULL` becomes `DEFAULT`, so the text
/// varies). Wrapped in `cached`, the statement is cached under its SQL text and bind types, so a
/// different text is a different statement and caching is always correct. PostgreSQL then skips
/// parsing and planning on every later run. Use it only for statements whose text comes from a
/// small fixed set (never for text built from data, such as `IN` lists of varying length), since
/// each distinct text stays cached for the connection's life.
///
/// Run it with `load` / `get_result` (give an `INSERT` a `RETURNING` clause), not `execute`: diesel
/// passes an executed query on by reference, and its `&T` wrapper judges cacheability by walking
/// the inner statement again, which says "do not cache" (see the test
/// `foundation::hand_written_statements_stay_prepared`).
pub fn cached<Q>(query: Q) -> Cached<Q> {
    Cached(query)
}

/// See [`cached`].
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(Q);

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for Cached<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        // The cache key is the SQL text (QueryId is not static): see the type's docs.
        Ok(true)
    }
}

impl<Q> diesel::query_builder::QueryId for Cached<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}
