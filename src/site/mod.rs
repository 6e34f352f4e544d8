//! The public site: server-rendered pages a business uses without code, in English and Spanish.
//!
//! - `/` and `/events`: find events by state, kind, topic, date and words, with seats left;
//! - `/events/{id}`: an event (place or webinar, hosts, related resources, open expert slots) and
//!   its registration form (`POST /events/{id}/register`): the API's rules and checks, errors
//!   beside their fields, what was typed kept; the answer page carries the manage link;
//! - `/states/{code}`: a state's upcoming stops, the national webinars and the local partners;
//! - `/embed/states/{code}`, `/embed/events/{id}`: compact pages partner websites put in an
//!   `<iframe>`; only the origins in `ROADSHOW_EMBED_ORIGINS` may frame them
//!   (`Content-Security-Policy: frame-ancestors`); every other page may not be framed;
//! - `/site.css`: the one stylesheet.
//!
//! The pages need no JavaScript and load nothing from elsewhere (no fonts, no scripts: the
//! policy says `default-src 'none'`). Every value is HTML-escaped (minijinja auto-escaping by the
//! `.html` extension; an undefined value is an error). Words come from the message files
//! ([`crate::i18n`]): the language is `?lang=` (the switch on every page), else the
//! `Accept-Language` header; links and forms carry it on. Forms are protected by [`csrf`] and the
//! same per-client rate limit as the API's public writes.

pub mod csrf;
pub mod handlers;
pub mod queries;
pub mod resources;
pub mod routes;

use std::sync::OnceLock;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use minijinja::Environment;
use serde::Serialize;

use crate::domain::{Language, Topic};
use crate::error::AppError;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// The site's templates, by name.
pub const TEMPLATES: &[(&str, &str)] = embedded!(
    "base.html",
    "_event_card.html",
    "_filters.html",
    "_form.html",
    "events.html",
    "event.html",
    "registered.html",
    "state.html",
    "embed.html",
    "problem.html",
    "_resource_card.html",
    "resources.html",
    "resource.html",
);

/// The stylesheet (`/site.css`).
pub const STYLESHEET: &str = include_str!("site.css");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        crate::i18n::install(&mut env);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary; the unit tests below render each one.
            env.add_template(name, source).expect("embedded site template compiles");
        }
        env
    })
}

/// Who may put a page in a frame.
#[derive(Debug, Clone, Copy)]
pub enum Framing<'a> {
    /// Nobody (every page but the embeddable ones).
    Never,
    /// These origins (`ROADSHOW_EMBED_ORIGINS`); none listed is nobody.
    Origins(&'a [String]),
}

/// The page's content security policy: nothing but this origin's stylesheet, forms posted here.
fn policy(framing: Framing) -> String {
    let ancestors = match framing {
        Framing::Origins(list) if !list.is_empty() => list.join(" "),
        _ => "'none'".to_string(),
    };
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
         frame-ancestors {ancestors}"
    )
}

/// How an answer may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Lists and event pages without a form: shared caches may keep them a minute.
    Public,
    /// Pages with a form token or a manage link: never kept.
    NoStore,
}

/// Renders `template` with `view` (which holds `lang` and the page's other values).
pub fn render(
    status: StatusCode,
    template: &str,
    view: impl Serialize,
    framing: Framing,
    caching: Caching,
) -> Result<HttpResponse, AppError> {
    let page = environment()
        .get_template(template)
        .and_then(|t| t.render(view))
        .map_err(|e| AppError::internal(format!("site template {template}: {e}")))?;
    let mut answer = HttpResponse::build(status);
    answer
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(framing)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((
            header::CACHE_CONTROL,
            match caching {
                Caching::Public => "public, max-age=60",
                Caching::NoStore => "no-store",
            },
        ));
    if matches!(framing, Framing::Never) {
        answer.insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    Ok(answer.body(page))
}

/// The language of a page: `?lang=` when it names one, else `Accept-Language`; and whether the
/// query chose it (then links carry it on).
pub fn language(req: &HttpRequest, lang: Option<&str>) -> Language {
    match lang.and_then(|l| l.parse::<Language>().ok()) {
        Some(l) => l,
        None => crate::i18n::negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())),
    }
}

/// A topic's name for people, in `lang`.
pub fn topic_name(lang: Language, topic: Topic) -> &'static str {
    crate::i18n::text(lang, &format!("topic.{}", topic.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_lets_only_listed_origins_frame_an_embed() {
        assert!(policy(Framing::Never).ends_with("frame-ancestors 'none'"));
        assert!(policy(Framing::Origins(&[])).ends_with("frame-ancestors 'none'"));
        let list = ["https://txchamber.example".to_string(), "https://a.example".to_string()];
        assert!(
            policy(Framing::Origins(&list)).ends_with("frame-ancestors https://txchamber.example https://a.example")
        );
        assert!(policy(Framing::Never).starts_with("default-src 'none'; style-src 'self'"));
    }

    #[test]
    fn every_name_the_pages_look_up_by_value_exists_in_both_languages() {
        use crate::domain::{AccommodationCategory, EventKind, OrganizationKind, ResourceKind};
        let mut keys: Vec<String> = Vec::new();
        keys.extend(EventKind::ALL.iter().map(|k| format!("kind.{k}")));
        keys.extend(ResourceKind::ALL.iter().map(|k| format!("resource_kind.{k}")));
        keys.extend(OrganizationKind::ALL.iter().map(|k| format!("org.{k}")));
        keys.extend(AccommodationCategory::ALL.iter().map(|k| format!("accommodation.{k}")));
        keys.extend(Language::ALL.iter().map(|k| format!("language.{k}")));
        for field in [
            "business.name",
            "business.email",
            "business.state",
            "business.industry",
            "business.employees",
            "business.website",
            "attendee.name",
            "attendee.email",
            "accommodation.categories",
            "accommodation.note",
        ] {
            keys.push(format!("form.error.{field}"));
        }
        for lang in Language::ALL {
            for key in &keys {
                assert!(!crate::i18n::text(*lang, key).is_empty(), "{lang}: {key}");
            }
        }
    }

    #[test]
    fn every_topic_has_a_name_in_both_languages() {
        for lang in Language::ALL {
            for topic in Topic::ALL {
                assert!(!topic_name(*lang, *topic).is_empty(), "{lang} {topic}");
            }
        }
    }
}
