//! Load generator for the registration path and the public reads (a benchmark, not a test).
//!
//! ```text
//! cargo run --release --example loadgen -- --base-url http://127.0.0.1:18080 \
//!     --database-url postgres://postgres@127.0.0.1:5432/roadshow_bench
//! ```
//! It talks HTTP to a running server on 127.0.0.1 only, sets up its own events through the admin
//! API (a token from `--token` / `ROADSHOW_BENCH_TOKEN`, or a fresh admin made with
//! `roadshow::auth::cli::create_admin` against `--database-url`), then runs the workloads:
//!
//! - `spread`: registrations spread over 1,000 published events;
//! - `hot`: one event with 5,000 seats hit by 64 clients at once (5,500 requests, so the last 500
//!   go to the waitlist); also reported apart: how fast the seats went (`hot_seats`);
//! - `reads`: the public event list and event pages, for a fixed time;
//! - `experts`: one-to-one expert sessions. Seeds one roadshow stop where 40 experts offer 30
//!   slots each (a 10-hour stop cut into 20-minute slots), 10 more stops like it, and 10,000
//!   bookings at those other stops, made through the public booking API by 64 clients (reported
//!   as `expert_seed`: bookings without contention). Then, for a fixed time each, lists the stop's
//!   open slots by time (`expert_slots`) and ranked by fit (`expert_slots_matched`, with
//!   `for_topic` and `for_language`), and finally lets 64 clients race for the stop's 1,200 slots
//!   with three requests per slot sent back to back, so two of three lose with a 409
//!   (`expert_race`: every answer; `expert_race_slots`: bookings/s until the last slot went).
//! - `credits`: the ad-credit pool. Checks in the oldest confirmed registrations of the database
//!   (`--credit-checkins`, 10,000; after `spread`, its registrations: each its own business), 64 clients at
//!   once, through `POST /api/v1/admin/registrations/{id}/check-in`, each of which grants its
//!   business $50 from the pool in the same transaction while the pool has room (`credits`: every
//!   check-in; `credit_grants`: grants/s until the last grant). Meanwhile it samples what the
//!   database's connections wait on (`pg_stat_activity`: the pool row's lock, commits, the server).
//!   With `--credit-pool-grants` it first sets the pool to that many grants; bench/credits.sh
//!   drains the whole pool of a seeded database this way. Checked: the answers (granted until the
//!   pool is full, `pool_empty` after, never a grant answered to a check-in sent after a
//!   `pool_empty` came back), the pool's counters against them, a second check-in answering
//!   `already_granted`, `GET /api/v1/admin/credits/reconcile` balanced, and in the database one
//!   active grant per business, each with its attended registration, its ledger entry and its
//!   voucher email.
//!
//! Each prints throughput and p50/p99 latency, and one machine-readable `RESULT` line. Afterwards it
//! checks the invariants, through the API (statuses and waitlist positions handed out, the admin
//! counts) and, with `--database-url`, in the database itself (confirmed ≤ capacity, seat counters
//! equal to confirmed rows, no duplicate active attendee, distinct waitlist tickets, one outbox
//! email per registration; for experts: no slot with two active bookings, slots and bookings
//! pointing at each other, no business over its limit at a stop, no attendee in two overlapping
//! sessions, two emails per booking, and the stop's bookings exactly the 201 answers). Every workload is bounded by a request count and by `--max-seconds`;
//! the process stops by itself and exits non-zero if an invariant fails. With `--server-pid`, each
//! `RESULT` line also carries the CPU time one request cost in the server, in PostgreSQL and in the
//! load generator (from `/proc`; see bench/run.sh), and what other programs used meanwhile (a
//! busy machine makes the figures worse, not wrong: check `busy_pct` and `cpu_other_us`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(about = "Roadshow load generator (127.0.0.1 only)")]
struct Args {
    /// Server to drive; must be on 127.0.0.1 / localhost.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Admin bearer token (else `ROADSHOW_BENCH_TOKEN`, else one is created via --database-url).
    #[arg(long)]
    token: Option<String>,
    /// The server's PostgreSQL database: used to create an admin and to check invariants in SQL.
    #[arg(long)]
    database_url: Option<String>,
    /// Comma-separated: spread, hot, reads, experts, credits.
    #[arg(long, default_value = "spread,hot,reads,experts,credits")]
    workloads: String,
    /// Concurrent clients for every workload.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    #[arg(long, default_value_t = 1000)]
    spread_events: usize,
    /// Seats of each spread event.
    #[arg(long, default_value_t = 100)]
    spread_capacity: i64,
    #[arg(long, default_value_t = 20_000)]
    spread_requests: usize,
    #[arg(long, default_value_t = 5000)]
    hot_seats: i64,
    #[arg(long, default_value_t = 5500)]
    hot_requests: usize,
    /// Duration of the read workload.
    #[arg(long, default_value_t = 10)]
    reads_seconds: u64,
    /// `limit` of the list requests in the read workload.
    #[arg(long, default_value_t = 20)]
    list_limit: usize,
    /// Experts offering slots at the measured stop (and at each other stop).
    #[arg(long, default_value_t = 40)]
    experts: usize,
    /// Length of each stop (and of each expert's window there), in hours.
    #[arg(long, default_value_t = 10)]
    expert_stop_hours: i64,
    /// Slot length (no buffer): 10 hours of 20-minute slots is 30 slots per expert.
    #[arg(long, default_value_t = 20)]
    expert_slot_minutes: i64,
    /// Other stops, each with the same experts and slots, holding the seed bookings.
    #[arg(long, default_value_t = 10)]
    expert_other_stops: usize,
    /// Bookings made at the other stops before anything is measured.
    #[arg(long, default_value_t = 10_000)]
    expert_seed_bookings: usize,
    /// Booking requests per slot of the measured stop, sent back to back by different clients
    /// (all but the first of each slot get a 409).
    #[arg(long, default_value_t = 3)]
    expert_requests_per_slot: usize,
    /// Check-ins of the credits workload: the oldest confirmed registrations in the database, each
    /// checked in once (0: every confirmed registration, as bench/credits.sh does).
    #[arg(long, default_value_t = 10_000)]
    credit_checkins: usize,
    /// Sets the pool to this many grants first (`max_grants`, and `total_cents` = that many times
    /// `grant_cents`), for a drain smaller than the 200,000 grants of the default pool.
    #[arg(long)]
    credit_pool_grants: Option<i32>,
    /// Hard time bound of each workload.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// The server's process id: each workload then also reports the CPU time it cost, per request,
    /// in the server, in PostgreSQL (every `postgres` process on this machine) and in this load
    /// generator (Linux `/proc`; all share this machine's cores).
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server delivers its email (over SMTP to a local sink, as in bench/run.sh): after each
    /// registration workload, wait (through --database-url) until no email is pending before the
    /// CPU is sampled, so the CPU per registration includes delivering its email.
    #[arg(long)]
    mail_drain: bool,
}

/// CPU time (clock ticks) used so far by the server, PostgreSQL and this process, and by the
/// whole machine, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSample {
    server: u64,
    /// The kernel's part of `server` (stime): system calls, wake-ups, the network stack.
    server_sys: u64,
    /// Every `postgres` process (exited backends included, through the postmaster), less
    /// `pg_elsewhere`.
    postgres: u64,
    loadgen: u64,
    /// Live PostgreSQL backends serving other databases (another program's tests, say).
    pg_elsewhere: u64,
    /// Busy time of all CPUs (`/proc/stat`): what is left after the above is other programs'.
    machine: u64,
}

/// The database a `postgres` process serves, from its title (`postgres: 15/main: user db
/// 127.0.0.1(5432) idle`); `None` for the postmaster and background processes.
fn backend_database(cmdline: &str) -> Option<String> {
    let title = cmdline.replace('\0', " ");
    let rest = title.rsplit(": ").next()?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    (words.len() >= 3 && (words[2].contains('(') || words[2] == "[local]")).then(|| words[1].to_string())
}

/// Busy clock ticks of all CPUs so far (user, nice, system, irq, softirq, steal).
fn machine_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    Some(v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7).copied().unwrap_or(0))
}

/// utime + stime (+ cutime + cstime with `children`) of one process, in clock ticks.
fn proc_ticks(stat: &str, children: bool) -> Option<u64> {
    let f = stat_fields(stat)?;
    // Field 14 of proc(5) is utime; here index 11 (fields start at field 3).
    let own = f(11)? + f(12)?;
    Some(if children { own + f(13)? + f(14)? } else { own })
}

