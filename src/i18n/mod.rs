//! English and Spanish for everything a business reads: the public pages, the emails and their
//! calendar invites, and the errors shown on a page. Staff-facing answers and CSV stay English.
//!
//! The words live in two message files a translator edits, `src/i18n/en.txt` and
//! `src/i18n/es.txt`, compiled into the binary: one message per line, `key = text`, `#` starts a
//! comment line, `{name}` is filled in by the code and must be kept as it is. A unit test checks
//! that both files have the same keys with the same `{…}` names, and that every key a template
//! asks for exists.
//!
//! Templates (minijinja) ask for a message with `t("key")` or `t("key", name=value)`; the
//! language is the template's `lang` value (`"en"` or `"es"`). The result is text: in an `.html`
//! template it is escaped like any value, so a translation can never inject markup.
//!
//! The language of a page comes from `?lang=` (the switch on every page), else from the
//! `Accept-Language` header ([`negotiate`]); a registration or expert booking stores the one it
//! was made in (`language`, English by default) and every email that follows uses it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

pub use crate::domain::Language;

const EN: &str = include_str!("en.txt");
const ES: &str = include_str!("es.txt");

/// One language's messages.
struct Catalog {
    messages: HashMap<&'static str, String>,
}

/// Parses a message file; `Err` names the line that is not `key = text`.
fn parse(source: &'static str) -> Result<Catalog, String> {
    let mut messages = HashMap::new();
    for (n, line) in source.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, text)) = line.split_once(" = ") else {
            return Err(format!("line {}: expected `key = text`", n + 1));
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(format!("line {}: a key is letters, digits, `.`, `_` and `-`", n + 1));
        }
        if messages.insert(key, text.trim().replace("\\n", "\n")).is_some() {
            return Err(format!("line {}: `{key}` is there twice", n + 1));
        }
    }
    Ok(Catalog { messages })
}

fn catalog(lang: Language) -> &'static Catalog {
    static CATALOGS: OnceLock<[Catalog; 2]> = OnceLock::new();
    let [en, es] = CATALOGS.get_or_init(|| {
        // The files are part of the binary; the unit tests below parse both.
        [parse(EN).expect("src/i18n/en.txt parses"), parse(ES).expect("src/i18n/es.txt parses")]
    });
    match lang {
        Language::English => en,
        Language::Spanish => es,
    }
}

/// The message `key` in `lang`: the English one if the Spanish file lacks it (the tests say it
/// never does), the key itself if neither has it.
pub fn text(lang: Language, key: &str) -> &'static str {
    catalog(lang)
        .messages
        .get(key)
        .or_else(|| catalog(Language::English).messages.get(key))
        .map(String::as_str)
        .unwrap_or_else(|| {
            tracing::warn!(key, "no such message");
            ""
        })
}

/// The message `key` with its `{name}`s filled in from `args`; a `{name}` not in `args` stays.
pub fn format(lang: Language, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    fill(text(lang, key), |name, out| match args.iter().find(|(n, _)| *n == name) {
        Some((_, value)) => {
            let _ = write!(out, "{value}");
            true
        }
        None => false,
    })
}

/// Copies `message`, asking `put` for each `{name}`; `put` writes the value and answers true, or
/// answers false to keep `{name}` as it is.
fn fill(message: &str, mut put: impl FnMut(&str, &mut String) -> bool) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                let name = &after[..close];
                if !put(name, &mut out) {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `{name}`s a message holds, sorted.
#[cfg(test)]
fn placeholders(message: &str) -> Vec<String> {
    let mut names = Vec::new();
    fill(message, |name, _| {
        names.push(name.to_string());
        true
    });
    names.sort();
    names.dedup();
    names
}

/// Adds the `t` function to a template environment: `t("key")`, `t("key", name=value, …)`, in
/// the language of the template's `lang` value. An unknown key or a missing `lang` is an error
/// (the environments are strict), which the template tests catch.
pub fn install(env: &mut minijinja::Environment<'_>) {
    env.add_function("t", translate);
}

fn translate(
    state: &minijinja::State,
    key: &str,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    use minijinja::{Error, ErrorKind};
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(|s| s.parse::<Language>().ok()))
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, "the template has no `lang` (\"en\" or \"es\")"))?;
    let Some(message) = catalog(lang).messages.get(key) else {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("no message `{key}` in {lang}")));
    };
    let mut missing = None;
    let out = fill(message, |name, out| match kwargs.get::<Option<minijinja::Value>>(name) {
        Ok(Some(value)) => {
            let _ = write!(out, "{value}");
            true
        }
        _ => {
            missing.get_or_insert_with(|| name.to_string());
            false
        }
    });
    if let Some(name) = missing {
        return Err(Error::new(ErrorKind::MissingArgument, format!("message `{key}` needs `{name}`")));
    }
    kwargs.assert_all_used()?;
    Ok(out)
}

