//! The `states` table (read only: its rows come with the migrations).

use diesel::prelude::*;

use super::State;
use crate::db::schema::states;
use crate::db::DbConnection;
use crate::error::AppError;

/// Every state and DC, by code.
pub fn all(conn: &mut DbConnection) -> Result<Vec<State>, AppError> {
    Ok(states::table.order(states::code).load(conn)?)
}

/// A state by its two-letter code (upper case).
pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<State>, AppError> {
    Ok(states::table.find(code).first(conn).optional()?)
}
