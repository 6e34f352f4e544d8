//! Partner organizations (which states they cover) and the venues where roadshow stops happen.

pub mod handlers;
pub mod queries;
pub mod routes;
