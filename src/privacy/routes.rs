//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::routes::{delete, get, patch, post, Router};

use super::manage::{
    erase_business_data, erase_business_data_post, erase_registration_data, erase_registration_data_post,
    export_business_data, export_registration_data,
};
use super::page::{confirm_form, confirm_page};
use super::public::{confirm_api, create_request};
use super::staff::{get_business, update_business};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::public::create_request,
    super::public::confirm_api,
    super::page::confirm_page,
    super::page::confirm_form,
    super::manage::export_registration_data,
    super::manage::erase_registration_data,
    super::manage::erase_registration_data_post,
    super::manage::export_business_data,
    super::manage::erase_business_data,
    super::manage::erase_business_data_post,
    super::staff::get_business,
    super::staff::update_business,
))]
pub struct Api;

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    // Confirmation answers carry a business's data; none of it may be kept by a cache.
    let mut private = r.private();
    private.limited("/api/v1/privacy/requests", [post(create_request)]);
    private.limited("/api/v1/privacy/confirm", [post(confirm_api)]);
    private.limited("/privacy/confirm", [post(confirm_form)]);
    private.at("/privacy/confirm", [get(confirm_page)]);
}

/// Under `/api/v1/registrations/{id}`, behind the manage-token gate.
pub fn manage(r: &mut Router) {
    r.at("/data", [get(export_registration_data), delete(erase_registration_data)]);
    r.at("/data/erase", [post(erase_registration_data_post)]);
    r.at("/business-data", [get(export_business_data), delete(erase_business_data)]);
    r.at("/business-data/erase", [post(erase_business_data_post)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/businesses/{id}", [get(get_business), patch(update_business)]);
}
