//! The reports' counters: one row per (host organization, state) in `report_counts`, so a report
//! reads a few dozen rows whatever the number of events and registrations (issue 13: adding up
//! 5,000 events' counters took 25–55 ms a report).
//!
//! - **Keys.** `('', state)` sums every event (admins); `(organization, state)` the events that
//!   organization hosts (its organizers, and the organizations report). The state is the event's
//!   own or its venue's, `''` for national webinars.
//! - **Recorded contributions.** `report_event_facts` holds, per event, the facts its share of the
//!   rows was computed from ([`Sums::of`]): status, times, capacity, state, hosts, folded
//!   registration counts, booking counts, and the instant its phase ("upcoming", "ended") was
//!   taken at, with the instants between which that phase holds (`valid_from`, `valid_until`).
//!   The rows are the sums of the recorded contributions, always.
//! - **Fold** ([`fold`], in the scheduler's counter fold, one transaction): for every event whose
//!   facts may have changed — its registration deltas were just folded, a trigger marked it in
//!   `report_dirty` (event, hosts, venue, bookings), or its phase has changed since it was
//!   recorded — subtract the recorded contribution from its old rows, add the current one to its
//!   new rows, and record it. Folds are serialised (an advisory lock on PostgreSQL; the write lock
//!   on SQLite).
//! - **Read** ([`read`], one snapshot): the rows, corrected the same way for the events that
//!   changed since the last fold: an event with new registrations only is its recorded facts plus
//!   its unfolded deltas; a marked event, or one past a phase bound, is read as it is now. So a
//!   report is exact whenever it is read, and costs the rows plus the events that changed in the
//!   last minute.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::figures::{flags_valid, Sums};
use super::queries::{facts_of, Counts, EventFacts};
use crate::auth::scope::EventScope;
use crate::auth::Actor;
use crate::db::schema::{report_counts, report_dirty, report_event_facts};
use crate::db::DbConnection;
use crate::domain::{BookingStatus, EventStatus, RegistrationStatus};
use crate::error::AppError;

/// Dirty marks taken per fold transaction (each names an event to read and record again: a
/// transaction after a bulk load stays short, and the fold goes on in the next).
const DIRTY_BATCH: i64 = 2_000;

/// PostgreSQL advisory lock key that serialises report folds across processes.
const FOLD_LOCK: i64 = 0x0052_6570_6f72_7473; // "Reports"

/// (organization id or `''` for every event, state code or `''` for national events).
pub type Key = (String, String);

/// Which rows a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Per state, over the events the actor may see.
    States,
    /// Per host organization (and state), over the hosting the actor may see.
    Organizations,
}

/// The rows an event's contribution goes to.
fn keys(e: &EventFacts) -> Vec<Key> {
    let state = e.state.clone().unwrap_or_default();
    std::iter::once(String::new()).chain(e.hosts.iter().cloned()).map(|org| (org, state.clone())).collect()
}

/// Subtracts each recorded contribution and adds each current one, into `change`, for the keys
/// `wanted` keeps.
fn correct(
    change: &mut HashMap<Key, Sums>,
    recorded: &HashMap<String, (EventFacts, NaiveDateTime)>,
    current: &HashMap<String, EventFacts>,
    now: NaiveDateTime,
    wanted: impl Fn(&Key) -> bool,
) {
    for (facts, at) in recorded.values() {
        let sums = Sums::of(facts, *at);
        for key in keys(facts).into_iter().filter(&wanted) {
            change.entry(key).or_default().add(&sums, -1);
        }
    }
    for facts in current.values() {
        let sums = Sums::of(facts, now);
        for key in keys(facts).into_iter().filter(&wanted) {
            change.entry(key).or_default().add(&sums, 1);
        }
    }
}

