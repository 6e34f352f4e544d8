//! `roadshow demo-data`: a realistic nationwide roadshow to explore.

use crate::db::Db;
use crate::error::AppError;

pub fn load(_db: &Db) -> Result<String, AppError> {
    Err(AppError::internal("demo data is not loaded yet"))
}
