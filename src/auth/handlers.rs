//! `/api/v1/admin/me` and `/api/v1/admin/users…`: staff users and their tokens.
//!
//! Who may do what (see [`super::scope`]): admins manage every user; an organizer invites
//! organizers into its own organization and renames or (de)activates its users; anyone sees and
//! renames themself. A token is its user's own key: made by the user or an admin, except the first
//! token of a user an organizer just invited (so the organizer can hand it over).

use actix_web::{web, HttpResponse};

use super::queries::{self, NewStaffUser};
use super::wire::{TokenIn, TokenOut, UserIn, UserListQuery, UserOut, UserPatch};
use super::{Actor, Role};
use crate::audit::{self, Changes};
use crate::db::{new_id, now, Db};
use crate::error::{AppError, FieldError};
use crate::http::{decode_cursor, next_page, page_limit, parse_id, JsonBody, MaybeJson, Page, QueryParams};
use crate::openapi::problems::Staff;
use crate::time::parse_instant;
use crate::validate;

/// The caller's own staff user.
#[utoipa::path(
    get,
    path = "/api/v1/admin/me",
    tag = "staff",
    responses((status = 200, description = "the caller", body = UserOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn get_me(actor: Actor, db: web::Data<Db>) -> Result<web::Json<UserOut>, AppError> {
    let id = actor.user_id.clone();
    let user = db.read(move |c| queries::find_user(c, &id)).await?.ok_or_else(|| AppError::not_found("user"))?;
    Ok(web::Json(user.into()))
}

/// A staff user to create, once its fields are read.
struct Invitation {
    email: crate::domain::EmailAddress,
    name: String,
    role: Role,
    organization_id: Option<String>,
}

/// Reads a [`UserIn`] as `actor` may send it: 403 for what the actor may never do (an organizer
/// inviting anyone but an organizer of its own organization), else 422 listing every bad field.
fn read_invitation(actor: &Actor, input: UserIn) -> Result<Invitation, AppError> {
    let role = input.role;
    let email = validate::email("email", &input.email);
    let name = validate::text("name", &input.name, 200);
    let given = input.organization_id.as_deref().map(|raw| validate::uuid("organization_id", raw)).transpose();
    // Organizers invite organizers into their own organization, and nothing else.
    let organization_id = match (actor.organizer_org(), given) {
        (None, given) => given,
        (Some(_), _) if role != Role::Organizer => {
            return Err(AppError::Forbidden("organizers may invite organizers only".into()))
        }
        (Some(own), Ok(Some(o))) if o != own => {
            return Err(AppError::Forbidden("organizers invite staff into their own organization only".into()))
        }
        (Some(own), Ok(_)) => Ok(Some(own.to_string())),
        (Some(_), Err(e)) => Err(e),
    };
    let organization_id = organization_id.and_then(|org| match (role, org) {
        (Role::Organizer, None) => Err(FieldError::new("organization_id", "is required for organizers")),
        (Role::Admin, Some(_)) => Err(FieldError::new("organization_id", "national admins belong to no organization")),
        (_, org) => Ok(org),
    });
    match (email, name, organization_id) {
        (Ok(email), Ok(name), Ok(organization_id)) => Ok(Invitation { email, name, role, organization_id }),
        (email, name, organization_id) => {
            Err(AppError::Validation([email.err(), name.err(), organization_id.err()].into_iter().flatten().collect()))
        }
    }
}

/// Create a staff user.
///
/// Admins create anyone; an organizer invites organizers into its own organization (the
/// organization is its own when left out). Audited.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "staff",
    request_body = UserIn,
    responses((status = 201, description = "the new user", body = UserOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn create_user(
    actor: Actor,
    db: web::Data<Db>,
    JsonBody(input): JsonBody<UserIn>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let Invitation { email, name, role, organization_id } = read_invitation(&actor, input)?;
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
                    email: email.into_string(),
                    name,
                    role,
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

/// Staff users the caller may see, newest first.
///
/// Admins see everyone; an organizer its organization's users (admins excluded). Experts: 403.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "staff",
    params(UserListQuery),
    responses((status = 200, description = "a page of users", body = Page<UserOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn list_users(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<UserListQuery>,
) -> Result<web::Json<Page<UserOut>>, AppError> {
    actor.require_staff_manager()?;
    let limit = page_limit(q.limit)?;
    let after: Option<(chrono::NaiveDateTime, String)> = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = db.read(move |c| queries::list_users(c, &actor, after, limit + 1)).await?;
    let next = next_page(&mut rows, limit, |u| (u.created_at, u.id.clone()));
    Ok(web::Json(Page { items: rows.into_iter().map(UserOut::from).collect(), next_cursor: next }))
}

/// A staff user the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "the user", body = UserOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn get_user(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<UserOut>, AppError> {
    let id = parse_id("id", &path)?;
    let user = db
        .read(move |c| queries::find_visible_user(c, &actor, &id))
        .await?
        .ok_or_else(|| AppError::not_found("no such user"))?;
    Ok(web::Json(user.into()))
}

/// Change a staff user.
///
/// Admins change anything (name, role, organization, active); an organizer renames or
/// (de)activates the users of its own organization; anyone renames themself. Deactivating a user
/// stops all of its tokens at once. Audited.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/users/{id}",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = UserPatch,
    responses((status = 200, description = "the changed user", body = UserOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn update_user(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    JsonBody(input): JsonBody<UserPatch>,
) -> Result<web::Json<UserOut>, AppError> {
    let id = parse_id("id", &path)?;
    let name = input.name.as_deref().map(|n| validate::text("name", n, 200)).transpose();
    let organization_id = input.organization_id.try_map(|raw| validate::uuid("organization_id", &raw));
    let (name, organization_id) = match (name, organization_id) {
        (Ok(name), Ok(organization_id)) => (name, organization_id.into_change()),
        (name, organization_id) => {
            return Err(AppError::Validation([name.err(), organization_id.err()].into_iter().flatten().collect()))
        }
    };
    let (role, active) = (input.role, input.active);
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
            if role.is_some_and(|r| r != current.role) && current.id == actor.user_id {
                return Err(AppError::field("role", "you cannot change your own role"));
            }
            let new_role = role.unwrap_or(current.role);
            let new_org = organization_id.clone().unwrap_or_else(|| current.organization_id.clone());
            match (new_role, &new_org) {
                (Role::Organizer, None) => {
                    return Err(AppError::field("organization_id", "is required for organizers"));
                }
                (Role::Admin, Some(_)) => {
                    return Err(AppError::field("organization_id", "national admins belong to no organization"));
                }
                _ => {}
            }
            if let Some(Some(org)) = &organization_id {
                if !crate::partners::queries::organization_exists(c, org)? {
                    return Err(AppError::field("organization_id", "no such organization"));
                }
            }
            let changes = queries::StaffUserChanges {
                name: name.clone(),
                role,
                organization_id: organization_id.clone(),
                active,
                // Remembered so that an organizer cannot undo an admin's deactivation.
                deactivated_by_admin: active.map(|a| !a && actor.is_admin()),
                updated_at: Some(now()),
            };
            let user = queries::update_user(c, &id, &changes)?;
            let mut audit_changes = Changes::of_set(&[
                ("name", name.is_some()),
                ("role", role.is_some()),
                ("organization_id", organization_id.is_some()),
                ("active", active.is_some()),
            ]);
            if let Some(Some(org)) = &organization_id {
                audit_changes = audit_changes.with_ref("organization_id", org);
            }
            audit::record(c, &actor, "update", "staff_user", &id, audit_changes)?;
            Ok(user)
        })
        .await?;
    Ok(web::Json(user.into()))
}

/// Issue a token (the secret is shown once).
///
/// A token is made by its user or by an admin; an organizer may make only the first token of a
/// user it invited. The body may be left out (or be `null`). Audited (never the secret).
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body(content = Option<TokenIn>, content_type = "application/json"),
    responses((status = 201, description = "the new token, with its secret", body = TokenOut), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn create_token(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    MaybeJson(body): MaybeJson<Option<TokenIn>>,
) -> Result<HttpResponse, AppError> {
    let user_id = parse_id("id", &path)?;
    // No body, `null` and `{}` all ask for a token with no label that never expires.
    let input = body.flatten().unwrap_or_default();
    let expires_at =
        input.expires_at.as_deref().map(|raw| parse_instant("expires_at", raw, chrono_tz::UTC)).transpose().and_then(
            |t| match t {
                Some(t) if t <= chrono::Utc::now() => Err(FieldError::new("expires_at", "must be in the future")),
                t => Ok(t),
            },
        );
    let label = validate::opt_text("label", input.label.as_deref(), 100);
    let (expires_at, label) = match (expires_at, label) {
        (Ok(expires_at), Ok(label)) => (expires_at, label),
        (expires_at, label) => {
            return Err(AppError::Validation([expires_at.err(), label.err()].into_iter().flatten().collect()))
        }
    };
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

/// A user's tokens, newest first (never the secret).
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "every token of the user, on one page", body = Page<TokenOut>), Staff),
    security(("staff_token" = []))
)]
pub(crate) async fn list_tokens(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
) -> Result<web::Json<Page<TokenOut>>, AppError> {
    let user_id = parse_id("id", &path)?;
    let rows = db
        .read(move |c| {
            queries::find_visible_user(c, &actor, &user_id)?.ok_or_else(|| AppError::not_found("no such user"))?;
            queries::list_tokens(c, &user_id)
        })
        .await?;
    let items = rows.into_iter().map(|t| TokenOut::from_row(t, None)).collect();
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Revoke a token.
///
/// Anyone who may see the user revokes its tokens (an organizer stops a colleague's key at once).
/// Revoking twice is fine. Audited.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/tokens/{token_id}",
    tag = "staff",
    params(
        ("id" = uuid::Uuid, Path, description = "The user's id"),
        ("token_id" = uuid::Uuid, Path, description = "The token's id"),
    ),
    responses((status = 204, description = "revoked"), Staff),
    security(("staff_token" = []))
)]
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