/// stime of one process (the kernel's time on its behalf), in clock ticks.
fn proc_sys_ticks(stat: &str) -> Option<u64> {
    stat_fields(stat)?(12)
}

/// The numeric fields of a `/proc/<pid>/stat` line from field 3 on, by index (0 = field 3).
fn stat_fields(stat: &str) -> Option<impl Fn(usize) -> Option<u64> + '_> {
    // The command name may contain spaces: fields start after the last ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    Some(move |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
}

impl CpuSample {
    /// `database`: the server's database; the backends of any other are counted apart.
    fn take(server_pid: u32, database: Option<&str>) -> Option<CpuSample> {
        let read = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        let server_stat = read(&server_pid.to_string())?;
        let server = proc_ticks(&server_stat, false)?;
        let server_sys = proc_sys_ticks(&server_stat)?;
        let loadgen = proc_ticks(&read("self")?, false)?;
        let (mut postgres, mut pg_elsewhere) = (0, 0);
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
            let Some(stat) = read(pid) else { continue };
            if stat.contains("(postgres)") {
                let db =
                    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok().and_then(|c| backend_database(&c));
                if database.is_some() && db.is_some() && db.as_deref() != database {
                    pg_elsewhere += proc_ticks(&stat, false).unwrap_or(0);
                } else {
                    // Children too: backends that exited during the run are accounted to the postmaster.
                    postgres += proc_ticks(&stat, true).unwrap_or(0);
                }
            }
        }
        Some(CpuSample { server, server_sys, postgres, loadgen, pg_elsewhere, machine: machine_ticks()? })
    }

    /// `cpu_server_us=… cpu_pg_us=… cpu_loadgen_us=…` per request since `self`, then what the
    /// rest of the machine used meanwhile (`cpu_other_us`: other programs; `cpu_pg_elsewhere_us`:
    /// PostgreSQL for other databases), how busy the machine was (`busy_pct`, of all cores) and
    /// the kernel's part of the server's CPU (`cpu_server_sys_us`, included in `cpu_server_us`).
    fn per_request(&self, later: &CpuSample, requests: usize, elapsed: Duration) -> String {
        let hz = 100.0; // USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux
        let us = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / hz * 1e6 / requests.max(1) as f64;
        let d = |a: u64, b: u64| b.saturating_sub(a);
        let ours = d(self.server, later.server) + d(self.postgres, later.postgres) + d(self.loadgen, later.loadgen);
        let machine = d(self.machine, later.machine);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        format!(
            "cpu_server_us={:.0} cpu_pg_us={:.0} cpu_loadgen_us={:.0} cpu_other_us={:.0} cpu_pg_elsewhere_us={:.0} busy_pct={:.0} \
             cpu_server_sys_us={:.0}",
            us(self.server, later.server),
            us(self.postgres, later.postgres),
            us(self.loadgen, later.loadgen),
            us(ours + d(self.pg_elsewhere, later.pg_elsewhere), machine),
            us(self.pg_elsewhere, later.pg_elsewhere),
            machine as f64 / hz * 100.0 / (elapsed.as_secs_f64() * cores).max(1e-9),
            us(self.server_sys, later.server_sys)
        )
    }
}

/// What one worker saw.
#[derive(Default)]
struct Stats {
    latencies_us: Vec<u64>,
    statuses: std::collections::BTreeMap<u16, usize>,
    failures: usize,
    first_failure: Option<String>,
    /// The first 4xx/5xx answer.
    first_error: Option<String>,
    /// Anything the workload wants to keep (e.g. waitlist positions).
    notes: Vec<Value>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.latencies_us.extend(o.latencies_us);
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.failures += o.failures;
        if self.first_failure.is_none() {
            self.first_failure = o.first_failure;
        }
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.notes.extend(o.notes);
    }
}

/// One request's result: status and (parsed) body.
type Reply = Result<(u16, Value), String>;

/// Runs `total` requests (index 0..total) over `clients` concurrent tasks, stopping early at
/// `deadline`. `f(i)` performs request `i`; `keep` decides what of a reply goes into `notes`.
async fn drive<F, Fut>(
    name: &str,
    clients: usize,
    total: usize,
    limit: Duration,
    f: F,
    keep: fn(usize, u16, &Value) -> Option<Value>,
) -> (Stats, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut st = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                let r = f(i).await;
                st.latencies_us.push(t0.elapsed().as_micros() as u64);
                match r {
                    Ok((status, body)) => {
                        *st.statuses.entry(status).or_default() += 1;
                        if status >= 400 && st.first_error.is_none() {
                            st.first_error = Some(format!("{status} {body}"));
                        }
                        if let Some(mut n) = keep(i, status, &body) {
                            if let Some(o) = n.as_object_mut() {
                                o.insert("start_us".into(), json!(t0.duration_since(started).as_micros() as u64));
                                o.insert("end_us".into(), json!(started.elapsed().as_micros() as u64));
                            }
                            st.notes.push(n);
                        }
                    }
                    Err(e) => {
                        st.failures += 1;
                        st.first_failure.get_or_insert(e);
                    }
                }
            }
            st
        }));
    }
    let mut all = Stats::default();
    for t in tasks {
        all.merge(t.await.expect("worker task"));
    }
    let elapsed = started.elapsed();
    if Instant::now() >= deadline {
        eprintln!("{name}: stopped at the {}s time bound", limit.as_secs());
    }
    (all, elapsed)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// Prints the human line and the `RESULT` line of a workload (with its CPU cost per request when
/// samples from before and after it are given).
fn report(name: &str, unit: &str, st: &mut Stats, elapsed: Duration, cpu: Option<(CpuSample, CpuSample)>) {
    st.latencies_us.sort_unstable();
    let n = st.latencies_us.len();
    let rate = n as f64 / elapsed.as_secs_f64();
    let (p50, p99, max) = (pct(&st.latencies_us, 0.50), pct(&st.latencies_us, 0.99), pct(&st.latencies_us, 1.0));
    println!(
        "{name:>7}: {n} requests in {:.2}s = {rate:.0} {unit}/s; latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.1} ms; \
         statuses {:?}; transport failures {}",
        elapsed.as_secs_f64(),
        st.statuses,
        st.failures
    );
    if let Some(e) = &st.first_failure {
        println!("         first failure: {e}");
    }
    if let Some(e) = &st.first_error {
        println!("         first error answer: {e}");
    }
    let cpu = cpu.map(|(a, b)| format!(" {}", a.per_request(&b, n, elapsed))).unwrap_or_default();
    println!(
        "RESULT workload={name} requests={n} seconds={:.3} rate={rate:.1} p50_ms={p50:.2} p99_ms={p99:.2}{cpu}",
        elapsed.as_secs_f64()
    );
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Ctx {
    async fn send(&self, rb: reqwest::RequestBuilder) -> Reply {
        let res = rb.send().await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.map_err(|e| e.to_string())?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, body))
    }
    async fn admin_post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body)).await
    }
    async fn admin_get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token)).await
    }
    async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }
    /// A GET whose body is read whole but not parsed (big lists: the load generator shares the
    /// server's cores); the reply carries the body's length.
    async fn get_unparsed(&self, path: &str) -> Reply {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, json!(bytes.len())))
    }
    async fn register(&self, event_id: &str, tag: &str, i: usize) -> Reply {
        let state = ["TX", "CA", "NY", "OH", "WA"][i % 5];
        let body = json!({
            "business": {"name": format!("Bench Shop {i}"), "email": format!("owner-{tag}-{i}@bench.example.com"),
                         "state": state, "industry": "retail", "employees": "2-9"},
            "attendee": {"name": format!("Attendee {i}"), "email": format!("attendee-{tag}-{i}@bench.example.com")},
            "marketing_consent": i.is_multiple_of(2)
        });
        self.send(self.http.post(format!("{}/api/v1/events/{event_id}/registrations", self.base)).json(&body)).await
    }
}

fn expect(status: u16, want: u16, what: &str, body: &Value) -> Result<(), String> {
    if status == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want}, got {status}: {body}"))
    }
}

