//! The `audit_log` table. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_log;
use crate::db::{new_id, now, DbConnection};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable)]
pub struct AuditEntry {
    pub id: String,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub changes: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConnection,
    actor_user_id: Option<&str>,
    action: &str,
    object_type: &str,
    object_id: &str,
    changes: &str,
) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(new_id()),
            audit_log::actor_user_id.eq(actor_user_id),
            audit_log::action.eq(action),
            audit_log::object_type.eq(object_type),
            audit_log::object_id.eq(object_id),
            audit_log::changes.eq(changes),
            audit_log::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether `actor_user_id` did `action` to the object (`object_type`, `object_id`).
pub fn has_entry(
    conn: &mut DbConnection,
    actor_user_id: &str,
    action: &str,
    object_type: &str,
    object_id: &str,
) -> Result<bool, AppError> {
    let n: i64 = audit_log::table
        .filter(audit_log::actor_user_id.eq(actor_user_id))
        .filter(audit_log::action.eq(action))
        .filter(audit_log::object_type.eq(object_type))
        .filter(audit_log::object_id.eq(object_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Filters of the audit listing.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_user_id: Option<String>,
}

/// Entries newest first, keyset-paginated on (created_at, id). Admins only: the caller checks.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let mut q = audit_log::table.into_boxed();
    if let Some(t) = &filter.object_type {
        q = q.filter(audit_log::object_type.eq(t.clone()));
    }
    if let Some(id) = &filter.object_id {
        q = q.filter(audit_log::object_id.eq(id.clone()));
    }
    if let Some(a) = &filter.actor_user_id {
        q = q.filter(audit_log::actor_user_id.eq(a.clone()));
    }
    if let Some((at, id)) = after {
        q = q.filter(audit_log::created_at.lt(at).or(audit_log::created_at.eq(at).and(audit_log::id.lt(id))));
    }
    Ok(q.order((audit_log::created_at.desc(), audit_log::id.desc())).limit(limit).load(conn)?)
}
