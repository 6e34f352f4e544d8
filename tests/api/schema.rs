//! Guards on what is kept by hand: `src/db/schema.rs` must describe what the migrations build, on
//! both engines, and the two migration trees must hold the same versions.
//!
//! `diesel print-schema` cannot write the schema (it knows nothing of `MultiConnection`), so these
//! tests migrate a fresh database and compare it with the `table!` blocks of `src/db/schema.rs`,
//! table by table: column names, their order, their SQL type family, their nullability, and the
//! primary key. What the database holds on purpose beyond schema.rs is listed in [`DELIBERATE`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use roadshow::db::{run_migrations, DbConnection};

use crate::helpers::FreshPostgres;

/// Which engine a deliberate difference belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    Sqlite,
    Both,
}

/// The deliberate differences between the migrated database and `src/db/schema.rs`: tables
/// (`column: None`) and columns the migrations make that diesel never reads or writes. Anything
/// else that differs fails the test. Each entry says why it is left out of schema.rs.
const DELIBERATE: &[(Engine, &str, Option<&str>, &str)] = &[
    (Engine::Both, "__diesel_schema_migrations", None, "diesel_migrations' record of applied versions"),
    // The `q=` search on SQLite (migrations/sqlite/2026-12-01-000502_event_search): an FTS5 table
    // and its shadow tables, queried only by hand-written SQL in src/events/queries.rs.
    (Engine::Sqlite, "events_fts", None, "FTS5 index of event titles and descriptions"),
    (Engine::Sqlite, "events_fts_data", None, "FTS5 shadow table"),
    (Engine::Sqlite, "events_fts_idx", None, "FTS5 shadow table"),
    (Engine::Sqlite, "events_fts_docsize", None, "FTS5 shadow table"),
    (Engine::Sqlite, "events_fts_config", None, "FTS5 shadow table"),
    // The same for learning resources (migrations/sqlite/2026-12-07-001401_resources), searched by
    // src/resources/queries.rs.
    (Engine::Sqlite, "resources_fts", None, "FTS5 index of resource titles, summaries and bodies"),
    (Engine::Sqlite, "resources_fts_data", None, "FTS5 shadow table"),
    (Engine::Sqlite, "resources_fts_idx", None, "FTS5 shadow table"),
    (Engine::Sqlite, "resources_fts_docsize", None, "FTS5 shadow table"),
    (Engine::Sqlite, "resources_fts_config", None, "FTS5 shadow table"),
    (Engine::Sqlite, "resources", Some("search_rowid"), "the FTS5 row key of a resource, as for events"),
    (
        Engine::Sqlite,
        "events",
        Some("search_rowid"),
        "the FTS5 row key, set by a trigger on insert; only the search SQL and the triggers use it",
    ),
];

fn deliberate_table(engine: Engine, table: &str) -> bool {
    DELIBERATE.iter().any(|(e, t, c, _)| (*e == engine || *e == Engine::Both) && *t == table && c.is_none())
}

fn deliberate_column(engine: Engine, table: &str, column: &str) -> bool {
    DELIBERATE.iter().any(|(e, t, c, _)| (*e == engine || *e == Engine::Both) && *t == table && *c == Some(column))
}

/// One column as schema.rs states it: `name -> Type` or `name -> Nullable<Type>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    sql_type: String,
    nullable: bool,
}

#[derive(Debug, Default)]
struct Table {
    primary_key: Vec<String>,
    columns: Vec<Column>,
}

/// Reads the `diesel::table!` blocks of `src/db/schema.rs`. Strict on purpose: a line it does not
/// understand (an attribute, `#[sql_name]`, a comment inside a block) fails the test rather than
/// being skipped, so the comparison never silently covers less than diesel compiles.
fn schema_rs() -> BTreeMap<String, Table> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/schema.rs");
    let text = std::fs::read_to_string(&path).expect("read src/db/schema.rs");
    let mut tables = BTreeMap::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line != "diesel::table! {" {
            continue;
        }
        let head = lines.next().expect("a table name after `diesel::table! {`");
        let (name, rest) = head.split_once(" (").unwrap_or_else(|| panic!("cannot read the table line {head:?}"));
        let keys = rest.strip_suffix(") {").unwrap_or_else(|| panic!("cannot read the table line {head:?}"));
        let mut table =
            Table { primary_key: keys.split(',').map(|k| k.trim().to_string()).collect(), ..Table::default() };
        for line in lines.by_ref() {
            if line == "}" {
                break;
            }
            let (column, ty) = line
                .strip_suffix(',')
                .and_then(|l| l.split_once(" -> "))
                .unwrap_or_else(|| panic!("cannot read the column line {line:?} of table {name}"));
            let (sql_type, nullable) = match ty.strip_prefix("Nullable<").and_then(|t| t.strip_suffix('>')) {
                Some(inner) => (inner, true),
                None => (ty, false),
            };
            table.columns.push(Column { name: column.to_string(), sql_type: sql_type.to_string(), nullable });
        }
        assert_eq!(lines.next(), Some("}"), "table {name} closes its `table!` block");
        assert!(!table.columns.is_empty(), "table {name} has columns");
        assert!(tables.insert(name.to_string(), table).is_none(), "table {name} is declared once");
    }
    tables
}