/// Records the events whose facts may have changed: those of `touched` (their registration
/// deltas were folded in this transaction), those marked dirty, and those whose phase has
/// changed. Returns how many events it looked at (0: nothing to do). Run inside the fold's
/// write transaction, after the registration deltas were folded.
pub fn fold(conn: &mut DbConnection, touched: &[String]) -> Result<usize, AppError> {
    if conn.is_postgres() {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(FOLD_LOCK).execute(conn)?;
    }
    // Marks first, facts after: a change committed after the marks were taken keeps its mark.
    let dirty = take_dirty(conn)?;
    let now = crate::db::now();
    // Two range reads, each by its index (an OR may walk the table).
    let passed: Vec<String> = report_event_facts::table
        .filter(report_event_facts::valid_until.le(now))
        .select(report_event_facts::event_id)
        .load(conn)?;
    let not_yet: Vec<String> = report_event_facts::table
        .filter(report_event_facts::valid_from.gt(now))
        .select(report_event_facts::event_id)
        .load(conn)?;
    let ids: Vec<String> = touched
        .iter()
        .cloned()
        .chain(dirty)
        .chain(passed)
        .chain(not_yet)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let recorded = recorded(conn, &ids, None)?;
    let current = facts_of(conn, &ids, Counts::Folded, None)?;
    let mut change = HashMap::new();
    correct(&mut change, &recorded, &current, now, |_| true);
    // Key order: two processes never update the same rows in opposite orders.
    let mut change: Vec<(Key, Sums)> = change.into_iter().filter(|(_, s)| !s.is_zero()).collect();
    change.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, sums) in &change {
        add_to_row(conn, key, sums)?;
    }
    for chunk in ids.chunks(500) {
        diesel::delete(report_event_facts::table.filter(report_event_facts::event_id.eq_any(chunk))).execute(conn)?;
    }
    let rows: Vec<FactsRow> = current.iter().map(|(id, facts)| FactsRow::new(id, facts, now)).collect();
    // Many rows per statement (18 values a row: 200 rows stay under SQLite's 32,766 parameters).
    for chunk in rows.chunks(200) {
        insert_facts(conn, chunk)?;
    }
    Ok(ids.len())
}

/// Inserts recorded facts, one statement for them all (diesel's batch insert does not compile
/// for the two-engine connection).
fn insert_facts(conn: &mut DbConnection, rows: &[FactsRow]) -> Result<(), AppError> {
    use diesel::sql_types::Nullable;
    const COLUMNS: &str = "event_id, state, hosts, status, capacity, starts_at, ends_at, recorded_at, valid_from, \
        valid_until, regs_confirmed, regs_waitlisted, regs_cancelled, regs_attended, sessions_booked, \
        sessions_cancelled, sessions_attended, sessions_no_show";
    const PER_ROW: usize = 18;
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let first = r * PER_ROW + 1;
            format!("({})", (first..first + PER_ROW).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "))
        })
        .collect();
    let mut q = diesel::sql_query(format!("INSERT INTO report_event_facts ({COLUMNS}) VALUES {}", values.join(", ")))
        .into_boxed();
    for r in rows {
        q = q
            .bind::<Text, _>(r.event_id.clone())
            .bind::<Text, _>(r.state.clone())
            .bind::<Text, _>(r.hosts.clone())
            .bind::<Text, _>(r.status.to_string())
            .bind::<BigInt, _>(r.capacity)
            .bind::<Timestamp, _>(r.starts_at)
            .bind::<Timestamp, _>(r.ends_at)
            .bind::<Timestamp, _>(r.recorded_at)
            .bind::<Nullable<Timestamp>, _>(r.valid_from)
            .bind::<Nullable<Timestamp>, _>(r.valid_until);
        for n in [
            r.regs_confirmed,
            r.regs_waitlisted,
            r.regs_cancelled,
            r.regs_attended,
            r.sessions_booked,
            r.sessions_cancelled,
            r.sessions_attended,
            r.sessions_no_show,
        ] {
            q = q.bind::<BigInt, _>(n);
        }
    }
    q.execute(conn)?;
    Ok(())
}

/// Takes a batch of dirty marks, oldest first; returns the events they name.
fn take_dirty(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    #[derive(QueryableByName)]
    struct Marked {
        #[diesel(sql_type = Text)]
        event_id: String,
    }
    if conn.is_postgres() {
        let taken: Vec<Marked> = diesel::sql_query(
            "DELETE FROM report_dirty WHERE id IN (SELECT id FROM report_dirty ORDER BY id LIMIT $1) RETURNING event_id",
        )
        .bind::<BigInt, _>(DIRTY_BATCH)
        .load(conn)?;
        return Ok(taken.into_iter().map(|m| m.event_id).collect());
    }
    let Some(last) = crate::rollups::last_of_batch(conn, "report_dirty", DIRTY_BATCH)? else { return Ok(Vec::new()) };
    let taken: Vec<String> =
        report_dirty::table.filter(report_dirty::id.le(last)).select(report_dirty::event_id).load(conn)?;
    diesel::delete(report_dirty::table.filter(report_dirty::id.le(last))).execute(conn)?;
    Ok(taken)
}