/// The language an `Accept-Language` header prefers among English and Spanish (English when it
/// names neither, or is absent or malformed): the highest `q` wins, the earlier on a tie.
pub fn negotiate(accept_language: Option<&str>) -> Language {
    let Some(header) = accept_language else { return Language::English };
    let mut best: Option<(f32, Language)> = None;
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        let lang = match primary.as_str() {
            "en" => Language::English,
            "es" => Language::Spanish,
            _ => continue,
        };
        let mut q = 1.0f32;
        for param in parts {
            if let Some(v) = param.trim().strip_prefix("q=") {
                q = v.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
            }
        }
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l).unwrap_or_default()
}

/// An instant in `tz`, for a business to read, in `lang`, zone named:
/// `Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)`,
/// `jueves, 12 de marzo de 2026, 9:00 CDT (America/Chicago)`.
pub fn human_local(lang: Language, t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    let weekday = text(lang, &format!("date.weekday.{}", local.weekday().num_days_from_monday()));
    let month = text(lang, &format!("date.month.{}", local.month()));
    let time = local.format(text(lang, "date.time_format")).to_string();
    let zone = local.format("%Z").to_string();
    let day = local.day();
    let year = local.year();
    let tz_name = tz.name();
    format(
        lang,
        "date.long",
        &[
            ("weekday", &weekday),
            ("month", &month),
            ("day", &day),
            ("year", &year),
            ("time", &time),
            ("zone", &zone),
            ("tz", &tz_name),
        ],
    )
}

/// An instant in `tz`, short, for subjects: `Thu, Mar 12 at 9:00 AM CDT`, `jue 12 de mar, 9:00 CDT`.
pub fn short_local(lang: Language, t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    let weekday = text(lang, &format!("date.weekday_short.{}", local.weekday().num_days_from_monday()));
    let month = text(lang, &format!("date.month_short.{}", local.month()));
    let time = local.format(text(lang, "date.time_format")).to_string();
    let zone = local.format("%Z").to_string();
    let day = local.day();
    format(
        lang,
        "date.short",
        &[("weekday", &weekday), ("month", &month), ("day", &day), ("time", &time), ("zone", &zone)],
    )
}

/// The language a `?lang=` parameter (or a form's `lang` field) names; anything but `en` or `es`
/// is no choice at all (`None`), never an error: a page still answers.
pub fn chosen(value: Option<&str>) -> Option<Language> {
    value.and_then(|v| v.trim().parse().ok())
}

