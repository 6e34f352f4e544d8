//! The request and response bodies of `/api/v1/admin/me` and `/api/v1/admin/users…`, and their
//! list filters. What a body means is checked by the handlers; these types fix its shape (and so
//! the OpenAPI document).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{StaffToken, StaffUser};
use crate::db::from_db_time;
use crate::domain::Role;
use crate::time::utc_string;
use crate::wire::Patch;

/// A staff user to create (`POST /api/v1/admin/users`). Organizers invite organizers into their
/// own organization only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana@texaschamber.example", "name": "Ana Ruiz", "role": "organizer",
                          "organization_id": "0b6f1f7e-5c2a-4d59-9a53-2f7c4b7b1e10"}))]
pub struct UserIn {
    /// Stored lower-cased; unique among staff users.
    #[schema(example = "ana@texaschamber.example")]
    pub email: String,
    #[schema(example = "Ana Ruiz")]
    pub name: String,
    pub role: Role,
    /// Required for organizers (an organizer's own organization is taken when absent); refused
    /// for national admins.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub organization_id: Option<String>,
}

/// A change to a staff user (`PATCH /api/v1/admin/users/{id}`): admins change anything; an
/// organizer renames or (de)activates its own organization's users; anyone renames themself.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// National admins only; nobody changes their own role.
    #[serde(default)]
    pub role: Option<Role>,
    /// National admins only. `null` removes the organization (admins and experts only); absent
    /// leaves it.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub organization_id: Patch<String>,
    /// `false` stops every token of the user at once. Nobody deactivates themself; a user an
    /// admin deactivated is reactivated by an admin only.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A staff user.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The organization of an organizer (or of an expert who belongs to one).
    #[schema(format = Uuid)]
    pub organization_id: Option<String>,
    /// Inactive users' tokens are refused.
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<StaffUser> for UserOut {
    fn from(u: StaffUser) -> Self {
        UserOut {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            organization_id: u.organization_id,
            active: u.active,
            created_at: utc_string(from_db_time(u.created_at)),
        }
    }
}

/// A token to issue (`POST /api/v1/admin/users/{id}/tokens`); the body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// When the token stops working (RFC 3339, in the future); never when absent.
    #[serde(default)]
    #[schema(format = DateTime, example = "2027-06-30T23:59:59Z")]
    pub expires_at: Option<String>,
    /// A name to tell tokens apart (at most 100 characters).
    #[serde(default)]
    #[schema(example = "laptop")]
    pub label: Option<String>,
}

/// A staff token. The secret itself (`token`) is shown once, in the answer that created it; only
/// its hash is kept.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    #[schema(format = Uuid)]
    pub id: String,
    /// The secret (`rss_…`): only in the answer that created the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The first characters of the token, to recognise it.
    #[schema(example = "rss_AbCdEf")]
    pub prefix: String,
    pub label: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    /// Updated at most once a minute.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

impl TokenOut {
    /// A token row, with its secret when it was just created.
    pub fn from_row(t: StaffToken, plain: Option<String>) -> Self {
        let at = |x| utc_string(from_db_time(x));
        TokenOut {
            id: t.id,
            token: plain,
            prefix: t.display_prefix,
            label: t.label,
            created_at: at(t.created_at),
            expires_at: t.expires_at.map(at),
            revoked_at: t.revoked_at.map(at),
            last_used_at: t.last_used_at.map(at),
        }
    }
}

/// `GET /api/v1/admin/users`: a page of the users the caller may see, newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Page size: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
