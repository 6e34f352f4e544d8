//! A parsed accommodation request, and its stored form.

use crate::domain::AccommodationCategory;
use crate::error::FieldError;

use super::wire::AccommodationIn;

/// The longest note, in characters.
pub const NOTE_MAX: usize = 500;

/// An accommodation request after validation: at least one category, each once, in declaration
/// order; a trimmed note (required with `another_language` or `other`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Accommodation {
    pub categories: Vec<AccommodationCategory>,
    pub note: Option<String>,
}

impl Accommodation {
    /// Parses `input`; every bad field is named under `prefix` (`accommodation`).
    /// An empty prefix names the fields at the top level (`categories[0]`, `note`).
    pub fn parse(prefix: &str, input: &AccommodationIn) -> Result<Accommodation, Vec<FieldError>> {
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}.") };
        let mut errors = Vec::new();
        let mut categories = Vec::new();
        if input.categories.is_empty() {
            errors.push(FieldError::new(format!("{prefix}categories"), "must name at least one category"));
        }
        for (i, raw) in input.categories.iter().enumerate() {
            match raw.trim().parse::<AccommodationCategory>() {
                Ok(c) => categories.push(c),
                Err(message) => errors.push(FieldError::new(format!("{prefix}categories[{i}]"), message)),
            }
        }
        categories.sort();
        categories.dedup();
        let note_field = format!("{prefix}note");
        let note = match input.note.as_deref() {
            None => None,
            Some(n) => match crate::validate::multiline(&note_field, n, NOTE_MAX) {
                Ok(n) if n.is_empty() => None,
                Ok(n) => Some(n),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
        };
        let needs_note = categories
            .iter()
            .find(|c| matches!(c, AccommodationCategory::AnotherLanguage | AccommodationCategory::Other));
        if let (Some(c), None, true) = (needs_note, &note, errors.iter().all(|e| e.field != note_field)) {
            errors.push(FieldError::new(note_field, format!("must say what is needed for `{c}`")));
        }
        if errors.is_empty() {
            Ok(Accommodation { categories, note })
        } else {
            Err(errors)
        }
    }

    /// The stored form of the categories: `|wheelchair_access|live_captions|`.
    pub fn stored_categories(&self) -> String {
        let mut s = String::from("|");
        for c in &self.categories {
            s.push_str(c.as_str());
            s.push('|');
        }
        s
    }
}

/// The categories in their stored form; an unknown word is an error (never dropped quietly).
pub fn load_categories(stored: &str) -> Result<Vec<AccommodationCategory>, crate::error::AppError> {
    stored
        .split('|')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<AccommodationCategory>()
                .map_err(|_| crate::error::AppError::internal("unknown accommodation category in the database"))
        })
        .collect()
}

/// A category as people read it (the digest, the CSV stays in the wire spelling).
pub fn category_label(c: AccommodationCategory) -> &'static str {
    match c {
        AccommodationCategory::WheelchairAccess => "Wheelchair access",
        AccommodationCategory::SignLanguageInterpreter => "Sign-language interpreter",
        AccommodationCategory::LiveCaptions => "Live captions",
        AccommodationCategory::AnotherLanguage => "Another language",
        AccommodationCategory::Other => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(categories: &[&str], note: Option<&str>) -> AccommodationIn {
        AccommodationIn {
            categories: categories.iter().map(|s| s.to_string()).collect(),
            note: note.map(str::to_string),
        }
    }

    #[test]
    fn categories_are_kept_once_in_declaration_order_and_stored_between_bars() {
        let a = Accommodation::parse(
            "accommodation",
            &input(&["live_captions", "wheelchair_access", "live_captions"], None),
        )
        .unwrap();
        assert_eq!(a.categories, vec![AccommodationCategory::WheelchairAccess, AccommodationCategory::LiveCaptions]);
        assert_eq!(a.stored_categories(), "|wheelchair_access|live_captions|");
        assert_eq!(load_categories(&a.stored_categories()).unwrap(), a.categories);
    }

    #[test]
    fn each_bad_field_is_named() {
        let e = Accommodation::parse("accommodation", &input(&["live_captions", "ramp"], Some("  "))).unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["accommodation.categories[1]"]);
        let e = Accommodation::parse("accommodation", &input(&[], None)).unwrap_err();
        assert_eq!(e[0].field, "accommodation.categories");
        let e = Accommodation::parse("accommodation", &input(&["other"], Some(" "))).unwrap_err();
        assert_eq!(e[0].field, "accommodation.note");
        let long = "x".repeat(NOTE_MAX + 1);
        let e = Accommodation::parse("accommodation", &input(&["other"], Some(&long))).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        let e = Accommodation::parse("", &input(&["x"], None)).unwrap_err();
        assert_eq!(e[0].field, "categories[0]");
        let ok = Accommodation::parse("accommodation", &input(&["another_language"], Some("  Vietnamese  "))).unwrap();
        assert_eq!(ok.note.as_deref(), Some("Vietnamese"));
    }
}