/// Adds `sums` to one row of `report_counts` (created at zero when missing).
fn add_to_row(conn: &mut DbConnection, key: &Key, sums: &Sums) -> Result<(), AppError> {
    let columns = Sums::COLUMNS;
    let sql = format!(
        "INSERT INTO report_counts (org_id, state, {}) VALUES ($1, $2, {}) ON CONFLICT (org_id, state) DO UPDATE SET {}",
        columns.join(", "),
        (3..3 + columns.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "),
        columns.iter().map(|c| format!("{c} = report_counts.{c} + excluded.{c}")).collect::<Vec<_>>().join(", "),
    );
    let mut q = diesel::sql_query(sql).into_boxed().bind::<Text, _>(key.0.clone()).bind::<Text, _>(key.1.clone());
    for v in sums.values() {
        q = q.bind::<BigInt, _>(v);
    }
    q.execute(conn)?;
    Ok(())
}

/// The report's rows for the actor, by key, exact at this moment (keys that come to zero are
/// absent). Scoped in the query: an organizer reads its organization's rows only.
pub fn read(conn: &mut DbConnection, actor: &Actor, rows: Rows) -> Result<HashMap<Key, Sums>, AppError> {
    let org = match actor.event_scope() {
        EventScope::All => None,
        EventScope::HostedBy(org) => Some(org.to_string()),
        EventScope::Nothing => return Ok(HashMap::new()),
    };
    if conn.is_postgres() {
        // The rows and the corrections from one snapshot, whatever a fold commits meanwhile.
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(conn)?;
    }
    // The rows of the key this report reads, with their figures, by column position.
    #[derive(Queryable, Selectable)]
    #[diesel(table_name = report_counts)]
    struct Row {
        org_id: String,
        state: String,
        #[diesel(embed)]
        sums: Sums,
    }
    let mut q = report_counts::table.select(Row::as_select()).into_boxed();
    q = match (&org, rows) {
        (Some(org), _) => q.filter(report_counts::org_id.eq(org.clone())),
        (None, Rows::States) => q.filter(report_counts::org_id.eq("")),
        (None, Rows::Organizations) => q.filter(report_counts::org_id.ne("")),
    };
    let found: Vec<Row> = q.load(conn)?;
    let mut out: HashMap<Key, Sums> = found.into_iter().map(|r| ((r.org_id, r.state), r.sums)).collect();

    let now = crate::db::now();
    // Events changed since the last fold. Those with only new registrations (deltas) are their
    // recorded facts plus the deltas: nothing else of them changed, or they would be marked.
    // The others (marked, or past a phase bound) are read as they are now.
    let deltas = unfolded_deltas(conn)?;
    let changed = changed_since_fold(conn, now)?;
    let counted_only: Vec<String> =
        deltas.keys().filter(|id| !changed.contains(*id)).cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let changed: Vec<String> = changed.into_iter().collect();
    if !changed.is_empty() || !counted_only.is_empty() {
        let all: Vec<String> = changed.iter().chain(&counted_only).cloned().collect();
        let recorded = recorded(conn, &all, org.as_deref())?;
        let mut current = facts_of(conn, &changed, Counts::Exact, Some(actor))?;
        for id in &counted_only {
            // Not recorded (for this scope): not in the rows read, nothing to correct.
            let Some((facts, _)) = recorded.get(id) else { continue };
            let mut facts = facts.clone();
            for (status, n) in &deltas[id] {
                *facts.regs.entry(*status).or_default() += n;
            }
            facts.regs.retain(|_, n| *n != 0);
            current.insert(id.clone(), facts);
        }
        let wanted = |key: &Key| match (&org, rows) {
            (Some(org), _) => &key.0 == org,
            (None, Rows::States) => key.0.is_empty(),
            (None, Rows::Organizations) => !key.0.is_empty(),
        };
        correct(&mut out, &recorded, &current, now, wanted);
    }
    out.retain(|_, s| !s.is_zero());
    Ok(out)
}

/// Events marked since the last fold, and events whose recorded phase does not hold at `now`
/// (without repeats).
fn changed_since_fold(conn: &mut DbConnection, now: NaiveDateTime) -> Result<BTreeSet<String>, AppError> {
    #[derive(QueryableByName)]
    struct Changed {
        #[diesel(sql_type = Text)]
        event_id: String,
    }
    let changed: Vec<Changed> = diesel::sql_query(
        // UNION ALL (the caller removes repeats): with UNION, SQLite 3.53 merges the arms in
        // event_id order by walking the whole table (2.5 ms on 5,000 events) instead of using
        // the two indexes (20 µs).
        "SELECT event_id FROM report_dirty \
         UNION ALL SELECT event_id FROM report_event_facts WHERE valid_until <= $1 \
         UNION ALL SELECT event_id FROM report_event_facts WHERE valid_from > $2",
    )
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(now)
    .load(conn)?;
    Ok(changed.into_iter().map(|c| c.event_id).collect())
}

/// Registration deltas not folded yet, added up per event and status.
fn unfolded_deltas(conn: &mut DbConnection) -> Result<HashMap<String, Vec<(RegistrationStatus, i64)>>, AppError> {
    #[derive(QueryableByName)]
    struct Delta {
        #[diesel(sql_type = Text)]
        event_id: String,
        #[diesel(sql_type = Text)]
        status: RegistrationStatus,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Delta> = diesel::sql_query(
        "SELECT event_id, status, CAST(SUM(delta) AS BIGINT) AS n FROM registration_count_deltas GROUP BY event_id, status",
    )
    .load(conn)?;
    let mut out: HashMap<String, Vec<(RegistrationStatus, i64)>> = HashMap::new();
    for d in rows.into_iter().filter(|d| d.n != 0) {
        out.entry(d.event_id).or_default().push((d.status, d.n));
    }
    Ok(out)
}

/// The recorded facts of these events, with the instant their phase was taken at; with `org`,
/// only those recorded as hosted by it.
fn recorded(
    conn: &mut DbConnection,
    ids: &[String],
    org: Option<&str>,
) -> Result<HashMap<String, (EventFacts, NaiveDateTime)>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = report_event_facts::table.filter(report_event_facts::event_id.eq_any(chunk)).into_boxed();
        if let Some(org) = org {
            q = q.filter(report_event_facts::hosts.like(format!("% {org} %")));
        }
        for row in q.select(FactsRow::as_select()).load(conn)? {
            let (id, facts, at) = row.into_facts();
            out.insert(id, (facts, at));
        }
    }
    Ok(out)
}

