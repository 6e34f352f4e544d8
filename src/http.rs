//! HTTP plumbing shared by every feature: body and query extractors that name the bad field,
//! path-id parsing, pagination, client addresses and the request-id/logging middleware.

use std::future::Future;
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
        parse_json(&body).map(Some)
    }
}

/// Parses JSON, turning serde's message into a problem that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(AppError::bad_field("body", "is empty; a JSON object is expected"));
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
#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
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

/// The client's address for rate limiting: the socket peer, or the first `X-Forwarded-For` hop
/// when the service is configured to trust its proxy.
pub fn client_addr(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(first) =
            req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next())
        {
            let first = first.trim();
            if !first.is_empty() {
                return first.to_string();
            }
        }
    }
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into())
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
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&("2026-01-01T00:00:00Z", "abc"));
        let back: (String, String) = decode_cursor(&c).unwrap();
        assert_eq!(back.1, "abc");
        assert!(decode_cursor::<(String, String)>("!!!").is_err());
    }
}
