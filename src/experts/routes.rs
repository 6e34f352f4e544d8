//! Where this feature's routes are wired (see [`crate::routes`] for the audiences), and its part
//! of the OpenAPI document.

use crate::accommodations::manage::{delete_booking_accommodation, put_booking_accommodation};
use crate::routes::{delete, get, patch, post, put, Router};

use super::manage::{booking_page, calendar, cancel_booking, get_booking, move_booking, page_calendar, page_cancel};
use super::public::{book_slot, calendar_feed, event_slots, get_expert, list_experts, online_slots};
use super::staff;

/// This feature's operations in the OpenAPI document ([`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    super::public::list_experts,
    super::public::get_expert,
    super::public::event_slots,
    super::public::online_slots,
    super::public::book_slot,
    super::public::calendar_feed,
    super::manage::get_booking,
    super::manage::cancel_booking,
    super::manage::move_booking,
    super::manage::calendar,
    crate::accommodations::manage::put_booking_accommodation,
    crate::accommodations::manage::delete_booking_accommodation,
    super::manage::booking_page,
    super::manage::page_cancel,
    super::manage::page_calendar,
    super::staff::list_experts,
    super::staff::get_expert,
    super::staff::put_expert,
    super::staff::rotate_feed,
    super::staff::list_windows,
    super::staff::create_window,
    super::staff::get_window,
    super::staff::patch_window,
    super::staff::delete_window,
    super::staff::expert_bookings,
    super::staff::event_bookings,
    super::staff::mark_attendance,
    super::staff::cancel_booking,
))]
pub struct Api;

/// Anyone (public writes are rate limited).
pub fn public(r: &mut Router) {
    r.at("/api/v1/experts", [get(list_experts)]);
    r.at("/api/v1/experts/{id}", [get(get_expert)]);
    r.at("/api/v1/events/{id}/expert-slots", [get(event_slots)]);
    r.at("/api/v1/expert-slots", [get(online_slots)]);
    let mut private = r.private();
    // The feed shows an expert's bookings; the 201 of a booking carries its manage token.
    private.at("/api/v1/experts/{id}/calendar.ics", [get(calendar_feed)]);
    private.limited("/api/v1/expert-slots/{id}/booking", [post(book_slot)]);
}

/// Under `/api/v1/expert-bookings/{id}`, behind [`super::manage::booking_gate`].
pub fn manage(r: &mut Router) {
    r.limited("", [delete(cancel_booking)]);
    r.at("", [get(get_booking)]);
    r.limited("/move", [post(move_booking)]);
    r.at("/calendar.ics", [get(calendar)]);
    r.limited("/accommodation", [put(put_booking_accommodation), delete(delete_booking_accommodation)]);
}

/// Under `/manage/expert-bookings/{id}`: HTML pages, the token in the emailed link.
pub fn page(r: &mut Router) {
    r.at("", [get(booking_page)]);
    r.limited("/cancel", [post(page_cancel)]);
    r.at("/calendar.ics", [get(page_calendar)]);
}

/// Under `/api/v1/admin`, behind the staff gate.
pub fn staff(r: &mut Router) {
    r.at("/experts", [get(staff::list_experts)]);
    r.at("/experts/{id}", [get(staff::get_expert), put(staff::put_expert)]);
    r.at("/experts/{id}/calendar-feed", [post(staff::rotate_feed)]);
    r.at("/experts/{id}/windows", [get(staff::list_windows), post(staff::create_window)]);
    r.at("/experts/{id}/bookings", [get(staff::expert_bookings)]);
    r.at("/expert-windows/{id}", [get(staff::get_window), patch(staff::patch_window), delete(staff::delete_window)]);
    r.at("/events/{id}/expert-bookings", [get(staff::event_bookings)]);
    r.at("/expert-bookings/{id}", [delete(staff::cancel_booking)]);
    r.at("/expert-bookings/{id}/attendance", [post(staff::mark_attendance)]);
}
