//! Email: what is sent to whom, written to the transactional outbox in the caller's transaction,
//! and delivered later by the worker.
//!
//! - Features call [`notify_registration`] inside the database transaction that changes state; the
//!   email row (rendered subject, text and HTML parts, calendar invite, extra headers) commits or
//!   rolls back with that change. Nothing is rendered at send time.
//! - [`worker`] delivers due rows over SMTP (or to `.eml` files), retries with backoff and
//!   dead-letters after `ROADSHOW_MAIL_MAX_ATTEMPTS`; [`crate::jobs`] enqueues reminders and
//!   follow-ups.
//! - Transactional mail always goes. Marketing mail (the follow-up, and the "recording available"
//!   notice of a webinar) goes only to addresses that consented and did not unsubscribe, and
//!   carries a one-click `List-Unsubscribe` (RFC 8058). Both link the event's related learning
//!   resources ([`crate::resources::related`]).
//! - Templates live in `src/mail/templates` ([`templates`]); invites in [`ics`].
//! - Every email a business gets is written in the language stored with the registration or
//!   booking it is about ([`crate::i18n`]): subject, both parts, dates and the invite's text. A
//!   change notice carries what changed as facts ([`changes::Change`]), written out per
//!   recipient. Emails that answer a public request for one address (links, privacy links) use the
//!   language that request asked for. Expert and staff emails stay English.

pub mod changes;
pub mod handlers;
pub mod ics;
pub mod mime;
pub mod outbox;
pub mod routes;
pub mod smtp;
pub mod templates;
pub mod transport;
pub mod worker;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::{hash_token, new_token, TokenKind};
use crate::config::Config;
use crate::db::schema::{events, outbox as outbox_t, registration_tokens, registrations, venues};
use crate::db::{from_db_time, now, DbConnection};
use crate::error::AppError;
use crate::i18n::{self, Language};
pub use changes::Change;
use templates::{EmailView, VenueView};

/// What emails need to know about the deployment.
#[derive(Debug, Clone)]
pub struct MailContext {
    /// Base of links (`ROADSHOW_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
    /// `ROADSHOW_MAIL_HOURLY_CAP` (0: no cap); see [`outbox`].
    pub hourly_cap: u32,
    /// `ROADSHOW_LINKS_EMAIL_MINUTES`: the least time between two link emails to one address.
    pub links_every: chrono::Duration,
    /// Where `.eml` files are written when there is no SMTP relay (erasure removes a person's).
    pub mail_dir: Option<std::path::PathBuf>,
    /// The `ORGANIZER` of calendar invites: the sender, `ROADSHOW_MAIL_FROM` ([`parse_organizer`]).
    pub organizer: ics::Party,
}

impl MailContext {
    pub fn from_config(config: &Config) -> Self {
        MailContext {
            public_url: config.public_url.trim_end_matches('/').to_string(),
            hourly_cap: config.mail_hourly_cap,
            links_every: chrono::Duration::minutes(i64::from(config.links_email_minutes)),
            mail_dir: config.smtp_url.is_none().then(|| config.mail_dir.clone()),
            organizer: parse_organizer(&config.mail_from),
        }
    }
}

/// The invite organizer named by the sender mailbox `mail_from` (`Roadshow <no-reply@example.org>`):
/// its display name and address, or "Roadshow" when it has no display name. The configuration
/// refuses a value that is no mailbox; should one get here anyway, it is taken as the address.
pub fn parse_organizer(mail_from: &str) -> ics::Party {
    const DEFAULT_NAME: &str = "Roadshow";
    match mail_from.parse::<lettre::message::Mailbox>() {
        Ok(m) => ics::Party {
            name: m.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| DEFAULT_NAME.into()),
            email: m.email.to_string(),
        },
        Err(_) => ics::Party { name: DEFAULT_NAME.into(), email: mail_from.trim().to_string() },
    }
}

