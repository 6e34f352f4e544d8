//! The privacy API's bodies on the wire: the requests (`…In`), the business corrections
//! (`BusinessPatch`), and the data documents an export or an erasure answers with (`…Out`), which
//! [`super::queries`] fills. Field names are a contract: they do not change.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::queries::ErasureSummary;
use super::requests::Outcome;
use crate::domain::{EventKind, MailCategory, OutboxStatus, PrivacyKind, RegistrationStatus};

// ---------------------------------------------------------------------------------------------
// Requests

/// What a privacy request may ask for (lost links have their own endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyRequestKind {
    /// A copy of everything held for the address.
    Export,
    /// Erasure of everything the address controls (registrations still ahead are cancelled).
    Erase,
    /// A change to the business record the address is the contact of (`business`).
    UpdateBusiness,
    /// Giving or withdrawing the address's marketing consent (`marketing_consent`).
    Marketing,
    /// A new code for the ad-credit voucher of the business the address is the contact of (the
    /// old code stops working; codes are stored only as hashes, so this is how one is seen again).
    Voucher,
}

impl From<PrivacyRequestKind> for PrivacyKind {
    fn from(kind: PrivacyRequestKind) -> Self {
        match kind {
            PrivacyRequestKind::Export => PrivacyKind::Export,
            PrivacyRequestKind::Erase => PrivacyKind::Erase,
            PrivacyRequestKind::UpdateBusiness => PrivacyKind::UpdateBusiness,
            PrivacyRequestKind::Marketing => PrivacyKind::Marketing,
            PrivacyRequestKind::Voucher => PrivacyKind::Voucher,
        }
    }
}

/// `POST /api/v1/privacy/requests`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacyRequestIn {
    /// The address the request is for; the link goes there.
    #[schema(example = "owner@tacogarage.example")]
    pub email: String,
    pub kind: PrivacyRequestKind,
    /// `update_business` only, and required there: the new details (at least one).
    pub business: Option<BusinessPatch>,
    /// `marketing` only, and required there: give (true) or withdraw (false) consent.
    pub marketing_consent: Option<bool>,
    /// The language of the emailed link and its page: `en` (the default) or `es`.
    pub language: Option<crate::domain::Language>,
}

/// New details of a business record; each field absent (or `null`) is left as it is, and at least
/// one must be given.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessPatch {
    /// At most 200 characters, one line.
    #[schema(example = "Taco Garage & Co")]
    pub name: Option<String>,
    /// Two-letter USPS code of a state or DC.
    #[schema(example = "NM")]
    pub state: Option<String>,
    /// At most 100 characters.
    pub industry: Option<String>,
    /// One of `1`, `2-9`, `10-49`, `50-249`, `250+`.
    pub employees: Option<String>,
    /// An `http` or `https` URL.
    pub website: Option<String>,
    /// The business's US Employer Identification Number, `12-3456789` (the dash optional). One
    /// business record per EIN: one held by another record is a 409.
    #[schema(example = "12-3456789")]
    pub ein: Option<String>,
}

/// `POST /api/v1/privacy/confirm`: the token of the emailed link.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    #[schema(example = "rsp_Yk3…")]
    pub token: String,
}

/// The confirmation page's form (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ConfirmFormIn {
    /// The link's token, carried by the page in a hidden field.
    #[schema(example = "rsp_Yk3…")]
    pub token: String,
    /// The language of the page shown next, `en` or `es` (the page's own, in a hidden field).
    pub lang: Option<String>,
}

/// The answer to a request that is queued (202): the same whether or not the address is known.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AcceptedOut {
    /// Always `accepted`.
    #[schema(example = "accepted")]
    pub status: String,
    /// What happens next, for people.
    pub detail: String,
}

// ---------------------------------------------------------------------------------------------
// Data documents

/// A business record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BusinessOut {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub state: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
    /// `12-3456789`, when the business gave it.
    #[serde(default)]
    pub ein: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Everything held about a business: the record, its registrations and the emails about them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BusinessDataOut {
    pub business: BusinessOut,
    pub registrations: Vec<RegistrationRecordOut>,
    /// One-to-one sessions with experts booked for the business.
    pub expert_bookings: Vec<crate::experts::wire::BookingRecordOut>,
    /// Its ad-credit grants (the voucher by its first group only: the code is not kept).
    #[serde(default)]
    pub credit_grants: Vec<CreditGrantRecordOut>,
    pub emails: Vec<EmailRecordOut>,
}

/// An ad-credit grant, as a business's data export shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditGrantRecordOut {
    pub id: String,
    pub status: crate::domain::GrantStatus,
    pub amount_cents: i64,
    pub source: crate::domain::GrantSource,
    pub event_id: Option<String>,
    pub voucher_prefix: String,
    #[schema(format = DateTime)]
    pub granted_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    pub redeemed_at: Option<String>,
}

