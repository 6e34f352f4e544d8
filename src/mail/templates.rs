//! Email templates (minijinja): one `.html` and one `.txt` file per notice under
//! `src/mail/templates/`, compiled into the binary. Auto-escaping follows the file extension, so
//! every value in an `.html` template is HTML-escaped and `.txt` templates stay plain.
//!
//! The words are not in the templates: each asks for a message with `t("key", …)` in the view's
//! `lang` ([`crate::i18n`]; `src/i18n/en.txt` and `es.txt`). A message is text, escaped in `.html`
//! like any value. `expert_booking` goes to staff and stays English.

use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use crate::error::AppError;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

pub const TEMPLATES: &[(&str, &str)] = embedded!(
    "layout.html",
    "layout.txt",
    "_details.html",
    "_details.txt",
    "registration_confirmed.html",
    "registration_confirmed.txt",
    "registration_waitlisted.html",
    "registration_waitlisted.txt",
    "registration_promoted.html",
    "registration_promoted.txt",
    "registration_cancelled.html",
    "registration_cancelled.txt",
    "event_changed.html",
    "event_changed.txt",
    "event_cancelled.html",
    "event_cancelled.txt",
    "reminder_24h.html",
    "reminder_24h.txt",
    "reminder_1h.html",
    "reminder_1h.txt",
    "follow_up.html",
    "follow_up.txt",
    "recording_available.html",
    "recording_available.txt",
    "_resources.html",
    "_resources.txt",
    "manage_links.html",
    "manage_links.txt",
    "links_list.html",
    "links_list.txt",
    "privacy_link.html",
    "privacy_link.txt",
    "_booking_layout.html",
    "_booking_layout.txt",
    "booking_confirmed.html",
    "booking_confirmed.txt",
    "booking_changed.html",
    "booking_changed.txt",
    "booking_cancelled.html",
    "booking_cancelled.txt",
    "booking_reminder.html",
    "booking_reminder.txt",
    "expert_booking.html",
    "expert_booking.txt",
    "credit_granted.html",
    "credit_granted.txt",
    "accommodation_digest.html",
    "accommodation_digest.txt",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        crate::i18n::install(&mut env);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary; the unit test below compiles each one.
            env.add_template(name, source).expect("embedded template compiles");
        }
        env
    })
}

/// The venue of an in-person stop, as shown in emails.
#[derive(Debug, Clone, Serialize)]
pub struct VenueView {
    pub name: String,
    pub address: String,
    pub city: String,
    pub state: String,
}

/// Everything a template may show. Absent values are `None` (falsy in templates).
/// One registration in a "your links" email.
#[derive(Debug, Clone, Serialize)]
pub struct LinkItem {
    pub title: String,
    pub starts: String,
    pub status: String,
    pub manage_url: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EmailView {
    /// The language of the words (`t(…)`), the dates and the `<html lang>`.
    pub lang: crate::i18n::Language,
    pub subject: String,
    /// The greeting's name; empty: a greeting without one.
    pub name: String,
    pub title: String,
    /// Start and end in the event's zone, zone named: `Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)`.
    pub starts: String,
    pub ends: String,
    pub venue: Option<VenueView>,
    /// Only for confirmed registrants of a webinar that is going ahead.
    pub join_url: Option<String>,
    pub manage_url: Option<String>,
    pub calendar_url: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub public_url: String,
    pub changes: Vec<String>,
    pub waitlist_position: Option<i64>,
    pub has_ics: bool,
    /// "Your links": every active registration of the address.
    pub items: Vec<LinkItem>,
    /// Privacy links: what the link does, and the link.
    pub action: Option<String>,
    pub action_url: Option<String>,
    pub expires_minutes: Option<i64>,
    /// Expert bookings ([`crate::experts::mail`]).
    pub booking: Option<BookingView>,
    /// An ad-credit grant ([`crate::credits::mail`]).
    pub credit: Option<CreditView>,
    /// A webinar's recording, when the email announces it.
    pub recording: Option<RecordingView>,
    /// The event's related learning resources (follow-ups, recording notices).
    pub resources: Vec<ResourceLink>,
    /// The daily digest of accommodation requests ([`crate::accommodations::digest`]).
    pub digest: Option<DigestView>,
}

/// A webinar recording an email announces: its public page and length.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordingView {
    pub title: String,
    /// `{public_url}/resources/{id}`.
    pub url: String,
    pub duration_minutes: i32,
}

/// A learning resource an email links to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceLink {
    pub title: String,
    /// `{public_url}/resources/{id}`.
    pub url: String,
}

/// The accommodation requests of one organization's digest (staff-facing: English).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DigestView {
    /// The UTC day, `2026-12-07`.
    pub day: String,
    pub items: Vec<DigestItemView>,
}

