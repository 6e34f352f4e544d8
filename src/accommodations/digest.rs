//! The daily digest of new accommodation requests, to each host organization.
//!
//! Rules:
//! - Once per UTC day per organization, at the first scheduler pass from [`HOUR_UTC`] on (before
//!   the business day in every US zone).
//! - It lists the requests of registrations (confirmed or waitlisted) and expert bookings (booked)
//!   for the organization's upcoming events (not cancelled, not started) whose current version it
//!   has not been sent: a request goes to each host of a co-hosted event, and a request changed
//!   since an earlier digest comes again, marked changed. A request removed or erased before the
//!   digest is not in it.
//! - It says what is needed (categories, note) for which event and when, and whether it came with
//!   a registration or an expert session. No name, address or business: the organizers see who
//!   asked in the registrant list, and the email stays free of anything erasure would have to
//!   find. Staff-facing, so English.
//! - Organizations hold no contact address, so it goes to each active organizer of the
//!   organization (one email each). An organization without one keeps its requests until it has.
//!
//! Exactly once: in one transaction per organization, the claim row `accommodation_digests
//! (organization, day)` is inserted first (`ON CONFLICT DO NOTHING`: a second scheduler waits on
//! the key until the first commits, then finds it taken), then the requests are read (on
//! PostgreSQL `FOR UPDATE OF a SKIP LOCKED`: a request its holder is changing right now waits for
//! the next digest rather than go out in its old version; so does, for a co-host, a request that
//! another host's digest holds at that instant), the emails are enqueued and
//! `accommodation_digested` records the version sent to the organization. The outbox dedupe key
//! (`accommodation_digest:<organization>:<day>:<organizer>`) is a last guard.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use super::model::{category_label, load_categories};
use crate::db::{from_db_time, to_db_time, write_tx, Db, DbConnection};
use crate::domain::{MailCategory, Role};
use crate::error::AppError;
use crate::mail::outbox::{self, NewEmail};
use crate::mail::templates::{self, DigestItemView, DigestView, EmailView};
use crate::mail::MailContext;

/// The hour (UTC) from which a day's digest goes out: 13:00 UTC is 6 to 9 in the morning across
/// the contiguous US.
pub const HOUR_UTC: u32 = 13;

/// The template of the digest email.
pub const TEMPLATE: &str = "accommodation_digest";

#[derive(QueryableByName)]
struct OrgId {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct Item {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Integer)]
    revision: i32,
    #[diesel(sql_type = Text)]
    categories: String,
    #[diesel(sql_type = Nullable<Text>)]
    note: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    booking_id: Option<String>,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamp)]
    starts_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    time_zone: String,
    #[diesel(sql_type = Integer)]
    digested_before: i32,
}

/// What makes a request due for organization `h.organization_id` at `$at`: upcoming event, live
/// registration or booking, this version not yet sent to the organization. Binds: `$1` the
/// instant (first, so SQLite numbers it first).
const DUE: &str = "e.status <> 'cancelled' AND e.status <> 'completed' AND e.starts_at > $1 \
     AND ((r.id IS NOT NULL AND r.status IN ('confirmed', 'waitlisted')) OR (b.id IS NOT NULL AND b.status = 'booked')) \
     AND NOT EXISTS (SELECT 1 FROM accommodation_digested d WHERE d.request_id = a.id \
                     AND d.organization_id = h.organization_id AND d.revision = a.revision)";

const FROM: &str = "FROM accommodation_requests a \
     JOIN event_hosts h ON h.event_id = a.event_id \
     JOIN events e ON e.id = a.event_id \
     LEFT JOIN registrations r ON r.id = a.registration_id \
     LEFT JOIN expert_bookings b ON b.id = a.booking_id";

/// One digest pass at `now`: returns how many digest emails were enqueued.
pub fn run(db: &Db, ctx: &MailContext, now: DateTime<Utc>) -> Result<usize, AppError> {
    if now.hour() < HOUR_UTC {
        return Ok(0);
    }
    let at = to_db_time(now);
    let day = now.date_naive().format("%Y-%m-%d").to_string();
    let mut conn = db.get()?;
    let orgs: Vec<OrgId> = diesel::sql_query(format!(
        "SELECT DISTINCT h.organization_id AS id {FROM} WHERE {DUE} \
         AND NOT EXISTS (SELECT 1 FROM accommodation_digests g WHERE g.organization_id = h.organization_id \
                         AND g.digest_day = $2) ORDER BY id"
    ))
    .bind::<Timestamp, _>(at)
    .bind::<Text, _>(&day)
    .load(&mut *conn)?;
    let mut sent = 0;
    for org in orgs {
        sent += write_tx(&mut conn, |c| digest_one(c, ctx, &org.id, &day, at))?;
    }
    Ok(sent)
}

