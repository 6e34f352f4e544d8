//! A booking's emails, written to the outbox in the caller's transaction: the business's
//! confirmation, change, cancellation and reminder (each with a calendar invite), and the
//! expert's notice of each.
//!
//! Invites: `UID:expert-booking-<id>@roadshow` for the whole life of a booking (a move keeps it),
//! `SEQUENCE` = `expert_bookings.calendar_sequence`, which every change that mails an invite
//! raises in its own transaction; `METHOD:CANCEL` once cancelled. `ORGANIZER` is the Roadshow's
//! sender, the `ATTENDEE`s are the business's attendee and the expert (RFC 5546), so calendar
//! clients apply updates and cancellations to the entry they hold.
//!
//! The online meeting link goes only to the booked business and the expert, and only while the
//! booking stands.
//!
//! The business's emails and its invite are in the language stored with the booking
//! ([`crate::i18n`]); what changed and why a session was cancelled are facts
//! ([`Change`], [`CancelReason`]) written out per recipient. The expert's emails stay English.

use diesel::prelude::*;

use super::model::Booking;
use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::db::schema::{
    events, expert_booking_tokens, expert_bookings, expert_profiles, expert_slots, expert_windows, staff_users, venues,
};
use crate::db::{from_db_time, now, DbConnection};
use crate::domain::{BookingStatus, MailCategory};
use crate::error::AppError;
use crate::i18n::{self, Language};
use crate::mail::changes::{describe_all, CancelReason, Change};
use crate::mail::ics::{self, CalendarEntry, Party};
use crate::mail::outbox::{self, NewEmail};
use crate::mail::templates::{self, BookingView, EmailView};
use crate::mail::MailContext;

/// Why the business and the expert are written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingNotice {
    Confirmed,
    /// The time or place changed (a move, an event reschedule); each entry is one change.
    Changed {
        changes: Vec<Change>,
    },
    /// Cancelled; `reason` when not by its holder (the window removed, the event cancelled).
    Cancelled {
        reason: Option<CancelReason>,
    },
    /// Before the session.
    Reminder,
}

impl BookingNotice {
    fn template(&self) -> &'static str {
        match self {
            BookingNotice::Confirmed => "booking_confirmed",
            BookingNotice::Changed { .. } => "booking_changed",
            BookingNotice::Cancelled { .. } => "booking_cancelled",
            BookingNotice::Reminder => "booking_reminder",
        }
    }
}

/// Everything a booking's emails are made from.
pub struct Facts {
    pub booking: Booking,
    pub zone: chrono_tz::Tz,
    pub expert_name: String,
    pub expert_email: String,
    pub meeting_url: Option<String>,
    pub event_title: Option<String>,
    /// "Venue, address, city, ST"; `None` online.
    pub venue: Option<String>,
    /// The business's name as the booker typed it.
    pub business_name: String,
}

impl Facts {
    pub fn location(&self) -> String {
        self.location_in(Language::English)
    }

    /// [`Facts::location`] as a reader of `lang` sees it.
    pub fn location_in(&self, lang: Language) -> String {
        self.venue.clone().unwrap_or_else(|| i18n::text(lang, "ics.online").to_string())
    }

    /// The meeting link, for an online booking that stands.
    pub fn join_url(&self) -> Option<String> {
        (self.venue.is_none() && self.booking.status == BookingStatus::Booked)
            .then(|| self.meeting_url.clone())
            .flatten()
    }
}

/// Reads the facts of a booking. `None` when there is no such booking.
pub fn facts(conn: &mut DbConnection, booking_id: &str) -> Result<Option<Facts>, AppError> {
    let Some(booking) = expert_bookings::table.find(booking_id).select(Booking::as_select()).first(conn).optional()?
    else {
        return Ok(None);
    };
    Ok(facts_of(conn, vec![booking])?.pop())
}

