//! Events: roadshow stops and webinars.

pub fn routes(_cfg: &mut actix_web::web::ServiceConfig) {}
