//! `GET /api/v1/admin/audit?object_type=&object_id=&actor=&limit=&cursor=` (national admins).

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{self, AuditEntry, AuditFilter};
use super::Changes;
use crate::actor::Actor;
use crate::db::{from_db_time, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, Page, QueryParams};
use crate::openapi::problems::Staff;
use crate::time::utc_string;

/// Filters of the audit trail (all optional, combined with AND).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// What kind of object: `staff_user`, `staff_token`, `organization`, `venue`, `event`,
    /// `registration`, `business`, `outbox_email`, …
    #[param(example = "organization")]
    pub object_type: Option<String>,
    /// One object's id.
    pub object_id: Option<String>,
    /// The staff user who acted (a UUID).
    #[param(value_type = Option<uuid::Uuid>)]
    pub actor: Option<String>,
    /// Page size: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One entry of the audit trail: ids and field names, never a value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditOut {
    #[schema(format = Uuid)]
    pub id: String,
    /// The staff user who acted; `null` for the command line or a business acting on its own data.
    #[schema(format = Uuid)]
    pub actor: Option<String>,
    /// What was done: `create`, `update`, `publish`, `cancel`, `revoke`, `retry`, `erase`, `check_in`, …
    #[schema(example = "update")]
    pub action: String,
    #[schema(example = "organization")]
    pub object_type: String,
    pub object_id: String,
    pub changes: Changes,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<AuditEntry> for AuditOut {
    fn from(e: AuditEntry) -> Self {
        // Every entry is written from a `Changes`; one that does not read back shows as none.
        let changes = serde_json::from_str(&e.changes).unwrap_or_else(|err| {
            tracing::warn!(audit.id = %e.id, error = %err, "audit entry with unreadable changes");
            Changes::none()
        });
        AuditOut {
            id: e.id,
            actor: e.actor_user_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            changes,
            at: utc_string(from_db_time(e.created_at)),
        }
    }
}

/// The audit trail, newest first (national admins).
///
/// Who did what to which object, and which fields changed; entries hold ids and field names only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "reports",
    params(AuditQuery),
    responses((status = 200, description = "a page of entries", body = Page<AuditOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn list_audit(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<web::Json<Page<AuditOut>>, AppError> {
    actor.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = AuditFilter {
        object_type: q.object_type.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        object_id: q.object_id.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        actor_user_id: q.actor.as_deref().map(|a| parse_id("actor", a)).transpose()?,
    };
    let mut rows = db.read(move |c| queries::list(c, &filter, after, limit + 1)).await?;
    let next_cursor = next_page(&mut rows, limit, |e| (e.created_at, e.id.clone()));
    Ok(web::Json(Page { items: rows.into_iter().map(AuditOut::from).collect(), next_cursor }))
}