/// One request in a digest: what is needed, for which event and when; no name or address.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DigestItemView {
    pub event_title: String,
    /// The event's start in its zone, zone named.
    pub starts: String,
    /// `Registration` or `Expert session`.
    pub kind: String,
    /// The categories as people read them.
    pub needs: Vec<String>,
    pub note: Option<String>,
    /// Changed since an earlier digest.
    pub changed: bool,
    /// The event's registrant list (staff API).
    pub registrants_url: String,
    pub requested_at: String,
}

/// An ad-credit voucher, as its email shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreditView {
    /// `$50.00`.
    pub amount: String,
    /// `7KQ2MZ-XH4PBD-9RT3WA`: in this email only (stored as a hash).
    pub code: String,
    pub business_name: String,
    /// Where a business declines it (`POST` with the code).
    pub decline_url: String,
}

/// An expert booking, as its emails show it. The business's emails leave out `business_name` and
/// the attendee's address; the expert's carry what the booking holds of the business.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BookingView {
    pub expert_name: String,
    /// "Venue, address, city, ST", or "Online".
    pub location: String,
    /// Online sessions: only to the booked business and the expert, while booked.
    pub meeting_url: Option<String>,
    pub question: Option<String>,
    pub topic: Option<String>,
    pub business_name: Option<String>,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    /// The expert's email: what happened ("A business booked a session with you.").
    pub headline: String,
    /// Why a session was cancelled, when not by its holder.
    pub reason: Option<String>,
}

/// Renders the `(text, html)` bodies of `template` (a [`super::Notice::template`] name).
pub fn render(template: &str, view: &EmailView) -> Result<(String, String), AppError> {
    let env = environment();
    let one = |ext: &str| -> Result<String, AppError> {
        let name = format!("{template}.{ext}");
        let t = env.get_template(&name).map_err(|e| AppError::internal(format!("email template {name}: {e}")))?;
        t.render(view).map_err(|e| AppError::internal(format!("email template {name}: {e}")))
    };
    let text = tidy_text(&one("txt")?);
    let html = one("html")?;
    Ok((text, html))
}

