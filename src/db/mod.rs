//! Database access: the one connection type for both backends, the pool, migrations and the
//! transaction helpers every query goes through.
//!
//! `DATABASE_URL` picks the backend: `postgres://` or `postgresql://` is PostgreSQL, anything else is
//! a SQLite file (`sqlite://roadshow.db`, `sqlite:///abs/path.db`, or a bare path). The pool's
//! connection manager dispatches on that choice itself so a bad URL fails with the real cause (the
//! derived `MultiConnection::establish` would try each backend and lose the error).
//!
//! Faults heal by themselves. A connection is never handed back to the pool in a state the next
//! user could trip over: one left inside a transaction (a closure that panicked, a rollback that
//! failed), one whose transaction manager is broken, or one that lost its server (diesel marks
//! those broken) is closed instead, and closing it rolls back whatever it held. After the database
//! dropped its sessions (a restart, `pg_terminate_backend`), the first failure marks the pool
//! suspect for a few seconds, during which every checkout is tried with `SELECT 1` first, so the
//! dead idle connections are weeded out at once instead of failing one request each; and
//! [`Db::write_retrying`] runs a transaction that lost its connection again on a live one (unless
//! the loss came during `COMMIT`, when it may have committed).
//!
//! Every query runs on both engines through this one connection type, which holds only under the
//! rules in ARCHITECTURE.md ("Two engines, one code path"): the URL picks the engine, SQLite gets
//! its pragmas on every connection and `BEGIN IMMEDIATE` for writes, columns use only the shared
//! SQL types, and the backend-only DSL is replaced by SQL both accept or a `match` on the variant.

pub mod schema;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
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

    /// Called as each connection comes back. Diesel's own manager does the same: a connection
    /// released by a panicking thread may be mid-transaction (the unwinding skipped the rollback);
    /// `is_broken` is true when the transaction manager is in error, still inside a transaction, or
    /// the server connection was lost. Dropping it closes it, which rolls back what it held.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type PooledConn = PooledConnection<ConnectionManager>;

/// The pool plus the one door to it from async code.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    postgres: bool,
    /// Until when (Unix ms) checkouts are tried before use, after a connection was found lost.
    suspect_until: Arc<AtomicI64>,
    /// Transactions [`Db::write_retrying`] ran again, by reason (see [`Db::transient_retries`]).
    retries: Arc<RetryCounters>,
    /// Bumped after each database call that changed public data ([`public_data_changed`]).
    public_generation: Arc<AtomicU64>,
}

thread_local! {
    /// Set by [`public_data_changed`] on the thread running a database call; read and cleared by
    /// [`Db`] once the call (and so its transaction) is over.
    static PUBLIC_CHANGE_PENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Notes, inside a database call, that something the public event pages show changes (an event,
/// its seats). When the call returns (its transaction committed or rolled back), the [`Db`] that
/// ran it bumps its [`Db::public_generation`], so this app's public read cache starts over after
/// the change is visible, never before: a read racing the transaction cannot cache the old state
/// under the new generation. Calls made outside [`Db::run`] / [`Db::write_retrying`] (background
/// workers on their own threads) reach the cache when its entries expire, like other processes'.
pub fn public_data_changed() {
    PUBLIC_CHANGE_PENDING.with(|p| p.set(true));
}

fn take_public_change() -> bool {
    PUBLIC_CHANGE_PENDING.with(|p| p.replace(false))
}

/// How many times [`Db::write_retrying`] ran a transaction again, by reason. A retry is invisible
/// to the client, so this is how tests (and operators, through the `WARN` log line each retry
/// writes) see that a deadlock or a lock timeout happened at all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TransientRetries {
    /// PostgreSQL `deadlock detected`.
    pub deadlock: u64,
    /// PostgreSQL `could not serialize access`.
    pub serialization: u64,
    /// SQLite `database is locked` / `database is busy` (the busy timeout ran out).
    pub locked: u64,
    /// The connection to the server was lost (run again on a live one).
    pub connection_lost: u64,
}

impl TransientRetries {
    pub fn total(&self) -> u64 {
        self.deadlock + self.serialization + self.locked + self.connection_lost
    }
}

#[derive(Debug, Default)]
struct RetryCounters {
    deadlock: AtomicU64,
    serialization: AtomicU64,
    locked: AtomicU64,
    connection_lost: AtomicU64,
}

/// Why a failure is transient ([`is_transient`]), for the retry counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientKind {
    Deadlock,
    Serialization,
    Locked,
    ConnectionLost,
}

impl TransientKind {
    /// The reason `err` may be retried, or `None` when it may not.
    pub fn of(err: &AppError) -> Option<TransientKind> {
        if is_connection_lost(err) {
            return Some(TransientKind::ConnectionLost);
        }
        match err {
            AppError::Unavailable(m) if m.contains("deadlock") => Some(TransientKind::Deadlock),
            AppError::Unavailable(m) if m.contains("could not serialize") => Some(TransientKind::Serialization),
            AppError::Unavailable(m) if m.contains("database is locked") || m.contains("database is busy") => {
                Some(TransientKind::Locked)
            }
            _ => None,
        }
    }
}

