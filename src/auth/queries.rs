//! Staff users and their tokens. No HTTP here.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{tokens, Actor, Role};
use crate::db::schema::{staff_tokens, staff_users};
use crate::db::{now, to_db_time, DbConnection};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = staff_users)]
pub struct StaffUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organization_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set when an admin deactivated the user: then only an admin may reactivate it.
    pub deactivated_by_admin: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff_users)]
pub struct NewStaffUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organization_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = staff_tokens)]
pub struct StaffToken {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub display_prefix: String,
    pub label: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff_tokens)]
pub struct NewStaffToken {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub display_prefix: String,
    pub label: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// The actor behind a token hash, if the token is live and its user active.
pub fn actor_for_token(conn: &mut DbConnection, hash: &str) -> Result<Option<Actor>, AppError> {
    let now = now();
    let found: Option<(StaffToken, StaffUser)> = staff_tokens::table
        .inner_join(staff_users::table)
        .filter(staff_tokens::token_hash.eq(hash))
        .filter(staff_tokens::revoked_at.is_null())
        .filter(staff_tokens::expires_at.is_null().or(staff_tokens::expires_at.gt(now)))
        .filter(staff_users::active.eq(true))
        .first(conn)
        .optional()?;
    let Some((token, user)) = found else { return Ok(None) };
    // The lookup is by hash (an index probe on a value an attacker cannot steer: SHA-256 of the
    // token); compare again in constant time so no string-equality timing is ever involved.
    if !subtle_eq(&token.token_hash, hash) {
        return Ok(None);
    }
    // Record use at most once a minute per token to keep reads cheap.
    let stale = token.last_used_at.is_none_or(|t| now - t > chrono::Duration::minutes(1));
    if stale {
        diesel::update(staff_tokens::table.find(&token.id))
            .set(staff_tokens::last_used_at.eq(Some(now)))
            .execute(conn)?;
    }
    Ok(Some(Actor { user_id: user.id, role: user.role, organization_id: user.organization_id }))
}

fn subtle_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

pub fn insert_user(conn: &mut DbConnection, user: &NewStaffUser) -> Result<StaffUser, AppError> {
    diesel::insert_into(staff_users::table).values(user).execute(conn).map_err(|e| match AppError::from(e) {
        AppError::Conflict { .. } => {
            AppError::Conflict { detail: "a staff user with this email already exists".into(), existing_id: None }
        }
        other => other,
    })?;
    Ok(staff_users::table.find(&user.id).first(conn)?)
}

/// A staff user by id, unscoped (the actor's own row, the command line).
pub fn find_user(conn: &mut DbConnection, id: &str) -> Result<Option<StaffUser>, AppError> {
    Ok(staff_users::table.find(id).first(conn).optional()?)
}

/// A staff user by email (stored lower-cased), unscoped (the command line).
pub fn find_user_by_email(conn: &mut DbConnection, email: &str) -> Result<Option<StaffUser>, AppError> {
    Ok(staff_users::table.filter(staff_users::email.eq(email)).first(conn).optional()?)
}

/// A staff user the actor may see and manage (see [`super::scope::staff_users_filter`]).
pub fn find_visible_user(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<Option<StaffUser>, AppError> {
    Ok(staff_users::table
        .filter(staff_users::id.eq(id))
        .filter(super::scope::staff_users_filter(actor))
        .first(conn)
        .optional()?)
}

/// What an update of a staff user may change.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = staff_users)]
pub struct StaffUserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub organization_id: Option<Option<String>>,
    pub active: Option<bool>,
    pub deactivated_by_admin: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update_user(conn: &mut DbConnection, id: &str, changes: &StaffUserChanges) -> Result<StaffUser, AppError> {
    diesel::update(staff_users::table.find(id)).set(changes).execute(conn)?;
    Ok(staff_users::table.find(id).first(conn)?)
}

/// Creates a token for `user_id` and returns its row and the plain token (shown once).
pub fn issue_token(
    conn: &mut DbConnection,
    user_id: &str,
    label: Option<String>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(StaffToken, String), AppError> {
    let token = tokens::new_token(tokens::TokenKind::Staff);
    let row = NewStaffToken {
        id: crate::db::new_id(),
        user_id: user_id.to_string(),
        token_hash: tokens::hash_token(&token),
        display_prefix: tokens::display_prefix(&token),
        label,
        created_at: now(),
        expires_at: expires_at.map(to_db_time),
    };
    diesel::insert_into(staff_tokens::table).values(&row).execute(conn)?;
    let stored = staff_tokens::table.find(&row.id).first(conn)?;
    Ok((stored, token))
}

pub fn list_tokens(conn: &mut DbConnection, user_id: &str) -> Result<Vec<StaffToken>, AppError> {
    Ok(staff_tokens::table
        .filter(staff_tokens::user_id.eq(user_id))
        .order((staff_tokens::created_at.desc(), staff_tokens::id))
        .load(conn)?)
}

/// Revokes a token of `user_id`; returns false when there is no such token.
pub fn revoke_token(conn: &mut DbConnection, user_id: &str, token_id: &str) -> Result<bool, AppError> {
    let n = diesel::update(
        staff_tokens::table.filter(staff_tokens::id.eq(token_id)).filter(staff_tokens::user_id.eq(user_id)),
    )
    .set(staff_tokens::revoked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n == 1)
}

/// Users the actor may see, newest first, keyset-paginated on (created_at, id).
pub fn list_users(
    conn: &mut DbConnection,
    actor: &Actor,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<StaffUser>, AppError> {
    let mut q = staff_users::table.filter(super::scope::staff_users_filter(actor)).into_boxed();
    if let Some((at, id)) = after {
        q = q.filter(staff_users::created_at.lt(at).or(staff_users::created_at.eq(at).and(staff_users::id.lt(id))));
    }
    Ok(q.order((staff_users::created_at.desc(), staff_users::id.desc())).limit(limit).load(conn)?)
}

/// Whether `actor` may mint `user_id`'s first token: it invited the user (the audit trail says so)
/// and the user has never had a token. Lets an organizer hand a new colleague their key, and
/// nothing more: an existing colleague's tokens are theirs (or an admin's) to make.
pub fn may_bootstrap_token(conn: &mut DbConnection, actor: &Actor, user_id: &str) -> Result<bool, AppError> {
    let had_token: i64 = staff_tokens::table.filter(staff_tokens::user_id.eq(user_id)).count().get_result(conn)?;
    if had_token > 0 {
        return Ok(false);
    }
    crate::audit::queries::has_entry(conn, &actor.user_id, "create", "staff_user", user_id)
}
