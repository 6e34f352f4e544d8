//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{delete, get, patch, post, Router};

use super::handlers::{
    confirm_api, confirm_form, confirm_page, create_request, erase_registration_data, export_registration_data,
    get_business, update_business,
};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct Api;

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    r.limited("/api/v1/privacy/requests", [post(create_request)]);
    r.limited("/api/v1/privacy/confirm", [post(confirm_api)]);
    r.limited("/privacy/confirm", [post(confirm_form)]);
    r.at("/privacy/confirm", [get(confirm_page)]);
}

/// Under `/api/v1/registrations/{id}`, behind the manage-token gate.
pub fn manage(r: &mut Router) {
    r.at("/data", [get(export_registration_data), delete(erase_registration_data)]);
    r.at("/data/erase", [post(erase_registration_data)]);
    r.at("/business-data", [get(export_registration_data), delete(erase_registration_data)]);
    r.at("/business-data/erase", [post(erase_registration_data)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/businesses/{id}", [get(get_business), patch(update_business)]);
}
