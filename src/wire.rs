//! Pieces every feature's wire types share.
//!
//! Naming: a request body is `…In`, a response body `…Out`, a partial update `…Patch`. Every
//! body is a Rust type deriving `utoipa::ToSchema`, so the OpenAPI document
//! (`GET /api/openapi.json`, [`crate::openapi`]) is generated from the same types the handlers
//! read and write.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{Schema, Type};
use utoipa::openapi::{ObjectBuilder, OneOfBuilder, RefOr};
use utoipa::ToSchema;

/// A field of a PATCH body: absent (leave it), `null` (clear it) or a value (set it).
///
/// Declare it with `#[serde(default)]` so that an absent field is [`Patch::Absent`]:
///
/// ```
/// # use roadshow::wire::Patch;
/// #[derive(serde::Deserialize)]
/// struct VenuePatch {
///     #[serde(default)]
///     notes: Patch<String>,
/// }
/// let p: VenuePatch = serde_json::from_str(r#"{"notes": null}"#).unwrap();
/// assert_eq!(p.notes, Patch::Null);
/// let p: VenuePatch = serde_json::from_str("{}").unwrap();
/// assert_eq!(p.notes, Patch::Absent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// `None` when absent, `Some(None)` when cleared, `Some(Some(v))` when set: the shape the
    /// query layer's changesets take.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(v) => Some(Some(v)),
        }
    }

    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(v),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(f(v)),
        }
    }

    /// Maps a present value through a fallible parse.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(f(v)?),
        })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Only called when the field is present (absent fields take `Default`).
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Absent | Patch::Null => s.serialize_none(),
            Patch::Value(v) => v.serialize(s),
        }
    }
}

impl<T: ToSchema + utoipa::__dev::ComposeSchema> ToSchema for Patch<T> {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        T::schemas(schemas);
    }
}

/// The schema: `null` or `T`. utoipa describes a generic field type (`Patch<String>` inside a
/// `#[derive(ToSchema)]` struct) through this trait, as it does its own `Option<T>`; the trait
/// also gives `PartialSchema`.
impl<T: utoipa::__dev::ComposeSchema> utoipa::__dev::ComposeSchema for Patch<T> {
    fn compose(generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        let inner = generics.first().cloned().unwrap_or_else(|| T::compose(Vec::new()));
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .item(inner)
            .description(Some("absent: unchanged; null: cleared; a value: set"))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[derive(Debug, Deserialize, ToSchema)]
    #[allow(dead_code)]
    struct P {
        #[serde(default)]
        a: Patch<i32>,
    }

    #[test]
    fn absent_null_and_value_are_three_things() {
        assert_eq!(serde_json::from_str::<P>("{}").unwrap().a, Patch::Absent);
        assert_eq!(serde_json::from_str::<P>(r#"{"a":null}"#).unwrap().a, Patch::Null);
        assert_eq!(serde_json::from_str::<P>(r#"{"a":3}"#).unwrap().a, Patch::Value(3));
        assert!(serde_json::from_str::<P>(r#"{"a":"x"}"#).is_err());
        assert_eq!(Patch::Value(3).into_change(), Some(Some(3)));
        assert_eq!(Patch::<i32>::Null.into_change(), Some(None));
        assert_eq!(Patch::<i32>::Absent.into_change(), None);
    }

    #[test]
    fn a_patch_field_is_optional_and_nullable_in_the_schema() {
        let schema = serde_json::to_value(<P as PartialSchema>::schema()).unwrap();
        assert!(schema.get("required").is_none(), "{schema}");
        let mut components = Vec::new();
        <P as ToSchema>::schemas(&mut components);
        let components: std::collections::BTreeMap<String, serde_json::Value> =
            components.into_iter().map(|(name, s)| (name, serde_json::to_value(s).unwrap())).collect();
        let name = schema["properties"]["a"]["$ref"].as_str().unwrap().trim_start_matches("#/components/schemas/");
        let a = components.get(name).unwrap_or_else(|| panic!("{name} is registered: {components:?}"));
        assert_eq!(a["oneOf"][0]["type"], "null", "{a}");
        assert_eq!(a["oneOf"][1]["type"], "integer", "{a}");
    }
}