/// Whether a database column type is what diesel's SQL type expects.
///
/// PostgreSQL: `information_schema.columns.data_type`, one name per diesel type. SQLite: the
/// declared type; an `INTEGER` column holds 64 bits there, so it also serves `BigInt`.
fn type_matches(engine: Engine, diesel: &str, declared: &str) -> bool {
    let declared = declared.to_ascii_lowercase();
    let accepted: &[&str] = match (engine, diesel) {
        (Engine::Postgres, "Text") => &["text", "character varying"],
        (Engine::Postgres, "Integer") => &["integer"],
        (Engine::Postgres, "BigInt") => &["bigint"],
        (Engine::Postgres, "SmallInt") => &["smallint"],
        (Engine::Postgres, "Bool") => &["boolean"],
        (Engine::Postgres, "Timestamp") => &["timestamp without time zone"],
        (Engine::Postgres, "Double") => &["double precision"],
        (Engine::Postgres, "Float") => &["real"],
        (Engine::Postgres, "Binary") => &["bytea"],
        (Engine::Sqlite, "Text") => &["text"],
        (Engine::Sqlite, "Integer") => &["integer"],
        (Engine::Sqlite, "BigInt") => &["integer", "bigint"],
        (Engine::Sqlite, "SmallInt") => &["smallint", "integer"],
        (Engine::Sqlite, "Bool") => &["boolean"],
        (Engine::Sqlite, "Timestamp") => &["timestamp"],
        (Engine::Sqlite, "Double") => &["double", "real"],
        (Engine::Sqlite, "Binary") => &["blob"],
        _ => &[],
    };
    accepted.contains(&declared.as_str())
}

/// One column as the database has it, in table order.
#[derive(Debug, QueryableByName)]
struct DbColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
    /// Position in the primary key (1-based), 0 when not part of it.
    #[diesel(sql_type = Integer)]
    key_position: i32,
}

#[derive(Debug, QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Compares the migrated database with schema.rs and returns every difference, one per line.
fn differences(engine: Engine, tables_in_db: Vec<String>, columns: Vec<DbColumn>) -> Vec<String> {
    let expected = schema_rs();
    let mut problems = Vec::new();
    let in_db: BTreeSet<String> = tables_in_db.into_iter().filter(|t| !deliberate_table(engine, t)).collect();
    for table in in_db.iter().filter(|t| !expected.contains_key(*t)) {
        problems.push(format!("table {table} is in the database but not in schema.rs"));
    }
    for (name, table) in &expected {
        if !in_db.contains(name) {
            problems.push(format!("table {name} is in schema.rs but the migrations do not make it"));
            continue;
        }
        let actual: Vec<&DbColumn> = columns
            .iter()
            .filter(|c| &c.table_name == name && !deliberate_column(engine, name, &c.column_name))
            .collect();
        let actual_names: Vec<&str> = actual.iter().map(|c| c.column_name.as_str()).collect();
        let expected_names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        if actual_names != expected_names {
            problems.push(format!(
                "table {name}: columns differ\n    schema.rs: {expected_names:?}\n    database:  {actual_names:?}"
            ));
            continue;
        }
        for (want, have) in table.columns.iter().zip(&actual) {
            if !type_matches(engine, &want.sql_type, &have.data_type) {
                problems.push(format!(
                    "{name}.{}: schema.rs says {} but the database column is {:?}",
                    want.name, want.sql_type, have.data_type
                ));
            }
            if want.nullable != have.nullable {
                let state = |n: bool| if n { "nullable" } else { "NOT NULL" };
                problems.push(format!(
                    "{name}.{}: schema.rs says {} but the database column is {}",
                    want.name,
                    state(want.nullable),
                    state(have.nullable)
                ));
            }
        }
        let mut key: Vec<&DbColumn> = actual.iter().copied().filter(|c| c.key_position > 0).collect();
        key.sort_by_key(|c| c.key_position);
        let key: Vec<&str> = key.iter().map(|c| c.column_name.as_str()).collect();
        if key != table.primary_key {
            problems.push(format!(
                "table {name}: primary key is {:?} in schema.rs but {key:?} in the database",
                table.primary_key
            ));
        }
    }
    problems
}

