//! Test harness: starts the real application on a random port with its own database, and talks
//! HTTP to it. Every test body runs once per backend through the [`both_backends!`] macro:
//! SQLite always (a temp file), PostgreSQL when `ROADSHOW_TEST_POSTGRES_URL` is set (a fresh
//! database per test, dropped afterwards). The PostgreSQL variants carry
//! `#[cfg_attr(not(roadshow_pg), ignore)]`: `build.rs` turns `roadshow_pg` on when the URL is set
//! at build time or `CI=true`, so without PostgreSQL they show as ignored, never as passed. A
//! PostgreSQL test that does run without a URL (`CI=true`, or `--ignored`) fails.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::{Method, Response, StatusCode};
use roadshow::app::Application;
use roadshow::config::Config;
use roadshow::db::Db;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub backend: Backend,
    pub admin_token: String,
    pub config: Config,
    handle: actix_web::dev::ServerHandle,
    pg_database: Option<FreshPostgres>,
    pub dir: tempfile::TempDir,
}

/// Runs each listed test function (`async fn name(app: TestApp)`, written beside the call, so
/// rustfmt formats its body) against SQLite and PostgreSQL, as `name::sqlite` and `name::postgres`:
///
/// - `both_backends!(a, b);` starts each server with the default test configuration;
/// - `both_backends!(with |c| c.x = y; a, b);` applies that change to the configuration first.
#[macro_export]
macro_rules! both_backends {
    (with $tweak:expr; $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                // The configuration change may name items of the calling module.
                #[allow(unused_imports)]
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite, $tweak).await;
                    super::$name(app).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(roadshow_pg), ignore = "ROADSHOW_TEST_POSTGRES_URL is not set")]
                async fn postgres() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres, $tweak).await;
                    super::$name(app).await
                }
            }
        )+
    };
    ($($name:ident),+ $(,)?) => {
        $crate::both_backends!(with |_| {}; $($name),+);
    };
}

static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The PostgreSQL server the tests create their databases on. A PostgreSQL test that runs (see the
/// module docs) without one fails: it never passes without having run.
pub fn postgres_url() -> String {
    match std::env::var("ROADSHOW_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "ROADSHOW_TEST_POSTGRES_URL is not set, so this PostgreSQL test cannot run (it runs under CI=true, \
             with --ignored, or when the URL was set at build time)"
        ),
    }
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A fresh, empty PostgreSQL database of its own, dropped with this value.
pub struct FreshPostgres {
    admin_url: String,
    name: String,
    /// Where to connect to it.
    pub url: String,
}

impl FreshPostgres {
    /// Panics when PostgreSQL is not configured (see [`postgres_url`]).
    pub fn create() -> FreshPostgres {
        let admin_url = postgres_url();
        let name = format!(
            "roadshow_test_{}_{}_{}",
            std::process::id(),
            DB_COUNTER.fetch_add(1, Ordering::SeqCst),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut conn = diesel::PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
        conn.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
        let url = with_database(&admin_url, &name);
        FreshPostgres { admin_url, name, url }
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

impl TestApp {
    /// Starts an app; `tweak` may change the config first. Panics when PostgreSQL is not configured.
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        if std::env::var_os("RUST_LOG").is_some() {
            // Quiet by default; `RUST_LOG=info cargo test` shows the servers' logs.
            roadshow::telemetry::init();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut pg_database = None;
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Backend::Postgres => {
                let fresh = FreshPostgres::create();
                let url = fresh.url.clone();
                pg_database = Some(fresh);
                url
            }
        };
        let mut config = Config::defaults();
        config.database_url = database_url;
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.mail_dir = dir.path().join("mail");
        config.rate_limit_per_minute = 0;
        config.background = false;
        config.http_workers = 2;
        config.db_pool_size = 8;
        tweak(&mut config);
        let app = Application::build(config.clone()).await.expect("application starts");
        let port = app.port();
        let db = app.db().clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        config.public_url = format!("http://127.0.0.1:{port}");
        let admin_token = roadshow::auth::cli::create_admin(&db, "admin@roadshow.test", "Test Admin").expect("admin");
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap(),
            db,
            backend,
            admin_token,
            config,
            handle,
            pg_database,
            dir,
        }
    }

    /// Starts a second server process on the same database (several copies behind a load
    /// balancer); returns its base address. The server stops with the test's runtime.
    pub async fn spawn_sibling(&self) -> String {
        self.spawn_sibling_with_db().await.0
    }

    /// [`TestApp::spawn_sibling`], also returning the sibling's own pool (for its retry counts).
    pub async fn spawn_sibling_with_db(&self) -> (String, Db) {
        let mut config = self.config.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        let app = Application::build(config).await.expect("sibling starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        tokio::spawn(app.run_until_stopped());
        (address, db)
    }

    /// Asserts that no transaction of this server had to be run again ([`Db::write_retrying`]):
    /// no deadlock or serialization failure on PostgreSQL, no lock timeout on SQLite (writers wait
    /// for `BEGIN IMMEDIATE` up to the 5 s busy timeout, so a race of a few hundred requests must
    /// never see "database is locked"), no lost connection.
    pub fn assert_no_retries(&self) {
        assert_no_retries(&self.db);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        rb.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, None, Some(body)).await
    }

    pub async fn admin_get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(&self.admin_token), None).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(&self.admin_token), Some(body)).await
    }

    pub async fn admin_patch(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(&self.admin_token), Some(body)).await
    }

    /// Creates an organization as admin; returns its id.
    pub async fn create_org(&self, name: &str, kind: &str, states: &[&str]) -> String {
        let r = self
            .admin_post("/api/v1/admin/organizations", &json!({"name": name, "kind": kind, "states": states}))
            .await;
        expect_status(r, 201).await["id"].as_str().unwrap().to_string()
    }

    /// Creates a venue as admin; returns its id.
    pub async fn create_venue(&self, state: &str) -> String {
        let r = self
            .admin_post(
                "/api/v1/admin/venues",
                &json!({"name": format!("Convention Center {state}"), "address": "1 Main St", "city": "Capital", "state": state}),
            )
            .await;
        expect_status(r, 201).await["id"].as_str().unwrap().to_string()
    }

    /// Creates a published webinar with the given capacity, starting in 30 days; returns its id.
    pub async fn published_webinar(&self, capacity: i64) -> String {
        let id = self.draft_event(json!({"kind": "webinar", "capacity": capacity})).await;
        let r = self.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await;
        expect_status(r, 200).await;
        id
    }

    /// Creates a draft event from defaults overridden by `fields`; returns its id.
    pub async fn draft_event(&self, fields: Value) -> String {
        let start = chrono::Utc::now() + chrono::Duration::days(30);
        let mut body = json!({
            "kind": "webinar",
            "title": "Grow with social media",
            "description": "Practical steps for small businesses",
            "starts_at": start.to_rfc3339(),
            "ends_at": (start + chrono::Duration::hours(1)).to_rfc3339(),
            "time_zone": "America/Chicago",
            "capacity": 100,
            "join_url": "https://meet.example.org/grow",
            "topics": ["community"],
        });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.admin_post("/api/v1/admin/events", &body).await;
        expect_status(r, 201).await["id"].as_str().unwrap().to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop accepting; the runtime of the test is going away anyway.
        drop(handle.stop(false));
        // Dropped (with its sessions) once the server stopped accepting.
        drop(self.pg_database.take());
    }
}

