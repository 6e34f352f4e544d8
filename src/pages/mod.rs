//! Server-rendered HTML pages: the manage page a registration's emails link to (`/manage/{id}`,
//! [`crate::registrations::page`]), the page a privacy link opens (`/privacy/confirm`,
//! [`crate::privacy::page`]) and the unsubscribe page (`/unsubscribe/{token}`,
//! [`crate::mail::handlers`]).
//!
//! The pages are minijinja templates under `src/pages/templates/`, compiled into the binary, like
//! the emails ([`crate::mail::templates`]). Every value is HTML-escaped (auto-escaping follows the
//! `.html` extension), and an undefined value is an error rather than an empty string. The pages
//! need no JavaScript; they are answered with a strict Content-Security-Policy (no scripts, forms
//! post to this origin only, not framable), `no-store` and `no-referrer`, since their URL carries
//! a token.
//!
//! Every page is in English or Spanish ([`crate::i18n`]): the words come from the message files
//! through `t(…)`, and each view carries `lang`. A page about a registration or a booking speaks
//! the language stored with it unless `?lang=en|es` says otherwise (its forms carry the choice
//! on); the other pages follow `?lang=`, else `Accept-Language` ([`language`]).

use std::sync::OnceLock;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use minijinja::Environment;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AppError;
use crate::i18n::{self, Language};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

pub const TEMPLATES: &[(&str, &str)] =
    embedded!("layout.html", "message.html", "manage.html", "booking.html", "privacy_confirm.html", "unsubscribe.html");

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
            env.add_template(name, source).expect("embedded page template compiles");
        }
        env
    })
}

/// The content security policy of every page.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// The language of a page that belongs to no registration or booking: `chosen` (`?lang=` or a
/// form's `lang`) when it names one, else the request's `Accept-Language`.
pub fn language(req: &HttpRequest, chosen: Option<&str>) -> Language {
    i18n::chosen(chosen)
        .unwrap_or_else(|| i18n::negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())))
}

/// `starts_at` (RFC 3339, UTC, as the API answers it) in `zone`, for a reader of `lang`; `fallback`
/// (the API's English `when`) should it not parse.
pub fn when(lang: Language, starts_at: &str, zone: &str, fallback: &str) -> String {
    match (chrono::DateTime::parse_from_rfc3339(starts_at), zone.parse::<chrono_tz::Tz>()) {
        (Ok(t), Ok(tz)) => i18n::human_local(lang, t.with_timezone(&chrono::Utc), tz),
        _ => fallback.to_string(),
    }
}

