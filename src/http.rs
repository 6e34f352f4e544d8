//! HTTP plumbing shared by every feature: body and query extractors that name the bad field,
//! path-id parsing, pagination, and the client's address behind trusted proxies. A NUL character
//! anywhere in a JSON body, a query parameter or a path id is a 422 naming where it is. A JSON
//! body is an object (or `null` where a handler takes an optional one): serde alone would read a
//! struct from an array, field by field in order, so `["x"]` would pass for `{"name": "x"}`.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{AppError, FieldError};

/// Default cap on JSON request bodies.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Overrides [`DEFAULT_BODY_LIMIT`] when registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body parsed with the path of any bad value kept, so the answer names the field
/// (`business.email`), and capped in size (413). Anything but JSON is a 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = read_json::<T>(req, payload, false);
        Box::pin(async move { fut.await?.map(JsonBody).ok_or_else(|| AppError::bad_field("body", "is required")) })
    }
}

/// Like [`JsonBody`], for endpoints whose body is optional: no body at all gives `None`, while a
/// body that is there must be valid JSON (it is never silently ignored).
pub struct MaybeJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for MaybeJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = read_json::<T>(req, payload, true);
        Box::pin(async move { fut.await.map(MaybeJson) })
    }
}

/// A `text/csv` request body (UTF-8, at most [`CSV_BODY_LIMIT`] bytes): uploads from other
/// systems (webinar attendance, small-business counts). Anything else is a 415; a body that is not
/// UTF-8 a 400 naming `body`.
pub struct CsvBody(pub String);

/// The largest CSV upload: 4 MiB (about 100,000 attendance rows).
pub const CSV_BODY_LIMIT: usize = 4 << 20;

impl CsvBody {
    /// Reads the body inside a handler, after its role and scope checks (an extractor would run
    /// first, and answer a 415 to a caller who may not use the endpoint at all).
    pub async fn read(req: &HttpRequest, payload: actix_web::web::Payload) -> Result<CsvBody, AppError> {
        let mut payload = payload.into_inner();
        <CsvBody as FromRequest>::from_request(req, &mut payload).await
    }
}

impl FromRequest for CsvBody {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mime = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let declared: Option<usize> =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if mime != "text/csv" {
                return Err(AppError::UnsupportedMediaType("send the file with `Content-Type: text/csv`".into()));
            }
            let limit = CSV_BODY_LIMIT;
            if declared.is_some_and(|n| n > limit) {
                return Err(AppError::PayloadTooLarge { limit });
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| AppError::bad_field("body", format!("could not be read: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            let text =
                String::from_utf8(body.to_vec()).map_err(|_| AppError::bad_field("body", "is not UTF-8 text"))?;
            Ok(CsvBody(text.trim_start_matches('\u{feff}').to_string()))
        })
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `"say ""hi"""`). `None` when a
/// quote is left open. Lines are split by the caller (no newlines inside fields here).
pub fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            (false, ',') => {
                out.push(std::mem::take(&mut field).trim().to_string());
                at_start = true;
            }
            (_, c) => {
                if !(at_start && c == ' ') {
                    at_start = false;
                }
                field.push(c);
            }
        }
    }
    if quoted {
        return None;
    }
    out.push(field.trim().to_string());
    Some(out)
}

fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    allow_empty: bool,
) -> impl Future<Output = Result<Option<T>, AppError>> {
    let limit = req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(DEFAULT_BODY_LIMIT);
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let is_json = {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    };
    let declared: Option<usize> =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let mut payload = payload.take();
    async move {
        if declared.is_some_and(|n| n > limit) {
            return Err(AppError::PayloadTooLarge { limit });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| AppError::bad_field("body", format!("could not be read: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(AppError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        if allow_empty && body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        if !is_json {
            return Err(AppError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        require_object(&body)?;
        parse_json(&body).map(Some)
    }
}

/// A body whose top-level value is not an object (or `null`) is a 422 naming `body`; one that is
/// not JSON at all stays the 400 of [`parse_json`].
fn require_object(body: &[u8]) -> Result<(), AppError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None | Some(b'{') | Some(b'n') => Ok(()),
        Some(_) => {
            parse_json::<serde::de::IgnoredAny>(body)?;
            Err(AppError::field("body", "must be a JSON object"))
        }
    }
}

/// Parses JSON, turning serde's message into a problem that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(AppError::bad_field("body", "is empty; a JSON object is expected"));
    }
    // A NUL can only arrive escaped (a raw one is a JSON syntax error); look for where it is only
    // when the escape is there at all, so ordinary bodies are parsed once.
    if memchr_seq(bytes, br"\u0000") {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
            if let Some(field) = nul_path(&value, String::new()) {
                return Err(AppError::field(field, crate::validate::NUL_MESSAGE));
            }
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Syntax | Category::Eof | Category::Io => {
                    Err(AppError::bad_field("body", format!("is not valid JSON ({})", inner)))
                }
                Category::Data => {
                    let message = strip_position(&inner.to_string());
                    Err(AppError::Validation(vec![field_from_serde(&path, &message)]))
                }
            }
        }
    }
}