/// Collapses runs of blank lines that optional sections leave behind, and ends with one newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> EmailView {
        EmailView {
            lang: crate::i18n::Language::English,
            subject: "You're registered".into(),
            name: "Ana <script>alert(1)</script> & Co".into(),
            title: "Grow \"online\" <fast>".into(),
            starts: "Thursday, March 12, 2026 at 9:00 AM CDT (America/Chicago)".into(),
            ends: "Thursday, March 12, 2026 at 10:00 AM CDT (America/Chicago)".into(),
            venue: None,
            join_url: Some("https://meet.example.org/x?a=1&b=2".into()),
            manage_url: Some("http://127.0.0.1:8080/manage/1?token=rsm_x".into()),
            calendar_url: None,
            unsubscribe_url: None,
            public_url: "http://127.0.0.1:8080".into(),
            changes: vec!["Starts: a → b".into()],
            waitlist_position: Some(3),
            has_ics: true,
            items: vec![LinkItem {
                title: "Grow <online>".into(),
                starts: "Thursday".into(),
                status: "Confirmed".into(),
                manage_url: "http://127.0.0.1:8080/manage/1?token=rsl_x".into(),
            }],
            action: Some("send you a copy of the data we hold".into()),
            action_url: Some("http://127.0.0.1:8080/privacy/confirm?token=rsp_x".into()),
            expires_minutes: Some(30),
            booking: Some(BookingView {
                expert_name: "Ana <b>Ruiz</b>".into(),
                location: "Online".into(),
                meeting_url: Some("https://meet.example.org/ana".into()),
                question: Some("Ads <for> lunch?".into()),
                topic: Some("advertising".into()),
                business_name: Some("Taco Garage".into()),
                attendee_name: Some("Rosa".into()),
                attendee_email: Some("rosa@tacogarage.example".into()),
                headline: "A business booked a session with you.".into(),
                reason: None,
            }),
            credit: Some(CreditView {
                amount: "$50.00".into(),
                code: "7KQ2MZ-XH4PBD-9RT3WA".into(),
                business_name: "Taco <Garage>".into(),
                decline_url: "http://127.0.0.1:8080/api/v1/credits/decline".into(),
            }),
            recording: Some(RecordingView {
                title: "Ads <that> work".into(),
                url: "http://127.0.0.1:8080/resources/1".into(),
                duration_minutes: 58,
            }),
            resources: vec![ResourceLink {
                title: "Guide <b>to</b> reels".into(),
                url: "http://127.0.0.1:8080/resources/2".into(),
            }],
            digest: Some(DigestView {
                day: "2026-12-07".into(),
                items: vec![DigestItemView {
                    event_title: "Grow <online>".into(),
                    starts: "Thursday".into(),
                    kind: "Registration".into(),
                    needs: vec!["Live captions".into()],
                    note: Some("Captions <in> Spanish".into()),
                    changed: true,
                    registrants_url: "http://127.0.0.1:8080/api/v1/admin/events/1/registrations".into(),
                    requested_at: "2026-12-06T10:00:00Z".into(),
                }],
            }),
        }
    }

    /// Every email but the layouts and partials.
    fn emails() -> impl Iterator<Item = &'static str> {
        TEMPLATES
            .iter()
            .filter(|(n, _)| n.ends_with(".txt") && !n.starts_with('_') && *n != "layout.txt")
            .map(|(n, _)| n.trim_end_matches(".txt"))
    }

    #[test]
    fn every_template_renders_both_parts() {
        for base in emails() {
            let (text, html) = render(base, &view()).unwrap();
            assert!(text.contains("Hello Ana <script>"), "{base}: {text}");
            assert!(html.contains("Hello Ana &lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; Co"), "{base}: {html}");
            assert!(!html.contains("<script>"), "{base}");
        }
    }

    #[test]
    fn the_follow_up_and_the_recording_notice_link_resources_escaped() {
        for base in ["follow_up", "recording_available"] {
            let (text, html) = render(base, &view()).unwrap();
            assert!(text.contains("Guide <b>to</b> reels: http://127.0.0.1:8080/resources/2"), "{base}: {text}");
            assert!(html.contains("Guide &lt;b&gt;to&lt;&#x2f;b&gt; reels"), "{base}: {html}");
            assert!(html.contains("href=\"http:&#x2f;&#x2f;127.0.0.1:8080&#x2f;resources&#x2f;2\""), "{base}: {html}");
        }
        let (text, html) = render("recording_available", &view()).unwrap();
        assert!(text.contains("Ads <that> work (58 minutes): http://127.0.0.1:8080/resources/1"), "{text}");
        assert!(html.contains("Ads &lt;that&gt; work"), "{html}");
        let (text, _) = render("follow_up", &EmailView { name: "Ana".into(), ..EmailView::default() }).unwrap();
        assert!(!text.contains("Keep learning"), "no resources, no heading: {text}");
    }

    #[test]
    fn every_template_renders_in_both_languages_with_its_own_words() {
        use crate::i18n::Language;
        for base in emails() {
            let (en_text, en_html) = render(base, &view()).unwrap();
            let es = EmailView { lang: Language::Spanish, ..view() };
            let (es_text, es_html) = render(base, &es).unwrap();
            if base == "expert_booking" || base == "accommodation_digest" {
                // Staff read them: English whatever the business reads.
                assert!(es_text.contains("Hello Ana") && es_html.contains("<html lang=\"en\">"), "{base}");
                continue;
            }
            assert!(es_text.contains("Hola, Ana <script>"), "{base}: {es_text}");
            assert!(es_html.contains("Hola, Ana &lt;script&gt;"), "{base}: {es_html}");
            assert!(es_html.contains("<html lang=\"es\">") && en_html.contains("<html lang=\"en\">"), "{base}");
            assert!(!es_html.contains("<script>"), "{base}");
            // Not one line of the English body (past the values both share) is left in the Spanish.
            for line in en_text.lines().map(str::trim).filter(|l| l.len() > 24) {
                if !line.contains("http") && !line.contains("Ana") && !line.contains("Grow") && !line.contains("day,") {
                    assert!(!es_text.contains(line), "{base}: English left in Spanish: {line}");
                }
            }
        }
        // Without a name the greeting has none.
        let anonymous = EmailView { name: String::new(), lang: Language::Spanish, ..view() };
        let (text, _) = render("privacy_link", &anonymous).unwrap();
        assert!(text.starts_with("Hola:"), "{text}");
        let (text, _) = render("privacy_link", &EmailView { lang: Language::English, ..anonymous }).unwrap();
        assert!(text.starts_with("Hello there,"), "{text}");
    }

    #[test]
    fn html_escapes_values_and_text_does_not() {
        let (text, html) = render("registration_confirmed", &view()).unwrap();
        assert!(text.contains("Grow \"online\" <fast>"));
        assert!(html.contains("Grow &quot;online&quot; &lt;fast&gt;"));
        assert!(html.contains("https:&#x2f;&#x2f;meet.example.org&#x2f;x?a=1&amp;b=2"), "{html}");
        assert!(!text.contains("\n\n\n"));
    }
}