/// A row of `report_event_facts`.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = report_event_facts)]
struct FactsRow {
    event_id: String,
    state: String,
    /// Host organization ids, each between spaces (`" a b "`), so one can be matched with LIKE.
    hosts: String,
    status: EventStatus,
    capacity: i64,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    recorded_at: NaiveDateTime,
    valid_from: Option<NaiveDateTime>,
    valid_until: Option<NaiveDateTime>,
    regs_confirmed: i64,
    regs_waitlisted: i64,
    regs_cancelled: i64,
    regs_attended: i64,
    sessions_booked: i64,
    sessions_cancelled: i64,
    sessions_attended: i64,
    sessions_no_show: i64,
}

impl FactsRow {
    fn new(id: &str, e: &EventFacts, at: NaiveDateTime) -> FactsRow {
        let r = |s: RegistrationStatus| e.regs.get(&s).copied().unwrap_or(0);
        let b = |s: BookingStatus| e.bookings.get(&s).copied().unwrap_or(0);
        let (valid_from, valid_until) = flags_valid(e.status, e.starts_at, e.ends_at, at);
        FactsRow {
            event_id: id.to_string(),
            state: e.state.clone().unwrap_or_default(),
            hosts: e.hosts.iter().fold(" ".to_string(), |acc, h| format!("{acc}{h} ")),
            status: e.status,
            capacity: e.capacity,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            recorded_at: at,
            valid_from,
            valid_until,
            regs_confirmed: r(RegistrationStatus::Confirmed),
            regs_waitlisted: r(RegistrationStatus::Waitlisted),
            regs_cancelled: r(RegistrationStatus::Cancelled),
            regs_attended: r(RegistrationStatus::Attended),
            sessions_booked: b(BookingStatus::Booked),
            sessions_cancelled: b(BookingStatus::Cancelled),
            sessions_attended: b(BookingStatus::Attended),
            sessions_no_show: b(BookingStatus::NoShow),
        }
    }

    fn into_facts(self) -> (String, EventFacts, NaiveDateTime) {
        let regs = [
            (RegistrationStatus::Confirmed, self.regs_confirmed),
            (RegistrationStatus::Waitlisted, self.regs_waitlisted),
            (RegistrationStatus::Cancelled, self.regs_cancelled),
            (RegistrationStatus::Attended, self.regs_attended),
        ];
        let bookings = [
            (BookingStatus::Booked, self.sessions_booked),
            (BookingStatus::Cancelled, self.sessions_cancelled),
            (BookingStatus::Attended, self.sessions_attended),
            (BookingStatus::NoShow, self.sessions_no_show),
        ];
        let facts = EventFacts {
            status: self.status,
            capacity: self.capacity,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            state: Some(self.state).filter(|s| !s.is_empty()),
            hosts: self.hosts.split_whitespace().map(str::to_string).collect(),
            regs: regs.into_iter().filter(|(_, n)| *n != 0).collect(),
            bookings: bookings.into_iter().filter(|(_, n)| *n != 0).collect(),
        };
        (self.event_id, facts, self.recorded_at)
    }
}
