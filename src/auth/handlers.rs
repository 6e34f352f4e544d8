//! `/api/v1/admin/users…` and `/api/v1/admin/me`: staff users and their tokens.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::queries::{self, NewStaffUser, StaffToken, StaffUser};
use super::{Actor, Role};
use crate::db::{from_db_time, new_id, now, Db};
use crate::error::AppError;
use crate::http::{decode_cursor, encode_cursor, page_limit, parse_id, JsonBody, MaybeJson, Page, QueryParams};
use crate::time::{parse_instant, utc_string};
use crate::validate::{self, Errors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/admin/me").route(web::get().to(get_me)))
        .service(
            web::resource("/api/v1/admin/users").route(web::post().to(create_user)).route(web::get().to(list_users)),
        )
        .service(web::resource("/api/v1/admin/users/{id}").route(web::get().to(get_user)))
        .service(
            web::resource("/api/v1/admin/users/{id}/tokens")
                .route(web::post().to(create_token))
                .route(web::get().to(list_tokens)),
        )
        .service(web::resource("/api/v1/admin/users/{id}/tokens/{token_id}").route(web::delete().to(revoke_token)));
}

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

async fn get_me(actor: Actor, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let id = actor.user_id.clone();
    let user = db.read(move |c| queries::find_user(c, &id)).await?.ok_or_else(|| AppError::not_found("user"))?;
    Ok(HttpResponse::Ok().json(UserOut::from(user)))
}

async fn create_user(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<UserIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let mut errs = Errors::new();
    let email = errs.take(validate::email("email", &input.email));
    let name = errs.take(validate::text("name", &input.name, 200));
    let role = Role::parse(input.role.trim());
    if role.is_none() {
        errs.push("role", "must be admin, organizer or expert");
    }
    let organization_id = match input.organization_id.as_deref() {
        Some(raw) => errs.take(
            uuid::Uuid::parse_str(raw)
                .map(|u| u.to_string())
                .map_err(|_| crate::error::FieldError::new("organization_id", "is not a valid UUID")),
        ),
        None => None,
    };
    if role == Some(Role::Organizer) && organization_id.is_none() && input.organization_id.is_none() {
        errs.push("organization_id", "is required for organizers");
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
            queries::insert_user(
                c,
                &NewStaffUser {
                    id: new_id(),
                    email,
                    name,
                    role: role.as_str().to_string(),
                    organization_id,
                    active: true,
                    created_at: ts,
                    updated_at: ts,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(UserOut::from(user)))
}

async fn list_users(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = db.read(move |c| queries::list_users(c, after, limit + 1)).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|u| encode_cursor(&(u.created_at, u.id.clone())))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(UserOut::from).collect(), next_cursor: next }))
}

async fn get_user(actor: Actor, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    if !actor.is_admin() && actor.user_id != id {
        return Err(AppError::not_found("no such user"));
    }
    let user =
        db.read(move |c| queries::find_user(c, &id)).await?.ok_or_else(|| AppError::not_found("no such user"))?;
    Ok(HttpResponse::Ok().json(UserOut::from(user)))
}

/// Admins issue tokens for anyone; every staff member may issue tokens for themself.
fn may_manage_tokens_of(actor: &Actor, user_id: &str) -> bool {
    actor.is_admin() || actor.user_id == user_id
}

async fn create_token(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    MaybeJson(body): MaybeJson<TokenIn>,
) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path)?;
    if !may_manage_tokens_of(&actor, &user_id) {
        return Err(AppError::not_found("no such user"));
    }
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
            queries::find_user(c, &user_id)?.ok_or_else(|| AppError::not_found("no such user"))?;
            queries::issue_token(c, &user_id, label, expires_at)
        })
        .await?;
    Ok(HttpResponse::Created().json(TokenOut::from_row(row, Some(token))))
}

async fn list_tokens(actor: Actor, db: web::Data<Db>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path)?;
    if !may_manage_tokens_of(&actor, &user_id) {
        return Err(AppError::not_found("no such user"));
    }
    let rows = db.read(move |c| queries::list_tokens(c, &user_id)).await?;
    let items: Vec<TokenOut> = rows.into_iter().map(|t| TokenOut::from_row(t, None)).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor: None }))
}

async fn revoke_token(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path.0)?;
    let token_id = parse_id("token_id", &path.1)?;
    if !may_manage_tokens_of(&actor, &user_id) {
        return Err(AppError::not_found("no such token"));
    }
    let found = db.write(move |c| queries::revoke_token(c, &user_id, &token_id)).await?;
    if found {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AppError::not_found("no such token"))
    }
}