/// The keys `t("…")` asks for in a template's source.
pub fn keys_used(source: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    for quote in ['"', '\''] {
        let opener = format!("t({quote}");
        let mut rest = source;
        while let Some(i) = rest.find(&opener) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + opener.len()..];
            // `t(` alone, not the end of another name (`format(`, `list(`).
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(end) = rest.find(quote) {
                // `t("accommodation." ~ cat)`: a key made at render time, checked by the tests of
                // the code that makes it, not here.
                if !rest[end + 1..].trim_start().starts_with('~') {
                    keys.push(&rest[..end]);
                }
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_parse_and_have_the_same_keys_and_placeholders() {
        let (en, es) = (parse(EN).unwrap(), parse(ES).unwrap());
        let mut missing: Vec<String> = Vec::new();
        for (key, text) in &en.messages {
            match es.messages.get(key) {
                None => missing.push(format!("es lacks `{key}`")),
                Some(other) if placeholders(text) != placeholders(other) => {
                    missing.push(format!("`{key}`: en has {:?}, es has {:?}", placeholders(text), placeholders(other)))
                }
                Some(other) if other.trim().is_empty() => missing.push(format!("es `{key}` is empty")),
                Some(_) => {}
            }
        }
        for key in es.messages.keys() {
            if !en.messages.contains_key(key) {
                missing.push(format!("en lacks `{key}`"));
            }
        }
        missing.sort();
        assert!(missing.is_empty(), "the message files differ:\n{}", missing.join("\n"));
    }

    #[test]
    fn a_bad_line_is_named() {
        assert_eq!(parse("# c\n\nok = yes\nnot a message\n").err().unwrap(), "line 4: expected `key = text`");
        assert!(parse("a = 1\na = 2\n").err().unwrap().contains("twice"));
    }

    #[test]
    fn every_key_a_template_asks_for_exists() {
        let mut sources: Vec<(&str, &str)> = Vec::new();
        sources.extend(crate::mail::templates::TEMPLATES.iter().copied());
        sources.extend(crate::pages::TEMPLATES.iter().copied());
        sources.extend(crate::site::TEMPLATES.iter().copied());
        let mut missing = Vec::new();
        let mut used = 0;
        for (name, source) in sources {
            for key in keys_used(source) {
                used += 1;
                for lang in Language::ALL {
                    if !catalog(*lang).messages.contains_key(key) {
                        missing.push(format!("{name}: `{key}` is not in {lang}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
        assert!(used > 0, "no template asks for a message");
    }

    #[test]
    fn keys_are_found_in_template_source() {
        let src = r#"{{ t("a.b") }} {{ format("x") }} {{t('c', n=1)}} {% if t("d") %} {{ t("e." ~ x) }}"#;
        assert_eq!(keys_used(src), ["a.b", "d", "c"]);
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        assert_eq!(
            fill("{a} and {b} {not a name}", |n, o| n == "a" && {
                o.push('1');
                true
            }),
            "1 and {b} {not a name}"
        );
        assert_eq!(placeholders("{b} {a} {b}"), ["a", "b"]);
    }

    #[test]
    fn accept_language_picks_the_preferred_of_the_two() {
        assert_eq!(negotiate(None), Language::English);
        assert_eq!(negotiate(Some("es-MX,es;q=0.9,en;q=0.8")), Language::Spanish);
        assert_eq!(negotiate(Some("fr-FR, en;q=0.5, es;q=0.7")), Language::Spanish);
        assert_eq!(negotiate(Some("en-US,es;q=0.9")), Language::English);
        assert_eq!(negotiate(Some("es;q=0, en;q=0.1")), Language::English);
        assert_eq!(negotiate(Some("de, fr")), Language::English);
        assert_eq!(negotiate(Some("es;q=abc")), Language::English);
        assert_eq!(negotiate(Some(";;;,,,")), Language::English);
    }

    #[test]
    fn dates_read_naturally_in_both_languages() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let t = DateTime::parse_from_rfc3339("2026-03-12T14:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(human_local(Language::English, t, tz), "Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)");
        assert_eq!(human_local(Language::Spanish, t, tz), "jueves, 12 de marzo de 2026, 9:00 CDT (America/Chicago)");
        // The same as the English form the service has always written.
        assert_eq!(human_local(Language::English, t, tz), crate::time::human_local(t, tz));
        assert_eq!(short_local(Language::English, t, tz), "Thu, Mar 12 at 9:00 AM CDT");
        // The same as the English subjects have always said.
        assert_eq!(
            short_local(Language::English, t, tz),
            t.with_timezone(&tz).format("%a, %b %-d at %-I:%M %p %Z").to_string()
        );
        assert_eq!(short_local(Language::Spanish, t, tz), "jue 12 de mar, 9:00 CDT");
    }

    #[test]
    fn a_chosen_language_is_en_or_es_and_anything_else_no_choice() {
        assert_eq!(chosen(Some("es")), Some(Language::Spanish));
        assert_eq!(chosen(Some("en")), Some(Language::English));
        assert_eq!(chosen(Some("fr")), None);
        assert_eq!(chosen(Some("")), None);
        assert_eq!(chosen(None), None);
    }

    #[test]
    fn a_template_asks_for_words_in_its_language() {
        let mut env = minijinja::Environment::new();
        install(&mut env);
        env.add_template("x.html", r#"{{ t("date.month.3") }}|{{ t("test.greeting", name=who) }}"#).unwrap();
        let tpl = env.get_template("x.html").unwrap();
        let es = tpl.render(minijinja::context! { lang => "es", who => "<Ana>" });
        // Only the message files' own `test.greeting` would make this pass; see both files.
        assert_eq!(es.unwrap(), "marzo|Hola, &lt;Ana&gt;");
        let en = tpl.render(minijinja::context! { lang => "en", who => "Ana" }).unwrap();
        assert_eq!(en, "March|Hello, Ana");
        assert!(tpl.render(minijinja::context! { who => "Ana" }).is_err(), "no lang");
        let bad = env.template_from_str(r#"{{ t("no.such.key") }}"#).unwrap();
        assert!(bad.render(minijinja::context! { lang => "en" }).is_err());
        let unfilled = env.template_from_str(r#"{{ t("test.greeting") }}"#).unwrap();
        assert!(unfilled.render(minijinja::context! { lang => "en" }).is_err());
    }
}