/// The event a registration is for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventRefOut {
    pub id: String,
    pub title: String,
    pub kind: EventKind,
    #[schema(format = DateTime)]
    pub starts_at: String,
    pub time_zone: String,
}

/// What the registrant typed about the business when registering.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BusinessGivenOut {
    pub name: Option<String>,
    pub state: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<String>,
    pub website: Option<String>,
}

/// A registration, as a data export holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationRecordOut {
    pub id: String,
    pub event: EventRefOut,
    pub status: RegistrationStatus,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub confirmed_at: Option<String>,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
    #[schema(format = DateTime)]
    pub checked_in_at: Option<String>,
    pub business_as_given: BusinessGivenOut,
    /// The accommodation request made with the registration (`null`: none).
    pub accommodation: Option<crate::accommodations::wire::AccommodationOut>,
}

/// An email, as a data export holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmailRecordOut {
    pub id: String,
    pub registration_id: Option<String>,
    pub template: String,
    pub category: MailCategory,
    pub recipient: String,
    pub subject: String,
    /// The plain-text body as sent, with link tokens masked: a copy of the data must not be a
    /// second key to every registration of the business.
    pub body_text: String,
    pub status: OutboxStatus,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
}

/// What one registration's manage token may see: the registration (with what its registrant typed
/// about the business) and the emails sent about it. Nothing business-wide.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistrationDataOut {
    pub registration: RegistrationRecordOut,
    pub emails: Vec<EmailRecordOut>,
}

/// An address's marketing consent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentOut {
    pub marketing_consent: bool,
    #[schema(format = DateTime)]
    pub unsubscribed_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Everything held for one address, as a business's contact and as an attendee.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressDataOut {
    pub email: String,
    pub marketing_consent: Option<ConsentOut>,
    /// The business this address is the contact of, with all its registrations and emails.
    pub business: Option<BusinessDataOut>,
    /// Registrations where this address is the attendee.
    pub registrations: Vec<RegistrationRecordOut>,
    /// Expert sessions where this address is the attendee.
    pub expert_bookings: Vec<crate::experts::wire::BookingRecordOut>,
    /// Emails to this address about those registrations, and those about no registration.
    pub emails: Vec<EmailRecordOut>,
}

/// What an erasure did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErasureOut {
    /// The erased business, when the address was a business's contact (a registration's own
    /// erasure touches no business: `null`).
    pub business_id: Option<String>,
    pub registrations_anonymised: usize,
    pub registrations_cancelled: usize,
    /// Expert sessions whose attendee was removed (those still ahead were cancelled first).
    pub expert_bookings_anonymised: usize,
    pub emails_dropped: usize,
}

impl From<&ErasureSummary> for ErasureOut {
    fn from(s: &ErasureSummary) -> Self {
        ErasureOut {
            business_id: s.business_id.clone(),
            registrations_anonymised: s.registrations_anonymised,
            registrations_cancelled: s.registrations_cancelled,
            expert_bookings_anonymised: s.expert_bookings_anonymised,
            emails_dropped: s.emails_dropped,
        }
    }
}

/// What a confirmed link did, by the request's kind.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConfirmOut {
    /// A copy of everything held for the address.
    Export { data: Box<AddressDataOut> },
    /// What the erasure did.
    Erase { summary: ErasureOut },
    /// The business record as it is now.
    UpdateBusiness { business: BusinessOut },
    /// The consent as it is now.
    Marketing { marketing_consent: bool },
    /// The new voucher code, shown this once (`null`: the business holds no active, unredeemed
    /// grant).
    Voucher { voucher: Option<VoucherCodeOut> },
}

/// A voucher code issued anew through a verified link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VoucherCodeOut {
    pub grant_id: String,
    pub amount_cents: i64,
    #[schema(example = "7KQ2MZ-XH4PBD-9RT3WA")]
    pub code: String,
}

impl From<Outcome> for ConfirmOut {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Export { data } => ConfirmOut::Export { data },
            Outcome::Erase { summary } => ConfirmOut::Erase { summary: ErasureOut::from(&summary) },
            Outcome::UpdateBusiness { business } => ConfirmOut::UpdateBusiness { business },
            Outcome::Marketing { marketing_consent } => ConfirmOut::Marketing { marketing_consent },
            Outcome::Voucher { voucher } => ConfirmOut::Voucher {
                voucher: voucher.map(|(g, v)| VoucherCodeOut {
                    grant_id: g.id,
                    amount_cents: g.amount_cents,
                    code: v.code,
                }),
            },
        }
    }
}
