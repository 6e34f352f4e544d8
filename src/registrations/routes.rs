//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::accommodations::manage::{delete_registration_accommodation, put_registration_accommodation};
use crate::routes::{delete, get, post, put, Router};

use super::manage::{calendar, cancel_registration, get_registration};
use super::page::{manage_calendar, manage_cancel, manage_page};
use super::public::{create_registration, recover_links};
use super::staff::{check_in, list_registrants};

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::public::create_registration,
    super::public::recover_links,
    super::manage::get_registration,
    super::manage::cancel_registration,
    super::manage::calendar,
    crate::accommodations::manage::put_registration_accommodation,
    crate::accommodations::manage::delete_registration_accommodation,
    super::page::manage_page,
    super::page::manage_cancel,
    super::page::manage_calendar,
    super::staff::list_registrants,
    super::staff::check_in,
))]
pub struct Api;

/// The registration itself, the busiest write: registered third of all routes, after the public
/// event reads ([`crate::routes`]), since actix tries route patterns in order, a dynamic one with a
/// regular expression. No other pattern takes its paths, so the order changes nothing else.
pub fn hot(r: &mut Router) {
    // The 201 carries the manage token; nothing here may be kept by a cache.
    r.private().limited("/api/v1/events/{id}/registrations", [post(create_registration)]);
}

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    r.private().limited("/api/v1/registrations/recover", [post(recover_links)]);
}

/// Under `/api/v1/registrations/{id}`, behind the manage-token gate.
pub fn manage(r: &mut Router) {
    r.limited("", [delete(cancel_registration)]);
    r.at("", [get(get_registration)]);
    r.at("/calendar.ics", [get(calendar)]);
    r.limited("/accommodation", [put(put_registration_accommodation), delete(delete_registration_accommodation)]);
}

/// Under `/manage/{id}`: HTML pages, the token in the emailed link.
pub fn page(r: &mut Router) {
    r.at("", [get(manage_page)]);
    r.limited("/cancel", [post(manage_cancel)]);
    r.at("/calendar.ics", [get(manage_calendar)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/events/{id}/registrations", [get(list_registrants)]);
    r.at("/registrations/{id}/check-in", [post(check_in)]);
}