/// How long checkouts are tried first after a lost connection: long enough to meet every idle
/// connection of the pool, short enough to cost nothing in normal running.
const SUSPECT_FOR: Duration = Duration::from_secs(5);

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
        Ok(Db {
            pool,
            postgres,
            suspect_until: Arc::new(AtomicI64::new(0)),
            retries: Arc::default(),
            public_generation: Arc::default(),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// How many transactions [`Db::write_retrying`] has run again so far, by reason (this pool
    /// and its clones only).
    pub fn transient_retries(&self) -> TransientRetries {
        let r = &self.retries;
        TransientRetries {
            deadlock: r.deadlock.load(Ordering::Relaxed),
            serialization: r.serialization.load(Ordering::Relaxed),
            locked: r.locked.load(Ordering::Relaxed),
            connection_lost: r.connection_lost.load(Ordering::Relaxed),
        }
    }

    /// The generation of this app's public data: it changes after every committed change of it.
    pub fn public_generation(&self) -> u64 {
        self.public_generation.load(Ordering::SeqCst)
    }

    /// Runs `f` (a database call) and bumps the public generation after it if it noted a change.
    fn noting_public_changes<T>(&self, f: impl FnOnce() -> T) -> T {
        take_public_change();
        let out = f();
        if take_public_change() {
            self.public_generation.fetch_add(1, Ordering::SeqCst);
        }
        out
    }

    fn count_retry(&self, kind: TransientKind) {
        let r = &self.retries;
        let counter = match kind {
            TransientKind::Deadlock => &r.deadlock,
            TransientKind::Serialization => &r.serialization,
            TransientKind::Locked => &r.locked,
            TransientKind::ConnectionLost => &r.connection_lost,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection for synchronous callers (CLI, workers on their own threads). While the pool is
    /// suspect (a connection was lost moments ago), this is [`Db::get_live`].
    pub fn get(&self) -> Result<PooledConn, AppError> {
        if self.suspect_until.load(Ordering::Relaxed) > unix_ms() {
            return self.get_live();
        }
        self.checkout()
    }

    fn checkout(&self) -> Result<PooledConn, AppError> {
        let started = std::time::Instant::now();
        let conn = self.pool.get().map_err(|e| AppError::Unavailable(e.to_string()));
        crate::metrics::record_pool_wait(started.elapsed());
        conn
    }

    /// A connection that has just answered `SELECT 1`. Dead ones met on the way are dropped (the
    /// failed query marks them broken, so the pool closes them); at most one more try than the
    /// pool holds, after which the server itself is taken to be unreachable.
    pub fn get_live(&self) -> Result<PooledConn, AppError> {
        let mut last = None;
        for _ in 0..=self.pool.max_size() {
            let mut conn = self.checkout()?;
            match conn.batch_execute("SELECT 1") {
                Ok(()) => return Ok(conn),
                Err(e) => last = Some(AppError::from(e)),
            }
        }
        Err(last.unwrap_or_else(|| AppError::Unavailable("no live database connection".into())))
    }

    /// Notes a failure: a lost connection makes the pool suspect (see the module docs).
    fn observe<T>(&self, result: &Result<T, AppError>) {
        if let Err(e) = result {
            if is_connection_lost(e) {
                let until = unix_ms() + SUSPECT_FOR.as_millis() as i64;
                self.suspect_until.fetch_max(until, Ordering::Relaxed);
            }
        }
    }

    /// Whether the database answers, on a live connection (`/readyz`).
    pub fn check(&self) -> Result<(), AppError> {
        let result = self.get_live().map(drop);
        self.observe(&result);
        result
    }

    /// Runs `f` with a pooled connection on actix's blocking threads. No transaction is opened:
    /// use [`Db::read`] or [`Db::write`] unless the closure manages its own.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        // A panic in `f` unwinds out of the closure here: the connection goes back to the pool while
        // the thread is panicking and is closed (see `has_broken`), and the caller gets a 500.
        block_in_span(move || {
            db.noting_public_changes(|| {
                let result = db.get().and_then(|mut conn| f(&mut conn));
                db.observe(&result);
                result
            })
        })
        .await
    }

    /// Runs `f` inside a read transaction: one snapshot on SQLite; on PostgreSQL `READ COMMITTED`,
    /// so each statement sees its own snapshot (what must agree is read in one statement, as
    /// `crate::rollups` does).
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| conn.transaction(f)).await
    }

    /// Like [`Db::write`], running the whole transaction again (up to three times) when it failed
    /// for a transient reason ([`is_transient`]). For the hot public paths.
    ///
    /// A lost connection is retried on a live one ([`Db::get_live`]), unless it was lost during
    /// `COMMIT`: then the transaction may have committed, and running it again could do it twice.
    pub async fn write_retrying<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        block_in_span(move || db.write_retrying_blocking(f)).await
    }

    /// [`Db::write_retrying`] on the calling thread (a blocking one: inside [`block_in_span`]), so
    /// that a caller can run two transactions one after the other in one blocking hop.
    pub fn write_retrying_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConnection) -> Result<T, AppError>,
    {
        let db = self;
        db.noting_public_changes(|| {
            let mut conn = db.get()?;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let (result, at_commit) = write_tx_at(&mut conn, &f);
                db.observe(&result);
                let kind = result.as_ref().err().and_then(TransientKind::of);
                match (result, kind) {
                    (Err(e), Some(kind)) if attempt < 3 && !(at_commit && kind == TransientKind::ConnectionLost) => {
                        db.count_retry(kind);
                        tracing::warn!(attempt, ?kind, error = %e, "transient database failure; retrying the transaction");
                        if is_connection_lost(&e) {
                            // Dropped broken, this one is closed by the pool.
                            drop(conn);
                            conn = db.get_live()?;
                        } else {
                            std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
                        }
                    }
                    (other, _) => return other,
                }
            }
        })
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