/// Why a registrant is written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Registered with a seat.
    Confirmed,
    /// Registered on the waitlist.
    Waitlisted,
    /// Moved from the waitlist to a seat.
    Promoted,
    /// The attendee cancelled.
    Cancelled,
    /// Time or place changed; each entry is one change, written out in the recipient's language.
    EventChanged { changes: Vec<Change> },
    /// The organizers cancelled the event.
    EventCancelled,
    /// Reminder a day before.
    Reminder24h,
    /// Reminder an hour before (webinars).
    Reminder1h,
    /// Thank-you and next steps after the event (marketing: needs consent).
    FollowUp,
    /// The recording of the webinar is published (marketing: needs consent); sent once per
    /// registration and recording.
    RecordingAvailable { resource_id: String, title: String, duration_minutes: i32 },
    /// Lost-link recovery: a fresh link to the manage page.
    Links,
}

impl Notice {
    /// The template name stored on the outbox row.
    pub fn template(&self) -> &'static str {
        match self {
            Notice::Confirmed => "registration_confirmed",
            Notice::Waitlisted => "registration_waitlisted",
            Notice::Promoted => "registration_promoted",
            Notice::Cancelled => "registration_cancelled",
            Notice::EventChanged { .. } => "event_changed",
            Notice::EventCancelled => "event_cancelled",
            Notice::Reminder24h => "reminder_24h",
            Notice::Reminder1h => "reminder_1h",
            Notice::FollowUp => "follow_up",
            Notice::RecordingAvailable { .. } => "recording_available",
            Notice::Links => "manage_links",
        }
    }

    /// Marketing mail needs consent and carries an unsubscribe link; everything else is
    /// transactional and always goes.
    pub fn is_marketing(&self) -> bool {
        matches!(self, Notice::FollowUp | Notice::RecordingAvailable { .. })
    }

    /// Mail that a stranger's public request can cause (registering, cancelling, asking for links)
    /// counts against the recipient's hourly cap; what staff or the schedule send does not.
    pub fn counts_against_cap(&self) -> bool {
        matches!(self, Notice::Confirmed | Notice::Waitlisted | Notice::Cancelled | Notice::Links)
    }

    /// Whether the notice ends the calendar entry (an ICS `METHOD:CANCEL` is attached).
    fn cancels(&self) -> bool {
        matches!(self, Notice::Cancelled | Notice::EventCancelled)
    }
}

/// The registration and event facts an email is made from.
struct Facts {
    reg_id: String,
    status: String,
    attendee_name: Option<String>,
    business_id: String,
    waitlist_ticket: Option<i64>,
    ever_confirmed: bool,
    event_id: String,
    title: String,
    description: String,
    calendar_sequence: i32,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    zone: chrono_tz::Tz,
    kind: String,
    event_status: String,
    join_url: Option<String>,
    revision: i32,
    venue: Option<VenueView>,
    lang: Language,
}

/// Writes the email `notice` implies for one registration to the outbox, in the caller's
/// transaction. `manage_token` is the token just handed to the client, when there is one; otherwise
/// a fresh link token is made for this email. Registrations without an address (anonymised) get
/// nothing; marketing notices go only to consenting, subscribed businesses. A second call for the
/// same notice and registration is a no-op (dedupe key), and then mints no token.
///
/// The calling feature raises the calendar SEQUENCE for promotions and cancellations
/// (`registrations.calendar_sequence`) and event changes (`events.revision`); an event cancellation
/// raises the registration's sequence here, so every attached invite supersedes the previous one.
pub fn notify_registration(
    conn: &mut DbConnection,
    ctx: &MailContext,
    registration_id: &str,
    notice: Notice,
    manage_token: Option<&str>,
) -> Result<(), AppError> {
    notify(conn, ctx, registration_id, notice, manage_token).map(|_| ())
}