/// See [`TestApp::assert_no_retries`].
pub fn assert_no_retries(db: &Db) {
    let retries = db.transient_retries();
    assert_eq!(retries, roadshow::db::TransientRetries::default(), "transactions were run again: {retries:?}");
}

/// Asserts the status (showing the body when it differs) and returns the JSON body (or Null).
pub async fn expect_status(resp: Response, expected: u16) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::from_u16(expected).unwrap(), "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts the status and reads the body as the wire type `T`, so the test checks the shape the
/// OpenAPI document gives the answer (an unknown enum spelling or a missing field fails here).
pub async fn expect_typed<T: serde::de::DeserializeOwned>(resp: Response, expected: u16) -> T {
    let body = expect_status(resp, expected).await;
    serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("the answer is not a {}: {e}\n{body}", std::any::type_name::<T>()))
}

/// Asserts a problem+json answer with the status and, when given, an error naming `field`.
pub async fn expect_problem(resp: Response, expected: u16, field: Option<&str>) -> Value {
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = expect_status(resp, expected).await;
    assert_eq!(ct, "application/problem+json", "content type; body: {body}");
    assert_eq!(body["status"], expected, "{body}");
    assert!(body["title"].is_string() && body["type"].is_string() && body["detail"].is_string(), "{body}");
    if let Some(field) = field {
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field), "expected an error naming {field:?}, got {body}");
    }
    body
}

/// Runs the real `roadshow` binary on the test's database with `RUST_LOG=debug` (and `env` on top),
/// calls `drive`
/// with its base URL and the admin token, stops it, and returns everything it logged together with
/// what `drive` returned.
pub async fn serve_and_capture<F, Fut>(app: &TestApp, env: &[(&str, &str)], drive: F) -> (String, Vec<String>)
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_roadshow"))
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", &app.config.database_url)
        .env("ROADSHOW_BIND", "127.0.0.1:0")
        .env("ROADSHOW_MAIL_DIR", app.dir.path().join("served-mail"))
        .env("ROADSHOW_RATE_LIMIT_PER_MINUTE", "0")
        .env("ROADSHOW_HTTP_WORKERS", "1")
        .env("ROADSHOW_MAIL_POLL_MS", "50")
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the roadshow binary starts");
    let stderr = child.stderr.take().unwrap();
    let (port_tx, port_rx) = std::sync::mpsc::channel::<u16>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let plain = strip_ansi(&line);
            if plain.contains("roadshow is listening") {
                if let Some(port) = plain.split("port=").nth(1).and_then(|r| r.split_whitespace().next()) {
                    let _ = port_tx.send(port.parse().unwrap_or(0));
                }
            }
            all.push_str(&plain);
            all.push('\n');
        }
        all
    });
    let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(std::time::Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the server said where it listens");
    let secrets = drive(format!("http://127.0.0.1:{port}"), app.admin_token.clone()).await;
    child.kill().expect("stop the server");
    child.wait().unwrap();
    let text = tokio::task::spawn_blocking(move || reader.join().unwrap()).await.unwrap();
    (text, secrets)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
