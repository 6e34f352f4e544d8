//! The OpenAPI 3.1 document, generated from the code.
//!
//! Each feature describes its own operations (`#[utoipa::path]` on the handlers, collected by the
//! `Api` struct in its `routes` module) with its wire types (`…In`, `…Out`, `…Patch`, all
//! `utoipa::ToSchema`); this module adds what they share (the problem document, the security
//! schemes, the tags) and merges them. `GET /api/openapi.json` serves the result, a snapshot test
//! keeps it under review (`tests/api/openapi.rs`), and another checks that it names exactly the
//! routes [`crate::routes`] registers.

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

/// The security scheme of staff endpoints (`Authorization: Bearer rss_…`).
pub const STAFF: &str = "staff_token";
/// The security scheme of a registration's own endpoints (`Authorization: Bearer rsm_…`).
pub const MANAGE: &str = "manage_token";
/// The problem document's media type (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roadshow API",
        description = "Events, registrations and partner administration for the nationwide small-business \
                       roadshow. Errors are RFC 9457 problem documents (`application/problem+json`) that name \
                       the bad field. Public writes are rate limited per client (429 with `Retry-After`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(crate::ops::healthz, crate::ops::readyz, crate::ops::openapi_json, crate::metrics::scrape),
    components(schemas(Problem, FieldError)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Liveness, readiness, metrics and this document."),
        (name = "events", description = "Published events, and their scheduling by partner staff."),
        (name = "registrations", description = "Registering a business, and managing a registration with its token."),
        (name = "privacy", description = "A business's own data: export, erasure, corrections, consent."),
        (name = "staff", description = "Partner staff: users, tokens, organizations, venues."),
        (name = "mail", description = "The email outbox and unsubscribe links."),
        (name = "reports", description = "Audit trail and partner reports."),
        (name = "experts", description = "One-to-one expert sessions: profiles, availability, open slots, bookings."),
        (name = "webhooks", description = "Signed notifications to partners' endpoints (Standard Webhooks)."),
        (name = "credits", description = "The $10M ad-credit pool: reserves, grants, vouchers, one business across emails."),
        (name = "resources", description = "Learning resources: case studies, guides and webinar recordings."),
        (name = "reference", description = "Reference data (states)."),
        (name = "site", description = "The public web pages (HTML, English and Spanish): find events, register, a state's page, blocks for partner websites."),
    )
)]
struct Root;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(description.to_string());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            STAFF,
            bearer("A staff token (`rss_…`), created with `roadshow create-admin` or by an admin."),
        );
        components.add_security_scheme(
            MANAGE,
            bearer("A registration's or an expert booking's manage token (`rsm_…`), from the 201 answer or an email."),
        );
    }
}

/// The whole document.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    for part in [
        crate::states::routes::Api::openapi(),
        crate::events::routes::Api::openapi(),
        crate::registrations::routes::Api::openapi(),
        crate::privacy::routes::Api::openapi(),
        crate::mail::routes::Api::openapi(),
        crate::auth::routes::Api::openapi(),
        crate::partners::routes::Api::openapi(),
        crate::audit::routes::Api::openapi(),
        crate::reports::routes::Api::openapi(),
        crate::experts::routes::Api::openapi(),
        crate::credits::routes::Api::openapi(),
        crate::webhooks::routes::Api::openapi(),
        crate::resources::routes::Api::openapi(),
        crate::site::routes::Api::openapi(),
    ] {
        doc.merge(part);
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The document as served, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| spec().to_pretty_json().expect("the OpenAPI document serializes"))
}