/// The facts of many bookings in four queries whatever their number (an agenda page, a calendar
/// feed), in the order given.
pub fn facts_of(conn: &mut DbConnection, bookings: Vec<Booking>) -> Result<Vec<Facts>, AppError> {
    use std::collections::HashMap;
    let slot_ids: Vec<&str> = bookings.iter().map(|b| b.slot_id.as_str()).collect();
    let zones: HashMap<String, String> = expert_slots::table
        .inner_join(expert_windows::table)
        .filter(expert_slots::id.eq_any(&slot_ids))
        .select((expert_slots::id, expert_windows::time_zone))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let expert_ids: Vec<&str> = bookings.iter().map(|b| b.expert_id.as_str()).collect();
    let experts: HashMap<String, (String, String, Option<String>)> = expert_profiles::table
        .inner_join(staff_users::table)
        .filter(expert_profiles::user_id.eq_any(&expert_ids))
        .select((
            expert_profiles::user_id,
            expert_profiles::display_name,
            staff_users::email,
            expert_profiles::meeting_url,
        ))
        .load::<(String, String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, name, email, url)| (id, (name, email, url)))
        .collect();
    let event_ids: Vec<&str> = bookings.iter().filter_map(|b| b.event_id.as_deref()).collect();
    let events: HashMap<String, (String, Option<String>)> = events::table
        .filter(events::id.eq_any(&event_ids))
        .select((events::id, events::title, events::venue_id))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, title, venue)| (id, (title, venue)))
        .collect();
    let venue_ids: Vec<&str> = events.values().filter_map(|(_, v)| v.as_deref()).collect();
    let venues: HashMap<String, String> = venues::table
        .filter(venues::id.eq_any(&venue_ids))
        .select((venues::id, venues::name, venues::address, venues::city, venues::state_code))
        .load::<(String, String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, n, a, c, s)| (id, format!("{n}, {a}, {c}, {s}")))
        .collect();
    bookings
        .into_iter()
        .map(|booking| {
            let (expert_name, expert_email, meeting_url) =
                experts.get(&booking.expert_id).cloned().ok_or_else(|| AppError::internal("booking without expert"))?;
            let event = booking.event_id.as_ref().and_then(|e| events.get(e));
            let zone = zones.get(&booking.slot_id).and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::UTC);
            Ok(Facts {
                zone,
                expert_name,
                expert_email,
                meeting_url,
                event_title: event.map(|(title, _)| title.clone()),
                venue: event.and_then(|(_, v)| v.as_ref()).and_then(|v| venues.get(v)).cloned(),
                // What the booker typed; the stored business record is not shown (see the migration).
                business_name: booking.business_name_given.clone().unwrap_or_else(|| "(removed)".into()),
                booking,
            })
        })
        .collect()
}

/// The calendar entry of a booking as it stands (`cancelled` forces a cancellation). `for_expert`
/// names the business in the summary instead of the expert, and is in English; the business's is
/// in the booking's language.
pub fn calendar_entry(ctx: &MailContext, f: &Facts, cancelled: bool, for_expert: bool) -> CalendarEntry {
    let b = &f.booking;
    let lang = if for_expert { Language::English } else { b.language };
    let cancelled = cancelled || b.status == BookingStatus::Cancelled;
    let url = if cancelled { None } else { f.join_url() };
    let with = if for_expert { f.business_name.clone() } else { f.expert_name.clone() };
    let title = match &f.event_title {
        Some(t) => i18n::format(lang, "ics.session_title", &[("expert", &with), ("event", t)]),
        None => i18n::format(lang, "ics.session_title_online", &[("expert", &with)]),
    };
    let mut description = String::new();
    let mut add = |line: String| {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&line);
    };
    if let Some(q) = &b.question {
        add(i18n::format(lang, "ics.question", &[("question", q)]));
    }
    if let Some(u) = &url {
        add(i18n::format(lang, "ics.join_online", &[("url", u)]));
    }
    if !for_expert && !cancelled {
        add(i18n::text(lang, "ics.manage_session").to_string());
    }
    let mut attendees = Vec::new();
    if let Some(email) = &b.attendee_email {
        attendees.push(Party { name: b.attendee_name.clone().unwrap_or_default(), email: email.clone() });
    }
    attendees.push(Party { name: f.expert_name.clone(), email: f.expert_email.clone() });
    CalendarEntry {
        uid: format!("expert-booking-{}@roadshow", b.id),
        sequence: i64::from(b.calendar_sequence),
        cancelled,
        tentative: false,
        title,
        description,
        starts_at: from_db_time(b.starts_at),
        ends_at: from_db_time(b.ends_at),
        location: match (&f.venue, &url) {
            (Some(v), _) => v.clone(),
            (None, Some(u)) => i18n::format(lang, "ics.online_at", &[("url", u)]),
            (None, None) => i18n::text(lang, "ics.online").to_string(),
        },
        url,
        stamp: chrono::Utc::now(),
        organizer: ctx.organizer.clone(),
        attendees,
    }
}

