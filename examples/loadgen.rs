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
//! - `reads`: the public event list and event pages, for a fixed time.
//!
//! Each prints throughput and p50/p99 latency, and one machine-readable `RESULT` line. Afterwards it
//! checks the invariants, through the API (statuses and waitlist positions handed out, the admin
//! counts) and, with `--database-url`, in the database itself (confirmed ≤ capacity, seat counters
//! equal to confirmed rows, no duplicate active attendee, distinct waitlist tickets, one outbox
//! email per registration). Every workload is bounded by a request count and by `--max-seconds`;
//! the process stops by itself and exits non-zero if an invariant fails. With `--server-pid`, each
//! `RESULT` line also carries the CPU time one request cost in the server, in PostgreSQL and in the
//! load generator (from `/proc`; see bench/run.sh).

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
    /// Comma-separated: spread, hot, reads.
    #[arg(long, default_value = "spread,hot,reads")]
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
    /// Hard time bound of each workload.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// The server's process id: each workload then also reports the CPU time it cost, per request,
    /// in the server, in PostgreSQL (every `postgres` process on this machine) and in this load
    /// generator (Linux `/proc`; all share this machine's cores).
    #[arg(long)]
    server_pid: Option<u32>,
}

/// CPU time (clock ticks) used so far by the server, PostgreSQL and this process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSample {
    server: u64,
    postgres: u64,
    loadgen: u64,
}

/// utime + stime (+ cutime + cstime with `children`) of one process, in clock ticks.
fn proc_ticks(stat: &str, children: bool) -> Option<u64> {
    // The command name may contain spaces: fields start after the last ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split_whitespace().collect();
    let f = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    // Field 14 of proc(5) is utime; here index 11 (fields start at field 3).
    let own = f(11)? + f(12)?;
    Some(if children { own + f(13)? + f(14)? } else { own })
}

impl CpuSample {
    fn take(server_pid: u32) -> Option<CpuSample> {
        let read = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        let server = proc_ticks(&read(&server_pid.to_string())?, false)?;
        let loadgen = proc_ticks(&read("self")?, false)?;
        let mut postgres = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
            let Some(stat) = read(pid) else { continue };
            if stat.contains("(postgres)") {
                // Children too: backends that exited during the run are accounted to the postmaster.
                postgres += proc_ticks(&stat, true).unwrap_or(0);
            }
        }
        Some(CpuSample { server, postgres, loadgen })
    }

    /// `cpu_server_us=… cpu_pg_us=… cpu_loadgen_us=…` per request since `self`.
    fn per_request(&self, later: &CpuSample, requests: usize) -> String {
        let hz = 100.0; // USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux
        let us = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / hz * 1e6 / requests.max(1) as f64;
        format!(
            "cpu_server_us={:.0} cpu_pg_us={:.0} cpu_loadgen_us={:.0}",
            us(self.server, later.server),
            us(self.postgres, later.postgres),
            us(self.loadgen, later.loadgen)
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
    let cpu = cpu.map(|(a, b)| format!(" {}", a.per_request(&b, n))).unwrap_or_default();
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
                    "join_url": format!("https://webinar.example.com/j/{i}"), "topics": ["financing"]
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

    let sample = || args.server_pid.and_then(CpuSample::take);
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
        report("spread", "registrations", &mut st, el, span(before, sample()));
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
        report("hot", "registrations", &mut st, el, span(before, sample()));
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