/// Creates and publishes `n` webinars of `capacity` seats (16 at a time); returns their ids.
async fn create_events(ctx: &Arc<Ctx>, n: usize, capacity: i64, label: &str) -> Result<Vec<String>, String> {
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let (c2, ids2, label2) = (ctx.clone(), ids.clone(), label.to_string());
    let (mut st, _) = drive(
        "setup",
        16,
        n,
        Duration::from_secs(120),
        move |i| {
            let (ctx, ids, label) = (c2.clone(), ids2.clone(), label2.clone());
            async move {
                let s = starts + chrono::Duration::minutes(i as i64);
                let body = json!({
                    "kind": "webinar", "title": format!("{label} webinar {i}"),
                    "description": "Benchmark event created by examples/loadgen.rs",
                    "starts_at": s.to_rfc3339(), "ends_at": (s + chrono::Duration::hours(1)).to_rfc3339(),
                    "time_zone": "America/Chicago", "capacity": capacity,
                    "join_url": format!("https://webinar.example.com/j/{i}"), "topics": ["analytics"]
                });
                let (status, created) = ctx.admin_post("/api/v1/admin/events", &body).await?;
                expect(status, 201, "create event", &created)?;
                let id = created["id"].as_str().ok_or("event without id")?.to_string();
                let (status, published) =
                    ctx.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await?;
                expect(status, 200, "publish event", &published)?;
                ids.lock().unwrap()[i] = id;
                Ok((201, Value::Null))
            }
        },
        |_, _, _| None,
    )
    .await;
    if st.failures > 0 || st.latencies_us.len() != n {
        return Err(format!("setup of {label} events failed: {:?}", st.first_failure.take()));
    }
    let out = ids.lock().unwrap().clone();
    Ok(out)
}

fn positions_note(_: usize, status: u16, body: &Value) -> Option<Value> {
    (status == 201)
        .then(|| json!({"status": body["status"], "position": body["waitlist_position"], "event": body["event_id"]}))
}

/// Checks the admin view of an event: confirmed ≤ capacity, and no waitlist while seats are left.
async fn check_event_api(ctx: &Ctx, id: &str, problems: &mut Vec<String>) -> Result<(i64, i64), String> {
    let (status, e) = ctx.admin_get(&format!("/api/v1/admin/events/{id}")).await?;
    expect(status, 200, "admin event", &e)?;
    let cap = e["capacity"].as_i64().unwrap_or(-1);
    let confirmed = e["admin"]["registrations"]["confirmed"].as_i64().unwrap_or(-1);
    let waitlisted = e["admin"]["registrations"]["waitlisted"].as_i64().unwrap_or(-1);
    let seats_left = e["seats_left"].as_i64().unwrap_or(-1);
    if confirmed < 0 || confirmed > cap {
        problems.push(format!("event {id}: {confirmed} confirmed for {cap} seats"));
    }
    if seats_left != cap - confirmed {
        problems.push(format!("event {id}: seats_left {seats_left} but {confirmed} of {cap} confirmed"));
    }
    if waitlisted > 0 && seats_left > 0 {
        problems.push(format!("event {id}: {waitlisted} waitlisted while {seats_left} seats are free"));
    }
    Ok((confirmed, waitlisted))
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn analyze(url: &str) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    let db = roadshow::db::Db::connect(url, 1)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    conn.batch_execute("ANALYZE").map_err(|e| format!("ANALYZE: {e}"))
}

