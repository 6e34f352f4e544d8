//! Settings, read from the environment once at start and validated: a bad value stops the process
//! with one line naming the variable. Tests build a [`Config`] directly.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::db::DatabaseTarget;
use crate::http::{IpNet, TrustedProxies};

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `postgres://…` for PostgreSQL, anything else a SQLite file.
    pub database_url: String,
    /// `ROADSHOW_BIND`: listen address.
    pub bind: SocketAddr,
    /// `ROADSHOW_PUBLIC_URL`: base of links in emails, without a trailing slash.
    pub public_url: String,
    /// `ROADSHOW_SMTP_URL`: SMTP relay; `None` writes `.eml` files to `mail_dir`.
    pub smtp_url: Option<String>,
    /// `ROADSHOW_SMTP_CA_FILE`: PEM certificates trusted as roots for the SMTP server's TLS, besides
    /// the Mozilla roots (a relay with a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// `ROADSHOW_MAIL_DIR`: where `.eml` files go without SMTP.
    pub mail_dir: PathBuf,
    /// `ROADSHOW_MAIL_FROM`: the sender mailbox.
    pub mail_from: String,
    /// `ROADSHOW_RATE_LIMIT_PER_MINUTE`: public writes per client address per minute; 0 = off.
    pub rate_limit_per_minute: u32,
    /// The clock rate-limit windows are taken from: the system clock (tests may hold it still).
    pub clock: crate::clock::Clock,
    /// `ROADSHOW_DB_POOL_SIZE`: database connections per process.
    pub db_pool_size: u32,
    /// `ROADSHOW_HTTP_WORKERS`: actix worker threads (default: one per core).
    pub http_workers: usize,
    /// `ROADSHOW_BACKGROUND`: run the outbox worker and scheduler in this process (default true).
    pub background: bool,
    /// `ROADSHOW_TRUSTED_PROXY_HOPS` (default 0) and `ROADSHOW_TRUSTED_PROXIES` (comma-separated
    /// CIDR networks, default none): which proxies in front of us may name the client in
    /// `X-Forwarded-For` (see [`TrustedProxies::client_ip`]). The old `ROADSHOW_TRUST_PROXY=true`
    /// still works, as 1 hop, with a warning at start.
    pub trusted_proxies: TrustedProxies,
    /// `ROADSHOW_PUBLIC_CACHE_ENTRIES`: most answers the public read cache keeps per process
    /// (default 10000; 0 turns the cache off).
    pub public_cache_entries: usize,
    /// `ROADSHOW_PUBLIC_CACHE_BYTES`: most bytes of answers (and their keys) that cache keeps per
    /// process (default 64 MiB).
    pub public_cache_bytes: usize,
    /// `ROADSHOW_MAIL_MAX_ATTEMPTS`: delivery attempts before an email is dead-lettered (default 12,
    /// about 6 hours of retries with the backoff capped at an hour).
    pub mail_max_attempts: u32,
    /// `ROADSHOW_MAIL_POLL_MS`: how often the outbox worker looks for due email (default 1000).
    pub mail_poll_ms: u64,
    /// `ROADSHOW_MAIL_CONCURRENCY`: messages one process sends at once, which is also its SMTP
    /// connection pool size (default 16).
    pub mail_concurrency: u32,
    /// `ROADSHOW_SCHEDULER_INTERVAL_SECONDS`: how often reminders and follow-ups are looked for
    /// (default 60).
    pub scheduler_interval_secs: u64,
    /// `ROADSHOW_WORKER_STALL_SECONDS`: the least time a background worker may go without
    /// progress before `/readyz` reports it stalled; the bound is max(3 × the worker's interval,
    /// this) (default 30).
    pub worker_stall_secs: u64,
    /// `ROADSHOW_CORS_ORIGINS`: comma-separated origins (`https://partners.example.org`) whose
    /// browser pages may call the API. Empty (the default): no cross-origin access at all.
    pub cors_origins: Vec<String>,
    /// `ROADSHOW_EMBED_ORIGINS`: comma-separated origins (`https://txchamber.example`) whose
    /// pages may show the embeddable blocks (`/embed/…`) in a frame. Empty: none may.
    pub embed_origins: Vec<String>,
    /// `ROADSHOW_MAIL_HOURLY_CAP`: emails a public request can make the service send to one address
    /// per clock hour (confirmations, cancellations, link emails); past it they are recorded as
    /// `suppressed` and never sent. 0 turns the cap off. Default 20.
    pub mail_hourly_cap: u32,
    /// `ROADSHOW_LINKS_EMAIL_MINUTES`: at most one "your links" email, and one privacy link per kind,
    /// per address in this many minutes (default 15).
    pub links_email_minutes: u32,
    /// `ROADSHOW_IDEMPOTENCY_TTL_HOURS`: how long an `Idempotency-Key` is remembered (default 24).
    pub idempotency_ttl_hours: u32,
    /// `ROADSHOW_EXPERT_BOOKINGS_PER_BUSINESS`: active expert bookings one business may hold per
    /// roadshow stop (online sessions: per day), so one business cannot take a whole afternoon.
    pub expert_bookings_per_business: u32,
    /// `ROADSHOW_WEBINAR_ATTENDANCE_MINUTES`: minutes of a webinar an attendee must have watched
    /// (the platform's attendance export) to count as having attended and earn the ad credit
    /// (default 30).
    pub webinar_attendance_minutes: u32,
    /// `ROADSHOW_SHUTDOWN_SECONDS`: on SIGTERM or Ctrl-C, how long requests in flight may take to
    /// finish, and then how long background workers may take to finish their step (default 20).
    pub shutdown_seconds: u64,
    /// `ROADSHOW_WEBHOOK_ALLOW_PRIVATE`: lets webhook endpoints point into private and loopback
    /// networks (default false: only public addresses, so the service cannot be aimed at its own
    /// network).
    pub webhook_allow_private: bool,
    /// `ROADSHOW_METRICS_TOKEN`: when set, `GET /metrics` needs `Authorization: Bearer <it>`.
    pub metrics_token: Option<String>,
    /// Test-only: makes background workers panic on purpose. Never set from the environment.
    #[doc(hidden)]
    pub fault_injection: crate::jobs::supervisor::FaultInjection,
}

