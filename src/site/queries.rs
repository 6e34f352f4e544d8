//! What the site reads that no API list gives it as it is.

use diesel::prelude::*;

use crate::db::schema::{organization_states, organizations};
use crate::db::DbConnection;
use crate::domain::OrganizationKind;
use crate::error::AppError;

/// The partner organizations working in a state, by name (the national ones too, which list
/// every state they serve).
pub fn partners_in(conn: &mut DbConnection, state: &str) -> Result<Vec<(String, OrganizationKind)>, AppError> {
    Ok(organizations::table
        .inner_join(organization_states::table)
        .filter(organization_states::state_code.eq(state))
        .select((organizations::name, organizations::kind))
        .order((organizations::name, organizations::id))
        .limit(200)
        .load(conn)?)
}