fn assert_no_differences(engine: Engine, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "src/db/schema.rs does not match what the {engine:?} migrations build (fix schema.rs, the migrations, \
         or, for a deliberate difference, DELIBERATE in tests/api/schema.rs):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
#[cfg_attr(not(roadshow_pg), ignore = "ROADSHOW_TEST_POSTGRES_URL is not set")]
fn schema_rs_matches_what_the_postgres_migrations_build() {
    let database = FreshPostgres::create();
    let mut conn = DbConnection::Postgres(diesel::PgConnection::establish(&database.url).expect("connect"));
    run_migrations(&mut conn).expect("migrations run");
    let DbConnection::Postgres(mut conn) = conn else { unreachable!() };
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .expect("list tables");
    let columns: Vec<DbColumn> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type, c.is_nullable = 'YES' AS nullable, \
                coalesce(k.ordinal_position, 0)::int AS key_position \
         FROM information_schema.columns c \
         LEFT JOIN information_schema.table_constraints t \
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
               AND t.constraint_type = 'PRIMARY KEY' \
         LEFT JOIN information_schema.key_column_usage k \
                ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name \
               AND k.table_name = c.table_name AND k.column_name = c.column_name \
         WHERE c.table_schema = 'public' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .load(&mut conn)
    .expect("list columns");
    let problems = differences(Engine::Postgres, tables.into_iter().map(|t| t.name).collect(), columns);
    assert_no_differences(Engine::Postgres, problems);
}

#[test]
fn schema_rs_matches_what_the_sqlite_migrations_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("schema.db");
    let mut conn =
        DbConnection::Sqlite(diesel::SqliteConnection::establish(path.to_str().unwrap()).expect("open SQLite"));
    run_migrations(&mut conn).expect("migrations run");
    let DbConnection::Sqlite(mut conn) = conn else { unreachable!() };
    // `sqlite_*` tables belong to SQLite itself (sqlite_sequence, sqlite_stat1).
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .load(&mut conn)
    .expect("list tables");
    let mut columns = Vec::new();
    for table in &tables {
        // A primary-key column that is not INTEGER may hold NULL in SQLite (a historical quirk), so
        // `notnull` is 0 for `id TEXT PRIMARY KEY`; diesel (and every insert here) treats key
        // columns as NOT NULL, and so does this comparison.
        let rows: Vec<DbColumn> = diesel::sql_query(
            "SELECT ? AS table_name, name AS column_name, type AS data_type, \
                    (\"notnull\" = 0 AND pk = 0) AS nullable, pk AS key_position \
             FROM pragma_table_info(?) ORDER BY cid",
        )
        .bind::<Text, _>(&table.name)
        .bind::<Text, _>(&table.name)
        .load(&mut conn)
        .expect("list columns");
        columns.extend(rows);
    }
    let problems = differences(Engine::Sqlite, tables.into_iter().map(|t| t.name).collect(), columns);
    assert_no_differences(Engine::Sqlite, problems);
}

/// The versions (directory names) of one migration tree; each must hold `up.sql` and `down.sql`.
fn versions(tree: &str) -> (BTreeSet<String>, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(tree);
    let mut names = BTreeSet::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("read {}: {e}", root.display())) {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().unwrap().is_dir() {
            problems.push(format!("migrations/{tree}/{name} is not a migration directory"));
            continue;
        }
        for file in ["up.sql", "down.sql"] {
            if !entry.path().join(file).is_file() {
                problems.push(format!("migrations/{tree}/{name} has no {file}"));
            }
        }
        names.insert(name);
    }
    (names, problems)
}

#[test]
fn both_migration_trees_hold_the_same_versions_each_with_up_and_down() {
    let (postgres, mut problems) = versions("postgres");
    let (sqlite, more) = versions("sqlite");
    problems.extend(more);
    for only in postgres.difference(&sqlite) {
        problems.push(format!("{only} is in migrations/postgres but not in migrations/sqlite"));
    }
    for only in sqlite.difference(&postgres) {
        problems.push(format!("{only} is in migrations/sqlite but not in migrations/postgres"));
    }
    assert!(!postgres.is_empty(), "there are migrations");
    assert!(problems.is_empty(), "the migration trees differ:\n  {}", problems.join("\n  "));
}
