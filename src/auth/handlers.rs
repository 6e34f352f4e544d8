//! `/api/v1/admin/users…` and `/api/v1/admin/me`: staff users and their tokens.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::queries::{self, NewStaffUser, StaffToken, StaffUser};
use super::{Actor, Role};
use crate::audit::{self, Changes};
use crate::db::{from_db_time, new_id, now, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, MaybeJson, Page, QueryParams};
use crate::time::{parse_instant, utc_string};
use crate::validate::{self, Errors};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    pub name: String,
    pub role: String,
    pub organization_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub organization_id: Option<String>,
    pub active: bool,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    pub expires_at: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenOut {
    pub id: String,
    /// Present only in the response that created the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub prefix: String,
    pub label: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl TokenOut {
    fn from_row(t: StaffToken, plain: Option<String>) -> Self {
        TokenOut {
            id: t.id,
            token: plain,
            prefix: t.display_prefix,
            label: t.label,
            created_at: utc_string(from_db_time(t.created_at)),
            expires_at: t.expires_at.map(|x| utc_string(from_db_time(x))),
            revoked_at: t.revoked_at.map(|x| utc_string(from_db_time(x))),
            last_used_at: t.last_used_at.map(|x| utc_string(from_db_time(x))),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub(crate) async fn get_me(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let id = actor.user_id.clone();
    let user = db.read(move |c| queries::find_user(c, &id)).await?.ok_or_else(|| AppError::not_found("user"))?;
    Ok(HttpResponse::Ok().json(UserOut::from(user)))
}

pub(crate) async fn create_user(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<UserIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let mut errs = Errors::new();
    let email = errs.take(validate::email("email", &input.email));
    let name = errs.take(validate::text("name", &input.name, 200));
    let role = input.role.trim().parse::<Role>().ok();
    if role.is_none() {
        errs.push("role", "must be admin, organizer or expert");
    }
    let mut organization_id = match input.organization_id.as_deref() {
        Some(raw) => errs.take(
            uuid::Uuid::parse_str(raw)
                .map(|u| u.to_string())
                .map_err(|_| crate::error::FieldError::new("organization_id", "is not a valid UUID")),
        ),
        None => None,
    };
    // Organizers invite organizers into their own organization, and nothing else.
    if let Some(own) = actor.organizer_org() {
        if role.is_some_and(|r| r != Role::Organizer) {
            return Err(AppError::Forbidden("organizers may invite organizers only".into()));
        }
        if organization_id.as_deref().is_some_and(|o| o != own) {
            return Err(AppError::Forbidden("organizers invite staff into their own organization only".into()));
        }
        organization_id = Some(own.to_string());
    }
    if role == Some(Role::Organizer) && organization_id.is_none() && input.organization_id.is_none() {
        errs.push("organization_id", "is required for organizers");
    }
    if role == Some(Role::Admin) && input.organization_id.is_some() {
        errs.push("organization_id", "national admins belong to no organization");
    }
    errs.finish()?;
    let (email, name, role) = (email.unwrap(), name.unwrap(), role.unwrap());
    let user = db
        .write(move |c| {
            if let Some(org) = &organization_id {
                if !crate::partners::queries::organization_exists(c, org)? {
                    return Err(AppError::field("organization_id", "no such organization"));
                }
            }
            let ts = now();
            let user = queries::insert_user(
                c,
                &NewStaffUser {
                    id: new_id(),
                    email,
                    name,
                    role: role.as_str().to_string(),
                    organization_id: organization_id.clone(),
                    active: true,
                    created_at: ts,
                    updated_at: ts,
                },
            )?;
            let mut changes = Changes::fields(&["email", "name", "role"]);
            if let Some(org) = &organization_id {
                changes = changes.with_ref("organization_id", org);
            }
            audit::record(c, &actor, "create", "staff_user", &user.id, changes)?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserOut::from(user)))
}

pub(crate) async fn list_users(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = db.read(move |c| queries::list_users(c, &actor, after, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |u| (u.created_at, u.id.clone()));
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(UserOut::from).collect(), next_cursor: next }))
}

pub(crate) async fn get_user(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let user = db
        .read(move |c| queries::find_visible_user(c, &actor, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such user"))?;
    Ok(HttpResponse::Ok().json(UserOut::from(user)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<String>,
    /// `null` removes the organization (admins and experts only).
    #[serde(default, with = "double_option")]
    pub organization_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `PATCH /api/v1/admin/users/{id}`: admins change anything (name, role, organization, active);
/// an organizer renames or (de)activates the users of its own organization; anyone renames
/// themself. Deactivating a user stops all of its tokens at once.
pub(crate) async fn update_user(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<UserPatch>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let mut errs = Errors::new();
    let name = match input.name.as_deref() {
        Some(n) => errs.take(validate::text("name", n, 200)),
        None => None,
    };
    let role = match input.role.as_deref() {
        Some(r) => {
            let parsed = r.trim().parse::<Role>().ok();
            if parsed.is_none() {
                errs.push("role", "must be admin, organizer or expert");
            }
            parsed
        }
        None => None,
    };
    let organization_id = match &input.organization_id {
        Some(Some(raw)) => errs
            .take(
                uuid::Uuid::parse_str(raw)
                    .map(|u| u.to_string())
                    .map_err(|_| crate::error::FieldError::new("organization_id", "is not a valid UUID")),
            )
            .map(Some),
        Some(None) => Some(None),
        None => None,
    };
    errs.finish()?;
    let active = input.active;
    let user = db
        .write(move |c| {
            let current =
                queries::find_visible_user(c, &actor, &id)?.ok_or_else(|| AppError::not_found("no such user"))?;
            if !actor.is_admin() {
                if role.is_some() || organization_id.is_some() {
                    return Err(AppError::Forbidden("only national admins change roles and organizations".into()));
                }
                if active.is_some() && actor.organizer_org().is_none() {
                    return Err(AppError::Forbidden("only admins and organizers (de)activate users".into()));
                }
            }
            if active == Some(true) && !current.active && current.deactivated_by_admin && !actor.is_admin() {
                return Err(AppError::Forbidden("an admin deactivated this user; only an admin reactivates it".into()));
            }
            if active == Some(false) && current.id == actor.user_id {
                return Err(AppError::field("active", "you cannot deactivate yourself"));
            }
            if role.is_some_and(|r| r.as_str() != current.role) && current.id == actor.user_id {
                return Err(AppError::field("role", "you cannot change your own role"));
            }
            let new_role = role.map(|r| r.as_str().to_string()).unwrap_or_else(|| current.role.clone());
            let new_org = organization_id.clone().unwrap_or_else(|| current.organization_id.clone());
            if new_role == "organizer" && new_org.is_none() {
                return Err(AppError::field("organization_id", "is required for organizers"));
            }
            if new_role == "admin" && new_org.is_some() {
                return Err(AppError::field("organization_id", "national admins belong to no organization"));
            }
            if let Some(Some(org)) = &organization_id {
                if !crate::partners::queries::organization_exists(c, org)? {
                    return Err(AppError::field("organization_id", "no such organization"));
                }
            }
            let changes = queries::StaffUserChanges {
                name: name.clone(),
                role: role.map(|r| r.as_str().to_string()),
                organization_id: organization_id.clone(),
                active,
                // Remembered so that an organizer cannot undo an admin's deactivation.
                deactivated_by_admin: active.map(|a| !a && actor.is_admin()),
                updated_at: Some(now()),
            };
            let user = queries::update_user(c, &id, &changes)?;
            let mut fields = Vec::new();
            if name.is_some() {
                fields.push("name");
            }
            if role.is_some() {
                fields.push("role");
            }
            if organization_id.is_some() {
                fields.push("organization_id");
            }
            if active.is_some() {
                fields.push("active");
            }
            let mut audit_changes = Changes::fields(&fields);
            if let Some(Some(org)) = &organization_id {
                audit_changes = audit_changes.with_ref("organization_id", org);
            }
            audit::record(c, &actor, "update", "staff_user", &id, audit_changes)?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::from(user)))
}

pub(crate) async fn create_token(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    MaybeJson(body): MaybeJson<TokenIn>,
) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path)?;
    let input = body.unwrap_or_default();
    let mut errs = Errors::new();
    let expires_at = match input.expires_at.as_deref() {
        Some(raw) => errs.take(parse_instant("expires_at", raw, chrono_tz::UTC)),
        None => None,
    };
    if let Some(t) = expires_at {
        if t <= chrono::Utc::now() {
            errs.push("expires_at", "must be in the future");
        }
    }
    let label = errs.take(validate::opt_text("label", input.label.as_deref(), 100)).flatten();
    errs.finish()?;
    let (row, token) = db
        .write(move |c| {
            queries::find_visible_user(c, &actor, &user_id)?.ok_or_else(|| AppError::not_found("no such user"))?;
            // A token is the user's own key: made by the user or by an admin, never by an
            // organizer for someone else (who could then act as them). One exception bootstraps
            // an invitation: the first token of a user this organizer invited, who has none yet.
            if !actor.is_admin() && actor.user_id != user_id && !queries::may_bootstrap_token(c, &actor, &user_id)? {
                return Err(AppError::Forbidden("tokens are created by the user themself or by an admin".into()));
            }
            let (row, token) = queries::issue_token(c, &user_id, label, expires_at)?;
            let changes = Changes::none().with_ref("user_id", &user_id).with_ref("minted_by", &actor.user_id);
            audit::record(c, &actor, "create", "staff_token", &row.id, changes)?;
            Ok((row, token))
        })
        .await?;
    Ok(HttpResponse::Created().json(TokenOut::from_row(row, Some(token))))
}

pub(crate) async fn list_tokens(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path)?;
    let rows = db
        .read(move |c| {
            queries::find_visible_user(c, &actor, &user_id)?.ok_or_else(|| AppError::not_found("no such user"))?;
            queries::list_tokens(c, &user_id)
        })
        .await?;
    let items: Vec<TokenOut> = rows.into_iter().map(|t| TokenOut::from_row(t, None)).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor: None }))
}

pub(crate) async fn revoke_token(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path.0)?;
    let token_id = parse_id("token_id", &path.1)?;
    db.write(move |c| {
        queries::find_visible_user(c, &actor, &user_id)?.ok_or_else(|| AppError::not_found("no such token"))?;
        if !queries::revoke_token(c, &user_id, &token_id)? {
            return Err(AppError::not_found("no such token"));
        }
        audit::record(c, &actor, "revoke", "staff_token", &token_id, Changes::none().with_ref("user_id", &user_id))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