/// [`notify_registration`], telling whether an email row was added.
pub fn notify(
    conn: &mut DbConnection,
    ctx: &MailContext,
    registration_id: &str,
    notice: Notice,
    manage_token: Option<&str>,
) -> Result<bool, AppError> {
    #[allow(clippy::type_complexity)]
    let (
        id,
        status,
        attendee_name,
        attendee_email,
        event_id,
        business_id,
        waitlist_ticket,
        confirmed_at,
        calendar_sequence,
        language,
    ): (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        Option<i64>,
        Option<NaiveDateTime>,
        i32,
        Language,
    ) = registrations::table
        .find(registration_id)
        .select((
            registrations::id,
            registrations::status,
            registrations::attendee_name,
            registrations::attendee_email,
            registrations::event_id,
            registrations::business_id,
            registrations::waitlist_ticket,
            registrations::confirmed_at,
            registrations::calendar_sequence,
            registrations::language,
        ))
        .first(conn)?;
    let registration = RegistrationFacts {
        id,
        status,
        attendee_name,
        attendee_email,
        business_id,
        waitlist_ticket,
        confirmed_at,
        calendar_sequence,
        waitlist_position: None,
        language,
    };
    if registration.attendee_email.is_none() {
        return Ok(false);
    }
    let event: EventFacts = events::table
        .find(&event_id)
        .select((
            events::id,
            events::title,
            events::description,
            events::starts_at,
            events::ends_at,
            events::time_zone,
            events::kind,
            events::status,
            events::join_url,
            events::revision,
            events::venue_id,
        ))
        .first(conn)?;
    match prepare_with(conn, ctx, registration, &event, notice, manage_token)? {
        Some(prepared) => {
            let inserted = outbox::enqueue(conn, &prepared.email)?;
            prepared.after_insert(conn, inserted)?;
            Ok(inserted)
        }
        None => Ok(false),
    }
}

/// The registration columns an email is made from.
#[derive(Debug, Clone)]
pub struct RegistrationFacts {
    pub id: String,
    pub status: String,
    pub attendee_name: Option<String>,
    pub attendee_email: Option<String>,
    pub business_id: String,
    pub waitlist_ticket: Option<i64>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub calendar_sequence: i32,
    /// The place in the waitlist, when the caller has just counted it (else counted here).
    pub waitlist_position: Option<i64>,
    /// The language the registration was made in: every email about it is written in it.
    pub language: Language,
}

/// The event columns an email is made from.
#[derive(Debug, Clone, Queryable)]
pub struct EventFacts {
    pub id: String,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub kind: String,
    pub status: String,
    pub join_url: Option<String>,
    pub revision: i32,
    pub venue_id: Option<String>,
}

impl From<&crate::events::model::Event> for EventFacts {
    fn from(e: &crate::events::model::Event) -> Self {
        EventFacts {
            id: e.id.clone(),
            title: e.title.clone(),
            description: e.description.clone(),
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            time_zone: e.time_zone.clone(),
            kind: e.kind.to_string(),
            status: e.status.to_string(),
            join_url: e.join_url.clone(),
            revision: e.revision,
            venue_id: e.venue_id.clone(),
        }
    }
}

/// An email rendered for the outbox, not yet written: the caller inserts [`Prepared::email`] in
/// its transaction (with [`outbox::enqueue`], or in one statement with the row it belongs to) and
/// then calls [`Prepared::after_insert`].
pub struct Prepared {
    pub email: outbox::NewEmail,
    reg_id: String,
    business_id: String,
    /// A link token minted for this email (stored only if the email row went in).
    fresh_manage: Option<String>,
    /// The one-click unsubscribe token of a marketing email.
    unsubscribe: Option<String>,
}

impl Prepared {
    /// Stores the tokens the email's links carry, once its row is in (`inserted`).
    pub fn after_insert(&self, conn: &mut DbConnection, inserted: bool) -> Result<(), AppError> {
        if !inserted {
            return Ok(());
        }
        if let Some(t) = &self.fresh_manage {
            diesel::insert_into(registration_tokens::table)
                .values((
                    registration_tokens::token_hash.eq(hash_token(t)),
                    registration_tokens::registration_id.eq(&self.reg_id),
                    registration_tokens::created_at.eq(now()),
                ))
                .execute(conn)?;
        }
        if let Some(t) = &self.unsubscribe {
            outbox::store_unsubscribe_token(conn, &hash_token(t), &self.business_id, &self.email.recipient)?;
        }
        Ok(())
    }
}

