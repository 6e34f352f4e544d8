//! `GET /api/v1/admin/audit?object_type=&object_id=&actor=&limit=&cursor=` (national admins).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::queries::{self, AuditEntry, AuditFilter};
use crate::auth::Actor;
use crate::db::{from_db_time, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, Page, QueryParams};
use crate::time::utc_string;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// A staff user id.
    pub actor: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AuditOut {
    pub id: String,
    /// The staff user who acted; `null` for the command line or a business acting on its own data.
    pub actor: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub changes: serde_json::Value,
    pub at: String,
}

impl From<AuditEntry> for AuditOut {
    fn from(e: AuditEntry) -> Self {
        AuditOut {
            id: e.id,
            actor: e.actor_user_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            changes: serde_json::from_str(&e.changes).unwrap_or(serde_json::Value::Null),
            at: utc_string(from_db_time(e.created_at)),
        }
    }
}

pub(crate) async fn list_audit(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = AuditFilter {
        object_type: q.object_type.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        object_id: q.object_id.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        actor_user_id: q.actor.as_deref().map(|a| parse_id("actor", a)).transpose()?,
    };
    let mut rows = db.read(move |c| queries::list(c, &filter, after, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |e| (e.created_at, e.id.clone()));
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(AuditOut::from).collect(), next_cursor: next }))
}
