//! Browser-facing protections wired in `app.rs`: CORS (closed unless `ROADSHOW_CORS_ORIGINS`
//! lists origins) and security headers on every response.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::http::{header, Method};
use actix_web::middleware::{DefaultHeaders, Next};

/// The Content-Security-Policy of every response. The HTML pages (the manage page) need no
/// script, load nothing from elsewhere, and post forms only to this service; JSON answers are not
/// documents at all. Inline styles are allowed so a page may carry its small `<style>` block.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers added to every response that does not set them itself: no MIME sniffing, no
/// referrer (manage links carry their token in the query string), and the CSP above. Framing is
/// [`frame_options`]'s.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
}

/// `X-Frame-Options: DENY` on every response, but for the embeddable blocks of the public site
/// (`/embed/…`), whose own policy lists the origins that may frame them (`frame-ancestors`,
/// which browsers obey over `X-Frame-Options`; an old browser that knows only the latter would
/// refuse every frame).
pub async fn frame_options(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let framable = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        // Nearly every answer carries the default policy (`frame-ancestors 'none'`): known at one
        // comparison, where reading the policy's directives cost about 1,300 instructions a request.
        .filter(|v| v.as_bytes() != CONTENT_SECURITY_POLICY.as_bytes())
        .and_then(|v| v.to_str().ok())
        .and_then(|csp| csp.split(';').find_map(|d| d.trim().strip_prefix("frame-ancestors ")))
        .is_some_and(|list| list.trim() != "'none'");
    if !framable && !res.headers().contains_key(header::X_FRAME_OPTIONS) {
        res.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Ok(res)
}

/// CORS for the origins in `ROADSHOW_CORS_ORIGINS`. With none configured the middleware is not
/// mounted at all (see `app.rs`): browsers then refuse cross-origin reads, and same-origin pages
/// (the manage page's forms) keep working.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::HeaderName::from_static("x-request-id"), header::RETRY_AFTER, header::LOCATION])
        .max_age(3600);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// `Cache-Control: no-store` on every answer that does not set its own, so no browser or proxy
/// cache keeps a copy. Wired in [`crate::routes`] on everything whose answers carry personal data
/// or secrets: the staff and manage scopes, the manage page, and the public routes registered
/// through [`crate::routes::Router::private`] (unsubscribe, privacy requests, lost links).
/// Public event lists stay cacheable.
pub async fn no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