/// Waits until the server's outbox holds no pending email (bounded by `limit`); returns how long
/// that took. Polls a count that the partial index `outbox_due_idx` answers.
fn wait_for_mail(url: &str, limit: Duration) -> Result<Duration, String> {
    use diesel::RunQueryDsl;
    let t = Instant::now();
    let db = roadshow::db::Db::connect(url, 1)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    loop {
        let rows: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM outbox WHERE status = 'pending'")
            .load(&mut *conn)
            .map_err(|e| format!("pending email: {e}"))?;
        let pending = rows.first().map(|r| r.n).unwrap_or(0);
        if pending == 0 {
            return Ok(t.elapsed());
        }
        if t.elapsed() > limit {
            return Err(format!("{pending} emails still pending after {}s", limit.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// With `--mail-drain`, waits for the workload's email to be delivered; then samples the CPU.
fn drain_mail(
    args: &Args,
    name: &str,
    limit: Duration,
    sample: &dyn Fn() -> Option<CpuSample>,
    problems: &mut Vec<String>,
) -> Option<CpuSample> {
    if let (true, Some(url)) = (args.mail_drain, &args.database_url) {
        match wait_for_mail(url, limit) {
            Ok(d) => println!("{name:>7}: its email delivered {:.2}s after the last answer", d.as_secs_f64()),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    sample()
}

/// The invariants, asked of the database directly (every event of the database).
fn check_database(url: &str, problems: &mut Vec<String>) -> Result<(), String> {
    use diesel::RunQueryDsl;
    let db = roadshow::db::Db::connect(url, 1)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    // Aggregates and joins only: a correlated count per row would be quadratic in the outbox.
    let checks = [
        (
            "events with more confirmed registrations than capacity",
            "SELECT count(*) AS n FROM events e JOIN (SELECT event_id, count(*) AS c FROM registrations \
             WHERE status IN ('confirmed', 'attended') GROUP BY event_id) r ON r.event_id = e.id WHERE r.c > e.capacity",
        ),
        (
            "events whose seat counters differ from their confirmed registrations",
            "SELECT count(*) AS n FROM (SELECT event_id, sum(taken) AS t FROM event_seat_shards GROUP BY event_id) s \
             FULL JOIN (SELECT event_id, count(*) AS c FROM registrations WHERE status IN ('confirmed', 'attended') \
             GROUP BY event_id) r USING (event_id) WHERE coalesce(s.t, 0) <> coalesce(r.c, 0)",
        ),
        (
            "events with a waitlist while seats are free",
            "SELECT count(*) AS n FROM (SELECT DISTINCT event_id FROM registrations WHERE status = 'waitlisted') w \
             WHERE EXISTS (SELECT 1 FROM event_seat_shards s WHERE s.event_id = w.event_id AND s.taken < s.capacity)",
        ),
        (
            "attendees with two active registrations for one event",
            "SELECT count(*) AS n FROM (SELECT event_id, attendee_email FROM registrations \
             WHERE status IN ('confirmed', 'waitlisted', 'attended') GROUP BY 1, 2 HAVING count(*) > 1) d",
        ),
        (
            "waitlisted registrations without a ticket or sharing one (positions not 1..n)",
            "SELECT (SELECT count(*) FROM registrations WHERE status = 'waitlisted' AND waitlist_ticket IS NULL) + \
             (SELECT count(*) FROM (SELECT event_id, waitlist_ticket FROM registrations WHERE status = 'waitlisted' \
             GROUP BY 1, 2 HAVING count(*) > 1) d) AS n",
        ),
        (
            "registrations without exactly one confirmation/waitlist email in the outbox",
            "SELECT count(*) AS n FROM registrations r LEFT JOIN (SELECT registration_id, count(*) AS c FROM outbox \
             WHERE template IN ('registration_confirmed', 'registration_waitlisted') GROUP BY registration_id) o \
             ON o.registration_id = r.id WHERE coalesce(o.c, 0) <> 1",
        ),
    ];
    for (what, sql) in checks {
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut *conn).map_err(|e| format!("{what}: {e}"))?;
        let n = rows.first().map(|r| r.n).unwrap_or(-1);
        if n != 0 {
            problems.push(format!("database: {n} {what}"));
        }
    }
    let rows: Vec<Count> =
        diesel::sql_query("SELECT count(*) AS n FROM registrations").load(&mut *conn).map_err(|e| e.to_string())?;
    println!("database checks done over {} registrations", rows.first().map(|r| r.n).unwrap_or(0));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Experts: one-to-one sessions at roadshow stops

const TOPICS: [&str; 9] = [
    "advertising",
    "page-setup",
    "messaging",
    "community",
    "analytics",
    "e-commerce",
    "content",
    "local-seo",
    "privacy",
];

/// The matched list's wish: an advertising question, in Spanish.
const MATCHED_QUERY: &str = "for_topic=advertising&for_language=es";

/// The stops and slots the experts workload runs on.
struct ExpertSetup {
    /// The measured stop and its slots, by start time then expert (the order of the race).
    stop: String,
    stop_slots: Vec<String>,
    /// Each other stop's slots, by start time then expert.
    other_slots: Vec<Vec<String>>,
}

/// Runs `n` setup calls, 16 at a time; each `f(i)` answers `Ok` or says what went wrong.
async fn setup_all<F, Fut>(what: &str, n: usize, f: F) -> Result<(), String>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let (mut st, _) = drive(what, 16, n, Duration::from_secs(180), f, |_, _, _| None).await;
    if st.failures > 0 || st.latencies_us.len() != n {
        return Err(format!("setup ({what}) failed: {:?}", st.first_failure.take()));
    }
    Ok(())
}

impl Ctx {
    async fn admin_put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.http.put(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body)).await
    }
    /// Books `slot` for business and attendee number `i` of `tag` (each its own business).
    async fn book_slot(&self, slot: &str, tag: &str, i: usize) -> Reply {
        let body = json!({
            "business": {"name": format!("Bench Cafe {tag} {i}"), "email": format!("owner-{tag}-{i}@cafe.bench.example.com"),
                         "state": "TX", "industry": "restaurants"},
            "attendee": {"name": format!("Attendee {i}"), "email": format!("attendee-{tag}-{i}@bench.example.com")},
            "question": "How do I advertise lunch specials nearby?", "topic": "advertising"
        });
        self.send(self.http.post(format!("{}/api/v1/expert-slots/{slot}/booking", self.base)).json(&body)).await
    }
}

/// Creates a venue, `others + 1` published roadshow stops (one a day, 09:00 or 10:00 in Chicago;
/// the measured stop is the last), `experts` experts with profiles, and a window of every expert
/// at every stop, cut into slots.
async fn seed_experts(ctx: &Arc<Ctx>, args: &Args, tag: &str) -> Result<ExpertSetup, String> {
    let (n_experts, hours, minutes) = (args.experts, args.expert_stop_hours, args.expert_slot_minutes);
    let n_stops = 1 + args.expert_other_stops;
    let (status, venue) = ctx
        .admin_post(
            "/api/v1/admin/venues",
            &json!({"name": format!("Bench Convention Center {tag}"), "address": "1 Main St", "city": "Austin",
                    "state": "TX", "time_zone": "America/Chicago"}),
        )
        .await?;
    expect(status, 201, "create venue", &venue)?;
    let venue = venue["id"].as_str().ok_or("venue without id")?.to_string();
    // Whole minutes, 40 days ahead, one stop a day (an expert's windows never overlap).
    let day0 = (chrono::Utc::now() + chrono::Duration::days(40)).date_naive().and_hms_opt(15, 0, 0).expect("15:00");
    let start_of = move |k: usize| day0.and_utc() + chrono::Duration::days(k as i64);

    let stops = Arc::new(std::sync::Mutex::new(vec![String::new(); n_stops]));
    let (c, st, tg) = (ctx.clone(), stops.clone(), tag.to_string());
    setup_all("stops", n_stops, move |k| {
        let (ctx, stops, tag, venue) = (c.clone(), st.clone(), tg.clone(), venue.clone());
        async move {
            let s = start_of(k);
            let body = json!({
                "kind": "roadshow_stop", "title": format!("Bench stop {tag} {k}"),
                "description": "Benchmark stop created by examples/loadgen.rs",
                "starts_at": s.to_rfc3339(), "ends_at": (s + chrono::Duration::hours(hours)).to_rfc3339(),
                "time_zone": "America/Chicago", "capacity": 500, "venue_id": venue, "topics": ["advertising"]
            });
            let (status, created) = ctx.admin_post("/api/v1/admin/events", &body).await?;
            expect(status, 201, "create stop", &created)?;
            let id = created["id"].as_str().ok_or("stop without id")?.to_string();
            let (status, published) = ctx.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await?;
            expect(status, 200, "publish stop", &published)?;
            stops.lock().unwrap()[k] = id;
            Ok((201, Value::Null))
        }
    })
    .await?;
    let stops = stops.lock().unwrap().clone();

    let experts = Arc::new(std::sync::Mutex::new(vec![String::new(); n_experts]));
    let (c, ex, tg) = (ctx.clone(), experts.clone(), tag.to_string());
    setup_all("experts", n_experts, move |i| {
        let (ctx, experts, tag) = (c.clone(), ex.clone(), tg.clone());
        async move {
            let user = json!({"email": format!("expert-{tag}-{i}@bench.example.com"), "name": format!("Bench Expert {i}"),
                              "role": "expert"});
            let (status, created) = ctx.admin_post("/api/v1/admin/users", &user).await?;
            expect(status, 201, "create expert user", &created)?;
            let id = created["id"].as_str().ok_or("user without id")?.to_string();
            // Varied profiles, so that matching has something to rank: two topics each, a third
            // speak Spanish, some industries.
            let languages = match i % 4 {
                0 => json!(["en", "es"]),
                1 => json!(["es-MX"]),
                _ => json!(["en"]),
            };
            let industries = [json!(["retail"]), json!(["restaurants"]), json!(["beauty", "retail"])][i % 3].clone();
            let profile = json!({
                "display_name": format!("Bench Expert {i}"), "bio": "Helps small shops with their pages and ads.",
                "topics": [TOPICS[i % 9], TOPICS[(4 * i + 1) % 9]], "languages": languages, "industries": industries,
                "states": ["TX"], "online": false
            });
            let (status, p) = ctx.admin_put(&format!("/api/v1/admin/experts/{id}"), &profile).await?;
            expect(status, 201, "create expert profile", &p)?;
            experts.lock().unwrap()[i] = id;
            Ok((201, Value::Null))
        }
    })
    .await?;
    let experts = experts.lock().unwrap().clone();

    // slots[stop][expert] = that window's slot ids, in time order.
    let per_window = (hours * 60 / minutes) as usize;
    let slots = Arc::new(std::sync::Mutex::new(vec![vec![Vec::<String>::new(); n_experts]; n_stops]));
    let (c, sl, stops2, experts2) = (ctx.clone(), slots.clone(), Arc::new(stops.clone()), Arc::new(experts));
    setup_all("windows", n_stops * n_experts, move |n| {
        let (ctx, slots, stops, experts) = (c.clone(), sl.clone(), stops2.clone(), experts2.clone());
        async move {
            let (k, e) = (n / experts.len(), n % experts.len());
            let s = start_of(k);
            let body = json!({
                "event_id": stops[k], "starts_at": s.to_rfc3339(),
                "ends_at": (s + chrono::Duration::hours(hours)).to_rfc3339(),
                "slot_minutes": minutes, "buffer_minutes": 0
            });
            let (status, w) = ctx.admin_post(&format!("/api/v1/admin/experts/{}/windows", experts[e]), &body).await?;
            expect(status, 201, "create window", &w)?;
            let ids: Vec<String> = w["slots"]
                .as_array()
                .ok_or("window without slots")?
                .iter()
                .filter_map(|s| s["id"].as_str().map(str::to_string))
                .collect();
            if ids.len() != per_window {
                return Err(format!("a window of {hours} h has {} slots of {minutes} min", ids.len()));
            }
            slots.lock().unwrap()[k][e] = ids;
            Ok((201, Value::Null))
        }
    })
    .await?;
    let slots = slots.lock().unwrap().clone();
    // By start time, then expert: every window has the same grid.
    let by_time = |k: usize| -> Vec<String> {
        (0..per_window).flat_map(|j| slots[k].iter().map(move |w| w[j].clone())).collect()
    };
    // The measured stop is the last in time: what lies between now and it is the other stops.
    let last = n_stops - 1;
    Ok(ExpertSetup {
        stop: stops[last].clone(),
        stop_slots: by_time(last),
        other_slots: (0..last).map(by_time).collect(),
    })
}

/// Every item of a paged public list (following `next_cursor`), at most 100 pages.
async fn page_all(ctx: &Ctx, path: &str) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let (status, page) = ctx.get(&url).await?;
        expect(status, 200, "slot list", &page)?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(items),
        }
    }
    Err(format!("{path}: more than 100 pages"))
}

fn race_note(i: usize, status: u16, body: &Value) -> Option<Value> {
    match status {
        201 => Some(json!({"i": i, "id": body["id"], "slot": body["slot_id"]})),
        409 => Some(json!({"i": i, "conflict": body["detail"]})),
        _ => None,
    }
}

/// The `experts` workload: seeding (with its booking rate), the stop's slot lists, the race.
async fn experts_workload(
    ctx: &Arc<Ctx>,
    args: &Args,
    tag: &str,
    sample: &dyn Fn() -> Option<CpuSample>,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let t0 = Instant::now();
    let setup = Arc::new(seed_experts(ctx, args, tag).await?);
    let stop = setup.stop.clone();
    let n_slots = setup.stop_slots.len();
    let others = setup.other_slots.len();
    let capacity: usize = setup.other_slots.iter().map(Vec::len).sum();
    println!(
        "experts setup: {} experts, {} stops of {} slots each, in {:.1}s",
        args.experts,
        others + 1,
        n_slots,
        t0.elapsed().as_secs_f64()
    );
    let limit = Duration::from_secs(args.max_seconds);

    // The bookings elsewhere: stop i % others, that stop's slots in time order.
    let seed = args.expert_seed_bookings;
    if seed > capacity {
        return Err(format!("{seed} seed bookings do not fit in the other stops' {capacity} slots"));
    }
    let (c, s, tg) = (ctx.clone(), setup.clone(), format!("e{tag}"));
    let before = sample();
    let (mut st, el) = drive(
        "expert_seed",
        args.clients,
        seed,
        limit,
        move |i| {
            let (c, s, tg) = (c.clone(), s.clone(), tg.clone());
            async move {
                let slots = &s.other_slots[i % s.other_slots.len()];
                c.book_slot(&slots[i / s.other_slots.len()], &tg, i).await
            }
        },
        |_, _, _| None,
    )
    .await;
    report("expert_seed", "bookings", &mut st, el, before.zip(sample()));
    let created = st.statuses.get(&201).copied().unwrap_or(0);
    if created != seed {
        problems.push(format!("expert_seed: {created} of {seed} bookings answered 201"));
    }
    if let Some(url) = &args.database_url {
        analyze(url)?;
    }

    // What the lists hold before the measurements: every slot of the stop, once; ranked by fit.
    let plain_path = format!("/api/v1/events/{stop}/expert-slots?limit=200");
    let matched_path = format!("{plain_path}&{MATCHED_QUERY}");
    let all = page_all(ctx, &plain_path).await?;
    let distinct: std::collections::HashSet<&str> = all.iter().filter_map(|s| s["id"].as_str()).collect();
    if all.len() != n_slots || distinct.len() != n_slots {
        problems.push(format!("slot list: {} items ({} distinct) for {n_slots} slots", all.len(), distinct.len()));
    }
    let ranked = page_all(ctx, &matched_path).await?;
    let fits: Vec<i64> = ranked.iter().map(|s| s["fit"].as_i64().unwrap_or(-1)).collect();
    if ranked.len() != n_slots || fits.windows(2).any(|w| w[0] < w[1]) || fits.iter().any(|f| *f < 0) {
        problems.push(format!("matched slot list: {} items, fits not descending or missing", ranked.len()));
    }
    let (_, plain_len) = ctx.get_unparsed(&plain_path).await?;
    let (_, matched_len) = ctx.get_unparsed(&matched_path).await?;
    println!(
        "experts lists: {} slots by time; ranked: first page fits {:?}…, best fit {}, {} slots of best fit; \
         a page of 200 is {} bytes by time, {} matched",
        all.len(),
        &fits[..fits.len().min(5)],
        fits.first().copied().unwrap_or(-1),
        fits.iter().filter(|f| Some(**f) == fits.first().copied()).count(),
        plain_len,
        matched_len
    );

    for (name, path) in [("expert_slots", plain_path.clone()), ("expert_slots_matched", matched_path.clone())] {
        let c = ctx.clone();
        let path = Arc::new(path);
        let secs = args.reads_seconds.min(args.max_seconds);
        let before = sample();
        let (mut st, el) = drive(
            name,
            args.clients,
            usize::MAX,
            Duration::from_secs(secs),
            move |_| {
                let (c, path) = (c.clone(), path.clone());
                async move { c.get_unparsed(&path).await }
            },
            |_, _, _| None,
        )
        .await;
        report(name, "req", &mut st, el, before.zip(sample()));
        if st.statuses.keys().any(|s| *s != 200) || st.failures > 0 {
            problems.push(format!("{name}: statuses {:?}, {} transport failures", st.statuses, st.failures));
        }
    }

    // The race: requests i, i + 1, … for one slot go out back to back, to different clients.
    let per_slot = args.expert_requests_per_slot.max(1);
    let total = n_slots * per_slot;
    let (c, s, tg) = (ctx.clone(), setup.clone(), format!("r{tag}"));
    let before = sample();
    let (mut st, el) = drive(
        "expert_race",
        args.clients,
        total,
        limit,
        move |i| {
            let (c, s, tg) = (c.clone(), s.clone(), tg.clone());
            async move { c.book_slot(&s.stop_slots[i / per_slot], &tg, i).await }
        },
        race_note,
    )
    .await;
    report("expert_race", "req", &mut st, el, before.zip(sample()));
    let sent = st.latencies_us.len();
    let booked: Vec<&Value> = st.notes.iter().filter(|n| n["id"].is_string()).collect();
    let taken =
        st.notes.iter().filter(|n| n["conflict"].as_str().is_some_and(|d| d.contains("just been booked"))).count();
    let last = booked.iter().filter_map(|n| n["end_us"].as_u64()).max().unwrap_or(0) as f64 / 1e6;
    println!(
        "    expert_race: {} booked, {taken} refused as taken (409), {} other answers, of {sent} sent for {n_slots} slots",
        booked.len(),
        sent - booked.len() - taken
    );
    if !booked.is_empty() && last > 0.0 {
        println!(
            "    expert_race: the {} slots went in {last:.2}s = {:.0} bookings/s",
            booked.len(),
            booked.len() as f64 / last
        );
        println!(
            "RESULT workload=expert_race_slots requests={} seconds={last:.3} rate={:.1}",
            booked.len(),
            booked.len() as f64 / last
        );
    }
    let mut answered = std::collections::HashSet::new();
    for n in &booked {
        let (i, slot) = (n["i"].as_u64().unwrap_or(u64::MAX) as usize, n["slot"].as_str().unwrap_or_default());
        if setup.stop_slots.get(i / per_slot).map(String::as_str) != Some(slot) {
            problems.push(format!("expert_race: request {i} was answered with slot {slot}"));
        }
        answered.insert((n["id"].as_str().unwrap_or_default().to_string(), slot.to_string()));
    }
    let booked_slots: std::collections::HashSet<&str> = booked.iter().filter_map(|n| n["slot"].as_str()).collect();
    if sent == total && (booked.len() != n_slots || booked_slots.len() != n_slots || taken != total - n_slots) {
        problems.push(format!(
            "expert_race: {} bookings on {} slots and {taken} slot-taken 409s for {total} requests on {n_slots} slots",
            booked.len(),
            booked_slots.len()
        ));
    }
    if st.failures > 0 || st.statuses.keys().any(|s| *s != 201 && *s != 409) {
        problems.push(format!("expert_race: statuses {:?}, {} transport failures", st.statuses, st.failures));
    }
    let (status, left) = ctx.get(&plain_path).await?;
    expect(status, 200, "slot list after the race", &left)?;
    let open_left = left["items"].as_array().map_or(0, Vec::len);
    if sent == total && open_left != 0 {
        problems.push(format!("expert_race: {open_left} slots still listed open after every slot was booked"));
    }
    if let Some(url) = &args.database_url {
        check_experts_database(url, &stop, &answered, seed, problems)?;
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct BookingRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    slot_id: String,
}

/// The booking invariants in the database (every booking), and the stop's bookings against the
/// 201 answers of the race.
fn check_experts_database(
    url: &str,
    stop: &str,
    answered: &std::collections::HashSet<(String, String)>,
    seed: usize,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    use diesel::RunQueryDsl;
    if !stop.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(format!("stop id {stop:?} is not a UUID"));
    }
    let db = roadshow::db::Db::connect(url, 1)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    // Where the booking id sits in the dedupe keys of its two emails (see src/experts/mail.rs).
    let (business_key, expert_key) = ("booking_confirmed:", "expert_booking_confirmed:");
    let emails = format!(
        "SELECT count(*) AS n FROM expert_bookings b \
         LEFT JOIN (SELECT substr(dedupe_key, {}, 36) AS id, count(*) AS c FROM outbox \
           WHERE template = 'booking_confirmed' AND dedupe_key LIKE '{business_key}%' GROUP BY 1) m ON m.id = b.id \
         LEFT JOIN (SELECT substr(dedupe_key, {}, 36) AS id, count(*) AS c FROM outbox \
           WHERE template = 'expert_booking' AND dedupe_key LIKE '{expert_key}%' GROUP BY 1) x ON x.id = b.id \
         WHERE coalesce(m.c, 0) <> 1 OR coalesce(x.c, 0) <> 1",
        business_key.len() + 1,
        expert_key.len() + 1
    );
    let elsewhere =
        format!("SELECT count(*) AS n FROM expert_bookings WHERE status = 'booked' AND event_id <> '{stop}'");
    let checks: [(&str, String); 6] = [
        (
            "slots with more than one active booking",
            "SELECT count(*) AS n FROM (SELECT slot_id FROM expert_bookings \
             WHERE status IN ('booked', 'attended', 'no_show') GROUP BY slot_id HAVING count(*) > 1) d"
                .into(),
        ),
        (
            "slots held by a booking that is not an active booking of that slot",
            "SELECT count(*) AS n FROM expert_slots s LEFT JOIN expert_bookings b ON b.id = s.booking_id \
             WHERE s.booking_id IS NOT NULL AND (b.id IS NULL OR b.slot_id <> s.id \
             OR b.status NOT IN ('booked', 'attended', 'no_show'))"
                .into(),
        ),
        (
            "active bookings whose slot does not name them",
            "SELECT count(*) AS n FROM expert_bookings b JOIN expert_slots s ON s.id = b.slot_id \
             WHERE b.status = 'booked' AND (s.booking_id IS NULL OR s.booking_id <> b.id)"
                .into(),
        ),
        (
            "businesses holding more than one session at a stop (the default limit)",
            "SELECT count(*) AS n FROM (SELECT business_id, event_id FROM expert_bookings \
             WHERE status = 'booked' AND event_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d"
                .into(),
        ),
        (
            "pairs of overlapping sessions of one attendee",
            "SELECT count(*) AS n FROM expert_bookings a JOIN expert_bookings b \
             ON b.attendee_email = a.attendee_email AND a.id < b.id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at \
             WHERE a.status = 'booked' AND b.status = 'booked'"
                .into(),
        ),
        ("bookings without exactly one confirmation and one expert notice in the outbox", emails),
    ];
    for (what, sql) in &checks {
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut *conn).map_err(|e| format!("{what}: {e}"))?;
        let n = rows.first().map(|r| r.n).unwrap_or(-1);
        if n != 0 {
            problems.push(format!("database: {n} {what}"));
        }
    }
    let rows: Vec<Count> = diesel::sql_query(&elsewhere).load(&mut *conn).map_err(|e| e.to_string())?;
    let n_elsewhere = rows.first().map(|r| r.n).unwrap_or(-1);
    if n_elsewhere != seed as i64 {
        problems.push(format!("database: {n_elsewhere} bookings at the other stops for {seed} seeded"));
    }
    // The stop: its bookings are exactly the race's 201 answers (no booking behind a 409 or an
    // error, none lost after a 201), and all of them active.
    let at_stop: Vec<BookingRow> =
        diesel::sql_query(format!("SELECT id, slot_id FROM expert_bookings WHERE event_id = '{stop}'"))
            .load(&mut *conn)
            .map_err(|e| e.to_string())?;
    let active: Vec<Count> = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM expert_bookings WHERE event_id = '{stop}' AND status = 'booked'"
    ))
    .load(&mut *conn)
    .map_err(|e| e.to_string())?;
    let in_db: std::collections::HashSet<(String, String)> = at_stop.into_iter().map(|r| (r.id, r.slot_id)).collect();
    if &in_db != answered || active.first().map(|r| r.n) != Some(answered.len() as i64) {
        problems.push(format!(
            "database: the stop holds {} bookings ({} active), the race answered 201 for {}; {} of those are missing",
            in_db.len(),
            active.first().map(|r| r.n).unwrap_or(-1),
            answered.len(),
            answered.difference(&in_db).count()
        ));
    }
    println!("expert database checks done: {n_elsewhere} bookings elsewhere, {} at the stop", in_db.len());
    Ok(())
}