/// The business's subject, in the booking's language (message `mail.subject.<template>`).
fn subject(notice: &BookingNotice, f: &Facts) -> String {
    let lang = f.booking.language;
    let short = i18n::short_local(lang, from_db_time(f.booking.starts_at), f.zone);
    let key = format!("mail.subject.{}", notice.template());
    i18n::format(lang, &key, &[("expert", &f.expert_name), ("when", &short)])
}

/// Writes the business's email for `notice` (and, unless `expert` is false, the expert's) to the
/// outbox. `manage_token` is the token just handed to the client, when there is one; otherwise a
/// fresh link token is made for the email. A booking without an address (erased) gets nothing.
pub fn notify(
    conn: &mut DbConnection,
    ctx: &MailContext,
    booking_id: &str,
    notice: BookingNotice,
    manage_token: Option<&str>,
    expert: bool,
) -> Result<(), AppError> {
    let Some(f) = facts(conn, booking_id)? else { return Ok(()) };
    notify_business(conn, ctx, &f, &notice, manage_token)?;
    if expert {
        let (headline, cancel) = match &notice {
            BookingNotice::Confirmed => ("A business booked a session with you.".to_string(), false),
            BookingNotice::Changed { .. } => ("A session of yours has changed.".to_string(), false),
            BookingNotice::Cancelled { reason } => (
                match reason {
                    Some(r) => format!("A session of yours is cancelled: {}.", r.describe(Language::English)),
                    None => "A business cancelled its session with you.".to_string(),
                },
                true,
            ),
            BookingNotice::Reminder => ("A reminder: you have a session coming up.".to_string(), false),
        };
        let changes = match &notice {
            BookingNotice::Changed { changes } => describe_all(changes, Language::English),
            _ => Vec::new(),
        };
        let kind = notice.template().trim_start_matches("booking_");
        notify_expert(conn, ctx, &f, kind, &headline, changes, cancel)?;
    }
    Ok(())
}

fn dedupe(kind: &str, f: &Facts, who: &str) -> String {
    let b = &f.booking;
    format!("{kind}:{}:{who}:{}:{}", b.id, b.calendar_sequence, b.starts_at.format("%Y%m%dT%H%M%S"))
}