/// Runs `f` on actix's blocking threads inside the caller's tracing span, so what the database work
/// logs carries the request's id like every other line of the request (a blocking thread has no
/// span of its own).
pub async fn block_in_span<T, F>(f: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    actix_web::web::block(move || span.in_scope(f))
        .await
        .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}

/// Whether a failed transaction may simply be run again: PostgreSQL serialization failures and
/// deadlocks, SQLite busy timeouts, and a connection lost to a database restart (run again on a
/// live connection; not when lost at `COMMIT`, see [`Db::write_retrying`]). Nothing of the failed
/// attempt was committed.
pub fn is_transient(err: &AppError) -> bool {
    TransientKind::of(err).is_some()
}

/// Whether the error says the connection to the server is gone (the server restarted, or ended
/// the session: `pg_terminate_backend`, an administrator's shutdown). Such a connection is broken
/// for good; the pool closes it when it comes back.
pub fn is_connection_lost(err: &AppError) -> bool {
    const SIGNS: [&str; 7] = [
        crate::error::CONNECTION_LOST,
        "server closed the connection unexpectedly",
        "terminating connection due to administrator command",
        "no connection to the server",
        "connection to server was lost",
        "could not receive data from server",
        "SSL connection has been closed unexpectedly",
    ];
    matches!(err, AppError::Unavailable(m) if SIGNS.iter().any(|s| m.contains(s)))
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs `f` in a transaction that will write. On SQLite it begins `IMMEDIATE`, taking the write lock
/// up front: a deferred transaction that reads and then writes fails with "database is locked"
/// instead of waiting when another writer got in between. On PostgreSQL it is a plain transaction.
pub fn write_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    write_tx_at(conn, f).0
}

/// [`write_tx`], also telling whether a failure came from `COMMIT` itself.
fn write_tx_at<T, F>(conn: &mut DbConnection, f: F) -> (Result<T, AppError>, bool)
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    let begun = match conn {
        DbConnection::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE"),
        DbConnection::Postgres(_) => Tm::begin_transaction(conn),
    };
    if let Err(e) = begun {
        return (Err(e.into()), false);
    }
    match f(conn) {
        Ok(value) => match Tm::commit_transaction(conn) {
            Ok(()) => (Ok(value), false),
            Err(e) => (Err(e.into()), true),
        },
        Err(err) => {
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            (Err(err), false)
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

/// [`cached`] for a statement whose SQL text is fixed at its call site (a literal, or one literal
/// per backend): the connection finds its prepared statement by a type made for that call site
/// (see [`fixed_statement!`](crate::fixed_statement)) instead of by its text. Diesel keys a
/// statement without a static query id by its SQL text, so on every run it writes the text out
/// again and hashes it (SipHash) to look it up, about 3,600 instructions a statement on the
/// registration's path (callgrind, README "The server's CPU per registration"); by a type, the
/// lookup hashes a `TypeId`.
///
/// The same rule as [`cached`] for running it (`load` / `get_result`, not `execute`). Never for text
/// that can differ from run to run at one call site: the later text would run the statement
/// prepared for the first.
pub struct Fixed<Site, Q> {
    query: Q,
    site: std::marker::PhantomData<Site>,
}

impl<Site, Q> Fixed<Site, Q> {
    #[doc(hidden)]
    pub fn new(query: Q) -> Fixed<Site, Q> {
        Fixed { query, site: std::marker::PhantomData }
    }
}

/// Wraps a statement in [`Fixed`] under a type of this call site's own (each expansion makes a new
/// one, so two call sites never share a prepared statement).
#[macro_export]
macro_rules! fixed_statement {
    ($query:expr) => {{
        enum Site {}
        $crate::db::Fixed::<Site, _>::new($query)
    }};
}

impl<Site, Q, DB> diesel::query_builder::QueryFragment<DB> for Fixed<Site, Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Site: 'static, Q> diesel::query_builder::QueryId for Fixed<Site, Q> {
    type QueryId = Site;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Site, Q: diesel::query_builder::Query> diesel::query_builder::Query for Fixed<Site, Q> {
    type SqlType = Q::SqlType;
}

impl<Site, Q, Conn> RunQueryDsl<Conn> for Fixed<Site, Q> {}
