//! Small parsers for input values shared by features ("parse, don't validate"): each returns the
//! clean value or a [`FieldError`] naming the field. Callers collect errors so one answer lists
//! every bad field.

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

/// Trimmed text, required, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// Optional text: blank becomes `None`.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// An email address, normalised (trimmed, lower-cased). Deliberately simple: one `@`, a dot in
/// the domain, no spaces; the real check is the mail that arrives.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_lowercase();
    let bad = || FieldError::new(field, "must be an email address like name@example.com");
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',') {
        return Err(bad());
    }
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(bad());
    }
    // The address must also be one lettre can send to.
    v.parse::<lettre::Address>().map_err(|_| bad())?;
    Ok(v)
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

/// A two-letter state code, upper-cased (existence is checked against the database).
pub fn state_code(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_ascii_uppercase();
    if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(v)
    } else {
        Err(FieldError::new(field, "must be a two-letter state code like TX"))
    }
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
    }
}