/// The digest of one organization for `day`, in the caller's transaction. Returns how many
/// emails it enqueued (0 when the day's digest is taken, or nothing is due any more).
fn digest_one(
    conn: &mut DbConnection,
    ctx: &MailContext,
    org: &str,
    day: &str,
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    use crate::db::schema::staff_users;
    let recipients: Vec<(String, String, String)> = staff_users::table
        .filter(staff_users::organization_id.eq(org))
        .filter(staff_users::role.eq(Role::Organizer))
        .filter(staff_users::active.eq(true))
        .order(staff_users::id)
        .select((staff_users::id, staff_users::email, staff_users::name))
        .load(conn)?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let claimed: Vec<OrgId> = diesel::sql_query(
        "INSERT INTO accommodation_digests (organization_id, digest_day, requests, created_at) \
         VALUES ($1, $2, 0, $3) ON CONFLICT (organization_id, digest_day) DO NOTHING RETURNING organization_id AS id",
    )
    .bind::<Text, _>(org)
    .bind::<Text, _>(day)
    .bind::<Timestamp, _>(at)
    .load(conn)?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let lock = if conn.is_postgres() { " FOR UPDATE OF a SKIP LOCKED" } else { "" };
    let items: Vec<Item> = diesel::sql_query(format!(
        "SELECT a.id AS id, a.revision AS revision, a.categories AS categories, a.note AS note, \
         a.booking_id AS booking_id, a.created_at AS created_at, e.id AS event_id, e.title AS title, \
         e.starts_at AS starts_at, e.time_zone AS time_zone, \
         CASE WHEN EXISTS (SELECT 1 FROM accommodation_digested p WHERE p.request_id = a.id \
                           AND p.organization_id = h.organization_id) THEN 1 ELSE 0 END AS digested_before \
         {FROM} WHERE {DUE} AND h.organization_id = $2 ORDER BY e.starts_at, e.id, a.created_at, a.id{lock}"
    ))
    .bind::<Timestamp, _>(at)
    .bind::<Text, _>(org)
    .load(conn)?;
    if items.is_empty() {
        diesel::sql_query("DELETE FROM accommodation_digests WHERE organization_id = $1 AND digest_day = $2")
            .bind::<Text, _>(org)
            .bind::<Text, _>(day)
            .execute(conn)?;
        return Ok(0);
    }
    let mut views = Vec::with_capacity(items.len());
    for i in &items {
        let tz: chrono_tz::Tz = i.time_zone.parse().unwrap_or(chrono_tz::UTC);
        views.push(DigestItemView {
            event_title: i.title.clone(),
            starts: crate::time::human_local(from_db_time(i.starts_at), tz),
            kind: if i.booking_id.is_some() { "Expert session" } else { "Registration" }.into(),
            needs: load_categories(&i.categories)?.into_iter().map(|c| category_label(c).to_string()).collect(),
            note: i.note.clone(),
            changed: i.digested_before == 1,
            registrants_url: format!("{}/api/v1/admin/events/{}/registrations", ctx.public_url, i.event_id),
            requested_at: crate::time::utc_string(from_db_time(i.created_at)),
        });
    }
    let subject = match items.len() {
        1 => "1 new accommodation request for your Roadshow events".to_string(),
        n => format!("{n} new accommodation requests for your Roadshow events"),
    };
    let mut enqueued = 0;
    for (user_id, email, name) in recipients {
        let view = EmailView {
            subject: subject.clone(),
            name,
            public_url: ctx.public_url.clone(),
            digest: Some(DigestView { day: day.to_string(), items: views.clone() }),
            ..EmailView::default()
        };
        let (body_text, body_html) = templates::render(TEMPLATE, &view)?;
        if outbox::enqueue(
            conn,
            &NewEmail {
                dedupe_key: format!("{TEMPLATE}:{org}:{day}:{user_id}"),
                recipient: email,
                template: TEMPLATE.into(),
                category: MailCategory::Transactional,
                subject: subject.clone(),
                body_text,
                body_html,
                ics: None,
                headers: "{}".into(),
                registration_id: None,
                business_id: None,
                event_id: None,
                hourly_cap: None,
            },
        )? {
            enqueued += 1;
        }
    }
    for i in &items {
        diesel::sql_query(
            "INSERT INTO accommodation_digested (request_id, organization_id, revision, digest_day) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, organization_id) \
             DO UPDATE SET revision = excluded.revision, digest_day = excluded.digest_day",
        )
        .bind::<Text, _>(&i.id)
        .bind::<Text, _>(org)
        .bind::<Integer, _>(i.revision)
        .bind::<Text, _>(day)
        .execute(conn)?;
    }
    let n = i32::try_from(items.len()).unwrap_or(i32::MAX);
    diesel::sql_query("UPDATE accommodation_digests SET requests = $1 WHERE organization_id = $2 AND digest_day = $3")
        .bind::<Integer, _>(n)
        .bind::<Text, _>(org)
        .bind::<Text, _>(day)
        .execute(conn)?;
    Ok(enqueued)
}
