//! The audit trail: who did what to which object, when, and which fields changed.
//!
//! Every admin write calls [`record`] inside the transaction that makes the change, so the entry
//! commits or rolls back with it. Entries hold ids and field names only, never a value that could
//! be personal data: [`Changes`] can only carry field names and references to other objects by id.
//! Admins read the trail at `GET /api/v1/admin/audit`.
//!
//! This module depends on no authentication: it takes the [`Actor`] that [`crate::auth`] proved
//! (authentication records audit entries, so the dependency goes that way only).

pub mod handlers;
pub mod queries;
pub mod routes;

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::db::DbConnection;
use crate::error::AppError;

pub use queries::AuditEntry;

/// What an audited action changed: the names of the fields written, and the ids of objects it
/// linked (e.g. `organization_id`). Deliberately no place for values: names, emails and tokens
/// cannot end up in the audit log.
/// Stored as JSON in `audit_log.changes` and shown as is in the audit listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditChanges)]
pub struct Changes {
    /// The names of the fields written (left out when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["name", "states"]))]
    pub fields: Vec<String>,
    /// Objects the action linked, by id (left out when none).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(example = json!({"organization_id": "0b6f1f7e-5c2a-4d59-9a53-2f7c4b7b1e10"}))]
    pub refs: std::collections::BTreeMap<String, String>,
}

impl Changes {
    pub fn none() -> Self {
        Changes::default()
    }

    /// The names of the fields written.
    pub fn fields<S: AsRef<str>>(names: &[S]) -> Self {
        Changes { fields: names.iter().map(|s| s.as_ref().to_string()).collect(), ..Default::default() }
    }

    /// The names whose flag is true: `of_set(&[("title", patch.title.is_some()), …])`.
    pub fn of_set(flags: &[(&str, bool)]) -> Self {
        Changes {
            fields: flags.iter().filter(|(_, set)| *set).map(|(n, _)| n.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Adds a field name.
    pub fn field(mut self, name: &str) -> Self {
        if !self.fields.iter().any(|f| f == name) {
            self.fields.push(name.to_string());
        }
        self
    }

    /// Adds a reference to another object by id (`"organization_id" → "…"`).
    pub fn with_ref(mut self, name: &str, id: &str) -> Self {
        self.refs.insert(name.to_string(), id.to_string());
        self
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Records an action of a staff member, in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    changes: Changes,
) -> Result<(), AppError> {
    queries::insert(conn, Some(&actor.user_id), action, object_type, object_id, &changes.to_json())
}

/// Records an action with no staff member behind it: the command line, a business acting on its
/// own data through its manage token, the scheduler.
pub fn record_system(
    conn: &mut DbConnection,
    action: &str,
    object_type: &str,
    object_id: &str,
    changes: Changes,
) -> Result<(), AppError> {
    queries::insert(conn, None, action, object_type, object_id, &changes.to_json())
}

#[cfg(test)]
mod tests {
    use super::Changes;

    #[test]
    fn changes_hold_field_names_and_ids_only() {
        let c = Changes::fields(&["name"]).field("states").field("name").with_ref("organization_id", "o-1");
        assert_eq!(c.to_json(), r#"{"fields":["name","states"],"refs":{"organization_id":"o-1"}}"#);
        assert_eq!(Changes::none().to_json(), "{}");
        assert_eq!(Changes::of_set(&[("a", true), ("b", false)]).fields, vec!["a"]);
    }
}