/// The error answers an operation can give, for `responses(...)` in `#[utoipa::path]`: each
/// status is a problem document; 429 carries `Retry-After`. Pick the set of the operation's
/// audience and list any other status next to it.
pub mod problems {
    use std::collections::BTreeMap;

    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Ref, Type};
    use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
    use utoipa::IntoResponses;

    fn problem(description: &str) -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(super::PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build()
    }

    fn with_header(mut response: Response, name: &str, schema: ObjectBuilder, description: &str) -> Response {
        let header = HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build();
        response.headers.insert(name.into(), RefOr::T(header));
        response
    }

    fn seconds() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))
    }

    fn describe(status: u16) -> Response {
        match status {
            400 => problem("The request could not be read: malformed JSON, a bad id or cursor (the field is named)."),
            401 => with_header(
                problem("No credential, or one that is unknown, revoked or expired."),
                "WWW-Authenticate",
                ObjectBuilder::new().schema_type(Type::String),
                "`Bearer`.",
            ),
            403 => problem("The credential may not do this."),
            404 => problem("No such object, or one the caller may not know exists."),
            409 => problem("Conflicts with the current state."),
            413 => problem("The body is larger than allowed."),
            415 => problem("The body is not JSON (`Content-Type: application/json`)."),
            422 => problem("The values break the rules; `errors` names every bad field."),
            429 => with_header(
                problem("Too many requests from this client; try again after `Retry-After` seconds."),
                "Retry-After",
                seconds(),
                "Seconds until the client may try again.",
            ),
            503 => with_header(
                problem("The database is busy or unreachable; safe to retry."),
                "Retry-After",
                seconds(),
                "Seconds until a retry may succeed.",
            ),
            other => problem(&format!("Error {other}.")),
        }
    }

    fn set(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
        statuses.iter().map(|s| (s.to_string(), RefOr::T(describe(*s)))).collect()
    }

    /// A public read (no body): a bad id or query, nothing there.
    pub struct PublicRead;
    impl IntoResponses for PublicRead {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            set(&[400, 404, 422, 503])
        }
    }

    /// A public write (JSON body, rate limited).
    pub struct PublicWrite;
    impl IntoResponses for PublicWrite {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            set(&[400, 404, 409, 413, 415, 422, 429, 503])
        }
    }

    /// A page of the public site: its own answers are HTML pages (`html` statuses: a page saying
    /// what is wrong); what is refused before the page's code runs (a query that cannot be read,
    /// the rate limit, a busy database) is a problem document. Both are documented for a status
    /// that can be either.
    fn site(statuses: &[u16], html: &[(u16, &str)]) -> BTreeMap<String, RefOr<Response>> {
        let mut all = set(statuses);
        for (status, description) in html {
            let page = ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build();
            let response = match all.remove(&status.to_string()) {
                Some(RefOr::T(mut r)) => {
                    r.description = format!("{description}; or, before the page, {}", r.description);
                    r.content.insert("text/html".into(), RefOr::T(page));
                    r
                }
                _ => ResponseBuilder::new().description(*description).content("text/html", page).build(),
            };
            all.insert(status.to_string(), RefOr::T(response));
        }
        all
    }

    /// A page of the public site (GET).
    pub struct SitePage;
    impl IntoResponses for SitePage {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            site(
                &[400, 404, 503],
                &[(400, "A filter is not valid (the page names it)"), (404, "Not found (a page saying so)")],
            )
        }
    }

    /// The public site's form (rate limited like the API's public writes).
    pub struct SiteForm;
    impl IntoResponses for SiteForm {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            site(
                &[400, 404, 409, 413, 422, 429, 503],
                &[
                    (400, "The form expired or could not be read: the form again"),
                    (403, "Sent from another site (a page saying so)"),
                    (404, "No such event (a page saying so)"),
                    (409, "Registration is not possible: the form again, saying why"),
                    (422, "A field is not valid: the form again, messages beside the fields"),
                ],
            )
        }
    }

    /// An operation behind the manage-token gate (a wrong token is the same 404 as no such id).
    pub struct Manage;
    impl IntoResponses for Manage {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            set(&[400, 401, 404, 409, 413, 415, 422, 429, 503])
        }
    }

    /// An operation behind the staff gate.
    pub struct Staff;
    impl IntoResponses for Staff {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            set(&[400, 401, 403, 404, 409, 413, 415, 422, 503])
        }
    }
}