fn memchr_seq(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The JSON path (`attendee.name`, `topics[2]`) of the first string, or object key, holding a NUL.
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match value {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() { "body".into() } else { path }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(if path.is_empty() { "body".into() } else { path.clone() })
            } else {
                nul_path(v, join(k))
            }
        }),
        _ => None,
    }
}

/// Query parameters parsed like [`JsonBody`]: a bad or unknown parameter is a 400 naming it.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned> FromRequest for QueryParams<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(QueryParams))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    // `%00` decodes to NUL, which no parameter may hold (PostgreSQL cannot even compare it).
    if let Some((name, _)) = form_urlencoded_parse(query).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        let name = if name.contains('\0') { "query".to_string() } else { name.into_owned() };
        return Err(AppError::field(name, crate::validate::NUL_MESSAGE));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
        let path = err.path().to_string();
        let message = strip_position(&err.into_inner().to_string());
        let fe = field_from_serde(&path, &message);
        AppError::BadRequest { detail: format!("query parameter `{}` {}", fe.field, fe.message), errors: vec![fe] }
    })
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// serde says "unknown field `x`" or "missing field `x`" at the parent's path; name the child.
fn field_from_serde(path: &str, message: &str) -> FieldError {
    let parent = if path == "." || path.is_empty() { String::new() } else { path.to_string() };
    let join = |name: &str| if parent.is_empty() { name.to_string() } else { format!("{parent}.{name}") };
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(name) = rest.split('`').next() {
                let what = if prefix.starts_with("unknown") { "is not a known field" } else { "is required" };
                // serde_path_to_error already ends the path with an unknown field's name.
                let already = parent == name || parent.ends_with(&format!(".{name}"));
                let field = if already { parent.clone() } else { join(name) };
                return FieldError::new(field, what);
            }
        }
    }
    let field = if parent.is_empty() { "body".to_string() } else { parent };
    FieldError::new(field, message.to_string())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Parses an id from the path: a UUID, returned in its stored (lowercase, hyphenated) form.
pub fn parse_id(field: &str, raw: &str) -> Result<String, AppError> {
    if raw.contains('\0') {
        return Err(AppError::field(field, crate::validate::NUL_MESSAGE));
    }
    uuid::Uuid::parse_str(raw).map(|u| u.to_string()).map_err(|_| AppError::bad_field(field, "is not a valid UUID"))
}

/// `?limit=`: default 50, at most 200.
pub fn page_limit(limit: Option<i64>) -> Result<i64, AppError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(AppError::bad_field("limit", "must be between 1 and 200")),
    }
}

/// A page of a list: `{ "items": [...], "next_cursor": "…" | null }`.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// Cuts a page fetched with `limit + 1` rows down to `limit` and, when there was more, returns the
/// cursor of the last row kept (`key` gives a row's keyset position).
pub fn next_page<T, K: Serialize>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Option<String> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    }
}