/// Renders the email `notice` implies from rows in hand, without writing it (see [`Prepared`]).
/// `None` when nothing is to be sent: no address (anonymised), marketing without consent, or a
/// notice this registration already had.
pub fn prepare_with(
    conn: &mut DbConnection,
    ctx: &MailContext,
    registration: RegistrationFacts,
    event: &EventFacts,
    notice: Notice,
    manage_token: Option<&str>,
) -> Result<Option<Prepared>, AppError> {
    let Some(email) = registration.attendee_email else { return Ok(None) };
    if notice.is_marketing() && !marketing_allowed(conn, &email)? {
        return Ok(None);
    }
    let venue = match &event.venue_id {
        Some(v) => {
            let (name, address, city, state): (String, String, String, String) = venues::table
                .find(v)
                .select((venues::name, venues::address, venues::city, venues::state_code))
                .first(conn)?;
            Some(VenueView { name, address, city, state })
        }
        None => None,
    };
    let known_position = registration.waitlist_position;
    let status = registration.status;
    let facts = Facts {
        reg_id: registration.id,
        ever_confirmed: registration.confirmed_at.is_some() || status == "confirmed" || status == "attended",
        status,
        attendee_name: registration.attendee_name,
        business_id: registration.business_id,
        waitlist_ticket: registration.waitlist_ticket,
        event_id: event.id.clone(),
        title: event.title.clone(),
        description: event.description.clone(),
        calendar_sequence: registration.calendar_sequence,
        starts_at: event.starts_at,
        ends_at: event.ends_at,
        zone: event.time_zone.parse().unwrap_or(chrono_tz::UTC),
        kind: event.kind.clone(),
        event_status: event.status.clone(),
        join_url: event.join_url.clone(),
        revision: event.revision,
        venue,
        lang: registration.language,
    };

    let dedupe_key = dedupe_key(&notice, &facts);
    // A registration's first notice is written in the transaction that created it, so it cannot
    // be a duplicate; every other notice checks first, to spare rendering and sequence bumps.
    let first_notice = manage_token.is_some() && matches!(notice, Notice::Confirmed | Notice::Waitlisted);
    if !first_notice {
        let exists: bool =
            diesel::select(diesel::dsl::exists(outbox_t::table.filter(outbox_t::dedupe_key.eq(&dedupe_key))))
                .get_result(conn)?;
        if exists {
            return Ok(None);
        }
    }

    let confirmed = facts.status == "confirmed" || facts.status == "attended";
    let attach_ics = match &notice {
        Notice::Confirmed | Notice::Promoted | Notice::EventChanged { .. } => confirmed,
        Notice::Cancelled | Notice::EventCancelled => facts.ever_confirmed,
        _ => false,
    };
    // Promotions and cancellations raise `calendar_sequence` in the feature's own transaction, and
    // event changes raise `events.revision`; an event cancellation raises neither, so its invite
    // would not supersede the last one: raise the registration's sequence here.
    let mut calendar_sequence = facts.calendar_sequence;
    if attach_ics && matches!(notice, Notice::EventCancelled) {
        diesel::update(registrations::table.find(&facts.reg_id))
            .set(registrations::calendar_sequence.eq(registrations::calendar_sequence + 1))
            .execute(conn)?;
        calendar_sequence += 1;
    }
    let ics = if attach_ics {
        let force_cancel = notice.cancels().then_some(true);
        let entry = ics::build_entry(
            ics::EntryFacts {
                registration_id: &facts.reg_id,
                status: &facts.status,
                calendar_sequence,
                title: facts.title.clone(),
                description: facts.description.clone(),
                starts_at: facts.starts_at,
                ends_at: facts.ends_at,
                event_status: &facts.event_status,
                kind: &facts.kind,
                join_url: facts.join_url.clone(),
                revision: facts.revision,
                venue: facts.venue.as_ref().map(|v| format!("{}, {}, {}, {}", v.name, v.address, v.city, v.state)),
                organizer: ctx.organizer.clone(),
                attendee: Some(ics::Party {
                    name: facts.attendee_name.clone().unwrap_or_default(),
                    email: email.clone(),
                }),
                lang: facts.lang,
            },
            force_cancel,
        );
        Some(ics::render(&entry))
    } else {
        None
    };

    // Tokens are made now but stored only once the email row is in (see below).
    let fresh_manage = (manage_token.is_none() && !notice.is_marketing()).then(|| new_token(TokenKind::Manage));
    let link_token = manage_token.map(str::to_string).or_else(|| fresh_manage.clone());
    let unsubscribe = notice.is_marketing().then(|| new_token(TokenKind::Link));

    let going_ahead = facts.event_status != "cancelled" && !notice.cancels();
    let show_join = facts.kind == "webinar"
        && confirmed
        && going_ahead
        && matches!(
            notice,
            Notice::Confirmed
                | Notice::Promoted
                | Notice::EventChanged { .. }
                | Notice::Reminder24h
                | Notice::Reminder1h
                | Notice::Links
        );
    let waitlist_position = match (facts.status.as_str(), facts.waitlist_ticket) {
        ("waitlisted", _) if known_position.is_some() => known_position,
        ("waitlisted", Some(ticket)) => Some(
            registrations::table
                .filter(registrations::event_id.eq(&facts.event_id))
                .filter(registrations::status.eq("waitlisted"))
                .filter(registrations::waitlist_ticket.le(ticket))
                .count()
                .get_result::<i64>(conn)?,
        ),
        _ => None,
    };
    let lang = facts.lang;
    let subject = subject(&notice, &facts);
    let unsubscribe_url =
        unsubscribe.as_ref().map(|t| format!("{}/unsubscribe/{t}{}", ctx.public_url, lang_query(lang, '?')));
    let recording = match &notice {
        Notice::RecordingAvailable { resource_id, title, duration_minutes } => Some(templates::RecordingView {
            title: title.clone(),
            url: crate::resources::page_url(&ctx.public_url, resource_id),
            duration_minutes: *duration_minutes,
        }),
        _ => None,
    };
    // The event's related learning resources (the announced recording is the email's own link).
    let resources = match &notice {
        Notice::FollowUp | Notice::RecordingAvailable { .. } => {
            let except = match &notice {
                Notice::RecordingAvailable { resource_id, .. } => Some(resource_id.as_str()),
                _ => None,
            };
            crate::resources::related::email_links(conn, &facts.event_id, except)?
                .into_iter()
                .map(|(id, title)| templates::ResourceLink {
                    url: crate::resources::page_url(&ctx.public_url, &id),
                    title,
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let view = EmailView {
        lang,
        subject: subject.clone(),
        name: facts.attendee_name.clone().unwrap_or_default(),
        title: facts.title.clone(),
        starts: i18n::human_local(lang, from_db_time(facts.starts_at), facts.zone),
        ends: i18n::human_local(lang, from_db_time(facts.ends_at), facts.zone),
        venue: facts.venue.clone(),
        join_url: if show_join { facts.join_url.clone() } else { None },
        manage_url: link_token.as_ref().map(|t| format!("{}/manage/{}?token={t}", ctx.public_url, facts.reg_id)),
        calendar_url: link_token
            .as_ref()
            .filter(|_| confirmed && going_ahead)
            .map(|t| format!("{}/manage/{}/calendar.ics?token={t}", ctx.public_url, facts.reg_id)),
        unsubscribe_url: unsubscribe_url.clone(),
        public_url: ctx.public_url.clone(),
        changes: match &notice {
            Notice::EventChanged { changes } => changes::describe_all(changes, lang),
            _ => Vec::new(),
        },
        waitlist_position,
        has_ics: ics.is_some(),
        recording,
        resources,
        ..EmailView::default()
    };
    let (body_text, body_html) = templates::render(notice.template(), &view)?;
    let mut headers = serde_json::Map::new();
    if let Some(url) = &unsubscribe_url {
        headers.insert("List-Unsubscribe".into(), format!("<{url}>").into());
        headers.insert("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into());
    }
    Ok(Some(Prepared {
        email: outbox::NewEmail {
            dedupe_key,
            recipient: email,
            template: notice.template().to_string(),
            category: if notice.is_marketing() {
                crate::domain::MailCategory::Marketing
            } else {
                crate::domain::MailCategory::Transactional
            },
            subject,
            body_text,
            body_html,
            ics,
            headers: serde_json::Value::Object(headers).to_string(),
            registration_id: Some(facts.reg_id.clone()),
            business_id: Some(facts.business_id.clone()),
            event_id: Some(facts.event_id.clone()),
            hourly_cap: notice.counts_against_cap().then_some(ctx.hourly_cap).filter(|c| *c > 0),
        },
        reg_id: facts.reg_id,
        business_id: facts.business_id,
        fresh_manage,
        unsubscribe,
    }))
}

/// Whether an address may get marketing mail: it consented itself and did not unsubscribe since.
pub fn marketing_allowed(conn: &mut DbConnection, email: &str) -> Result<bool, AppError> {
    use crate::db::schema::email_consents;
    let n: i64 = email_consents::table
        .filter(email_consents::email.eq(email))
        .filter(email_consents::marketing_consent.eq(true))
        .filter(email_consents::unsubscribed_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// One logical email, one key: a repeated call (or a second scheduler process) adds nothing.
fn dedupe_key(notice: &Notice, f: &Facts) -> String {
    let t = notice.template();
    let id = &f.reg_id;
    match notice {
        // A change notice per event revision and change list (two changes never collapse into one).
        // The list as English words, whatever the recipient reads: the key does not depend on it.
        Notice::EventChanged { changes } => {
            let digest = crate::auth::tokens::hash_token(&changes::describe_all(changes, Language::English).join("\n"));
            format!("{t}:{id}:{}:{}", f.revision, &digest[..16])
        }
        // A reminder per start time: a rescheduled event gets a fresh one.
        Notice::Reminder24h | Notice::Reminder1h => format!("{t}:{id}:{}", f.starts_at.format("%Y%m%dT%H%M%S")),
        Notice::Links => format!("{t}:{id}:{}", uuid::Uuid::new_v4()),
        // One per recording: a second recording of the webinar is news, publishing one again is not.
        Notice::RecordingAvailable { resource_id, .. } => format!("{t}:{id}:{resource_id}"),
        _ => format!("{t}:{id}"),
    }
}

/// The subject, in the registration's language (message `mail.subject.<template>`).
fn subject(notice: &Notice, f: &Facts) -> String {
    let short = i18n::short_local(f.lang, from_db_time(f.starts_at), f.zone);
    let key = format!("mail.subject.{}", notice.template());
    i18n::format(f.lang, &key, &[("title", &f.title), ("when", &short)])
}

/// `?lang=es` (or `&lang=es`) for a link out of an email in `lang`, so the page it opens speaks
/// the email's language; nothing for English, the pages' default.
pub fn lang_query(lang: Language, sep: char) -> String {
    match lang {
        Language::English => String::new(),
        other => format!("{sep}lang={other}"),
    }
}

/// The "your links" email: one message to `email` listing each of its active registrations for
/// events that have not ended, each with a fresh manage link. Sent at most once per
/// `ctx.links_every` per address (whoever asks, from any process: [`outbox::take_throttle`]) and
/// counted against the hourly cap. Nothing for an address without such registrations. Returns
/// whether an email was queued.
///
/// Written in `lang`, the language of the request that asked for it (the registrations listed may
/// each have been made in either).
pub fn links_email(conn: &mut DbConnection, ctx: &MailContext, email: &str, lang: Language) -> Result<bool, AppError> {
    let at = now();
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, Option<String>, String, NaiveDateTime, String)> = registrations::table
        .inner_join(events::table)
        .filter(registrations::attendee_email.eq(email))
        .filter(registrations::status.eq_any(["confirmed", "waitlisted"]))
        .filter(events::ends_at.gt(at))
        .order((events::starts_at, registrations::id))
        .select((
            registrations::id,
            registrations::status,
            registrations::attendee_name,
            events::title,
            events::starts_at,
            events::time_zone,
        ))
        .load(conn)?;
    if rows.is_empty() || !outbox::take_throttle(conn, email, "links", at, ctx.links_every)? {
        return Ok(false);
    }
    let mut items = Vec::with_capacity(rows.len());
    let mut name = None;
    for (id, status, attendee_name, title, starts_at, zone) in rows {
        let token = new_token(TokenKind::Manage);
        diesel::insert_into(registration_tokens::table)
            .values((
                registration_tokens::token_hash.eq(hash_token(&token)),
                registration_tokens::registration_id.eq(&id),
                registration_tokens::created_at.eq(at),
            ))
            .execute(conn)?;
        let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
        name = name.or(attendee_name);
        items.push(templates::LinkItem {
            title,
            starts: i18n::human_local(lang, from_db_time(starts_at), zone),
            status: i18n::text(
                lang,
                if status == "waitlisted" { "mail.links.waitlisted" } else { "mail.links.confirmed" },
            )
            .to_string(),
            manage_url: format!("{}/manage/{id}?token={token}", ctx.public_url),
        });
    }
    let view = EmailView {
        lang,
        subject: i18n::text(lang, "mail.subject.links_list").to_string(),
        name: name.unwrap_or_default(),
        public_url: ctx.public_url.clone(),
        items,
        ..EmailView::default()
    };
    enqueue_personal(conn, ctx, email, "links_list", view)
}

/// A privacy link email, in `lang`: `action` says what confirming does; `url` is the single-use
/// link.
pub fn privacy_link_email(
    conn: &mut DbConnection,
    ctx: &MailContext,
    email: &str,
    action: &str,
    url: &str,
    expires_minutes: i64,
    lang: Language,
) -> Result<bool, AppError> {
    let view = EmailView {
        lang,
        subject: i18n::text(lang, "mail.subject.privacy_link").to_string(),
        name: String::new(),
        public_url: ctx.public_url.clone(),
        action: Some(action.to_string()),
        action_url: Some(url.to_string()),
        expires_minutes: Some(expires_minutes),
        ..EmailView::default()
    };
    enqueue_personal(conn, ctx, email, "privacy_link", view)
}

/// Renders and queues a transactional email to an address that belongs to no one registration
/// (link lists, privacy links): found by address for export and erasure, counted against the
/// recipient's hourly cap.
fn enqueue_personal(
    conn: &mut DbConnection,
    ctx: &MailContext,
    email: &str,
    template: &str,
    view: EmailView,
) -> Result<bool, AppError> {
    let (body_text, body_html) = templates::render(template, &view)?;
    outbox::enqueue(
        conn,
        &outbox::NewEmail {
            dedupe_key: format!("{template}:{}", uuid::Uuid::new_v4()),
            recipient: email.to_string(),
            template: template.to_string(),
            category: crate::domain::MailCategory::Transactional,
            subject: view.subject,
            body_text,
            body_html,
            ics: None,
            headers: "{}".into(),
            registration_id: None,
            business_id: None,
            event_id: None,
            hourly_cap: Some(ctx.hourly_cap).filter(|c| *c > 0),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organizer_is_the_sender_with_its_display_name_or_roadshow() {
        let named = parse_organizer("Roadshow Texas <events@roadshow.example>");
        assert_eq!((named.name.as_str(), named.email.as_str()), ("Roadshow Texas", "events@roadshow.example"));
        let quoted = parse_organizer("\"Roadshow, Texas\" <events@roadshow.example>");
        assert_eq!((quoted.name.as_str(), quoted.email.as_str()), ("Roadshow, Texas", "events@roadshow.example"));
        let bare = parse_organizer("events@roadshow.example");
        assert_eq!((bare.name.as_str(), bare.email.as_str()), ("Roadshow", "events@roadshow.example"));
        let angle = parse_organizer("<events@roadshow.example>");
        assert_eq!((angle.name.as_str(), angle.email.as_str()), ("Roadshow", "events@roadshow.example"));
    }
}
