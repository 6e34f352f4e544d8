//! Small parsers for input values shared by features ("parse, don't validate"): each returns the
//! clean value or a [`FieldError`] naming the field. Callers collect errors so one answer lists
//! every bad field.
//!
//! Free text comes in two kinds: single-line ([`text`], [`opt_text`]: names, titles, addresses,
//! labels), which refuses line breaks and control characters, and multi-line ([`multiline`]:
//! descriptions), which keeps newlines and tabs and drops other control characters. Every text
//! input goes through one of them; NUL is refused by both (and by the body and query parsers in
//! `http`).

use crate::domain::{EmailAddress, StateCode};
use crate::error::{AppError, FieldError};

/// Collects field errors; `finish` turns them into one 422.
#[derive(Debug, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Errors(Vec::new())
    }

    /// Keeps the value, or records the error and gives `None`.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// Single-line text (names, titles, addresses, labels): trimmed, required, at most `max`
/// characters, and refused when it holds a line break or any other control character. These
/// values end up in email headers, subject lines, calendar summaries and CSV cells, where a line
/// break would start a new header, property or row.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if let Some(problem) = single_line_problem(v) {
        return Err(FieldError::new(field, problem));
    }
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    Ok(v.to_string())
}

/// Optional single-line text ([`text`]): blank becomes `None`.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// Multi-line text (descriptions): trimmed, at most `max` characters, possibly empty. Line breaks
/// become `\n` (CRLF and lone CR included) and tabs stay; every other control character is
/// dropped, so it never reaches an email or a calendar invite. NUL is refused rather than dropped:
/// it is never typed by a person, and PostgreSQL cannot store it.
pub fn multiline(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.contains('\0') {
        return Err(FieldError::new(field, NUL_MESSAGE));
    }
    let unified = value.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = unified.chars().filter(|&c| c == '\n' || c == '\t' || !is_unwanted(c)).collect();
    let v = kept.trim();
    if v.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    Ok(v.to_string())
}

/// The message for a NUL character, wherever it is found (body, query, path).
pub const NUL_MESSAGE: &str = "must not contain NUL characters";

/// Why `v` is not acceptable single-line text, if it is not.
fn single_line_problem(v: &str) -> Option<&'static str> {
    if v.contains('\0') {
        Some(NUL_MESSAGE)
    } else if v.chars().any(|c| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}')) {
        Some("must be a single line (no line breaks)")
    } else if v.chars().any(is_unwanted) {
        Some("must not contain control characters")
    } else {
        None
    }
}

/// Control characters (C0, DEL, C1), and the Unicode line and paragraph separators.
fn is_unwanted(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// An email address (see [`EmailAddress`]), or the error naming `field`.
pub fn email(field: &str, value: &str) -> Result<EmailAddress, FieldError> {
    EmailAddress::parse(value).map_err(|rule| FieldError::new(field, rule))
}

/// An http(s) URL.
pub fn url(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = (v.starts_with("https://") || v.starts_with("http://"))
        && v.len() > "https://x".len() - 1
        && v.len() <= 2000
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(v.to_string())
    } else {
        Err(FieldError::new(field, "must be an http:// or https:// URL"))
    }
}

/// A state code (see [`StateCode`]), or the error naming `field`.
pub fn state_code(field: &str, value: &str) -> Result<StateCode, FieldError> {
    StateCode::parse(value).map_err(|rule| FieldError::new(field, rule))
}

/// An id given in a body (`organization_id`): a UUID, returned in its stored (lowercase,
/// hyphenated) form. (An id in the path is [`crate::http::parse_id`], a 400.)
pub fn uuid(field: &str, value: &str) -> Result<String, FieldError> {
    uuid::Uuid::parse_str(value).map(|u| u.to_string()).map_err(|_| FieldError::new(field, "is not a valid UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email("e", "  Ana@Example.COM ").unwrap(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@x.com", "ana@x", "a b@x.com", "a@x..com", "a@b@c.com"] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("t", "  hi ", 5).unwrap(), "hi");
        assert!(text("t", "   ", 5).is_err());
        assert!(text("t", "toolong", 3).is_err());
        assert_eq!(text("t", "Café Ñandú", 20).unwrap(), "Café Ñandú");
    }

    #[test]
    fn single_line_text_refuses_line_breaks_and_control_characters() {
        for bad in ["a\nb", "a\rb", "a\tb", "a\u{7}b", "a\u{1b}[31mb", "a\u{85}b", "a\u{2028}b", "a\u{7f}b"] {
            let e = text("attendee.name", bad, 50).unwrap_err();
            assert_eq!(e.field, "attendee.name", "{bad:?}");
        }
        assert_eq!(text("t", "a\0b", 50).unwrap_err().message, NUL_MESSAGE);
        // Surrounding whitespace, a trailing newline included, is still just trimmed.
        assert_eq!(text("t", " Ana \n", 50).unwrap(), "Ana");
        assert_eq!(opt_text("t", Some("x\ny"), 50).unwrap_err().field, "t");
        assert_eq!(opt_text("t", Some("  "), 50).unwrap(), None);
    }

    #[test]
    fn multiline_text_keeps_newlines_and_tabs_and_drops_other_controls() {
        assert_eq!(
            multiline("d", "Bring\u{7} a laptop\r\nand\tquestions\u{1b}", 100).unwrap(),
            "Bring a laptop\nand\tquestions"
        );
        assert_eq!(multiline("d", "one\rtwo", 100).unwrap(), "one\ntwo");
        assert_eq!(multiline("d", "  ", 100).unwrap(), "");
        assert_eq!(multiline("d", "a\0b", 100).unwrap_err().message, NUL_MESSAGE);
        assert!(multiline("d", "abcd", 3).is_err());
    }
}