/// Encodes a keyset position as an opaque cursor.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    let json = serde_json::to_vec(key).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is a 400 naming `cursor`.
pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, AppError> {
    let bad = || AppError::bad_field("cursor", "is not a cursor this list gave out");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// A network whose addresses are proxies of ours (`10.0.0.0/8`, `fd00::/8`; a bare address is a
/// `/32` or `/128`). Parsed from `ROADSHOW_TRUSTED_PROXIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Reads `addr/prefix` or a bare address. Host bits set below the prefix (`10.1.2.3/8`) are
    /// refused: such a value is almost always a typo, and guessing which network was meant would
    /// trust the wrong machines.
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| format!("{s:?} is not an address or a CIDR network"))?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("{s:?}: the prefix length must be 0 to {max}")),
            },
        };
        let net = IpNet { addr, prefix };
        if net.masked(addr) != addr {
            return Err(format!("{s:?} has bits set after the prefix; write the network address (e.g. 10.0.0.0/8)"));
        }
        Ok(net)
    }

    /// Whether `ip` is inside the network (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.addr.is_ipv4() && self.masked(ip) == self.addr
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which machines in front of us may tell us the client's address in `X-Forwarded-For`
/// (`ROADSHOW_TRUSTED_PROXY_HOPS`, `ROADSHOW_TRUSTED_PROXIES`). The default trusts nobody: the
/// client is the socket peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// The socket peer and the `hops - 1` right-most `X-Forwarded-For` entries are proxies.
    pub hops: u32,
    /// Any address inside one of these is a proxy, wherever it appears in the chain.
    pub networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Whether the hop at `position` (0 = the socket peer, 1 = the right-most `X-Forwarded-For`
    /// entry, …) with address `ip` is one of our proxies.
    fn trusts(&self, position: u32, ip: IpAddr) -> bool {
        position < self.hops || self.networks.iter().any(|n| n.contains(ip))
    }

    /// The client's address: walk the chain from the socket peer leftwards through
    /// `X-Forwarded-For` (each value in `forwarded_for` is one header line, left to right), and
    /// stop at the first hop that is not a trusted proxy. Only a trusted peer's header is read at
    /// all; entries left of the first untrusted one were written by the client and cannot move
    /// it to another address. An entry that is not an address (garbage, `unknown`, an empty item)
    /// ends the walk at the last proxy, since nothing beyond it can be believed.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let mut current = canonical(peer?);
        if !self.trusts(0, current) {
            return Some(current);
        }
        let mut position = 0u32;
        for raw in forwarded_for.iter().rev().flat_map(|line| line.rsplit(',')) {
            let Some(ip) = parse_forwarded_addr(raw) else { break };
            position = position.saturating_add(1);
            current = ip;
            if !self.trusts(position, ip) {
                break;
            }
        }
        Some(current)
    }
}

/// One `X-Forwarded-For` entry: an IPv4 or IPv6 address, maybe with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`) or in brackets; anything else is `None`.
pub fn parse_forwarded_addr(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 64 {
        return None;
    }
    let ip = raw
        .parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse().ok()))?;
    Some(canonical(ip))
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as dual-stack sockets report IPv4 peers) as the
/// IPv4 address it is, so one client has one form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client's address (see [`TrustedProxies::client_ip`]); `None` only when the connection has
/// no peer address (a Unix socket or a test request).
pub fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let lines: Vec<&str> = if proxies.hops == 0 && proxies.networks.is_empty() {
        Vec::new()
    } else {
        req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect()
    };
    proxies.client_ip(peer, &lines)
}

/// Answers for actix's own extractors, so even they reply with problem+json.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(DEFAULT_BODY_LIMIT)
        .error_handler(|err, _| AppError::bad_field("body", strip_position(&err.to_string())).into())
}

pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _| AppError::bad_field("query", strip_position(&err.to_string())).into())
}

pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|err, _| AppError::bad_field("path", err.to_string()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        business: Inner,
        capacity: i32,
    }

    fn field_of(err: AppError) -> String {
        match err {
            AppError::Validation(e) => e[0].field.clone(),
            AppError::BadRequest { errors, .. } => errors[0].field.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Outer>(br#"{"business":{"email":"a@b"},"capacity":"x"}"#).unwrap_err();
        assert_eq!(field_of(e), "capacity");
        let e = parse_json::<Outer>(br#"{"business":{"email":"a@b","x":1},"capacity":1}"#).unwrap_err();
        assert_eq!(field_of(e), "business.x");
        let e = parse_json::<Outer>(br#"{"business":{},"capacity":1}"#).unwrap_err();
        assert_eq!(field_of(e), "business.email");
        let e = parse_json::<Outer>(br#"{"business":"#).unwrap_err();
        assert_eq!(field_of(e), "body");
    }

    #[test]
    fn a_body_is_an_object_or_null() {
        assert!(require_object(br#" {"name": "x"}"#).is_ok());
        assert!(require_object(b"null").is_ok());
        for body in [&br#"["x"]"#[..], br#""x""#, b"1", b"true", b" []"] {
            let e = require_object(body).unwrap_err();
            assert!(matches!(&e, AppError::Validation(_)), "{e:?}");
            assert_eq!(field_of(e), "body");
        }
        // Not JSON at all: still the 400 of a syntax error.
        assert!(matches!(require_object(b"[1,"), Err(AppError::BadRequest { .. })));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&("2026-01-01T00:00:00Z", "abc"));
        let back: (String, String) = decode_cursor(&c).unwrap();
        assert_eq!(back.1, "abc");
        assert!(decode_cursor::<(String, String)>("!!!").is_err());
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(hops: u32, nets: &[&str]) -> TrustedProxies {
        TrustedProxies { hops, networks: nets.iter().map(|n| IpNet::parse(n).unwrap()).collect() }
    }

    #[test]
    fn forwarded_entries_parse_ipv4_ipv6_and_ports() {
        assert_eq!(parse_forwarded_addr(" 203.0.113.7 "), Some(ip("203.0.113.7")));
        assert_eq!(parse_forwarded_addr("203.0.113.7:5678"), Some(ip("203.0.113.7")));
        assert_eq!(parse_forwarded_addr("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded_addr("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded_addr("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded_addr("::ffff:198.51.100.2"), Some(ip("198.51.100.2")));
        for bad in ["", "unknown", "evil", "1.2.3", "1.2.3.4.5", "_hidden", "1.2.3.4 5.6.7.8", &"9".repeat(100)] {
            assert_eq!(parse_forwarded_addr(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn networks_parse_and_contain() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.200.3.4")));
        assert!(n.contains(ip("::ffff:10.1.1.1")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(!n.contains(ip("::a00:1")), "an IPv6 address is never inside an IPv4 network");
        let one = IpNet::parse("127.0.0.1").unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = IpNet::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12:3456::1")) && !v6.contains(ip("fe80::1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "10.1.2.3/8", "nope", "10.0.0.0/", "::/129", "10.0.0.0/x"] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(Some(ip("127.0.0.1")), &["203.0.113.7"]), Some(ip("127.0.0.1")));
        assert_eq!(none.client_ip(None, &["203.0.113.7"]), None);
        // A peer outside the trusted networks cannot speak for anyone else either.
        let nets = proxies(0, &["10.0.0.0/8"]);
        assert_eq!(nets.client_ip(Some(ip("198.51.100.9")), &["203.0.113.7"]), Some(ip("198.51.100.9")));
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let one_hop = proxies(1, &[]);
        let peer = Some(ip("127.0.0.1"));
        assert_eq!(one_hop.client_ip(peer, &["203.0.113.7"]), Some(ip("203.0.113.7")));
        // Forged entries on the left change nothing.
        assert_eq!(one_hop.client_ip(peer, &["1.1.1.1, 203.0.113.7"]), Some(ip("203.0.113.7")));
        assert_eq!(one_hop.client_ip(peer, &["garbage, 8.8.8.8, 203.0.113.7"]), Some(ip("203.0.113.7")));
        // Several header lines are one list, in order.
        assert_eq!(one_hop.client_ip(peer, &["1.1.1.1", "203.0.113.7:4444"]), Some(ip("203.0.113.7")));
        // Two hops: the peer and the entry it added are proxies.
        let two_hops = proxies(2, &[]);
        assert_eq!(two_hops.client_ip(peer, &["1.1.1.1, 203.0.113.7, 10.0.0.5"]), Some(ip("203.0.113.7")));
        // Networks: skip every address inside them, wherever it is.
        let nets = proxies(0, &["10.0.0.0/8", "127.0.0.1/32"]);
        assert_eq!(nets.client_ip(peer, &["6.6.6.6, 203.0.113.7, 10.1.1.1, 10.2.2.2"]), Some(ip("203.0.113.7")));
        // No header: the proxy itself is all we know.
        assert_eq!(one_hop.client_ip(peer, &[]), Some(ip("127.0.0.1")));
        // Garbage next to the proxy stops the walk at the proxy.
        assert_eq!(one_hop.client_ip(peer, &["203.0.113.7, nonsense"]), Some(ip("127.0.0.1")));
        assert_eq!(one_hop.client_ip(peer, &["203.0.113.7,"]), Some(ip("127.0.0.1")));
        // Everything trusted: the left-most proxy is the client.
        assert_eq!(nets.client_ip(peer, &["10.9.9.9"]), Some(ip("10.9.9.9")));
    }

    #[test]
    fn nul_anywhere_in_a_json_body_names_its_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            tags: Vec<String>,
        }
        let e = parse_json::<Outer>(br#"{"business":{"email":"a\u0000@b"},"capacity":1}"#).unwrap_err();
        assert!(matches!(&e, AppError::Validation(_)), "{e:?}");
        assert_eq!(field_of(e), "business.email");
        let e = parse_json::<Body>(br#"{"name":"x","tags":["a","b\u0000"]}"#).unwrap_err();
        assert_eq!(field_of(e), "tags[1]");
        // An escaped backslash followed by "u0000" is not a NUL.
        let ok = parse_json::<Body>(br#"{"name":"\\u0000","tags":[]}"#).unwrap();
        assert_eq!(ok.name, "\\u0000");
    }

    #[test]
    fn nul_in_a_query_parameter_names_it() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Q {
            q: Option<String>,
        }
        let e = parse_query::<Q>("q=a%00b").unwrap_err();
        assert!(matches!(&e, AppError::Validation(_)), "{e:?}");
        assert_eq!(field_of(e), "q");
        assert!(matches!(parse_id("id", "\0"), Err(AppError::Validation(_))));
    }
}
