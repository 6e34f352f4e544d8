//! Personal data and who may reach it. Identity is something you prove:
//!
//! - A registration's manage token controls that registration only: `GET
//!   /api/v1/registrations/{id}/data` gives what is held on it (its attendee, what the registrant
//!   typed about the business, the emails sent about it) and `POST …/data/erase` (or `DELETE …/data`)
//!   erases that attendee from it (cancelling it, with the usual promotion, when the event is still
//!   ahead). The older paths `…/business-data` answer the same, registration-scoped data: a token
//!   no longer reaches anything business-wide, since anyone can register with any business's email.
//! - Business-wide and person-wide rights (export, erasure, a change of the business record,
//!   marketing consent) go through a single-use link emailed to the address
//!   (`POST /api/v1/privacy/requests`, always 202): see [`requests`].
//! - Erasure of an address (see [`queries::erase_address`]) erases the business it is the contact
//!   of (every registration anonymised: rows and statuses stay for the reports, names, emails,
//!   typed details and tokens go; the business row keeps its id and dates), every registration it
//!   attends, the emails sent to it (queued ones dropped, sent ones blanked, `.eml` copies removed),
//!   its consent and its pending requests. An audit entry (no values) records that it happened.
//!
//! A wrong or unknown token or link is a 404 (nothing can be probed); a missing one 401.
//!
//! By capability: [`public`] (asking for a link, confirming it through the API), [`page`] (the
//! page a link opens and its form), [`manage`] (a registration's own data, manage token),
//! [`staff`] (business records, national admins), [`wire`] (the bodies of all of them),
//! [`requests`] (the verified-link flow) and [`queries`] (export and erasure; the SQL).

pub mod manage;
pub mod page;
pub mod public;
pub mod queries;
pub mod requests;
pub mod routes;
pub mod staff;
pub mod wire;

use sha2::{Digest, Sha256};

/// The PostgreSQL advisory-lock key of an email address. Registrations take it shared, link
/// processing and erasure exclusively, so an erasure is serialised with everything that could
/// create a registration, an email or a token for the same address.
pub fn address_lock_key(email: &str) -> i64 {
    let digest = Sha256::digest(format!("roadshow-address:{}", email.trim().to_lowercase()).as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