/// A bad environment value: which variable, and why.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Config {
    /// Defaults a newcomer gets with no environment at all.
    pub fn defaults() -> Config {
        Config {
            database_url: "sqlite://roadshow.db".into(),
            bind: "127.0.0.1:8080".parse().expect("valid literal address"),
            public_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            smtp_ca_file: None,
            mail_dir: PathBuf::from("./mail"),
            mail_from: "Roadshow <no-reply@localhost>".into(),
            rate_limit_per_minute: 60,
            clock: crate::clock::Clock::system(),
            db_pool_size: 0,
            http_workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            background: true,
            trusted_proxies: TrustedProxies::default(),
            public_cache_entries: 10_000,
            public_cache_bytes: 64 * 1024 * 1024,
            mail_max_attempts: 12,
            mail_poll_ms: 1000,
            mail_concurrency: 16,
            scheduler_interval_secs: 60,
            worker_stall_secs: 30,
            cors_origins: Vec::new(),
            embed_origins: Vec::new(),
            mail_hourly_cap: 20,
            links_email_minutes: 15,
            idempotency_ttl_hours: 24,
            expert_bookings_per_business: 1,
            webinar_attendance_minutes: 30,
            metrics_token: None,
            webhook_allow_private: false,
            shutdown_seconds: 20,
            fault_injection: Default::default(),
        }
    }

    /// Reads every variable of the README's "Configuration" table, applying defaults, and validates them.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Same as [`Config::from_env`] with a custom lookup (tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::defaults();
        if let Some(v) = get("DATABASE_URL") {
            c.database_url = v;
        }
        if let Some(v) = get("ROADSHOW_BIND") {
            c.bind = v.trim().parse().map_err(|_| ConfigError {
                var: "ROADSHOW_BIND",
                message: format!("{v:?} is not an address like 127.0.0.1:8080"),
            })?;
        }
        if let Some(v) = get("ROADSHOW_PUBLIC_URL") {
            c.public_url = v.trim().trim_end_matches('/').to_string();
        }
        c.smtp_url = get("ROADSHOW_SMTP_URL");
        c.smtp_ca_file = get("ROADSHOW_SMTP_CA_FILE").map(PathBuf::from);
        if let Some(v) = get("ROADSHOW_MAIL_DIR") {
            c.mail_dir = PathBuf::from(v);
        }
        if let Some(v) = get("ROADSHOW_MAIL_FROM") {
            c.mail_from = v;
        }
        if let Some(v) = get("ROADSHOW_RATE_LIMIT_PER_MINUTE") {
            c.rate_limit_per_minute = parse_num("ROADSHOW_RATE_LIMIT_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("ROADSHOW_DB_POOL_SIZE") {
            c.db_pool_size = parse_num("ROADSHOW_DB_POOL_SIZE", &v)?;
            if c.db_pool_size == 0 {
                return Err(ConfigError { var: "ROADSHOW_DB_POOL_SIZE", message: "must be at least 1".into() });
            }
        }
        if let Some(v) = get("ROADSHOW_HTTP_WORKERS") {
            c.http_workers = parse_num("ROADSHOW_HTTP_WORKERS", &v)?;
            if c.http_workers == 0 {
                return Err(ConfigError { var: "ROADSHOW_HTTP_WORKERS", message: "must be at least 1".into() });
            }
        }
        if let Some(v) = get("ROADSHOW_BACKGROUND") {
            c.background = parse_bool("ROADSHOW_BACKGROUND", &v)?;
        }
        let hops = get("ROADSHOW_TRUSTED_PROXY_HOPS");
        if let Some(v) = &hops {
            c.trusted_proxies.hops = parse_num("ROADSHOW_TRUSTED_PROXY_HOPS", v)?;
        }
        if let Some(v) = get("ROADSHOW_TRUSTED_PROXIES") {
            c.trusted_proxies.networks = v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(IpNet::parse)
                .collect::<Result<_, _>>()
                .map_err(|message| ConfigError { var: "ROADSHOW_TRUSTED_PROXIES", message })?;
        }
        if let Some(v) = get("ROADSHOW_TRUST_PROXY") {
            // The old yes/no setting: kept so an upgrade does not silently start rate-limiting a
            // whole proxy as one client; it meant "the peer is our proxy", which is one hop.
            let old = parse_bool("ROADSHOW_TRUST_PROXY", &v)?;
            if hops.is_some() {
                return Err(ConfigError {
                    var: "ROADSHOW_TRUST_PROXY",
                    message: "is replaced by ROADSHOW_TRUSTED_PROXY_HOPS; set only the new one".into(),
                });
            }
            if old {
                c.trusted_proxies.hops = 1;
            }
            tracing::warn!(
                "ROADSHOW_TRUST_PROXY is deprecated: use ROADSHOW_TRUSTED_PROXY_HOPS={} (and/or ROADSHOW_TRUSTED_PROXIES)",
                c.trusted_proxies.hops
            );
        }
        if let Some(v) = get("ROADSHOW_PUBLIC_CACHE_ENTRIES") {
            c.public_cache_entries = parse_num("ROADSHOW_PUBLIC_CACHE_ENTRIES", &v)?;
        }
        if let Some(v) = get("ROADSHOW_PUBLIC_CACHE_BYTES") {
            c.public_cache_bytes = parse_num("ROADSHOW_PUBLIC_CACHE_BYTES", &v)?;
        }
        if let Some(v) = get("ROADSHOW_MAIL_MAX_ATTEMPTS") {
            c.mail_max_attempts = parse_num("ROADSHOW_MAIL_MAX_ATTEMPTS", &v)?;
        }
        if let Some(v) = get("ROADSHOW_MAIL_POLL_MS") {
            c.mail_poll_ms = parse_num("ROADSHOW_MAIL_POLL_MS", &v)?;
        }
        if let Some(v) = get("ROADSHOW_MAIL_CONCURRENCY") {
            c.mail_concurrency = parse_num("ROADSHOW_MAIL_CONCURRENCY", &v)?;
        }
        if let Some(v) = get("ROADSHOW_SCHEDULER_INTERVAL_SECONDS") {
            c.scheduler_interval_secs = parse_num("ROADSHOW_SCHEDULER_INTERVAL_SECONDS", &v)?;
        }
        if let Some(v) = get("ROADSHOW_WORKER_STALL_SECONDS") {
            c.worker_stall_secs = parse_num("ROADSHOW_WORKER_STALL_SECONDS", &v)?;
        }
        if let Some(v) = get("ROADSHOW_CORS_ORIGINS") {
            c.cors_origins =
                v.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect();
        }
        if let Some(v) = get("ROADSHOW_EMBED_ORIGINS") {
            c.embed_origins =
                v.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect();
        }
        if let Some(v) = get("ROADSHOW_MAIL_HOURLY_CAP") {
            c.mail_hourly_cap = parse_num("ROADSHOW_MAIL_HOURLY_CAP", &v)?;
        }
        if let Some(v) = get("ROADSHOW_LINKS_EMAIL_MINUTES") {
            c.links_email_minutes = parse_num("ROADSHOW_LINKS_EMAIL_MINUTES", &v)?;
        }
        if let Some(v) = get("ROADSHOW_IDEMPOTENCY_TTL_HOURS") {
            c.idempotency_ttl_hours = parse_num("ROADSHOW_IDEMPOTENCY_TTL_HOURS", &v)?;
        }
        if let Some(v) = get("ROADSHOW_SHUTDOWN_SECONDS") {
            c.shutdown_seconds = parse_num("ROADSHOW_SHUTDOWN_SECONDS", &v)?;
            if c.shutdown_seconds > 600 {
                return Err(ConfigError { var: "ROADSHOW_SHUTDOWN_SECONDS", message: "must be at most 600".into() });
            }
        }
        if let Some(v) = get("ROADSHOW_WEBHOOK_ALLOW_PRIVATE") {
            c.webhook_allow_private = match v.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ConfigError {
                        var: "ROADSHOW_WEBHOOK_ALLOW_PRIVATE",
                        message: format!("{v:?} is not true or false"),
                    })
                }
            };
        }
        if let Some(v) = get("ROADSHOW_METRICS_TOKEN") {
            if v.trim().len() < 16 {
                return Err(ConfigError {
                    var: "ROADSHOW_METRICS_TOKEN",
                    message: "must be at least 16 characters".into(),
                });
            }
            c.metrics_token = Some(v.trim().to_string());
        }
        if let Some(v) = get("ROADSHOW_WEBINAR_ATTENDANCE_MINUTES") {
            c.webinar_attendance_minutes = parse_num("ROADSHOW_WEBINAR_ATTENDANCE_MINUTES", &v)?;
        }
        if let Some(v) = get("ROADSHOW_EXPERT_BOOKINGS_PER_BUSINESS") {
            c.expert_bookings_per_business = parse_num("ROADSHOW_EXPERT_BOOKINGS_PER_BUSINESS", &v)?;
            if c.expert_bookings_per_business == 0 {
                return Err(ConfigError {
                    var: "ROADSHOW_EXPERT_BOOKINGS_PER_BUSINESS",
                    message: "must be at least 1".into(),
                });
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks values that may also come from code (tests build a `Config` by hand).
    pub fn validate(&self) -> Result<(), ConfigError> {
        DatabaseTarget::parse(&self.database_url).map_err(|message| ConfigError { var: "DATABASE_URL", message })?;
        let pu = &self.public_url;
        if !(pu.starts_with("http://") || pu.starts_with("https://")) || pu.len() < 10 {
            return Err(ConfigError {
                var: "ROADSHOW_PUBLIC_URL",
                message: format!("{pu:?} is not an http:// or https:// URL"),
            });
        }
        if let Some(smtp) = &self.smtp_url {
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                return Err(ConfigError {
                    var: "ROADSHOW_SMTP_URL",
                    message: "must start with smtp:// or smtps://".into(),
                });
            }
        }
        if !(1..=100).contains(&self.mail_max_attempts) {
            return Err(ConfigError { var: "ROADSHOW_MAIL_MAX_ATTEMPTS", message: "must be between 1 and 100".into() });
        }
        if !(10..=3_600_000).contains(&self.mail_poll_ms) {
            return Err(ConfigError {
                var: "ROADSHOW_MAIL_POLL_MS",
                message: "must be between 10 and 3600000 (milliseconds)".into(),
            });
        }
        if !(1..=256).contains(&self.mail_concurrency) {
            return Err(ConfigError { var: "ROADSHOW_MAIL_CONCURRENCY", message: "must be between 1 and 256".into() });
        }
        if !(1..=1_440).contains(&self.links_email_minutes) {
            return Err(ConfigError {
                var: "ROADSHOW_LINKS_EMAIL_MINUTES",
                message: "must be between 1 and 1440 (minutes)".into(),
            });
        }
        if !(1..=8_760).contains(&self.idempotency_ttl_hours) {
            return Err(ConfigError {
                var: "ROADSHOW_IDEMPOTENCY_TTL_HOURS",
                message: "must be between 1 and 8760 (hours)".into(),
            });
        }
        if !(1..=86_400).contains(&self.scheduler_interval_secs) {
            return Err(ConfigError {
                var: "ROADSHOW_SCHEDULER_INTERVAL_SECONDS",
                message: "must be between 1 and 86400".into(),
            });
        }
        if !(1..=86_400).contains(&self.worker_stall_secs) {
            return Err(ConfigError {
                var: "ROADSHOW_WORKER_STALL_SECONDS",
                message: "must be between 1 and 86400".into(),
            });
        }
        self.mail_from.parse::<lettre::message::Mailbox>().map_err(|e| ConfigError {
            var: "ROADSHOW_MAIL_FROM",
            message: format!("{:?} is not a mailbox like `Roadshow <no-reply@example.org>`: {e}", self.mail_from),
        })?;
        if self.trusted_proxies.hops > 16 {
            return Err(ConfigError {
                var: "ROADSHOW_TRUSTED_PROXY_HOPS",
                message: "must be between 0 and 16 (the proxies in front of the service)".into(),
            });
        }
        if self.public_cache_entries > 1_000_000 {
            return Err(ConfigError {
                var: "ROADSHOW_PUBLIC_CACHE_ENTRIES",
                message: "must be between 0 and 1000000".into(),
            });
        }
        if self.public_cache_entries > 0 && !(64 * 1024..=4 << 30).contains(&self.public_cache_bytes) {
            return Err(ConfigError {
                var: "ROADSHOW_PUBLIC_CACHE_BYTES",
                message: "must be between 65536 (64 KiB) and 4294967296 (4 GiB)".into(),
            });
        }
        for origin in &self.embed_origins {
            if !is_origin(origin) {
                return Err(ConfigError {
                    var: "ROADSHOW_EMBED_ORIGINS",
                    message: format!("{origin:?} is not an origin like https://txchamber.example (no path, no *)"),
                });
            }
        }
        for origin in &self.cors_origins {
            let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty() && !r.contains('/') && !r.contains('*') && !r.chars().any(|c| c.is_whitespace())
            });
            if !ok {
                return Err(ConfigError {
                    var: "ROADSHOW_CORS_ORIGINS",
                    message: format!("{origin:?} is not an origin like https://partners.example.org (no path, no *)"),
                });
            }
        }
        Ok(())
    }

    /// The pool size to use: the configured one, or a default that suits the backend.
    pub fn effective_pool_size(&self) -> u32 {
        if self.db_pool_size > 0 {
            self.db_pool_size
        } else if DatabaseTarget::parse(&self.database_url).map(|t| t.is_postgres()).unwrap_or(false) {
            16
        } else {
            8
        }
    }
}