fn notify_business(
    conn: &mut DbConnection,
    ctx: &MailContext,
    f: &Facts,
    notice: &BookingNotice,
    manage_token: Option<&str>,
) -> Result<(), AppError> {
    let b = &f.booking;
    let Some(email) = b.attendee_email.clone() else { return Ok(()) };
    let dedupe_key = dedupe(notice.template(), f, "business");
    if outbox_has(conn, &dedupe_key)? {
        return Ok(());
    }
    let cancelled = matches!(notice, BookingNotice::Cancelled { .. });
    let ics = ics::render(&calendar_entry(ctx, f, cancelled, false));
    let fresh = manage_token.is_none().then(|| new_token(TokenKind::Manage));
    let token = manage_token.map(str::to_string).or_else(|| fresh.clone());
    let manage_url = token.as_ref().map(|t| format!("{}/manage/expert-bookings/{}?token={t}", ctx.public_url, b.id));
    let calendar_url = token
        .as_ref()
        .filter(|_| !cancelled)
        .map(|t| format!("{}/manage/expert-bookings/{}/calendar.ics?token={t}", ctx.public_url, b.id));
    let lang = b.language;
    let subject = subject(notice, f);
    let view = EmailView {
        lang,
        subject: subject.clone(),
        name: b.attendee_name.clone().unwrap_or_default(),
        title: f.event_title.clone().unwrap_or_else(|| i18n::text(lang, "booking.online_session").to_string()),
        starts: i18n::human_local(lang, from_db_time(b.starts_at), f.zone),
        ends: i18n::human_local(lang, from_db_time(b.ends_at), f.zone),
        manage_url,
        calendar_url,
        public_url: ctx.public_url.clone(),
        changes: match notice {
            BookingNotice::Changed { changes } => describe_all(changes, lang),
            _ => Vec::new(),
        },
        has_ics: true,
        booking: Some(BookingView {
            expert_name: f.expert_name.clone(),
            location: f.location_in(lang),
            meeting_url: if cancelled { None } else { f.join_url() },
            question: b.question.clone(),
            topic: b.topic.clone(),
            reason: match notice {
                BookingNotice::Cancelled { reason } => reason.as_ref().map(|r| r.describe(lang)),
                _ => None,
            },
            ..BookingView::default()
        }),
        ..EmailView::default()
    };
    let (body_text, body_html) = templates::render(notice.template(), &view)?;
    let inserted = outbox::enqueue(
        conn,
        &NewEmail {
            dedupe_key,
            recipient: email,
            template: notice.template().to_string(),
            category: MailCategory::Transactional,
            subject,
            body_text,
            body_html,
            ics: Some(ics),
            headers: "{}".into(),
            registration_id: None,
            business_id: Some(b.business_id.clone()),
            event_id: b.event_id.clone(),
            // Mail a stranger's request can cause counts against the recipient's hourly cap.
            hourly_cap: matches!(notice, BookingNotice::Confirmed | BookingNotice::Cancelled { reason: None })
                .then_some(ctx.hourly_cap)
                .filter(|c| *c > 0),
        },
    )?;
    if let (true, Some(t)) = (inserted, fresh) {
        diesel::insert_into(expert_booking_tokens::table)
            .values((
                expert_booking_tokens::token_hash.eq(hash_token(&t)),
                expert_booking_tokens::booking_id.eq(&b.id),
                expert_booking_tokens::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The expert's email about a booking: `headline` says what happened; `cancel` attaches a
/// cancellation instead of an invite. Used for the expert who loses a moved booking too.
pub fn notify_expert(
    conn: &mut DbConnection,
    ctx: &MailContext,
    f: &Facts,
    kind: &str,
    headline: &str,
    changes: Vec<String>,
    cancel: bool,
) -> Result<(), AppError> {
    let b = &f.booking;
    let dedupe_key = dedupe(&format!("expert_booking_{kind}"), f, &b.expert_id);
    if outbox_has(conn, &dedupe_key)? {
        return Ok(());
    }
    let local = from_db_time(b.starts_at).with_timezone(&f.zone);
    let subject = format!("{} {}: {}", kind_word(kind), local.format("%a, %b %-d at %-I:%M %p %Z"), f.business_name);
    let view = EmailView {
        subject: subject.clone(),
        name: f.expert_name.clone(),
        title: f.event_title.clone().unwrap_or_else(|| "Online session".into()),
        starts: crate::time::human_local(from_db_time(b.starts_at), f.zone),
        ends: crate::time::human_local(from_db_time(b.ends_at), f.zone),
        public_url: ctx.public_url.clone(),
        changes,
        has_ics: true,
        booking: Some(BookingView {
            expert_name: f.expert_name.clone(),
            location: f.location(),
            meeting_url: if cancel { None } else { f.join_url() },
            question: b.question.clone(),
            topic: b.topic.clone(),
            business_name: Some(f.business_name.clone()),
            attendee_name: b.attendee_name.clone(),
            attendee_email: b.attendee_email.clone(),
            headline: headline.to_string(),
            reason: None,
        }),
        ..EmailView::default()
    };
    let (body_text, body_html) = templates::render("expert_booking", &view)?;
    outbox::enqueue(
        conn,
        &NewEmail {
            dedupe_key,
            recipient: f.expert_email.clone(),
            template: "expert_booking".into(),
            category: MailCategory::Transactional,
            subject,
            body_text,
            body_html,
            ics: Some(ics::render(&calendar_entry(ctx, f, cancel, true))),
            headers: "{}".into(),
            registration_id: None,
            business_id: None,
            event_id: b.event_id.clone(),
            hourly_cap: None,
        },
    )?;
    Ok(())
}

fn kind_word(kind: &str) -> &'static str {
    match kind {
        "confirmed" => "New session",
        "changed" => "Changed session",
        "cancelled" => "Cancelled session",
        "moved_away" => "Cancelled session",
        _ => "Session",
    }
}

fn outbox_has(conn: &mut DbConnection, key: &str) -> Result<bool, AppError> {
    use crate::db::schema::outbox;
    Ok(diesel::select(diesel::dsl::exists(outbox::table.filter(outbox::dedupe_key.eq(key)))).get_result(conn)?)
}