/// Renders `template` (a file under `src/pages/templates/`) with `view`, which must hold the
/// page's `title` and `lang`, into an answer with `status`.
pub fn render(status: StatusCode, template: &str, view: impl Serialize) -> Result<HttpResponse, AppError> {
    let page = environment()
        .get_template(template)
        .and_then(|t| t.render(view))
        .map_err(|e| AppError::internal(format!("page template {template}: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(page))
}

#[derive(Serialize)]
struct MessageView<'a> {
    lang: Language,
    title: &'a str,
    heading: &'a str,
    lines: &'a [&'a str],
}

/// A page that says something in `lang`: a heading and paragraphs (already in that language).
pub fn message(
    status: StatusCode,
    lang: Language,
    title: &str,
    heading: &str,
    lines: &[&str],
) -> Result<HttpResponse, AppError> {
    render(status, "message.html", MessageView { lang, title, heading, lines })
}

/// [`message`] from message keys: the title is the heading, and each line a message.
pub fn message_of(status: StatusCode, lang: Language, heading: &str, lines: &[&str]) -> Result<HttpResponse, AppError> {
    let heading = i18n::text(lang, heading);
    let lines: Vec<&str> = lines.iter().map(|k| i18n::text(lang, k)).collect();
    message(status, lang, heading, heading, &lines)
}

/// Reads an `application/x-www-form-urlencoded` body, capped like JSON bodies (a larger one is a
/// 413 problem document, before anything else is read). A body that is not the expected form is
/// `None`: the pages answer it as they answer a link that is not valid.
pub async fn read_form<T: DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Option<T>, AppError> {
    let limit = req.app_data::<crate::http::BodyLimit>().map(|l| l.0).unwrap_or(crate::http::DEFAULT_BODY_LIMIT);
    let declared: Option<usize> =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_field("body", format!("could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(serde_urlencoded::from_bytes(&body).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Everything<'a> {
        lang: Language,
        title: &'a str,
        heading: &'a str,
        lines: &'a [&'a str],
        message: Option<&'a str>,
        status: &'a str,
        event_cancelled: bool,
        starts_at: &'a str,
        when: &'a str,
        location: Option<&'a str>,
        join_url: Option<&'a str>,
        attendee: &'a str,
        business: &'a str,
        can_cancel: bool,
        id: &'a str,
        token: &'a str,
        email: &'a str,
        action: &'a str,
        details: Vec<std::collections::BTreeMap<&'a str, &'a str>>,
        marketing_consent: Option<bool>,
        expert: &'a str,
        meeting_url: Option<&'a str>,
        question: Option<&'a str>,
        sessions: Vec<std::collections::BTreeMap<&'a str, &'a str>>,
    }

    fn everything() -> Everything<'static> {
        const EVIL: &str = "Ana <script>alert(1)</script> & \"Co\"";
        Everything {
            lang: Language::English,
            title: EVIL,
            heading: EVIL,
            lines: &[EVIL],
            message: Some(EVIL),
            status: EVIL,
            event_cancelled: true,
            starts_at: EVIL,
            when: EVIL,
            location: Some(EVIL),
            join_url: Some("https://meet.example/x?a=1&b=\"2\""),
            attendee: EVIL,
            business: EVIL,
            can_cancel: true,
            id: EVIL,
            token: EVIL,
            email: EVIL,
            action: EVIL,
            details: vec![[("label", EVIL), ("value", EVIL)].into_iter().collect()],
            marketing_consent: Some(false),
            expert: EVIL,
            meeting_url: Some("https://meet.example/x?a=1&b=\"2\""),
            question: Some(EVIL),
            sessions: vec![[("expert", EVIL), ("when", EVIL)].into_iter().collect()],
        }
    }

    #[test]
    fn every_page_escapes_every_value() {
        for (name, _) in TEMPLATES.iter().filter(|(n, _)| *n != "layout.html") {
            let html = environment().get_template(name).unwrap().render(everything()).unwrap();
            assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"), "{name}: {html}");
            assert!(!html.contains("<script>") && !html.contains("\"Co\""), "{name}: {html}");
            assert!(html.contains("Ana &lt;script&gt;"), "{name}: {html}");
        }
    }

    #[test]
    fn every_page_renders_in_both_languages_with_its_own_words() {
        for (name, _) in TEMPLATES.iter().filter(|(n, _)| *n != "layout.html") {
            let render = |lang| environment().get_template(name).unwrap().render(Everything { lang, ..everything() });
            let (en, es) = (render(Language::English).unwrap(), render(Language::Spanish).unwrap());
            assert!(es.starts_with("<!doctype html>\n<html lang=\"es\">"), "{name}: {es}");
            assert!(!es.contains("<script>") && es.contains("Ana &lt;script&gt;"), "{name}: {es}");
            if *name == "message.html" {
                continue; // Its words are all the caller's.
            }
            assert_ne!(en, es, "{name}");
            // No English word of the page (the values aside) is left in the Spanish.
            for english in [
                "Status",
                "When",
                "Attendee",
                "Cancel my",
                "Cancel this",
                "Confirm your",
                ">Confirm<",
                ">Unsubscribe<",
                "Add to calendar",
                "you did not ask",
            ] {
                assert!(!es.contains(english), "{name}: {english} in {es}");
            }
        }
    }

    #[test]
    fn a_page_speaks_the_chosen_language_else_the_browser_s() {
        let req = |accept: Option<&str>| {
            let mut r = actix_web::test::TestRequest::default();
            if let Some(a) = accept {
                r = r.insert_header((header::ACCEPT_LANGUAGE, a));
            }
            r.to_http_request()
        };
        assert_eq!(language(&req(Some("es-MX,es;q=0.9")), None), Language::Spanish);
        assert_eq!(language(&req(Some("es-MX,es;q=0.9")), Some("en")), Language::English);
        assert_eq!(language(&req(None), Some("es")), Language::Spanish);
        assert_eq!(language(&req(Some("es")), Some("fr")), Language::Spanish, "an unknown choice is none");
        assert_eq!(language(&req(None), None), Language::English);
    }

    #[test]
    fn a_missing_value_is_an_error_not_an_empty_string() {
        let err = render(StatusCode::OK, "message.html", serde_json::json!({"title": "t", "lang": "en"})).unwrap_err();
        assert!(matches!(err, AppError::Internal(_)), "{err:?}");
    }
}