fn local_only(url: &str) -> Result<String, String> {
    let u = url.trim_end_matches('/');
    let rest = u.strip_prefix("http://").ok_or("--base-url must be http://127.0.0.1:PORT")?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host != "127.0.0.1" && host != "localhost" {
        return Err(format!("refusing to load {host}: this tool only talks to 127.0.0.1"));
    }
    Ok(u.to_string())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let base = local_only(&args.base_url)?;
    let token = match args.token.clone().or_else(|| std::env::var("ROADSHOW_BENCH_TOKEN").ok()) {
        Some(t) => t,
        None => {
            let url = args.database_url.clone().ok_or("give --token or --database-url")?;
            let db = roadshow::db::Db::connect(&url, 1)?;
            roadshow::auth::cli::create_admin(&db, "loadgen@bench.example.com", "Loadgen").map_err(|e| e.to_string())?
        }
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients.max(16) * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let ctx = Arc::new(Ctx { http, base, token });
    let limit = Duration::from_secs(args.max_seconds);
    let tag = format!("{:08x}", rand::random::<u32>());
    let wants = |w: &str| args.workloads.split(',').any(|x| x.trim() == w);
    let mut problems = Vec::new();

    let t0 = Instant::now();
    let spread_ids = if wants("spread") || wants("reads") {
        create_events(&ctx, args.spread_events, args.spread_capacity, "spread").await?
    } else {
        vec![]
    };
    let hot_id = if wants("hot") { Some(create_events(&ctx, 1, args.hot_seats, "hot").await?.remove(0)) } else { None };
    println!(
        "setup: {} events created and published in {:.1}s",
        spread_ids.len() + hot_id.iter().count(),
        t0.elapsed().as_secs_f64()
    );
    if let Some(url) = &args.database_url {
        // Planner statistics for the tables just filled, as autovacuum would gather them on a
        // production server (a development or CI server may run without autovacuum).
        analyze(url)?;
    }

    // The server's database (the path of --database-url): other databases' backends are apart.
    let database =
        args.database_url.as_deref().and_then(|u| u.split('?').next()?.rsplit('/').next().map(str::to_string));
    let sample = || args.server_pid.and_then(|pid| CpuSample::take(pid, database.as_deref()));
    let span = |a: Option<CpuSample>, b: Option<CpuSample>| a.zip(b);

    if wants("spread") {
        let (c, ids, tag) = (ctx.clone(), Arc::new(spread_ids.clone()), tag.clone());
        let before = sample();
        let (mut st, el) = drive(
            "spread",
            args.clients,
            args.spread_requests,
            limit,
            move |i| {
                let (c, ids, tag) = (c.clone(), ids.clone(), tag.clone());
                // Consecutive requests go to different events (a stride coprime with 1,000).
                async move { c.register(&ids[(i * 7919) % ids.len()], &format!("s{tag}"), i).await }
            },
            positions_note,
        )
        .await;
        let after = drain_mail(&args, "spread", limit, &sample, &mut problems);
        report("spread", "registrations", &mut st, el, span(before, after));
        let expected = st.latencies_us.len();
        let created = st.statuses.get(&201).copied().unwrap_or(0);
        if created != expected {
            problems.push(format!("spread: {created} of {expected} registrations answered 201"));
        }
        // Sample the admin view of some events.
        for id in spread_ids.iter().step_by((spread_ids.len() / 20).max(1)) {
            check_event_api(&ctx, id, &mut problems).await?;
        }
    }

    if let Some(hot) = &hot_id {
        let (c, id, tag) = (ctx.clone(), hot.clone(), tag.clone());
        let before = sample();
        let (mut st, el) = drive(
            "hot",
            args.clients,
            args.hot_requests,
            limit,
            move |i| {
                let (c, id, tag) = (c.clone(), id.clone(), tag.clone());
                async move { c.register(&id, &format!("h{tag}"), i).await }
            },
            positions_note,
        )
        .await;
        let after = drain_mail(&args, "hot", limit, &sample, &mut problems);
        report("hot", "registrations", &mut st, el, span(before, after));
        let sent = st.latencies_us.len() as i64;
        let confirmed = st.notes.iter().filter(|n| n["status"] == "confirmed").count() as i64;
        let mut positions: Vec<i64> = st.notes.iter().filter_map(|n| n["position"].as_i64()).collect();
        positions.sort_unstable();
        let waitlisted = positions.len() as i64;
        println!("    hot: {confirmed} confirmed, {waitlisted} waitlisted of {sent} sent ({} seats)", args.hot_seats);
        // The seat phase: how fast the seats went (up to the last confirmation), apart from the
        // waitlist that forms after them, whose tickets are handed out one at a time under the
        // event's row lock by design (strict first come, first served).
        let seats_done = st
            .notes
            .iter()
            .filter(|n| n["status"] == "confirmed")
            .filter_map(|n| n["end_us"].as_u64())
            .max()
            .unwrap_or(0) as f64
            / 1e6;
        if confirmed > 0 && seats_done > 0.0 {
            let rest = el.as_secs_f64() - seats_done;
            println!(
                "    hot: the {confirmed} seats went in {seats_done:.2}s = {:.0} registrations/s; the waitlist of \
                 {waitlisted} formed in the next {rest:.2}s",
                confirmed as f64 / seats_done
            );
            println!(
                "RESULT workload=hot_seats requests={confirmed} seconds={seats_done:.3} rate={:.1}",
                confirmed as f64 / seats_done
            );
        }
        if confirmed != sent.min(args.hot_seats) || confirmed + waitlisted != sent {
            problems.push(format!("hot: {confirmed} confirmed + {waitlisted} waitlisted for {sent} requests"));
        }
        if positions.iter().enumerate().any(|(k, p)| *p != k as i64 + 1) {
            problems.push("hot: waitlist positions handed out are not exactly 1..n".into());
        }
        let (c_api, w_api) = check_event_api(&ctx, hot, &mut problems).await?;
        if c_api != confirmed || w_api != waitlisted {
            problems
                .push(format!("hot: admin counts {c_api}/{w_api} differ from the responses {confirmed}/{waitlisted}"));
        }
    }

    if wants("reads") {
        let (c, ids, list_limit) = (ctx.clone(), Arc::new(spread_ids.clone()), args.list_limit);
        let secs = args.reads_seconds.min(args.max_seconds);
        let before = sample();
        let (mut st, el) = drive(
            "reads",
            args.clients,
            usize::MAX,
            Duration::from_secs(secs),
            move |i| {
                let (c, ids) = (c.clone(), ids.clone());
                async move {
                    if i.is_multiple_of(2) {
                        c.get(&format!("/api/v1/events?limit={list_limit}")).await
                    } else {
                        c.get(&format!("/api/v1/events/{}", ids[(i * 7919) % ids.len()])).await
                    }
                }
            },
            |_, _, _| None,
        )
        .await;
        report("reads", "req", &mut st, el, span(before, sample()));
        if st.statuses.keys().any(|s| *s != 200) || st.failures > 0 {
            problems.push(format!("reads: statuses {:?}, {} transport failures", st.statuses, st.failures));
        }
    }

    if wants("experts") {
        experts_workload(&ctx, &args, &tag, &sample, &mut problems).await?;
    }

    if wants("credits") {
        credits_workload(&ctx, &args, &sample, &mut problems).await?;
    }

    if let Some(url) = &args.database_url {
        check_database(url, &mut problems)?;
    }
    if problems.is_empty() {
        println!("invariants: OK");
        Ok(())
    } else {
        for p in &problems {
            println!("INVARIANT VIOLATED: {p}");
        }
        Err(format!("{} invariant violations", problems.len()))
    }
}

// ---------------------------------------------------------------------------------------------
// Credits: check-ins that grant the business its $50 from the one pool

#[derive(diesel::QueryableByName)]
struct IdOnly {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

#[derive(diesel::QueryableByName)]
struct WaitRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    what: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Samples taken, and per state the backends summed over them.
type WaitSums = (usize, std::collections::BTreeMap<String, i64>);

/// Samples, every 100 ms until `stop`, what the client backends of the database at `url` are doing
/// (`pg_stat_activity`): idle, idle in a transaction (the server has the turn), running, or
/// waiting (for a lock: with the statement that waits). Returns samples taken and, per state, the
/// backends summed over the samples.
fn sample_waits(
    url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Result<WaitSums, String>> {
    std::thread::spawn(move || {
        use diesel::RunQueryDsl;
        let db = roadshow::db::Db::connect(&url, 1)?;
        let mut conn = db.get().map_err(|e| e.to_string())?;
        let sql = "SELECT CASE \
               WHEN state = 'active' AND wait_event_type = 'Lock' \
                 THEN 'waiting for a lock (' || wait_event || ') in: ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 48) \
               WHEN state = 'active' AND wait_event_type IS NOT NULL \
                 THEN 'active, waiting on ' || wait_event_type || ':' || wait_event \
               WHEN state = 'active' THEN 'active, on CPU or runnable' \
               ELSE coalesce(state, '?') END AS what, count(*) AS n \
             FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND backend_type = 'client backend' GROUP BY 1";
        // Every 10 s, a progress line: grants so far, their rate since the last line, and the size
        // of the one-row pool table (its dead row versions, until a VACUUM or a prune removes them).
        let progress = "SELECT grant_count::bigint AS n, pg_relation_size('credit_pool') / 8192 AS pages, \
            pg_indexes_size('credit_pool') / 8192 AS index_pages FROM credit_pool";
        let started = Instant::now();
        let mut last = (started, -1i64);
        let (mut samples, mut sums) = (0usize, std::collections::BTreeMap::<String, i64>::new());
        while !stop.load(Ordering::Relaxed) {
            if last.0.elapsed() >= Duration::from_secs(10) || last.1 < 0 {
                let rows: Vec<PoolSize> = diesel::sql_query(progress).load(&mut *conn).map_err(|e| e.to_string())?;
                if let Some(r) = rows.first() {
                    if last.1 >= 0 {
                        println!(
                            "    credits: {:5.0}s {:7} grants ({:4.0}/s over the last {:.0}s); credit_pool: {} pages, index {} pages",
                            started.elapsed().as_secs_f64(),
                            r.n,
                            (r.n - last.1) as f64 / last.0.elapsed().as_secs_f64(),
                            last.0.elapsed().as_secs_f64(),
                            r.pages,
                            r.index_pages
                        );
                    }
                    last = (Instant::now(), r.n);
                }
            }
            let rows: Vec<WaitRow> = diesel::sql_query(sql).load(&mut *conn).map_err(|e| e.to_string())?;
            samples += 1;
            for r in rows {
                *sums.entry(r.what).or_default() += r.n;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok((samples, sums))
    })
}

#[derive(diesel::QueryableByName)]
struct PoolSize {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pages: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    index_pages: i64,
}

fn credit_note(_: usize, status: u16, body: &Value) -> Option<Value> {
    (status == 200).then(|| json!({"outcome": body["credit"]["outcome"], "status": body["status"]}))
}

/// Check-in is open from two hours before an event's start to seven days after its end: moves the
/// events of `ids` to have started an hour ago (keeping their length), as on the day of the event
/// (past the reminder windows, so a server with its scheduler on queues no reminders for them).
fn open_doors(conn: &mut roadshow::db::DbConnection, ids: &[String]) -> Result<(), String> {
    use diesel::prelude::*;
    use roadshow::db::schema::{events, registrations};
    let mut events_of: Vec<String> = Vec::new();
    for chunk in ids.chunks(5_000) {
        events_of.extend(
            registrations::table
                .filter(registrations::id.eq_any(chunk))
                .select(registrations::event_id)
                .distinct()
                .load::<String>(conn)
                .map_err(|e| e.to_string())?,
        );
    }
    events_of.sort();
    events_of.dedup();
    let start = roadshow::db::now() - chrono::Duration::hours(1);
    for id in events_of {
        let (starts, ends): (chrono::NaiveDateTime, chrono::NaiveDateTime) = events::table
            .find(&id)
            .select((events::starts_at, events::ends_at))
            .first(conn)
            .map_err(|e| e.to_string())?;
        diesel::update(events::table.find(&id))
            .set((events::starts_at.eq(start), events::ends_at.eq(start + (ends - starts))))
            .execute(conn)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The `credits` workload: check-ins that grant, the pool's counters, reconcile, the database.
async fn credits_workload(
    ctx: &Arc<Ctx>,
    args: &Args,
    sample: &dyn Fn() -> Option<CpuSample>,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    use diesel::RunQueryDsl;
    let url = args.database_url.clone().ok_or("credits: needs --database-url (the registrations to check in)")?;
    let (status, mut pool0) = ctx.admin_get("/api/v1/admin/credits/pool").await?;
    expect(status, 200, "credit pool", &pool0)?;
    let grant_cents = pool0["grant_cents"].as_i64().ok_or("pool without grant_cents")?;
    if let Some(g) = args.credit_pool_grants {
        if pool0["max_grants"].as_i64() != Some(i64::from(g)) {
            let change = json!({"max_grants": g, "total_cents": i64::from(g) * grant_cents});
            let (status, p) = ctx
                .send(
                    ctx.http
                        .patch(format!("{}/api/v1/admin/credits/pool", ctx.base))
                        .bearer_auth(&ctx.token)
                        .json(&change),
                )
                .await?;
            expect(status, 200, "set the pool's size", &p)?;
            pool0 = p;
        }
    }
    let num = |v: &Value, k: &str| v[k].as_i64().unwrap_or(-1);
    let (count0, cents0, room0) =
        (num(&pool0, "grant_count"), num(&pool0, "granted_cents"), num(&pool0, "remaining_grants"));
    println!(
        "credits: pool of {} grants of {grant_cents} cents ({} cents), {count0} granted, room for {room0}",
        num(&pool0, "max_grants"),
        num(&pool0, "total_cents")
    );

    let t0 = Instant::now();
    let limit_sql = if args.credit_checkins == 0 { String::new() } else { format!(" LIMIT {}", args.credit_checkins) };
    let ids: Vec<String> = {
        let db = roadshow::db::Db::connect(&url, 1)?;
        let mut conn = db.get().map_err(|e| e.to_string())?;
        let rows: Vec<IdOnly> = diesel::sql_query(format!(
            "SELECT id FROM registrations WHERE status = 'confirmed' ORDER BY created_at, id{limit_sql}"
        ))
        .load(&mut *conn)
        .map_err(|e| e.to_string())?;
        let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
        open_doors(&mut conn, &ids)?;
        ids
    };
    if ids.is_empty() {
        return Err(
            "credits: no confirmed registration to check in (run spread first, or seed: bench/credits.sh)".into()
        );
    }
    println!("credits: {} confirmed registrations to check in, read in {:.1}s", ids.len(), t0.elapsed().as_secs_f64());
    let ids = Arc::new(ids);

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_waits(url.clone(), stop.clone());
    let c = ctx.clone();
    let ids2 = ids.clone();
    let before = sample();
    let (mut st, el) = drive(
        "credits",
        args.clients,
        ids.len(),
        Duration::from_secs(args.max_seconds),
        move |i| {
            let (c, ids) = (c.clone(), ids2.clone());
            async move { c.admin_post(&format!("/api/v1/admin/registrations/{}/check-in", ids[i]), &json!({})).await }
        },
        credit_note,
    )
    .await;
    let after = sample();
    stop.store(true, Ordering::Relaxed);
    report("credits", "check-ins", &mut st, el, before.zip(after));
    let sent = st.latencies_us.len();

    let outcome = |o: &str| st.notes.iter().filter(|n| n["outcome"] == o).count();
    let (granted, empty, already) = (outcome("granted"), outcome("pool_empty"), outcome("already_granted"));
    let others = sent - granted - empty - already;
    println!(
        "    credits: {sent} check-ins: {granted} granted, {empty} pool_empty, {already} already_granted, {others} other answers"
    );
    let last_grant = st.notes.iter().filter(|n| n["outcome"] == "granted").filter_map(|n| n["end_us"].as_u64()).max();
    if let Some(last) = last_grant.filter(|l| *l > 0) {
        let secs = last as f64 / 1e6;
        println!(
            "    credits: the {granted} grants went in {secs:.2}s = {:.0} grants/s{}",
            granted as f64 / secs,
            if empty > 0 {
                format!("; then {empty} check-ins found the pool empty in {:.2}s", el.as_secs_f64() - secs)
            } else {
                String::new()
            }
        );
        println!(
            "RESULT workload=credit_grants requests={granted} seconds={secs:.3} rate={:.1}",
            granted as f64 / secs
        );
    }
    // Once a pool_empty answer came back the pool was full: no check-in sent after it may grant.
    let first_empty =
        st.notes.iter().filter(|n| n["outcome"] == "pool_empty").filter_map(|n| n["end_us"].as_u64()).min();
    if let Some(fe) = first_empty {
        let late = st
            .notes
            .iter()
            .filter(|n| n["outcome"] == "granted" && n["start_us"].as_u64().is_some_and(|s| s > fe))
            .count();
        if late > 0 {
            problems.push(format!("credits: {late} grants answered to check-ins sent after a pool_empty came back"));
        }
    }
    match sampler.join() {
        Ok(Ok((samples, sums))) if samples > 0 => {
            println!("    credits: the database's connections over {samples} samples (average backends):");
            let mut rows: Vec<(String, i64)> = sums.into_iter().collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.1));
            for (what, n) in rows {
                println!("      {:6.2}  {what}", n as f64 / samples as f64);
            }
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => println!("    credits: sampling pg_stat_activity failed: {e}"),
        Err(_) => println!("    credits: the pg_stat_activity sampler panicked"),
    }

    let room = usize::try_from(room0).unwrap_or(0);
    if st.failures > 0 || st.statuses.keys().any(|s| *s != 200) {
        problems.push(format!("credits: statuses {:?}, {} transport failures", st.statuses, st.failures));
    }
    if granted != sent.min(room) || empty != sent - sent.min(room) || already + others > 0 {
        problems.push(format!(
            "credits: {granted} granted, {empty} pool_empty, {already} already_granted, {others} other of {sent} \
             check-ins with room for {room}"
        ));
    }
    let (status, pool1) = ctx.admin_get("/api/v1/admin/credits/pool").await?;
    expect(status, 200, "credit pool", &pool1)?;
    let (count1, cents1) = (num(&pool1, "grant_count"), num(&pool1, "granted_cents"));
    println!(
        "    credits: pool after: grant_count {count1} of {}, granted_cents {cents1} of {}, remaining {} grants",
        num(&pool1, "max_grants"),
        num(&pool1, "total_cents"),
        num(&pool1, "remaining_grants")
    );
    if count1 != count0 + granted as i64 || cents1 != cents0 + granted as i64 * grant_cents {
        problems.push(format!(
            "credits: the pool went from {count0} grants / {cents0} cents to {count1} / {cents1} for {granted} granted"
        ));
    }
    if sent > room && (count1 != num(&pool1, "max_grants") || num(&pool1, "remaining_grants") != 0) {
        problems.push(format!("credits: {sent} check-ins for room {room}, yet the pool is not full: {pool1}"));
    }
    // Checking a granted registration in again grants nothing.
    let (status, again) =
        ctx.admin_post(&format!("/api/v1/admin/registrations/{}/check-in", ids[0]), &json!({})).await?;
    expect(status, 200, "second check-in", &again)?;
    let want = if room > 0 { "already_granted" } else { "pool_empty" };
    if again["credit"]["outcome"] != want {
        problems.push(format!("credits: a second check-in answered {}, not {want}", again["credit"]));
    }
    let (status, rec) = ctx.admin_get("/api/v1/admin/credits/reconcile").await?;
    expect(status, 200, "reconcile", &rec)?;
    println!(
        "    credits: reconcile: balanced {}, {} ledger entries, differences {}",
        rec["balanced"], rec["ledger_entries"], rec["differences"]
    );
    if rec["balanced"] != true {
        problems.push(format!("credits: reconcile is not balanced: {}", rec["differences"]));
    }
    println!(
        "RESULT workload=credit_pool checkins={sent} granted={granted} pool_empty={empty} grant_count={count1} \
         granted_cents={cents1} max_grants={} balanced={}",
        num(&pool1, "max_grants"),
        rec["balanced"]
    );

    let db = roadshow::db::Db::connect(&url, 1)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let checks: [(&str, String); 5] = [
        (
            "active grants other than the pool's grant_count",
            format!("SELECT abs(count(*) - {count1}) AS n FROM credit_grants WHERE status = 'active'"),
        ),
        (
            "businesses with more than one active grant",
            "SELECT count(*) AS n FROM (SELECT business_id FROM credit_grants WHERE status = 'active' \
             GROUP BY 1 HAVING count(*) > 1) d"
                .into(),
        ),
        (
            "check-in grants whose registration is not attended, or of another business",
            "SELECT count(*) AS n FROM credit_grants g LEFT JOIN registrations r ON r.id = g.registration_id \
             WHERE g.source = 'check_in' AND (r.id IS NULL OR r.status <> 'attended' OR r.business_id <> g.business_id)"
                .into(),
        ),
        (
            "grants without exactly one ledger entry",
            "SELECT count(*) AS n FROM credit_grants g LEFT JOIN (SELECT grant_id, count(*) AS c FROM credit_ledger \
             WHERE kind IN ('grant', 'regrant') GROUP BY 1) l ON l.grant_id = g.id WHERE coalesce(l.c, 0) <> 1"
                .into(),
        ),
        (
            "grants without their voucher email in the outbox",
            "SELECT count(*) AS n FROM credit_grants g LEFT JOIN outbox o ON o.dedupe_key = 'credit:' || g.id \
             WHERE o.id IS NULL"
                .into(),
        ),
    ];
    for (what, sql) in &checks {
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut *conn).map_err(|e| format!("{what}: {e}"))?;
        let n = rows.first().map(|r| r.n).unwrap_or(-1);
        if n != 0 {
            problems.push(format!("database: {n} {what}"));
        }
    }
    println!("credits database checks done over {count1} active grants");
    Ok(())
}