fn parse_num<T: std::str::FromStr>(var: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError { var, message: format!("{v:?} is not a whole number") })
}

fn parse_bool(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError { var, message: format!("{v:?} is not true or false") }),
    }
}

/// `http(s)://host[:port]`: no path, no wildcard, nothing a header could be split on.
fn is_origin(origin: &str) -> bool {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_environment_gives_the_documented_defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://roadshow.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.rate_limit_per_minute, 60);
        assert!(c.smtp_url.is_none());
        assert!(c.smtp_ca_file.is_none());
        let c = with(&[("ROADSHOW_SMTP_CA_FILE", "/etc/roadshow/relay-ca.pem")]).unwrap();
        assert_eq!(c.smtp_ca_file, Some(PathBuf::from("/etc/roadshow/relay-ca.pem")));
        assert!(c.cors_origins.is_empty(), "CORS is closed by default");
        assert_eq!(c.worker_stall_secs, 30);
    }

    #[test]
    fn embed_origins_are_a_checked_list() {
        assert!(with(&[]).unwrap().embed_origins.is_empty(), "no site may frame the blocks by default");
        let c = with(&[("ROADSHOW_EMBED_ORIGINS", "https://txchamber.example, http://localhost:3000/")]).unwrap();
        assert_eq!(c.embed_origins, vec!["https://txchamber.example", "http://localhost:3000"]);
        for bad in ["*", "https://a.example.org/path", "a.example.org", "https://a.example;script-src *"] {
            assert_eq!(with(&[("ROADSHOW_EMBED_ORIGINS", bad)]).unwrap_err().var, "ROADSHOW_EMBED_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn cors_origins_are_a_checked_list() {
        let c = with(&[("ROADSHOW_CORS_ORIGINS", "https://a.example.org, http://localhost:3000/")]).unwrap();
        assert_eq!(c.cors_origins, vec!["https://a.example.org", "http://localhost:3000"]);
        for bad in ["*", "https://a.example.org/path", "a.example.org"] {
            assert_eq!(with(&[("ROADSHOW_CORS_ORIGINS", bad)]).unwrap_err().var, "ROADSHOW_CORS_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(with(&[("ROADSHOW_BIND", "nope")]).unwrap_err().var, "ROADSHOW_BIND");
        assert_eq!(with(&[("DATABASE_URL", "postgres:db")]).unwrap_err().var, "DATABASE_URL");
        assert_eq!(
            with(&[("ROADSHOW_RATE_LIMIT_PER_MINUTE", "-1")]).unwrap_err().var,
            "ROADSHOW_RATE_LIMIT_PER_MINUTE"
        );
        assert_eq!(with(&[("ROADSHOW_SMTP_URL", "http://x")]).unwrap_err().var, "ROADSHOW_SMTP_URL");
        assert_eq!(with(&[("ROADSHOW_MAIL_FROM", "not a mailbox")]).unwrap_err().var, "ROADSHOW_MAIL_FROM");
        assert_eq!(with(&[("ROADSHOW_PUBLIC_URL", "ftp://x")]).unwrap_err().var, "ROADSHOW_PUBLIC_URL");
        for var in [
            "ROADSHOW_MAIL_MAX_ATTEMPTS",
            "ROADSHOW_MAIL_POLL_MS",
            "ROADSHOW_MAIL_CONCURRENCY",
            "ROADSHOW_SCHEDULER_INTERVAL_SECONDS",
            "ROADSHOW_WORKER_STALL_SECONDS",
        ] {
            assert_eq!(with(&[(var, "0")]).unwrap_err().var, var);
            assert_eq!(with(&[(var, "soon")]).unwrap_err().var, var);
        }
    }

    #[test]
    fn trusted_proxies_are_hops_and_networks() {
        let c = with(&[]).unwrap();
        assert_eq!(c.trusted_proxies, TrustedProxies::default(), "nobody is trusted by default");
        let c = with(&[
            ("ROADSHOW_TRUSTED_PROXY_HOPS", "2"),
            ("ROADSHOW_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1/32,fd00::/8"),
        ])
        .unwrap();
        assert_eq!(c.trusted_proxies.hops, 2);
        let nets: Vec<String> = c.trusted_proxies.networks.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]);
        for bad in ["10.0.0.0/33", "10.0.0.1/8", "localhost", "10.0.0.0/8;"] {
            assert_eq!(
                with(&[("ROADSHOW_TRUSTED_PROXIES", bad)]).unwrap_err().var,
                "ROADSHOW_TRUSTED_PROXIES",
                "{bad}"
            );
        }
        for bad in ["-1", "x", "17"] {
            assert_eq!(with(&[("ROADSHOW_TRUSTED_PROXY_HOPS", bad)]).unwrap_err().var, "ROADSHOW_TRUSTED_PROXY_HOPS");
        }
    }

    #[test]
    fn the_old_trust_proxy_switch_means_one_hop() {
        assert_eq!(with(&[("ROADSHOW_TRUST_PROXY", "true")]).unwrap().trusted_proxies.hops, 1);
        assert_eq!(with(&[("ROADSHOW_TRUST_PROXY", "false")]).unwrap().trusted_proxies.hops, 0);
        assert_eq!(with(&[("ROADSHOW_TRUST_PROXY", "maybe")]).unwrap_err().var, "ROADSHOW_TRUST_PROXY");
        let both = with(&[("ROADSHOW_TRUST_PROXY", "true"), ("ROADSHOW_TRUSTED_PROXY_HOPS", "2")]).unwrap_err();
        assert_eq!(both.var, "ROADSHOW_TRUST_PROXY");
        assert!(both.message.contains("ROADSHOW_TRUSTED_PROXY_HOPS"), "{}", both.message);
    }

    #[test]
    fn public_cache_bounds_are_checked() {
        let c = with(&[]).unwrap();
        assert_eq!((c.public_cache_entries, c.public_cache_bytes), (10_000, 64 * 1024 * 1024));
        assert_eq!(with(&[("ROADSHOW_PUBLIC_CACHE_ENTRIES", "0")]).unwrap().public_cache_entries, 0);
        for (var, bad) in [
            ("ROADSHOW_PUBLIC_CACHE_ENTRIES", "2000000"),
            ("ROADSHOW_PUBLIC_CACHE_ENTRIES", "lots"),
            ("ROADSHOW_PUBLIC_CACHE_BYTES", "100"),
            ("ROADSHOW_PUBLIC_CACHE_BYTES", "-5"),
        ] {
            assert_eq!(with(&[(var, bad)]).unwrap_err().var, var, "{var}={bad}");
        }
    }
}
