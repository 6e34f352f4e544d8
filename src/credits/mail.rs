//! The voucher email: rendered before the pool row is locked, queued in the granting transaction.

use super::voucher::Voucher;
use crate::domain::MailCategory;
use crate::error::AppError;
use crate::mail::outbox::NewEmail;
use crate::mail::templates::{self, CreditView, EmailView};
use crate::mail::MailContext;

/// A rendered voucher email, waiting for its grant's id.
pub struct VoucherEmail {
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
}

/// `5000`, `USD` → `$50.00`; other currencies as `50.00 EUR`.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, part) = (cents.abs() / 100, cents.abs() % 100);
    let mut digits = whole.to_string();
    let mut i = digits.len() as isize - 3;
    while i > 0 {
        digits.insert(i as usize, ',');
        i -= 3;
    }
    if currency == "USD" {
        format!("{sign}${digits}.{part:02}")
    } else {
        format!("{sign}{digits}.{part:02} {currency}")
    }
}

/// Renders the email that carries `voucher` to the business's contact address, in `lang`.
pub fn voucher_email(
    ctx: &MailContext,
    to: &str,
    business_name: &str,
    voucher: &Voucher,
    cents: i64,
    currency: &str,
    lang: crate::i18n::Language,
) -> Result<VoucherEmail, AppError> {
    let amount = money(cents, currency);
    let view = EmailView {
        lang,
        subject: crate::i18n::format(lang, "mail.subject.credit_granted", &[("amount", &amount)]),
        name: business_name.to_string(),
        public_url: ctx.public_url.clone(),
        credit: Some(CreditView {
            amount,
            code: voucher.code.clone(),
            business_name: business_name.to_string(),
            decline_url: format!("{}/api/v1/credits/decline", ctx.public_url),
        }),
        ..EmailView::default()
    };
    let (body_text, body_html) = templates::render("credit_granted", &view)?;
    Ok(VoucherEmail { recipient: to.to_string(), subject: view.subject, body_text, body_html })
}

impl VoucherEmail {
    /// The outbox row, one per grant (`credit:{grant}` dedupes).
    pub fn into_email(self, grant_id: &str, business_id: &str, event_id: Option<&str>) -> NewEmail {
        NewEmail {
            dedupe_key: format!("credit:{grant_id}"),
            recipient: self.recipient,
            template: "credit_granted".into(),
            category: MailCategory::Transactional,
            subject: self.subject,
            body_text: self.body_text,
            body_html: self.body_html,
            ics: None,
            headers: "{}".into(),
            registration_id: None,
            business_id: Some(business_id.to_string()),
            event_id: event_id.map(str::to_string),
            // Sent because staff checked someone in, not because of a public request.
            hourly_cap: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_is_shown_to_the_cent() {
        assert_eq!(money(5000, "USD"), "$50.00");
        assert_eq!(money(1_000_000_000, "USD"), "$10,000,000.00");
        assert_eq!(money(5, "USD"), "$0.05");
        assert_eq!(money(123_456, "EUR"), "1,234.56 EUR");
        assert_eq!(money(-5000, "USD"), "-$50.00");
    }
}
