//! `roadshow create-admin`: the first national admin and its token.

use crate::db::{new_id, now, write_tx, Db};
use crate::domain::Role;
use crate::error::AppError;

use super::queries::{self, NewStaffUser};

/// Creates an admin (or reuses the admin with that email) and returns a new token for it.
pub fn create_admin(db: &Db, email: &str, name: &str) -> Result<String, AppError> {
    let email = crate::validate::email("--email", email).map_err(|e| AppError::Validation(vec![e]))?;
    let name = crate::validate::text("--name", name, 200).map_err(|e| AppError::Validation(vec![e]))?;
    let mut conn = db.get()?;
    write_tx(&mut conn, |c| {
        let user_id = match queries::find_user_by_email(c, &email)? {
            Some(u) if u.role == Role::Admin => u.id,
            Some(_) => return Err(AppError::conflict("a non-admin staff user already has this email")),
            None => {
                let ts = now();
                let user = queries::insert_user(
                    c,
                    &NewStaffUser {
                        id: new_id(),
                        email: email.to_string(),
                        name: name.clone(),
                        role: Role::Admin,
                        organization_id: None,
                        active: true,
                        created_at: ts,
                        updated_at: ts,
                    },
                )?;
                let changes = crate::audit::Changes::fields(&["email", "name", "role"]);
                crate::audit::record_system(c, "create", "staff_user", &user.id, changes)?;
                user.id
            }
        };
        let (row, token) = queries::issue_token(c, &user_id, Some("create-admin".into()), None)?;
        let changes = crate::audit::Changes::none().with_ref("user_id", &user_id);
        crate::audit::record_system(c, "create", "staff_token", &row.id, changes)?;
        Ok(token)
    })
}
