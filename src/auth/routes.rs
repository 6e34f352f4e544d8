//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{delete, get, patch, post, Router};

use super::handlers::{
    create_token, create_user, get_me, get_user, list_tokens, list_users, revoke_token, update_user,
};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::handlers::get_me,
    super::handlers::create_user,
    super::handlers::list_users,
    super::handlers::get_user,
    super::handlers::update_user,
    super::handlers::create_token,
    super::handlers::list_tokens,
    super::handlers::revoke_token,
))]
pub struct Api;

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/me", [get(get_me)]);
    r.at("/users", [post(create_user), get(list_users)]);
    r.at("/users/{id}", [get(get_user), patch(update_user)]);
    r.at("/users/{id}/tokens", [post(create_token), get(list_tokens)]);
    r.at("/users/{id}/tokens/{token_id}", [delete(revoke_token)]);
}
